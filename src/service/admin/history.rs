//! Termination records: the admin's history of ended sessions, tenant-scoped like every admin
//! read, and a user's own (`AuthService::session_history`).

use super::types::{EndedList, EndedParams, EndedView, PageParams};
use super::{Actor, AdminService, invalid_cursor, page_limit, text};
use crate::domain::cursor::{Cursor, keyset_page};
use crate::domain::ending::{EndReason, EndedSession};
use crate::domain::limits;
use crate::domain::timefmt;
use crate::service::{Core, Error, Result};
use crate::store::ended::EndedQuery;
use time::OffsetDateTime;

fn parse_time(field: &str, value: Option<String>) -> Result<Option<OffsetDateTime>> {
    match value {
        None => Ok(None),
        Some(v) => timefmt::parse(&v).map(Some).ok_or_else(|| {
            Error::Validation(format!(
                "{field} must be an ISO-8601 timestamp such as 2026-01-31T00:00:00Z, got {v:?}"
            ))
        }),
    }
}

/// One page of `q` (its limit and cursor taken from `limit`/`cursor`).
pub(crate) async fn ended_page(
    core: &Core,
    mut q: EndedQuery,
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<EndedList> {
    let limit = page_limit(limit, limits::PAGE)?;
    q.after = match cursor {
        None => None,
        Some(c) => {
            let c = Cursor::decode(c).ok_or_else(invalid_cursor)?;
            Some((c.at, c.id))
        }
    };
    q.limit = limit + 1;
    let rows = core.store().list_ended(&q).await?;
    let (rows, next_cursor) = keyset_page(rows, limit, |r: &EndedSession| Cursor {
        at: r.ended_at,
        id: r.session_id.clone(),
    });
    Ok(EndedList {
        sessions: rows.into_iter().map(EndedView::from).collect(),
        next_cursor,
    })
}

impl AdminService {
    /// Ended sessions newest first; a tenant admin sees their tenant's only.
    pub async fn list_ended(&self, actor: &Actor, p: EndedParams) -> Result<EndedList> {
        let scope = actor.narrow(p.tenant_id.as_deref())?;
        if let Some(r) = p.reason.as_deref()
            && EndReason::parse(r).is_none()
        {
            return Err(Error::Validation(format!(
                "reason must be one of {}, got {r:?}",
                EndReason::ALL.map(EndReason::as_str).join(", ")
            )));
        }
        let q = EndedQuery {
            tenant: scope.tenant().map(str::to_owned),
            user_id: text("userId", p.user_id, limits::ID_LEN)?,
            reason: p.reason,
            ended_from: parse_time("endedFrom", p.ended_from)?,
            ended_to: parse_time("endedTo", p.ended_to)?,
            ..Default::default()
        };
        ended_page(&self.core, q, p.limit, p.cursor.as_deref()).await
    }
}

impl crate::service::AuthService {
    /// The signed-in user's own ended sessions, newest first.
    pub async fn session_history(&self, user_id: &str, p: PageParams) -> Result<EndedList> {
        let q = EndedQuery {
            user_id: Some(user_id.to_owned()),
            ..Default::default()
        };
        ended_page(&self.core, q, p.limit, p.cursor.as_deref()).await
    }
}
