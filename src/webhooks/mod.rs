//! Delivery of lifecycle events to `WEBHOOK_URLS` (Standard Webhooks): a background worker
//! claims due events from the outbox, posts each signed to its receiver, and acknowledges it,
//! or schedules a retry with exponential backoff and jitter until `WEBHOOK_MAX_ATTEMPTS`.
//! Requests never wait for it: they only insert outbox rows.

use crate::config::WebhookConfig;
use crate::domain::Clock;
use crate::metrics as m;
use crate::store::Store;
use crate::store::outbox::OutboxRow;
use standardwebhooks::Webhook;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

/// Events claimed per round (one per session and receiver, delivered concurrently).
const BATCH: u32 = 64;
/// The longest wait between two attempts, before jitter.
const MAX_DELAY_SECONDS: u64 = 8 * 3600;

pub struct WebhookWorker {
    config: WebhookConfig,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    client: reqwest::Client,
    signer: Webhook,
}

/// Why a worker could not be built.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("WEBHOOK_SECRET is not a whsec_ key: {0}")]
    Secret(String),
    #[error("cannot build the webhook HTTP client: {0}")]
    Client(String),
}

/// The wait before attempt `attempts + 1`: `base * 2^(attempts-1)`, capped, times a random
/// factor in [0.8, 1.2] so that receivers coming back are not hit by every instance at once.
pub fn backoff(base_seconds: u64, attempts: u32, jitter: f64) -> Duration {
    let exp = attempts.saturating_sub(1).min(30);
    let delay = base_seconds
        .saturating_mul(1u64 << exp)
        .min(MAX_DELAY_SECONDS);
    Duration::from_secs_f64(delay as f64 * jitter.clamp(0.8, 1.2))
}

pub use crate::service::events::body;

impl WebhookWorker {
    /// `None` when no receiver is configured.
    pub fn new(
        config: &WebhookConfig,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Result<Option<Arc<Self>>, WebhookError> {
        if config.urls.is_empty() {
            return Ok(None);
        }
        let secret = config
            .secret
            .as_ref()
            .ok_or_else(|| WebhookError::Secret("not set".into()))?;
        let signer =
            Webhook::new(secret.expose()).map_err(|e| WebhookError::Secret(e.to_string()))?;
        // A delivery must end well within its lease, or another instance would send it too.
        let timeout = Duration::from_secs((config.lease_seconds / 2).clamp(1, 10));
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| WebhookError::Client(e.to_string()))?;
        Ok(Some(Arc::new(Self {
            config: config.clone(),
            store,
            clock,
            client,
            signer,
        })))
    }

    /// Runs until `token` is cancelled: a round whenever the last one found work, else every
    /// `WEBHOOK_POLL_MS`.
    pub async fn run(self: Arc<Self>, token: CancellationToken) {
        let idle = Duration::from_millis(self.config.poll_ms);
        loop {
            let busy = match self.round().await {
                Ok(n) => n > 0,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook outbox unavailable; retrying");
                    false
                }
            };
            self.refresh_gauges().await;
            if !busy {
                tokio::select! {
                    () = token.cancelled() => return,
                    () = tokio::time::sleep(idle) => {}
                }
            } else if token.is_cancelled() {
                return;
            }
        }
    }

    /// Claims and delivers one batch; how many events it handled.
    pub async fn round(&self) -> Result<usize, crate::store::StoreError> {
        let now = self.clock.now();
        let lease = time::Duration::seconds(i64::try_from(self.config.lease_seconds).unwrap_or(60));
        let rows = self.store.claim_events(now, now + lease, BATCH).await?;
        let n = rows.len();
        let results = futures::future::join_all(rows.iter().map(|r| self.send(r))).await;
        for (row, result) in rows.iter().zip(results) {
            self.settle(row, result).await;
        }
        Ok(n)
    }

    async fn send(&self, row: &OutboxRow) -> Result<(), String> {
        let url = usize::try_from(row.endpoint)
            .ok()
            .and_then(|i| self.config.urls.get(i))
            .ok_or_else(|| format!("receiver {} is no longer in WEBHOOK_URLS", row.endpoint))?;
        let payload = body(row).to_string();
        let id = format!("msg_{}", row.seq);
        // The signature's timestamp is the sending instant (receivers check it against their
        // clock), not the event's.
        let sent_at = OffsetDateTime::now_utc().unix_timestamp();
        let signature = self
            .signer
            .sign(&id, sent_at, payload.as_bytes())
            .map_err(|e| e.to_string())?;
        let res = self
            .client
            .post(url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", sent_at.to_string())
            .header("webhook-signature", signature)
            .body(payload)
            .send()
            .await
            .map_err(|e| without_url(&e))?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err(format!("HTTP {}", res.status().as_u16()))
        }
    }

    async fn settle(&self, row: &OutboxRow, result: Result<(), String>) {
        let now = self.clock.now();
        let outcome = match &result {
            Ok(()) => self
                .store
                .mark_delivered(row.seq, now)
                .await
                .map(|()| "delivered"),
            Err(e) => {
                let next = (row.attempts < self.config.max_attempts).then(|| {
                    let jitter = 1.0 + rand::random_range(-0.2..=0.2);
                    let wait = backoff(self.config.retry_base_seconds, row.attempts, jitter);
                    now + wait
                });
                let outcome = if next.is_some() { "retry" } else { "failed" };
                if next.is_none() {
                    tracing::warn!(event = %row.event_type, seq = row.seq, error = %e, "webhook event failed for good after its last attempt");
                }
                self.store
                    .mark_attempt_failed(row.seq, now, next, e)
                    .await
                    .map(|()| outcome)
            }
        };
        match outcome {
            Ok(o) => m::webhook_delivery(o),
            // The lease runs out and the event is sent again: at least once.
            Err(e) => {
                tracing::warn!(seq = row.seq, error = %e, "cannot acknowledge a webhook delivery")
            }
        }
    }

    async fn refresh_gauges(&self) {
        if let Ok(b) = self.store.outbox_backlog().await {
            let age = b
                .oldest
                .map_or(0.0, |t| (self.clock.now() - t).as_seconds_f64().max(0.0));
            m::webhook_backlog(b.pending, age);
        }
    }
}

/// A request error without the receiver's URL (which may carry a credential).
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    kind.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_within_the_jitter() {
        assert_eq!(backoff(30, 1, 1.0), Duration::from_secs(30));
        assert_eq!(backoff(30, 3, 1.0), Duration::from_secs(120));
        assert_eq!(backoff(30, 30, 1.0), Duration::from_secs(MAX_DELAY_SECONDS));
        assert_eq!(backoff(30, 2, 2.0), Duration::from_secs(72));
        // The default twelve attempts span about a day.
        let total: f64 = (1..12).map(|a| backoff(30, a, 1.0).as_secs_f64()).sum();
        assert!((12.0 * 3600.0..30.0 * 3600.0).contains(&total), "{total}");
    }
}
