//! Termination records: the deletes that write them ([`SqlStore::delete_ending`]) and the
//! history's reads and pruning ([`EndedStore`]).

use super::Backend;
use super::Result;
use super::ended_sql::Del;
use super::engine::{Args, Engine, Read};
use super::sql_store::SqlStore;
use crate::domain::ending::{EndedSession, Ending};
use crate::domain::model::Session;
use async_trait::async_trait;
use time::OffsetDateTime;

/// One page of the history, newest first; every filter optional.
#[derive(Debug, Clone, Default)]
pub struct EndedQuery {
    pub tenant: Option<String>,
    pub user_id: Option<String>,
    pub reason: Option<String>,
    pub ended_from: Option<OffsetDateTime>,
    pub ended_to: Option<OffsetDateTime>,
    /// The last row of the previous page: `(endedAt, sessionId)`.
    pub after: Option<(OffsetDateTime, String)>,
    pub limit: u32,
}

#[async_trait]
pub trait EndedStore: Send + Sync {
    async fn list_ended(&self, q: &EndedQuery) -> Result<Vec<EndedSession>>;
    /// Deletes the records that ended before `before`; how many went.
    async fn prune_ended(&self, before: OffsetDateTime) -> Result<u64>;
    /// Writes what `end` asks for (records, `session.ended` events) for sessions removed
    /// outside the database (an app that keeps its sessions in Redis only), in one
    /// transaction. `tenant` gives each session's tenant where the session carries it.
    async fn record_ended(&self, sessions: &[(&Session, Option<&str>)], end: &Ending)
    -> Result<()>;
}

#[async_trait]
impl<DB: Engine> EndedStore for SqlStore<DB> {
    async fn list_ended(&self, q: &EndedQuery) -> Result<Vec<EndedSession>> {
        let (after_at, after_id) = match &q.after {
            Some((at, id)) => (Some(*at), Some(id.as_str())),
            None => (None, None),
        };
        let args = Args::new()
            .opt_text(q.tenant.as_deref())
            .opt_text(q.user_id.as_deref())
            .opt_text(q.reason.as_deref())
            .opt_time(q.ended_from)
            .opt_time(q.ended_to)
            .opt_time(after_at)
            .opt_text(after_id)
            .int(i64::from(q.limit));
        let rows = self.fetch_all(self.sql.ended.list, args).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(EndedSession {
                session_id: r.text("sessionId")?,
                user_id: r.text("userId")?,
                tenant_id: r.opt_text("tenantId")?,
                created_at: r.time("createdAt")?,
                last_active_at: r.time("lastActiveAt")?,
                ip_address: r.opt_text("ipAddress")?,
                user_agent: r.opt_text("userAgent")?,
                ended_at: r.time("endedAt")?,
                reason: r.text("reason")?,
                actor: r.text("actor")?,
            });
        }
        Ok(out)
    }

    async fn record_ended(
        &self,
        sessions: &[(&Session, Option<&str>)],
        end: &Ending,
    ) -> Result<()> {
        if sessions.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        for (s, tenant) in sessions {
            if end.record {
                let args = Args::new()
                    .text(&s.id)
                    .text(&s.user_id)
                    .opt_text(*tenant)
                    .time(s.created_at)
                    .time(s.updated_at)
                    .opt_text(s.ip_address.as_deref())
                    .opt_text(s.user_agent.as_deref())
                    .time(end.at)
                    .text(end.reason.as_str())
                    .opt_text(end.actor.as_deref());
                self.execute_in(&mut *tx, self.sql.ended.record_one, args)
                    .await?;
            }
            if end.endpoints > 0 {
                let args = Args::new()
                    .text(&s.id)
                    .text(&s.user_id)
                    .opt_text(*tenant)
                    .text(end.reason.as_str())
                    .opt_text(end.actor.as_deref())
                    .time(end.at)
                    .int(i64::from(end.endpoints));
                self.execute_in(&mut *tx, self.sql.ended.enqueue_one, args)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn prune_ended(&self, before: OffsetDateTime) -> Result<u64> {
        Ok(self
            .execute(self.sql.ended.prune, Args::new().time(before))
            .await?)
    }
}

impl<DB: Engine> SqlStore<DB> {
    /// Runs a session delete on its own, writing a record per removed session when `end` is
    /// given (atomically with the delete). `args` binds the delete's own parameters; it is
    /// called once per statement run.
    pub(crate) async fn delete_ending(
        &self,
        del: &Del,
        args: impl Fn() -> Args<DB> + Send + Sync,
        end: Option<&Ending>,
    ) -> Result<u64, sqlx::Error> {
        match end {
            None => self.execute(del.plain, args()).await,
            Some(end) if DB::BACKEND == Backend::Postgres => {
                let row = self
                    .fetch_one(del.form(end), with_ending(args(), end, end.endpoints > 0))
                    .await?;
                Ok(u64::try_from(row.int("n")?).unwrap_or(0))
            }
            Some(end) => {
                let mut tx = self.begin_write().await?;
                let n = self
                    .delete_ending_in(&mut *tx, del, &args, Some(end))
                    .await?;
                tx.commit().await?;
                Ok(n)
            }
        }
    }

    /// [`Self::delete_ending`] inside the caller's transaction (a write transaction on
    /// SQLite, so the recorded selection and the delete see the same rows).
    pub(crate) async fn delete_ending_in(
        &self,
        conn: &mut DB::Connection,
        del: &Del,
        args: &(impl Fn() -> Args<DB> + Send + Sync),
        end: Option<&Ending>,
    ) -> Result<u64, sqlx::Error> {
        match end {
            None => self.execute_in(conn, del.plain, args()).await,
            Some(end) if DB::BACKEND == Backend::Postgres => {
                let row = self
                    .fetch_one_in(
                        conn,
                        del.form(end),
                        with_ending(args(), end, end.endpoints > 0),
                    )
                    .await?;
                Ok(u64::try_from(row.int("n")?).unwrap_or(0))
            }
            Some(end) => {
                if end.record {
                    self.execute_in(conn, del.records, with_ending(args(), end, false))
                        .await?;
                }
                if end.endpoints > 0 {
                    self.execute_in(conn, del.events, with_ending(args(), end, true))
                        .await?;
                }
                self.execute_in(conn, del.plain, args()).await
            }
        }
    }
}

/// The recorded forms' trailing parameters: reason, actor, instant, and for the forms that
/// enqueue events (`events`) the receiver count.
pub(crate) fn with_ending<DB: Engine>(args: Args<DB>, end: &Ending, events: bool) -> Args<DB> {
    let args = args
        .text(end.reason.as_str())
        .opt_text(end.actor.as_deref())
        .time(end.at);
    if events {
        args.int(i64::from(end.endpoints))
    } else {
        args
    }
}
