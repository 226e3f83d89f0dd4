//! Editing, deleting, pinning, threads, quotes, silent and scheduled messages, mentions — with
//! the permission rules, events with gapless sequence numbers, and exactly-once mutation ids.

mod common;

use std::time::Duration;

use common::{logged_seqs, new_id, Node, TestApp};
use serde_json::json;

#[tokio::test]
async fn edit_and_delete_follow_the_rules_and_emit_events() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    alice.create_channel("messaging:ops", &["bob"]).await;
    let mut b = bob.connect(&node).await;
    let m = alice.send_with("messaging:ops", json!({ "id": new_id(), "text": "first draft" })).await;
    let id = m["id"].as_str().unwrap().to_string();
    b.next_of("message.new").await;

    // Bob (a plain member) may neither edit nor delete Alice's message.
    let (status, v) = bob.patch(&format!("/v1/messages/{id}"), json!({ "text": "hijack" })).await;
    assert_eq!((status, v["code"].as_str()), (403, Some("forbidden")));
    assert_eq!(bob.delete(&format!("/v1/messages/{id}")).await.1["code"], "forbidden");

    // Alice edits, exactly once even when the same mutation is retried.
    let mutation = new_id();
    let body = json!({ "text": "final text", "mutation_id": mutation });
    let (s1, e1) = alice.patch(&format!("/v1/messages/{id}"), body.clone()).await;
    let (s2, e2) = alice.patch(&format!("/v1/messages/{id}"), body).await;
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(e1, e2, "a retried mutation returns the first result");
    assert_eq!(e1["message"]["is_edited"], true);
    assert!(e1["message"]["edited_at"].is_string());
    let ev = b.next_of("message.updated").await;
    assert_eq!(ev["message"]["text"], "final text");
    b.assert_quiet(Duration::from_millis(300)).await;
    // A mutation id cannot be reused for another kind of change.
    let (status, v) = alice.post(&format!("/v1/messages/{id}/pin?mutation_id={mutation}"), json!({})).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("id_conflict")));

    // Soft delete keeps the place but not the content, for everyone and in the sync log.
    let (status, d) = alice.delete(&format!("/v1/messages/{id}")).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["message"]["is_deleted"], true);
    assert_eq!(d["message"]["text"], "");
    let ev = b.next_of("message.deleted").await;
    assert_eq!(ev["hard_delete"], false);
    let (_, page) = bob.get("/v1/channels/messaging/ops/messages").await;
    let listed = page["messages"].as_array().unwrap().iter().find(|m| m["id"] == id.as_str()).unwrap().clone();
    assert_eq!(listed["text"], "");
    let (_, synced) = bob.post("/v1/sync", json!({ "channels": { "messaging:ops": 0 } })).await;
    assert!(!synced.to_string().contains("first draft") && !synced.to_string().contains("final text"), "{synced}");
    // Deleted messages cannot be edited.
    let (status, _) = alice.patch(&format!("/v1/messages/{id}"), json!({ "text": "zombie" })).await;
    assert_eq!(status, 400);

    // Hard delete removes it from every list.
    let m2 = alice.send_with("messaging:ops", json!({ "id": new_id(), "text": "gone soon" })).await;
    let id2 = m2["id"].as_str().unwrap();
    let (status, _) = alice.delete(&format!("/v1/messages/{id2}?hard=true")).await;
    assert_eq!(status, 200);
    let (_, page) = bob.get("/v1/channels/messaging/ops/messages").await;
    assert!(page["messages"].as_array().unwrap().iter().all(|m| m["id"] != id2));
    assert_eq!(bob.get(&format!("/v1/messages/{id2}")).await.0, 404);
    let (_, bad) = alice.delete(&format!("/v1/messages/{id2}?hard=maybe")).await;
    assert_eq!(bad["code"], "invalid_input");

    // Every change took the next sequence number: no gaps.
    let seqs = logged_seqs(&node, &app.api_key, "messaging:ops").await;
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
}

#[tokio::test]
async fn pins_threads_and_quotes() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    alice.create_channel("messaging:threads", &["bob"]).await;
    let parent = alice.send_with("messaging:threads", json!({ "id": new_id(), "text": "topic" })).await;
    let pid = parent["id"].as_str().unwrap().to_string();
    for i in 0..3 {
        bob.send_with("messaging:threads", json!({ "id": new_id(), "text": format!("reply {i}"), "parent_id": pid })).await;
    }
    let (_, replies) = alice.get(&format!("/v1/messages/{pid}/replies?limit=2")).await;
    let texts: Vec<&str> = replies["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["reply 1", "reply 2"]);
    let (_, p) = alice.get(&format!("/v1/messages/{pid}")).await;
    assert_eq!(p["message"]["reply_count"], 3);
    // Replies stay out of the main list; replies to replies are refused.
    let (_, main) = alice.get("/v1/channels/messaging/threads/messages").await;
    assert_eq!(main["messages"].as_array().unwrap().len(), 1);
    let reply_id = replies["messages"][0]["id"].as_str().unwrap();
    let (status, _) = bob
        .post("/v1/channels/messaging/threads/messages", json!({ "id": new_id(), "text": "x", "parent_id": reply_id }))
        .await;
    assert_eq!(status, 400);

    // A quoted reply carries the quoted message.
    let q = bob.send_with("messaging:threads", json!({ "id": new_id(), "text": "quoting", "quoted_message_id": pid })).await;
    assert_eq!(q["quoted_message"]["text"], "topic");
    let (_, main) = alice.get("/v1/channels/messaging/threads/messages").await;
    let listed = main["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(listed["quoted_message"]["id"], pid.as_str());

    // Pins: Bob may pin his own message, not Alice's; pinned list is newest first.
    let qid = q["id"].as_str().unwrap();
    assert_eq!(bob.post(&format!("/v1/messages/{pid}/pin"), json!({})).await.1["code"], "forbidden");
    let (status, pinned) = bob.post(&format!("/v1/messages/{qid}/pin"), json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(pinned["message"]["is_pinned"], true);
    assert_eq!(pinned["message"]["pinned_by"], "bob");
    alice.post(&format!("/v1/messages/{pid}/pin"), json!({})).await;
    let (_, list) = alice.get("/v1/channels/messaging/threads/pinned").await;
    let ids: Vec<&str> = list["messages"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [pid.as_str(), qid]);
    alice.delete(&format!("/v1/messages/{pid}/pin")).await;
    let (_, list) = alice.get("/v1/channels/messaging/threads/pinned").await;
    assert_eq!(list["messages"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn silent_messages_mentions_and_scheduled_delivery() {
    let config = chat_server::Config {
        admin_token: Some("test-admin".into()),
        scheduler_interval: Duration::from_millis(100),
        ..Default::default()
    };
    let node = Node::start_with(config).await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    alice.create_channel("messaging:notes", &["bob"]).await;
    let mut b = bob.connect(&node).await;
    let mut c = carol.connect(&node).await;

    // Silent: delivered, but no unread for Bob.
    alice.send_with("messaging:notes", json!({ "id": new_id(), "text": "psst", "silent": true })).await;
    assert_eq!(b.next_of("message.new").await["message"]["is_silent"], true);
    let (_, st) = bob.get("/v1/channels/messaging/notes").await;
    assert_eq!(st["membership"]["unread_count"], 0);

    // Mentions notify mentioned members only (Carol is not a member).
    alice.send_with("messaging:notes", json!({ "id": new_id(), "text": "hey @bob @carol", "mentions": ["bob", "carol"] })).await;
    let mut saw_mention = false;
    for _ in 0..2 {
        let ev = b.next_json().await.unwrap();
        if ev["type"] == "notification.mention" {
            saw_mention = true;
            assert_eq!(ev["message"]["text"], "hey @bob @carol");
            assert!(ev["user_seq"].as_u64().unwrap() >= 1);
        }
    }
    assert!(saw_mention);
    c.assert_quiet(Duration::from_millis(200)).await;

    // Scheduled: stored now, delivered (with the next sequence number) when due.
    let at = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();
    let id = new_id();
    let stored = alice.send_with("messaging:notes", json!({ "id": id, "text": "later", "scheduled_for": at })).await;
    assert_eq!(stored["channel_seq"], 0);
    let (_, page) = bob.get("/v1/channels/messaging/notes/messages").await;
    assert!(page["messages"].as_array().unwrap().iter().all(|m| m["id"] != id.as_str()), "not visible before due");
    let ev = b.next_of("message.new").await;
    assert_eq!(ev["message"]["id"], id.as_str());
    assert!(ev["channel_seq"].as_u64().unwrap() > 0);
    // A past time is refused.
    let (status, v) = alice
        .post("/v1/channels/messaging/notes/messages", json!({ "id": new_id(), "text": "x", "scheduled_for": "2001-01-01T00:00:00Z" }))
        .await;
    assert_eq!((status, v["code"].as_str()), (400, Some("invalid_input")));
}

#[tokio::test]
async fn pages_around_a_message() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    alice.create_channel("messaging:around", &[]).await;
    let mut ids = Vec::new();
    for i in 0..9 {
        ids.push(alice.send_with("messaging:around", json!({ "id": new_id(), "text": format!("m{i}") })).await["id"].clone());
    }
    let (_, page) = alice.get(&format!("/v1/channels/messaging/around/messages?limit=4&around_id={}", ids[4].as_str().unwrap())).await;
    let texts: Vec<&str> = page["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["m2", "m3", "m4", "m5"], "exactly limit messages, centred on m4");
    for (limit, expected) in [(1, vec!["m4"]), (3, vec!["m3", "m4", "m5"])] {
        let (_, page) = alice
            .get(&format!("/v1/channels/messaging/around/messages?limit={limit}&around_id={}", ids[4].as_str().unwrap()))
            .await;
        let texts: Vec<&str> = page["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
        assert_eq!(texts, expected);
    }
    let (status, _) = alice.get(&format!("/v1/channels/messaging/around/messages?around_id={}", new_id())).await;
    assert_eq!(status, 404);
}
