//! Password hashing threads: scrypt takes 32 MiB and a core for ~60 ms per hash, and must never
//! run on the async workers.

use super::{Error, Result};
use std::sync::OnceLock;

/// One thread per core, started on the first hash, at the lowest CPU priority.
///
/// The threads are `SCHED_IDLE` on Linux: a sign-in flood would otherwise take every core for
/// scrypt and double or triple the latency of the session checks that every other request
/// waits on. With `SCHED_IDLE` a session check that wakes up preempts a hash at once, and the
/// hashes get the CPU the checks leave. They are not starved outright (the kernel still gives
/// such threads a small share of a busy core), but on a box kept 100% busy by other work
/// sign-ins slow down first. Dedicated threads, because a thread cannot get its priority back
/// without `CAP_SYS_NICE`, and tokio's blocking pool also resolves host names and reads files.
pub(crate) struct HashingPool {
    threads: usize,
    pool: OnceLock<Option<rayon::ThreadPool>>,
}

impl HashingPool {
    pub(crate) fn new() -> Self {
        Self {
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            pool: OnceLock::new(),
        }
    }

    /// Runs `f` on a hashing thread; concurrent calls queue, first come first served.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let pool = self
            .pool
            .get_or_init(|| self.build())
            .as_ref()
            .ok_or_else(|| {
                Error::Internal("the password hashing threads could not be started".into())
            })?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        pool.spawn(move || {
            let _ = tx.send(f());
        });
        rx.await
            .map_err(|_| Error::Internal("a password hash did not finish".into()))
    }

    fn build(&self) -> Option<rayon::ThreadPool> {
        rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads)
            .thread_name(|i| format!("sk-hash-{i}"))
            .start_handler(|_| lower_thread_priority())
            .build()
            .map_err(
                |error| tracing::error!(%error, "could not start the password hashing threads"),
            )
            .ok()
    }
}

fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: pid 0 is the calling thread and `param` outlives the call.
        let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
        if rc != 0 {
            tracing::debug!("could not lower the priority of a password hashing thread");
        }
    }
}
