//! chat-server: the backend of chat-sdk. axum over Postgres (source of truth) and Redis
//! (fan-out, presence, sessions, revocations), stateless so several nodes can share one
//! Postgres and one Redis. [`serve`] builds a node; [`embedded`] starts private Postgres and
//! Redis when none are configured.

pub mod auth;
pub mod config;
pub mod conn_cap;
pub mod db;
pub mod domain;
pub mod embedded;
pub mod error;
pub mod fanout;
pub mod http;
pub mod listener;
pub mod parse_errors;
pub mod presence;
pub mod reorder;
pub mod ratelimit;
pub mod state;
pub mod time;
pub mod typing;
pub mod ws;

pub use config::Config;
pub use error::{Error, Result};
pub use state::AppState;

/// Connects to Postgres and Redis, runs migrations, and returns the state of a node (with its
/// Redis subscriber running).
pub async fn build_state(database_url: &str, redis_url: &str, config: Config) -> anyhow_like::Result<AppState> {
    let db = db::connect(database_url, 32).await.map_err(anyhow_like::wrap("connecting to Postgres"))?;
    db::migrate(&db).await.map_err(anyhow_like::wrap("running migrations"))?;
    let client = redis::Client::open(redis_url).map_err(anyhow_like::wrap("parsing REDIS_URL"))?;
    // Bounded waits: a Redis that is down or hung costs a request at most about this much
    // before the server goes on without it (rate limits fail open, events go to this node's
    // sockets; see ratelimit.rs, fanout.rs). No reconnection retries inside a request: the
    // crate's backoff starts at 1 s and multiplies by `factor` (100 by default), so a single
    // retry would hold every request of an outage for seconds to minutes; the next command
    // simply tries to connect again.
    let redis_config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(std::time::Duration::from_secs(1))
        .set_response_timeout(std::time::Duration::from_secs(2))
        .set_number_of_retries(0);
    let redis = redis::aio::ConnectionManager::new_with_config(client.clone(), redis_config)
        .await
        .map_err(anyhow_like::wrap("connecting to Redis"))?;
    let hub = fanout::Hub::new(redis.clone());
    hub.start_subscriber(client).await.map_err(anyhow_like::wrap("subscribing to Redis"))?;
    domain::scheduler::spawn(db.clone(), hub.clone(), config.scheduler_interval);
    let state = AppState::new(db, redis, hub, config);
    if state.config().demo {
        http::dev::ensure_demo(&state).await.map_err(anyhow_like::wrap("creating the demo application"))?;
    }
    Ok(state)
}

/// Serves `state` on `listener` until `shutdown` resolves (see [`listener`]: connection limits,
/// graceful shutdown).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = crate::listener::Limits::from_config(state.config());
    crate::listener::serve(listener, http::router(state), limits, shutdown).await
}

/// A minimal boxed error for start-up failures, with context.
pub mod anyhow_like {
    pub type Error = Box<dyn std::error::Error + Send + Sync>;
    pub type Result<T> = std::result::Result<T, Error>;

    pub fn wrap<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> Error {
        move |e| format!("{what}: {e}").into()
    }
}
