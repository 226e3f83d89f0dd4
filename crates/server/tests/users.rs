//! Users: query with filters and keyset pages (app- and team-scoped), profile updates with
//! `user.updated` to channel peers, guests, and deactivation across nodes.

mod common;

use std::time::Duration;

use chat_protocol::requests::{UpsertUsers, UserInput};
use common::{Node, TestApp};
use serde_json::{json, Value};

fn ids(v: &Value) -> Vec<String> {
    v["users"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_string()).collect()
}

async fn upsert(app: &TestApp, users: Vec<UserInput>) {
    let (status, v) = app.server_post("/v1/users", serde_json::to_value(UpsertUsers { users }).unwrap()).await;
    assert_eq!(status, 200, "{v}");
}

#[tokio::test]
async fn query_users_filters_and_pages_by_keyset() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let names = [("anna", "Anna"), ("andy", "Andy Warhol"), ("bert", "Bert"), ("carl", "Carl"), ("dora", "Dora")];
    upsert(&app, names.iter().map(|(id, n)| UserInput { id: id.to_string(), display_name: Some(n.to_string()), ..Default::default() }).collect()).await;
    upsert(&app, vec![UserInput { id: "gus".into(), user_type: Some("guest".into()), username: Some("gus_the_guest".into()), ..Default::default() }]).await;
    // Another application's users are never visible.
    let other = TestApp::create(&node).await;
    other.user("zed").await;

    // Keyset pages by id: every user exactly once, in order.
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut body = json!({ "limit": 3 });
        if let Some(n) = &next {
            body["next"] = json!(n);
        }
        let (status, page) = alice.post("/v1/users/query", body).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(ids(&page));
        match page["next"].as_str() {
            Some(n) => next = Some(n.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, ["alice", "andy", "anna", "bert", "carl", "dora", "gus"]);

    // Newest first, paged.
    let (_, p1) = alice.post("/v1/users/query", json!({ "sort": "-created_at", "limit": 4 })).await;
    let (_, p2) = alice.post("/v1/users/query", json!({ "sort": "-created_at", "limit": 4, "next": p1["next"] })).await;
    let mut all = ids(&p1);
    all.extend(ids(&p2));
    assert_eq!(all.len(), 7);
    assert_eq!(all[0], "gus");
    assert!(p2.get("next").is_none());

    // Filters.
    let q = |f: Value| alice.post("/v1/users/query", json!({ "filter": f }));
    assert_eq!(ids(&q(json!({ "prefix": "an" })).await.1), ["andy", "anna"]);
    assert_eq!(ids(&q(json!({ "prefix": "GUS_" })).await.1), ["gus"]);
    assert_eq!(ids(&q(json!({ "user_type": "guest" })).await.1), ["gus"]);
    assert_eq!(ids(&q(json!({ "id_in": ["bert", "dora", "zed"] })).await.1), ["bert", "dora"]);
    // LIKE wildcards in a prefix are literal.
    assert!(ids(&q(json!({ "prefix": "%" })).await.1).is_empty());
    assert!(ids(&q(json!({ "prefix": "'; DROP TABLE users; --" })).await.1).is_empty());
    let _s = alice.connect(&node).await;
    assert_eq!(ids(&q(json!({ "online": true })).await.1), ["alice"]);
    assert_eq!(q(json!({ "online": false })).await.1["users"].as_array().unwrap().len(), 6);

    // Bad input: stable codes.
    let bad = [
        (json!({ "limit": 0 }), "invalid_input"),
        (json!({ "limit": 101 }), "invalid_input"),
        (json!({ "sort": "name" }), "invalid_input"),
        (json!({ "next": "garbage" }), "invalid_input"),
        (json!({ "sort": "created_at", "next": "i:alice" }), "invalid_input"),
        (json!({ "filter": { "user_type": "admin" } }), "invalid_input"),
        (json!({ "filter": { "id_in": [] } }), "invalid_input"),
        (json!({ "filter": { "id_in": ["a b"] } }), "invalid_input"),
        (json!({ "filter": { "nope": 1 } }), "invalid_json"),
        (json!({ "filter": { "online": "yes" } }), "invalid_json"),
    ];
    for (body, code) in bad {
        let (status, v) = alice.post("/v1/users/query", body.clone()).await;
        assert_eq!((status / 100, v["code"].as_str()), (4, Some(code)), "{body}");
    }
    // A token of another application is refused.
    let foreign = other.token("zed", None).await;
    let (status, v) = alice.with_token(&foreign).post("/v1/users/query", json!({})).await;
    assert_eq!((status, v["code"].as_str()), (401, Some("invalid_token")));
}

#[tokio::test]
async fn multi_tenant_apps_show_only_the_callers_team() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.user("rita").await;
    app.user("nobody").await;
    app.set_team(&node, "alice", "red").await;
    app.set_team(&node, "rita", "red").await;
    app.set_team(&node, "bob", "blue").await;
    // Without multi-tenancy everyone sees everyone, and can filter by team.
    assert_eq!(ids(&alice.post("/v1/users/query", json!({})).await.1).len(), 4);
    assert_eq!(ids(&bob.post("/v1/users/query", json!({ "filter": { "team": "red" } })).await.1), ["alice", "rita"]);
    // With it, only the caller's team.
    app.set_settings(&node, json!({ "multi_tenant": true })).await;
    assert_eq!(ids(&alice.post("/v1/users/query", json!({})).await.1), ["alice", "rita"]);
    assert_eq!(ids(&bob.post("/v1/users/query", json!({})).await.1), ["bob"]);
    let (status, v) = bob.post("/v1/users/query", json!({ "filter": { "team": "red" } })).await;
    assert_eq!((status, v["code"].as_str()), (403, Some("forbidden")));
    let (_, v) = bob.post("/v1/users/query", json!({ "filter": { "id_in": ["alice", "rita"] } })).await;
    assert!(ids(&v).is_empty());
}

#[tokio::test]
async fn profile_updates_reach_channel_peers_as_user_events() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    alice.create_channel("messaging:pair", &["bob"]).await;
    let mut b = bob.connect(&node).await;
    let mut c = carol.connect(&node).await;
    let mut a = alice.connect(&node).await;

    let (status, v) = alice
        .patch("/v1/me", json!({ "display_name": "Alice A.", "bio": "hi", "avatar_url": "https://x.test/a.png", "metadata": { "k": 1 } }))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["user"]["display_name"], "Alice A.");
    for s in [&mut a, &mut b] {
        let ev = s.next_of("user.updated").await;
        assert_eq!(ev["user"]["id"], "alice");
        assert_eq!(ev["user"]["display_name"], "Alice A.");
        assert!(ev["user_seq"].as_u64().unwrap() >= 1);
    }
    c.assert_no("user.updated", Duration::from_millis(300)).await;
    // Left-out fields keep their value; null clears.
    let (_, v) = alice.patch("/v1/me", json!({ "bio": null })).await;
    assert_eq!(v["user"]["display_name"], "Alice A.");
    assert!(v["user"].get("bio").is_none());
    assert!(b.next_of("user.updated").await["user"].get("bio").is_none());
    assert_eq!(alice.get("/v1/me").await.1["user"]["metadata"]["k"], 1);

    // Bad input is refused and stores nothing.
    let bad = [
        (json!({ "avatar_url": "javascript:alert(1)" }), "invalid_input"),
        (json!({ "display_name": "x".repeat(256) }), "invalid_input"),
        (json!({ "metadata": { "big": "y".repeat(6000) } }), "invalid_input"),
        (json!({ "user_type": "regular" }), "invalid_json"),
        (json!({ "display_name": 5 }), "invalid_json"),
    ];
    for (body, code) in bad {
        let (status, v) = alice.patch("/v1/me", body.clone()).await;
        assert_eq!((status / 100, v["code"].as_str()), (4, Some(code)), "{body}");
    }
    assert_eq!(alice.get("/v1/me").await.1["user"]["display_name"], "Alice A.");
    b.assert_no("user.updated", Duration::from_millis(200)).await;

    // Anonymous users have no profile to edit.
    upsert(&app, vec![UserInput { id: "anon".into(), user_type: Some("anonymous".into()), ..Default::default() }]).await;
    let anon = common::UserClient { user_id: "anon".into(), token: app.token("anon", None).await, app: app.clone() };
    assert_eq!(anon.patch("/v1/me", json!({ "display_name": "x" })).await.1["code"], "forbidden");
}

#[tokio::test]
async fn guests_are_created_only_when_the_app_allows_them() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    app.user("alice").await;
    let http = reqwest::Client::new();
    let guest = |body: Value| {
        let http = http.clone();
        let url = format!("{}/v1/guest", node.url);
        async move {
            let r = http.post(url).json(&body).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, v) = guest(json!({ "api_key": app.api_key, "user": { "display_name": "G" } })).await;
    assert_eq!((status, v["code"].as_str()), (403, Some("forbidden")));

    app.set_settings(&node, json!({ "allow_guests": true })).await;
    let (status, v) = guest(json!({ "api_key": app.api_key, "user": { "id": "visitor-1", "display_name": "Visitor" } })).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["user"]["user_type"], "guest");
    assert_eq!(v["user"]["id"], "visitor-1");
    assert!(v["expires_at"].as_i64().is_some());
    let client = common::UserClient { user_id: "visitor-1".into(), token: v["token"].as_str().unwrap().into(), app: app.clone() };
    assert_eq!(client.get("/v1/me").await.1["user"]["display_name"], "Visitor");
    let _s = client.connect(&node).await;
    // Without an id one is generated.
    let (status, v) = guest(json!({ "api_key": app.api_key })).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["user"]["id"].as_str().unwrap().starts_with("guest-"));
    // Existing ids cannot be claimed (that would impersonate them).
    for id in ["alice", "visitor-1"] {
        let (status, v) = guest(json!({ "api_key": app.api_key, "user": { "id": id } })).await;
        assert_eq!((status, v["code"].as_str()), (409, Some("id_conflict")), "{id}");
    }
    let (_, v) = guest(json!({ "api_key": "nope", "user": {} })).await;
    assert_eq!(v["code"], "unknown_api_key");
    let (_, v) = guest(json!({ "api_key": app.api_key, "user": { "id": "a b" } })).await;
    assert_eq!(v["code"], "invalid_input");
    let (_, v) = guest(json!({ "api_key": app.api_key, "user": { "user_type": "regular" } })).await;
    assert_eq!(v["code"], "invalid_json");
    let (_, all) = client.post("/v1/users/query", json!({ "filter": { "user_type": "guest" } })).await;
    assert_eq!(all["users"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn deactivation_closes_sockets_on_every_node_and_blocks_reconnects() {
    let n1 = Node::start().await;
    let n2 = Node::start().await;
    let app = TestApp::create(&n1).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    alice.create_channel("messaging:d", &["bob"]).await;
    let mut a1 = alice.connect(&n1).await;
    let mut a2 = alice.connect(&n2).await;
    let mut b = bob.connect(&n2).await;

    let (status, v) = app.on(&n1).server_post("/v1/users/alice/deactivate", json!({})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["user"]["is_deactivated"], true);
    for s in [&mut a1, &mut a2] {
        let (err, code) = s.expect_close().await;
        assert_eq!(code, Some(4006));
        assert_eq!(err.unwrap()["error"]["code"], "user_deactivated");
    }
    // Bob sees the change and keeps his socket.
    assert_eq!(b.next_of("user.updated").await["user"]["is_deactivated"], true);
    b.send_text(r#"{"type":"ping","id":"b"}"#).await;
    assert_eq!(b.next_of("pong").await["id"], "b");
    // Reconnecting and HTTP are refused.
    let url = format!("{}?api_key={}&token={}", n2.ws_url(), app.api_key, alice.token);
    let (_, code) = common::Socket::open(&url).await.expect_close().await;
    assert_eq!(code, Some(4006));
    let (status, v) = alice.get("/v1/me").await;
    assert_eq!((status, v["code"].as_str()), (403, Some("user_deactivated")));
    // A send (checked inside the send batch, not at authentication) is refused too, on both
    // nodes, and stores nothing.
    for node in [&n1, &n2] {
        let mut on = alice.clone();
        on.app = app.on(node);
        let (status, v) = on.send("messaging:d", &common::new_id(), "still here?").await;
        assert_eq!((status, v["code"].as_str()), (403, Some("user_deactivated")), "{v}");
    }
    let (_, page) = bob.get("/v1/channels/messaging/d/messages").await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 0);
    // Deactivating again changes nothing.
    let (status, _) = app.server_post("/v1/users/alice/deactivate", json!({})).await;
    assert_eq!(status, 200);
    b.assert_no("user.updated", Duration::from_millis(200)).await;

    // Reactivated, the same token works again.
    let (status, v) = app.on(&n2).server_post("/v1/users/alice/reactivate", json!({})).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["user"].get("is_deactivated").is_none());
    let _a = alice.connect(&n1).await;
    assert_eq!(alice.get("/v1/me").await.0, 200);

    // Refusals: unknown user, bad id, missing or wrong secret, a user token.
    assert_eq!(app.server_post("/v1/users/ghost/deactivate", json!({})).await.1["code"], "not_found");
    assert_eq!(app.server_post("/v1/users/a%20b/deactivate", json!({})).await.1["code"], "invalid_input");
    let (status, v) = alice.post("/v1/users/bob/deactivate", json!({})).await;
    assert_eq!((status, v["code"].as_str()), (401, Some("invalid_secret")));
    let mut wrong = app.clone();
    wrong.api_secret = "wrong".into();
    assert_eq!(wrong.server_post("/v1/users/bob/deactivate", json!({})).await.1["code"], "invalid_secret");
    assert_eq!(bob.get("/v1/me").await.0, 200);
}
