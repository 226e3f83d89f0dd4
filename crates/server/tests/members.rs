//! Members: add, remove, leave, roles and the permission table, invitations, bans (with expiry)
//! and shadow bans — each with its events and a gapless channel sequence.

mod common;

use std::time::{Duration, Instant};

use common::{assert_gapless, new_id, stored_messages, Node, TestApp};
use serde_json::json;

#[tokio::test]
async fn add_remove_and_leave_with_events() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    alice.create_channel("messaging:m", &["bob"]).await;
    let mut b = bob.connect(&node).await;
    let mut c = carol.connect(&node).await;
    let (status, v) = alice.act("messaging:m", "members", json!({ "user_ids": ["carol", "bob"] })).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["members"].as_array().unwrap().len(), 2);
    assert_eq!(b.next_of("member.added").await["member"]["user_id"], "carol");
    assert_eq!(c.next_of("notification.added_to_channel").await["channel"]["member_count"], 3);
    // Adding again is a no-op without events.
    assert_eq!(alice.act("messaging:m", "members", json!({ "user_ids": ["carol"] })).await.0, 200);
    b.assert_quiet(Duration::from_millis(300)).await;
    // Carol leaves; bob sees member.removed, carol's other devices the notification.
    assert_eq!(carol.act("messaging:m", "leave", json!({})).await.0, 200);
    let ev = b.next_of("member.removed").await;
    assert_eq!(ev["user_id"], "carol");
    assert_eq!(c.next_of("notification.removed_from_channel").await["cid"], "messaging:m");
    assert_eq!(carol.get("/v1/channels/messaging/m").await.1["code"], "forbidden");
    // The owner removes bob, who is told.
    assert_eq!(alice.act("messaging:m", "members/remove", json!({ "user_ids": ["bob"] })).await.0, 200);
    assert_eq!(b.next_of("member.removed").await["user_id"], "bob");
    assert_eq!(b.next_of("notification.removed_from_channel").await["cid"], "messaging:m");
    assert_eq!(bob.send("messaging:m", &new_id(), "x").await.1["code"], "forbidden");
    // The owner cannot leave; bad ids are refused.
    assert_eq!(alice.act("messaging:m", "leave", json!({})).await.1["code"], "forbidden");
    let (status, v) = alice.act("messaging:m", "members", json!({ "user_ids": ["x'; DROP TABLE users; --"] })).await;
    assert_eq!((status, v["code"].as_str()), (400, Some("invalid_input")));
    assert_eq!(alice.act("messaging:m", "members", json!({ "user_ids": [] })).await.1["code"], "invalid_input");
    assert_eq!(alice.act("messaging:m", "members", json!({ "user_ids": ["ghost"] })).await.1["code"], "invalid_input");
    let events = assert_gapless(&node, &app.api_key, "messaging:m").await;
    assert_eq!(events, ["member.added", "member.added", "member.added", "member.removed", "member.removed"]);
}

#[tokio::test]
async fn the_permission_table_is_enforced() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let owner = app.user("owner").await;
    let admin = app.user("admin").await;
    let moder = app.user("moder").await;
    let member = app.user("member").await;
    app.upsert_users(&["other"]).await;
    let cid = "messaging:perm";
    owner.create_channel(cid, &["admin", "moder", "member", "other"]).await;
    // Roles: owner makes admin; admin makes moder a moderator.
    assert_eq!(owner.act(cid, "members/role", json!({ "user_id": "admin", "role": "admin" })).await.0, 200);
    let (status, v) = admin.act(cid, "members/role", json!({ "user_id": "moder", "role": "moderator" })).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["member"]["role"], "moderator");
    // Nobody gives "owner"; an admin cannot make admins; a moderator cannot change roles.
    assert_eq!(
        owner.act(cid, "members/role", json!({ "user_id": "member", "role": "owner" })).await.1["code"],
        "invalid_input"
    );
    assert_eq!(
        admin.act(cid, "members/role", json!({ "user_id": "member", "role": "admin" })).await.1["code"],
        "forbidden"
    );
    assert_eq!(
        moder.act(cid, "members/role", json!({ "user_id": "member", "role": "moderator" })).await.1["code"],
        "forbidden"
    );
    assert_eq!(
        admin.act(cid, "members/role", json!({ "user_id": "owner", "role": "member" })).await.1["code"],
        "forbidden"
    );

    let forbidden = |(status, v): (u16, serde_json::Value)| {
        assert_eq!((status, v["code"].as_str()), (403, Some("forbidden")), "{v}");
    };
    // A member cannot freeze, update, truncate, delete, add, remove, invite or ban.
    forbidden(member.act(cid, "freeze", json!({})).await);
    forbidden(member.patch("/v1/channels/messaging/perm", json!({ "set": { "name": "x" } })).await);
    forbidden(member.act(cid, "truncate", json!({})).await);
    forbidden(member.delete("/v1/channels/messaging/perm").await);
    forbidden(member.act(cid, "members", json!({ "user_ids": ["owner"] })).await);
    forbidden(member.act(cid, "members/remove", json!({ "user_ids": ["other"] })).await);
    forbidden(member.act(cid, "invite", json!({ "user_ids": ["other"] })).await);
    forbidden(member.act(cid, "ban", json!({ "user_id": "other" })).await);
    // A moderator can ban and remove members, but not delete, freeze or update, and not act on
    // an admin.
    assert_eq!(moder.act(cid, "ban", json!({ "user_id": "other" })).await.0, 200);
    assert_eq!(moder.act(cid, "unban", json!({ "user_id": "other" })).await.0, 200);
    forbidden(moder.delete("/v1/channels/messaging/perm").await);
    forbidden(moder.act(cid, "freeze", json!({})).await);
    forbidden(moder.put("/v1/channels/messaging/perm", json!({ "name": "x" })).await);
    forbidden(moder.act(cid, "ban", json!({ "user_id": "admin" })).await);
    forbidden(moder.act(cid, "members/remove", json!({ "user_ids": ["admin"] })).await);
    // An admin can freeze and truncate, but not delete, and cannot ban the owner.
    assert_eq!(admin.act(cid, "freeze", json!({})).await.0, 200);
    assert_eq!(admin.act(cid, "unfreeze", json!({})).await.0, 200);
    assert_eq!(admin.act(cid, "truncate", json!({})).await.0, 200);
    forbidden(admin.delete("/v1/channels/messaging/perm").await);
    forbidden(admin.act(cid, "ban", json!({ "user_id": "owner" })).await);
    assert_eq!(moder.act(cid, "members/remove", json!({ "user_ids": ["other"] })).await.0, 200);
    // Only the owner deletes.
    assert_eq!(owner.delete("/v1/channels/messaging/perm").await.0, 200);
    // Another application's user cannot touch the channel.
    let stranger = TestApp::create(&node).await.user("owner").await;
    assert_eq!(stranger.act(cid, "members", json!({ "user_ids": ["owner"] })).await.1["code"], "not_found");
    assert_gapless(&node, &app.api_key, cid).await;
}

#[tokio::test]
async fn invitations_are_seen_then_accepted_or_rejected() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    alice.create_channel("messaging:inv", &[]).await;
    let mut a = alice.connect(&node).await;
    let mut b = bob.connect(&node).await;
    let (status, v) = alice.act("messaging:inv", "invite", json!({ "user_ids": ["bob", "carol"] })).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["members"][0]["invited"], true);
    let n = b.next_of("notification.invited").await;
    assert_eq!(n["channel"]["cid"], "messaging:inv");
    assert_eq!(a.next_of("member.added").await["member"]["invited"], true);
    // The invitee sees the channel but cannot post before accepting.
    assert_eq!(bob.query_cids(json!({})).await.0, ["messaging:inv"]);
    assert_eq!(bob.get("/v1/channels/messaging/inv").await.1["membership"]["invited"], true);
    assert_eq!(bob.send("messaging:inv", &new_id(), "hi").await.1["code"], "forbidden");
    let (status, v) = bob.act("messaging:inv", "invite/accept", json!({})).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["member"]["invite_accepted_at"].is_string());
    assert!(v["member"].get("invited").is_none());
    let ev = a.next_of("member.updated").await;
    assert_eq!(ev["member"]["user_id"], "bob");
    assert_eq!(bob.send("messaging:inv", &new_id(), "hi").await.0, 200);
    // Accepting again is a no-op; rejecting an accepted invitation is refused.
    assert_eq!(bob.act("messaging:inv", "invite/accept", json!({})).await.0, 200);
    assert_eq!(bob.act("messaging:inv", "invite/reject", json!({})).await.1["code"], "forbidden");
    // Carol rejects: she no longer sees or reads the channel.
    let (status, v) = carol.act("messaging:inv", "invite/reject", json!({})).await;
    assert_eq!(status, 200, "{v}");
    assert!(carol.query_cids(json!({})).await.0.is_empty());
    assert_eq!(carol.get("/v1/channels/messaging/inv").await.1["code"], "forbidden");
    assert_eq!(carol.act("messaging:inv", "invite/reject", json!({})).await.0, 200, "rejecting again is a no-op");
    let (_, synced) = carol.post("/v1/sync", json!({ "channels": { "messaging:inv": 0 } })).await;
    assert_eq!(synced["channels"]["messaging:inv"]["resync"], true, "{synced}");
    assert!(synced["events"].as_array().unwrap().is_empty());
    let (_, st) = alice.get("/v1/channels/messaging/inv").await;
    assert_eq!(st["channel"]["member_count"], 2);
    // Without an invitation there is nothing to accept.
    let dave = app.user("dave").await;
    assert_eq!(dave.act("messaging:inv", "invite/accept", json!({})).await.1["code"], "forbidden");
    let events = assert_gapless(&node, &app.api_key, "messaging:inv").await;
    assert_eq!(
        events,
        ["member.added", "member.added", "member.added", "member.updated", "message.new", "member.updated"]
    );
}

#[tokio::test]
async fn a_banned_member_is_refused_until_the_ban_expires() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    alice.create_channel("messaging:ban", &["bob"]).await;
    let mut b = bob.connect(&node).await;
    let (status, v) = alice.act("messaging:ban", "ban", json!({ "user_id": "bob" })).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["member"]["banned"], true);
    assert_eq!(b.next_of("member.updated").await["member"]["banned"], true);
    let (status, v) = bob.send("messaging:ban", &new_id(), "let me in").await;
    assert_eq!((status, v["code"].as_str()), (403, Some("banned_from_channel")));
    assert_eq!(stored_messages(&node, &app.api_key, "messaging:ban").await, 0);
    // Banned members receive no live events.
    alice.send("messaging:ban", &new_id(), "quiet").await;
    b.assert_quiet(Duration::from_millis(300)).await;
    assert_eq!(alice.act("messaging:ban", "unban", json!({ "user_id": "bob" })).await.0, 200);
    assert_eq!(bob.send("messaging:ban", &new_id(), "back").await.0, 200);
    // A one-second ban lapses by itself.
    let (_, v) = alice.act("messaging:ban", "ban", json!({ "user_id": "bob", "expires_in": 1 })).await;
    assert!(v["member"]["ban_expires_at"].is_string());
    assert_eq!(bob.send("messaging:ban", &new_id(), "too soon").await.1["code"], "banned_from_channel");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, v) = bob.send("messaging:ban", &new_id(), "expired").await;
        if status == 200 {
            break;
        }
        assert_eq!(v["code"], "banned_from_channel");
        assert!(Instant::now() < deadline, "the ban did not expire");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Bad input.
    assert_eq!(
        alice.act("messaging:ban", "ban", json!({ "user_id": "bob", "expires_in": 0 })).await.1["code"],
        "invalid_input"
    );
    assert_eq!(alice.act("messaging:ban", "ban", json!({ "user_id": "nobody" })).await.1["code"], "not_found");
    assert_eq!(
        alice.act("messaging:ban", "ban", json!({ "user_id": "bob", "until": 5 })).await.1["code"],
        "invalid_json"
    );
    assert_gapless(&node, &app.api_key, "messaging:ban").await;
}

#[tokio::test]
async fn shadow_banned_messages_are_seen_only_by_their_sender() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    alice.create_channel("messaging:shadow", &["bob"]).await;
    // Alice is connected before the ban: its `member.updated` is fanned out after the answer,
    // and would otherwise reach a socket opened right after it, during the silence below.
    let mut a = alice.connect(&node).await;
    let (status, v) = alice.act("messaging:shadow", "ban", json!({ "user_id": "bob", "shadow": true })).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["member"].get("banned").is_none(), "a shadow ban is not shown as a ban");
    let update = a.next_of("member.updated").await;
    assert!(update["member"].get("banned").is_none(), "nor in the event: {update}");
    let mut b = bob.connect(&node).await;
    let id = new_id();
    let (status, sent) = bob.send("messaging:shadow", &id, "can anyone hear me").await;
    assert_eq!(status, 200, "{sent}");
    // Bob's view: the message arrives live and stays in his history.
    assert_eq!(b.next_of("message.new").await["message"]["id"], id.as_str());
    let (_, page) = bob.get("/v1/channels/messaging/shadow/messages").await;
    assert!(page["messages"].as_array().unwrap().iter().any(|m| m["id"] == id.as_str()));
    // Alice's view: nothing live, nothing in history or state, no unread.
    a.assert_quiet(Duration::from_millis(300)).await;
    let (_, page) = alice.get("/v1/channels/messaging/shadow/messages").await;
    assert!(page["messages"].as_array().unwrap().is_empty());
    let (_, st) = alice.get("/v1/channels/messaging/shadow").await;
    assert!(st["messages"].as_array().unwrap().is_empty());
    assert_eq!(st["membership"]["unread_count"], 0);
    // Nor by id or in search; Bob finds it both ways.
    assert_eq!(alice.get(&format!("/v1/messages/{id}")).await.1["code"], "not_found");
    assert_eq!(bob.get(&format!("/v1/messages/{id}")).await.0, 200);
    let (_, found) = alice.post("/v1/search", json!({ "query": "anyone hear" })).await;
    assert_eq!(found["results"].as_array().map(Vec::len), Some(0), "{found}");
    let (_, found) = bob.post("/v1/search", json!({ "query": "anyone hear" })).await;
    assert_eq!(found["results"].as_array().map(Vec::len), Some(1), "{found}");
    // The event log keeps the sequence gapless but marks the event as Bob's only.
    let events = assert_gapless(&node, &app.api_key, "messaging:shadow").await;
    assert_eq!(events.last().unwrap(), "message.new");
    let (only,): (Option<uuid::Uuid>,) = sqlx::query_as(
        "SELECT e.only_user_id FROM channel_events e JOIN messages m ON m.channel_id = e.channel_id AND m.channel_seq = e.seq
          WHERE m.id = $1",
    )
    .bind(uuid::Uuid::parse_str(&id).unwrap())
    .fetch_one(node.state.db())
    .await
    .unwrap();
    assert!(only.is_some());
    // Alice's messages still reach Bob; after unban Bob is heard again.
    alice.send("messaging:shadow", &new_id(), "hello?").await;
    assert_eq!(b.next_of("message.new").await["message"]["text"], "hello?");
    assert_eq!(a.next_of("message.new").await["message"]["text"], "hello?");
    assert_eq!(alice.act("messaging:shadow", "unban", json!({ "user_id": "bob" })).await.0, 200);
    bob.send("messaging:shadow", &new_id(), "now?").await;
    let ev = a.next_of("message.new").await;
    assert_eq!(ev["message"]["text"], "now?");
}

#[tokio::test]
async fn sync_replays_shadowed_messages_to_their_sender_only_and_deleted_channels_to_members() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let st = alice.create_channel("messaging:sync", &["bob"]).await;
    let start = st["channel"]["last_seq"].as_u64().unwrap();
    alice.act("messaging:sync", "ban", json!({ "user_id": "bob", "shadow": true })).await;
    let id = new_id();
    assert_eq!(bob.send("messaging:sync", &id, "psst").await.0, 200);
    alice.send("messaging:sync", &new_id(), "visible").await;
    let sync = |who: &common::UserClient| {
        let who = who.clone();
        async move { who.post("/v1/sync", json!({ "channels": { "messaging:sync": start } })).await }
    };
    let (status, a) = sync(&alice).await;
    assert_eq!(status, 200, "{a}");
    let texts = |v: &serde_json::Value| -> Vec<String> {
        v["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "message.new")
            .map(|e| e["message"]["text"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(texts(&a), ["visible"]);
    assert_eq!(a["channels"]["messaging:sync"]["resync"], false, "{a}");
    let (_, b) = sync(&bob).await;
    assert_eq!(texts(&b), ["psst", "visible"]);
    // A deleted channel still syncs its deletion.
    alice.delete("/v1/channels/messaging/sync").await;
    let (_, b) = sync(&bob).await;
    let last = b["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["type"], "channel.deleted", "{b}");
}
