//! Typing indicators: members only, ephemeral events to the other members (any node), and the
//! server's own `typing.stop` after 5 s of silence or on disconnect.

mod common;

use std::time::{Duration, Instant};

use common::{new_id, redis_conn, Node, TestApp};
use futures::SinkExt;
use serde_json::json;

#[tokio::test]
async fn typing_reaches_the_other_members_and_stops_itself_after_silence() {
    let n1 = Node::start().await;
    let n2 = Node::start().await;
    let app = TestApp::create(&n1).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    alice.create_channel("messaging:t", &["bob"]).await;
    let mut a = alice.connect(&n1).await;
    let mut b = bob.connect(&n2).await;
    let mut c = carol.connect(&n1).await;

    a.send_json(json!({ "type": "typing.start", "cid": "messaging:t" })).await;
    let started = Instant::now();
    let ev = b.next_of("typing.start").await;
    assert_eq!(ev, json!({ "type": "typing.start", "cid": "messaging:t", "user_id": "alice" }), "no sequence number");
    let (uid, mut r) = (app.uid(&n1, "alice").await, redis_conn().await);
    let (channel_id,): (uuid::Uuid,) = sqlx::query_as("SELECT id FROM channels WHERE channel_key = 't' AND created_by = $1")
        .bind(uid)
        .fetch_one(n1.state.db())
        .await
        .unwrap();
    let ttl: i64 = redis::cmd("TTL").arg(format!("channel:typing:{channel_id}:{uid}")).query_async(&mut r).await.unwrap();
    assert!((1..=5).contains(&ttl), "ttl {ttl}");
    // Repeating typing.start keeps the indicator alive without a second start event.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    a.send_json(json!({ "type": "typing.start", "cid": "messaging:t" })).await;
    let refreshed = Instant::now();
    let stop = loop {
        match b.read(Duration::from_secs(8)).await {
            common::Read::Json(v) if v["type"] == "typing.stop" => break v,
            common::Read::Json(_) => continue,
            other => panic!("no typing.stop: {other:?}"),
        }
    };
    assert_eq!(stop, json!({ "type": "typing.stop", "cid": "messaging:t", "user_id": "alice" }));
    let silent_for = refreshed.elapsed();
    assert!(silent_for >= Duration::from_millis(4800), "stopped after {silent_for:?} of silence");
    assert!(started.elapsed() < Duration::from_secs(9));
    let exists: bool = redis::cmd("EXISTS").arg(format!("channel:typing:{channel_id}:{uid}")).query_async(&mut r).await.unwrap();
    assert!(!exists);
    // Not sent to the typist or to non-members, and not logged as a channel event.
    a.assert_no("typing.start", Duration::from_millis(100)).await;
    c.assert_no("typing.start", Duration::from_millis(100)).await;
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM channel_events WHERE channel_id = $1 AND event_type LIKE 'typing%'")
        .bind(channel_id)
        .fetch_one(n1.state.db())
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn typing_stops_on_the_stop_frame_and_on_disconnect_and_names_the_thread() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    alice.create_channel("messaging:t", &["bob"]).await;
    let parent = new_id();
    alice.send("messaging:t", &parent, "root").await;
    let mut a = alice.connect(&node).await;
    let mut b = bob.connect(&node).await;

    a.send_json(json!({ "type": "typing.start", "cid": "messaging:t", "parent_id": parent })).await;
    assert_eq!(b.next_of("typing.start").await["parent_id"], parent.as_str());
    a.send_json(json!({ "type": "typing.stop", "cid": "messaging:t", "parent_id": parent })).await;
    let started = Instant::now();
    let stop = b.next_of("typing.stop").await;
    assert_eq!((stop["user_id"].as_str(), stop["parent_id"].as_str()), (Some("alice"), Some(parent.as_str())));
    assert!(started.elapsed() < Duration::from_secs(2));
    // A stop without a start sends nothing.
    a.send_json(json!({ "type": "typing.stop", "cid": "messaging:t" })).await;
    b.assert_no("typing.stop", Duration::from_millis(300)).await;

    a.send_json(json!({ "type": "typing.start", "cid": "messaging:t" })).await;
    b.next_of("typing.start").await;
    a.ws.close(None).await.unwrap();
    let closed = Instant::now();
    let stop = b.next_of("typing.stop").await;
    assert_eq!(stop["user_id"], "alice");
    assert!(closed.elapsed() < Duration::from_secs(2), "stopped on disconnect, not by the timer");
    let _ = a.ws.flush().await;
}

#[tokio::test]
async fn non_members_and_bad_typing_frames_get_codes() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    alice.create_channel("messaging:t", &["bob"]).await;
    let mut b = bob.connect(&node).await;
    let mut c = carol.connect(&node).await;
    let cases = [
        (json!({ "type": "typing.start", "cid": "messaging:t" }), "forbidden"),
        (json!({ "type": "typing.stop", "cid": "messaging:t" }), "forbidden"),
        (json!({ "type": "typing.start", "cid": "messaging:ghost" }), "not_found"),
        (json!({ "type": "typing.start", "cid": "nocolon" }), "invalid_input"),
        (json!({ "type": "typing.start", "cid": "messaging:'; DROP TABLE channels;--" }), "invalid_input"),
        (json!({ "type": "typing.start", "cid": "messaging:t", "parent_id": "x" }), "invalid_input"),
        (json!({ "type": "typing.start" }), "invalid_frame"),
        (json!({ "type": "typing.start", "cid": "messaging:t", "user_id": "alice" }), "invalid_frame"),
    ];
    for (frame, code) in cases {
        c.send_json(frame.clone()).await;
        assert_eq!(c.next_of("error").await["error"]["code"], code, "{frame}");
    }
    b.assert_no("typing.start", Duration::from_millis(300)).await;
    c.send_text(r#"{"type":"ping","id":"c"}"#).await;
    assert_eq!(c.next_of("pong").await["id"], "c");
}
