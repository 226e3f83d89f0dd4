//! The offline half of a client in the browser: the store it opened (IndexedDB, or memory
//! where IndexedDB is unavailable — `client.persistence` says which), the cold start from what
//! `connect()` read of it ([`restore`]), the writer that mirrors the state's changes into it in
//! order, and the client's side of the outbox: the request of an entry (it carries the entry's
//! id, so a resend is harmless) and what a confirmed or refused entry does to the state. The
//! delivery loop itself is `js/io.js`'s `Outbox` ([`super::outbox`]).

use std::cell::RefCell;
use std::rc::Rc;

use chat_protocol::ErrorCode;
use wasm_bindgen::JsValue;

use super::shared::{channel_path, object, Shared};
use crate::api::Method;
use crate::cache::{self, LIST_KEY, USER_CURSOR_KEY};
use crate::config::encode_component;
use crate::error::SdkError;
use crate::outbox::{OutboxEntry, OutboxOp, OutboxState};
use crate::state::Wire;
use crate::store::browser::{encode_batch, BrowserStore};
use crate::store::{StoreError, WriteBatch};

pub(crate) struct Offline {
    pub store: Rc<BrowserStore>,
    /// `indexeddb` or `memory`.
    pub kind: &'static str,
    pub name: String,
    /// Channels shown from the cache and not loaded from the server yet this session.
    pub cached: RefCell<Vec<String>>,
    /// Channel queries the server answered this session: while online they go to the server.
    pub fresh_queries: RefCell<Vec<String>>,
    /// The metadata records read at the cold start (cursors, cached channel lists).
    restored_meta: RefCell<Vec<(String, String)>>,
}

pub(crate) fn storage_error(e: StoreError) -> SdkError {
    let mut err = SdkError::new(ErrorCode::Unavailable, 0, e.describe());
    err.retryable = false;
    err
}

fn warn(what: &str, e: &StoreError) {
    web_sys::console::warn_2(&JsValue::from_str(what), &JsValue::from_str(&e.describe()));
}

impl Offline {
    /// Over `store` (`kind`: `indexeddb` or `memory`), the database `name`.
    pub fn new(store: BrowserStore, kind: &str, name: String) -> Offline {
        Offline {
            store: Rc::new(store),
            kind: if kind == "indexeddb" {
                "indexeddb"
            } else {
                "memory"
            },
            name,
            cached: RefCell::default(),
            fresh_queries: RefCell::default(),
            restored_meta: RefCell::default(),
        }
    }
}

impl Offline {
    /// The metadata record `key` as the cold start read it (a cached channel list).
    pub fn restored(&self, key: &str) -> Option<String> {
        let restored = self.restored_meta.borrow();
        restored
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }
}

/// Loads what the store holds into the client, as `connect()` read it (`js/index.js`): `cold`
/// the store's cold start, `user` the user's record, `records` the outbox (entries left in
/// flight by a closed tab already back to pending) and `echoes` the stored local echo of each
/// (for sends). The user, every channel with a stored cursor (latest messages, members,
/// reads), the channel list and the sends' echoes go into the state. Returns whether anything
/// was cached.
pub(crate) fn restore(
    shared: &Rc<Shared>,
    cold: &JsValue,
    user: JsValue,
    records: &JsValue,
    echoes: &JsValue,
) -> bool {
    let me = shared.config.user_id.clone();
    let mut had = false;
    let mut cold = crate::store::browser::cold_start_of(cold);
    let channels = std::mem::take(&mut cold.channels);
    let cursor = |key: &str| cache::parse_cursor(cold.meta(key).map(str::to_owned));
    if let Some(seq) = cursor(USER_CURSOR_KEY) {
        shared.core.borrow_mut().restore_user(seq);
        had = true;
    }
    if user.is_object() {
        shared.core.borrow_mut().state.me = Some(user);
    }
    for cached in channels {
        let Some(cid) = cached.channel.str_of("cid") else {
            continue;
        };
        let Some(cursor) = cursor(&cache::channel_cursor_key(&cid)) else {
            continue;
        };
        let reads = cached.reads;
        let state = cache::cached_state(
            cached.channel,
            cached.members,
            cached.messages,
            reads.clone(),
            &me,
        );
        let mut core = shared.core.borrow_mut();
        core.restore_channel(&state, cursor);
        let c = core.state.channel_mut(&cid);
        for read in reads {
            if let Some(uid) = read.str_of("user_id") {
                c.reads.insert(uid, read);
            }
        }
        shared.offline.cached.borrow_mut().push(cid);
        had = true;
    }
    if let Some(list) = cold.meta(LIST_KEY) {
        let cids = list.split('\n').filter(|c| !c.is_empty());
        shared
            .core
            .borrow_mut()
            .state
            .set_list(cids.map(str::to_owned).collect());
    }
    // Cached channel lists answer their first query of the session from here (see
    // `client::cached_query`).
    *shared.offline.restored_meta.borrow_mut() = cold.meta;
    let echoes = echoes.items();
    for (i, record) in records.items().iter().enumerate() {
        let Some(entry) = OutboxEntry::<JsValue>::from_wire(record) else {
            continue;
        };
        let Some(echo) = echoes.get(i).filter(|e| e.is_object()) else {
            continue;
        };
        if let OutboxOp::Send(_) = &entry.op {
            let echo = match &entry.state {
                OutboxState::Failed { code, message } => failed_echo(echo, code, message),
                _ => echo.clone(),
            };
            let mut core = shared.core.borrow_mut();
            core.state.channel_mut(&entry.cid).add_echo(echo);
        }
    }
    had
}

/// Queues writes that mirror the state (the writer in `js/io.js` stores them in order, merging
/// what queued up meanwhile into one transaction). A batch that fails its checks is left out,
/// with a warning.
pub(crate) fn persist(shared: &Shared, batch: WriteBatch<JsValue>) {
    if let Some(writes) = encoded(batch) {
        shared.writer.put(writes);
    }
}

/// Queues an older page of `cid`'s messages that the server answered for `before_seq =
/// before`, to be read back offline: stored only where it reaches the channel's stored
/// messages (a channel's stored confirmed messages are always every message from the oldest
/// stored one on, so pages read back from them have no holes).
pub(crate) fn persist_older(shared: &Shared, cid: &str, before: u64, messages: Vec<JsValue>) {
    let mut batch = WriteBatch::new();
    for m in messages {
        batch.put_message(m);
    }
    if let Some(writes) = encoded(batch) {
        shared.writer.older(cid, before as f64, writes);
    }
}

fn encoded(batch: WriteBatch<JsValue>) -> Option<js_sys::Array> {
    match encode_batch(batch) {
        Ok(writes) => Some(writes),
        Err(e) => {
            warn("chat-sdk: could not store changes:", &e);
            None
        }
    }
}

/// The channels whose older cached messages may go when the store is full.
pub(crate) fn evictable(shared: &Shared) -> JsValue {
    let core = shared.core.borrow();
    let cids = core.state.channels.keys().map(|c| JsValue::from_str(c));
    JsValue::array(cids.collect())
}

/// A local echo marked as refused by the server.
pub(crate) fn failed_echo(echo: &JsValue, code: &str, message: &str) -> JsValue {
    let error = object(&[("code", code.into()), ("message", message.into())]);
    echo.with("status", Some("failed".into()))
        .with("error", Some(error))
}

/// `path` with `?mutation_id=` (or `&`) appended.
fn with_mutation(path: &str, id: &str) -> String {
    let mut p = path.to_string();
    p.push(if p.contains('?') { '&' } else { '?' });
    p.push_str("mutation_id=");
    p.push_str(id);
    p
}

fn message_path(id: &str, rest: &str) -> String {
    let mut p = String::from("/v1/messages/");
    p.push_str(&encode_component(id));
    p.push_str(rest);
    p
}

/// The request of an entry. The entry's id goes with it as the `mutation_id` — in the body
/// when there is one (the server reads it there), else in the query.
fn request_of(entry: &OutboxEntry<JsValue>) -> (Method, String, Option<JsValue>) {
    let (t, id) = chat_protocol::split_cid(&entry.cid).unwrap_or(("", ""));
    let keyed = |method: Method, path: String, body: Option<JsValue>| match body {
        Some(b) => (
            method,
            path,
            Some(b.with("mutation_id", Some(entry.id.as_str().into()))),
        ),
        None => (method, with_mutation(&path, &entry.id), None),
    };
    match &entry.op {
        OutboxOp::Send(body) => (
            Method::Post,
            channel_path(t, id, "/messages"),
            Some(body.clone()),
        ),
        OutboxOp::Edit { message_id, body } => keyed(
            Method::Patch,
            message_path(message_id, ""),
            Some(body.clone()),
        ),
        OutboxOp::Delete { message_id, hard } => {
            let rest = if *hard { "?hard=true" } else { "" };
            keyed(Method::Delete, message_path(message_id, rest), None)
        }
        OutboxOp::AddReaction { message_id, kind } => keyed(
            Method::Post,
            message_path(message_id, "/reactions"),
            Some(object(&[("type", kind.as_str().into())])),
        ),
        OutboxOp::RemoveReaction { message_id, kind } => {
            let mut rest = String::from("/reactions/");
            rest.push_str(&encode_component(kind));
            keyed(Method::Delete, message_path(message_id, &rest), None)
        }
        OutboxOp::MarkRead { message_id, .. } => {
            let body = match message_id {
                Some(m) => object(&[("message_id", m.as_str().into())]),
                None => object(&[]),
            };
            keyed(Method::Post, channel_path(t, id, "/read"), Some(body))
        }
        OutboxOp::Call { method, path, body } => {
            let method = Method::parse(method).unwrap_or(Method::Post);
            // Message, reaction, pin and read changes take a mutation id; channel, member and
            // draft operations are idempotent on the server (the same change again changes
            // nothing), so a resend is harmless without one.
            if path.starts_with("/v1/messages/")
                || path.ends_with("/read")
                || path.ends_with("/unread")
            {
                keyed(method, path.clone(), body.clone())
            } else {
                (method, path.clone(), body.clone())
            }
        }
    }
}

/// Sends an entry's request (with the current token, refreshed once if it expired): a promise
/// of the answer.
pub(crate) fn send(shared: &Shared, entry: &OutboxEntry<JsValue>) -> js_sys::Promise {
    let (method, path, body) = request_of(entry);
    shared.request(method.as_str(), &path, body.as_ref())
}

/// Applies a delivered entry's answer where it is news: a sent message replaces its echo, a
/// read state updates the unread count (other changes arrive as events).
pub(crate) fn confirmed(shared: &Rc<Shared>, entry: &OutboxEntry<JsValue>, answer: &JsValue) {
    let me = shared.config.user_id.clone();
    let mut batch = WriteBatch::new();
    {
        let mut core = shared.core.borrow_mut();
        let c = core.state.channel_mut(&entry.cid);
        match &entry.op {
            OutboxOp::Send(_) => {
                if let Some(m) = answer.field("message") {
                    if m.u64_of("channel_seq").unwrap_or(0) > 0 && c.put_message(m.clone(), 0) {
                        batch.put_message(m);
                    }
                }
            }
            OutboxOp::MarkRead { .. } => {
                if let Some(read) = answer.field("read") {
                    if read.str_of("user_id").as_deref() == Some(me.as_str()) {
                        c.unread_count = read.u64_of("unread_count").unwrap_or(0);
                        c.reads.insert(me, read.clone());
                        batch.put_read(read);
                    }
                }
            }
            _ => {}
        }
    }
    if !batch.is_empty() {
        persist(shared, batch);
    }
}

/// A refused entry: a send's echo shows the server's code; any other change is undone by
/// loading the message again, or for a channel operation with an echo (rename, freeze, mute,
/// ...) the channel (its state and its cached copy).
pub(crate) fn refused(shared: &Rc<Shared>, entry: &OutboxEntry<JsValue>, error: &SdkError) {
    match &entry.op {
        OutboxOp::Send(_) => {
            let echo = {
                let mut core = shared.core.borrow_mut();
                let c = core.state.channel_mut(&entry.cid);
                let Some(current) = c.messages.get(&entry.id).map(|e| e.data.clone()) else {
                    return;
                };
                let echo = failed_echo(&current, error.code.as_str(), &error.message);
                c.messages.set_local(&entry.id, echo.clone());
                echo
            };
            let mut batch = WriteBatch::new();
            batch.put_message(echo);
            persist(shared, batch);
        }
        op @ OutboxOp::Call { .. } => {
            if super::mutations::channel_change(&entry.cid, op).is_some() {
                shared.spawn_reload(entry.cid.clone());
            }
        }
        op => {
            if let Some(id) = op.message_id() {
                let none = JsValue::UNDEFINED;
                let cid = JsValue::from_str(&entry.cid);
                let path = message_path(&id, "");
                let kind = super::host::MESSAGE_RELOADED;
                shared.rest.after(kind, &cid, "GET", &path, &none);
            }
        }
    }
    let event = object(&[
        ("type", "outbox.failed".into()),
        ("id", entry.id.as_str().into()),
        ("cid", entry.cid.as_str().into()),
        ("code", error.code.as_str().into()),
        ("message", error.message.as_str().into()),
    ]);
    shared.emit(&event);
}

/// A refused entry is queued again: its echo shows as sending.
pub(crate) fn echo_sending(shared: &Shared, id: &str) {
    let mut core = shared.core.borrow_mut();
    for c in core.state.channels.values_mut() {
        if let Some(echo) = c.messages.get(id).filter(|e| e.is_local()) {
            let echo = echo
                .data
                .with("status", Some("sending".into()))
                .with("error", None);
            c.messages.set_local(id, echo);
        }
    }
}

/// A refused entry was discarded: its echo goes.
pub(crate) fn echo_gone(shared: &Shared, id: &str) {
    let mut core = shared.core.borrow_mut();
    for c in core.state.channels.values_mut() {
        if c.messages.get(id).is_some_and(|e| e.is_local()) {
            c.messages.remove(id);
        }
    }
}

/// The answer to a refused change's message reload (`[answer, error]`): the server's copy
/// replaces the echo, in the state and the store.
pub(crate) fn message_reloaded(shared: &Shared, cid: &str, result: &JsValue) {
    let Some(m) = super::rest::outcome(result)
        .ok()
        .and_then(|a| a.field("message"))
    else {
        return;
    };
    shared
        .core
        .borrow_mut()
        .state
        .channel_mut(cid)
        .set_data(m.clone());
    let mut batch = WriteBatch::new();
    batch.put_message(m);
    persist(shared, batch);
}

/// Deletes the user's IndexedDB database (sign-out with `clearCache`, after the store was
/// cleared): a promise; nothing to delete for a memory store.
pub(crate) fn remove_database(shared: &Shared) -> JsValue {
    if shared.offline.kind != "indexeddb" {
        return JsValue::UNDEFINED;
    }
    BrowserStore::removing(&shared.offline.name).into()
}

/// The time now as an RFC 3339 string (for pre-flight checks against ban expiry).
pub(crate) fn now_iso() -> String {
    js_sys::Date::new_0().to_iso_string().into()
}
