//! The application's backend manages its settings and teams through the server-side API
//! (api_key + api_secret): settings take effect at once (guests, multi-tenancy), teams are
//! get-or-create by name (also under concurrency), users move between teams, and user tokens,
//! other applications' secrets and bad input are refused with their codes.

mod common;

use common::{Node, TestApp};
use serde_json::{json, Value};

async fn server(app: &TestApp, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut r = reqwest::Client::new()
        .request(method, format!("{}{}", app.url, path))
        .header("x-api-key", &app.api_key)
        .header("x-api-secret", &app.api_secret);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn names(v: &Value) -> Vec<String> {
    v["users"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn settings_are_read_and_changed_by_the_backend_and_take_effect() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let (status, v) = server(&app, reqwest::Method::GET, "/v1/app", None).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["app"]["api_key"], app.api_key.as_str());
    assert_eq!(v["app"]["settings"], json!({ "multi_tenant": false, "allow_guests": false }));
    assert_eq!(v["app"]["is_active"], true);
    assert!(v["app"].get("api_secret").is_none(), "the secret is never sent back");

    // Guests are refused until the setting is on.
    let guest = || async {
        let r = reqwest::Client::new()
            .post(format!("{}/v1/guest", app.url))
            .json(&json!({ "api_key": app.api_key, "user": { "id": "visitor" } }))
            .send()
            .await
            .unwrap();
        r.status().as_u16()
    };
    assert_eq!(guest().await, 403);
    let (status, v) =
        server(&app, reqwest::Method::PATCH, "/v1/app", Some(json!({ "settings": { "allow_guests": true } }))).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["app"]["settings"], json!({ "multi_tenant": false, "allow_guests": true }));
    assert_eq!(guest().await, 200);
    // Fields left out keep their values.
    let (_, v) = server(&app, reqwest::Method::PATCH, "/v1/app", Some(json!({ "name": "Renamed" }))).await;
    assert_eq!(v["app"]["name"], "Renamed");
    assert_eq!(v["app"]["settings"]["allow_guests"], true);

    // Refusals: unknown settings or fields, wrong types, bad names, a user token, another
    // application's secret.
    for body in [
        json!({ "settings": { "allow_everything": true } }),
        json!({ "settings": { "multi_tenant": "yes" } }),
        json!({ "is_active": false }),
    ] {
        let (status, v) = server(&app, reqwest::Method::PATCH, "/v1/app", Some(body)).await;
        assert_eq!((status, v["code"].as_str()), (400, Some("invalid_json")), "{v}");
    }
    let (status, v) = server(&app, reqwest::Method::PATCH, "/v1/app", Some(json!({ "name": " " }))).await;
    assert_eq!((status, v["code"].as_str()), (400, Some("invalid_input")));
    let alice = app.user("alice").await;
    let (status, v) = alice.get("/v1/app").await;
    assert_eq!((status, v["code"].as_str()), (401, Some("invalid_secret")));
    let other = TestApp::create(&node).await;
    let mut mixed = app.clone();
    mixed.api_secret = other.api_secret.clone();
    let (status, v) = server(&mixed, reqwest::Method::GET, "/v1/app", None).await;
    assert_eq!((status, v["code"].as_str()), (401, Some("invalid_secret")));
    let (_, v) = server(&other, reqwest::Method::GET, "/v1/app", None).await;
    assert_eq!(v["app"]["settings"]["allow_guests"], false, "other applications are untouched");
}

#[tokio::test]
async fn teams_are_created_listed_and_assigned_through_the_api() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.user("rita").await;
    // Get-or-create by name, race-free: eight concurrent creations make one team.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.server_post("/v1/teams", json!({ "name": "red", "metadata": { "floor": 3 } })).await })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let (status, v) = t.await.unwrap();
        assert_eq!(status, 200, "{v}");
        ids.insert(v["team"]["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1);
    app.server_post("/v1/teams", json!({ "name": "blue" })).await;
    let (status, v) = app.server_post("/v1/teams/red/users", json!({ "user_ids": ["alice", "rita"] })).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["team"]["user_count"], 2);
    assert_eq!(v["team"]["metadata"]["floor"], 3);
    app.server_post("/v1/teams/blue/users", json!({ "user_ids": ["bob"] })).await;
    let (_, v) = server(&app, reqwest::Method::GET, "/v1/teams", None).await;
    let listed: Vec<(String, u64)> = v["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_string(), t["user_count"].as_u64().unwrap()))
        .collect();
    assert_eq!(listed, [("blue".to_string(), 1), ("red".to_string(), 2)]);

    // With multi-tenancy on, users see their own team only.
    app.set_settings(&node, json!({ "multi_tenant": true })).await;
    assert_eq!(names(&alice.post("/v1/users/query", json!({})).await.1), ["alice", "rita"]);
    assert_eq!(names(&bob.post("/v1/users/query", json!({})).await.1), ["bob"]);
    // Moving rita to blue takes her out of red; removing bob from red (he is not in it) changes
    // nothing, removing him from blue leaves him in no team.
    let (_, v) = app.server_post("/v1/teams/blue/users", json!({ "user_ids": ["rita"] })).await;
    assert_eq!(v["team"]["user_count"], 2);
    assert_eq!(names(&bob.post("/v1/users/query", json!({})).await.1), ["bob", "rita"]);
    let (_, v) = app.server_post("/v1/teams/red/users/remove", json!({ "user_ids": ["bob"] })).await;
    assert_eq!(v["team"]["user_count"], 1);
    let (_, v) = app.server_post("/v1/teams/blue/users/remove", json!({ "user_ids": ["bob"] })).await;
    assert_eq!(v["team"]["user_count"], 1);

    // Refusals, nothing changed by them.
    let (status, v) = app.server_post("/v1/teams/green/users", json!({ "user_ids": ["alice"] })).await;
    assert_eq!((status, v["code"].as_str()), (404, Some("not_found")));
    let (status, v) = app.server_post("/v1/teams/red/users", json!({ "user_ids": ["alice", "ghost"] })).await;
    assert_eq!((status, v["code"].as_str()), (400, Some("invalid_input")), "{v}");
    let (status, v) = app.server_post("/v1/teams/red/users", json!({ "user_ids": [] })).await;
    assert_eq!((status, v["code"].as_str()), (400, Some("invalid_input")));
    let (status, v) = app.server_post("/v1/teams", json!({ "name": "" })).await;
    assert_eq!((status, v["code"].as_str()), (400, Some("invalid_input")));
    let (status, v) = app.server_post("/v1/teams", json!({ "name": "x", "color": "red" })).await;
    assert_eq!((status, v["code"].as_str()), (400, Some("invalid_json")));
    let (status, v) = alice.post("/v1/teams", json!({ "name": "mine" })).await;
    assert_eq!((status, v["code"].as_str()), (401, Some("invalid_secret")));
    let (_, v) = server(&app, reqwest::Method::GET, "/v1/teams", None).await;
    assert_eq!(v["teams"].as_array().unwrap().len(), 2);
    // Another application's teams are its own.
    let other = TestApp::create(&node).await;
    let (_, v) = server(&other, reqwest::Method::GET, "/v1/teams", None).await;
    assert!(v["teams"].as_array().unwrap().is_empty());
    let (status, _) = other.server_post("/v1/teams/red/users", json!({ "user_ids": ["alice"] })).await;
    assert_eq!(status, 404);
}
