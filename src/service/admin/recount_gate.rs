//! At most one statistics recount at a time in this process. A caller that arrives while a
//! recount of its scope is running, or finds one started after it arrived once it gets its
//! turn, takes that result instead of counting again: n concurrent `?fresh=true` requests cost
//! at most two counts, not n.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Default)]
struct Order {
    /// The number the next recount gets.
    next: u64,
    /// The recount running now.
    running: Option<u64>,
}

pub(crate) struct RecountGate<T> {
    order: Mutex<Order>,
    /// Per scope, the number of its last finished recount and the result.
    done: tokio::sync::Mutex<HashMap<String, (u64, T)>>,
    waiting: AtomicUsize,
}

impl<T: Clone> RecountGate<T> {
    pub(crate) fn new() -> Self {
        Self {
            order: Mutex::new(Order::default()),
            done: tokio::sync::Mutex::new(HashMap::new()),
            waiting: AtomicUsize::new(0),
        }
    }

    fn order(&self) -> std::sync::MutexGuard<'_, Order> {
        self.order.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `count`'s result for `scope`, or that of a recount of `scope` that was running when
    /// this was called or began after.
    pub(crate) async fn run<E, F, Fut>(&self, scope: &str, count: F) -> Result<T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let ticket = {
            let o = self.order();
            o.running.unwrap_or(o.next)
        };
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let mut done = self.done.lock().await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        if let Some((n, v)) = done.get(scope)
            && *n >= ticket
        {
            return Ok(v.clone());
        }
        let n = {
            let mut o = self.order();
            let n = o.next;
            o.next += 1;
            o.running = Some(n);
            n
        };
        let result = count().await;
        self.order().running = None;
        let v = result?;
        done.insert(scope.to_owned(), (n, v.clone()));
        Ok(v)
    }

    /// Callers queued behind the recount in progress.
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::RecountGate;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    async fn until(cond: impl Fn() -> bool) {
        while !cond() {
            tokio::task::yield_now().await;
        }
    }

    /// Callers arriving during a recount get its result; one arriving after it ended counts.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn callers_during_a_recount_share_it() {
        let gate = Arc::new(RecountGate::<u32>::new());
        let counts = Arc::new(AtomicUsize::new(0));
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let (started, has_started) = tokio::sync::oneshot::channel::<()>();
        let first = {
            let (gate, counts) = (gate.clone(), counts.clone());
            tokio::spawn(async move {
                gate.run("all", || async move {
                    counts.fetch_add(1, Ordering::SeqCst);
                    let _ = started.send(());
                    let _ = released.await;
                    Ok::<_, ()>(7)
                })
                .await
            })
        };
        has_started.await.unwrap();
        let joiners: Vec<_> = (0..4)
            .map(|_| {
                let (gate, counts) = (gate.clone(), counts.clone());
                tokio::spawn(async move {
                    gate.run("all", || async move {
                        counts.fetch_add(1, Ordering::SeqCst);
                        Ok::<_, ()>(8)
                    })
                    .await
                })
            })
            .collect();
        until(|| gate.waiting() == 4).await;
        release.send(()).unwrap();
        assert_eq!(first.await.unwrap(), Ok(7));
        for j in joiners {
            assert_eq!(j.await.unwrap(), Ok(7), "joined the recount in progress");
        }
        assert_eq!(counts.load(Ordering::SeqCst), 1);
        let later = gate.run("all", || async { Ok::<_, ()>(9) }).await;
        assert_eq!(
            later,
            Ok(9),
            "a caller after the recount ended counts again"
        );
    }

    /// Never two recounts at once, whatever the scopes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_recount_at_a_time() {
        let gate = Arc::new(RecountGate::<usize>::new());
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let (gate, now, most) = (gate.clone(), now.clone(), most.clone());
                tokio::spawn(async move {
                    let scope = format!("tenant:{}", i % 3);
                    gate.run(&scope, || async move {
                        let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(n, Ordering::SeqCst);
                        for _ in 0..50 {
                            tokio::task::yield_now().await;
                        }
                        now.fetch_sub(1, Ordering::SeqCst);
                        Ok::<_, ()>(i)
                    })
                    .await
                })
            })
            .collect();
        for t in tasks {
            assert!(t.await.unwrap().is_ok());
        }
        assert_eq!(most.load(Ordering::SeqCst), 1);
    }

    /// A failed recount is not kept: the next caller counts.
    #[tokio::test]
    async fn a_failure_is_not_shared_later() {
        let gate = RecountGate::<u32>::new();
        assert_eq!(
            gate.run("all", || async { Err::<u32, _>("down") }).await,
            Err("down")
        );
        assert_eq!(gate.run("all", || async { Ok::<_, &str>(3) }).await, Ok(3));
    }
}
