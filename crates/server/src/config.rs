//! Server configuration: where Postgres and Redis are, what to listen on, which optional
//! paths (operator API, dev-only credentials, static files) are enabled, and the limits of
//! each connection.

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
    /// Requests per user, endpoint and minute (see [`crate::ratelimit`]).
    pub rate_limits: RateLimits,
    /// A pause between a socket's authentication and its registration. Zero in service; tests
    /// widen that window to show that a user deactivated inside it is still disconnected.
    pub connect_pause: Duration,
    /// A request head (request line and headers) must arrive within this long of the connection
    /// opening or of the previous response; idle keep-alive connections close after it too.
    /// Zero: no deadline.
    pub header_read_timeout: Duration,
    /// Most connections open at once from one IP address (websockets included); 0 means no cap.
    pub max_connections_per_ip: usize,
}

/// Per-user limits of each endpoint group, in requests per fixed 60 s window. Each endpoint
/// (route or websocket frame type) has its own counter; the group only sets its limit.
#[derive(Debug, Clone)]
pub struct RateLimits {
    /// `POST /v1/channels/{type}/{id}/messages`.
    pub send_message: u32,
    /// Other writes (POST, PUT, PATCH, DELETE) of user-facing routes.
    pub write: u32,
    /// Reads (GET) of user-facing routes.
    pub read: u32,
    /// `typing.start` / `typing.stop` frames.
    pub typing: u32,
    /// `presence.set` frames.
    pub presence: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits { send_message: 600, write: 300, read: 1200, typing: 300, presence: 60 }
    }
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
            rate_limits: RateLimits::default(),
            connect_pause: Duration::ZERO,
            header_read_timeout: Duration::from_secs(10),
            max_connections_per_ip: 1024,
        }
    }
}
