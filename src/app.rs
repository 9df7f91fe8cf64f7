//! Start-up: configuration in, a running server out. Used by `serve`, by the tests (port 0) and
//! by applications that embed sessionkeeper.

use crate::cleanup::CleanupService;
use crate::config::{Config, Secret};
use crate::domain::{Clock, SystemClock};
use crate::http::{self, AppState};
use crate::service::SessionKeeper;
use crate::store::tables::startup;
use crate::store::{self, Schema, StoreError};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Schema(String),
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
    listener: TcpListener,
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
        let store = open_store(&config).await?;
        if config.rate_limit.storage == crate::config::RateLimitStorage::Database {
            // Better Auth's own DDL, so a Node app with `storage: "database"` finds its table.
            store.ensure_rate_limit_table().await?;
        }
        let addr = config.listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let keeper = Arc::new(SessionKeeper::new(config, store, clock));
        Ok(Self { keeper, listener })
    }

    /// The core API the server serves.
    pub fn keeper(&self) -> &Arc<SessionKeeper> {
        &self.keeper
    }

    /// The cleanup service (the admin service's), to watch or stop it.
    pub fn cleanup(&self) -> &Arc<CleanupService> {
        self.keeper.admin().cleanup()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| self.keeper.core().config().listen)
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests. Runs the cleanup
    /// service alongside when automatic cleanup is on, and stops it (between batches) at the end.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let cleanup = self.cleanup().clone();
        if self.keeper.core().config().cleanup.automatic {
            cleanup.start();
        }
        let app = http::router(AppState::new(self.keeper.clone()));
        let served = axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        cleanup.stop().await;
        served
    }
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
