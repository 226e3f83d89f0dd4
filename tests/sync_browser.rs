//! Browser tests of the client state and the sync loop against a running chat server (headless
//! Chromium), two clients each: live events update `channel.state`, and a client whose socket is
//! dropped (browser `offline` event) while the other keeps changing the channel converges after
//! `online`, with nothing lost or doubled. Run like tests/browser.rs (CHAT_TEST_SERVER).
#![cfg(target_family = "wasm")]

use std::cell::RefCell;
use std::rc::Rc;

use chat_sdk::bindings::{Channel, ChatClient};
use chat_sdk::platform::timer::Sleep;
use js_sys::Array;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod support;
use support::{get, object, server, text, unique};


async fn connect(user_id: &str) -> ChatClient {
    let url = format!("{}/dev/credentials?user_id={user_id}", server());
    let reply = gloo_net::http::Request::get(&url).send().await.unwrap();
    let body = js_sys::JSON::parse(&reply.text().await.unwrap()).unwrap();
    let options = object(&[
        ("apiUrl", server().into()),
        ("apiKey", "demo".into()),
        ("userId", user_id.into()),
        ("token", get(&body, "token")),
    ]);
    ChatClient::connect(options).await.expect("connect")
}

fn message_ids(channel: &Channel) -> Vec<String> {
    let messages: Array = get(&channel.state(), "messages").dyn_into().unwrap();
    messages.iter().map(|m| text(&m, "id")).collect()
}

async fn until(ms: u64, mut condition: impl FnMut() -> bool) -> bool {
    for _ in 0..ms / 20 {
        if condition() {
            return true;
        }
        Sleep::new(20).await;
    }
    condition()
}

fn window_event(name: &str) {
    let window = web_sys::window().unwrap();
    window
        .dispatch_event(&web_sys::Event::new(name).unwrap())
        .unwrap();
}

async fn pair() -> (ChatClient, ChatClient, String, Channel, Channel) {
    let (a, b) = (unique("alice"), unique("bob"));
    let alice = connect(&a).await;
    let bob = connect(&b).await;
    let room = unique("room");
    let members: Array = [a.as_str(), b.as_str()]
        .iter()
        .map(|m| JsValue::from_str(m))
        .collect();
    let data = object(&[("members", members.into())]);
    let alice_room = alice.channel("messaging", &room, data).unwrap();
    alice_room.create().await.expect("create");
    let bob_room = bob.channel("messaging", &room, JsValue::UNDEFINED).unwrap();
    bob_room.watch().await.expect("watch");
    (alice, bob, b, alice_room, bob_room)
}

#[wasm_bindgen_test]
async fn live_events_update_the_other_clients_state() {
    let (alice, bob, bob_id, alice_room, bob_room) = pair().await;
    assert!(get(&bob_room.state(), "watcherCount").as_f64().unwrap() >= 1.0);

    // Messages, with the sender's local echo replaced by the server's copy.
    let sent = alice_room
        .send_message(object(&[("text", "one".into())]))
        .await
        .unwrap();
    let id = text(&sent, "id");
    assert_eq!(message_ids(&alice_room), std::slice::from_ref(&id));
    assert!(
        until(5_000, || message_ids(&bob_room) == [id.clone()]).await,
        "bob got it"
    );
    assert_eq!(get(&bob_room.state(), "unreadCount").as_f64(), Some(1.0));
    assert_eq!(
        get(&bob.unread_count(), "total_unread_count").as_f64(),
        Some(1.0)
    );

    // Edits and reactions (through the generic request with mutation ids).
    let path = format!("/v1/messages/{id}");
    alice
        .request(
            "PATCH",
            &path,
            object(&[("text", "edited".into())]),
            Some(true),
        )
        .await
        .unwrap();
    let body = object(&[("type", "like".into())]);
    alice
        .request("POST", &format!("{path}/reactions"), body, Some(true))
        .await
        .unwrap();
    let first = |c: &Channel| get(&c.state(), "messages.0");
    assert!(
        until(5_000, || text(&first(&bob_room), "text") == "edited"
            && get(&first(&bob_room), "reaction_counts.like").as_f64()
                == Some(1.0))
        .await
    );

    // Threads and pins.
    let reply = object(&[
        ("text", "in thread".into()),
        ("parent_id", id.as_str().into()),
    ]);
    alice_room.send_message(reply).await.unwrap();
    alice
        .request(
            "POST",
            &format!("{path}/pin"),
            JsValue::UNDEFINED,
            Some(true),
        )
        .await
        .unwrap();
    assert!(
        until(5_000, || {
            let s = bob_room.state();
            get(&s, &format!("threads.{id}"))
                .dyn_into::<Array>()
                .is_ok_and(|t| t.length() == 1)
                && get(&s, "pinned")
                    .dyn_into::<Array>()
                    .is_ok_and(|p| p.length() == 1)
        })
        .await,
        "thread reply and pin reached bob"
    );
    assert_eq!(
        message_ids(&bob_room),
        std::slice::from_ref(&id),
        "replies stay out of the main list"
    );

    // Reads.
    bob_room.mark_read(None).await.unwrap();
    assert_eq!(get(&bob_room.state(), "unreadCount").as_f64(), Some(0.0));
    assert!(
        until(5_000, || get(
            &alice_room.state(),
            &format!("read.{bob_id}")
        )
        .is_object())
        .await
    );

    // Typing.
    alice_room.keystroke(None);
    alice_room.keystroke(None); // throttled: one typing.start
    assert!(
        until(5_000, || get(&bob_room.state(), "typing")
            .dyn_into::<Array>()
            .is_ok_and(|t| t.length() == 1))
        .await
    );
    alice_room.stop_typing(None);
    assert!(
        until(5_000, || get(&bob_room.state(), "typing")
            .dyn_into::<Array>()
            .is_ok_and(|t| t.length() == 0))
        .await
    );

    // Members.
    let carol = unique("carol");
    connect(&carol).await.disconnect().await;
    let ids: Array = [JsValue::from_str(&carol)].into_iter().collect();
    let path = format!("/v1/channels/messaging/{}/members", alice_room.id());
    alice
        .request("POST", &path, object(&[("user_ids", ids.into())]), None)
        .await
        .unwrap();
    assert!(
        until(5_000, || get(
            &bob_room.state(),
            &format!("members.{carol}")
        )
        .is_object())
        .await
    );

    alice.disconnect().await;
    bob.disconnect().await;
}

#[wasm_bindgen_test]
async fn a_dropped_socket_catches_up_with_nothing_lost_or_doubled() {
    let (alice, bob, _, alice_room, bob_room) = pair().await;
    let seen: Rc<RefCell<Vec<String>>> = Rc::default();
    let sink = seen.clone();
    let listener = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
        sink.borrow_mut().push(text(&e, "message.id"));
    });
    let _off = bob_room.on(
        "message.new",
        listener
            .as_ref()
            .unchecked_ref::<js_sys::Function>()
            .clone(),
    );
    let recovered = Rc::new(RefCell::new(0));
    let count = recovered.clone();
    let on_recovered = Closure::<dyn FnMut(JsValue)>::new(move |_| *count.borrow_mut() += 1);
    let _off2 = bob.on(
        "connection.recovered",
        on_recovered
            .as_ref()
            .unchecked_ref::<js_sys::Function>()
            .clone(),
    );

    alice_room
        .send_message(object(&[("text", "before".into())]))
        .await
        .unwrap();
    assert!(until(5_000, || seen.borrow().len() == 1).await);

    // Bob's socket goes away (the browser says offline); Alice keeps talking.
    window_event("offline");
    assert!(until(2_000, || bob.connection_state() == "offline").await);
    let mut sent = Vec::new();
    for i in 0..5 {
        let m = alice_room
            .send_message(object(&[("text", format!("while away {i}").into())]))
            .await
            .unwrap();
        sent.push(text(&m, "id"));
    }
    alice
        .request(
            "PATCH",
            &format!("/v1/messages/{}", sent[0]),
            object(&[("text", "edited away".into())]),
            Some(true),
        )
        .await
        .unwrap();
    window_event("online");
    assert!(
        until(10_000, || *recovered.borrow() >= 1).await,
        "connection.recovered"
    );

    let ids = message_ids(&bob_room);
    let page = alice_room
        .query_messages(object(&[("limit", 50.into())]))
        .await
        .unwrap();
    let server: Vec<String> = page
        .dyn_into::<Array>()
        .unwrap()
        .iter()
        .map(|m| text(&m, "id"))
        .collect();
    assert_eq!(ids, server, "bob's messages equal the server's, in order");
    assert_eq!(
        seen.borrow().len(),
        6,
        "each message delivered once: {:?}",
        seen.borrow()
    );
    assert_eq!(
        text(&get(&bob_room.state(), "messages.1"), "text"),
        "edited away"
    );
    alice.disconnect().await;
    bob.disconnect().await;
}
