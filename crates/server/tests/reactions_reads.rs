//! Reactions (unique, enforce_unique, counts, latest and own) and read state (mark read up to a
//! message, mark unread, unread counts kept with every send, totals).

mod common;

use std::time::Duration;

use common::{new_id, Node, TestApp};
use serde_json::json;

#[tokio::test]
async fn reactions_are_unique_counted_and_exactly_once() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    alice.create_channel("messaging:react", &["bob"]).await;
    let m = alice.send_with("messaging:react", json!({ "id": new_id(), "text": "react to me" })).await;
    let id = m["id"].as_str().unwrap();
    let mut a = alice.connect(&node).await;

    let (status, r) = bob.post(&format!("/v1/messages/{id}/reactions"), json!({ "type": "like" })).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["message"]["reaction_counts"]["like"], 1);
    assert_eq!(r["message"]["own_reactions"][0]["type"], "like");
    let ev = a.next_of("reaction.new").await;
    assert_eq!(ev["reaction"]["user_id"], "bob");
    assert_eq!(ev["message"]["reaction_counts"]["like"], 1);
    // The same reaction again changes nothing and emits nothing.
    bob.post(&format!("/v1/messages/{id}/reactions"), json!({ "type": "like" })).await;
    a.assert_quiet(Duration::from_millis(300)).await;
    // A second type, then enforce_unique replaces both with one.
    alice.post(&format!("/v1/messages/{id}/reactions"), json!({ "type": "👍" })).await;
    bob.post(&format!("/v1/messages/{id}/reactions"), json!({ "type": "love" })).await;
    let (_, r) = bob.post(&format!("/v1/messages/{id}/reactions"), json!({ "type": "wow", "enforce_unique": true })).await;
    let counts = &r["message"]["reaction_counts"];
    assert_eq!(counts, &json!({ "wow": 1, "👍": 1 }), "{r}");
    assert_eq!(r["message"]["own_reactions"].as_array().unwrap().len(), 1);
    // Alice sees Bob's reactions in latest, her own in own.
    let (_, got) = alice.get(&format!("/v1/messages/{id}")).await;
    assert_eq!(got["message"]["own_reactions"][0]["type"], "👍");
    assert_eq!(got["message"]["latest_reactions"].as_array().unwrap().len(), 2);
    // Remove, with a mutation id retried: one event, same answer.
    let mutation = new_id();
    let path = format!("/v1/messages/{id}/reactions/wow?mutation_id={mutation}");
    let (_, r1) = bob.delete(&path).await;
    let (_, r2) = bob.delete(&path).await;
    assert_eq!(r1, r2);
    assert_eq!(r1["message"]["reaction_counts"], json!({ "👍": 1 }));
    // Bad reaction types are refused.
    let (status, v) = bob.post(&format!("/v1/messages/{id}/reactions"), json!({ "type": "two words" })).await;
    assert_eq!((status, v["code"].as_str()), (400, Some("invalid_input")));
    let (_, v) = bob.post(&format!("/v1/messages/{id}/reactions"), json!({ "type": "x".repeat(51) })).await;
    assert_eq!(v["code"], "invalid_input");
    // A non-member cannot see or react.
    let carol = app.user("carol").await;
    assert_eq!(carol.post(&format!("/v1/messages/{id}/reactions"), json!({ "type": "like" })).await.0, 404);
}

#[tokio::test]
async fn read_state_and_unread_counts() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    alice.create_channel("messaging:r1", &["bob"]).await;
    alice.create_channel("messaging:r2", &["bob"]).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(alice.send_with("messaging:r1", json!({ "id": new_id(), "text": format!("m{i}") })).await);
    }
    alice.send_with("messaging:r2", json!({ "id": new_id(), "text": "other" })).await;
    let (_, u) = bob.get("/v1/unread").await;
    assert_eq!(u["total_unread_count"], 6);
    assert_eq!(u["unread_channels"], 2);
    // The sender has nothing unread.
    assert_eq!(alice.get("/v1/unread").await.1["total_unread_count"], 0);

    let mut a = alice.connect(&node).await;
    // Read up to the third message.
    let (status, r) = bob.post("/v1/channels/messaging/r1/read", json!({ "message_id": ids[2]["id"] })).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["read"]["unread_count"], 2);
    assert_eq!(r["read"]["last_read_seq"], ids[2]["channel_seq"]);
    let ev = a.next_of("message.read").await;
    assert_eq!(ev["read"]["user_id"], "bob");
    // Reading an earlier message never moves the position back.
    let (_, r) = bob.post("/v1/channels/messaging/r1/read", json!({ "message_id": ids[0]["id"] })).await;
    assert_eq!(r["read"]["unread_count"], 2);
    // Mark unread from the second message: m1..m4 are unread again.
    let (_, r) = bob.post("/v1/channels/messaging/r1/unread", json!({ "message_id": ids[1]["id"] })).await;
    assert_eq!(r["read"]["unread_count"], 4);
    let (_, st) = bob.get("/v1/channels/messaging/r1").await;
    assert_eq!(st["membership"]["unread_count"], 4);
    // Read everything.
    let (_, r) = bob.post("/v1/channels/messaging/r1/read", json!({})).await;
    assert_eq!(r["read"]["unread_count"], 0);
    assert_eq!(bob.get("/v1/unread").await.1["total_unread_count"], 1);
    // Receipts are recorded in message_reads.
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM message_reads WHERE message_id = $1")
        .bind(uuid::Uuid::parse_str(ids[2]["id"].as_str().unwrap()).unwrap())
        .fetch_one(node.state.db())
        .await
        .unwrap();
    assert_eq!(n, 1);
    // Bad input.
    let (status, v) = bob.post("/v1/channels/messaging/r1/unread", json!({})).await;
    assert_eq!((status, v["code"].as_str()), (400, Some("invalid_input")));
    let (_, v) = bob.post("/v1/channels/messaging/r1/read", json!({ "message_id": new_id() })).await;
    assert_eq!(v["code"], "invalid_input");
}
