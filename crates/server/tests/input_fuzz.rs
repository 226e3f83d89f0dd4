//! Property test of bad input (issue 15): random Unicode — NUL, lone surrogates written as JSON
//! escapes, control characters, astral characters, very long runs — goes into every string
//! field of a sample body of every route, into path segments and query values, and into every
//! string field of every client websocket frame. Whatever arrives, the server never answers 5xx
//! and never calls a refusal retryable; the socket stays open.
//!
//! The run is bounded: `CHAT_FUZZ_SECS` seconds (default 12) of HTTP requests, from the seed in
//! `CHAT_FUZZ_SEED` (default: random, printed, so a failure can be replayed).

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use chat_server::config::RateLimits;
use chat_server::Config;
use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

/// One route: its method, its template as the router names it, a concrete path (`$MSG` stands
/// for a message id), and a valid sample body.
struct Route {
    method: &'static str,
    template: &'static str,
    path: &'static str,
    body: Option<&'static str>,
}

const fn r(method: &'static str, template: &'static str, path: &'static str, body: Option<&'static str>) -> Route {
    Route { method, template, path, body }
}

const CH: &str = "/v1/channels/{type}/{id}";

/// Every route the server mounts (checked against the router sources below).
const ROUTES: &[Route] = &[
    r("GET", "/healthz", "/healthz", None),
    r("POST", "/admin/apps", "/admin/apps", Some(r#"{"name":"n"}"#)),
    r("POST", "/v1/users", "/v1/users", Some(r#"{"users":[{"id":"u1","username":"u","email":"a@b.c","display_name":"d","avatar_url":"https://x/y","bio":"b","user_type":"regular","metadata":{"k":"v"}}]}"#)),
    r("POST", "/v1/tokens", "/v1/tokens", Some(r#"{"user_id":"bob"}"#)),
    r("POST", "/v1/tokens/revoke", "/v1/tokens/revoke", Some(r#"{"token":"not.a.token"}"#)),
    r("GET", "/v1/me", "/v1/me", None),
    r("PATCH", "/v1/me", "/v1/me", Some(r#"{"display_name":"d","avatar_url":"https://x/y","bio":"b","metadata":{"k":"v"}}"#)),
    r("POST", CH, "/v1/channels/messaging/fz2", Some(r#"{"name":"n","description":"d","avatar_url":"https://x/y","members":["bob"],"metadata":{"k":"v"},"team":"t"}"#)),
    r("GET", CH, "/v1/channels/messaging/fz", None),
    r("PUT", CH, "/v1/channels/messaging/fz", Some(r#"{"name":"n","description":"d","avatar_url":"https://x/y","metadata":{"k":"v"},"settings":{"k":"v"}}"#)),
    r("PATCH", CH, "/v1/channels/messaging/fz", Some(r#"{"set":{"name":"n","metadata":{"k":"v"}},"unset":["description"]}"#)),
    r("DELETE", CH, "/v1/channels/messaging/fz-gone", None),
    r("POST", "/v1/channels/{type}/{id}/messages", "/v1/channels/messaging/fz/messages", Some(r#"{"id":"$NEW","text":"t","type":"regular","parent_id":"$MSG","attachments":[{"type":"file","title":"x","asset_url":"https://x/y"}],"mentions":["bob"],"metadata":{"k":"v"}}"#)),
    r("GET", "/v1/channels/{type}/{id}/messages", "/v1/channels/messaging/fz/messages?limit=5&around_id=$MSG", None),
    r("GET", "/v1/ws", "/v1/ws?api_key=k&token=t", None),
    r("GET", "/dev/credentials", "/dev/credentials?user_id=bob", None),
    r("POST", "/v1/channels/query", "/v1/channels/query", Some(r#"{"filter":{"type":"messaging","cid":{"$in":["messaging:fz"]},"members":{"$in":["bob"]},"metadata":{"k":"v"},"last_message_at":{"$gt":"2020-01-01T00:00:00Z"}},"sort":[{"field":"last_message_at","direction":-1}],"next":"x"}"#)),
    r("POST", "/v1/channels/{type}", "/v1/channels/messaging", Some(r#"{"members":["bob"],"name":"n","metadata":{"k":"v"}}"#)),
    r("POST", "/v1/channels/{type}/{id}/freeze", "/v1/channels/messaging/fz-x/freeze", Some("{}")),
    r("POST", "/v1/channels/{type}/{id}/unfreeze", "/v1/channels/messaging/fz/unfreeze", Some("{}")),
    r("POST", "/v1/channels/{type}/{id}/truncate", "/v1/channels/messaging/fz-x/truncate", Some(r#"{"message":{"text":"t"}}"#)),
    r("POST", "/v1/channels/{type}/{id}/watch", "/v1/channels/messaging/fz/watch", Some("{}")),
    r("POST", "/v1/channels/{type}/{id}/stop-watching", "/v1/channels/messaging/fz/stop-watching", Some("{}")),
    r("POST", "/v1/devices", "/v1/devices", Some(r#"{"id":"dev1","push_provider":"fcm","push_token":"tok","platform":"android"}"#)),
    r("GET", "/v1/devices", "/v1/devices", None),
    r("DELETE", "/v1/devices/{id}", "/v1/devices/dev1", None),
    r("POST", "/v1/channels/{type}/{id}/draft", "/v1/channels/messaging/fz/draft", Some(r#"{"text":"t","parent_id":"$MSG","attachments":[{"type":"file"}],"mentions":["bob"]}"#)),
    r("GET", "/v1/channels/{type}/{id}/draft", "/v1/channels/messaging/fz/draft?parent_id=$MSG", None),
    r("DELETE", "/v1/channels/{type}/{id}/draft", "/v1/channels/messaging/fz/draft?parent_id=$MSG", None),
    r("GET", "/v1/drafts", "/v1/drafts?limit=5&next=x", None),
    r("POST", "/v1/channels/{type}/{id}/members", "/v1/channels/messaging/fz/members", Some(r#"{"user_ids":["carol"]}"#)),
    r("POST", "/v1/channels/{type}/{id}/members/remove", "/v1/channels/messaging/fz/members/remove", Some(r#"{"user_ids":["carol"]}"#)),
    r("POST", "/v1/channels/{type}/{id}/members/role", "/v1/channels/messaging/fz/members/role", Some(r#"{"user_id":"bob","role":"member"}"#)),
    r("POST", "/v1/channels/{type}/{id}/leave", "/v1/channels/messaging/fz-x/leave", Some("{}")),
    r("POST", "/v1/channels/{type}/{id}/invite", "/v1/channels/messaging/fz/invite", Some(r#"{"user_ids":["carol"]}"#)),
    r("POST", "/v1/channels/{type}/{id}/invite/accept", "/v1/channels/messaging/fz/invite/accept", Some("{}")),
    r("POST", "/v1/channels/{type}/{id}/invite/reject", "/v1/channels/messaging/fz-x/invite/reject", Some("{}")),
    r("POST", "/v1/channels/{type}/{id}/ban", "/v1/channels/messaging/fz-x/ban", Some(r#"{"user_id":"bob","expires_in":60,"shadow":false}"#)),
    r("POST", "/v1/channels/{type}/{id}/unban", "/v1/channels/messaging/fz/unban", Some(r#"{"user_id":"bob"}"#)),
    r("POST", "/v1/channels/{type}/{id}/hide", "/v1/channels/messaging/fz/hide", Some("{}")),
    r("POST", "/v1/channels/{type}/{id}/show", "/v1/channels/messaging/fz/show", Some("{}")),
    r("POST", "/v1/channels/{type}/{id}/mute", "/v1/channels/messaging/fz/mute", Some("{}")),
    r("POST", "/v1/channels/{type}/{id}/unmute", "/v1/channels/messaging/fz/unmute", Some("{}")),
    r("GET", "/v1/messages/{id}", "/v1/messages/$MSG", None),
    r("PATCH", "/v1/messages/{id}", "/v1/messages/$MSG", Some(r#"{"text":"t","attachments":[{"type":"file"}],"mentions":["bob"],"metadata":{"k":"v"},"mutation_id":"m1"}"#)),
    r("DELETE", "/v1/messages/{id}", "/v1/messages/$OTHER?hard=false&mutation_id=m2", None),
    r("POST", "/v1/messages/{id}/pin", "/v1/messages/$MSG/pin?mutation_id=m3", Some("{}")),
    r("DELETE", "/v1/messages/{id}/pin", "/v1/messages/$MSG/pin?mutation_id=m4", None),
    r("GET", "/v1/messages/{id}/replies", "/v1/messages/$MSG/replies?limit=5", None),
    r("POST", "/v1/messages/{id}/reactions", "/v1/messages/$MSG/reactions", Some(r#"{"type":"like","enforce_unique":false,"mutation_id":"m5"}"#)),
    r("DELETE", "/v1/messages/{id}/reactions/{type}", "/v1/messages/$MSG/reactions/like?mutation_id=m6", None),
    r("GET", "/v1/channels/{type}/{id}/pinned", "/v1/channels/messaging/fz/pinned?limit=5", None),
    r("POST", "/v1/channels/{type}/{id}/read", "/v1/channels/messaging/fz/read", Some(r#"{"message_id":"$MSG","mutation_id":"m7"}"#)),
    r("POST", "/v1/channels/{type}/{id}/unread", "/v1/channels/messaging/fz/unread", Some(r#"{"message_id":"$MSG","mutation_id":"m8"}"#)),
    r("GET", "/v1/unread", "/v1/unread", None),
    r("POST", "/v1/sync", "/v1/sync", Some(r#"{"channels":{"messaging:fz":0},"user_seq":0}"#)),
    r("POST", "/v1/search", "/v1/search", Some(r#"{"query":"t","cids":["messaging:fz"],"next":"x"}"#)),
    r("POST", "/v1/users/query", "/v1/users/query", Some(r#"{"filter":{"id_in":["bob"],"prefix":"b","user_type":"regular","team":"t"},"sort":"id","next":"x"}"#)),
    r("POST", "/v1/guest", "/v1/guest", Some(r#"{"api_key":"$KEY","user":{"id":"g1","display_name":"g"}}"#)),
    r("POST", "/v1/users/{id}/deactivate", "/v1/users/nobody/deactivate", Some("{}")),
    r("POST", "/v1/users/{id}/reactivate", "/v1/users/bob/reactivate", Some("{}")),
    r("GET", "/v1/app", "/v1/app", None),
    r("PATCH", "/v1/app", "/v1/app", Some(r#"{"name":"n"}"#)),
    r("POST", "/v1/teams", "/v1/teams", Some(r#"{"name":"t","metadata":{"k":"v"}}"#)),
    r("GET", "/v1/teams", "/v1/teams", None),
    r("POST", "/v1/teams/{name}/users", "/v1/teams/t/users", Some(r#"{"user_ids":["carol"]}"#)),
    r("POST", "/v1/teams/{name}/users/remove", "/v1/teams/t/users/remove", Some(r#"{"user_ids":["carol"]}"#)),
];

/// The route templates the router sources mount.
fn mounted_routes() -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
    let mut routes = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let src = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for part in src.split(".route(\"").skip(1) {
            routes.insert(part.split('"').next().unwrap().to_string());
        }
    }
    routes
}

#[test]
fn every_mounted_route_is_fuzzed() {
    let fuzzed: BTreeSet<String> = ROUTES.iter().map(|r| r.template.to_string()).collect();
    let missing: Vec<String> = mounted_routes().into_iter().filter(|r| !fuzzed.contains(r)).collect();
    assert!(missing.is_empty(), "routes without a fuzz entry: {missing:?}");
}

/// One piece of hostile text, written as the inside of a JSON string literal.
fn hostile_piece(rng: &mut StdRng) -> String {
    match rng.gen_range(0..14) {
        0 => "\\u0000".into(),
        1 => ["\\ud800", "\\udbff", "\\udc00", "\\udfff"][rng.gen_range(0..4)].into(),
        2 => format!("\\u{:04x}", rng.gen_range(1u32..0x20)),
        3 => "\\ud83d\\ude00".into(),
        4 => ["\u{2028}", "\u{feff}", "\u{202e}", "\u{0301}", "\u{fffd}", "\u{10ffff}"][rng.gen_range(0..6)].into(),
        5 => "\\\\".into(),
        6 => "\\\"".into(),
        7 => "%00%ff%2f".into(),
        8 => "x".repeat(rng.gen_range(100..6000)),
        9 => "'; DROP TABLE users; --".into(),
        10 => "$gt".into(),
        _ => {
            let n = rng.gen_range(1..12);
            (0..n)
                .map(|_| loop {
                    let c = match rng.gen_range(0..3) {
                        0 => rng.gen_range(0x20u32..0x7f),
                        1 => rng.gen_range(0xa0u32..0xd800),
                        _ => rng.gen_range(0x10000u32..0x110000),
                    };
                    if let Some(c) = char::from_u32(c) {
                        if c != '"' && c != '\\' {
                            break c;
                        }
                    }
                })
                .collect()
        }
    }
}

/// A JSON string literal of hostile text (always one NUL or surrogate piece or more, often).
fn hostile_literal(rng: &mut StdRng) -> String {
    let n = rng.gen_range(1..5);
    let inner: String = (0..n).map(|_| hostile_piece(rng)).collect();
    format!("\"{inner}\"")
}

/// Hostile text for a path segment or query value, percent-encoded.
fn hostile_segment(rng: &mut StdRng) -> String {
    let bytes: Vec<u8> = match rng.gen_range(0..4) {
        0 => vec![0],
        1 => vec![0xff, 0xfe],
        2 => (0..rng.gen_range(1..40)).map(|_| rng.gen()).collect(),
        _ => "x".repeat(rng.gen_range(60..300)).into_bytes(),
    };
    bytes.iter().map(|b| format!("%{b:02X}")).collect()
}

/// Every string leaf and object key of `v`, as JSON pointers (keys marked with a trailing `#`).
fn string_slots(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::String(_) => out.push(at),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                string_slots(item, format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                out.push(format!("{at}/{k}#"));
                string_slots(item, format!("{at}/{k}"), out);
            }
        }
        _ => {}
    }
}

/// The body with the chosen slots replaced by hostile literals (spliced in as raw JSON, since
/// a lone surrogate cannot live in a `serde_json::Value`).
fn fuzz_body(rng: &mut StdRng, sample: &str) -> String {
    let mut value: Value = serde_json::from_str(sample).unwrap();
    let mut slots = Vec::new();
    string_slots(&value, String::new(), &mut slots);
    if slots.is_empty() {
        // No string field: send a hostile string where an object is expected, or extra keys.
        return if rng.gen_bool(0.5) { hostile_literal(rng) } else { format!("{{{}:1}}", hostile_literal(rng)) };
    }
    let picks = rng.gen_range(1..=slots.len().min(3));
    let mut literals = Vec::new();
    for n in 0..picks {
        let slot = &slots[rng.gen_range(0..slots.len())];
        let marker = format!("\u{1}FUZZ{n}\u{1}");
        if let Some(key_path) = slot.strip_suffix('#') {
            let (parent, key) = key_path.rsplit_once('/').unwrap();
            if let Some(Value::Object(map)) = value.pointer_mut(parent) {
                if let Some(item) = map.remove(key) {
                    map.insert(marker.clone(), item);
                }
            }
        } else if let Some(leaf) = value.pointer_mut(slot) {
            *leaf = Value::String(marker.clone());
        }
        literals.push((serde_json::to_string(&marker).unwrap(), hostile_literal(rng)));
    }
    let mut text = value.to_string();
    for (marker, literal) in literals {
        text = text.replace(&marker, &literal);
    }
    text
}

/// The path with a hostile segment or query value, sometimes.
fn fuzz_path(rng: &mut StdRng, path: &str) -> String {
    let (base, query) = path.split_once('?').map_or((path, None), |(b, q)| (b, Some(q)));
    let mut segments: Vec<String> = base.split('/').map(str::to_string).collect();
    let mut query: Vec<(String, String)> = query
        .map(|q| q.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.into(), v.into())).collect())
        .unwrap_or_default();
    match rng.gen_range(0..3) {
        0 if segments.len() > 3 => {
            let i = rng.gen_range(3..segments.len());
            segments[i] = hostile_segment(rng);
        }
        1 if !query.is_empty() => {
            let i = rng.gen_range(0..query.len());
            query[i].1 = hostile_segment(rng);
        }
        _ => {}
    }
    let mut out = segments.join("/");
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&"));
    }
    out
}

fn fuzz_seconds() -> u64 {
    std::env::var("CHAT_FUZZ_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(12)
}

fn fuzz_seed() -> u64 {
    std::env::var("CHAT_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random)
}

async fn node() -> Node {
    let unlimited = RateLimits { send_message: 1_000_000, write: 1_000_000, read: 1_000_000, typing: 1_000_000, presence: 1_000_000 };
    Node::start_with(Config { admin_token: Some("test-admin".into()), rate_limits: unlimited, ..Config::default() }).await
}

#[tokio::test]
async fn hostile_text_in_any_field_of_any_route_is_never_a_5xx_nor_retryable() {
    let node = node().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    let _bob = app.user("bob").await;
    let _carol = app.user("carol").await;
    alice.create_channel("messaging:fz", &["bob"]).await;
    alice.create_channel("messaging:fz-x", &["bob"]).await;
    let msg = alice.send_with("messaging:fz", json!({ "id": new_id(), "text": "root" })).await["id"].as_str().unwrap().to_string();
    let other = alice.send_with("messaging:fz", json!({ "id": new_id(), "text": "other" })).await["id"].as_str().unwrap().to_string();
    assert_eq!(app.server_post("/v1/teams", json!({ "name": "t" })).await.0, 200);

    let seed = fuzz_seed();
    println!("input fuzz seed {seed} (replay with CHAT_FUZZ_SEED={seed})");
    let mut rng = StdRng::seed_from_u64(seed);
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(fuzz_seconds());
    let mut sent = 0u64;
    let mut by_status = std::collections::BTreeMap::<u16, u64>::new();
    let mut failures: Vec<(String, String)> = Vec::new();
    while Instant::now() < deadline {
        let route = &ROUTES[rng.gen_range(0..ROUTES.len())];
        let fill = |s: &str| {
            s.replace("$MSG", &msg).replace("$OTHER", &other).replace("$NEW", &new_id()).replace("$KEY", &app.api_key)
        };
        let path = fuzz_path(&mut rng, &fill(route.path));
        let body = route.body.map(|b| fuzz_body(&mut rng, &fill(b)));
        let method = reqwest::Method::from_bytes(route.method.as_bytes()).unwrap();
        let mut req = http
            .request(method, format!("{}{}", node.url, path))
            .header("x-api-key", &app.api_key)
            .header("x-api-secret", &app.api_secret)
            .header("x-admin-token", "test-admin")
            .bearer_auth(&alice.token);
        if let Some(b) = &body {
            req = req.header("content-type", "application/json").body(b.clone());
        }
        let resp = req.send().await.expect("the server answers");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        sent += 1;
        *by_status.entry(status).or_default() += 1;
        let what = || format!("{} {path}\n  body: {body:?}\n  → {status} {text}", route.method);
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let wrong = if status >= 500 {
            Some("5xx on hostile input")
        } else if status >= 400 && !v["code"].is_string() {
            Some("an error without the JSON body")
        } else if status >= 400 && v["retryable"] != false {
            Some("a retryable refusal of bad input")
        } else {
            None
        };
        if let Some(why) = wrong {
            // One report per route and kind of failure, so a run shows every class at once.
            let class = format!("{why}: {} {}", route.method, route.template);
            if !failures.iter().any(|(c, _)| *c == class) {
                failures.push((class, what()));
            }
        }
    }
    println!("input fuzz: {sent} requests, by status {by_status:?}");
    let report: Vec<String> = failures.iter().map(|(c, w)| format!("{c}\n  {w}")).collect();
    assert!(failures.is_empty(), "seed {seed}:\n{}", report.join("\n"));
    assert!(sent > 100, "only {sent} requests in the time given");
    // The server still serves the ordinary case.
    assert_eq!(alice.get("/v1/channels/messaging/fz").await.0, 200);
}

#[tokio::test]
async fn hostile_text_in_any_field_of_any_client_frame_never_ends_the_session() {
    let node = node().await;
    let app = TestApp::create(&node).await;
    let alice = app.user("alice").await;
    alice.create_channel("messaging:fzws", &[]).await;
    let mut socket = alice.connect(&node).await;
    let seed = fuzz_seed();
    println!("frame fuzz seed {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let samples = [
        r#"{"type":"ping","id":"1"}"#,
        r#"{"type":"presence.set","status":"away"}"#,
        r#"{"type":"typing.start","cid":"messaging:fzws","parent_id":"p"}"#,
        r#"{"type":"typing.stop","cid":"messaging:fzws","parent_id":"p"}"#,
        r#"{"type":"health.check"}"#,
    ];
    for round in 0..300 {
        let sample = samples[rng.gen_range(0..samples.len())];
        let text = fuzz_body(&mut rng, sample);
        socket.send_text(&text).await;
        // Every frame is answered or ignored; an error frame is never retryable.
        if round % 25 == 24 {
            // A valid ping now and then: its pong proves the session is alive, and it resets the
            // invalid-frame streak (only 100 invalid frames in a row end a session).
            socket.send_json(json!({ "type": "ping", "id": format!("alive-{round}") })).await;
            loop {
                match socket.read(Duration::from_secs(5)).await {
                    Read::Json(v) if v["type"] == "pong" && v["id"] == format!("alive-{round}") => break,
                    Read::Json(v) if v["type"] == "error" => {
                        assert_eq!(v["error"]["retryable"], false, "{v} after {text:?} (seed {seed})")
                    }
                    Read::Json(_) => {}
                    other => panic!("session ended after {text:?}: {other:?} (seed {seed})"),
                }
            }
        }
    }
}
