//! Session and presence records: the Redis keys of the schema and the online flag in Postgres,
//! kept while a socket is open and cleared when the user's last socket closes.

mod common;

use std::time::Duration;

use common::{Node, TestApp};
use futures::SinkExt;

async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(common::redis_url()).unwrap().get_multiplexed_async_connection().await.unwrap()
}

async fn user_row(node: &Node, app_key: &str, id: &str) -> (uuid::Uuid, Option<bool>) {
    sqlx::query_as(
        "SELECT u.id, u.is_online FROM users u JOIN applications a ON a.id = u.app_id
          WHERE a.api_key = $1 AND u.external_id = $2",
    )
    .bind(app_key)
    .bind(id)
    .fetch_one(node.state.db())
    .await
    .unwrap()
}

#[tokio::test]
async fn a_connection_records_session_and_presence_until_the_last_socket_closes() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let mut r = redis().await;
    let mut first = alice.connect(&node).await;
    let mut second = alice.connect(&node).await;
    let (uid, online) = user_row(&node, &app.api_key, "alice").await;
    assert_eq!(online, Some(true));
    let presence: Option<String> = redis::cmd("GET").arg(format!("user:presence:{uid}")).query_async(&mut r).await.unwrap();
    assert_eq!(presence.as_deref(), Some("online"));
    let ttl: i64 = redis::cmd("TTL").arg(format!("user:presence:{uid}")).query_async(&mut r).await.unwrap();
    assert!((1..=300).contains(&ttl), "ttl {ttl}");
    let sessions: Vec<String> = redis::cmd("SMEMBERS").arg(format!("user:sessions:{uid}")).query_async(&mut r).await.unwrap();
    assert_eq!(sessions.len(), 2);
    let fields: std::collections::HashMap<String, String> =
        redis::cmd("HGETALL").arg(format!("session:{}", sessions[0])).query_async(&mut r).await.unwrap();
    assert_eq!(fields.get("userId"), Some(&uid.to_string()));
    assert!(fields.contains_key("deviceId") && fields.contains_key("lastActivity"));
    let sttl: i64 = redis::cmd("TTL").arg(format!("session:{}", sessions[0])).query_async(&mut r).await.unwrap();
    assert!(sttl > 86_000, "session ttl {sttl}");

    // Closing one of two sockets keeps the user online.
    first.ws.close(None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(user_row(&node, &app.api_key, "alice").await.1, Some(true));
    // Closing the last one marks the user offline everywhere.
    second.ws.close(None).await.unwrap();
    let mut offline = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if user_row(&node, &app.api_key, "alice").await.1 == Some(false) {
            offline = true;
            break;
        }
    }
    assert!(offline, "is_online cleared after the last socket closed");
    let presence: Option<String> = redis::cmd("GET").arg(format!("user:presence:{uid}")).query_async(&mut r).await.unwrap();
    assert_eq!(presence.as_deref(), Some("offline"));
    let _ = first.ws.flush().await;
}

#[tokio::test]
async fn a_silent_client_is_disconnected_and_an_expiring_token_closes_its_socket() {
    let config = chat_server::Config {
        admin_token: Some("test-admin".into()),
        health_interval: Duration::from_millis(200),
        idle_timeout: Duration::from_millis(600),
        ..Default::default()
    };
    let node = Node::start_with(config).await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let mut s = alice.connect(&node).await;
    // The server checks health; a client that never answers is closed with 4100.
    let mut checks = 0;
    let code = loop {
        match s.read(Duration::from_secs(3)).await {
            common::Read::Json(v) if v["type"] == "health.check" => checks += 1,
            common::Read::Closed(f) => break f.map(|f| u16::from(f.code)),
            other => panic!("unexpected {other:?}"),
        }
    };
    assert!(checks >= 1);
    assert_eq!(code, Some(4100));
    // A client that answers stays; a token that expires mid-session ends it with 4002.
    let mut holder = alice.clone();
    holder.token = app.token("alice", Some(2)).await;
    let mut s = holder.connect(&node).await;
    let started = std::time::Instant::now();
    let code = loop {
        match s.read(Duration::from_secs(4)).await {
            common::Read::Json(v) if v["type"] == "health.check" => s.send_text(r#"{"type":"health.check"}"#).await,
            common::Read::Json(v) if v["type"] == "error" => assert_eq!(v["error"]["code"], "token_expired"),
            common::Read::Closed(f) => break f.map(|f| u16::from(f.code)),
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(code, Some(4002));
    assert!(started.elapsed() >= Duration::from_millis(900), "stayed open while answering health checks");
}

#[tokio::test]
async fn a_socket_authenticating_while_its_user_is_deactivated_does_not_stay_connected() {
    // Widen the window between a socket's authentication and its registration with the hub, and
    // deactivate the user inside it: the close order published then finds no socket to close,
    // so only the check after registration can catch it.
    let config = chat_server::Config {
        admin_token: Some("test-admin".into()),
        connect_pause: Duration::from_millis(800),
        ..Default::default()
    };
    let node = Node::start_with(config).await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let url = format!("{}?api_key={}&token={}", node.ws_url(), app.api_key, alice.token);
    let mut s = common::Socket::open(&url).await;
    tokio::time::sleep(Duration::from_millis(300)).await; // authenticated, not yet registered
    let (status, v) = app.server_post("/v1/users/alice/deactivate", serde_json::json!({})).await;
    assert_eq!(status, 200, "{v}");
    let (error, code) = s.expect_close().await;
    assert_eq!(code, Some(4006), "{error:?}");
    assert_eq!(error.unwrap()["error"]["code"], "user_deactivated");
}
