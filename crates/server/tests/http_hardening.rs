//! The HTTP connection layer against a hostile or broken client: every error answer carries the
//! JSON error body (the router's 405, hyper's own 400 / 414 / 431), request heads have a
//! deadline (half-sent heads, silent and idle keep-alive connections are closed), and one
//! address gets at most `max_connections_per_ip` connections at once — while websockets and
//! keep-alive requests keep working.

mod common;

use std::time::Duration;

use chat_server::Config;
use common::*;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long past the configured timeout a connection may take to be closed.
const MARGIN: Duration = Duration::from_secs(3);

const HEALTHZ: &str = "GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n";

/// A node with a short header deadline and the given per-address cap.
async fn node_with(header_read_timeout: Duration, max_connections_per_ip: usize) -> Node {
    Node::start_with(Config {
        admin_token: Some("test-admin".into()),
        header_read_timeout,
        max_connections_per_ip,
        ..Config::default()
    })
    .await
}

async fn connect(node: &Node) -> TcpStream {
    TcpStream::connect(node.url.trim_start_matches("http://"))
        .await
        .expect("connect")
}

/// An HTTP answer read off a raw connection.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Asserts the documented error body with `code`, and the JSON content type.
    fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{self:?}"
        );
        assert_eq!(self.body["code"], code, "{self:?}");
        assert!(
            self.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{self:?}"
        );
        assert!(self.body["retryable"].is_boolean(), "{self:?}");
    }
}

/// Reads one answer (head and content-length body) within 5 s.
async fn read_answer(tcp: &mut TcpStream) -> Answer {
    tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = Vec::new();
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = tcp.read_buf(&mut buf).await.expect("read");
            assert!(
                n > 0,
                "closed before an answer: {:?}",
                String::from_utf8_lossy(&buf)
            );
        };
        let head = String::from_utf8(buf[..head_end].to_vec()).expect("utf-8 head");
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .expect("status");
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + length {
            let n = tcp.read_buf(&mut buf).await.expect("read body");
            assert!(n > 0, "closed inside the body");
        }
        let body = serde_json::from_slice(&buf[head_end..head_end + length]).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
        }
    })
    .await
    .expect("an answer within 5 s")
}

/// True when the server closes `tcp` (end of stream or reset) within `within`, with nothing
/// more sent; false when it is still open then.
async fn closed_within(tcp: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    match tokio::time::timeout(within, tcp.read(&mut buf)).await {
        Err(_) => false,
        Ok(Ok(0)) | Ok(Err(_)) => true,
        Ok(Ok(n)) => panic!("unexpected bytes: {:?}", String::from_utf8_lossy(&buf[..n])),
    }
}

/// Sends `request` on a new connection and reads the answer; the server must then close.
async fn answer_then_close(node: &Node, request: &[u8]) -> Answer {
    let mut tcp = connect(node).await;
    tcp.write_all(request).await.expect("write");
    let answer = read_answer(&mut tcp).await;
    assert!(
        closed_within(&mut tcp, Duration::from_secs(5)).await,
        "the connection stays open"
    );
    answer
}

#[tokio::test]
async fn a_method_a_path_does_not_have_gets_method_not_allowed_as_json() {
    let node = Node::start().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let (status, body) = alice.put("/v1/me", json!({})).await;
    assert_eq!(
        (status, body["code"].as_str(), body["retryable"].as_bool()),
        (405, Some("method_not_allowed"), Some(false))
    );

    let mut tcp = connect(&node).await;
    tcp.write_all(b"DELETE /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let answer = read_answer(&mut tcp).await;
    answer.assert_error(405, "method_not_allowed");
    assert!(
        answer.header("allow").is_some_and(|a| a.contains("GET")),
        "{answer:?}"
    );

    // A rejection axum answers in plain text (a websocket request without the upgrade) is JSON
    // too, with the status of its code.
    tcp.write_all(b"GET /v1/ws HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let answer = read_answer(&mut tcp).await;
    assert_eq!(
        answer.header("content-type"),
        Some("application/json"),
        "{answer:?}"
    );
    let code: chat_protocol::ErrorCode =
        serde_json::from_value(answer.body["code"].clone()).expect("a known code");
    assert_eq!(answer.status, code.http_status(), "{answer:?}");
}

#[tokio::test]
async fn an_overlong_uri_gets_uri_too_long_as_json() {
    let node = Node::start().await;
    let request = format!(
        "GET /{} HTTP/1.1\r\nHost: test\r\n\r\n",
        "a".repeat(100_000)
    );
    answer_then_close(&node, request.as_bytes())
        .await
        .assert_error(414, "uri_too_long");
}

#[tokio::test]
async fn too_many_headers_get_headers_too_large_as_json() {
    let node = Node::start().await;
    let mut request = String::from("GET /healthz HTTP/1.1\r\nHost: test\r\n");
    for i in 0..200 {
        request.push_str(&format!("x-header-{i}: {i}\r\n"));
    }
    request.push_str("\r\n");
    answer_then_close(&node, request.as_bytes())
        .await
        .assert_error(431, "headers_too_large");
}

#[tokio::test]
async fn a_malformed_request_gets_invalid_input_as_json() {
    let node = Node::start().await;
    answer_then_close(&node, b"NOT AN HTTP REQUEST\r\n\r\n")
        .await
        .assert_error(400, "invalid_input");
    answer_then_close(&node, b"GET /healthz HTTP/1.1\r\nbad header line\r\n\r\n")
        .await
        .assert_error(400, "invalid_input");
}

#[tokio::test]
async fn half_sent_and_silent_connections_are_closed_after_the_header_timeout() {
    let timeout = Duration::from_secs(1);
    let node = node_with(timeout, 1024).await;
    let mut half = connect(&node).await;
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: te")
        .await
        .unwrap();
    let mut silent = connect(&node).await;
    let (half_closed, silent_closed) = tokio::join!(
        closed_within(&mut half, timeout + MARGIN),
        closed_within(&mut silent, timeout + MARGIN)
    );
    assert!(
        half_closed,
        "a connection that never finishes its request head stays open"
    );
    assert!(silent_closed, "a connection that sends nothing stays open");
}

#[tokio::test]
async fn keep_alive_serves_requests_and_an_idle_connection_is_closed() {
    let timeout = Duration::from_secs(1);
    let node = node_with(timeout, 1024).await;
    let mut tcp = connect(&node).await;
    for _ in 0..3 {
        tcp.write_all(HEALTHZ.as_bytes()).await.unwrap();
        let answer = read_answer(&mut tcp).await;
        assert_eq!((answer.status, &answer.body), (200, &json!({ "ok": true })));
    }
    assert!(
        closed_within(&mut tcp, timeout + MARGIN).await,
        "an idle keep-alive connection stays open"
    );
}

#[tokio::test]
async fn connections_over_the_per_address_cap_are_refused_with_rate_limited() {
    // Users are made through another node, so that only this test's connections reach this one.
    let setup = Node::start().await;
    let app = TestApp::create(&setup).await;
    let alice = app.user("alice").await;
    let node = node_with(Duration::from_secs(10), 3).await;

    // Three connections: a websocket and two keep-alive connections that have been answered.
    let _socket = alice.connect(&node).await;
    let mut open = Vec::new();
    for _ in 0..2 {
        let mut tcp = connect(&node).await;
        tcp.write_all(HEALTHZ.as_bytes()).await.unwrap();
        assert_eq!(read_answer(&mut tcp).await.status, 200);
        open.push(tcp);
    }

    let refused = answer_then_close(&node, HEALTHZ.as_bytes()).await;
    refused.assert_error(429, "rate_limited");
    assert_eq!(refused.header("retry-after"), Some("1"), "{refused:?}");
    assert_eq!(
        (
            refused.body["retryable"].as_bool(),
            refused.body["retry_after"].as_u64()
        ),
        (Some(true), Some(1))
    );

    // Once one closes, a new connection is served; the cap is reached again with it.
    drop(open.pop());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let mut tcp = connect(&node).await;
        tcp.write_all(HEALTHZ.as_bytes()).await.unwrap();
        let answer = read_answer(&mut tcp).await;
        if answer.status == 200 {
            open.push(tcp);
            break;
        }
        answer.assert_error(429, "rate_limited");
        assert!(
            tokio::time::Instant::now() < deadline,
            "no connection accepted after one closed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    answer_then_close(&node, HEALTHZ.as_bytes())
        .await
        .assert_error(429, "rate_limited");
}

#[tokio::test]
async fn websockets_still_connect_and_outlive_the_header_timeout() {
    let setup = Node::start().await;
    let app = TestApp::create(&setup).await;
    let alice = app.user("alice").await;
    let timeout = Duration::from_secs(1);
    let node = node_with(timeout, 1024).await;
    let mut socket = alice.connect(&node).await;
    // An upgraded connection is no longer HTTP: the request-head deadline does not close it.
    tokio::time::sleep(timeout + Duration::from_millis(500)).await;
    socket
        .send_json(json!({ "type": "ping", "id": "p1" }))
        .await;
    let pong = socket.next_of("pong").await;
    assert_eq!(pong["id"], "p1");
}

#[tokio::test]
async fn shutdown_stops_accepting_and_lets_a_request_in_flight_finish() {
    let node = Node::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(chat_server::serve(listener, node.state.clone(), async {
        let _ = stop_rx.await;
    }));

    // A request in flight: its head is read, its body not yet whole.
    let body = br#"{"name":"shutdown"}"#;
    let head = format!(
        "POST /admin/apps HTTP/1.1\r\nHost: test\r\nx-admin-token: test-admin\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    let mut in_flight = TcpStream::connect(addr).await.unwrap();
    in_flight.write_all(head.as_bytes()).await.unwrap();
    in_flight.write_all(&body[..5]).await.unwrap();
    // An idle keep-alive connection.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(HEALTHZ.as_bytes()).await.unwrap();
    assert_eq!(read_answer(&mut idle).await.status, 200);

    stop_tx.send(()).unwrap();
    assert!(
        closed_within(&mut idle, Duration::from_secs(3)).await,
        "the idle connection stays open"
    );
    assert!(
        eventually(Duration::from_secs(3), || async {
            TcpStream::connect(addr).await.is_err()
        })
        .await,
        "still accepting connections after shutdown"
    );
    in_flight.write_all(&body[5..]).await.unwrap();
    let answer = read_answer(&mut in_flight).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["name"], "shutdown");
    let stopped = tokio::time::timeout(Duration::from_secs(3), server).await;
    assert!(
        matches!(stopped, Ok(Ok(Ok(())))),
        "serve did not return: {stopped:?}"
    );
}
