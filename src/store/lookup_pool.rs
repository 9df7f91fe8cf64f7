//! The connections that answer session checks, kept outside sqlx's pool.
//!
//! sqlx's pool pings every connection it takes back (a task spawned per release, then a round
//! trip to the database) because a query future dropped half-way may have left it mid-protocol.
//! For a one-query session check that doubles the round trips and wake-ups. Here a connection
//! goes back only when its query finished; one whose lease was dropped early (a cancelled
//! request) or whose query failed is closed instead, so no ping is needed to trust it.

use sqlx::{ConnectOptions, Connection, Database, Error};
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, SemaphorePermit};

// A connection idle longer than this is pinged before use: the database may have restarted.
use super::pool::TRUSTED_IDLE;

type Options<DB> = <<DB as Database>::Connection as Connection>::Options;

pub(crate) struct LookupPool<DB: Database>(Arc<Inner<DB>>);

struct Inner<DB: Database> {
    options: Arc<Options<DB>>,
    idle: Mutex<Vec<(DB::Connection, Instant)>>,
    permits: Semaphore,
    size: u32,
    acquire_timeout: Duration,
}

impl<DB: Database> Clone for LookupPool<DB> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<DB: Database> LookupPool<DB> {
    /// Opens connections lazily, at most `size` at a time.
    pub(crate) fn new(options: Arc<Options<DB>>, size: u32, acquire_timeout: Duration) -> Self {
        Self(Arc::new(Inner {
            options,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(size.max(1) as usize),
            size: size.max(1),
            acquire_timeout,
        }))
    }

    /// Connections it opens at most.
    pub(crate) fn size(&self) -> u32 {
        self.0.size
    }

    /// Open and idle connections, for `/metrics`.
    pub(crate) fn stats(&self) -> super::PoolStats {
        let inner = &*self.0;
        let idle = u32::try_from(inner.idle().len()).unwrap_or(u32::MAX);
        let in_use = inner
            .size
            .saturating_sub(u32::try_from(inner.permits.available_permits()).unwrap_or(0));
        super::PoolStats {
            pool: "lookup",
            open: idle.saturating_add(in_use).min(inner.size),
            idle,
            max: inner.size,
        }
    }

    pub(crate) async fn acquire(&self) -> Result<Lease<'_, DB>, Error> {
        let inner = &*self.0;
        let permit = match inner.permits.try_acquire() {
            Ok(permit) => permit,
            Err(_) => {
                super::note_pool_wait("lookup");
                tokio::time::timeout(inner.acquire_timeout, inner.permits.acquire())
                    .await
                    .map_err(|_| Error::PoolTimedOut)?
                    .map_err(|_| Error::PoolClosed)?
            }
        };
        let conn = match inner.take_idle() {
            Some((mut conn, since)) if since.elapsed() > TRUSTED_IDLE => match conn.ping().await {
                Ok(()) => conn,
                Err(_) => inner.options.connect().await?,
            },
            Some((conn, _)) => conn,
            None => inner.options.connect().await?,
        };
        Ok(Lease {
            inner,
            conn: Some(conn),
            _permit: permit,
        })
    }
}

impl<DB: Database> Inner<DB> {
    fn idle(&self) -> MutexGuard<'_, Vec<(DB::Connection, Instant)>> {
        // The lock guards a plain Vec that no code path leaves half-changed.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Most recently used first: it is the least likely to have been closed by the server.
    fn take_idle(&self) -> Option<(DB::Connection, Instant)> {
        self.idle().pop()
    }
}

/// One connection on loan. [`Lease::finish`] hands it back; dropping the lease closes it.
pub(crate) struct Lease<'a, DB: Database> {
    inner: &'a Inner<DB>,
    conn: Option<DB::Connection>,
    _permit: SemaphorePermit<'a>,
}

impl<DB: Database> Lease<'_, DB> {
    /// The query on this connection ran to completion: it is in a known state.
    pub(crate) fn finish(mut self) {
        if let Some(conn) = self.conn.take() {
            self.inner.idle().push((conn, Instant::now()));
        }
    }
}

impl<DB: Database> Deref for Lease<'_, DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &DB::Connection {
        self.conn
            .as_ref()
            .expect("a lease holds its connection until finish or drop")
    }
}

impl<DB: Database> DerefMut for Lease<'_, DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        self.conn
            .as_mut()
            .expect("a lease holds its connection until finish or drop")
    }
}
