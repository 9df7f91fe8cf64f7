//! The HTTP server loop, instead of `axum::serve`, which builds hyper without a timer (so
//! hyper's header timeout is off) and accepts connections until the process runs out of file
//! descriptors. Here:
//!
//! - every connection must send a request's whole header within `HEADER_TIMEOUT_SECONDS`,
//!   and an idle keep-alive connection its next request within the same time, or it is
//!   closed (hyper's `header_read_timeout`, which needs the timer);
//! - at most [`connection_cap`] connections are open at once: one accepted beyond the cap is
//!   closed at once rather than left in the kernel's queue, where it would wait for a slot
//!   behind the slow clients holding them and take a descriptor when its turn came;
//! - when shutdown begins the listener closes, idle connections close at once, and the
//!   others finish the request they are in (the caller bounds the wait).

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// What the loop enforces.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    pub header_timeout: Duration,
    pub max_connections: usize,
}

/// File descriptors kept out of the connection cap: the database pool's connections (three
/// each: a SQLite connection opens the file, its WAL and its shared memory), the listeners,
/// log and metric exporters, and the short-lived descriptor of a connection refused at the cap.
pub fn reserved_descriptors(database_connections: u32) -> usize {
    64 + 3 * database_connections as usize
}

/// The process's soft `RLIMIT_NOFILE`, when it can be read.
pub fn descriptor_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct it is given and nothing else.
    let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    (read == 0 && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
}

/// The connection cap: `configured` (`MAX_CONNECTIONS`), lowered to what the descriptor limit
/// leaves after `reserved`, with a warning naming both when it is lowered.
pub fn connection_cap(configured: usize, reserved: usize, limit: Option<u64>) -> usize {
    let Some(limit) = limit else {
        return configured;
    };
    let room = usize::try_from(limit)
        .unwrap_or(usize::MAX)
        .saturating_sub(reserved)
        .max(1);
    if room < configured {
        tracing::warn!(
            max_connections = configured,
            cap = room,
            nofile = limit,
            reserved,
            "the file-descriptor limit (RLIMIT_NOFILE, systemd's LimitNOFILE) leaves room for {room} connections: \
             accepting at most {room} at once instead of MAX_CONNECTIONS={configured}"
        );
        room
    } else {
        configured
    }
}

/// Serves `app` on `listener` until `draining` is cancelled, then waits for the open
/// connections to finish (idle ones close at once).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServeLimits,
    draining: CancellationToken,
) {
    let open = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let connections = TaskTracker::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    loop {
        let (stream, remote) = tokio::select! {
            biased;
            () = draining.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(&e).await;
                    continue;
                }
            },
        };
        let Ok(slot) = open.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        // Requests of this connection being handled: at shutdown a connection with none is
        // closed at once, even with half a header received.
        let busy = Arc::new(AtomicUsize::new(0));
        let handling = busy.clone();
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let mut req = req.map(axum::body::Body::new);
            req.extensions_mut().insert(ConnectInfo(remote));
            let guard = Busy::enter(&handling);
            let response = app.clone().oneshot(req);
            async move {
                let response = response.await;
                drop(guard);
                response
            }
        });
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let stop = draining.clone();
        connections.spawn(async move {
            let _slot = slot;
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => return,
                () = stop.cancelled() => {}
            }
            connection.as_mut().graceful_shutdown();
            if busy.load(Ordering::Acquire) > 0 {
                // A request in progress finishes (bounded by the request and body timeouts,
                // and by the caller's shutdown timeout).
                let _ = connection.await;
            } else {
                // Idle or half-sent: only a response just handed to hyper may still be
                // flushing; it gets a moment, then the socket closes.
                let _ = tokio::time::timeout(FLUSH_GRACE, connection).await;
            }
        });
    }
    drop(listener);
    connections.close();
    connections.wait().await;
}

/// How long a connection with no request in progress gets at shutdown to flush what it was
/// writing before it is closed.
const FLUSH_GRACE: Duration = Duration::from_millis(250);

/// Counts a request in progress while it lives.
struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn enter(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        Self(count.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A failed `accept`: a connection reset before it was accepted is nothing; anything else
/// (out of descriptors, out of memory) is logged and the loop pauses briefly instead of
/// spinning on the same error.
async fn accept_failed(e: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed; pausing the listener for 100 ms");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_stays_below_the_descriptor_limit() {
        assert_eq!(connection_cap(10_000, 94, Some(1024)), 930);
        assert_eq!(connection_cap(500, 94, Some(1024)), 500);
        assert_eq!(connection_cap(10_000, 94, None), 10_000);
        assert_eq!(connection_cap(10_000, 5000, Some(1024)), 1);
    }
}
