//! The first slice of messaging end to end: channels with members, idempotent sends with
//! client ids, delivery of `message.new` to every member's socket on any node.

mod common;

use std::time::Duration;

use common::{new_id, Node, TestApp};
use serde_json::json;

#[tokio::test]
async fn a_message_reaches_every_member_once_and_nobody_else() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let state = alice.create_channel("messaging:team", &["bob"]).await;
    assert_eq!(state["channel"]["cid"], "messaging:team");
    assert_eq!(state["channel"]["member_count"], 2);
    assert_eq!(state["membership"]["role"], "owner");

    let mut a = alice.connect(&node).await;
    let mut b = bob.connect(&node).await;
    let mut c = carol.connect(&node).await;
    let id = new_id();
    let (status, sent) = alice.send("messaging:team", &id, "hello team").await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["message"]["id"], id.as_str());
    assert_eq!(sent["message"]["user_id"], "alice");
    let seq = sent["message"]["channel_seq"].as_u64().unwrap();
    assert_eq!(seq, state["channel"]["last_seq"].as_u64().unwrap() + 1);

    for s in [&mut a, &mut b] {
        let ev = s.next_of("message.new").await;
        assert_eq!(ev["cid"], "messaging:team");
        assert_eq!(ev["channel_seq"], seq);
        assert_eq!(ev["message"]["text"], "hello team");
        assert_eq!(ev["message"]["id"], id.as_str());
    }
    // Carol is no member: she gets nothing and may not read or write.
    c.assert_quiet(Duration::from_millis(300)).await;
    assert_eq!(carol.get("/v1/channels/messaging/team").await.1["code"], "forbidden");
    assert_eq!(carol.send("messaging:team", &new_id(), "hi").await.1["code"], "forbidden");
    // A resend returns the stored message and delivers nothing new.
    let (status, again) = alice.send("messaging:team", &id, "hello team").await;
    assert_eq!(status, 200);
    assert_eq!(again["message"], sent["message"]);
    b.assert_quiet(Duration::from_millis(300)).await;
    // Bob's unread count went up; the history holds exactly one copy.
    let (_, bstate) = bob.get("/v1/channels/messaging/team").await;
    assert_eq!(bstate["membership"]["unread_count"], 1);
    let msgs = bstate["messages"].as_array().unwrap();
    assert_eq!(msgs.iter().filter(|m| m["id"] == id.as_str()).count(), 1);
}

#[tokio::test]
async fn concurrent_retries_of_one_send_store_one_message() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    app.upsert_users(&["bob"]).await;
    alice.create_channel("messaging:retry", &["bob"]).await;
    let id = new_id();
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let a = alice.clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move { a.send("messaging:retry", &id, "once").await }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        let (status, v) = t.await.unwrap();
        assert_eq!(status, 200, "{v}");
        seqs.push(v["message"]["channel_seq"].as_u64().unwrap());
    }
    seqs.dedup();
    assert_eq!(seqs.len(), 1, "every retry returns the same stored message");
    let (_, page) = alice.get("/v1/channels/messaging/retry/messages?limit=50").await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 1);
    // The sequence has no hole where the losing retries rolled back.
    let (_, next) = alice.send("messaging:retry", &new_id(), "next").await;
    assert_eq!(next["message"]["channel_seq"].as_u64().unwrap(), seqs[0] + 1);
}

#[tokio::test]
async fn a_message_id_cannot_be_reused_by_another_sender() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    alice.create_channel("messaging:ids", &["bob"]).await;
    let id = new_id();
    assert_eq!(alice.send("messaging:ids", &id, "mine").await.0, 200);
    let (status, v) = bob.send("messaging:ids", &id, "stolen").await;
    assert_eq!((status, v["code"].as_str()), (409, Some("id_conflict")));
}

#[tokio::test]
async fn history_pages_by_sequence() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    alice.create_channel("messaging:pages", &[]).await;
    for i in 0..7 {
        assert_eq!(alice.send("messaging:pages", &new_id(), &format!("m{i}")).await.0, 200);
    }
    let texts = |v: &serde_json::Value| -> Vec<String> {
        v["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap().to_string()).collect()
    };
    let (_, latest) = alice.get("/v1/channels/messaging/pages/messages?limit=3").await;
    assert_eq!(texts(&latest), ["m4", "m5", "m6"]);
    let first_seq = latest["messages"][0]["channel_seq"].as_u64().unwrap();
    let (_, older) = alice.get(&format!("/v1/channels/messaging/pages/messages?limit=3&before_seq={first_seq}")).await;
    assert_eq!(texts(&older), ["m1", "m2", "m3"]);
    let (_, after) = alice.get(&format!("/v1/channels/messaging/pages/messages?limit=2&after_seq={first_seq}")).await;
    assert_eq!(texts(&after), ["m5", "m6"]);
    let (status, bad) = alice.get("/v1/channels/messaging/pages/messages?limit=0").await;
    assert_eq!((status, bad["code"].as_str()), (400, Some("invalid_input")));
    let (_, bad) = alice.get("/v1/channels/messaging/pages/messages?before_seq=1;DROP").await;
    assert_eq!(bad["code"], "invalid_input");
}

#[tokio::test]
async fn two_nodes_behave_as_one() {
    let a_node = Node::start().await;
    let b_node = Node::start().await;
    let app = TestApp::create(&a_node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await.via(&b_node);
    alice.create_channel("messaging:nodes", &["bob"]).await;
    let mut bob_socket = bob.connect(&b_node).await;
    let mut alice_socket = alice.connect(&a_node).await;
    let id = new_id();
    let (status, _) = alice.send("messaging:nodes", &id, "across").await;
    assert_eq!(status, 200);
    let ev = bob_socket.next_of("message.new").await;
    assert_eq!(ev["message"]["id"], id.as_str());
    assert_eq!(alice_socket.next_of("message.new").await["message"]["id"], id.as_str());
    // And back the other way, sending through node B.
    let id2 = new_id();
    assert_eq!(bob.send("messaging:nodes", &id2, "back").await.0, 200);
    assert_eq!(alice_socket.next_of("message.new").await["message"]["id"], id2.as_str());
    // The sender's own socket gets the event too (its other tabs must see it), exactly once.
    assert_eq!(bob_socket.next_of("message.new").await["message"]["id"], id2.as_str());
    bob_socket.assert_quiet(Duration::from_millis(300)).await;
    alice_socket.assert_quiet(Duration::from_millis(50)).await;
}

#[tokio::test]
async fn creating_a_channel_notifies_connected_members() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let mut b = bob.connect(&node).await;
    let state = alice.create_channel("messaging:new", &["bob"]).await;
    let mut saw_added = false;
    let mut member_seqs = Vec::new();
    for _ in 0..3 {
        let ev = b.next_json().await.unwrap();
        match ev["type"].as_str().unwrap() {
            "notification.added_to_channel" => {
                saw_added = true;
                assert_eq!(ev["channel"]["cid"], "messaging:new");
                assert_eq!(ev["channel"]["member_count"], 2);
            }
            "member.added" => member_seqs.push(ev["channel_seq"].as_u64().unwrap()),
            other => panic!("unexpected {other}"),
        }
    }
    assert!(saw_added);
    assert_eq!(member_seqs, [1, 2]);
    assert_eq!(state["channel"]["last_seq"], 2);
    // Get-or-create again is idempotent: same channel, no new events.
    let again = alice.create_channel("messaging:new", &["bob"]).await;
    assert_eq!(again["channel"]["last_seq"], 2);
    b.assert_quiet(Duration::from_millis(300)).await;
    // Members must exist.
    let (status, v) = alice.post("/v1/channels/messaging/other", json!({ "members": ["ghost"] })).await;
    assert_eq!((status, v["code"].as_str()), (400, Some("invalid_input")));
    assert_eq!(alice.get("/v1/channels/messaging/other").await.1["code"], "not_found");
}
