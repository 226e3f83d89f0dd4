//! Test harness: one private Postgres + Redis per test binary (started on first use through the
//! server's own embedded launcher, non-durable for speed), and server nodes started in-process
//! on free ports. Every test creates its own application, so tests never see each other's data.

#![allow(dead_code)]

pub mod redis_ctl;

use std::sync::OnceLock;
use std::time::Duration;

use chat_protocol::requests::{TokenResponse, UpsertUsers, UserInput};
use chat_server::embedded::{Embedded, EmbeddedOptions};
use chat_server::{AppState, Config};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message as WsMessage;

struct Backing {
    db: String,
    redis: String,
    _embedded: Option<Embedded>,
}

fn backing() -> &'static Backing {
    static B: OnceLock<Backing> = OnceLock::new();
    B.get_or_init(|| match (std::env::var("TEST_DATABASE_URL"), std::env::var("TEST_REDIS_URL")) {
        (Ok(db), Ok(redis)) => Backing { db, redis, _embedded: None },
        _ => {
            let e = Embedded::start(EmbeddedOptions { data_dir: None, durable: false })
                .expect("start the embedded Postgres and Redis");
            Backing { db: e.database_url(), redis: e.redis_url(), _embedded: Some(e) }
        }
    })
}

pub fn redis_url() -> String {
    backing().redis.clone()
}

/// A server node running in this test's runtime.
pub struct Node {
    pub url: String,
    pub state: AppState,
}

impl Node {
    pub async fn start() -> Node {
        Node::start_with(Config { admin_token: Some("test-admin".into()), ..Config::default() }).await
    }

    pub async fn start_with(config: Config) -> Node {
        let b = backing();
        let state = chat_server::build_state(&b.db, &b.redis, config).await.expect("build state");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let st = state.clone();
        tokio::spawn(async move {
            chat_server::serve(listener, st, std::future::pending()).await.unwrap();
        });
        Node { url, state }
    }

    pub fn ws_url(&self) -> String {
        self.url.replacen("http", "ws", 1) + "/v1/ws"
    }
}

/// An application created for one test, with helpers for its server-side calls.
#[derive(Clone)]
pub struct TestApp {
    pub url: String,
    pub api_key: String,
    pub api_secret: String,
    http: reqwest::Client,
}

impl TestApp {
    pub async fn create(node: &Node) -> TestApp {
        let http = reqwest::Client::new();
        let resp: Value = http
            .post(format!("{}/admin/apps", node.url))
            .header("x-admin-token", "test-admin")
            .json(&json!({ "name": "test" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        TestApp {
            url: node.url.clone(),
            api_key: resp["api_key"].as_str().unwrap().into(),
            api_secret: resp["api_secret"].as_str().unwrap().into(),
            http,
        }
    }

    /// The same application, addressed through another node.
    pub fn on(&self, node: &Node) -> TestApp {
        TestApp { url: node.url.clone(), ..self.clone() }
    }

    pub async fn server_post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{}", self.url, path))
            .header("x-api-key", &self.api_key)
            .header("x-api-secret", &self.api_secret)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn upsert_users(&self, ids: &[&str]) {
        let body = UpsertUsers {
            users: ids.iter().map(|id| UserInput { id: id.to_string(), ..Default::default() }).collect(),
        };
        let (status, v) = self.server_post("/v1/users", serde_json::to_value(body).unwrap()).await;
        assert_eq!(status, 200, "{v}");
    }

    pub async fn token(&self, user: &str, expires_in: Option<u64>) -> String {
        let (status, v) = self.server_post("/v1/tokens", json!({ "user_id": user, "expires_in": expires_in })).await;
        assert_eq!(status, 200, "{v}");
        serde_json::from_value::<TokenResponse>(v).unwrap().token
    }

    pub async fn user(&self, id: &str) -> UserClient {
        self.upsert_users(&[id]).await;
        let token = self.token(id, None).await;
        UserClient { app: self.clone(), user_id: id.into(), token }
    }
}

/// A user's HTTP client.
#[derive(Clone)]
pub struct UserClient {
    pub app: TestApp,
    pub user_id: String,
    pub token: String,
}

impl UserClient {
    pub fn via(&self, node: &Node) -> UserClient {
        UserClient { app: self.app.on(node), ..self.clone() }
    }

    pub async fn request(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .app
            .http
            .request(method, format!("{}{}", self.app.url, path))
            .header("x-api-key", &self.app.api_key)
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.request(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.request(reqwest::Method::GET, path, None).await
    }

    pub async fn create_channel(&self, cid: &str, members: &[&str]) -> Value {
        let (t, id) = cid.split_once(':').unwrap();
        let (status, v) = self.post(&format!("/v1/channels/{t}/{id}"), json!({ "members": members })).await;
        assert_eq!(status, 200, "{v}");
        v
    }

    pub async fn send(&self, cid: &str, id: &str, text: &str) -> (u16, Value) {
        let (t, c) = cid.split_once(':').unwrap();
        self.post(&format!("/v1/channels/{t}/{c}/messages"), json!({ "id": id, "text": text })).await
    }

    pub async fn connect(&self, node: &Node) -> Socket {
        let url = format!("{}?api_key={}&token={}", node.ws_url(), self.app.api_key, self.token);
        let mut s = Socket::open(&url).await;
        let first = s.next_json().await.expect("connection.ok");
        assert_eq!(first["type"], "connection.ok", "{first}");
        s
    }
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A raw websocket client.
pub struct Socket {
    pub ws: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

/// What a socket read produced.
#[derive(Debug)]
pub enum Read {
    Json(Value),
    Closed(Option<CloseFrame>),
    Timeout,
}

impl Socket {
    pub async fn open(url: &str) -> Socket {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("websocket connect");
        Socket { ws }
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(WsMessage::Text(text.into())).await.unwrap();
    }

    pub async fn read(&mut self, wait: Duration) -> Read {
        loop {
            match tokio::time::timeout(wait, self.ws.next()).await {
                Err(_) => return Read::Timeout,
                Ok(None) | Ok(Some(Err(_))) => return Read::Closed(None),
                Ok(Some(Ok(WsMessage::Close(f)))) => return Read::Closed(f),
                Ok(Some(Ok(WsMessage::Text(t)))) => return Read::Json(serde_json::from_str(&t).unwrap()),
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// The next JSON frame that is not a health check or a presence change (ephemeral frames
    /// other members' connections cause), within 5 s.
    pub async fn next_json(&mut self) -> Option<Value> {
        loop {
            match self.read(Duration::from_secs(5)).await {
                Read::Json(v) if v["type"] == "health.check" || v["type"] == "user.presence.changed" => continue,
                Read::Json(v) => return Some(v),
                _ => return None,
            }
        }
    }

    /// The next frame of type `kind` (presence changes included), skipping others, within 5 s.
    pub async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let v = match self.read(Duration::from_secs(5)).await {
                Read::Json(v) => v,
                other => panic!("no {kind} frame: {other:?}"),
            };
            if v["type"] == kind {
                return v;
            }
        }
    }

    /// Asserts that nothing but health checks and presence changes arrives within `wait`.
    pub async fn assert_quiet(&mut self, wait: Duration) {
        loop {
            match self.read(wait).await {
                Read::Timeout => return,
                Read::Json(v) if v["type"] == "health.check" || v["type"] == "user.presence.changed" => continue,
                other => panic!("expected silence, got {other:?}"),
            }
        }
    }

    /// Reads until the socket closes; returns the error frame seen (if any) and the close code.
    pub async fn expect_close(&mut self) -> (Option<Value>, Option<u16>) {
        let mut error = None;
        loop {
            match self.read(Duration::from_secs(5)).await {
                Read::Json(v) if v["type"] == "error" => error = Some(v),
                Read::Json(_) => continue,
                Read::Closed(f) => return (error, f.map(|f| u16::from(f.code))),
                Read::Timeout => panic!("socket did not close"),
            }
        }
    }
}

// ---- helpers for the users / presence / devices / drafts / typing / rate-limit tests ---------

/// A Redis connection to the test backing store.
pub async fn redis_conn() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url()).unwrap().get_multiplexed_async_connection().await.unwrap()
}

/// Polls `check` every 20 ms until it holds or `within` passes.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl TestApp {
    /// Changes the application's settings through the server-side API (`PATCH /v1/app`).
    pub async fn set_settings(&self, _node: &Node, settings: Value) {
        let r = self
            .http
            .patch(format!("{}/v1/app", self.url))
            .header("x-api-key", &self.api_key)
            .header("x-api-secret", &self.api_secret)
            .json(&json!({ "settings": settings }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap_or_default());
    }

    /// Puts a user into the team named `team` (created on first use), through the server-side
    /// teams API.
    pub async fn set_team(&self, _node: &Node, user: &str, team: &str) {
        let (status, v) = self.server_post("/v1/teams", json!({ "name": team })).await;
        assert_eq!(status, 200, "{v}");
        let path = format!("/v1/teams/{}/users", team);
        let (status, v) = self.server_post(&path, json!({ "user_ids": [user] })).await;
        assert_eq!(status, 200, "{v}");
    }

    /// The internal UUID of a user of this application.
    pub async fn uid(&self, node: &Node, user: &str) -> uuid::Uuid {
        sqlx::query_as::<_, (uuid::Uuid,)>(
            "SELECT u.id FROM users u JOIN applications a ON a.id = u.app_id WHERE a.api_key = $1 AND u.external_id = $2",
        )
        .bind(&self.api_key)
        .bind(user)
        .fetch_one(node.state.db())
        .await
        .unwrap()
        .0
    }
}

impl UserClient {
    pub async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.request(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.request(reqwest::Method::DELETE, path, None).await
    }

    /// Connects with extra query parameters (e.g. `device_id=phone`).
    pub async fn connect_with(&self, node: &Node, extra: &str) -> Socket {
        let url = format!("{}?api_key={}&token={}&{extra}", node.ws_url(), self.app.api_key, self.token);
        let mut s = Socket::open(&url).await;
        let first = s.next_json().await.expect("connection.ok");
        assert_eq!(first["type"], "connection.ok", "{first}");
        s
    }

    /// A client of the same user presenting a token signed by another application.
    pub fn with_token(&self, token: &str) -> UserClient {
        UserClient { token: token.to_string(), ..self.clone() }
    }
    /// Sends a message with extra fields; panics unless it is stored.
    pub async fn send_with(&self, cid: &str, body: Value) -> Value {
        let (t, c) = cid.split_once(':').unwrap();
        let (status, v) = self.post(&format!("/v1/channels/{t}/{c}/messages"), body).await;
        assert_eq!(status, 200, "{v}");
        v["message"].clone()
    }
}

impl Socket {
    pub async fn send_json(&mut self, v: Value) {
        self.send_text(&v.to_string()).await;
    }

    /// Asserts that no frame of type `kind` arrives within `wait` (others are skipped).
    pub async fn assert_no(&mut self, kind: &str, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return;
            }
            match self.read(left).await {
                Read::Timeout => return,
                Read::Json(v) if v["type"] == kind => panic!("unexpected {kind}: {v}"),
                Read::Json(_) => continue,
                Read::Closed(f) => panic!("socket closed: {f:?}"),
            }
        }
    }
}

/// Channel sequence numbers logged for the channel `cid` of the app, in order.
pub async fn logged_seqs(node: &Node, api_key: &str, cid: &str) -> Vec<i64> {
    let (t, k) = cid.split_once(':').unwrap();
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT e.seq FROM channel_events e JOIN channels c ON c.id = e.channel_id
           JOIN applications a ON a.id = c.app_id
          WHERE a.api_key = $1 AND c.type = $2 AND c.channel_key = $3 ORDER BY e.seq",
    )
    .bind(api_key)
    .bind(t)
    .bind(k)
    .fetch_all(node.state.db())
    .await
    .unwrap();
    rows.into_iter().map(|r| r.0).collect()
}

// ---- channels & members helpers ----

impl UserClient {
    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.request(reqwest::Method::PUT, path, Some(body)).await
    }

    /// `POST /v1/channels/{type}/{id}/{action}` for a `type:id` cid.
    pub async fn act(&self, cid: &str, action: &str, body: Value) -> (u16, Value) {
        let (t, id) = cid.split_once(':').unwrap();
        self.post(&format!("/v1/channels/{t}/{id}/{action}"), body).await
    }

    /// The cids of a `POST /v1/channels/query` answer, asserting success.
    pub async fn query_cids(&self, body: Value) -> (Vec<String>, Option<String>) {
        let (status, v) = self.post("/v1/channels/query", body).await;
        assert_eq!(status, 200, "{v}");
        let cids = v["channels"].as_array().unwrap().iter().map(|c| c["channel"]["cid"].as_str().unwrap().to_string()).collect();
        (cids, v["next"].as_str().map(String::from))
    }
}

/// Asserts the channel's event log holds exactly sequences 1..=last_seq, each once, and returns
/// the event types in order.
pub async fn assert_gapless(node: &Node, api_key: &str, cid: &str) -> Vec<String> {
    let (t, key) = cid.split_once(':').unwrap();
    let db = node.state.db();
    let (channel_id, last_seq): (uuid::Uuid, i64) = sqlx::query_as(
        "SELECT c.id, c.last_seq FROM channels c JOIN applications a ON a.id = c.app_id
          WHERE a.api_key = $1 AND c.type = $2 AND c.channel_key = $3",
    )
    .bind(api_key)
    .bind(t)
    .bind(key)
    .fetch_one(db)
    .await
    .unwrap();
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT seq, event_type FROM channel_events WHERE channel_id = $1 ORDER BY seq")
            .bind(channel_id)
            .fetch_all(db)
            .await
            .unwrap();
    let seqs: Vec<i64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(seqs, (1..=last_seq).collect::<Vec<_>>(), "channel_events of {cid} are gapless");
    rows.into_iter().map(|r| r.1).collect()
}

/// Counts stored messages of a channel (any visibility).
pub async fn stored_messages(node: &Node, api_key: &str, cid: &str) -> i64 {
    let (t, key) = cid.split_once(':').unwrap();
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM messages m JOIN channels c ON c.id = m.channel_id JOIN applications a ON a.id = c.app_id
          WHERE a.api_key = $1 AND c.type = $2 AND c.channel_key = $3",
    )
    .bind(api_key)
    .bind(t)
    .bind(key)
    .fetch_one(node.state.db())
    .await
    .unwrap();
    n
}
