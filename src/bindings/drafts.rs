//! Drafts offline: a draft saved or deleted through the outbox shows at once in the state and
//! the store (its local echo, written with the outbox entry); `channel.getDraft()` (`js/index.js`)
//! answers from the device while such a change is still queued (the device's copy is the
//! newest, [`queued`]) or the server cannot be reached, and keeps what the server says
//! ([`from_server`]); `client.queryDrafts()` keeps the server's pages ([`listed`]) and lists the
//! device's drafts while offline.

use std::rc::Rc;

use wasm_bindgen::JsValue;

use super::offline::now_iso;
use super::shared::{channel_path, Shared};
use crate::outbox::OutboxOp;
use crate::state::Wire;
use crate::store::WriteBatch;

/// `/v1/channels/{type}/{id}/draft` of `cid`.
fn draft_path(cid: &str) -> Option<String> {
    let (t, id) = chat_protocol::split_cid(cid)?;
    Some(channel_path(t, id, "/draft"))
}

/// The thread parent of a draft change of `cid` (`Some(None)`: the channel's own draft), or
/// `None` when `op` is not a draft change.
fn draft_change(cid: &str, op: &OutboxOp<JsValue>) -> Option<Option<String>> {
    let OutboxOp::Call { path, body, .. } = op else {
        return None;
    };
    let rest = path.strip_prefix(&draft_path(cid)?)?;
    if let Some(parent) = rest.strip_prefix("?parent_id=") {
        let decoded = js_sys::decode_uri_component(parent).ok()?;
        return Some(Some(decoded.into()));
    }
    if !rest.is_empty() {
        return None;
    }
    Some(body.as_ref().and_then(|b| b.str_of("parent_id")))
}

/// The local echo of a draft change (`op` of channel `cid`): the draft as it will be, put in the
/// state and returned as writes for the outbox's transaction. Empty for other changes.
pub(crate) fn echo(shared: &Rc<Shared>, cid: &str, op: &OutboxOp<JsValue>) -> WriteBatch<JsValue> {
    let mut batch = WriteBatch::new();
    let (Some(parent), OutboxOp::Call { method, body, .. }) = (draft_change(cid, op), op) else {
        return batch;
    };
    let key = (cid.to_owned(), parent.clone());
    let mut core = shared.core.borrow_mut();
    if method.eq_ignore_ascii_case("DELETE") {
        core.state.drafts.remove(&key);
        batch.delete_draft(cid, parent.as_deref());
        return batch;
    }
    let now = now_iso();
    let created = core
        .state
        .drafts
        .get(&key)
        .and_then(|d| d.field("created_at"))
        .unwrap_or_else(|| now.as_str().into());
    let body = body.clone().unwrap_or_else(|| JsValue::object(Vec::new()));
    let draft = body
        .with("cid", Some(cid.into()))
        .with("parent_id", parent.as_deref().map(JsValue::from))
        .with("created_at", Some(created))
        .with("updated_at", Some(now.as_str().into()));
    core.state.drafts.insert(key, draft.clone());
    batch.put_draft(draft);
    batch
}

/// Whether a change of the draft (`cid`, `parent`) waits among the outbox `records` (not
/// refused): then the device's copy is the newest.
pub(crate) fn queued(cid: &str, parent: &Option<String>, records: &JsValue) -> bool {
    let Ok(entries) = super::outbox::decode(records) else {
        return false;
    };
    entries.iter().any(|e| {
        e.cid == cid && !e.is_failed() && draft_change(cid, &e.op).as_ref() == Some(parent)
    })
}

/// The server's word on the draft (`cid`, `parent`): the draft it holds (`Some`), or that it
/// holds none; kept in the state and on the device.
pub(crate) fn from_server(
    shared: &Rc<Shared>,
    cid: &str,
    parent: Option<String>,
    draft: Option<JsValue>,
) {
    let mut batch = WriteBatch::new();
    let key = (cid.to_owned(), parent.clone());
    let mut core = shared.core.borrow_mut();
    match draft {
        Some(draft) => {
            core.state.drafts.insert(key, draft.clone());
            batch.put_draft(draft);
        }
        None => {
            core.state.drafts.remove(&key);
            batch.delete_draft(cid, parent.as_deref());
        }
    }
    drop(core);
    super::offline::persist(shared, batch);
}

/// A page of the caller's drafts from the server, kept on the device.
pub(crate) fn listed(shared: &Rc<Shared>, answer: &JsValue) {
    let mut batch = WriteBatch::new();
    for draft in answer.list_of("drafts") {
        batch.put_draft(draft);
    }
    super::offline::persist(shared, batch);
}
