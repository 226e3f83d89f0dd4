//! Rate limits per user and endpoint (fixed 60 s window in Redis): 429 `rate_limited` with
//! `retry_after` and a Retry-After header, nothing stored, other users and endpoints unaffected,
//! and the same limit on websocket frames.

mod common;

use chat_server::config::RateLimits;
use common::{new_id, redis_conn, Node, TestApp};
use serde_json::{json, Value};

async fn limited_node(limits: RateLimits) -> Node {
    Node::start_with(chat_server::Config {
        admin_token: Some("test-admin".into()),
        rate_limits: limits,
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn sending_over_the_limit_is_refused_with_retry_after_and_stores_nothing() {
    let node = limited_node(RateLimits { send_message: 3, ..Default::default() }).await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    alice.create_channel("messaging:rl", &["bob"]).await;
    for i in 0..3 {
        assert_eq!(alice.send("messaging:rl", &new_id(), &format!("m{i}")).await.0, 200);
    }
    let refused = new_id();
    let r = reqwest::Client::new()
        .post(format!("{}/v1/channels/messaging/rl/messages", node.url))
        .header("x-api-key", &app.api_key)
        .bearer_auth(&alice.token)
        .json(&json!({ "id": refused, "text": "one too many" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    let header: u32 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    assert_eq!(body["retryable"], true);
    let after = body["retry_after"].as_u64().unwrap() as u32;
    assert!((1..=60).contains(&after) && header == after, "{after} / {header}");
    // Nothing stored.
    let (_, page) = alice.get("/v1/channels/messaging/rl/messages").await;
    let msgs = page["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 3);
    assert!(msgs.iter().all(|m| m["id"] != refused.as_str()));
    // Per user and per endpoint: Bob may still send, Alice may still read.
    assert_eq!(bob.send("messaging:rl", &new_id(), "bob's turn").await.0, 200);
    assert_eq!(alice.get("/v1/me").await.0, 200);
    // The counter is the schema's key with a 60 s window.
    let uid = app.uid(&node, "alice").await;
    let mut r = redis_conn().await;
    let (count, ttl): (i64, i64) = redis::pipe()
        .get(format!("ratelimit:{uid}:send-message"))
        .ttl(format!("ratelimit:{uid}:send-message"))
        .query_async(&mut r)
        .await
        .unwrap();
    assert_eq!(count, 4);
    assert!((1..=60).contains(&ttl));
}

#[tokio::test]
async fn each_endpoint_counts_separately_and_websocket_frames_are_limited_too() {
    let node = limited_node(RateLimits { write: 2, typing: 2, ..Default::default() }).await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    alice.create_channel("messaging:rl", &[]).await;
    for _ in 0..2 {
        assert_eq!(alice.patch("/v1/me", json!({ "bio": "b" })).await.0, 200);
    }
    let (status, v) = alice.patch("/v1/me", json!({ "bio": "refused" })).await;
    assert_eq!((status, v["code"].as_str()), (429, Some("rate_limited")));
    assert_eq!(alice.get("/v1/me").await.1["user"]["bio"], "b");
    // Another endpoint of the same group has its own counter; bad requests count too.
    let (status, v) = alice.post("/v1/devices", json!({ "id": "d", "push_provider": "fcm", "push_token": "t" })).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(alice.post("/v1/devices", json!({ "id": "d", "push_provider": "nope", "push_token": "t" })).await.1["code"], "invalid_input");
    assert_eq!(alice.post("/v1/devices", json!({ "id": "d2", "push_provider": "fcm", "push_token": "t2" })).await.0, 429);
    assert_eq!(alice.get("/v1/devices").await.1["devices"].as_array().unwrap().len(), 1);
    // Server-side calls are not user-limited.
    for _ in 0..3 {
        assert_eq!(app.server_post("/v1/tokens", json!({ "user_id": "alice" })).await.0, 200);
    }
    // Websocket frames: the third typing frame in the window is refused with a code.
    let mut s = alice.connect(&node).await;
    for _ in 0..2 {
        s.send_json(json!({ "type": "typing.start", "cid": "messaging:rl" })).await;
    }
    s.send_json(json!({ "type": "typing.start", "cid": "messaging:rl" })).await;
    let e = s.next_of("error").await;
    assert_eq!(e["error"]["code"], "rate_limited");
    assert!(e["error"]["retry_after"].as_u64().unwrap() <= 60);
    s.send_text(r#"{"type":"ping","id":"still"}"#).await;
    assert_eq!(s.next_of("pong").await["id"], "still");
}
