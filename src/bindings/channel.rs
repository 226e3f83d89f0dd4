//! `Channel`: a handle on one channel (`type:id`) of a client — its live state, typing, and its
//! events only — and what the JS facade's channel methods (`js/index.js`: create, watch, pages
//! of messages, threads, pins, drafts, every change) do to the state when the server answers
//! ([`loaded`], [`put_messages`], [`set_pinned`], [`from_cache`]).

use std::rc::Rc;

use js_sys::{Array, Function, JsString, Object, Reflect};
use wasm_bindgen::prelude::*;

use super::client::subscribe;
use super::errors::bad_argument;
use super::shared::{object, Shared};
use crate::platform::timer::now_ms;
use crate::state::{ChannelState, Wire};

#[wasm_bindgen]
#[derive(Clone)]
pub struct Channel {
    shared: Rc<Shared>,
    channel_type: String,
    id: String,
    cid: String,
    /// The `CreateChannel` body for `create()`, as given by JS (the server validates it).
    data: JsValue,
}

fn is_absent(value: &JsValue) -> bool {
    value.is_undefined() || value.is_null()
}

fn array(items: impl IntoIterator<Item = JsValue>) -> JsValue {
    items.into_iter().collect::<Array>().into()
}

fn record(items: impl IntoIterator<Item = (String, JsValue)>) -> JsValue {
    let o = Object::new();
    for (k, v) in items {
        let _ = Reflect::set(&o, &JsValue::from_str(&k), &v);
    }
    o.into()
}

impl Channel {
    pub(crate) fn new(
        shared: Rc<Shared>,
        channel_type: &str,
        id: &str,
        data: JsValue,
    ) -> Result<Channel, JsValue> {
        if channel_type.is_empty() || id.is_empty() || channel_type.contains(':') {
            return Err(bad_argument(
                "client.channel",
                "type and id must be non-empty",
            ));
        }
        let data = if is_absent(&data) {
            Object::new().into()
        } else if data.is_object() {
            data
        } else {
            return Err(bad_argument("client.channel", "data must be an object"));
        };
        Ok(Channel {
            shared,
            channel_type: channel_type.to_string(),
            id: id.to_string(),
            cid: chat_protocol::cid(channel_type, id),
            data,
        })
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut ChannelState<JsValue>) -> T) -> T {
        f(self.shared.core.borrow_mut().state.channel_mut(&self.cid))
    }
}

#[wasm_bindgen]
impl Channel {
    /// `type:id`.
    #[wasm_bindgen(getter)]
    pub fn cid(&self) -> JsString {
        self.cid.as_str().into()
    }

    #[wasm_bindgen(getter, js_name = "type")]
    pub fn channel_type(&self) -> JsString {
        self.channel_type.as_str().into()
    }

    #[wasm_bindgen(getter)]
    pub fn id(&self) -> JsString {
        self.id.as_str().into()
    }

    /// The live state: messages (oldest first, local echoes last), threads, pinned, members,
    /// reads, typing, watcher count, unread count.
    #[wasm_bindgen(getter, unchecked_return_type = "ChannelLocalState")]
    pub fn state(&self) -> JsValue {
        let now = now_ms();
        self.with_state(|c| {
            let entries = |l: &crate::state::MessageList<JsValue>| {
                array(l.entries().iter().map(|e| e.data.clone()))
            };
            let typing = c.typing_now(now).into_iter().map(|(user, parent)| {
                object(&[
                    ("user_id", user.into()),
                    (
                        "parent_id",
                        parent.map_or(JsValue::UNDEFINED, JsValue::from),
                    ),
                ])
            });
            let typing = array(typing);
            object(&[
                ("channel", c.channel.clone().unwrap_or(JsValue::UNDEFINED)),
                ("messages", entries(&c.messages)),
                (
                    "threads",
                    record(c.threads.iter().map(|(p, l)| (p.clone(), entries(l)))),
                ),
                ("pinned", array(c.pinned.iter().cloned())),
                (
                    "members",
                    record(c.members.iter().map(|(k, v)| (k.clone(), v.clone()))),
                ),
                (
                    "read",
                    record(c.reads.iter().map(|(k, v)| (k.clone(), v.clone()))),
                ),
                (
                    "membership",
                    c.membership.clone().unwrap_or(JsValue::UNDEFINED),
                ),
                ("unreadCount", (c.unread_count as f64).into()),
                ("typing", typing),
                ("watcherCount", (c.watcher_count as f64).into()),
                ("deleted", c.deleted.into()),
            ])
        })
    }

    /// Call on every keystroke: sends `typing.start` at most once every 2 s (per thread with
    /// `parentId`); `typing.stop` follows by itself after a few seconds without keystrokes.
    pub fn keystroke(&self, #[wasm_bindgen(js_name = parentId)] parent_id: Option<String>) {
        let frame =
            self.shared
                .core
                .borrow_mut()
                .keystroke(now_ms(), &self.cid, parent_id.as_deref());
        if let Some(frame) = frame {
            self.shared.send_frame(frame);
        }
    }

    /// Sends `typing.stop` now (if a start was sent).
    #[wasm_bindgen(js_name = stopTyping)]
    pub fn stop_typing(&self, #[wasm_bindgen(js_name = parentId)] parent_id: Option<String>) {
        let frame = self
            .shared
            .core
            .borrow_mut()
            .stop_typing(&self.cid, parent_id.as_deref());
        if let Some(frame) = frame {
            self.shared.send_frame(frame);
        }
    }

    /// What `client.channel(type, id, data)` was given (`create()` sends it).
    #[wasm_bindgen(getter, js_name = _data)]
    pub fn data(&self) -> JsValue {
        self.data.clone()
    }

    /// The client's synchronous entry for the JS facade ([`super::host`]).
    #[wasm_bindgen(js_name = _host)]
    pub fn host(&self, kind: u32, a: JsValue, b: JsValue) -> Result<JsValue, JsValue> {
        super::host::host(&self.shared, kind, a, b)
    }

    /// Listens to `event` (or `*`) on this channel only. Returns a function that unsubscribes.
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn on(&self, event: &str, listener: Function) -> Function {
        subscribe(&self.shared, event, Some(&self.cid), listener)
    }
}

/// The state held for channel `cid` as a `ChannelState` answer marked `from_cache`.
fn cached_answer(c: &ChannelState<JsValue>) -> JsValue {
    let messages = array(c.messages.entries().iter().map(|e| e.data.clone()));
    object(&[
        ("channel", c.channel.clone().unwrap_or(JsValue::UNDEFINED)),
        ("members", array(c.members.values().cloned())),
        ("messages", messages),
        ("read", array(c.reads.values().cloned())),
        (
            "membership",
            c.membership.clone().unwrap_or(JsValue::UNDEFINED),
        ),
        ("watcher_count", (c.watcher_count as f64).into()),
        ("from_cache", true.into()),
    ])
}

/// A channel opened from the cache and not loaded from the server yet this session: its
/// cached state as a `ChannelState` answer (`watch()` answers with it at once and loads the
/// channel in the background); `undefined` otherwise. Either way the channel counts as loaded
/// from now on.
pub(crate) fn from_cache(shared: &Shared, cid: &str) -> JsValue {
    let cached = {
        let mut list = shared.offline.cached.borrow_mut();
        let at = list.iter().position(|c| c == cid);
        at.map(|i| list.remove(i)).is_some()
    };
    if !cached {
        return JsValue::UNDEFINED;
    }
    cached_answer(shared.core.borrow_mut().state.channel_mut(cid))
}

/// A load of channel `cid` (create, watch) starts.
pub(crate) fn loading(shared: &Shared, cid: &str) {
    shared.core.borrow_mut().begin_load(cid);
}

/// A `ChannelState` answer becomes its channel's state; `None` when the load failed.
pub(crate) fn loaded(shared: &Rc<Shared>, cid: &str, state: Option<&JsValue>) {
    let effects = match state {
        Some(state) => shared.core.borrow_mut().load_channel(now_ms(), state),
        None => shared.core.borrow_mut().reload_failed(now_ms(), cid, false),
    };
    shared.perform(effects);
}

/// Messages of a page (or thread page) the server answered, merged into channel `cid`.
pub(crate) fn put_messages(shared: &Shared, cid: &str, messages: &JsValue) {
    let mut core = shared.core.borrow_mut();
    let c = core.state.channel_mut(cid);
    for m in messages.items() {
        c.put_message(m, 0);
    }
}

/// The pinned messages of channel `cid`, most recently pinned first.
pub(crate) fn set_pinned(shared: &Shared, cid: &str, messages: &JsValue) {
    shared
        .core
        .borrow_mut()
        .state
        .channel_mut(cid)
        .set_pinned(messages.items());
}
