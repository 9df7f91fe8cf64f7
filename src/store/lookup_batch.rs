//! Session checks that arrive together are answered by one statement.
//!
//! Each check is one indexed lookup by token, but as one statement each, most of its cost is the
//! round trip: a wake-up of the database process and of ours, per check. Here every check joins
//! a queue, and whichever check finds the lane free leads: it takes everything queued (its own
//! token and any others), looks it up with one `token = ANY(...)` statement on the lane's
//! connection, and hands each waiting check its row. With one check in flight it is its own
//! leader and runs its own statement with no hand-off at all; under load batches grow by
//! themselves, because the checks that arrive while a statement runs all go in the next one.

use super::lookup_pool::LookupPool;
use super::{Result, StoreError};
use crate::domain::SessionWithUser;
use futures::future::BoxFuture;
use sqlx::Database;
use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::oneshot;
use tracing::Instrument;

/// More tokens per statement save little and make one slow batch delay more checks.
const MAX_BATCH: usize = 64;

/// Statements in flight at once, and connections the lookups hold (fewer when
/// `DATABASE_MAX_CONNECTIONS` is small: see `pool::lookup_size`). Fewer lanes batch more
/// under heavy load; more keep a light load from queueing behind one statement. Measured with
/// the bench (`bench/run`, PostgreSQL, 2 cores, 8 s runs, req/s and p99): at 4 connections
/// one lane gave 9,400 and 0.78 ms, two 11,800 and 2.1 ms, four 17,400 and 0.51 ms (sqlx's
/// pool with a statement per check: 14,000 and 0.60 ms); at 64 connections one lane gave
/// 36,100-42,800 and 2.6-2.8 ms, two 34,600 and 4.0 ms, four 38,900 and 4.3 ms (before
/// batching: 17,400 and 5.6 ms). Four it is.
pub(crate) const LANES: u32 = 4;

/// A lookup (connecting included) that takes this long fails its checks and closes its
/// connection, so a hung connection or an unreachable database host (a network partition)
/// holds up the session checks for no longer than this.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs the lookup statement for these tokens and decodes the rows found.
pub(crate) type FetchBatch<DB> =
    for<'c> fn(
        &'c mut <DB as Database>::Connection,
        LookupSql,
        &'c [&'c str],
    ) -> BoxFuture<'c, std::result::Result<Vec<SessionWithUser>, sqlx::Error>>;

/// The lookup for one token (`token = $1`) and for a batch, and how to run them.
#[derive(Clone, Copy)]
pub(crate) struct LookupSql {
    pub one: &'static str,
    pub many: &'static str,
    pub pooler: crate::config::Pooler,
}

struct Pending {
    token: String,
    reply: oneshot::Sender<Result<Option<SessionWithUser>>>,
}

pub(crate) struct SessionLookups<DB: Database> {
    queue: Mutex<VecDeque<Pending>>,
    /// One permit per lane, held by the leading check while its statement runs.
    lanes: tokio::sync::Semaphore,
    pool: LookupPool<DB>,
    sql: LookupSql,
    fetch: FetchBatch<DB>,
}

impl<DB: Database> SessionLookups<DB> {
    pub(crate) fn new(pool: LookupPool<DB>, sql: LookupSql, fetch: FetchBatch<DB>) -> Self {
        Self {
            queue: Mutex::new(VecDeque::new()),
            lanes: tokio::sync::Semaphore::new(pool.size() as usize),
            pool,
            sql,
            fetch,
        }
    }

    /// The session whose token column holds `token_key`, with its user.
    pub(crate) async fn find(&self, token_key: &str) -> Result<Option<SessionWithUser>> {
        loop {
            let (reply, mut answer) = oneshot::channel();
            self.queue().push_back(Pending {
                token: token_key.to_owned(),
                reply,
            });
            loop {
                let lane = tokio::select! {
                    biased;
                    got = &mut answer => match got {
                        Ok(result) => return result,
                        // The check leading our batch went away mid-statement (its request
                        // was dropped), and our place with it: queue again.
                        Err(_) => break,
                    },
                    lane = self.lanes.acquire() => lane,
                };
                let batch = self.take_batch();
                if batch.is_empty() {
                    // Another check took ours into its statement. Competing for the free
                    // lanes until it answers would only take and give them back in a loop.
                    drop(lane);
                    match (&mut answer).await {
                        Ok(result) => return result,
                        Err(_) => break,
                    }
                }
                self.answer(batch).await;
            }
        }
    }

    fn queue(&self) -> MutexGuard<'_, VecDeque<Pending>> {
        // A VecDeque that no code path leaves half-changed.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The oldest queued checks, without those whose request went away.
    fn take_batch(&self) -> Vec<Pending> {
        let mut queue = self.queue();
        let mut batch = Vec::with_capacity(queue.len().min(MAX_BATCH));
        while batch.len() < MAX_BATCH {
            match queue.pop_front() {
                Some(p) if p.reply.is_closed() => {}
                Some(p) => batch.push(p),
                None => break,
            }
        }
        batch
    }

    async fn answer(&self, batch: Vec<Pending>) {
        let found = tokio::time::timeout(LOOKUP_TIMEOUT, self.fetch(&batch))
            .await
            .unwrap_or(Err(sqlx::Error::PoolTimedOut));
        match found {
            Ok(found) => {
                for p in batch {
                    let hit = found.iter().find(|s| s.session.token == p.token).cloned();
                    let _ = p.reply.send(Ok(hit));
                }
            }
            Err(error) => {
                tracing::warn!(%error, checks = batch.len(), "session lookup failed");
                for p in batch {
                    let _ = p
                        .reply
                        .send(Err(StoreError::Unavailable(error.to_string())));
                }
            }
        }
    }

    async fn fetch(
        &self,
        batch: &[Pending],
    ) -> std::result::Result<Vec<SessionWithUser>, sqlx::Error> {
        let tokens: Vec<&str> = batch.iter().map(|p| p.token.as_str()).collect();
        crate::metrics::lookup_batch(tokens.len());
        let mut conn = self.pool.acquire().await?;
        let sql = if tokens.len() == 1 {
            self.sql.one
        } else {
            self.sql.many
        };
        let rows = (self.fetch)(&mut conn, self.sql, &tokens)
            .instrument(crate::spans::statement_span(sql))
            .await?;
        conn.finish();
        Ok(rows)
    }
}
