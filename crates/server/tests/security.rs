//! The findings of the outside probe (issue 15), one test each: a distinct channel cannot be
//! taken over in advance; message deletes obey the same rules as every other message change;
//! NUL in text is a clear, final 400; the reserved channel type; a deactivated sender learns
//! nothing about channels; invalid UTF-8 on the socket gets an error and close 1007; a revoked
//! token's open socket is closed with 4003.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

fn code(v: &(u16, Value)) -> (u16, &str) {
    (v.0, v.1["code"].as_str().unwrap_or(""))
}

/// The distinct id of a member set, computed as anyone can compute it.
fn distinct_id(members: &[&str]) -> String {
    let mut set: Vec<String> = members.iter().map(|s| s.to_string()).collect();
    set.sort();
    chat_server::domain::channels::distinct_key(&set)
}

#[tokio::test]
async fn a_pairs_direct_channel_cannot_be_squatted() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let mallory = app.user("mallory").await;
    let dm = distinct_id(&["alice", "bob"]);

    // Creating the pair's id by name, with the pair as members or with none, is refused.
    for members in [json!(["alice", "bob"]), json!([])] {
        let r = mallory.post(&format!("/v1/channels/messaging/{dm}"), json!({ "members": members })).await;
        assert!(r.0 == 404 || r.0 == 403 || r.0 == 400, "squatting answered {r:?}");
        assert_eq!(r.1["retryable"], false, "{r:?}");
    }
    // Any other '!' id too.
    let r = mallory.post("/v1/channels/messaging/!mine", json!({})).await;
    assert_eq!(code(&r), (404, "not_found"), "{r:?}");

    // The pair gets their own distinct channel: created by one of them, exactly the two of them.
    let (status, st) = alice.post("/v1/channels/messaging", json!({ "members": ["bob"] })).await;
    assert_eq!(status, 200, "{st}");
    assert_eq!(st["channel"]["id"], dm.as_str());
    assert_eq!(st["channel"]["is_distinct"], true);
    assert_eq!(st["channel"]["created_by"], "alice");
    assert_eq!(st["channel"]["member_count"], 2);
    let members: Vec<&str> = st["members"].as_array().unwrap().iter().map(|m| m["user_id"].as_str().unwrap()).collect();
    assert_eq!(members.len(), 2, "{members:?}");
    assert!(members.contains(&"alice") && members.contains(&"bob"));

    // The third user cannot read it by name, nor join it.
    let r = mallory.get(&format!("/v1/channels/messaging/{dm}")).await;
    assert_eq!(code(&r), (403, "forbidden"), "{r:?}");
    let r = alice.post(&format!("/v1/channels/messaging/{dm}/members"), json!({ "user_ids": ["mallory"] })).await;
    assert_eq!(code(&r), (403, "forbidden"), "adding to a distinct channel: {r:?}");
    let r = alice.post(&format!("/v1/channels/messaging/{dm}/invite"), json!({ "user_ids": ["mallory"] })).await;
    assert_eq!(code(&r), (403, "forbidden"), "inviting to a distinct channel: {r:?}");

    // The members can still load it by name (watch), and bob's lookup names the same channel.
    let r = bob.post(&format!("/v1/channels/messaging/{dm}"), json!({})).await;
    assert_eq!(r.0, 200, "{r:?}");
    let (_, again) = bob.post("/v1/channels/messaging", json!({ "members": ["alice"] })).await;
    assert_eq!(again["channel"]["id"], dm.as_str());

    // A member who left is a member again after the next lookup: the set is exactly the pair.
    assert_eq!(bob.post(&format!("/v1/channels/messaging/{dm}/leave"), json!({})).await.0, 200);
    let (status, back) = alice.post("/v1/channels/messaging", json!({ "members": ["bob"] })).await;
    assert_eq!(status, 200, "{back}");
    assert_eq!(back["channel"]["member_count"], 2, "{back}");
    assert_eq!(bob.get(&format!("/v1/channels/messaging/{dm}")).await.0, 200);
}

#[tokio::test]
async fn a_channel_squatted_before_the_fix_is_never_returned_as_the_distinct_channel() {
    // Data written before the namespace was reserved: an ordinary channel under a distinct id.
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let _bob = app.user("bob").await;
    let mallory = app.user("mallory").await;
    mallory.create_channel("messaging:plain", &["alice", "bob"]).await;
    let dm = distinct_id(&["alice", "bob"]);
    sqlx::query("UPDATE channels SET channel_key = $1 WHERE channel_key = 'plain' AND app_id = (SELECT id FROM applications WHERE api_key = $2)")
        .bind(&dm)
        .bind(&app.api_key)
        .execute(node.state.db())
        .await
        .unwrap();
    let r = alice.post("/v1/channels/messaging", json!({ "members": ["bob"] })).await;
    assert_eq!(code(&r), (409, "id_conflict"), "{r:?}");
    assert_eq!(r.1["retryable"], false);
}

#[tokio::test]
async fn deletes_follow_the_rules_of_every_message_change() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let owner = app.user("owner").await;
    let moder = app.user("moder").await;
    let member = app.user("member").await;
    let cid = "messaging:rules";
    owner.create_channel(cid, &["moder", "member"]).await;
    let path = "/v1/channels/messaging/rules";
    assert_eq!(owner.post(&format!("{path}/members/role"), json!({ "user_id": "moder", "role": "moderator" })).await.0, 200);
    let send = |who: UserClient, text: &'static str| async move {
        let id = new_id();
        assert_eq!(who.send(cid, &id, text).await.0, 200);
        id
    };

    // A banned author deletes neither softly nor hard.
    let mine = send(member.clone(), "mine").await;
    assert_eq!(owner.post(&format!("{path}/ban"), json!({ "user_id": "member" })).await.0, 200);
    for hard in ["", "?hard=true"] {
        let r = member.delete(&format!("/v1/messages/{mine}{hard}")).await;
        assert_eq!(code(&r), (403, "banned_from_channel"), "{r:?}");
    }
    assert_eq!(owner.post(&format!("{path}/unban"), json!({ "user_id": "member" })).await.0, 200);

    // A banned moderator deletes no other member's message.
    let other = send(member.clone(), "other").await;
    assert_eq!(owner.post(&format!("{path}/ban"), json!({ "user_id": "moder" })).await.0, 200);
    let r = moder.delete(&format!("/v1/messages/{other}")).await;
    assert_eq!(code(&r), (403, "banned_from_channel"), "{r:?}");
    assert_eq!(owner.post(&format!("{path}/unban"), json!({ "user_id": "moder" })).await.0, 200);

    // In a frozen channel nobody deletes: not the author, not the owner.
    assert_eq!(owner.post(&format!("{path}/freeze"), json!({})).await.0, 200);
    for (who, hard) in [(&member, ""), (&owner, ""), (&owner, "?hard=true")] {
        let r = who.delete(&format!("/v1/messages/{mine}{hard}")).await;
        assert_eq!(code(&r), (403, "channel_frozen"), "{r:?}");
    }
    assert_eq!(owner.post(&format!("{path}/unfreeze"), json!({})).await.0, 200);

    // Nothing was deleted by the refused calls; allowed ones still work.
    let (_, m) = owner.get(&format!("/v1/messages/{mine}")).await;
    assert_eq!(m["message"]["text"], "mine", "{m}");
    assert_eq!(member.delete(&format!("/v1/messages/{mine}")).await.0, 200);
    assert_eq!(moder.delete(&format!("/v1/messages/{other}")).await.0, 200);
}

#[tokio::test]
async fn nul_in_text_is_a_final_invalid_input_everywhere() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    alice.create_channel("messaging:nul", &[]).await;
    let id = new_id();
    let cases: Vec<(&str, String, Value)> = vec![
        ("POST", "/v1/channels/messaging/nul/messages".into(), json!({ "id": id, "text": "a\u{0}b" })),
        ("POST", "/v1/channels/messaging/nul/messages".into(), json!({ "id": new_id(), "text": "x", "metadata": { "k\u{0}": 1 } })),
        ("POST", "/v1/channels/messaging/nul/messages".into(), json!({ "id": new_id(), "text": "x", "metadata": { "k": "v\u{0}" } })),
        ("POST", "/v1/channels/messaging/nul/messages".into(), json!({ "id": new_id(), "text": "x", "attachments": [{ "type": "file", "title": "\u{0}" }] })),
        ("PATCH", "/v1/me".into(), json!({ "display_name": "\u{0}" })),
        ("PATCH", "/v1/me".into(), json!({ "bio": "b\u{0}" })),
        ("POST", "/v1/channels/messaging/nul-two".into(), json!({ "name": "n\u{0}" })),
        ("POST", "/v1/channels/messaging/nul/draft".into(), json!({ "text": "d\u{0}" })),
        ("POST", "/v1/search".into(), json!({ "query": "q\u{0}" })),
        ("POST", "/v1/channels/query".into(), json!({ "filter": { "metadata": { "k": "\u{0}" } } })),
        ("POST", "/v1/users/query".into(), json!({ "filter": { "prefix": "\u{0}" } })),
    ];
    for (method, path, body) in cases {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let r = alice.request(m, &path, Some(body.clone())).await;
        assert_eq!(code(&r), (400, "invalid_input"), "{method} {path} {body}: {r:?}");
        assert_eq!(r.1["retryable"], false);
        assert!(r.1["message"].as_str().unwrap().contains("U+0000"), "{r:?}");
    }
    // Nothing was stored, and the same id is free for a clean send.
    assert_eq!(alice.send("messaging:nul", &id, "clean").await.0, 200);
    // Server-side routes too (team names).
    let r = app.server_post("/v1/teams", json!({ "name": "t\u{0}" })).await;
    assert_eq!(code(&r), (400, "invalid_input"), "{r:?}");
}

#[tokio::test]
async fn the_reserved_channel_type_cannot_be_created() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let r = alice.post("/v1/channels/query/x", json!({})).await;
    assert_eq!(code(&r), (400, "invalid_input"), "{r:?}");
    // The route of the same name still answers as the channel query.
    assert_eq!(alice.post("/v1/channels/query", json!({})).await.0, 200);
}

#[tokio::test]
async fn a_deactivated_sender_learns_nothing_about_channels() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let ghost = app.user("ghost").await;
    alice.create_channel("messaging:exists", &["ghost"]).await;
    alice.create_channel("messaging:private", &[]).await;
    assert_eq!(app.server_post("/v1/users/ghost/deactivate", json!({})).await.0, 200);
    for cid in ["messaging:exists", "messaging:private", "messaging:missing"] {
        let r = ghost.send(cid, &new_id(), "hi").await;
        assert_eq!(code(&r), (403, "user_deactivated"), "{cid}: {r:?}");
    }
    let r = ghost.get("/v1/channels/messaging/missing").await;
    assert_eq!(code(&r), (403, "user_deactivated"), "{r:?}");
}

#[tokio::test]
async fn invalid_utf8_on_the_socket_gets_an_error_and_close_1007() {
    use futures::SinkExt;
    use tokio_tungstenite::tungstenite::Message as WsMessage;
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let mut s = alice.connect(&node).await;
    // A text frame whose payload is not UTF-8 (the client library checks nothing on send).
    let bad = tokio_tungstenite::tungstenite::protocol::frame::Frame::message(
        vec![0xff, 0xfe, b'{'],
        tokio_tungstenite::tungstenite::protocol::frame::coding::OpCode::Data(
            tokio_tungstenite::tungstenite::protocol::frame::coding::Data::Text,
        ),
        true,
    );
    s.ws.send(WsMessage::Frame(bad)).await.unwrap();
    let (error, close) = s.expect_close().await;
    assert_eq!(error.expect("an error frame")["error"]["code"], "invalid_frame");
    assert_eq!(close, Some(1007));
}

#[tokio::test]
async fn revoking_a_token_closes_its_open_sockets_and_only_those() {
    let node = Node::start().await;
    let node2 = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    alice.create_channel("messaging:rev", &["bob"]).await;
    let other_token = app.token("bob", None).await;
    let bob_other = bob.with_token(&other_token);
    // Sockets on both nodes with the token to revoke, and one with another token of bob's.
    let mut s1 = bob.connect(&node).await;
    let mut s2 = bob.connect(&node2).await;
    let mut kept = bob_other.connect(&node).await;
    let (status, _) = app.server_post("/v1/tokens/revoke", json!({ "token": bob.token })).await;
    assert_eq!(status, 200);
    for s in [&mut s1, &mut s2] {
        let (error, close) = s.expect_close().await;
        assert_eq!(error.expect("an error frame")["error"]["code"], "token_revoked");
        assert_eq!(close, Some(4003));
    }
    // The other token's socket still receives the channel's messages.
    assert_eq!(alice.send("messaging:rev", &new_id(), "still here").await.0, 200);
    assert_eq!(kept.next_of("message.new").await["message"]["text"], "still here");
    // Reconnecting with the revoked token is refused.
    let url = format!("{}?api_key={}&token={}", node.ws_url(), app.api_key, bob.token);
    let mut again = Socket::open(&url).await;
    let (_, close) = again.expect_close().await;
    assert_eq!(close, Some(4003));
    kept.assert_quiet(Duration::from_millis(100)).await;
}
