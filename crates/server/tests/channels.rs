//! Channels: distinct channels, query (filters, sorts, keyset pages), update and partial update,
//! freeze, slow mode and cooldown, truncate, delete, hide/show, mute, watchers — with their events
//! and a gapless channel sequence.

mod common;

use std::time::Duration;

use common::{assert_gapless, new_id, stored_messages, Node, TestApp};
use serde_json::json;

#[tokio::test]
async fn distinct_channel_created_concurrently_by_8_tasks_is_one_channel() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.upsert_users(&["carol"]).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        // Half from alice, half from bob, members in different orders: one member set.
        let (who, members) = if i % 2 == 0 {
            (alice.clone(), json!(["carol", "bob"]))
        } else {
            (bob.clone(), json!(["alice", "carol", "alice"]))
        };
        tasks
            .push(tokio::spawn(async move { who.post("/v1/channels/messaging", json!({ "members": members })).await }));
    }
    let mut cids = Vec::new();
    for t in tasks {
        let (status, v) = t.await.unwrap();
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["channel"]["member_count"], 3);
        assert_eq!(v["channel"]["is_distinct"], true);
        cids.push(v["channel"]["cid"].as_str().unwrap().to_string());
    }
    cids.dedup();
    assert_eq!(cids.len(), 1, "one channel for one member set: {cids:?}");
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM channels c JOIN applications a ON a.id = c.app_id WHERE a.api_key = $1")
            .bind(&app.api_key)
            .fetch_one(node.state.db())
            .await
            .unwrap();
    assert_eq!(n, 1);
    // Three member.added events, gapless.
    assert_eq!(assert_gapless(&node, &app.api_key, &cids[0]).await, ["member.added"; 3]);
    // Another set is another channel; a set of only yourself is refused.
    let (_, other) = alice.post("/v1/channels/messaging", json!({ "members": ["bob"] })).await;
    assert_ne!(other["channel"]["cid"], cids[0].as_str());
    let (status, v) = alice.post("/v1/channels/messaging", json!({ "members": ["alice"] })).await;
    assert_eq!((status, v["code"].as_str()), (400, Some("invalid_input")));
    let (_, v) = alice.post("/v1/channels/messaging", json!({ "members": ["ghost"] })).await;
    assert_eq!(v["code"], "invalid_input");
}

#[tokio::test]
async fn query_filters_sorts_and_keyset_pages() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    // c0..c6 created in order; messages make the activity order c3, c5, c0 (latest first).
    for i in 0..7 {
        let members: Vec<&str> = if i % 2 == 0 { vec!["bob"] } else { vec!["carol"] };
        let (t, _) = ("messaging", ());
        let (status, v) = alice
            .post(
                &format!("/v1/channels/{t}/c{i}"),
                json!({ "members": members, "metadata": { "color": if i < 3 { "red" } else { "blue" }, "n": i } }),
            )
            .await;
        assert_eq!(status, 200, "{v}");
    }
    bob.create_channel("team:t0", &["alice"]).await;
    carol.create_channel("messaging:carol-only", &[]).await;
    for c in ["c0", "c5", "c3"] {
        assert_eq!(alice.send(&format!("messaging:{c}"), &new_id(), "hi").await.0, 200);
    }

    // Default sort: last activity, newest first; pages of 3 with no duplicates or gaps.
    let mut all = Vec::new();
    let mut next: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut body = json!({ "limit": 3 });
        if let Some(n) = &next {
            body["next"] = json!(n);
        }
        let (cids, n) = alice.query_cids(body).await;
        pages += 1;
        all.extend(cids);
        match n {
            Some(n) => next = Some(n),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(
        all,
        [
            "messaging:c3",
            "messaging:c5",
            "messaging:c0",
            "team:t0",
            "messaging:c6",
            "messaging:c4",
            "messaging:c2",
            "messaging:c1"
        ]
    );
    // Ascending by creation, same paging, stable.
    let (p1, n1) = alice.query_cids(json!({ "sort": [{ "field": "created_at", "direction": 1 }], "limit": 4 })).await;
    let (p2, n2) =
        alice.query_cids(json!({ "sort": [{ "field": "created_at", "direction": 1 }], "limit": 4, "next": n1 })).await;
    assert_eq!(p1, ["messaging:c0", "messaging:c1", "messaging:c2", "messaging:c3"]);
    assert_eq!(p2, ["messaging:c4", "messaging:c5", "messaging:c6", "team:t0"]);
    assert!(n2.is_none());
    // A cursor for another sort is refused; a forged one too.
    let (_, v) = alice.post("/v1/channels/query", json!({ "limit": 4, "next": n1 })).await;
    assert_eq!(v["code"], "invalid_input");
    let (_, v) = alice.post("/v1/channels/query", json!({ "next": "zz' OR 1=1" })).await;
    assert_eq!(v["code"], "invalid_input");

    // Filters.
    let q =
        |f: serde_json::Value| json!({ "filter": f, "sort": [{ "field": "created_at", "direction": 1 }], "limit": 30 });
    assert_eq!(alice.query_cids(q(json!({ "type": "team" }))).await.0, ["team:t0"]);
    assert_eq!(
        alice.query_cids(q(json!({ "cid": { "$in": ["messaging:c1", "team:t0", "messaging:carol-only"] } }))).await.0,
        ["messaging:c1", "team:t0"]
    );
    assert_eq!(alice.query_cids(q(json!({ "id": { "$in": ["c2", "c4"] } }))).await.0, ["messaging:c2", "messaging:c4"]);
    assert_eq!(
        alice.query_cids(q(json!({ "members": { "$in": ["carol"] } }))).await.0,
        ["messaging:c1", "messaging:c3", "messaging:c5"]
    );
    assert_eq!(
        alice.query_cids(q(json!({ "members": { "$all": ["alice", "bob"] }, "type": "messaging" }))).await.0.len(),
        4
    );
    assert_eq!(
        alice.query_cids(q(json!({ "metadata": { "color": "red" } }))).await.0,
        ["messaging:c0", "messaging:c1", "messaging:c2"]
    );
    assert_eq!(alice.query_cids(q(json!({ "metadata": { "n": 4 } }))).await.0, ["messaging:c4"]);
    assert!(alice.query_cids(q(json!({ "last_message_at": { "$gte": "2000-01-01T00:00:00Z" } }))).await.0.len() == 3);
    assert!(alice.query_cids(q(json!({ "created_at": { "$lt": "2000-01-01T00:00:00Z" } }))).await.0.is_empty());
    assert_eq!(alice.query_cids(q(json!({ "frozen": false }))).await.0.len(), 8);
    // SQL-ish strings are just values.
    assert!(alice.query_cids(q(json!({ "type": "messaging' OR '1'='1" }))).await.0.is_empty());
    assert!(alice.query_cids(q(json!({ "metadata": { "color') OR true --": "red" } }))).await.0.is_empty());
    // Strict validation.
    for bad in [
        json!({ "filter": { "type": { "$regex": ".*" } } }),
        json!({ "filter": { "name": "x" } }),
        json!({ "filter": { "frozen": "yes" } }),
        json!({ "filter": { "members": ["bob"] } }),
        json!({ "filter": { "created_at": { "$gt": "yesterday" } } }),
        json!({ "filter": { "cid": { "$in": [] } } }),
        json!({ "sort": [{ "field": "name; DROP TABLE channels", "direction": 1 }] }),
        json!({ "sort": [{ "field": "created_at", "direction": 2 }] }),
        json!({ "limit": 0 }),
        json!({ "limit": 31 }),
    ] {
        let (status, v) = alice.post("/v1/channels/query", bad.clone()).await;
        assert_eq!((status, v["code"].as_str()), (400, Some("invalid_input")), "{bad} -> {v}");
    }
    let (status, v) = alice.post("/v1/channels/query", json!({ "filter": {}, "offset": 3 })).await;
    assert_eq!((status, v["code"].as_str()), (400, Some("invalid_json")));
    // Only the caller's channels: carol sees her own and the ones she is in.
    assert_eq!(
        carol.query_cids(q(json!({}))).await.0,
        ["messaging:c1", "messaging:c3", "messaging:c5", "messaging:carol-only"]
    );
    // Unread sort: bob has unread messages only in c0.
    let (cids, _) = bob.query_cids(json!({ "sort": [{ "field": "unread", "direction": -1 }], "limit": 1 })).await;
    assert_eq!(cids, ["messaging:c0"]);
    // Another application sees none of it.
    let other = TestApp::create(&node).await.user("alice").await;
    assert!(other.query_cids(json!({})).await.0.is_empty());
}

#[tokio::test]
async fn update_and_partial_update_emit_channel_updated_in_sequence() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    alice.create_channel("messaging:upd", &["bob"]).await;
    let mut b = bob.connect(&node).await;
    let (status, v) = alice
        .put(
            "/v1/channels/messaging/upd",
            json!({ "name": "Team", "description": "d", "metadata": { "a": 1 }, "settings": { "x": true } }),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["channel"]["name"], "Team");
    let ev = b.next_of("channel.updated").await;
    assert_eq!(ev["channel"]["name"], "Team");
    assert_eq!(ev["channel_seq"], 3);
    assert_eq!(ev["channel"]["last_seq"], 3);
    // Partial: set one, unset another; the rest stays.
    let (status, v) = alice
        .patch(
            "/v1/channels/messaging/upd",
            json!({ "set": { "avatar_url": "http://x/a.png" }, "unset": ["description"] }),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["channel"]["name"], "Team");
    assert_eq!(v["channel"]["avatar_url"], "http://x/a.png");
    assert!(v["channel"].get("description").is_none());
    assert_eq!(v["channel"]["metadata"]["a"], 1);
    assert_eq!(b.next_of("channel.updated").await["channel_seq"], 4);
    // The same change again changes nothing and emits nothing.
    let (status, _) =
        alice.patch("/v1/channels/messaging/upd", json!({ "set": { "avatar_url": "http://x/a.png" } })).await;
    assert_eq!(status, 200);
    b.assert_quiet(Duration::from_millis(300)).await;
    // Full update clears what is left out.
    let (_, v) = alice.put("/v1/channels/messaging/upd", json!({ "name": "Only" })).await;
    assert!(v["channel"].get("avatar_url").is_none());
    assert_eq!(v["channel"]["metadata"], json!({}));
    // Bad input.
    for bad in [
        json!({ "set": { "frozen": true } }),
        json!({ "set": { "name": 5 } }),
        json!({ "set": { "slow_mode": -1 } }),
        json!({ "set": { "name": "a" }, "unset": ["name"] }),
        json!({ "set": {}, "unset": [] }),
        json!({ "set": { "name": "x".repeat(300) } }),
    ] {
        let (status, v) = alice.patch("/v1/channels/messaging/upd", bad.clone()).await;
        assert_eq!((status, v["code"].as_str()), (400, Some("invalid_input")), "{bad}");
    }
    // A member may not update.
    let (status, v) = bob.patch("/v1/channels/messaging/upd", json!({ "set": { "name": "mine" } })).await;
    assert_eq!((status, v["code"].as_str()), (403, Some("forbidden")));
    let events = assert_gapless(&node, &app.api_key, "messaging:upd").await;
    assert_eq!(events, ["member.added", "member.added", "channel.updated", "channel.updated", "channel.updated"]);
}

#[tokio::test]
async fn a_frozen_channel_refuses_messages_with_channel_frozen_and_stores_nothing() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    alice.create_channel("messaging:ice", &["bob"]).await;
    let (status, v) = bob.act("messaging:ice", "freeze", json!({})).await;
    assert_eq!((status, v["code"].as_str()), (403, Some("forbidden")));
    let (status, v) = alice.act("messaging:ice", "freeze", json!({})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["channel"]["is_frozen"], true);
    for who in [&alice, &bob] {
        let (status, v) = who.send("messaging:ice", &new_id(), "brr").await;
        assert_eq!((status, v["code"].as_str()), (403, Some("channel_frozen")));
    }
    assert_eq!(stored_messages(&node, &app.api_key, "messaging:ice").await, 0);
    let (q, _) = alice.query_cids(json!({ "filter": { "frozen": true } })).await;
    assert_eq!(q, ["messaging:ice"]);
    assert_eq!(alice.act("messaging:ice", "unfreeze", json!({})).await.0, 200);
    assert_eq!(bob.send("messaging:ice", &new_id(), "thaw").await.0, 200);
    let events = assert_gapless(&node, &app.api_key, "messaging:ice").await;
    assert_eq!(events[2..], ["channel.updated", "channel.updated", "message.new"]);
}

#[tokio::test]
async fn slow_mode_and_cooldown_refuse_regular_members_only() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    alice.create_channel("messaging:slow", &["bob", "carol"]).await;
    let (status, v) = alice.patch("/v1/channels/messaging/slow", json!({ "set": { "slow_mode": 30 } })).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["channel"]["slow_mode"], 30);
    // A send refused for another reason spends no window.
    let (status, v) = bob.post("/v1/channels/messaging/slow/messages", json!({ "id": new_id(), "text": "x", "parent_id": new_id() })).await;
    assert_eq!((status, v["code"].as_str()), (400, Some("invalid_input")), "{v}");
    assert_eq!(bob.send("messaging:slow", &new_id(), "one").await.0, 200);
    let (status, v) = bob.send("messaging:slow", &new_id(), "two").await;
    assert_eq!((status, v["code"].as_str(), v["retryable"].as_bool()), (429, Some("slow_mode"), Some(true)));
    let wait = v["retry_after"].as_u64().unwrap();
    assert!((1..=30).contains(&wait), "{v}");
    // Slow mode is per user; the owner is exempt.
    assert_eq!(carol.send("messaging:slow", &new_id(), "mine").await.0, 200);
    assert_eq!(alice.send("messaging:slow", &new_id(), "owner 1").await.0, 200);
    assert_eq!(alice.send("messaging:slow", &new_id(), "owner 2").await.0, 200);
    assert_eq!(stored_messages(&node, &app.api_key, "messaging:slow").await, 4);
    // A resend of a stored message is not a new post.
    let id = new_id();
    let (_, v) =
        alice.patch("/v1/channels/messaging/slow", json!({ "unset": ["slow_mode"], "set": { "cooldown": 30 } })).await;
    assert_eq!(v["channel"]["cooldown"], 30);
    let (status, _) = carol.send("messaging:slow", &id, "first after cooldown set").await;
    assert_eq!(status, 200);
    assert_eq!(carol.send("messaging:slow", &id, "first after cooldown set").await.0, 200);
    // Channel-wide: bob is refused because carol just posted.
    let (status, v) = bob.send("messaging:slow", &new_id(), "me too").await;
    assert_eq!((status, v["code"].as_str()), (429, Some("slow_mode")));
    assert_eq!(stored_messages(&node, &app.api_key, "messaging:slow").await, 5);
    assert_gapless(&node, &app.api_key, "messaging:slow").await;

    // Concurrent sends by one member with slow mode on (they share send batches): exactly one
    // is stored.
    alice.patch("/v1/channels/messaging/slow", json!({ "unset": ["cooldown"], "set": { "slow_mode": 30 } })).await;
    let dan = app.user("dan").await;
    alice.post("/v1/channels/messaging/slow/members", json!({ "user_ids": ["dan"] })).await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let dan = dan.clone();
            tokio::spawn(async move { dan.send("messaging:slow", &new_id(), &format!("race {i}")).await })
        })
        .collect();
    let mut codes = Vec::new();
    for t in tasks {
        let (status, v) = t.await.unwrap();
        codes.push(if status == 200 { "ok".to_string() } else { v["code"].as_str().unwrap_or("?").to_string() });
    }
    codes.sort();
    assert_eq!(codes, ["ok", "slow_mode", "slow_mode", "slow_mode", "slow_mode", "slow_mode", "slow_mode", "slow_mode"]);
    assert_gapless(&node, &app.api_key, "messaging:slow").await;
}

#[tokio::test]
async fn truncate_hides_older_messages_and_can_leave_a_system_message() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    alice.create_channel("messaging:cut", &["bob"]).await;
    for i in 0..3 {
        alice.send("messaging:cut", &new_id(), &format!("old {i}")).await;
    }
    let mut b = bob.connect(&node).await;
    let (status, v) = bob.act("messaging:cut", "truncate", json!({})).await;
    assert_eq!((status, v["code"].as_str()), (403, Some("forbidden")));
    let (status, v) = alice.act("messaging:cut", "truncate", json!({ "message": "history cleared" })).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["channel"]["truncated_at"].is_string());
    let ev = b.next_of("channel.truncated").await;
    assert_eq!(ev["channel_seq"], 6);
    let sys = b.next_of("message.new").await;
    assert_eq!((sys["channel_seq"].as_u64(), sys["message"]["type"].as_str()), (Some(7), Some("system")));
    let (_, st) = bob.get("/v1/channels/messaging/cut").await;
    let texts: Vec<&str> = st["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["history cleared"]);
    assert_eq!(st["membership"]["unread_count"], 0);
    let (_, page) = bob.get("/v1/channels/messaging/cut/messages?after_seq=0").await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 1);
    alice.send("messaging:cut", &new_id(), "new").await;
    let (_, page) = bob.get("/v1/channels/messaging/cut/messages").await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 2);
    let events = assert_gapless(&node, &app.api_key, "messaging:cut").await;
    assert_eq!(events[5], "channel.truncated");
}

#[tokio::test]
async fn delete_is_owner_only_soft_and_final() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    alice.create_channel("messaging:gone", &["bob"]).await;
    let mut b = bob.connect(&node).await;
    let (status, v) = bob.delete("/v1/channels/messaging/gone").await;
    assert_eq!((status, v["code"].as_str()), (403, Some("forbidden")));
    let (status, v) = alice.delete("/v1/channels/messaging/gone").await;
    assert_eq!(status, 200, "{v}");
    assert!(v["channel"]["deleted_at"].is_string());
    let ev = b.next_of("channel.deleted").await;
    assert_eq!(ev["channel_seq"], 3);
    // A retry succeeds without a new event.
    assert_eq!(alice.delete("/v1/channels/messaging/gone").await.0, 200);
    b.assert_quiet(Duration::from_millis(300)).await;
    // No longer readable or writable, not listed, and its id is not reused.
    assert_eq!(bob.get("/v1/channels/messaging/gone").await.1["code"], "not_found");
    assert_eq!(alice.send("messaging:gone", &new_id(), "x").await.1["code"], "not_found");
    assert_eq!(alice.get("/v1/channels/messaging/gone/messages").await.1["code"], "not_found");
    assert!(alice.query_cids(json!({})).await.0.is_empty());
    let (status, v) = alice.post("/v1/channels/messaging/gone", json!({})).await;
    assert_eq!((status, v["code"].as_str()), (404, Some("not_found")));
    assert_eq!(assert_gapless(&node, &app.api_key, "messaging:gone").await[2], "channel.deleted");
}

#[tokio::test]
async fn hidden_channels_leave_the_list_until_a_new_message() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    alice.create_channel("messaging:h", &["bob"]).await;
    let mut b = bob.connect(&node).await;
    let (status, v) = bob.act("messaging:h", "hide", json!({})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["member"]["is_hidden"], true);
    let ev = b.next_of("notification.membership_updated").await;
    assert_eq!(ev["member"]["is_hidden"], true);
    assert!(bob.query_cids(json!({})).await.0.is_empty());
    assert_eq!(bob.query_cids(json!({ "filter": { "hidden": true } })).await.0, ["messaging:h"]);
    assert_eq!(alice.query_cids(json!({})).await.0, ["messaging:h"], "hiding is per user");
    alice.send("messaging:h", &new_id(), "ping").await;
    assert_eq!(b.next_of("message.new").await["message"]["text"], "ping");
    assert_eq!(bob.query_cids(json!({})).await.0, ["messaging:h"]);
    // Show / mute / unmute.
    bob.act("messaging:h", "hide", json!({})).await;
    assert_eq!(bob.act("messaging:h", "show", json!({})).await.1["member"]["is_hidden"], serde_json::Value::Null);
    let (_, v) = bob.act("messaging:h", "mute", json!({})).await;
    assert_eq!(v["member"]["is_muted"], true);
    assert_eq!(bob.query_cids(json!({ "filter": { "muted": true } })).await.0, ["messaging:h"]);
    // Muted channels are still delivered.
    alice.send("messaging:h", &new_id(), "still here").await;
    assert_eq!(b.next_of("message.new").await["message"]["text"], "still here");
    assert_eq!(bob.act("messaging:h", "unmute", json!({})).await.0, 200);
    // Hide/show/mute are per-user changes: no channel events.
    let events = assert_gapless(&node, &app.api_key, "messaging:h").await;
    assert_eq!(events, ["member.added", "member.added", "message.new", "message.new"]);
}

#[tokio::test]
async fn watchers_are_counted_announced_and_dropped_on_disconnect() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    alice.create_channel("messaging:w", &["bob"]).await;
    let mut a = alice.connect(&node).await;
    let mut bsock = bob.connect(&node).await;
    let (status, st) = bob.act("messaging:w", "watch", json!({})).await;
    assert_eq!(status, 200, "{st}");
    assert_eq!(st["watcher_count"], 1);
    assert_eq!(st["online_count"], 2);
    let ev = a.next_of("user.watching.start").await;
    assert_eq!((ev["user_id"].as_str(), ev["watcher_count"].as_u64()), (Some("bob"), Some(1)));
    assert!(ev.get("channel_seq").is_none());
    // Watching twice announces nothing new.
    bob.act("messaging:w", "watch", json!({})).await;
    let (_, st) = alice.act("messaging:w", "watch", json!({})).await;
    assert_eq!(st["watcher_count"], 2);
    assert_eq!(a.next_of("user.watching.start").await["user_id"], "alice");
    let (_, v) = alice.act("messaging:w", "stop-watching", json!({})).await;
    assert_eq!(v["watcher_count"], 1);
    assert_eq!(a.next_of("user.watching.stop").await["user_id"], "alice");
    // Non-members cannot watch.
    assert_eq!(carol.act("messaging:w", "watch", json!({})).await.1["code"], "forbidden");
    // Bob's socket closes: he stops watching and goes offline in the channel.
    bsock.ws.close(None).await.unwrap();
    drop(bsock);
    let ev = a.next_of("user.watching.stop").await;
    assert_eq!((ev["user_id"].as_str(), ev["watcher_count"].as_u64()), (Some("bob"), Some(0)));
    let (_, st) = alice.get("/v1/channels/messaging/w").await;
    assert_eq!((st["watcher_count"].as_u64(), st["online_count"].as_u64()), (Some(0), Some(1)));
    // Watching is ephemeral: it never enters the channel's event log.
    assert_eq!(assert_gapless(&node, &app.api_key, "messaging:w").await.len(), 2);
}
