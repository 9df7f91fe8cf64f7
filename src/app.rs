//! Start-up: configuration in, a running server out. Used by `serve`, by the tests (port 0) and
//! by applications that embed sessionkeeper.

use crate::cleanup::CleanupService;
use crate::config::{Config, Secret};
use crate::domain::{Clock, SystemClock};
use crate::http::serve::{self, ServeLimits};
use crate::http::{self, AppState};
use crate::service::SessionKeeper;
use crate::store::tables::startup;
use crate::store::{self, Schema, StoreError};
use crate::webhooks::WebhookWorker;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Schema(String),
    #[error("{0}")]
    Webhooks(#[from] crate::webhooks::WebhookError),
    /// REDIS_URL is set but Redis does not answer.
    #[error("cannot reach Redis at REDIS_URL ({url}): {message}")]
    Secondary { url: String, message: String },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Fills in a development secret when none is configured, loudly.
pub fn ensure_secret(config: &mut Config) {
    if config.secret.is_none() {
        tracing::warn!(
            "BETTER_AUTH_SECRET is not set: using a random secret for this run only. Every session \
             cookie becomes invalid when the process restarts, and cookies will not validate in any \
             other server. Set BETTER_AUTH_SECRET (32+ random characters) for anything but development."
        );
        config.secret = Some(Secret::new(crate::domain::ids::generate_id(48)));
    }
}

/// Connects to the Better Auth app's Redis when `REDIS_URL` is set (the configuration has
/// already checked that `SESSION_STORAGE` agrees), and checks that it answers.
pub async fn open_secondary(
    config: &Config,
) -> Result<Option<Arc<crate::secondary::SecondaryStorage>>, StartError> {
    let Some(url) = &config.secondary.redis_url else {
        return Ok(None);
    };
    match crate::secondary::SecondaryStorage::connect(url, &config.secondary.prefix).await {
        Ok(s) if config.secondary.session_storage == crate::config::SessionStorage::Secondary => {
            Ok(Some(Arc::new(s.holding_sessions_alone())))
        }
        Ok(s) => Ok(Some(Arc::new(s))),
        Err(e) => Err(StartError::Secondary {
            url: crate::config::SETTINGS
                .iter()
                .find(|s| s.key == "secondary.redis_url")
                .map(|s| crate::config::shown_value(config, s))
                .unwrap_or_default(),
            message: e.to_string(),
        }),
    }
}

/// The table and column names the configuration asks for (before the start-up check has
/// dropped absent plugin columns).
pub fn schema_for(config: &Config) -> Schema {
    startup::schema_for(config)
}

/// Opens the store the configuration names, creates what the mode owns, and checks that the
/// Better Auth tables and columns sessionkeeper needs are there. In shared mode the check runs
/// first, so a wrong database is left exactly as it was.
pub async fn open_store(config: &Config) -> Result<Arc<dyn store::Store>, StartError> {
    open_store_with(config, true).await
}

/// [`open_store`]; with `create_own_tables` false, shared mode writes nothing at all (for dry
/// runs). The checks live in `store/tables/startup.rs`.
pub async fn open_store_with(
    config: &Config,
    create_own_tables: bool,
) -> Result<Arc<dyn store::Store>, StartError> {
    match startup::open_checked(config, create_own_tables).await {
        Ok(store) => Ok(store),
        Err(startup::OpenError::Refused(message)) => Err(StartError::Schema(message)),
        Err(startup::OpenError::Store(e)) => Err(StartError::Store(e)),
    }
}

pub struct Application {
    keeper: Arc<SessionKeeper>,
    webhooks: Option<Arc<WebhookWorker>>,
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartError> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(
        mut config: Config,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartError> {
        ensure_secret(&mut config);
        // Redis first: a cheap check, and a wrong REDIS_URL leaves the database untouched.
        let secondary = open_secondary(&config).await?;
        let store = open_store(&config).await?;
        if config.rate_limit.storage == crate::config::RateLimitStorage::Database {
            // Better Auth's own DDL, so a Node app with `storage: "database"` finds its table.
            store.ensure_rate_limit_table().await?;
        }
        let addr = config.listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let metrics_listener = match config.ops.metrics_listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| StartError::Bind { addr, source })?,
            ),
            None => None,
        };
        let webhooks = WebhookWorker::new(&config.webhooks, store.clone(), clock.clone())?;
        let keeper = Arc::new(SessionKeeper::with_secondary(
            config, store, clock, secondary,
        ));
        Ok(Self {
            keeper,
            webhooks,
            listener,
            metrics_listener,
        })
    }

    /// The core API the server serves.
    pub fn keeper(&self) -> &Arc<SessionKeeper> {
        &self.keeper
    }

    /// The cleanup service (the admin service's), to watch or stop it.
    pub fn cleanup(&self) -> &Arc<CleanupService> {
        self.keeper.admin().cleanup()
    }

    /// The webhook worker, when `WEBHOOK_URLS` names receivers.
    pub fn webhooks(&self) -> Option<&Arc<WebhookWorker>> {
        self.webhooks.as_ref()
    }

    /// Where `/metrics` is served when `METRICS_LISTEN_ADDR` gave it a listener of its own.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| self.keeper.core().config().listen)
    }

    /// Serves until `shutdown` resolves, then stops accepting connections and gives the
    /// requests in flight up to `SHUTDOWN_TIMEOUT_SECONDS` to finish (responses sent meanwhile
    /// say `Connection: close`). Runs the cleanup service alongside when automatic cleanup is
    /// on, and stops it (between batches, the run recorded `stopped`) as soon as shutdown
    /// begins. `/metrics` gets a listener of its own when `METRICS_LISTEN_ADDR` is set.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let config = self.keeper.core().config().clone();
        let cleanup = self.cleanup().clone();
        if config.cleanup.automatic {
            cleanup.start();
        }
        let draining = CancellationToken::new();
        // The webhook worker stops at once on shutdown: an event it was sending is sent
        // again by the next instance to claim it, once its lease has run out.
        let worker = self
            .webhooks
            .clone()
            .map(|w| tokio::spawn(w.run(draining.clone())));
        let refresher = {
            let (keeper, stop) = (self.keeper.clone(), draining.clone());
            tokio::spawn(async move { keeper.admin().run_stats_refresher(stop).await })
        };
        let state = AppState::with_draining(self.keeper.clone(), draining.clone());
        let metrics_server = self
            .metrics_listener
            .map(|listener| tokio::spawn(serve_metrics(listener, state.clone(), draining.clone())));
        let app = http::router(state);
        let signal = draining.clone();
        tokio::spawn(async move {
            shutdown.await;
            signal.cancel();
        });
        let limits = serve_limits(&config);
        let served = async {
            serve::serve(self.listener, app, limits, draining.clone()).await;
            Ok(())
        };
        let grace = Duration::from_secs(config.ops.shutdown_timeout_seconds);
        let stop_cleanup = async {
            draining.cancelled().await;
            cleanup.stop().await;
        };
        let deadline = async {
            draining.cancelled().await;
            tokio::time::sleep(grace).await;
        };
        let serving = async {
            let served = tokio::select! {
                served = served => served,
                () = deadline => {
                    tracing::warn!(
                        seconds = grace.as_secs(),
                        "requests still in flight at the shutdown timeout; closing them"
                    );
                    Ok(())
                }
            };
            // Should serving end on its own, the cleanup is stopped all the same.
            draining.cancel();
            served
        };
        let (served, ()) = tokio::join!(serving, stop_cleanup);
        if let Some(task) = worker {
            let _ = task.await;
        }
        if let Some(task) = metrics_server {
            let _ = task.await;
        }
        let _ = refresher.await;
        // The last period's session activity, written on the way out (a crash loses it).
        if let Err(e) = self.keeper.core().flush_activity().await {
            tracing::warn!(error = %e, "cannot write the last session activity at shutdown");
        }
        served
    }
}

/// The header timeout and the connection cap of the main listener: `MAX_CONNECTIONS`, lowered
/// below the file-descriptor limit (with a warning).
fn serve_limits(config: &Config) -> ServeLimits {
    let reserved = serve::reserved_descriptors(config.database_max_connections)
        + usize::from(config.ops.metrics_listen.is_some()) * METRICS_CONNECTIONS;
    ServeLimits {
        header_timeout: Duration::from_secs(config.ops.header_timeout_seconds),
        max_connections: serve::connection_cap(
            config.ops.max_connections,
            reserved,
            serve::descriptor_limit(),
        ),
    }
}

/// Connections of the separate `/metrics` listener at most (scrapers are few).
const METRICS_CONNECTIONS: usize = 16;

/// `/metrics` alone, on `METRICS_LISTEN_ADDR`.
async fn serve_metrics(listener: TcpListener, state: AppState, draining: CancellationToken) {
    let limits = ServeLimits {
        header_timeout: Duration::from_secs(
            state.keeper.core().config().ops.header_timeout_seconds,
        ),
        max_connections: METRICS_CONNECTIONS,
    };
    let app = http::metrics::router().with_state(state);
    serve::serve(listener, app, limits, draining).await;
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received; draining requests");
}
