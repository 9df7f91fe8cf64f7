//! The transactional outbox of lifecycle events: written in the transaction of the change
//! (`session.ended` by the recorded deletes in `ended_sql.rs`, the others by
//! [`SqlStore::enqueue_in`]), claimed and acknowledged by the webhook worker. Several
//! instances share it: PostgreSQL claims with `FOR UPDATE SKIP LOCKED`, and a claim's lease
//! keeps a row from a second sender until it runs out (a crash between send and
//! acknowledgement is the one way to a duplicate).

use super::Result;
use super::ended_sql::OUTBOX;
use super::engine::{Args, Engine, Read};
use super::sql_store::SqlStore;
use async_trait::async_trait;
use time::OffsetDateTime;

/// An event as written: one row per receiver.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub event_type: &'a str,
    /// Events of one key reach each receiver in the order they were written (a session's id,
    /// or a run's).
    pub order_key: &'a str,
    pub session_id: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub tenant_id: Option<&'a str>,
    /// The event's `data` as JSON, for the types whose data is not read from columns.
    pub data: Option<String>,
    pub at: OffsetDateTime,
    /// Receivers (rows written: `0..endpoints`).
    pub endpoints: u32,
}

/// A row of the outbox, as the worker and the failed list read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub seq: i64,
    pub endpoint: u32,
    pub event_type: String,
    pub order_key: String,
    pub session_id: Option<String>,
    pub user_id: Option<String>,
    pub tenant_id: Option<String>,
    pub reason: Option<String>,
    pub actor: Option<String>,
    pub data: Option<String>,
    pub occurred_at: OffsetDateTime,
    /// Deliveries tried, this claim's included.
    pub attempts: u32,
    pub failed_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
}

/// Undelivered events: how many, and when the oldest happened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    pub pending: u64,
    pub oldest: Option<OffsetDateTime>,
}

#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Inserts an event's rows on its own (for changes that are one statement anyway).
    async fn enqueue(&self, event: &NewEvent<'_>) -> Result<()>;
    /// Claims up to `limit` due events until `lease_until`, at most one per key and receiver
    /// (the oldest undelivered), counting the attempt.
    async fn claim_events(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<OutboxRow>>;
    async fn mark_delivered(&self, seq: i64, now: OffsetDateTime) -> Result<()>;
    /// A failed attempt: retried at `next`, or (with `None`) left in the failed list.
    async fn mark_attempt_failed(
        &self,
        seq: i64,
        now: OffsetDateTime,
        next: Option<OffsetDateTime>,
        error: &str,
    ) -> Result<()>;
    async fn outbox_backlog(&self) -> Result<Backlog>;
    /// Deletes events delivered before `before`; how many went.
    async fn prune_delivered(&self, before: OffsetDateTime) -> Result<u64>;
    /// Events that exhausted their attempts, newest first, after `before` (a `seq`); with a
    /// tenant, that tenant's only.
    async fn list_failed_events(
        &self,
        tenant: Option<&str>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<OutboxRow>>;
    /// Puts a failed event back in the queue, due now; false when there is no such failed event
    /// (in the tenant).
    async fn resend_event(
        &self,
        seq: i64,
        tenant: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<bool>;
}

const COLUMNS: &str = "\"seq\", \"endpoint\", \"type\", \"orderKey\", \"sessionId\", \"userId\", \
     \"tenantId\", \"reason\", \"actor\", \"data\", \"occurredAt\", \"attempts\", \"failedAt\", \"lastError\"";

/// The outbox's statements; only the claim differs between the backends.
#[derive(Debug, Clone)]
pub struct OutboxSql {
    pub insert: &'static str,
    pub claim: &'static str,
    pub delivered: &'static str,
    pub retry: &'static str,
    pub backlog: &'static str,
    pub failed: &'static str,
    pub resend: &'static str,
    /// Deletes events delivered before `$1`, never the newest row: SQLite numbers a new row
    /// one past the largest `seq` left, and a `seq` (the `webhook-id`) must never come back.
    pub prune: &'static str,
}

impl OutboxSql {
    /// `lock`: what follows the claim's selection (PostgreSQL: `FOR UPDATE SKIP LOCKED`).
    pub fn new(lock: &str) -> Self {
        let leak = super::statements::leak;
        let pending = "\"deliveredAt\" IS NULL AND \"failedAt\" IS NULL";
        let endpoints = (0..crate::domain::limits::WEBHOOK_URLS)
            .map(|i| format!("SELECT {i} AS n"))
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        Self {
            insert: leak(format!(
                "INSERT INTO {OUTBOX} (\"endpoint\", \"type\", \"orderKey\", \"sessionId\", \"userId\", \"tenantId\", \"data\", \"occurredAt\", \"nextAttemptAt\") \
                 SELECT ep.n, $1, $2, $3, $4, $5, $6, $7, $7 FROM ({endpoints}) ep WHERE ep.n < $8 ORDER BY ep.n"
            )),
            // An earlier undelivered event of the same key holds a row back. `session.ended`
            // is the last event of its session, never an earlier one, so the check leaves it
            // out, as the partial index it reads does (cleanup deletes then skip that index).
            claim: leak(format!(
                "UPDATE {OUTBOX} SET \"lockedUntil\" = $2, \"attempts\" = \"attempts\" + 1 WHERE \"seq\" IN (\
                 SELECT o.\"seq\" FROM {OUTBOX} o WHERE o.\"deliveredAt\" IS NULL AND o.\"failedAt\" IS NULL \
                 AND o.\"nextAttemptAt\" <= $1 AND (o.\"lockedUntil\" IS NULL OR o.\"lockedUntil\" < $1) \
                 AND NOT EXISTS (SELECT 1 FROM {OUTBOX} p WHERE p.\"orderKey\" = o.\"orderKey\" \
                 AND p.\"endpoint\" = o.\"endpoint\" AND p.\"seq\" < o.\"seq\" \
                 AND p.\"deliveredAt\" IS NULL AND p.\"failedAt\" IS NULL AND p.\"type\" <> 'session.ended') \
                 ORDER BY o.\"seq\" LIMIT $3{lock}) RETURNING {COLUMNS}"
            )),
            delivered: leak(format!(
                "UPDATE {OUTBOX} SET \"deliveredAt\" = $2, \"lockedUntil\" = NULL, \"lastError\" = NULL WHERE \"seq\" = $1"
            )),
            retry: leak(format!(
                "UPDATE {OUTBOX} SET \"lockedUntil\" = NULL, \"lastError\" = $3, \
                 \"nextAttemptAt\" = COALESCE($4, \"nextAttemptAt\"), \
                 \"failedAt\" = CASE WHEN $4 IS NULL THEN $2 END WHERE \"seq\" = $1"
            )),
            backlog: leak(format!(
                "SELECT COUNT(*) AS \"n\", MIN(\"occurredAt\") AS \"oldest\" FROM {OUTBOX} WHERE {pending}"
            )),
            failed: leak(format!(
                "SELECT {COLUMNS} FROM {OUTBOX} WHERE \"failedAt\" IS NOT NULL \
                 AND ($1 IS NULL OR \"tenantId\" = $1) AND ($2 IS NULL OR \"seq\" < $2) \
                 ORDER BY \"seq\" DESC LIMIT $3"
            )),
            prune: leak(format!(
                "DELETE FROM {OUTBOX} WHERE \"deliveredAt\" < $1 \
                 AND \"seq\" < (SELECT MAX(\"seq\") FROM {OUTBOX})"
            )),
            resend: leak(format!(
                "UPDATE {OUTBOX} SET \"failedAt\" = NULL, \"attempts\" = 0, \"nextAttemptAt\" = $3, \
                 \"lockedUntil\" = NULL WHERE \"seq\" = $1 AND \"failedAt\" IS NOT NULL \
                 AND ($2 IS NULL OR \"tenantId\" = $2)"
            )),
        }
    }
}

fn decode<R: Read>(r: &R) -> std::result::Result<OutboxRow, sqlx::Error> {
    Ok(OutboxRow {
        seq: r.int("seq")?,
        endpoint: u32::try_from(r.int4("endpoint")?).unwrap_or(0),
        event_type: r.text("type")?,
        order_key: r.text("orderKey")?,
        session_id: r.opt_text("sessionId")?,
        user_id: r.opt_text("userId")?,
        tenant_id: r.opt_text("tenantId")?,
        reason: r.opt_text("reason")?,
        actor: r.opt_text("actor")?,
        data: r.opt_text("data")?,
        occurred_at: r.time("occurredAt")?,
        attempts: u32::try_from(r.int4("attempts")?).unwrap_or(0),
        failed_at: r.opt_time("failedAt")?,
        last_error: r.opt_text("lastError")?,
    })
}

fn event_args<DB: Engine>(e: &NewEvent<'_>) -> Args<DB> {
    Args::new()
        .text(e.event_type)
        .text(e.order_key)
        .opt_text(e.session_id)
        .opt_text(e.user_id)
        .opt_text(e.tenant_id)
        .opt_text(e.data.as_deref())
        .time(e.at)
        .int(i64::from(e.endpoints))
}

impl<DB: Engine> SqlStore<DB> {
    /// Inserts an event's rows inside the caller's transaction.
    pub(crate) async fn enqueue_in(
        &self,
        conn: &mut DB::Connection,
        e: &NewEvent<'_>,
    ) -> Result<(), sqlx::Error> {
        if e.endpoints == 0 {
            return Ok(());
        }
        self.execute_in(conn, self.sql.outbox.insert, event_args(e))
            .await
            .map(|_| ())
    }
}

#[async_trait]
impl<DB: Engine> OutboxStore for SqlStore<DB> {
    async fn enqueue(&self, e: &NewEvent<'_>) -> Result<()> {
        if e.endpoints > 0 {
            self.execute(self.sql.outbox.insert, event_args(e)).await?;
        }
        Ok(())
    }

    async fn claim_events(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<OutboxRow>> {
        let args = Args::new()
            .time(now)
            .time(lease_until)
            .int(i64::from(limit));
        let mut tx = self.begin_write().await?;
        let rows = self
            .fetch_all_in(&mut *tx, self.sql.outbox.claim, args)
            .await?;
        tx.commit().await?;
        let mut out = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
        out.sort_by_key(|r| r.seq);
        Ok(out)
    }

    async fn mark_delivered(&self, seq: i64, now: OffsetDateTime) -> Result<()> {
        let args = Args::new().int(seq).time(now);
        self.execute(self.sql.outbox.delivered, args).await?;
        Ok(())
    }

    async fn mark_attempt_failed(
        &self,
        seq: i64,
        now: OffsetDateTime,
        next: Option<OffsetDateTime>,
        error: &str,
    ) -> Result<()> {
        let args = Args::new().int(seq).time(now).text(error).opt_time(next);
        self.execute(self.sql.outbox.retry, args).await?;
        Ok(())
    }

    async fn outbox_backlog(&self) -> Result<Backlog> {
        let row = self.fetch_one(self.sql.outbox.backlog, Args::new()).await?;
        Ok(Backlog {
            pending: u64::try_from(row.int("n")?).unwrap_or(0),
            oldest: row.opt_time("oldest")?,
        })
    }

    async fn prune_delivered(&self, before: OffsetDateTime) -> Result<u64> {
        let args = Args::new().time(before);
        Ok(self.execute(self.sql.outbox.prune, args).await?)
    }

    async fn list_failed_events(
        &self,
        tenant: Option<&str>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<OutboxRow>> {
        let args = Args::new()
            .opt_text(tenant)
            .opt_int(before)
            .int(i64::from(limit));
        let rows = self.fetch_all(self.sql.outbox.failed, args).await?;
        Ok(rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?)
    }

    async fn resend_event(
        &self,
        seq: i64,
        tenant: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let args = Args::new().int(seq).opt_text(tenant).time(now);
        Ok(self.execute(self.sql.outbox.resend, args).await? > 0)
    }
}
