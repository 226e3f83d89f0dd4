//! Redis restarting empty: the revocations it forgot are still enforced (the server sees the
//! missing `revoked:loaded` marker, checks Postgres, and copies the revocations back into
//! Redis). This binary stops and restarts its own Redis, so it is a file of its own (each test
//! binary has its own Postgres and Redis).

mod common;

use std::time::{Duration, Instant};

use common::{new_id, redis_ctl, Node, TestApp};
use serde_json::json;

#[tokio::test]
async fn revocations_forgotten_by_a_restarted_redis_are_reloaded_from_postgres() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    app.user("bob").await;
    alice.create_channel("messaging:restart", &["bob"]).await;
    let mut revoked = alice.clone();
    revoked.token = app.token("alice", None).await;
    let (status, v) = app.server_post("/v1/tokens/revoke", json!({ "token": revoked.token })).await;
    assert_eq!(status, 200, "{v}");
    let mut expiring = alice.clone();
    expiring.token = app.token("alice", Some(3600)).await;
    let (status, v) = app.server_post("/v1/tokens/revoke", json!({ "token": expiring.token })).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(revoked.get("/v1/me").await.1["code"], "token_revoked");
    let jtis: Vec<(String, Option<chrono::NaiveDateTime>)> =
        sqlx::query_as("SELECT r.jti, r.expires_at FROM revoked_tokens r JOIN applications a ON a.id = r.app_id WHERE a.api_key = $1")
            .bind(&app.api_key)
            .fetch_all(node.state.db())
            .await
            .unwrap();
    assert_eq!(jtis.len(), 2);

    // Redis restarts with nothing in it (no persistence): the revocation keys are gone.
    redis_ctl::stop().await;
    let _redis = redis_ctl::start_empty();
    // Wait until the server uses the new Redis (a good token's requests get counted there).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, v) = alice.get("/v1/me").await;
        assert_eq!(status, 200, "{v}");
        if redis::Client::open(common::redis_url()).unwrap().get_multiplexed_async_connection().await.is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "redis never came back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Whatever path checks the token (HTTP middleware, the send path, the websocket), the
    // revoked tokens stay refused, and a good token still works.
    let (status, v) = revoked.get("/v1/me").await;
    assert_eq!((status, v["code"].as_str()), (401, Some("token_revoked")), "{v}");
    let (status, v) = expiring.get("/v1/me").await;
    assert_eq!((status, v["code"].as_str()), (401, Some("token_revoked")), "{v}");
    let (status, v) = revoked.send("messaging:restart", &new_id(), "revoked").await;
    assert_eq!((status, v["code"].as_str()), (401, Some("token_revoked")), "{v}");
    let url = format!("{}?api_key={}&token={}", node.ws_url(), app.api_key, revoked.token);
    let mut socket = common::Socket::open(&url).await;
    let (error, close) = socket.expect_close().await;
    assert_eq!(error.map(|e| e["error"]["code"].clone()), Some(json!("token_revoked")));
    assert_eq!(close, Some(4003));
    let (status, v) = alice.send("messaging:restart", &new_id(), "fine").await;
    assert_eq!(status, 200, "{v}");

    // The revocations are back in Redis (with their expiry), and the marker says so.
    let deadline = Instant::now() + Duration::from_secs(10);
    while redis_ctl::get::<String>("revoked:loaded").await.is_none() {
        assert!(Instant::now() < deadline, "the revocations were never reloaded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut conn = common::redis_conn().await;
    for (jti, expires_at) in &jtis {
        let key = format!("revoked:token:{jti}");
        assert_eq!(redis_ctl::get::<String>(&key).await.as_deref(), Some("1"), "{key} not reloaded");
        let ttl: i64 = redis::cmd("TTL").arg(&key).query_async(&mut conn).await.unwrap();
        match expires_at {
            None => assert_eq!(ttl, -1, "{key} must not expire"),
            Some(_) => assert!((3000..=3600).contains(&ttl), "{key} ttl {ttl}"),
        }
    }
    let (status, v) = revoked.get("/v1/me").await;
    assert_eq!((status, v["code"].as_str()), (401, Some("token_revoked")), "{v}");

    // Flushed again (not restarted): the same.
    let _: () = redis::cmd("FLUSHALL").query_async(&mut conn).await.unwrap();
    let (status, v) = revoked.get("/v1/me").await;
    assert_eq!((status, v["code"].as_str()), (401, Some("token_revoked")), "{v}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while redis_ctl::get::<String>("revoked:loaded").await.is_none() {
        assert!(Instant::now() < deadline, "the revocations were never reloaded after FLUSHALL");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(redis_ctl::get::<String>(&format!("revoked:token:{}", jtis[0].0)).await.as_deref(), Some("1"));
}
