//! Sync and concurrency: 16 concurrent senders get gapless, strictly increasing sequence numbers
//! and every member receives every event exactly once, in order; a client that disconnects from
//! one node and reconnects to another gets exactly what it missed through sync; explicit resync
//! when it cannot.

mod common;

use std::collections::BTreeMap;

use common::{logged_seqs, new_id, Node, TestApp};
use serde_json::json;

#[tokio::test]
async fn sixteen_concurrent_senders_gapless_and_delivered_once_in_order() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let owner = app.user("owner").await;
    let mut senders = Vec::new();
    for i in 0..16 {
        senders.push(app.user(&format!("s{i}")).await);
    }
    let names: Vec<String> = (0..16).map(|i| format!("s{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let state = owner.create_channel("messaging:busy", &refs).await;
    let start = state["channel"]["last_seq"].as_u64().unwrap();
    let mut listeners = vec![owner.connect(&node).await, senders[0].connect(&node).await, senders[15].connect(&node).await];
    let per_sender = 10;
    let mut tasks = Vec::new();
    for s in senders.clone() {
        tasks.push(tokio::spawn(async move {
            for i in 0..per_sender {
                let (status, v) = s.send("messaging:busy", &new_id(), &format!("{} {i}", s.user_id)).await;
                assert_eq!(status, 200, "{v}");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let total = 16 * per_sender;
    let seqs = logged_seqs(&node, &app.api_key, "messaging:busy").await;
    assert_eq!(seqs, (1..=start as i64 + total as i64).collect::<Vec<_>>(), "gapless, strictly increasing");
    for l in &mut listeners {
        let mut got = Vec::new();
        while got.len() < total {
            let ev = l.next_of("message.new").await;
            got.push(ev["channel_seq"].as_u64().unwrap());
        }
        let expected: Vec<u64> = (start + 1..=start + total as u64).collect();
        assert_eq!(got, expected, "every event once, in sequence order");
        l.assert_quiet(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn reconnecting_to_another_node_syncs_exactly_what_was_missed() {
    let a_node = Node::start().await;
    let b_node = Node::start().await;
    let app = TestApp::create(&a_node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    alice.create_channel("messaging:gap", &["bob"]).await;
    let mut bob_a = bob.connect(&a_node).await;
    let first = alice.send_with("messaging:gap", json!({ "id": new_id(), "text": "seen live" })).await;
    let seen = bob_a.next_of("message.new").await["channel_seq"].as_u64().unwrap();
    assert_eq!(seen, first["channel_seq"].as_u64().unwrap());
    drop(bob_a);
    // While Bob is away: messages, an edit, a reaction.
    let mut missed = Vec::new();
    for i in 0..5 {
        missed.push(alice.send_with("messaging:gap", json!({ "id": new_id(), "text": format!("missed {i}") })).await);
    }
    let edited = missed[0]["id"].as_str().unwrap();
    alice.patch(&format!("/v1/messages/{edited}"), json!({ "text": "missed 0 (edited)" })).await;
    alice.post(&format!("/v1/messages/{edited}/reactions"), json!({ "type": "like" })).await;
    // Bob comes back through node B and syncs from his cursor, in pages of 3.
    let bob_b = bob.via(&b_node);
    let _socket = bob_b.connect(&b_node).await;
    let mut cursor = seen;
    let mut events = Vec::new();
    loop {
        let (status, page) = bob_b.post("/v1/sync", json!({ "channels": { "messaging:gap": cursor }, "limit": 3 })).await;
        assert_eq!(status, 200, "{page}");
        let c = &page["channels"]["messaging:gap"];
        assert_eq!(c["resync"], false);
        for e in page["events"].as_array().unwrap() {
            let seq = e["channel_seq"].as_u64().unwrap();
            assert_eq!(seq, cursor + 1, "in order, no gap, no repeat");
            cursor = seq;
            events.push(e.clone());
        }
        if c["has_more"] == false {
            assert_eq!(c["last_seq"], cursor);
            break;
        }
    }
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["message.new", "message.new", "message.new", "message.new", "message.new", "message.updated", "reaction.new"]);
    // The replayed new message already carries the edited text (no stale copies in the log).
    assert_eq!(events[0]["message"]["text"], "missed 0 (edited)");
    // Up to date: nothing more.
    let (_, page) = bob_b.post("/v1/sync", json!({ "channels": { "messaging:gap": cursor } })).await;
    assert_eq!(page["events"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_page_of_only_shadowed_events_still_advances_by_its_page_cursor() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let owner = app.user("owner").await;
    let troll = app.user("troll").await;
    let fan = app.user("fan").await;
    owner.create_channel("messaging:shade", &["troll", "fan"]).await;
    let (status, v) = owner.act("messaging:shade", "ban", json!({ "user_id": "troll", "shadow": true })).await;
    assert_eq!(status, 200, "{v}");
    let (_, st) = fan.get("/v1/channels/messaging/shade").await;
    let start = st["channel"]["last_seq"].as_u64().unwrap();
    // Five shadowed messages (for the fan they do not exist), then one everybody sees.
    for i in 0..5 {
        troll.send_with("messaging:shade", json!({ "id": new_id(), "text": format!("psst {i}") })).await;
    }
    let visible = owner.send_with("messaging:shade", json!({ "id": new_id(), "text": "hello" })).await;
    // Pages of 2: the first two pages hold nothing for the fan, yet each moves the cursor on.
    let mut cursor = start;
    let mut pages = Vec::new();
    loop {
        let (status, page) = fan.post("/v1/sync", json!({ "channels": { "messaging:shade": cursor }, "limit": 2 })).await;
        assert_eq!(status, 200, "{page}");
        let c = &page["channels"]["messaging:shade"];
        assert_eq!(c["resync"], false);
        let next = c["page_seq"].as_u64().expect("a page cursor");
        assert!(next > cursor, "each page advances: {page}");
        let seqs: Vec<u64> = page["events"].as_array().unwrap().iter().map(|e| e["channel_seq"].as_u64().unwrap()).collect();
        pages.push(seqs);
        cursor = next;
        if c["has_more"] == false {
            assert_eq!(c["last_seq"], cursor);
            break;
        }
    }
    let last = visible["channel_seq"].as_u64().unwrap();
    assert_eq!(pages, [vec![], vec![], vec![last]], "only the visible message, after two empty pages");
    // The troll's own sync shows its messages; an up-to-date cursor answers with itself.
    let (_, page) = troll.post("/v1/sync", json!({ "channels": { "messaging:shade": start }, "limit": 10 })).await;
    assert_eq!(page["events"].as_array().unwrap().len(), 6);
    let (_, page) = fan.post("/v1/sync", json!({ "channels": { "messaging:shade": last } })).await;
    assert_eq!(page["channels"]["messaging:shade"]["page_seq"], last);
    // A resync carries no page cursor.
    let (_, page) = fan.post("/v1/sync", json!({ "channels": { "messaging:shade": last + 10 } })).await;
    assert!(page["channels"]["messaging:shade"].get("page_seq").is_none());
}

#[tokio::test]
async fn sync_says_resync_when_it_cannot_replay() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let carol = app.user("carol").await;
    alice.create_channel("messaging:pruned", &[]).await;
    for i in 0..4 {
        alice.send_with("messaging:pruned", json!({ "id": new_id(), "text": format!("m{i}") })).await;
    }
    // History that is gone (pruned log) must not look like "nothing happened".
    sqlx::query("DELETE FROM channel_events WHERE seq <= 3 AND channel_id IN (SELECT id FROM channels WHERE channel_key = 'pruned')")
        .execute(node.state.db())
        .await
        .unwrap();
    let channels: BTreeMap<&str, u64> = [("messaging:pruned", 1), ("messaging:nowhere", 0)].into();
    let (_, page) = alice.post("/v1/sync", json!({ "channels": channels, "user_seq": 0 })).await;
    assert_eq!(page["channels"]["messaging:pruned"]["resync"], true);
    assert_eq!(page["channels"]["messaging:nowhere"]["resync"], true);
    assert_eq!(page["events"].as_array().unwrap().len(), 0);
    // The user stream replays added_to_channel.
    assert_eq!(page["user_events"][0]["type"], "notification.added_to_channel");
    // A cursor ahead of the server is a resync too; a non-member gets resync, not the events.
    let (_, page) = alice.post("/v1/sync", json!({ "channels": { "messaging:pruned": 999 } })).await;
    assert_eq!(page["channels"]["messaging:pruned"]["resync"], true);
    let (_, page) = carol.post("/v1/sync", json!({ "channels": { "messaging:pruned": 0 } })).await;
    assert_eq!(page["channels"]["messaging:pruned"]["resync"], true);
    assert_eq!(page["events"].as_array().unwrap().len(), 0);
    // Bad requests.
    let (status, v) = alice.post("/v1/sync", json!({ "channels": { "nocolon": 1 } })).await;
    assert_eq!((status, v["code"].as_str()), (400, Some("invalid_input")));
    let (_, v) = alice.post("/v1/sync", json!({ "limit": 0 })).await;
    assert_eq!(v["code"], "invalid_input");
}

#[tokio::test]
async fn search_finds_words_in_the_callers_channels_only() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    alice.create_channel("messaging:s1", &["bob"]).await;
    alice.create_channel("messaging:s2", &[]).await;
    for i in 0..5 {
        alice.send_with("messaging:s1", json!({ "id": new_id(), "text": format!("the deployment {i} went fine") })).await;
    }
    alice.send_with("messaging:s2", json!({ "id": new_id(), "text": "secret deployment plans" })).await;
    alice.send_with("messaging:s1", json!({ "id": new_id(), "text": "unrelated chatter" })).await;
    // Bob sees only s1's five, in pages of 2, newest first, with stemming (deployments ~ deployment).
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut body = json!({ "query": "deployments", "limit": 2 });
        if let Some(n) = &next {
            body["next"] = json!(n);
        }
        let (status, page) = bob.post("/v1/search", body).await;
        assert_eq!(status, 200, "{page}");
        for m in page["results"].as_array().unwrap() {
            assert_eq!(m["cid"], "messaging:s1");
            seen.push(m["text"].as_str().unwrap().to_string());
        }
        match page["next"].as_str() {
            Some(n) => next = Some(n.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    assert_eq!(seen[0], "the deployment 4 went fine");
    // Alice, filtered to s2.
    let (_, page) = alice.post("/v1/search", json!({ "query": "deployment", "cids": ["messaging:s2"] })).await;
    assert_eq!(page["results"].as_array().unwrap().len(), 1);
    // SQL-ish queries are just words; Bob cannot filter to a channel he is not in.
    let (status, _) = bob.post("/v1/search", json!({ "query": "'; DROP TABLE messages; --" })).await;
    assert_eq!(status, 200);
    assert_eq!(bob.post("/v1/search", json!({ "query": "x", "cids": ["messaging:s2"] })).await.1["code"], "forbidden");
    assert_eq!(bob.post("/v1/search", json!({ "query": "" })).await.1["code"], "invalid_input");
    assert_eq!(bob.post("/v1/search", json!({ "query": "x", "next": "garbage" })).await.1["code"], "invalid_input");
}

#[tokio::test]
async fn connection_ok_tells_where_the_user_stream_stands() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let url = format!("{}?api_key={}&token={}", node.ws_url(), app.api_key, bob.token);
    let mut s = common::Socket::open(&url).await;
    assert_eq!(s.next_json().await.unwrap()["user_last_seq"], 0);
    alice.create_channel("messaging:u1", &["bob"]).await;
    alice.create_channel("messaging:u2", &["bob"]).await;
    let mut s = common::Socket::open(&url).await;
    let ok = s.next_json().await.unwrap();
    assert_eq!(ok["type"], "connection.ok");
    assert_eq!(ok["user_last_seq"], 2, "two notification.added_to_channel events");
    assert!(ok.get("user_seq").is_none(), "connection.ok is not a user event");
    let (_, page) = bob.post("/v1/sync", json!({ "user_seq": 0 })).await;
    assert_eq!(page["user"]["last_seq"], 2);
}
