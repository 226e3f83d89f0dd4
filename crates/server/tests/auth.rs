//! Authentication over HTTP and websocket: every way a credential can be wrong gets its own
//! stable code, and the websocket its documented close code.

mod common;

use common::{new_id, Node, Socket, TestApp};
use serde_json::json;

#[tokio::test]
async fn websocket_refuses_bad_credentials_with_distinct_codes() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let other_app = TestApp::create(&node).await;
    let foreign = other_app.user("alice").await;
    let expired = app.token("alice", Some(1)).await;
    let revoked = app.token("alice", Some(3600)).await;
    let (status, _) = app.server_post("/v1/tokens/revoke", json!({ "token": revoked })).await;
    assert_eq!(status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let mut tampered = alice.token.clone();
    tampered.pop();
    tampered.push(if alice.token.ends_with('A') { 'B' } else { 'A' });

    let base = node.ws_url();
    let cases = [
        (format!("{base}?api_key=nope&token={}", alice.token), "unknown_api_key", 4004),
        (format!("{base}?api_key={}&token=garbage", app.api_key), "invalid_token", 4001),
        (format!("{base}?api_key={}&token={tampered}", app.api_key), "invalid_token", 4001),
        (format!("{base}?api_key={}&token={}", app.api_key, foreign.token), "invalid_token", 4001),
        (format!("{base}?api_key={}&token={expired}", app.api_key), "token_expired", 4002),
        (format!("{base}?api_key={}&token={revoked}", app.api_key), "token_revoked", 4003),
        (format!("{base}?api_key={}", app.api_key), "missing_token", 4001),
    ];
    for (url, code, close) in cases {
        let mut s = Socket::open(&url).await;
        let (err, close_code) = s.expect_close().await;
        let err = err.unwrap_or_else(|| panic!("no error frame for {code}"));
        assert_eq!(err["error"]["code"], code, "{url}");
        assert_eq!(err["error"]["retryable"], false);
        assert_eq!(close_code, Some(close), "{code}");
    }
    // The good token still works after all that.
    let mut ok = alice.connect(&node).await;
    ok.send_text(r#"{"type":"ping","id":"p"}"#).await;
    assert_eq!(ok.next_of("pong").await["id"], "p");
}

#[tokio::test]
async fn http_refuses_bad_credentials() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let mut bad = alice.clone();
    bad.token = "x.y.z".into();
    assert_eq!(bad.get("/v1/me").await.1["code"], "invalid_token");
    let mut nokey = alice.clone();
    nokey.app.api_key = "missing".into();
    let (status, v) = nokey.get("/v1/me").await;
    assert_eq!((status, v["code"].as_str()), (401, Some("unknown_api_key")));
    let (status, v) = alice.get("/v1/me").await;
    assert_eq!(status, 200);
    assert_eq!(v["user"]["id"], "alice");

    // Server-side calls need the secret.
    let mut wrong = app.clone();
    wrong.api_secret = "wrong".into();
    let (status, v) = wrong.server_post("/v1/tokens", json!({ "user_id": "alice" })).await;
    assert_eq!((status, v["code"].as_str()), (401, Some("invalid_secret")));
    // Minting for a user that does not exist is refused.
    let (status, v) = app.server_post("/v1/tokens", json!({ "user_id": "ghost" })).await;
    assert_eq!((status, v["code"].as_str()), (404, Some("not_found")));

    // Revocation is immediate over HTTP too.
    let t = app.token("alice", Some(600)).await;
    let mut holder = alice.clone();
    holder.token = t.clone();
    assert_eq!(holder.get("/v1/me").await.0, 200);
    app.server_post("/v1/tokens/revoke", json!({ "token": t })).await;
    assert_eq!(holder.get("/v1/me").await.1["code"], "token_revoked");
}

#[tokio::test]
async fn operator_api_needs_the_admin_token() {
    let node = Node::start().await;
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/admin/apps", node.url))
        .header("x-admin-token", "wrong")
        .json(&json!({ "name": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "forbidden");
    let _ = new_id();
}
