//! `Channel`: a handle on one channel (`type:id`) of a client — create or watch it, read its
//! live state, send and page messages (with local echoes), threads, pinned messages, reads,
//! typing, and listen to its events only. Other channel operations go through
//! `ChatClient.request` in the JS facade.

use std::rc::Rc;

use js_sys::{Array, Function, JsString, Object, Reflect};
use wasm_bindgen::prelude::*;

use super::client::subscribe;
use super::errors::{bad_argument, to_js_error};
use super::offline::{self, now_iso};
use super::shared::{channel_path, new_id, object, promise, query_string, Shared, MESSAGE_QUERY};
use crate::api::Method;
use crate::echo;
use crate::outbox::OutboxOp;
use crate::platform::timer::now_ms;
use crate::preflight;
use crate::state::{ChannelState, Wire};
use crate::store::WriteBatch;

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

    fn path(&self, rest: &str) -> String {
        channel_path(&self.channel_type, &self.id, rest)
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        self.shared
            .request(method, path, body.as_ref())
            .await
            .map_err(to_js_error)
    }

    /// A `ChannelState` request whose answer becomes this channel's state.
    async fn load(
        &self,
        method: Method,
        rest: &str,
        body: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        self.shared.core.borrow_mut().begin_load(&self.cid);
        match self.call(method, &self.path(rest), body).await {
            Ok(state) => {
                let effects = self.shared.core.borrow_mut().load_channel(now_ms(), &state);
                self.shared.perform(effects);
                Ok(state)
            }
            Err(e) => {
                let effects =
                    self.shared
                        .core
                        .borrow_mut()
                        .reload_failed(now_ms(), &self.cid, false);
                self.shared.perform(effects);
                Err(e)
            }
        }
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

    #[wasm_bindgen(js_name = create, unchecked_return_type = "Promise<ChannelStateResponse>")]
    pub fn create_js(&self) -> js_sys::Promise {
        let this = self.clone();
        promise(Box::pin(async move { this.create().await }))
    }

    #[wasm_bindgen(js_name = watch, unchecked_return_type = "Promise<ChannelStateResponse>")]
    pub fn watch_js(&self) -> js_sys::Promise {
        let this = self.clone();
        promise(Box::pin(async move { this.watch().await }))
    }

    #[wasm_bindgen(js_name = stopWatching, unchecked_return_type = "Promise<{ watcher_count: number }>")]
    pub fn stop_watching_js(&self) -> js_sys::Promise {
        let this = self.clone();
        promise(Box::pin(async move { this.stop_watching().await }))
    }

    #[wasm_bindgen(js_name = sendMessage, unchecked_return_type = "Promise<Message>")]
    pub fn send_message_js(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SendMessageInput")] message: JsValue,
    ) -> js_sys::Promise {
        let this = self.clone();
        promise(Box::pin(async move { this.send_message(message).await }))
    }

    #[wasm_bindgen(js_name = queryMessages, unchecked_return_type = "Promise<Message[]>")]
    pub fn query_messages_js(
        &self,
        #[wasm_bindgen(unchecked_param_type = "MessageQuery | undefined")] query: JsValue,
    ) -> js_sys::Promise {
        let this = self.clone();
        promise(Box::pin(async move { this.query_messages(query).await }))
    }

    #[wasm_bindgen(js_name = replies, unchecked_return_type = "Promise<Message[]>")]
    pub fn replies_js(
        &self,
        #[wasm_bindgen(js_name = parentId)] parent_id: String,
        #[wasm_bindgen(unchecked_param_type = "MessageQuery | undefined")] query: JsValue,
    ) -> js_sys::Promise {
        let this = self.clone();
        promise(Box::pin(
            async move { this.replies(&parent_id, query).await },
        ))
    }

    #[wasm_bindgen(js_name = pinnedMessages, unchecked_return_type = "Promise<Message[]>")]
    pub fn pinned_messages_js(&self, limit: Option<u32>) -> js_sys::Promise {
        let this = self.clone();
        promise(Box::pin(async move { this.pinned_messages(limit).await }))
    }

    /// The caller's draft of this channel (or of the thread `parentId`); see
    /// [`super::drafts::get`] for where it comes from offline.
    #[wasm_bindgen(js_name = getDraft, unchecked_return_type = "Promise<Draft>")]
    pub fn get_draft_js(
        &self,
        #[wasm_bindgen(js_name = parentId)] parent_id: Option<String>,
    ) -> js_sys::Promise {
        let this = self.clone();
        promise(Box::pin(async move {
            super::drafts::get(&this.shared, &this.cid, parent_id)
                .await
                .map_err(to_js_error)
        }))
    }

    #[wasm_bindgen(js_name = markRead, unchecked_return_type = "Promise<ReadState>")]
    pub fn mark_read_js(
        &self,
        #[wasm_bindgen(js_name = messageId)] message_id: Option<String>,
    ) -> js_sys::Promise {
        let this = self.clone();
        promise(Box::pin(async move { this.mark_read(message_id).await }))
    }

    #[wasm_bindgen(js_name = markUnread, unchecked_return_type = "Promise<ReadState>")]
    pub fn mark_unread_js(
        &self,
        #[wasm_bindgen(js_name = messageId)] message_id: String,
    ) -> js_sys::Promise {
        let this = self.clone();
        promise(Box::pin(async move { this.mark_unread(message_id).await }))
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

    /// Listens to `event` (or `*`) on this channel only. Returns a function that unsubscribes.
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn on(&self, event: &str, listener: Function) -> Function {
        subscribe(&self.shared, event, Some(&self.cid), listener)
    }
}

/// The channel calls behind the promise-returning bindings above (also used from Rust).
impl Channel {
    /// Gets or creates the channel (idempotent) and loads its state.
    pub async fn create(&self) -> Result<JsValue, JsValue> {
        self.load(Method::Post, "", Some(self.data.clone())).await
    }

    /// Starts watching (the server counts the watcher and sends typing/watching events) and
    /// loads the state.
    ///
    /// A channel opened from the cache answers at once (`from_cache: true`) and is loaded from
    /// the server in the background; its events then bring the state up to date.
    pub async fn watch(&self) -> Result<JsValue, JsValue> {
        let cached = {
            let mut list = self.shared.offline.cached.borrow_mut();
            let at = list.iter().position(|c| *c == self.cid);
            at.map(|i| list.remove(i)).is_some()
        };
        if cached {
            let this = self.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let _ = this.load(Method::Post, "/watch", None).await;
            });
            return Ok(self.cached_answer());
        }
        self.load(Method::Post, "/watch", None).await
    }
    pub async fn stop_watching(&self) -> Result<JsValue, JsValue> {
        self.call(Method::Post, &self.path("/stop-watching"), None)
            .await
    }

    /// Sends a message: it shows at once in `state.messages` as a local echo (`status:
    /// 'sending'`), is stored with its outbox entry in one transaction (so it survives a reload
    /// or going offline), and is replaced by the server's copy once delivered — or marked
    /// `failed` with the server's code (see `client.retry` / `client.discard`). `id` is
    /// generated unless given; resending the same id never duplicates. Resolves with the
    /// server's message; rejects at once when the channel is frozen, the user banned, or slow
    /// mode still running.
    pub async fn send_message(&self, message: JsValue) -> Result<JsValue, JsValue> {
        if !message.is_object() {
            return Err(bad_argument("sendMessage", "a message object is required"));
        }
        let body = Object::assign(&Object::new(), &Object::from(message));
        let id = match body.str_of("id") {
            Some(id) => id,
            None => {
                let id = new_id();
                let _ = Reflect::set(&body, &"id".into(), &id.as_str().into());
                id
            }
        };
        let body: JsValue = body.into();
        if let Some(e) = self.shared.ended() {
            return Err(to_js_error(e));
        }
        let now = now_ms();
        let iso = now_iso();
        {
            let core = self.shared.core.borrow();
            if let Some(c) = core.state.channel(&self.cid) {
                let mut posts = self.shared.posts.borrow_mut();
                preflight::check_post(c, &posts, now, &iso).map_err(to_js_error)?;
                posts.posted(c, now);
            }
        }
        let echo = echo::sent(&body, &self.cid, &self.shared.config.user_id, &iso);
        let mut batch = WriteBatch::new();
        // A scheduled message shows when the server delivers it, not before.
        if body.field("scheduled_for").is_none() {
            self.with_state(|c| c.add_echo(echo.clone()));
            batch.put_message(echo);
        }
        let op = OutboxOp::Send(body);
        let answer = offline::enqueue(&self.shared, &id, &self.cid, op, batch).await?;
        Ok(answer.field("message").unwrap_or(JsValue::UNDEFINED))
    }

    /// A page of messages, oldest first: `{limit, before_seq | after_seq | around_id}`. The
    /// messages are merged into the state. Pages of older history (`before_seq`) are cached;
    /// while the server cannot be reached such a page comes from the cache where it holds one,
    /// marked `fromCache: true` (possibly shorter than `limit` where the cache ends).
    pub async fn query_messages(&self, query: JsValue) -> Result<JsValue, JsValue> {
        let path = self.path(&["/messages", &query_string(&query, MESSAGE_QUERY)].concat());
        let before = query.u64_of("before_seq");
        let messages = match self.shared.request(Method::Get, &path, None).await {
            Ok(answer) => {
                let messages = answer.list_of("messages");
                if let Some(before) = before {
                    offline::persist_older(&self.shared, &self.cid, before, messages.clone());
                }
                messages
            }
            Err(e) => {
                let cached = match before {
                    Some(before) if e.retryable => {
                        let limit = query.u64_of("limit").unwrap_or(50).clamp(1, 200) as u32;
                        offline::cached_older(&self.shared, &self.cid, before, limit).await
                    }
                    _ => None,
                };
                let Some(cached) = cached else {
                    return Err(to_js_error(e));
                };
                let page = cached.clone();
                self.with_state(|c| {
                    for m in page {
                        c.put_message(m, 0);
                    }
                });
                let out = JsValue::array(cached);
                let _ = js_sys::Reflect::set(&out, &"fromCache".into(), &true.into());
                return Ok(out);
            }
        };
        let page = messages.clone();
        self.with_state(|c| {
            for m in page {
                c.put_message(m, 0);
            }
        });
        Ok(JsValue::array(messages))
    }

    /// The replies to `parentId`, oldest first (`{limit, before_seq, after_seq}`), merged into
    /// `state.threads`.
    pub async fn replies(&self, parent_id: &str, query: JsValue) -> Result<JsValue, JsValue> {
        let path = [
            "/v1/messages/",
            &crate::config::encode_component(parent_id),
            "/replies",
            &query_string(&query, MESSAGE_QUERY),
        ]
        .concat();
        let answer = self.call(Method::Get, &path, None).await?;
        let messages = answer
            .field("messages")
            .unwrap_or_else(|| Array::new().into());
        self.with_state(|c| {
            for m in messages.items() {
                c.put_message(m, 0);
            }
        });
        Ok(messages)
    }

    /// Pinned messages, most recently pinned first; also becomes `state.pinned`.
    pub async fn pinned_messages(&self, limit: Option<u32>) -> Result<JsValue, JsValue> {
        let q = limit
            .map(|l| ["?limit=", &crate::text::decimal(l.into())].concat())
            .unwrap_or_default();
        let answer = self
            .call(Method::Get, &self.path(&["/pinned", &q].concat()), None)
            .await?;
        let messages = answer
            .field("messages")
            .unwrap_or_else(|| Array::new().into());
        self.with_state(|c| c.set_pinned(messages.items()));
        Ok(messages)
    }

    /// Marks the channel read up to `messageId` (everything when absent): at once locally,
    /// delivered through the outbox (several marks while offline fold into one).
    pub async fn mark_read(&self, message_id: Option<String>) -> Result<JsValue, JsValue> {
        if let Some(e) = self.shared.ended() {
            return Err(to_js_error(e));
        }
        let me = self.shared.config.user_id.clone();
        let (seq, read) = self.with_state(|c| {
            let seq = match &message_id {
                Some(id) => c.message(id).and_then(|m| m.u64_of("channel_seq")),
                None => c.messages.entries().iter().map(|e| e.seq).max(),
            }
            .unwrap_or(0);
            let read = object(&[
                ("cid", c.cid.as_str().into()),
                ("user_id", me.as_str().into()),
                ("last_read_seq", (seq as f64).into()),
                ("last_read_at", now_iso().into()),
                ("unread_count", 0.into()),
            ]);
            if message_id.is_none() {
                c.unread_count = 0;
            }
            c.reads.insert(me.clone(), read.clone());
            (seq, read)
        });
        let mut batch = WriteBatch::new();
        batch.put_read(read);
        let op = OutboxOp::MarkRead { message_id, seq };
        let id = new_id();
        let answer = offline::enqueue(&self.shared, &id, &self.cid, op, batch).await?;
        Ok(answer.field("read").unwrap_or(JsValue::UNDEFINED))
    }

    /// Marks `messageId` and everything after it unread (queued behind earlier marks).
    pub async fn mark_unread(&self, message_id: String) -> Result<JsValue, JsValue> {
        let body = object(&[("message_id", message_id.into())]);
        let op = OutboxOp::Call {
            method: "POST".into(),
            path: self.path("/unread"),
            body: Some(body),
        };
        let id = new_id();
        let answer = super::mutations::change(&self.shared, &id, &self.cid, op, None).await?;
        Ok(answer.field("read").unwrap_or(JsValue::UNDEFINED))
    }

    /// The state held for this channel as a `ChannelState` answer marked `from_cache`.
    fn cached_answer(&self) -> JsValue {
        self.with_state(|c| {
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
        })
    }
}
