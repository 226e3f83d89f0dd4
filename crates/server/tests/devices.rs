//! Push devices: idempotent registration, list, removal, checked input, and last_active_at on
//! websocket connect.

mod common;

use std::time::Duration;

use common::{eventually, Node, TestApp};
use serde_json::json;

#[tokio::test]
async fn devices_register_idempotently_list_and_remove() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let body = json!({ "id": "phone-1", "push_provider": "fcm", "push_token": "tok-a", "platform": "android" });
    let (status, first) = alice.post("/v1/devices", body.clone()).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["device"]["id"], "phone-1");
    assert!(first["device"]["last_active_at"].is_string());
    // A retry is the same device; a new token replaces the old one.
    assert_eq!(alice.post("/v1/devices", body).await.0, 200);
    let (_, v) = alice
        .post("/v1/devices", json!({ "id": "phone-1", "push_provider": "fcm", "push_token": "tok-a2", "platform": "android" }))
        .await;
    assert_eq!(v["device"]["push_token"], "tok-a2");
    assert_eq!(v["device"]["registered_at"], first["device"]["registered_at"]);
    alice.post("/v1/devices", json!({ "id": "browser", "push_provider": "webpush", "push_token": "https://push.test/x" })).await;
    let (_, list) = alice.get("/v1/devices").await;
    let ids: Vec<&str> = list["devices"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["phone-1", "browser"]);
    // Bob has his own list.
    assert!(bob.get("/v1/devices").await.1["devices"].as_array().unwrap().is_empty());
    assert_eq!(bob.delete("/v1/devices/phone-1").await.1["removed"], false);
    // Removal, and removing again is not an error.
    assert_eq!(alice.delete("/v1/devices/phone-1").await.1["removed"], true);
    assert_eq!(alice.delete("/v1/devices/phone-1").await, (200, json!({ "removed": false })));
    assert_eq!(alice.get("/v1/devices").await.1["devices"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn device_input_is_checked_and_a_push_token_moves_to_its_new_owner() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let bad = [
        (json!({ "id": "d", "push_provider": "sms", "push_token": "t" }), "invalid_input"),
        (json!({ "id": "d", "push_provider": "apns", "push_token": "t", "platform": "windows" }), "invalid_input"),
        (json!({ "id": "d", "push_provider": "apns", "push_token": "  " }), "invalid_input"),
        (json!({ "id": "d", "push_provider": "apns", "push_token": "x".repeat(5000) }), "invalid_input"),
        (json!({ "id": "'; DROP TABLE user_devices; --", "push_provider": "apns", "push_token": "t" }), "invalid_input"),
        (json!({ "id": "", "push_provider": "apns", "push_token": "t" }), "invalid_input"),
        (json!({ "id": "d", "push_provider": "apns" }), "invalid_json"),
        (json!({ "id": "d", "push_provider": "apns", "push_token": "t", "user_id": "bob" }), "invalid_json"),
    ];
    for (body, code) in bad {
        let (status, v) = alice.post("/v1/devices", body.clone()).await;
        assert_eq!((status / 100, v["code"].as_str()), (4, Some(code)), "{body}");
    }
    assert!(alice.get("/v1/devices").await.1["devices"].as_array().unwrap().is_empty());
    // The same push token registered by Bob (the phone changed hands) leaves Alice's list.
    alice.post("/v1/devices", json!({ "id": "ipad", "push_provider": "apns", "push_token": "shared" })).await;
    bob.post("/v1/devices", json!({ "id": "ipad", "push_provider": "apns", "push_token": "shared" })).await;
    assert!(alice.get("/v1/devices").await.1["devices"].as_array().unwrap().is_empty());
    assert_eq!(bob.get("/v1/devices").await.1["devices"].as_array().unwrap().len(), 1);
    // At most 25 devices per user; re-registering an existing one still works.
    for i in 0..24 {
        let (s, v) = bob.post("/v1/devices", json!({ "id": format!("d{i}"), "push_provider": "fcm", "push_token": format!("t{i}") })).await;
        assert_eq!(s, 200, "{v}");
    }
    let (_, v) = bob.post("/v1/devices", json!({ "id": "one-more", "push_provider": "fcm", "push_token": "t" })).await;
    assert_eq!(v["code"], "invalid_input");
    assert_eq!(bob.post("/v1/devices", json!({ "id": "d3", "push_provider": "fcm", "push_token": "t3b" })).await.0, 200);
    // Another application's token is refused.
    let other = TestApp::create(&node).await;
    other.user("alice").await;
    let foreign = other.token("alice", None).await;
    let (status, v) = alice.with_token(&foreign).get("/v1/devices").await;
    assert_eq!((status, v["code"].as_str()), (401, Some("invalid_token")));
}

#[tokio::test]
async fn connecting_with_a_device_id_marks_that_device_active() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    for id in ["phone", "tablet"] {
        alice.post("/v1/devices", json!({ "id": id, "push_provider": "fcm", "push_token": format!("t-{id}") })).await;
    }
    sqlx::query("UPDATE user_devices SET last_active_at = '2020-01-01' WHERE device_id IN ('phone', 'tablet')")
        .execute(node.state.db())
        .await
        .unwrap();
    let _s = alice.connect_with(&node, "device_id=phone").await;
    let active = |id: &'static str| {
        let alice = alice.clone();
        async move {
            let (_, v) = alice.get("/v1/devices").await;
            let d = v["devices"].as_array().unwrap().iter().find(|d| d["id"] == id).unwrap().clone();
            !d["last_active_at"].as_str().unwrap().starts_with("2020")
        }
    };
    assert!(eventually(Duration::from_secs(3), || active("phone")).await);
    assert!(!active("tablet").await);
}
