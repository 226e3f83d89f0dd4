//! Server configuration: where Postgres and Redis are, what to listen on, and which optional
//! paths (operator API, dev-only credentials, static files) are enabled.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    /// Token for `POST /admin/apps`; the operator API is off when `None`.
    pub admin_token: Option<String>,
    /// Enables the demo application and the dev-only `/dev/credentials` endpoint.
    pub demo: bool,
    /// `(mount, directory)` pairs served as static files.
    pub static_dirs: Vec<(String, PathBuf)>,
    /// How often the server sends `health.check` on each socket.
    pub health_interval: Duration,
    /// A socket that sends nothing for this long is closed with 4100.
    pub idle_timeout: Duration,
    /// Name of this node in logs and session records.
    pub node_id: String,
    /// How often this node looks for scheduled messages that are due.
    pub scheduler_interval: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            admin_token: None,
            demo: false,
            static_dirs: Vec::new(),
            health_interval: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            node_id: format!("node-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
            scheduler_interval: Duration::from_secs(1),
        }
    }
}
