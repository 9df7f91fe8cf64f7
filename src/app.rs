//! Start-up: configuration in, a running server out. Used by `serve`, by the tests (port 0) and
//! by applications that embed sessionkeeper.

use crate::config::{Config, Mode, Secret, TenantSource};
use crate::domain::{Clock, SystemClock};
use crate::http::{self, AppState};
use crate::service::SessionKeeper;
use crate::store::schema::TenantColumn;
use crate::store::{self, Schema, StoreError};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
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

/// The table and column names the configuration implies.
pub fn schema_for(config: &Config) -> Schema {
    let mut schema = Schema::default();
    if config.admin.tenant_source == TenantSource::ActiveOrganization {
        schema.tenant = TenantColumn::Session("activeOrganizationId".into());
    }
    schema
}

/// Opens and migrates the store the configuration names.
pub async fn open_store(config: &Config) -> Result<Arc<dyn store::Store>, StartError> {
    let store = store::connect(
        &config.database_url,
        config.database_max_connections,
        schema_for(config),
    )
    .await?;
    store.migrate(config.mode).await?;
    if config.mode == Mode::Shared {
        tracing::info!("shared mode: Better Auth's tables are left as they are");
    }
    Ok(store)
}

pub struct Application {
    pub keeper: Arc<SessionKeeper>,
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
        let addr = config.listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let keeper = Arc::new(SessionKeeper::new(config, store, clock));
        Ok(Self { keeper, listener })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| self.keeper.config.listen)
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = http::router(AppState::new(self.keeper.clone()));
        axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
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
