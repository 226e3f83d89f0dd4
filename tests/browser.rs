//! Browser tests of the JS facade against a running chat server (headless Chromium).
//!
//! Run with the server's URL baked in at compile time:
//! `CHAT_TEST_SERVER=http://127.0.0.1:PORT wasm-pack test --headless --chrome --chromedriver /usr/bin/chromedriver`
//! (start the server with `cargo run -p chat-server -- serve --demo --port 0`). Every test
//! uses fresh user and channel ids, so tests do not see each other's events.
#![cfg(target_family = "wasm")]

use std::cell::RefCell;
use std::rc::Rc;

use chat_sdk::bindings::{Channel, ChatClient};
use chat_sdk::platform::timer::Sleep;
use js_sys::Function;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod support;
use support::{get, object, server, text, unique};


async fn token_for(user_id: &str) -> String {
    let url = format!("{}/dev/credentials?user_id={user_id}", server());
    let reply = gloo_net::http::Request::get(&url)
        .send()
        .await
        .expect("credentials request");
    assert_eq!(
        reply.status(),
        200,
        "GET /dev/credentials (is the server in --demo mode?)"
    );
    let body = js_sys::JSON::parse(&reply.text().await.unwrap()).unwrap();
    text(&body, "token")
}

fn options(api_key: &str, user_id: &str, token: &str) -> JsValue {
    object(&[
        ("apiUrl", server().into()),
        ("apiKey", api_key.into()),
        ("userId", user_id.into()),
        ("token", token.into()),
    ])
}

async fn connect(user_id: &str) -> ChatClient {
    let token = token_for(user_id).await;
    ChatClient::connect(options("demo", user_id, &token))
        .await
        .expect("connect")
}

/// Collects the events a listener receives; keeps its JS callback alive while it lives.
struct Recorder {
    events: Rc<RefCell<Vec<JsValue>>>,
    callback: Closure<dyn FnMut(JsValue)>,
}

impl Recorder {
    fn new() -> Self {
        let events: Rc<RefCell<Vec<JsValue>>> = Rc::default();
        let sink = events.clone();
        let callback = Closure::<dyn FnMut(JsValue)>::new(move |ev| sink.borrow_mut().push(ev));
        Recorder { events, callback }
    }

    fn function(&self) -> Function {
        self.callback.as_ref().unchecked_ref::<Function>().clone()
    }

    fn count_where(&self, predicate: impl Fn(&JsValue) -> bool) -> usize {
        self.events.borrow().iter().filter(|e| predicate(e)).count()
    }

    /// Waits up to `ms` for an event matching `predicate`.
    async fn wait_for(&self, ms: u64, predicate: impl Fn(&JsValue) -> bool) -> bool {
        for _ in 0..ms / 20 {
            if self.count_where(&predicate) > 0 {
                return true;
            }
            Sleep::new(20).await;
        }
        self.count_where(&predicate) > 0
    }
}

async fn shared_channel(creator: &ChatClient, members: &[&str]) -> (String, Channel) {
    let id = unique("room");
    let members: js_sys::Array = members.iter().map(|m| JsValue::from_str(m)).collect();
    let data = object(&[("name", "Test room".into()), ("members", members.into())]);
    let channel = creator.channel("messaging", &id, data).unwrap();
    channel.create().await.expect("create channel");
    (id, channel)
}

fn error_code(error: &JsValue) -> String {
    assert!(
        error.is_instance_of::<js_sys::Error>(),
        "rejects with an Error object: {error:?}"
    );
    text(error, "code")
}

#[wasm_bindgen_test]
async fn connect_goes_online_and_disconnect_closes() {
    let user = unique("u");
    let client = connect(&user).await;
    assert_eq!(client.user_id(), user);
    assert_eq!(client.connection_state(), "online");

    let changes = Recorder::new();
    let _off = client.on("connection.changed", changes.function());
    client.disconnect().await;
    assert_eq!(client.connection_state(), "closed");
    assert!(
        changes
            .wait_for(100, |e| text(e, "state") == "closed")
            .await
    );
    let last = changes.events.borrow().last().cloned().unwrap();
    assert_eq!(text(&last, "type"), "connection.changed");
    assert_eq!(get(&last, "online").as_bool(), Some(false));
    // A second disconnect is harmless.
    client.disconnect().await;
}

#[wasm_bindgen_test]
async fn a_message_reaches_the_other_client_exactly_once() {
    let (alice_id, bob_id) = (unique("alice"), unique("bob"));
    let alice = connect(&alice_id).await;
    let bob = connect(&bob_id).await;
    let (room, alice_room) = shared_channel(&alice, &[&alice_id, &bob_id]).await;

    let everything = Recorder::new();
    let _off_all = bob.on("*", everything.function());
    let in_room = Recorder::new();
    let bob_room = bob.channel("messaging", &room, JsValue::UNDEFINED).unwrap();
    assert_eq!(bob_room.cid(), format!("messaging:{room}"));
    let _off_room = bob_room.on("message.new", in_room.function());
    let elsewhere = Recorder::new();
    let other = bob
        .channel("messaging", &unique("other"), JsValue::UNDEFINED)
        .unwrap();
    let _off_other = other.on("*", elsewhere.function());

    let sent = alice_room
        .send_message(object(&[("text", "hello bob".into())]))
        .await
        .expect("send");
    let id = text(&sent, "id");
    assert_eq!(id.len(), 36, "a uuid was generated: {id}");
    assert_eq!(text(&sent, "text"), "hello bob");

    let is_it = |e: &JsValue| text(e, "type") == "message.new" && text(e, "message.id") == id;
    assert!(
        everything.wait_for(5_000, is_it).await,
        "bob received message.new"
    );
    Sleep::new(500).await;
    assert_eq!(everything.count_where(is_it), 1, "delivered exactly once");
    assert_eq!(
        in_room.count_where(is_it),
        1,
        "the channel listener got it too"
    );
    assert_eq!(
        elsewhere.events.borrow().len(),
        0,
        "other channels' listeners did not"
    );
    let event = everything
        .events
        .borrow()
        .iter()
        .find(|e| is_it(e))
        .cloned()
        .unwrap();
    assert_eq!(text(&event, "cid"), format!("messaging:{room}"));
    assert_eq!(text(&event, "message.text"), "hello bob");
    assert_eq!(text(&event, "message.user_id"), alice_id);

    alice.disconnect().await;
    bob.disconnect().await;
}

#[wasm_bindgen_test]
async fn resending_the_same_id_returns_the_same_message() {
    let user = unique("u");
    let client = connect(&user).await;
    let (_, room) = shared_channel(&client, &[&user]).await;
    let id = uuid::Uuid::new_v4().to_string();
    let body = || object(&[("id", id.as_str().into()), ("text", "once".into())]);
    let first = room.send_message(body()).await.expect("first send");
    let again = room.send_message(body()).await.expect("resend");
    assert_eq!(text(&first, "id"), id);
    assert_eq!(text(&again, "id"), id);
    assert_eq!(
        get(&first, "channel_seq").as_f64(),
        get(&again, "channel_seq").as_f64()
    );

    let page = room
        .query_messages(object(&[("limit", 50.into())]))
        .await
        .expect("query");
    let page: js_sys::Array = page.dyn_into().unwrap();
    let copies = page.iter().filter(|m| text(m, "id") == id).count();
    assert_eq!(copies, 1, "stored once");
    client.disconnect().await;
}

#[wasm_bindgen_test]
async fn unknown_api_key_and_bad_token_reject_with_their_codes() {
    let user = unique("u");
    let token = token_for(&user).await;
    let Err(e) = ChatClient::connect(options("no-such-key", &user, &token)).await else {
        panic!("connected with an unknown api key");
    };
    assert_eq!(error_code(&e), "unknown_api_key");
    assert_eq!(get(&e, "retryable").as_bool(), Some(false));

    let Err(e) = ChatClient::connect(options("demo", &user, "not.a.jwt")).await else {
        panic!("connected with a bad token");
    };
    assert_eq!(error_code(&e), "invalid_token");

    let Err(e) = ChatClient::connect(object(&[("apiKey", "demo".into())])).await else {
        panic!("connected without options");
    };
    assert_eq!(error_code(&e), "invalid_input");
    assert_eq!(get(&e, "status").as_f64(), Some(0.0));
}

#[wasm_bindgen_test]
async fn http_errors_reject_with_code_and_status() {
    let (owner, outsider) = (unique("owner"), unique("outsider"));
    let owner_client = connect(&owner).await;
    let (room, _) = shared_channel(&owner_client, &[&owner]).await;
    let client = connect(&outsider).await;
    let foreign = client
        .channel("messaging", &room, JsValue::UNDEFINED)
        .unwrap();
    let Err(e) = foreign.query_messages(JsValue::UNDEFINED).await else {
        panic!("a non-member read the channel");
    };
    let code = error_code(&e);
    assert!(code == "forbidden" || code == "not_found", "{code}");
    let status = get(&e, "status").as_f64().unwrap();
    assert!(status == 403.0 || status == 404.0, "{status}");
    assert_eq!(get(&e, "retryable").as_bool(), Some(false));
    owner_client.disconnect().await;
    client.disconnect().await;
}

#[wasm_bindgen_test]
async fn disconnect_and_unsubscribe_stop_events() {
    let (alice_id, bob_id, carol_id) = (unique("alice"), unique("bob"), unique("carol"));
    let alice = connect(&alice_id).await;
    let bob = connect(&bob_id).await;
    let carol = connect(&carol_id).await;
    let (_, room) = shared_channel(&alice, &[&alice_id, &bob_id, &carol_id]).await;

    let bob_events = Recorder::new();
    let _off_bob = bob.on("message.new", bob_events.function());
    let carol_events = Recorder::new();
    let off_carol = carol.on("message.new", carol_events.function());
    let carol_still = Recorder::new();
    let _keep = carol.on("message.new", carol_still.function());

    bob.disconnect().await;
    off_carol.call0(&JsValue::UNDEFINED).unwrap();
    assert_eq!(bob.connection_state(), "closed");

    room.send_message(object(&[("text", "anyone?".into())]))
        .await
        .expect("send");
    assert!(
        carol_still.wait_for(5_000, |_| true).await,
        "the remaining listener is called"
    );
    Sleep::new(300).await;
    assert_eq!(
        bob_events.events.borrow().len(),
        0,
        "no events after disconnect"
    );
    assert_eq!(
        carol_events.events.borrow().len(),
        0,
        "no events after unsubscribe"
    );
    alice.disconnect().await;
    carol.disconnect().await;
}
