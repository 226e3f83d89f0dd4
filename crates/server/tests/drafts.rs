//! Drafts: per channel and per thread, synced to the user's other devices with user events,
//! Postgres as the truth behind a versioned Redis cache, and checked input and access.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{new_id, redis_conn, Node, TestApp};
use serde_json::json;

const DRAFT: &str = "/v1/channels/messaging/notes/draft";

#[tokio::test]
async fn drafts_sync_across_devices_per_channel_and_per_thread() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    alice.create_channel("messaging:notes", &["bob"]).await;
    let parent = new_id();
    assert_eq!(alice.send("messaging:notes", &parent, "thread root").await.0, 200);
    let mut phone = alice.connect(&node).await;
    let mut laptop = alice.connect(&node).await;
    let mut b = bob.connect(&node).await;

    let (status, v) = alice.post(DRAFT, json!({ "text": "half a thought", "mentions": ["bob"] })).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["draft"]["cid"], "messaging:notes");
    let mut seqs = Vec::new();
    for s in [&mut phone, &mut laptop] {
        let ev = s.next_of("draft.updated").await;
        assert_eq!(ev["draft"]["text"], "half a thought");
        assert!(ev["draft"].get("parent_id").is_none());
        seqs.push(ev["user_seq"].as_u64().unwrap());
    }
    assert_eq!(seqs[0], seqs[1]);
    // A thread draft is a separate draft.
    let (_, t) = alice.post(DRAFT, json!({ "text": "reply draft", "parent_id": parent })).await;
    assert_eq!(t["draft"]["parent_id"], parent.as_str());
    let ev = phone.next_of("draft.updated").await;
    assert_eq!(ev["draft"]["parent_id"], parent.as_str());
    assert_eq!(ev["user_seq"].as_u64().unwrap(), seqs[0] + 1);
    assert_eq!(alice.get(DRAFT).await.1["draft"]["text"], "half a thought");
    assert_eq!(alice.get(&format!("{DRAFT}?parent_id={parent}")).await.1["draft"]["text"], "reply draft");
    // Last write wins.
    alice.post(DRAFT, json!({ "text": "whole thought" })).await;
    assert_eq!(alice.get(DRAFT).await.1["draft"]["text"], "whole thought");
    let (_, list) = alice.get("/v1/drafts").await;
    let texts: Vec<&str> = list["drafts"].as_array().unwrap().iter().map(|d| d["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["whole thought", "reply draft"]);
    // Bob sees none of it.
    b.assert_no("draft.updated", Duration::from_millis(200)).await;
    assert_eq!(bob.get(DRAFT).await.1["code"], "not_found");
    assert!(bob.get("/v1/drafts").await.1["drafts"].as_array().unwrap().is_empty());

    // Delete the thread draft: event, gone, the channel draft stays; deleting again is a no-op.
    let (status, v) = alice.delete(&format!("{DRAFT}?parent_id={parent}")).await;
    assert_eq!((status, v["deleted"].as_bool()), (200, Some(true)));
    let ev = laptop.next_of("draft.deleted").await;
    assert_eq!((ev["cid"].as_str(), ev["parent_id"].as_str()), (Some("messaging:notes"), Some(parent.as_str())));
    assert_eq!(alice.get(&format!("{DRAFT}?parent_id={parent}")).await.1["code"], "not_found");
    assert_eq!(alice.get(DRAFT).await.1["draft"]["text"], "whole thought");
    assert_eq!(alice.delete(&format!("{DRAFT}?parent_id={parent}")).await.1["deleted"], false);
    laptop.assert_no("draft.deleted", Duration::from_millis(200)).await;
    // Events are logged under the user's sequence for sync.
    let uid = app.uid(&node, "alice").await;
    let kinds: Vec<(String,)> = sqlx::query_as("SELECT event_type FROM user_events WHERE user_id = $1 ORDER BY seq")
        .bind(uid)
        .fetch_all(node.state.db())
        .await
        .unwrap();
    let kinds: Vec<&str> = kinds.iter().map(|k| k.0.as_str()).filter(|k| k.starts_with("draft.")).collect();
    assert_eq!(kinds, ["draft.updated", "draft.updated", "draft.updated", "draft.deleted"]);
}

#[tokio::test]
async fn the_redis_cache_is_written_through_read_through_and_never_resurrects() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    alice.create_channel("messaging:notes", &[]).await;
    alice.post(DRAFT, json!({ "text": "cached", "attachments": [{ "type": "image", "url": "https://x.test/i.png" }] })).await;
    let (channel_id,): (uuid::Uuid,) = sqlx::query_as("SELECT id FROM channels WHERE channel_key = 'notes' AND created_by = $1")
        .bind(app.uid(&node, "alice").await)
        .fetch_one(node.state.db())
        .await
        .unwrap();
    let key = format!("draft:{channel_id}:{}", app.uid(&node, "alice").await);
    let mut r = redis_conn().await;
    let h: HashMap<String, String> = redis::cmd("HGETALL").arg(&key).query_async(&mut r).await.unwrap();
    assert_eq!(h.get("text").map(String::as_str), Some("cached"));
    assert!(h["attachments"].contains("x.test") && h.contains_key("mentions") && h.contains_key("updated_at"));
    let ttl: i64 = redis::cmd("TTL").arg(&key).query_async(&mut r).await.unwrap();
    assert!(ttl > 7 * 86_400 - 10 && ttl <= 7 * 86_400, "ttl {ttl}");

    // Reads come from the cache while it holds the draft...
    let _: () = redis::cmd("HSET").arg(&key).arg("text").arg("from the cache").query_async(&mut r).await.unwrap();
    assert_eq!(alice.get(DRAFT).await.1["draft"]["text"], "from the cache");
    // ...and from Postgres on a miss, which fills the cache again.
    let _: () = redis::cmd("DEL").arg(&key).query_async(&mut r).await.unwrap();
    assert_eq!(alice.get(DRAFT).await.1["draft"]["text"], "cached");
    let text: Option<String> = redis::cmd("HGET").arg(&key).arg("text").query_async(&mut r).await.unwrap();
    assert_eq!(text.as_deref(), Some("cached"));

    // A delete leaves a tombstone: the draft stays gone even if an older version is offered.
    alice.delete(DRAFT).await;
    assert_eq!(alice.get(DRAFT).await.1["code"], "not_found");
    let stale: i64 = redis::cmd("EVAL")
        .arg("local cur = redis.call('HGET', KEYS[1], 'version') if cur and tonumber(cur) >= tonumber(ARGV[1]) then return 0 end return 1")
        .arg(1)
        .arg(&key)
        .arg(1)
        .query_async(&mut r)
        .await
        .unwrap();
    assert_eq!(stale, 0, "the tombstone's version is newer than any earlier write");
    // Saving again replaces the tombstone.
    alice.post(DRAFT, json!({ "text": "again" })).await;
    assert_eq!(alice.get(DRAFT).await.1["draft"]["text"], "again");
}

#[tokio::test]
async fn draft_input_and_access_are_checked_and_nothing_is_stored() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let carol = app.user("carol").await;
    alice.create_channel("messaging:notes", &[]).await;
    alice.create_channel("messaging:elsewhere", &[]).await;
    let foreign_parent = new_id();
    alice.send("messaging:elsewhere", &foreign_parent, "x").await;
    let bad = [
        (json!({ "text": "" }), "invalid_input"),
        (json!({ "text": "x".repeat(10_001) }), "invalid_input"),
        (json!({ "text": "x", "parent_id": "nope" }), "invalid_input"),
        (json!({ "text": "x", "parent_id": new_id() }), "invalid_input"),
        (json!({ "text": "x", "parent_id": foreign_parent }), "invalid_input"),
        (json!({ "text": "x", "mentions": ["'; DROP TABLE message_drafts; --"] }), "invalid_input"),
        (json!({ "text": "x", "cid": "messaging:other" }), "invalid_json"),
        (json!({ "text": 7 }), "invalid_json"),
    ];
    for (body, code) in bad {
        let (status, v) = alice.post(DRAFT, body.clone()).await;
        assert_eq!((status / 100, v["code"].as_str()), (4, Some(code)), "{body}");
    }
    assert_eq!(alice.get(&format!("{DRAFT}?sort=1")).await.1["code"], "invalid_input");
    assert_eq!(alice.get("/v1/drafts?limit=0").await.1["code"], "invalid_input");
    assert_eq!(alice.get("/v1/drafts?next=zzz").await.1["code"], "invalid_input");
    // Non-members, unknown channels, other applications.
    let (status, v) = carol.post(DRAFT, json!({ "text": "mine?" })).await;
    assert_eq!((status, v["code"].as_str()), (403, Some("forbidden")));
    assert_eq!(carol.get(DRAFT).await.1["code"], "forbidden");
    assert_eq!(carol.delete(DRAFT).await.1["code"], "forbidden");
    assert_eq!(alice.post("/v1/channels/messaging/ghost/draft", json!({ "text": "x" })).await.1["code"], "not_found");
    let other = TestApp::create(&node).await;
    other.user("alice").await;
    let foreign = other.token("alice", None).await;
    assert_eq!(alice.with_token(&foreign).post(DRAFT, json!({ "text": "x" })).await.1["code"], "invalid_token");
    assert!(alice.get("/v1/drafts").await.1["drafts"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn the_draft_list_pages_newest_first() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    for c in ["a", "b", "c"] {
        alice.create_channel(&format!("messaging:{c}"), &[]).await;
        let (s, v) = alice.post(&format!("/v1/channels/messaging/{c}/draft"), json!({ "text": c })).await;
        assert_eq!(s, 200, "{v}");
    }
    let (_, p1) = alice.get("/v1/drafts?limit=2").await;
    let next = p1["next"].as_str().unwrap().to_string();
    let (_, p2) = alice.get(&format!("/v1/drafts?limit=2&next={next}")).await;
    let cids: Vec<&str> =
        p1["drafts"].as_array().unwrap().iter().chain(p2["drafts"].as_array().unwrap()).map(|d| d["cid"].as_str().unwrap()).collect();
    assert_eq!(cids, ["messaging:c", "messaging:b", "messaging:a"]);
    assert!(p2.get("next").is_none());
}
