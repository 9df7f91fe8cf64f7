//! Session checks that arrive together are answered by one statement.
//!
//! Each check is one indexed lookup by token, but as one statement each, most of its cost is the
//! round trip: a wake-up of the database process and of ours, per check. Here checks queue, and
//! a lane (a task with a connection from the [`LookupPool`]) takes everything queued and looks
//! it up with one `token = ANY(...)` statement. With one check in flight a batch holds one
//! token, so nothing waits for a batch to fill; under load batches grow by themselves, because
//! the checks that arrive while a statement runs all go in the next one.

use super::lookup_pool::LookupPool;
use super::{Result, StoreError};
use crate::domain::SessionWithUser;
use futures::future::BoxFuture;
use sqlx::Database;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// More tokens per statement save little and make one slow batch delay more checks.
const MAX_BATCH: usize = 64;

/// Lanes, i.e. statements in flight at once. One lane batches best: measured with the bench
/// (`bench/run`, 64 connections, 2 cores), one lane served 32,400 checks/s with p99 4.0 ms on
/// PostgreSQL, two lanes 29,700 and 5.1 ms, five 22,200 and 6.5 ms: a second lane mostly takes
/// the one or two checks that arrive while the first is busy, so there are more statements
/// for the same checks. A statement for 64 tokens takes well under a millisecond, so one lane
/// still serves far more checks than the HTTP side can parse on a large machine.
pub(crate) const LANES: u32 = 1;

/// A lookup (connecting included) that takes this long fails its checks and closes its
/// connection, so a hung connection or an unreachable database host (a network partition)
/// holds up the session checks for no longer than this.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs the lookup statement for these tokens and decodes the rows found.
pub(crate) type FetchBatch<DB> =
    for<'c> fn(
        &'c mut <DB as Database>::Connection,
        &'static str,
        &'c [&'c str],
    ) -> BoxFuture<'c, std::result::Result<Vec<SessionWithUser>, sqlx::Error>>;

struct Pending {
    token: String,
    reply: oneshot::Sender<Result<Option<SessionWithUser>>>,
}

type Queue = mpsc::UnboundedReceiver<Pending>;

pub(crate) struct SessionLookups<DB: Database> {
    tx: mpsc::UnboundedSender<Pending>,
    /// Taken by the first check, which starts the lanes (a store may be built outside a runtime).
    rx: Mutex<Option<Queue>>,
    started: OnceLock<()>,
    shared: Arc<Shared<DB>>,
}

struct Shared<DB: Database> {
    pool: LookupPool<DB>,
    sql: &'static str,
    fetch: FetchBatch<DB>,
}

impl<DB: Database> SessionLookups<DB> {
    pub(crate) fn new(pool: LookupPool<DB>, sql: &'static str, fetch: FetchBatch<DB>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            tx,
            rx: Mutex::new(Some(rx)),
            started: OnceLock::new(),
            shared: Arc::new(Shared { pool, sql, fetch }),
        }
    }

    /// The session whose token column holds `token_key`, with its user.
    pub(crate) async fn find(&self, token_key: &str) -> Result<Option<SessionWithUser>> {
        self.started.get_or_init(|| self.start());
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            token: token_key.to_owned(),
            reply,
        };
        self.tx
            .send(pending)
            .map_err(|_| StoreError::Unavailable("session lookups stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("session lookup abandoned".into()))?
    }

    fn start(&self) {
        let taken = self
            .rx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(rx) = taken else { return };
        let queue = Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..LANES {
            tokio::spawn(lane(self.shared.clone(), queue.clone()));
        }
    }
}

/// Ends when the store, and with it the queue's sender, is dropped.
async fn lane<DB: Database>(shared: Arc<Shared<DB>>, queue: Arc<tokio::sync::Mutex<Queue>>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        {
            let mut rx = queue.lock().await;
            if rx.recv_many(&mut batch, MAX_BATCH).await == 0 {
                return;
            }
        }
        // A check whose request went away needs no answer.
        batch.retain(|p: &Pending| !p.reply.is_closed());
        if !batch.is_empty() {
            answer(&shared, &mut batch).await;
        }
        batch.clear();
    }
}

async fn answer<DB: Database>(shared: &Shared<DB>, batch: &mut Vec<Pending>) {
    let found = tokio::time::timeout(LOOKUP_TIMEOUT, fetch(shared, batch))
        .await
        .unwrap_or(Err(sqlx::Error::PoolTimedOut));
    match found {
        Ok(found) => {
            for p in batch.drain(..) {
                let hit = found.iter().find(|s| s.session.token == p.token).cloned();
                let _ = p.reply.send(Ok(hit));
            }
        }
        Err(error) => {
            tracing::warn!(%error, checks = batch.len(), "session lookup failed");
            for p in batch.drain(..) {
                let _ = p
                    .reply
                    .send(Err(StoreError::Unavailable(error.to_string())));
            }
        }
    }
}

async fn fetch<DB: Database>(
    shared: &Shared<DB>,
    batch: &[Pending],
) -> std::result::Result<Vec<SessionWithUser>, sqlx::Error> {
    let tokens: Vec<&str> = batch.iter().map(|p| p.token.as_str()).collect();
    let mut conn = shared.pool.acquire().await?;
    let rows = (shared.fetch)(&mut conn, shared.sql, &tokens).await?;
    conn.finish();
    Ok(rows)
}
