//! Presence: `user.presence.changed` to the users sharing a channel, for the first socket and
//! the last socket on any node, and for `presence.set` (away / online).

mod common;

use std::time::Duration;

use common::{redis_conn, Node, TestApp};
use futures::SinkExt;
use serde_json::json;

#[tokio::test]
async fn first_and_last_socket_on_any_node_are_announced_to_channel_peers() {
    let n1 = Node::start().await;
    let n2 = Node::start().await;
    let app = TestApp::create(&n1).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    alice.create_channel("messaging:p", &["bob"]).await;
    let mut b = bob.connect(&n1).await;
    let mut c = carol.connect(&n1).await;

    // Alice's first socket (node 2) is announced to Bob on node 1.
    let mut a_n2 = alice.connect(&n2).await;
    let ev = b.next_of("user.presence.changed").await;
    assert_eq!((ev["user_id"].as_str(), ev["status"].as_str()), (Some("alice"), Some("online")));
    assert!(ev["last_seen_at"].is_string());
    assert!(ev.get("user_seq").is_none() && ev.get("channel_seq").is_none(), "presence is ephemeral");
    // A second socket on the other node is no change; closing one of the two neither.
    let mut a_n1 = alice.connect(&n1).await;
    a_n2.ws.close(None).await.unwrap();
    b.assert_no("user.presence.changed", Duration::from_millis(400)).await;
    // The last socket anywhere: offline.
    a_n1.ws.close(None).await.unwrap();
    let ev = b.next_of("user.presence.changed").await;
    assert_eq!((ev["user_id"].as_str(), ev["status"].as_str()), (Some("alice"), Some("offline")));
    let (_, me) = alice.post("/v1/users/query", json!({ "filter": { "id_in": ["alice"] } })).await;
    assert_eq!(me["users"][0]["is_online"], false);
    // Carol shares no channel with Alice and heard nothing.
    c.assert_no("user.presence.changed", Duration::from_millis(200)).await;
}

#[tokio::test]
async fn presence_set_switches_between_away_and_online() {
    let config = chat_server::Config {
        admin_token: Some("test-admin".into()),
        health_interval: Duration::from_millis(150),
        ..Default::default()
    };
    let node = Node::start_with(config).await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    alice.create_channel("messaging:aw", &["bob"]).await;
    let mut b = bob.connect(&node).await;
    let mut a = alice.connect(&node).await;
    assert_eq!(b.next_of("user.presence.changed").await["status"], "online");

    a.send_json(json!({ "type": "presence.set", "status": "away" })).await;
    let ev = b.next_of("user.presence.changed").await;
    assert_eq!((ev["user_id"].as_str(), ev["status"].as_str()), (Some("alice"), Some("away")));
    // Health checks refresh the TTL but keep "away"; saying away again is no change.
    let uid = app.uid(&node, "alice").await;
    let mut r = redis_conn().await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let v: Option<String> = redis::cmd("GET").arg(format!("user:presence:{uid}")).query_async(&mut r).await.unwrap();
    assert_eq!(v.as_deref(), Some("away"));
    let ttl: i64 = redis::cmd("TTL").arg(format!("user:presence:{uid}")).query_async(&mut r).await.unwrap();
    assert!((290..=300).contains(&ttl), "ttl {ttl}");
    a.send_json(json!({ "type": "presence.set", "status": "away" })).await;
    b.assert_no("user.presence.changed", Duration::from_millis(300)).await;

    a.send_json(json!({ "type": "presence.set", "status": "online" })).await;
    assert_eq!(b.next_of("user.presence.changed").await["status"], "online");
    // Bad statuses and shapes are refused with codes; the session goes on.
    a.send_json(json!({ "type": "presence.set", "status": "busy" })).await;
    assert_eq!(a.next_of("error").await["error"]["code"], "invalid_input");
    a.send_json(json!({ "type": "presence.set" })).await;
    assert_eq!(a.next_of("error").await["error"]["code"], "invalid_frame");
    a.send_json(json!({ "type": "presence.set", "status": "away", "x": 1 })).await;
    assert_eq!(a.next_of("error").await["error"]["code"], "invalid_frame");
    b.assert_no("user.presence.changed", Duration::from_millis(200)).await;
    a.send_text(r#"{"type":"ping","id":"p"}"#).await;
    assert_eq!(a.next_of("pong").await["id"], "p");
    let _ = a.ws.flush().await;
}
