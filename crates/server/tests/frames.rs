//! Hostile and broken client input on the websocket and HTTP: garbage, unknown fields, binary,
//! oversized frames. The server answers each with a coded error and keeps serving.

mod common;

use std::time::Duration;

use common::{new_id, Node, Read, TestApp};
use futures::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message as WsMessage;

#[tokio::test]
async fn garbage_frames_get_errors_and_the_session_goes_on() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let mut s = alice.connect(&node).await;
    let bad = [
        "not json at all",
        "{",
        "[]",
        "null",
        r#"{"type":"ping","id":5}"#,
        r#"{"type":"ping","extra":true}"#,
        r#"{"type":"drop.table.users"}"#,
        r#"{"no_type":1}"#,
        "\u{0}\u{1}\u{2}",
    ];
    for text in bad {
        s.send_text(text).await;
        let e = s.next_of("error").await;
        assert_eq!(e["error"]["code"], "invalid_frame", "{text}");
    }
    s.ws.send(WsMessage::Binary(vec![0u8, 159, 146, 150].into())).await.unwrap();
    assert_eq!(s.next_of("error").await["error"]["code"], "invalid_frame");
    // Over the protocol limit (64 KiB) but under the transport's: an error, not a close.
    let big = format!(r#"{{"type":"ping","id":"{}"}}"#, "x".repeat(70 * 1024));
    s.send_text(&big).await;
    assert_eq!(s.next_of("error").await["error"]["code"], "frame_too_large");
    // Still serving this socket.
    s.send_text(r#"{"type":"ping","id":"still-here"}"#).await;
    assert_eq!(s.next_of("pong").await["id"], "still-here");
}

#[tokio::test]
async fn a_frame_over_the_transport_limit_closes_only_that_socket() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    alice.create_channel("messaging:big", &["bob"]).await;
    let mut victim = alice.connect(&node).await;
    let mut bystander = bob.connect(&node).await;
    let huge = "y".repeat(2 * 1024 * 1024);
    let _ = victim.ws.send(WsMessage::Text(huge.into())).await;
    let (_, code) = victim.expect_close().await;
    assert!(code.is_none() || code == Some(1009), "close code {code:?}");
    // The server and the other socket are unaffected.
    let id = new_id();
    assert_eq!(alice.send("messaging:big", &id, "after").await.0, 200);
    assert_eq!(bystander.next_of("message.new").await["message"]["id"], id.as_str());
    let mut again = alice.connect(&node).await;
    again.send_text(r#"{"type":"ping"}"#).await;
    assert_eq!(again.next_of("pong").await["type"], "pong");
}

#[tokio::test]
async fn a_flood_of_invalid_frames_is_cut_off() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let mut s = alice.connect(&node).await;
    for _ in 0..100 {
        s.send_text("junk").await;
    }
    let (_, code) = s.expect_close().await;
    assert_eq!(code, Some(4008));
}

#[tokio::test]
async fn bad_http_input_is_refused_and_nothing_is_stored() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    alice.create_channel("messaging:input", &[]).await;
    let path = "/v1/channels/messaging/input/messages";
    let cases = [
        (json!({ "id": new_id(), "text": "x", "unknown": 1 }), "invalid_json"),
        (json!({ "text": "no id" }), "invalid_json"),
        (json!({ "id": "not-a-uuid", "text": "x" }), "invalid_input"),
        (json!({ "id": new_id(), "text": "x".repeat(10_001) }), "invalid_input"),
        (json!({ "id": new_id(), "text": "   " }), "invalid_input"),
        (json!({ "id": new_id(), "text": "x", "type": "system" }), "invalid_input"),
        (json!({ "id": new_id(), "text": "x", "mentions": ["'; DROP TABLE messages; --"] }), "invalid_input"),
        (json!({ "id": new_id(), "text": "x", "parent_id": new_id() }), "invalid_input"),
    ];
    for (body, code) in cases {
        let (status, v) = alice.post(path, body.clone()).await;
        assert_eq!(v["code"], code, "{body}");
        assert!((400..500).contains(&status));
    }
    // Not JSON at all, and an oversized body.
    let http = reqwest::Client::new();
    let url = format!("{}{}", node.url, path);
    for body in ["{not json".to_string(), format!("{{\"id\":\"{}\",\"text\":\"{}\"}}", new_id(), "z".repeat(400_000))] {
        let r = http
            .post(&url)
            .header("x-api-key", &app.api_key)
            .bearer_auth(&alice.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error());
        let v: serde_json::Value = r.json().await.unwrap();
        assert!(v["code"] == "invalid_json" || v["code"] == "invalid_input", "{v}");
    }
    // Bad channel names are refused, SQL-ish or not.
    let (_, v) = alice.post("/v1/channels/messaging/a%27%3B%20DROP", json!({})).await;
    assert_eq!(v["code"], "invalid_input");
    let (_, v) = alice.post("/v1/channels/BAD TYPE/x", json!({})).await;
    assert!(v["code"] == "invalid_input" || v["code"] == "not_found", "{v}");
    // Nothing was stored.
    let (_, page) = alice.get(&format!("{path}?limit=50")).await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 0);
    // And the server is still fine.
    assert_eq!(alice.send("messaging:input", &new_id(), "ok").await.0, 200);
    let _ = Duration::ZERO;
    let _ = Read::Timeout;
}
