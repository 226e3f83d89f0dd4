//! The client's changes that go through the durable outbox, as the JS facade queues them
//! (`js/index.js`): [`prepare`] checks a change (the session, pre-flight rules, the arguments),
//! shows its local echo in the state and returns the outbox entry with the echo's writes, which
//! the delivery loop stores in one transaction and sends — messages (send, edit, delete),
//! reactions, read marks, and any other channel-scoped change (member, channel and draft
//! operations: one REST call). Plus the outbox's own surface: `persistence`, `pending()`,
//! `retry(id)`, `discard(id)`.

use std::rc::Rc;

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

use super::client::ChatClient;
use super::errors::{bad_argument, to_js_error};
use super::offline::now_iso;
use super::outbox::writes;
use super::shared::{channel_path, new_id, object, Shared};
use crate::cache;
use crate::echo;
use crate::outbox::{OutboxEntry, OutboxOp};
use crate::platform::timer::now_ms;
use crate::preflight;
use crate::state::Wire;
use crate::store::WriteBatch;

/// `[cid, message]` of a message the client's state holds (the facade looks in the store
/// when it does not).
pub(crate) fn held(shared: &Shared, id: &str) -> JsValue {
    let core = shared.core.borrow();
    for (cid, c) in core.state.channels.iter() {
        if let Some(m) = c.message(id) {
            return JsValue::array(vec![cid.as_str().into(), m.clone()]);
        }
    }
    JsValue::UNDEFINED
}

/// Checks and shows one change; `args` is `[what, ...]` (below), `held` the `[cid, message]`
/// of the message it is about where the client has it. Answers `{entry, echo}` — the outbox
/// entry's record and the echo's writes — or, for a change of a message the client does not
/// hold (no echo to show; the server's answer, often a refusal, is what matters), `{now:
/// entry}`: send it at once. Throws the SDK's error when the change is refused before it is
/// queued.
pub(crate) fn prepare(
    shared: &Rc<Shared>,
    args: &JsValue,
    held: &JsValue,
) -> Result<JsValue, JsValue> {
    if let Some(e) = shared.ended() {
        return Err(to_js_error(e));
    }
    let args = args.items();
    let arg = |i: usize| args.get(i).cloned().unwrap_or(JsValue::UNDEFINED);
    let text = |i: usize| arg(i).as_string().unwrap_or_default();
    let held = {
        let parts = held.items();
        parts
            .first()
            .and_then(JsValue::as_string)
            .zip(parts.get(1).cloned())
    };
    match text(0).as_str() {
        // [send, cid, message]
        "send" => send(shared, &text(1), arg(2)),
        // [read, cid, message id?]
        "read" => mark_read(shared, &text(1), arg(2).as_string()),
        // [call, cid, method, path, body?]
        "call" => {
            let (method, path) = (text(2), text(3));
            if !path.starts_with("/v1/") || crate::api::Method::parse(&method).is_none() {
                return Err(bad_argument("_mutate", "bad method or path"));
            }
            let body = arg(4);
            let body = (!body.is_undefined() && !body.is_null()).then_some(body);
            let op = OutboxOp::Call { method, path, body };
            queued(shared, &new_id(), &text(1), op, None, WriteBatch::new())
        }
        // [edit, message id, changes]
        "edit" => {
            let changes = arg(2);
            if !changes.is_object() {
                return Err(bad_argument("updateMessage", "changes must be an object"));
            }
            let op = OutboxOp::Edit {
                message_id: text(1),
                body: changes.clone(),
            };
            let Some((cid, current)) = held else {
                return Ok(now(op));
            };
            preflight_change(shared, &cid)?;
            let echo = echo::edited(&current, &changes, &now_iso());
            queued(shared, &new_id(), &cid, op, Some(echo), WriteBatch::new())
        }
        // [delete, message id, {hard}?]
        "delete" => {
            let (id, hard) = (text(1), arg(2).flag("hard"));
            let op = OutboxOp::Delete {
                message_id: id.clone(),
                hard,
            };
            let Some((cid, current)) = held else {
                return Ok(now(op));
            };
            preflight_change(shared, &cid)?;
            // A message never sent goes entirely (the outbox drops its send).
            let local = current.u64_of("channel_seq").unwrap_or(0) == 0;
            let echo = (!hard && !local).then(|| echo::deleted(&current, &now_iso()));
            if hard || local {
                let mut core = shared.core.borrow_mut();
                let c = core.state.channel_mut(&cid);
                c.messages.remove(&id);
                for t in c.threads.values_mut() {
                    t.remove(&id);
                }
            }
            queued(shared, &new_id(), &cid, op, echo, WriteBatch::new())
        }
        // [react, message id, type, add, enforce unique]
        "react" => {
            let (message_id, kind) = (text(1), text(2));
            let (add, unique) = (arg(3).is_truthy(), arg(4).is_truthy());
            let echo = held.as_ref().map(|(_, current)| {
                echo::reacted(current, &shared.config.user_id, &kind, add, &now_iso())
            });
            let op = if unique {
                let mut path = String::from("/v1/messages/");
                path.push_str(&crate::config::encode_component(&message_id));
                path.push_str("/reactions");
                let body = Object::new();
                let _ = Reflect::set(&body, &"type".into(), &kind.as_str().into());
                let _ = Reflect::set(&body, &"enforce_unique".into(), &true.into());
                OutboxOp::Call {
                    method: "POST".into(),
                    path,
                    body: Some(body.into()),
                }
            } else if add {
                OutboxOp::AddReaction { message_id, kind }
            } else {
                OutboxOp::RemoveReaction { message_id, kind }
            };
            let Some((cid, _)) = held else {
                return Ok(now(op));
            };
            preflight_change(shared, &cid)?;
            queued(shared, &new_id(), &cid, op, echo, WriteBatch::new())
        }
        _ => Err(bad_argument("change", "unknown change")),
    }
}

/// `{now: entry}`: a change to send at once, outside the outbox.
fn now(op: OutboxOp<JsValue>) -> JsValue {
    object(&[("now", OutboxEntry::new(&new_id(), "", op).to_wire())])
}

/// `{entry, echo}` of change `id` of channel `cid`: `batch` (the echo built so far), the
/// draft's or channel operation's echo, and `echo` (a message as it will be), each put in the
/// state too.
fn queued(
    shared: &Rc<Shared>,
    id: &str,
    cid: &str,
    op: OutboxOp<JsValue>,
    echo: Option<JsValue>,
    mut batch: WriteBatch<JsValue>,
) -> Result<JsValue, JsValue> {
    batch.append(super::drafts::echo(shared, cid, &op));
    batch.append(channel_echo(shared, cid, &op));
    if let OutboxOp::Delete {
        message_id,
        hard: true,
    } = &op
    {
        batch.delete_message(message_id);
    }
    if let Some(echo) = echo {
        shared
            .core
            .borrow_mut()
            .state
            .channel_mut(cid)
            .set_data(echo.clone());
        batch.put_message(echo);
    }
    let entry = OutboxEntry::new(id, cid, op).to_wire();
    Ok(object(&[("entry", entry), ("echo", writes(batch)?)]))
}

/// A new message: shown at once as a local echo (`status: 'sending'`; a scheduled message shows
/// when the server delivers it), refused at once when the channel is frozen, the user banned,
/// or slow mode still running. Its `id` is generated unless given (resending the same id never
/// duplicates).
fn send(shared: &Rc<Shared>, cid: &str, message: JsValue) -> Result<JsValue, JsValue> {
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
    let now = now_ms();
    let iso = now_iso();
    {
        let core = shared.core.borrow();
        if let Some(c) = core.state.channel(cid) {
            let mut posts = shared.posts.borrow_mut();
            preflight::check_post(c, &posts, now, &iso).map_err(to_js_error)?;
            posts.posted(c, now);
        }
    }
    let echo = echo::sent(&body, cid, &shared.config.user_id, &iso);
    let mut batch = WriteBatch::new();
    if body.field("scheduled_for").is_none() {
        shared
            .core
            .borrow_mut()
            .state
            .channel_mut(cid)
            .add_echo(echo.clone());
        batch.put_message(echo);
    }
    queued(shared, &id, cid, OutboxOp::Send(body), None, batch)
}

/// Marks channel `cid` read up to `message_id` (everything when absent): at once locally;
/// several marks while offline fold into one.
fn mark_read(
    shared: &Rc<Shared>,
    cid: &str,
    message_id: Option<String>,
) -> Result<JsValue, JsValue> {
    let me = shared.config.user_id.clone();
    let (seq, read) = {
        let mut core = shared.core.borrow_mut();
        let c = core.state.channel_mut(cid);
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
        c.reads.insert(me, read.clone());
        (seq, read)
    };
    let mut batch = WriteBatch::new();
    batch.put_read(read);
    let op = OutboxOp::MarkRead { message_id, seq };
    queued(shared, &new_id(), cid, op, None, batch)
}

/// The local echo of a channel operation ([`echo::ChannelChange`]): the channel, the caller's
/// membership or the member list as it will be, in the state and as writes for the outbox
/// entry's transaction.
fn channel_echo(shared: &Rc<Shared>, cid: &str, op: &OutboxOp<JsValue>) -> WriteBatch<JsValue> {
    let mut batch = WriteBatch::new();
    let Some(change) = channel_change(cid, op) else {
        return batch;
    };
    let me = &shared.config.user_id;
    let mut core = shared.core.borrow_mut();
    let Some(c) = core.state.channels.get_mut(cid) else {
        return batch;
    };
    if let Some(channel) = c
        .channel
        .as_ref()
        .and_then(|ch| change.channel(ch, &now_iso()))
    {
        c.channel = Some(channel.clone());
        batch.put_channel(channel);
    }
    if let Some(member) = c.membership.as_ref().and_then(|m| change.membership(m)) {
        c.membership = Some(member.clone());
        if let Some(listed) = c.members.get_mut(me.as_str()) {
            *listed = member.clone();
        }
        batch.put_member(cid, member);
    }
    // Member operations: applied and cached as the events the server will send.
    let now = now_iso();
    let events = change.member_events(cid, me, |u| c.members.get(u).cloned(), &now);
    for event in events {
        let kind = event.str_of("type").unwrap_or_default();
        c.apply(&kind, &event, me, now_ms());
        cache::event_writes(&event, me, &mut batch);
    }
    batch
}

/// The channel operation with a local echo that `op` (a call on the channel `cid`) is, if any.
pub(crate) fn channel_change(
    cid: &str,
    op: &OutboxOp<JsValue>,
) -> Option<echo::ChannelChange<JsValue>> {
    let OutboxOp::Call { method, path, body } = op else {
        return None;
    };
    let (t, id) = chat_protocol::split_cid(cid)?;
    let rest = path.strip_prefix(&channel_path(t, id, ""))?;
    echo::ChannelChange::of(method, rest, body.as_ref())
}

fn preflight_change(shared: &Shared, cid: &str) -> Result<(), JsValue> {
    let core = shared.core.borrow();
    match core.state.channel(cid) {
        Some(c) => preflight::check_change(c, &now_iso()).map_err(to_js_error),
        None => Ok(()),
    }
}

#[wasm_bindgen]
impl ChatClient {
    /// Where this client keeps its data: `indexeddb`, or `memory` when IndexedDB is
    /// unavailable (or `persistence: 'memory'` was asked for) — then nothing survives a reload.
    #[wasm_bindgen(getter, unchecked_return_type = "'indexeddb' | 'memory'")]
    pub fn persistence(&self) -> js_sys::JsString {
        self.shared.offline.kind.into()
    }

    /// The changes waiting in the outbox (`OutboxEntryInfo[]`), in the order they were made.
    #[wasm_bindgen(js_name = pending, unchecked_return_type = "Promise<OutboxEntryInfo[]>")]
    pub fn pending_js(&self) -> js_sys::Promise {
        self.shared.outbox.pending()
    }

    /// Queues a refused change (by its id; a message's id for a send) again, after the changes
    /// made meanwhile.
    #[wasm_bindgen(js_name = retry, unchecked_return_type = "Promise<void>")]
    pub fn retry_js(&self, id: String) -> js_sys::Promise {
        self.shared.outbox.retry(&id)
    }

    /// Drops a refused change (a refused send takes its message with it).
    #[wasm_bindgen(js_name = discard, unchecked_return_type = "Promise<void>")]
    pub fn discard_js(&self, id: String) -> js_sys::Promise {
        self.shared.outbox.discard(&id)
    }
}
