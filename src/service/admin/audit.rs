//! The audit trail: every admin action that deletes or changes something is recorded in
//! `sessionkeeper_audit` and logged.

use super::types::{AuditList, AuditView, PageParams};
use super::{Actor, AdminService, invalid_cursor, page_limit};
use crate::domain::cursor::{Cursor, keyset_page};
use crate::domain::ids::new_id;
use crate::domain::limits;
use crate::service::Result;
use crate::store::admin::AuditEntry;
use serde_json::Value;

/// What an action did, for the record.
pub struct Record<'a> {
    pub action: &'a str,
    pub target: Option<String>,
    pub criteria: Option<Value>,
    pub count: u64,
    /// The tenant the action was confined to.
    pub tenant: Option<&'a str>,
}

impl AdminService {
    /// Writes the audit entry and a log line. The action has already happened, so a failed
    /// write does not fail the request: the log line (at error level) is then the record.
    pub(crate) async fn audit(&self, actor: &Actor, r: Record<'_>) {
        // Every admin action that deletes sessions is audited with its count, so this is the
        // one place that counts them (a manual cleanup run counts its own, as every run does).
        const DELETES_SESSIONS: &[&str] = &[
            "sessions.bulk_delete",
            "sessions.revoke",
            "user.ban",
            "user.revoke_session",
            "user.revoke_sessions",
        ];
        if DELETES_SESSIONS.contains(&r.action) {
            crate::metrics::sessions_ended(crate::metrics::EndReason::Admin, r.count);
        }
        let criteria = r.criteria.as_ref().map(Value::to_string);
        let entry = AuditEntry {
            id: new_id(),
            at: self.core.now(),
            actor: actor.label(),
            action: r.action.to_owned(),
            target: r.target,
            criteria,
            count: i64::try_from(r.count).unwrap_or(i64::MAX),
            tenant_id: r
                .tenant
                .map(str::to_owned)
                .or_else(|| actor.scope.tenant().map(str::to_owned)),
        };
        let fields = (
            &entry.actor,
            &entry.action,
            entry.target.as_deref().unwrap_or("-"),
            entry.count,
        );
        match self.core.store().insert_audit(&entry).await {
            Ok(()) => tracing::info!(
                actor = %fields.0, action = %fields.1, target = %fields.2, count = fields.3,
                criteria = entry.criteria.as_deref().unwrap_or("{}"), tenant = entry.tenant_id.as_deref().unwrap_or("-"),
                "admin action"
            ),
            Err(e) => tracing::error!(
                actor = %fields.0, action = %fields.1, target = %fields.2, count = fields.3,
                criteria = entry.criteria.as_deref().unwrap_or("{}"), error = %e,
                "admin action done but its audit entry could not be written"
            ),
        }
    }

    /// The audit log, newest first; tenant admins see their tenant's entries only.
    pub async fn list_audit(&self, actor: &Actor, p: PageParams) -> Result<AuditList> {
        let limit = page_limit(p.limit, limits::PAGE)?;
        let after = match p.cursor.as_deref() {
            None => None,
            Some(c) => Some(Cursor::decode(c).ok_or_else(invalid_cursor)?),
        };
        let rows = self
            .core
            .store()
            .list_audit(actor.scope.tenant(), after.map(|c| (c.at, c.id)), limit + 1)
            .await?;
        let (rows, next_cursor) = keyset_page(rows, limit, |r| Cursor {
            at: r.at,
            id: r.id.clone(),
        });
        let entries = rows
            .into_iter()
            .map(|r| AuditView {
                criteria: r
                    .criteria
                    .as_deref()
                    .and_then(|c| serde_json::from_str(c).ok()),
                id: r.id,
                at: r.at,
                actor: r.actor,
                action: r.action,
                target: r.target,
                count: r.count,
            })
            .collect();
        Ok(AuditList {
            entries,
            next_cursor,
        })
    }
}
