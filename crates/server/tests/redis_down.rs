//! Redis unreachable: requests go on (rate limits fail open, logged), the revocation of a token
//! is still enforced (checked in Postgres), sends are stored and answered; when Redis is back
//! the limits count again. This binary stops and restarts its own Redis, so it is a file of its
//! own (each test binary has its own Postgres and Redis).

mod common;

use std::time::{Duration, Instant};

use common::{new_id, redis_ctl, Node, TestApp};
use serde_json::json;

#[tokio::test]
async fn with_redis_down_requests_go_on_and_revoked_tokens_stay_refused() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    alice.create_channel("messaging:outage", &["bob"]).await;
    let mut revoked = alice.clone();
    revoked.token = app.token("alice", None).await;
    let (status, v) = app.server_post("/v1/tokens/revoke", json!({ "token": revoked.token })).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(revoked.get("/v1/me").await.1["code"], "token_revoked");

    // Redis goes away.
    redis_ctl::stop().await;

    let started = Instant::now();
    let (status, v) = alice.send("messaging:outage", &new_id(), "still works").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(bob.send("messaging:outage", &new_id(), "me too").await.0, 200);
    let (status, page) = bob.get("/v1/channels/messaging/outage/messages").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["messages"].as_array().unwrap().len(), 2);
    assert!(started.elapsed() < Duration::from_secs(15), "bounded waits: {:?}", started.elapsed());
    // The revoked token is refused all the same, for reads and sends.
    let (status, v) = revoked.get("/v1/me").await;
    assert_eq!((status, v["code"].as_str()), (401, Some("token_revoked")));
    let (status, v) = revoked.send("messaging:outage", &new_id(), "revoked").await;
    assert_eq!((status, v["code"].as_str()), (401, Some("token_revoked")));
    // Revoking needs Redis (every node checks there): refused as unavailable, retryable.
    let other = app.token("bob", None).await;
    let (status, v) = app.server_post("/v1/tokens/revoke", json!({ "token": other })).await;
    assert_eq!((status, v["retryable"].as_bool()), (503, Some(true)), "{v}");

    // Redis comes back (empty): the limits count again.
    let _redis = redis_ctl::start_empty();
    let uid = app.uid(&node, "alice").await;
    let key = format!("ratelimit:{uid}:send-message");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert_eq!(alice.send("messaging:outage", &new_id(), "after").await.0, 200);
        let counted: Option<i64> = redis_ctl::get(&key).await;
        if counted.is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "rate limits never counted again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
