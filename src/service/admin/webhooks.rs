//! Webhook events that exhausted their attempts: listed for admins (tenant admins see their
//! tenant's), and queued again on request.

use super::types::{FailedEventList, FailedEventView, PageParams, ResendResult};
use super::{Actor, AdminService, invalid_cursor, page_limit};
use crate::domain::limits;
use crate::service::events::body;
use crate::service::{Error, Result};

impl AdminService {
    pub async fn list_failed_events(
        &self,
        actor: &Actor,
        p: PageParams,
    ) -> Result<FailedEventList> {
        let limit = page_limit(p.limit, limits::PAGE)?;
        let before = match p.cursor.as_deref() {
            None => None,
            Some(c) => Some(c.parse::<i64>().map_err(|_| invalid_cursor())?),
        };
        let mut rows = self
            .core
            .store()
            .list_failed_events(actor.scope.tenant(), before, limit + 1)
            .await?;
        let next_cursor = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last().map(|r| r.seq.to_string())
        } else {
            None
        };
        let events = rows
            .iter()
            .map(|r| FailedEventView {
                id: r.seq,
                endpoint: r.endpoint,
                event_type: r.event_type.clone(),
                tenant_id: r.tenant_id.clone(),
                attempts: r.attempts,
                failed_at: r.failed_at,
                last_error: r.last_error.clone(),
                body: body(r),
            })
            .collect();
        Ok(FailedEventList {
            events,
            next_cursor,
        })
    }

    /// Queues a failed event again with a fresh count of attempts.
    pub async fn resend_event(&self, actor: &Actor, id: &str) -> Result<ResendResult> {
        let not_found = || Error::NotFound {
            code: "EVENT_NOT_FOUND",
            message: "No failed event with this id".into(),
        };
        let seq = id.parse::<i64>().map_err(|_| not_found())?;
        let now = self.core.now();
        if !self
            .core
            .store()
            .resend_event(seq, actor.scope.tenant(), now)
            .await?
        {
            return Err(not_found());
        }
        let record = super::audit::Record {
            action: "webhooks.resend",
            target: Some(format!("event:{seq}")),
            criteria: None,
            count: 1,
            tenant: actor.scope.tenant(),
        };
        self.audit(actor, record).await;
        Ok(ResendResult { resent: true })
    }
}
