//! Team isolation in multi-tenant applications (`settings.multi_tenant`): channels belong to the
//! creator's team, and a user can create, read, watch, query, search, sync, send to and add
//! members to channels of their own team only; every refusal is `forbidden`. Applications that
//! are not multi-tenant are unaffected.

mod common;

use common::{new_id, Node, TestApp, UserClient};
use serde_json::{json, Value};

fn code(r: &(u16, Value)) -> (u16, Option<&str>) {
    (r.0, r.1["code"].as_str())
}

const FORBIDDEN: (u16, Option<&str>) = (403, Some("forbidden"));

async fn query_cids(user: &UserClient, filter: Value) -> Vec<String> {
    let (status, v) = user.post("/v1/channels/query", json!({ "filter": filter, "limit": 30 })).await;
    assert_eq!(status, 200, "{v}");
    let mut cids: Vec<String> =
        v["channels"].as_array().unwrap().iter().map(|c| c["channel"]["cid"].as_str().unwrap().to_string()).collect();
    cids.sort();
    cids
}

async fn search_texts(user: &UserClient, query: &str) -> Vec<String> {
    let (status, v) = user.post("/v1/search", json!({ "query": query })).await;
    assert_eq!(status, 200, "{v}");
    let mut texts: Vec<String> =
        v["results"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap().to_string()).collect();
    texts.sort();
    texts
}

/// A multi-tenant application with users alice and rita in team red, bob in team blue, and
/// nobody in no team.
async fn two_teams(node: &Node) -> (TestApp, UserClient, UserClient, UserClient, UserClient) {
    let app = TestApp::create(node).await;
    let alice = app.user("alice").await;
    let rita = app.user("rita").await;
    let bob = app.user("bob").await;
    let nobody = app.user("nobody").await;
    app.set_team(node, "alice", "red").await;
    app.set_team(node, "rita", "red").await;
    app.set_team(node, "bob", "blue").await;
    app.set_settings(node, json!({ "multi_tenant": true })).await;
    (app, alice, rita, bob, nobody)
}

#[tokio::test]
async fn multi_tenant_channels_belong_to_the_creators_team() {
    let node = Node::start().await;
    let (_app, alice, _rita, _bob, nobody) = two_teams(&node).await;

    // Created with the caller's team; naming it explicitly is the same.
    let st = alice.create_channel("messaging:red-room", &["rita"]).await;
    assert_eq!(st["channel"]["team"], "red", "{st}");
    let (status, v) = alice.post("/v1/channels/messaging/red-two", json!({ "team": "red" })).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["channel"]["team"], "red");
    // Another team, existing or not, is refused, and nothing is created.
    assert_eq!(code(&alice.post("/v1/channels/messaging/blue-by-alice", json!({ "team": "blue" })).await), FORBIDDEN);
    assert_eq!(code(&alice.post("/v1/channels/messaging/ghost-team", json!({ "team": "ghost" })).await), FORBIDDEN);
    assert_eq!(code(&alice.get("/v1/channels/messaging/blue-by-alice").await).0, 404);
    // A member of another team is refused at creation, for distinct channels too.
    assert_eq!(code(&alice.post("/v1/channels/messaging/mixed", json!({ "members": ["bob"] })).await), FORBIDDEN);
    assert_eq!(code(&alice.get("/v1/channels/messaging/mixed").await).0, 404);
    assert_eq!(code(&alice.post("/v1/channels/messaging", json!({ "members": ["bob"] })).await), FORBIDDEN);
    assert_eq!(code(&alice.post("/v1/channels/messaging", json!({ "members": ["nobody"] })).await), FORBIDDEN);
    let (status, v) = alice.post("/v1/channels/messaging", json!({ "members": ["rita"] })).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["channel"]["team"], "red");
    // A user in no team makes channels in no team.
    let st = nobody.create_channel("messaging:no-team", &[]).await;
    assert!(st["channel"].get("team").is_none_or(Value::is_null), "{st}");
}

#[tokio::test]
async fn another_teams_channel_cannot_be_read_watched_sent_to_or_joined() {
    let node = Node::start().await;
    let (_app, alice, rita, bob, nobody) = two_teams(&node).await;
    alice.create_channel("messaging:red-room", &["rita"]).await;
    bob.create_channel("messaging:blue-room", &[]).await;

    for outsider in [&bob, &nobody] {
        assert_eq!(code(&outsider.get("/v1/channels/messaging/red-room").await), FORBIDDEN);
        assert_eq!(code(&outsider.post("/v1/channels/messaging/red-room", json!({})).await), FORBIDDEN);
        assert_eq!(code(&outsider.post("/v1/channels/messaging/red-room/watch", json!({})).await), FORBIDDEN);
        assert_eq!(code(&outsider.get("/v1/channels/messaging/red-room/messages").await), FORBIDDEN);
        assert_eq!(code(&outsider.send("messaging:red-room", &new_id(), "let me in").await), FORBIDDEN);
    }
    // Members of another team are never added or invited (the whole request is refused).
    assert_eq!(
        code(&alice.post("/v1/channels/messaging/red-room/members", json!({ "user_ids": ["bob"] })).await),
        FORBIDDEN
    );
    assert_eq!(
        code(&alice.post("/v1/channels/messaging/red-room/members", json!({ "user_ids": ["bob", "rita"] })).await),
        FORBIDDEN
    );
    assert_eq!(
        code(&alice.post("/v1/channels/messaging/red-room/invite", json!({ "user_ids": ["nobody"] })).await),
        FORBIDDEN
    );
    let (_, st) = alice.get("/v1/channels/messaging/red-room").await;
    let members: Vec<&str> = st["members"].as_array().unwrap().iter().map(|m| m["user_id"].as_str().unwrap()).collect();
    assert_eq!(members.len(), 2, "{members:?}");

    // The same team works: create, read, send, add.
    let (status, v) = rita.send("messaging:red-room", &new_id(), "pineapple from red").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(rita.get("/v1/channels/messaging/red-room/messages").await.0, 200);
    assert_eq!(rita.post("/v1/channels/messaging/red-room/watch", json!({})).await.0, 200);
    alice.create_channel("messaging:red-other", &[]).await;
    let (status, v) = alice.post("/v1/channels/messaging/red-other/members", json!({ "user_ids": ["rita"] })).await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = bob.send("messaging:blue-room", &new_id(), "pineapple from blue").await;
    assert_eq!(status, 200, "{v}");

    // Query and search see the caller's team only.
    assert_eq!(query_cids(&rita, json!({})).await, ["messaging:red-other", "messaging:red-room"]);
    assert_eq!(query_cids(&bob, json!({})).await, ["messaging:blue-room"]);
    assert_eq!(query_cids(&rita, json!({ "team": "red" })).await.len(), 2);
    assert!(query_cids(&bob, json!({ "team": "red" })).await.is_empty());
    assert_eq!(search_texts(&rita, "pineapple").await, ["pineapple from red"]);
    assert_eq!(search_texts(&bob, "pineapple").await, ["pineapple from blue"]);
    let (status, v) = bob.post("/v1/search", json!({ "query": "pineapple", "cids": ["messaging:red-room"] })).await;
    assert_eq!((status, v["code"].as_str()), FORBIDDEN);
}

#[tokio::test]
async fn a_member_moved_to_another_team_loses_the_channel() {
    let node = Node::start().await;
    let (app, alice, rita, _bob, _nobody) = two_teams(&node).await;
    alice.create_channel("messaging:red-room", &["rita"]).await;
    let (status, first) = rita.send("messaging:red-room", &new_id(), "before the move").await;
    assert_eq!(status, 200, "{first}");
    let message_id = first["message"]["id"].as_str().unwrap().to_string();
    let (status, v) = alice.send("messaging:red-room", &new_id(), "unread for rita").await;
    assert_eq!(status, 200, "{v}");
    let (_, unread) = rita.get("/v1/unread").await;
    assert_eq!(unread["unread_channels"], 1, "{unread}");
    let (status, v) = rita.post("/v1/channels/messaging/red-room/draft", json!({ "text": "half written" })).await;
    assert_eq!(status, 200, "{v}");
    let (_, drafts) = rita.get("/v1/drafts").await;
    assert_eq!(drafts["drafts"].as_array().map(Vec::len), Some(1), "{drafts}");

    // Rita moves to team blue: still a member row, but the channel is no longer hers to use.
    app.set_team(&node, "rita", "blue").await;
    assert_eq!(code(&rita.get("/v1/channels/messaging/red-room").await), FORBIDDEN);
    assert_eq!(code(&rita.send("messaging:red-room", &new_id(), "after the move").await), FORBIDDEN);
    assert_eq!(code(&rita.get(&format!("/v1/messages/{message_id}")).await), FORBIDDEN);
    assert_eq!(code(&rita.post("/v1/channels/messaging/red-room/read", json!({})).await), FORBIDDEN);
    assert!(query_cids(&rita, json!({})).await.is_empty());
    let (_, unread) = rita.get("/v1/unread").await;
    assert_eq!(unread["unread_channels"], 0, "{unread}");
    assert!(search_texts(&rita, "move").await.is_empty());
    let (status, drafts) = rita.get("/v1/drafts").await;
    assert_eq!(status, 200, "{drafts}");
    assert_eq!(drafts["drafts"].as_array().map(Vec::len), Some(0), "the old team's draft is not listed: {drafts}");
    // Sync hands out none of the channel's events.
    let (status, v) = rita.post("/v1/sync", json!({ "channels": { "messaging:red-room": 0 } })).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["events"].as_array().unwrap().is_empty(), "{v}");
    assert_eq!(v["channels"]["messaging:red-room"]["resync"], true, "{v}");
    // Alice, still in red, is unaffected, and her sync has the events.
    let (status, v) = alice.post("/v1/sync", json!({ "channels": { "messaging:red-room": 0 } })).await;
    assert_eq!(status, 200, "{v}");
    assert!(!v["events"].as_array().unwrap().is_empty(), "{v}");
    assert_eq!(search_texts(&alice, "move").await, ["before the move"]);
}

#[tokio::test]
async fn a_member_moved_to_another_team_gets_no_live_events_of_the_old_teams_channels() {
    let node = Node::start().await;
    let (app, alice, rita, bob, _nobody) = two_teams(&node).await;
    alice.create_channel("messaging:red-live", &["rita"]).await;
    bob.create_channel("messaging:blue-live", &[]).await;
    let mut rita_socket = rita.connect(&node).await;
    let mut alice_socket = alice.connect(&node).await;

    app.set_team(&node, "rita", "blue").await;
    let (status, v) = bob.act("messaging:blue-live", "members", json!({ "user_ids": ["rita"] })).await;
    assert_eq!(status, 200, "{v}");
    // Every kind of channel event in the red channel: a send (the batched path), a channel
    // update and a reaction (one event each), typing.
    let (status, sent) = alice.send("messaging:red-live", &new_id(), "red only").await;
    assert_eq!(status, 200, "{sent}");
    let (status, v) = alice.patch("/v1/channels/messaging/red-live", json!({ "set": { "name": "Red" } })).await;
    assert_eq!(status, 200, "{v}");
    let message_id = sent["message"]["id"].as_str().unwrap();
    let (status, v) = alice.post(&format!("/v1/messages/{message_id}/reactions"), json!({ "type": "like" })).await;
    assert_eq!(status, 200, "{v}");
    alice_socket.send_json(json!({ "type": "typing.start", "cid": "messaging:red-live" })).await;
    // Alice, still in red, gets them: they were published.
    assert_eq!(alice_socket.next_of("message.new").await["message"]["text"], "red only");
    alice_socket.next_of("reaction.new").await;
    // Then a message in rita's new team's channel: everything before it has been delivered.
    let (status, v) = bob.send("messaging:blue-live", &new_id(), "blue").await;
    assert_eq!(status, 200, "{v}");
    loop {
        let frame = rita_socket.next_json().await.expect("the blue message reaches rita");
        assert_ne!(frame["cid"], "messaging:red-live", "an old team's event reached rita: {frame}");
        if frame["type"] == "message.new" && frame["cid"] == "messaging:blue-live" {
            break;
        }
    }
    rita_socket.assert_quiet(std::time::Duration::from_millis(500)).await;
    // Presence follows the same line: rita's status reaches bob (blue), not alice (red).
    let mut bob_socket = bob.connect(&node).await;
    rita_socket.send_json(json!({ "type": "presence.set", "status": "away" })).await;
    let seen = bob_socket.next_of("user.presence.changed").await;
    assert_eq!((seen["user_id"].as_str(), seen["status"].as_str()), (Some("rita"), Some("away")), "{seen}");
    loop {
        match alice_socket.read(std::time::Duration::from_millis(500)).await {
            common::Read::Json(v) => assert_ne!(v["user_id"], "rita", "rita's presence reached alice: {v}"),
            _ => break,
        }
    }
}

#[tokio::test]
async fn without_multi_tenancy_teams_do_not_isolate() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.set_team(&node, "alice", "red").await;
    app.set_team(&node, "bob", "blue").await;

    // Across teams: create with, add, read, send, query, search, sync all work as before.
    let st = alice.create_channel("messaging:open", &["bob"]).await;
    assert!(st["channel"].get("team").is_none_or(Value::is_null), "{st}");
    let (status, v) = bob.send("messaging:open", &new_id(), "mango across teams").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(bob.get("/v1/channels/messaging/open").await.0, 200);
    alice.create_channel("messaging:later", &[]).await;
    let (status, v) = alice.post("/v1/channels/messaging/later/members", json!({ "user_ids": ["bob"] })).await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = alice.post("/v1/channels/messaging", json!({ "members": ["bob"] })).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(query_cids(&bob, json!({})).await.len(), 3);
    assert_eq!(search_texts(&alice, "mango").await, ["mango across teams"]);
    let (status, v) = bob.post("/v1/sync", json!({ "channels": { "messaging:open": 0 } })).await;
    assert_eq!(status, 200, "{v}");
    assert!(!v["events"].as_array().unwrap().is_empty(), "{v}");
    // A team may be given (any team of the application) and is only stored and shown.
    let (status, v) = alice.post("/v1/channels/messaging/blue-labelled", json!({ "team": "blue", "members": ["bob"] })).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["channel"]["team"], "blue");
    assert_eq!(alice.send("messaging:blue-labelled", &new_id(), "fine").await.0, 200);
    assert_eq!(query_cids(&alice, json!({ "team": "blue" })).await, ["messaging:blue-labelled"]);
    let (status, v) = alice.post("/v1/channels/messaging/bad-team", json!({ "team": "ghost" })).await;
    assert_eq!((status, v["code"].as_str()), (400, Some("invalid_input")), "{v}");

    // Turning multi-tenancy on: channels made before it have no team, so they belong to users in
    // no team only.
    app.set_settings(&node, json!({ "multi_tenant": true })).await;
    assert_eq!(code(&bob.get("/v1/channels/messaging/open").await), FORBIDDEN);
    assert_eq!(code(&bob.send("messaging:open", &new_id(), "now refused").await), FORBIDDEN);
    assert_eq!(bob.send("messaging:blue-labelled", &new_id(), "own team").await.0, 200);
    assert_eq!(code(&alice.send("messaging:blue-labelled", &new_id(), "other team").await), FORBIDDEN);
}
