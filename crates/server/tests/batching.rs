//! Group commit of sends: many concurrent sends across several channels land in shared
//! transactions, and the result is exactly what one transaction per send gives — gapless
//! sequences per channel, exact unread and reply counts, resends answered, shadowed messages kept
//! from others.

mod common;

use common::{logged_seqs, new_id, Node, TestApp};
use serde_json::json;

#[tokio::test]
async fn concurrent_sends_across_channels_keep_every_invariant() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let listener = app.user("listener").await;
    let mut senders = Vec::new();
    for i in 0..6 {
        senders.push(app.user(&format!("w{i}")).await);
    }
    let names: Vec<String> = (0..6).map(|i| format!("w{i}")).collect();
    let mut members: Vec<&str> = names.iter().map(String::as_str).collect();
    members.push("listener");
    let channels = ["messaging:b0", "messaging:b1", "messaging:b2", "messaging:b3"];
    let mut parents = Vec::new();
    for c in channels {
        senders[0].create_channel(c, &members).await;
        parents.push(senders[0].send_with(c, json!({ "id": new_id(), "text": "thread root" })).await["id"].clone());
    }
    let mut socket = listener.connect(&node).await;
    let per = 8;
    let mut tasks = Vec::new();
    for (si, s) in senders.iter().enumerate() {
        for (ci, c) in channels.iter().enumerate() {
            let (s, c, parent) = (s.clone(), c.to_string(), parents[ci].clone());
            tasks.push(tokio::spawn(async move {
                for i in 0..per {
                    let id = new_id();
                    let mut body = json!({ "id": id, "text": format!("{si}/{i}") });
                    if i == 0 {
                        body["parent_id"] = parent.clone();
                    }
                    let first = s.send_with(&c, body.clone()).await;
                    if i == 1 {
                        // A resend, racing the rest of the batch traffic, returns the same message.
                        let again = s.send_with(&c, body).await;
                        assert_eq!(again["channel_seq"], first["channel_seq"]);
                    }
                }
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    let (_, unread) = listener.get("/v1/unread").await;
    for c in channels {
        let seqs = logged_seqs(&node, &app.api_key, c).await;
        assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "{c} gapless");
        let (_, st) = listener.get(&format!("/v1/channels/{}", c.replace(':', "/"))).await;
        // The listener never read: every main-list message counts, thread replies do not.
        let main_list = 1 + 6 * (per - 1);
        assert_eq!(st["membership"]["unread_count"], main_list, "{c}");
        let entry = unread["channels"].as_array().unwrap().iter().find(|x| x["cid"] == c).unwrap().clone();
        assert_eq!(entry["unread_count"], main_list);
    }
    for (ci, c) in channels.iter().enumerate() {
        let (_, p) = listener.get(&format!("/v1/messages/{}", parents[ci].as_str().unwrap())).await;
        assert_eq!(p["message"]["reply_count"], 6, "{c}");
    }
    // Live: per channel, strictly increasing and complete.
    let total = channels.len() * 6 * per;
    let mut last = std::collections::HashMap::new();
    for _ in 0..total {
        let ev = socket.next_of("message.new").await;
        let seq = ev["channel_seq"].as_u64().unwrap();
        let prev = last.insert(ev["cid"].as_str().unwrap().to_string(), seq);
        if let Some(prev) = prev {
            assert_eq!(seq, prev + 1, "in order per channel");
        }
    }
}

#[tokio::test]
async fn a_shadow_banned_sender_in_a_busy_batch_is_seen_only_by_itself() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let owner = app.user("owner").await;
    let troll = app.user("troll").await;
    let fan = app.user("fan").await;
    owner.create_channel("messaging:mixed", &["troll", "fan"]).await;
    let (status, v) = owner.post("/v1/channels/messaging/mixed/ban", json!({ "user_id": "troll", "shadow": true })).await;
    assert_eq!(status, 200, "{v}");
    let mut tasks = Vec::new();
    for who in [owner.clone(), troll.clone(), owner.clone(), troll.clone()] {
        tasks.push(tokio::spawn(async move {
            for i in 0..5 {
                who.send_with("messaging:mixed", json!({ "id": new_id(), "text": format!("{} {i}", who.user_id) })).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let texts = |v: &serde_json::Value| -> Vec<String> {
        v["messages"].as_array().unwrap().iter().map(|m| m["user_id"].as_str().unwrap().to_string()).collect()
    };
    let (_, fan_view) = fan.get("/v1/channels/messaging/mixed/messages?limit=100").await;
    assert!(texts(&fan_view).iter().all(|u| u == "owner"));
    assert_eq!(texts(&fan_view).len(), 10);
    let (_, troll_view) = troll.get("/v1/channels/messaging/mixed/messages?limit=100").await;
    assert_eq!(texts(&troll_view).len(), 20);
    let (_, st) = fan.get("/v1/channels/messaging/mixed").await;
    assert_eq!(st["membership"]["unread_count"], 10, "shadowed messages are not unread for others");
}

#[tokio::test]
async fn refusals_in_a_busy_batch_answer_with_their_codes_and_take_no_sequence_number() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let dave = app.user("dave").await;
    alice.create_channel("messaging:busy", &["bob", "carol"]).await;
    alice.create_channel("messaging:elsewhere", &["bob"]).await;
    let (status, v) = alice.act("messaging:busy", "ban", json!({ "user_id": "carol" })).await;
    assert_eq!(status, 200, "{v}");
    let foreign = alice.send_with("messaging:elsewhere", json!({ "id": new_id(), "text": "other channel" })).await;
    let taken = alice.send_with("messaging:busy", json!({ "id": new_id(), "text": "alice's id" })).await["id"].clone();
    // One id sent five times at once: stored once, every copy answered with it.
    let twice = new_id();
    let mut tasks = Vec::new();
    let mut expect = Vec::new();
    let mut push = |who: &common::UserClient, cid: &str, body: serde_json::Value, code: Option<&'static str>| {
        let (who, cid) = (who.clone(), cid.to_string());
        expect.push(code);
        tasks.push(tokio::spawn(async move {
            let (t, c) = cid.split_once(':').unwrap();
            who.post(&format!("/v1/channels/{t}/{c}/messages"), body).await
        }));
    };
    for round in 0..4 {
        for i in 0..4 {
            push(&alice, "messaging:busy", json!({ "id": new_id(), "text": format!("a{round}/{i}") }), None);
            push(&bob, "messaging:busy", json!({ "id": new_id(), "text": format!("b{round}/{i}") }), None);
        }
        push(&carol, "messaging:busy", json!({ "id": new_id(), "text": "banned" }), Some("banned_from_channel"));
        push(&dave, "messaging:busy", json!({ "id": new_id(), "text": "outsider" }), Some("forbidden"));
        push(&bob, "messaging:nowhere", json!({ "id": new_id(), "text": "no channel" }), Some("not_found"));
        push(&bob, "messaging:busy", json!({ "id": new_id(), "text": "x", "parent_id": foreign["id"] }), Some("invalid_input"));
        push(&bob, "messaging:busy", json!({ "id": taken, "text": "not mine" }), Some("id_conflict"));
    }
    for _ in 0..5 {
        push(&bob, "messaging:busy", json!({ "id": twice, "text": "once" }), None);
    }
    let mut seq_of_twice = std::collections::HashSet::new();
    for (task, code) in tasks.into_iter().zip(expect) {
        let (status, v) = task.await.unwrap();
        match code {
            None => {
                assert_eq!(status, 200, "{v}");
                if v["message"]["id"] == twice.as_str() {
                    seq_of_twice.insert(v["message"]["channel_seq"].as_u64().unwrap());
                }
            }
            Some(code) => assert_eq!(v["code"], code, "{v}"),
        }
    }
    assert_eq!(seq_of_twice.len(), 1, "every copy answered with the one stored message");
    // 1 + 32 good sends + the one stored duplicate; refusals took no number.
    let seqs = logged_seqs(&node, &app.api_key, "messaging:busy").await;
    let messages = common::stored_messages(&node, &app.api_key, "messaging:busy").await;
    assert_eq!(messages, 1 + 32 + 1);
    common::assert_gapless(&node, &app.api_key, "messaging:busy").await;
    assert!(seqs.len() as i64 >= messages);
}
