//! The AgentLens collector: an HTTP API compatible with upstream AgentLens, backed by
//! SQLite, plus the `agentlens` command-line tool.
//!
//! [`serve`] binds the listen address, takes the [`db_lock`] lock on the database file,
//! opens the [`store::Store`] (creating and migrating the database), makes sure an API key
//! exists, starts the [`alerts::AlertEngine`] and serves the
//! [`router::build_router`] routes with [`server::serve_connections`] until SIGINT or
//! SIGTERM. On a signal the server stops accepting connections, finishes the requests in
//! flight, then stops the evaluator.
//! Tests use [`open_state`] and [`run`] to serve on a listener of their own with their own
//! shutdown future.

pub mod alerts;
pub mod auth;
pub mod cli;
pub mod db_lock;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod import;
pub mod ingest;
pub mod log_filter;
pub mod log_limit;
pub mod mcp;
pub mod metrics;
pub mod openapi;
pub mod pricing;
pub mod rate_limit;
pub mod request_head;
pub mod router;
pub mod server;
pub mod store;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use agentlens_core::pricing::{PriceOverridesError, PriceTable};

use tokio::net::TcpListener;
use tokio::sync::watch;

use auth::BootstrapError;
use store::{Store, StoreError};

/// State shared by every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The storage API.
    pub store: Store,
    /// False when `--no-auth` is set: every request then acts as owner of the default tenant.
    pub auth_enabled: bool,
    /// The alert engine, which ingest notifies after each commit.
    pub alerts: alerts::AlertEngine,
    /// The price table that prices events sent without `costUsd`, loaded once at start.
    pub prices: Arc<PriceTable>,
    /// The per-client request limit of the `/api` routes; `None` when disabled.
    pub rate_limiter: Option<Arc<rate_limit::RateLimiter>>,
}

/// Settings of `agentlens serve`.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// SQLite database file; created when missing.
    pub db: PathBuf,
    /// Whether requests need an API key.
    pub auth_enabled: bool,
    /// Time between alert evaluations.
    pub alert_interval: Duration,
    /// Admin key to install at start (from `AGENTLENS_API_KEY`).
    pub preset_key: Option<String>,
    /// Alert engine and webhook settings.
    pub alerts: alerts::AlertOptions,
    /// Price override file applied over the embedded price table (`--prices`).
    pub prices: Option<PathBuf>,
    /// Requests per minute allowed per API key (or per IP without one) on the `/api`
    /// routes; 0 disables the limit.
    pub rate_limit: u32,
}

/// Errors that stop the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The database could not be opened or migrated.
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    /// The first API key could not be created.
    #[error("cannot create the initial api key: {0}")]
    Bootstrap(#[from] BootstrapError),
    /// The price override file could not be read or is invalid.
    #[error("cannot load the price overrides: {0}; fix the file or leave out --prices")]
    Prices(#[from] PriceOverridesError),
    /// Another server holds the database, or its lock file cannot be used.
    #[error(transparent)]
    Lock(#[from] db_lock::DatabaseLockError),
    /// The listen address is unavailable.
    #[error(
        "cannot listen on {address}: {source}; stop the process using it or pass --bind \
         with another address, such as 127.0.0.1:0 for any free port"
    )]
    Bind {
        /// Requested address.
        address: SocketAddr,
        /// The socket error.
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("server failed: {0}")]
    Serve(std::io::Error),
}

/// Runs the collector until SIGINT or SIGTERM.
///
/// # Errors
///
/// Returns [`ServeError`] when the socket, the database lock, the database or the key
/// bootstrap fails.
pub async fn serve(options: ServeOptions) -> Result<(), ServeError> {
    // Bind and lock before touching the database, so that a failed start creates no
    // database file and prints no new key.
    let listener = TcpListener::bind(options.bind)
        .await
        .map_err(|source| ServeError::Bind {
            address: options.bind,
            source,
        })?;
    let address = listener.local_addr().map_err(ServeError::Serve)?;
    let _lock = db_lock::DatabaseLock::acquire(&options.db, address)?;

    let state = open_state(&options).await?;
    run(listener, state, options.alert_interval, shutdown_signal()).await
}

/// Loads the price table, opens the database and, with authentication on, makes sure an
/// admin key exists.
///
/// A newly created key is printed once to stdout; a preset key is never printed. When
/// stdout is closed, the new key is revoked and the server starts anyway, with a warning
/// that leaves out the key. The next start then creates and prints another key.
///
/// # Errors
///
/// Returns [`ServeError`] when the price overrides are invalid, the database cannot be
/// opened, or the key cannot be stored or revoked.
pub async fn open_state(options: &ServeOptions) -> Result<AppState, ServeError> {
    let prices = pricing::load_prices(options.prices.as_deref())?;
    let store = Store::open(&options.db)?;
    if options.auth_enabled {
        if let Some(key) = auth::bootstrap_key(&store, options.preset_key.as_deref()).await? {
            show_new_key(&store, &key, &options.db).await?;
        }
    } else {
        tracing::warn!("authentication is disabled: every request has full access to all data");
    }
    Ok(AppState {
        alerts: alerts::AlertEngine::new(store.clone(), options.alerts.clone()),
        store,
        auth_enabled: options.auth_enabled,
        prices,
        rate_limiter: rate_limit::RateLimiter::new(options.rate_limit),
    })
}

/// Prints a newly created key on stdout. When that fails, for example because stdout is a
/// pipe whose reader has exited, the key text is lost, so the key is revoked. Otherwise it
/// would stay an active admin key, and the next start would create none. A warning names
/// the command that creates another. The key itself never goes to the log.
///
/// # Errors
///
/// Returns [`BootstrapError::Store`] when the key cannot be revoked.
async fn show_new_key(
    store: &Store,
    key: &auth::NewKey,
    db: &std::path::Path,
) -> Result<(), BootstrapError> {
    let line = format!(
        "created API key {}; store it now, it is not shown again",
        key.secret
    );
    let Err(error) = cli::output::print_line_once(&line) else {
        return Ok(());
    };

    store.revoke_api_key(store::DEFAULT_TENANT, &key.id).await?;
    tracing::warn!(
        %error,
        key.id = %key.id,
        "cannot print the new api key on stdout, so it is revoked; create a key with \
         `agentlens keys create --db {}`, or start again with stdout open to get one printed",
        db.display()
    );
    Ok(())
}

/// Serves the API on `listener` until `shutdown` completes, then finishes requests in
/// flight and stops the alert evaluator.
///
/// # Errors
///
/// Returns [`ServeError::Serve`] when the listener's local address cannot be read.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    alert_interval: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let (stop_evaluator, stop_signal) = watch::channel(false);
    let evaluator = state.alerts.spawn(alert_interval, stop_signal);
    let address = listener.local_addr().map_err(ServeError::Serve)?;
    tracing::info!(
        bind = %address,
        db = %state.store.path().display(),
        auth = state.auth_enabled,
        rate_limit = state.rate_limiter.as_ref().map_or(0, |limiter| limiter.limit()),
        "collector started"
    );

    let store = state.store.clone();
    let app = router::build_router(state);
    server::serve_connections(listener, app, server::HEADER_READ_TIMEOUT, shutdown).await;
    let _ = stop_evaluator.send(true);
    if let Err(error) = evaluator.await {
        tracing::error!(%error, "alert evaluator task failed");
    }
    match store.checkpoint_on_stop().await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            db = %store.path().display(),
            "the WAL was not emptied at stop because a reader still used it; \
             keep the -wal file beside the database when copying it"
        ),
        Err(error) => tracing::error!(
            %error,
            db = %store.path().display(),
            "checkpoint at stop failed; keep the -wal file beside the database when copying it"
        ),
    }
    tracing::info!("collector stopped");
    Ok(())
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for sigterm");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = interrupt => tracing::info!("received sigint, shutting down"),
        () = terminate => tracing::info!("received sigterm, shutting down"),
    }
}
