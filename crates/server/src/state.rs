//! Shared server state handed to every handler: the pool, Redis, the fan-out hub, config, a
//! short-lived cache of applications by api_key and a cache of user ids by application user id
//! (a user's internal id never changes: users are never deleted).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use sqlx::PgPool;
use uuid::Uuid;

use crate::config::Config;
use crate::domain::apps::App;
use crate::domain::send_batch::SendBatcher;
use crate::fanout::Hub;

#[derive(Clone)]
pub struct AppState {
    pub inner: Arc<Inner>,
}

pub struct Inner {
    pub db: PgPool,
    pub redis: ConnectionManager,
    pub hub: Hub,
    pub config: Config,
    pub batcher: SendBatcher,
    shutdown: tokio::sync::watch::Sender<bool>,
    app_cache: Mutex<HashMap<String, (Instant, App)>>,
    user_ids: Mutex<HashMap<(Uuid, String), Uuid>>,
    /// A reload of the revocations into Redis is under way (`auth::reload_revocations`).
    reloading_revocations: AtomicBool,
}

/// How long an application row is served from memory before it is read again.
const APP_CACHE_TTL: Duration = Duration::from_secs(5);

impl AppState {
    pub fn new(db: PgPool, redis: ConnectionManager, hub: Hub, config: Config) -> AppState {
        let batcher = SendBatcher::spawn(db.clone(), redis.clone(), hub.clone());
        AppState {
            inner: Arc::new(Inner {
                db,
                redis,
                hub,
                config,
                batcher,
                shutdown: tokio::sync::watch::channel(false).0,
                app_cache: Mutex::new(HashMap::new()),
                user_ids: Mutex::new(HashMap::new()),
                reloading_revocations: AtomicBool::new(false),
            }),
        }
    }

    pub fn db(&self) -> &PgPool {
        &self.inner.db
    }

    pub fn redis(&self) -> ConnectionManager {
        self.inner.redis.clone()
    }

    pub fn batcher(&self) -> &SendBatcher {
        &self.inner.batcher
    }

    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Tells every open socket of this node to close with `GoingAway`.
    pub fn begin_shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    pub fn shutdown_signal(&self) -> tokio::sync::watch::Receiver<bool> {
        self.inner.shutdown.subscribe()
    }

    pub fn cached_app(&self, api_key: &str) -> Option<App> {
        let cache = self.inner.app_cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(api_key).filter(|(at, _)| at.elapsed() < APP_CACHE_TTL).map(|(_, a)| a.clone())
    }

    pub fn cache_app(&self, app: &App) {
        let mut cache = self.inner.app_cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(app.api_key.clone(), (Instant::now(), app.clone()));
    }

    /// Claims the node's one reload of revocations; false when one is already running.
    pub fn begin_revocations_reload(&self) -> bool {
        !self.inner.reloading_revocations.swap(true, Ordering::AcqRel)
    }

    pub fn end_revocations_reload(&self) {
        self.inner.reloading_revocations.store(false, Ordering::Release);
    }

    /// The internal id of the application's user `external_id`, when this node has seen it.
    pub fn cached_user_id(&self, app_id: Uuid, external_id: &str) -> Option<Uuid> {
        let cache = self.inner.user_ids.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(&(app_id, external_id.to_string())).copied()
    }

    pub fn cache_user_id(&self, app_id: Uuid, external_id: &str, id: Uuid) {
        let mut cache = self.inner.user_ids.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() > 100_000 {
            cache.clear();
        }
        cache.insert((app_id, external_id.to_string()), id);
    }
}
