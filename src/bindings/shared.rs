//! What every handle of one client shares: the client core (connection, listeners, sync,
//! state), its REST calls and store writer (`js/io.js`), the connection driver and the outbox.
//! Also the one place that calls JS listeners and performs the core's data effects (sync
//! requests and reloads, whose answers come back through [`super::host`], and store writes).

use std::cell::RefCell;
use std::rc::Rc;

use chat_protocol::requests::SyncCursor;
use chat_protocol::{ClientFrame, ErrorCode};
use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::JsValue;

use super::rest::{Rest, Writer};
use crate::client::{ClientCore, Effect, RECOVERED_EVENT};
use crate::config::{encode_component, ClientConfig};
use crate::connection::{Action, ConnectionState};
use crate::error::SdkError;
use crate::events::SubscriptionId;
use crate::platform::timer::now_ms;
use crate::state::Wire;
use crate::sync::{SyncAnswer, SyncRequest};

pub(crate) type Core = ClientCore<Function, JsValue>;

pub(crate) struct Shared {
    pub core: RefCell<Core>,
    pub config: ClientConfig,
    /// REST calls with the current token (and its refresh through the token provider).
    pub rest: Rest,
    /// Mirrors the state's changes into the store, in order.
    pub writer: Writer,
    /// The connection driver's state and its `js/io.js` ([`super::driver`]).
    pub driver: RefCell<super::driver::Driver>,
    /// The store, its writer and the cold start ([`super::offline`]).
    pub offline: super::offline::Offline,
    /// The outbox's delivery loop (`js/io.js`, [`super::outbox`]).
    pub outbox: super::outbox::Delivery,
    /// When this client last posted per channel (pre-flight slow-mode checks).
    pub posts: RefCell<crate::preflight::PostTimes>,
}

impl Shared {
    /// Calls each listener with `event`, skipping any unsubscribed meanwhile. A listener that
    /// throws is reported on the console and does not stop the others.
    pub fn call_listeners(&self, listeners: Vec<(SubscriptionId, Function)>, event: &JsValue) {
        for (id, listener) in listeners {
            if !self.core.borrow().is_subscribed(id) {
                continue;
            }
            if let Err(thrown) = listener.call1(&JsValue::UNDEFINED, event) {
                web_sys::console::error_2(&JsValue::from_str("chat-sdk: listener threw"), &thrown);
            }
        }
    }

    /// Why changes cannot be delivered any more, once the session ended for good (token expired
    /// without a provider, revoked, deactivated, or `disconnect()`): they are refused at once
    /// with that error instead of waiting in the outbox for a session that will not come back.
    pub fn ended(&self) -> Option<SdkError> {
        let core = self.core.borrow();
        if core.state() != ConnectionState::Closed {
            return None;
        }
        let mut e = match core.machine().close_error() {
            Some(e) => e.clone(),
            None => return Some(SdkError::closed()),
        };
        e.status = e.code.http_status();
        e.retryable = false;
        Some(e)
    }

    /// Calls the listeners of a client-made event (`type`, and `cid` when it has one).
    pub fn emit(&self, event: &JsValue) {
        let kind = event.str_of("type").unwrap_or_default();
        let cid = event.str_of("cid");
        let listeners = self.core.borrow().listeners(&kind, cid.as_deref());
        self.call_listeners(listeners, event);
    }

    /// Emits `{type: 'connection.changed', state, online}`.
    pub fn emit_connection_changed(&self, state: ConnectionState) {
        let listeners = self.core.borrow().connection_listeners();
        if listeners.is_empty() {
            return;
        }
        let event = object(&[
            ("type", "connection.changed".into()),
            ("state", state.as_str().into()),
            ("online", state.is_online().into()),
        ]);
        self.call_listeners(listeners, &event);
    }

    pub fn send_frame(&self, frame: ClientFrame) {
        super::driver::send(self, &frame);
    }

    /// One REST call with the current token (an expired one is refreshed once and the call
    /// repeated): a promise of the answer.
    pub fn request(&self, method: &str, path: &str, body: Option<&JsValue>) -> js_sys::Promise {
        let none = JsValue::UNDEFINED;
        self.rest.call(method, path, body.unwrap_or(&none))
    }

    /// Performs data effects; returns the connection actions (for the driver).
    pub fn perform(self: &Rc<Self>, effects: Vec<Effect<Function, JsValue>>) -> Vec<Action> {
        let mut actions = Vec::new();
        for effect in effects {
            match effect {
                Effect::Connection(action) => actions.push(action),
                Effect::Deliver { event, listeners } => self.call_listeners(listeners, &event),
                Effect::Recovered(listeners) => {
                    let event = object(&[("type", RECOVERED_EVENT.into())]);
                    self.call_listeners(listeners, &event);
                }
                Effect::Sync(request) => {
                    let body = sync_body(&request);
                    let none = JsValue::UNDEFINED;
                    self.rest
                        .after(super::host::SYNCED, &none, "POST", "/v1/sync", &body);
                }
                Effect::Reload(cid) => self.spawn_reload(cid),
                Effect::Persist(batch) => super::offline::persist(self, batch),
                Effect::ReloadUser => {
                    let cids: Vec<String> =
                        self.core.borrow().state.channels.keys().cloned().collect();
                    for cid in cids {
                        self.core.borrow_mut().begin_load(&cid);
                        self.spawn_reload(cid);
                    }
                }
            }
        }
        actions
    }

    /// Loads a channel from the server again, in the background (its state and cache; the
    /// answer comes back as [`Shared::reloaded`]).
    pub(crate) fn spawn_reload(&self, cid: String) {
        let Some((t, id)) = chat_protocol::split_cid(&cid) else {
            return;
        };
        let path = channel_path(t, id, "");
        let none = JsValue::UNDEFINED;
        self.rest.after(
            super::host::RELOADED,
            &cid.as_str().into(),
            "GET",
            &path,
            &none,
        );
    }

    /// The answer to a sync request (`[answer, error]`).
    pub(crate) fn synced(self: &Rc<Self>, result: &JsValue) {
        match super::rest::outcome(result) {
            Ok(answer) => {
                let answer = sync_answer(&answer);
                let progress = sync_progress(&answer);
                let effects = self.core.borrow_mut().sync_answer(now_ms(), answer);
                self.perform(effects);
                self.emit(&progress);
            }
            Err(_) => self.core.borrow_mut().sync_failed(),
        }
    }

    /// The answer to a channel reload (`[answer, error]`).
    pub(crate) fn reloaded(self: &Rc<Self>, cid: &str, result: &JsValue) {
        let effects = match super::rest::outcome(result) {
            Ok(state) => self.core.borrow_mut().load_channel(now_ms(), &state),
            Err(e) => {
                let gone = matches!(e.code, ErrorCode::NotFound | ErrorCode::Forbidden);
                self.core.borrow_mut().reload_failed(now_ms(), cid, gone)
            }
        };
        self.perform(effects);
    }
}

#[wasm_bindgen::prelude::wasm_bindgen(module = "/js/io.js")]
extern "C" {
    /// A new client-chosen id (uuid v4, hyphenated, lower case) for a message or a mutation
    /// (`js/io.js`: the browser's generator, no uuid code in the wasm).
    #[wasm_bindgen(js_name = newId)]
    pub(crate) fn new_id() -> String;
}

/// `/v1/channels/{type}/{id}{rest}` with both segments encoded.
pub(crate) fn channel_path(channel_type: &str, id: &str, rest: &str) -> String {
    [
        "/v1/channels/",
        &encode_component(channel_type),
        "/",
        &encode_component(id),
        rest,
    ]
    .concat()
}

pub(crate) fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        let _ = Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o.into()
}

/// The `POST /v1/sync` body (`SyncRequest` in the protocol), written field by field.
fn sync_body(request: &SyncRequest) -> JsValue {
    let channels = Object::new();
    for (cid, seq) in &request.channels {
        let _ = Reflect::set(&channels, &JsValue::from_str(cid), &(*seq as f64).into());
    }
    let body = object(&[("channels", channels.into())]);
    let optional = [
        ("user_seq", request.user_seq.map(|s| s as f64)),
        ("limit", request.limit.map(f64::from)),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            let _ = Reflect::set(&body, &key.into(), &value.into());
        }
    }
    body
}

/// `{type: 'sync.progress', events, more}`: how many missed events a sync page brought and
/// whether more pages follow (an app can show a sync bar until `connection.recovered`).
fn sync_progress(answer: &SyncAnswer<JsValue>) -> JsValue {
    let events = answer.events.len() + answer.user_events.len();
    let more = answer.channels.iter().any(|(_, c)| c.has_more)
        || answer.user.as_ref().is_some_and(|u| u.has_more);
    object(&[
        ("type", "sync.progress".into()),
        ("events", (events as f64).into()),
        ("more", more.into()),
    ])
}

fn cursor(value: &JsValue) -> SyncCursor {
    SyncCursor {
        last_seq: value.u64_of("last_seq").unwrap_or(0),
        has_more: value.flag("has_more"),
        resync: value.flag("resync"),
        page_seq: value.u64_of("page_seq"),
    }
}

/// Reads a `POST /v1/sync` answer, keeping the events as JS objects.
fn sync_answer(answer: &JsValue) -> SyncAnswer<JsValue> {
    let events = answer
        .list_of("events")
        .into_iter()
        .filter_map(|e| Some((e.str_of("cid")?, e.u64_of("channel_seq")?, e)))
        .collect();
    let channels = answer
        .field("channels")
        .map(|c| {
            Object::entries(&Object::from(c))
                .iter()
                .filter_map(|pair| {
                    let pair = Array::from(&pair);
                    Some((pair.get(0).as_string()?, cursor(&pair.get(1))))
                })
                .collect()
        })
        .unwrap_or_default();
    let user_events = answer
        .list_of("user_events")
        .into_iter()
        .filter_map(|e| Some((e.u64_of("user_seq")?, e)))
        .collect();
    SyncAnswer {
        events,
        channels,
        user_events,
        user: answer.field("user").map(|u| cursor(&u)),
    }
}
