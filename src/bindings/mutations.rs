//! The client's changes that go through the durable outbox: message edits and deletes,
//! reactions, and any other channel-scoped change (`_mutate`, used by the JS facade for member,
//! channel and draft operations), plus the outbox's own surface — `persistence`, `pending()`,
//! `retry(id)`, `discard(id)`. Each change shows its local echo at once, is stored with it in
//! one transaction, and resolves when the server confirms it (or rejects with the refusal).

use std::rc::Rc;

use js_sys::Reflect;
use wasm_bindgen::prelude::*;

use super::client::ChatClient;
use super::errors::{bad_argument, to_js_error};
use super::offline::{self, now_iso};
use super::shared::{channel_path, new_id, promise, Shared};
use crate::cache;
use crate::echo;
use crate::outbox::OutboxOp;
use crate::platform::timer::now_ms;
use crate::preflight;
use crate::state::Wire;
use crate::store::{Store, WriteBatch};

/// A message the client holds (state first, then the store): its cid and data.
async fn find_message(shared: &Rc<Shared>, id: &str) -> Option<(String, JsValue)> {
    {
        let core = shared.core.borrow();
        for (cid, c) in core.state.channels.iter() {
            if let Some(m) = c.message(id) {
                return Some((cid.clone(), m.clone()));
            }
        }
    }
    let m = shared.offline.store.message(id).await.ok()??;
    Some((m.str_of("cid")?, m))
}

/// Checks, shows and queues one change; resolves with the server's answer.
pub(crate) async fn change(
    shared: &Rc<Shared>,
    id: &str,
    cid: &str,
    op: OutboxOp<JsValue>,
    echo: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    if let Some(e) = shared.ended() {
        return Err(to_js_error(e));
    }
    // A draft's or a channel operation's echo; nothing for other changes.
    let mut batch = super::drafts::echo(shared, cid, &op);
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
    offline::enqueue(shared, id, cid, op, batch).await
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

    /// Edits a message (`{text?, attachments?, mentions?, metadata?}`).
    #[wasm_bindgen(js_name = updateMessage, unchecked_return_type = "Promise<unknown>")]
    pub fn update_message_js(
        &self,
        id: String,
        #[wasm_bindgen(unchecked_param_type = "MessageChanges")] changes: JsValue,
    ) -> js_sys::Promise {
        let shared = self.shared.clone();
        promise(Box::pin(async move {
            if !changes.is_object() {
                return Err(bad_argument("updateMessage", "changes must be an object"));
            }
            let op = OutboxOp::Edit {
                message_id: id.clone(),
                body: changes.clone(),
            };
            let Some((cid, current)) = find_message(&shared, &id).await else {
                let answer = offline::send_now(&shared, op).await.map_err(to_js_error)?;
                return Ok(answer.field("message").unwrap_or(JsValue::UNDEFINED));
            };
            preflight_change(&shared, &cid)?;
            let echo = echo::edited(&current, &changes, &now_iso());
            let answer = change(&shared, &new_id(), &cid, op, Some(echo)).await?;
            Ok(answer.field("message").unwrap_or(JsValue::UNDEFINED))
        }))
    }

    /// Deletes a message (`{hard: true}` removes it entirely).
    #[wasm_bindgen(js_name = deleteMessage, unchecked_return_type = "Promise<unknown>")]
    pub fn delete_message_js(
        &self,
        id: String,
        #[wasm_bindgen(unchecked_param_type = "{ hard?: boolean } | undefined")] options: JsValue,
    ) -> js_sys::Promise {
        let shared = self.shared.clone();
        promise(Box::pin(async move {
            let hard = options.flag("hard");
            let op = OutboxOp::Delete {
                message_id: id.clone(),
                hard,
            };
            let Some((cid, current)) = find_message(&shared, &id).await else {
                let answer = offline::send_now(&shared, op).await.map_err(to_js_error)?;
                return Ok(answer.field("message").unwrap_or(JsValue::UNDEFINED));
            };
            preflight_change(&shared, &cid)?;
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
            let answer = change(&shared, &new_id(), &cid, op, echo).await?;
            Ok(answer.field("message").unwrap_or(JsValue::UNDEFINED))
        }))
    }

    /// Adds the reaction `type` to a message (`{enforceUnique}` replaces the user's others).
    #[wasm_bindgen(js_name = sendReaction, unchecked_return_type = "Promise<unknown>")]
    pub fn send_reaction_js(
        &self,
        #[wasm_bindgen(js_name = messageId)] message_id: String,
        #[wasm_bindgen(js_name = "type")] kind: String,
        #[wasm_bindgen(unchecked_param_type = "{ enforceUnique?: boolean } | undefined")]
        options: JsValue,
    ) -> js_sys::Promise {
        let this = self.clone();
        promise(Box::pin(async move {
            this.react(message_id, kind, true, options.flag("enforceUnique"))
                .await
        }))
    }

    /// Removes the user's reaction `type` from a message.
    #[wasm_bindgen(js_name = deleteReaction, unchecked_return_type = "Promise<unknown>")]
    pub fn delete_reaction_js(
        &self,
        #[wasm_bindgen(js_name = messageId)] message_id: String,
        #[wasm_bindgen(js_name = "type")] kind: String,
    ) -> js_sys::Promise {
        let this = self.clone();
        promise(Box::pin(async move {
            this.react(message_id, kind, false, false).await
        }))
    }

    /// Queues any change of channel `cid` as one REST call (sent with a `mutation_id`); the
    /// JS facade's member, channel and draft operations use it. Resolves with the answer.
    #[wasm_bindgen(js_name = _mutate, unchecked_return_type = "Promise<any>")]
    pub fn mutate_js(
        &self,
        cid: String,
        method: String,
        path: String,
        #[wasm_bindgen(unchecked_param_type = "object | undefined")] body: JsValue,
    ) -> js_sys::Promise {
        let shared = self.shared.clone();
        promise(Box::pin(async move {
            if !path.starts_with("/v1/") || crate::api::Method::parse(&method).is_none() {
                return Err(bad_argument("_mutate", "bad method or path"));
            }
            let body = (!body.is_undefined() && !body.is_null()).then_some(body);
            let op = OutboxOp::Call { method, path, body };
            change(&shared, &new_id(), &cid, op, None).await
        }))
    }
}

impl ChatClient {
    async fn react(
        &self,
        message_id: String,
        kind: String,
        add: bool,
        unique: bool,
    ) -> Result<JsValue, JsValue> {
        let shared = &self.shared;
        let found = find_message(shared, &message_id).await;
        let echo = found.as_ref().map(|(_, current)| {
            let me = &shared.config.user_id;
            echo::reacted(current, me, &kind, add, &now_iso())
        });
        let op = if unique {
            let mut path = String::from("/v1/messages/");
            path.push_str(&crate::config::encode_component(&message_id));
            path.push_str("/reactions");
            let body = js_sys::Object::new();
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
        let Some((cid, _)) = found else {
            return offline::send_now(shared, op).await.map_err(to_js_error);
        };
        preflight_change(shared, &cid)?;
        change(shared, &new_id(), &cid, op, echo).await
    }
}
