//! Drafts offline: a draft saved or deleted through the outbox shows at once in the state and
//! the store (its local echo, written with the outbox entry), `channel.getDraft()` answers from
//! the device while such a change is still queued (the device's copy is the newest) or the
//! server cannot be reached, and `client.queryDrafts()` lists the device's drafts while offline.

use std::rc::Rc;

use chat_protocol::ErrorCode;
use wasm_bindgen::JsValue;

use wasm_bindgen::prelude::wasm_bindgen;

use super::client::ChatClient;
use super::errors::to_js_error;
use super::offline::now_iso;
use super::shared::{channel_path, object, promise, query_string, Shared};
use crate::api::Method;
use crate::error::SdkError;
use crate::outbox::OutboxOp;
use crate::state::Wire;
use crate::store::{Store, WriteBatch};

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

/// Whether a change of the draft (`cid`, `parent`) waits in the outbox (not refused). Waits
/// for an enqueue under way (the outbox is read once its entry and echo are written).
async fn queued(shared: &Rc<Shared>, cid: &str, parent: &Option<String>) -> bool {
    let records = wasm_bindgen_futures::JsFuture::from(shared.outbox.entries()).await;
    let Ok(entries) = records.and_then(|r| super::outbox::decode(&r)) else {
        return false;
    };
    entries.iter().any(|e| {
        e.cid == cid && !e.is_failed() && draft_change(cid, &e.op).as_ref() == Some(parent)
    })
}

fn no_draft() -> SdkError {
    SdkError::new(ErrorCode::NotFound, 404, "there is no draft here")
}

/// The draft of channel `cid` (or of the thread `parent`): the device's copy while a change of
/// it is queued, else the server's (kept on the device), else — when the server cannot be
/// reached — the device's copy.
pub(crate) async fn get(
    shared: &Rc<Shared>,
    cid: &str,
    parent: Option<String>,
) -> Result<JsValue, SdkError> {
    let key = (cid.to_owned(), parent.clone());
    // The device's copy: a queued change wrote it in the outbox entry's transaction.
    let stored = || shared.offline.store.draft(cid, parent.as_deref());
    if queued(shared, cid, &parent).await {
        return stored().await.ok().flatten().ok_or_else(no_draft);
    }
    let mut path = draft_path(cid).ok_or_else(no_draft)?;
    if let Some(p) = &parent {
        path.push_str("?parent_id=");
        path.push_str(&crate::config::encode_component(p));
    }
    let answer = shared.request(Method::Get, &path, None).await;
    if queued(shared, cid, &parent).await {
        // Changed meanwhile: the device's copy is newer than the answer.
        return stored().await.ok().flatten().ok_or_else(no_draft);
    }
    match answer {
        Ok(answer) => {
            let draft = answer.field("draft").ok_or_else(no_draft)?;
            shared
                .core
                .borrow_mut()
                .state
                .drafts
                .insert(key, draft.clone());
            let mut batch = WriteBatch::new();
            batch.put_draft(draft.clone());
            super::offline::persist(shared, batch);
            Ok(draft)
        }
        Err(e) if e.code == ErrorCode::NotFound => {
            shared.core.borrow_mut().state.drafts.remove(&key);
            let mut batch = WriteBatch::new();
            batch.delete_draft(cid, parent.as_deref());
            super::offline::persist(shared, batch);
            Err(e)
        }
        Err(e) if e.retryable => stored().await.ok().flatten().ok_or(e),
        Err(e) => Err(e),
    }
}

/// The caller's drafts, newest first: the server's page (kept on the device), or — while the
/// server cannot be reached — the first page from the device, marked `fromCache: true`.
async fn list(shared: &Rc<Shared>, options: JsValue) -> Result<JsValue, SdkError> {
    let limit = options.u64_of("limit");
    let next = options.str_of("next");
    let mut path = String::from("/v1/drafts");
    path.push_str(&query_string(&options, &["limit", "next"]));
    match shared.request(Method::Get, &path, None).await {
        Ok(answer) => {
            let mut batch = WriteBatch::new();
            for draft in answer.list_of("drafts") {
                batch.put_draft(draft);
            }
            super::offline::persist(shared, batch);
            Ok(answer)
        }
        Err(e) if e.retryable && next.is_none() => {
            let mut drafts = shared.offline.store.drafts().await.map_err(|_| e.clone())?;
            // Newest first, as the server lists them (RFC 3339 times sort as text).
            let at = |d: &JsValue| d.str_of("updated_at").unwrap_or_default();
            crate::vecmap::sort_small(&mut drafts, |a, b| at(a) > at(b));
            drafts.truncate(limit.unwrap_or(30).clamp(1, 100) as usize);
            Ok(object(&[
                ("drafts", JsValue::array(drafts)),
                ("fromCache", true.into()),
            ]))
        }
        Err(e) => Err(e),
    }
}

#[wasm_bindgen]
impl ChatClient {
    /// The caller's drafts, newest first (`{limit, next}`); offline, the first page comes from
    /// the device (`fromCache: true`).
    #[wasm_bindgen(js_name = queryDrafts, unchecked_return_type = "Promise<DraftsPage>")]
    pub fn query_drafts_js(
        &self,
        #[wasm_bindgen(unchecked_param_type = "{ limit?: number; next?: string } | undefined")]
        options: JsValue,
    ) -> js_sys::Promise {
        let shared = self.shared.clone();
        promise(Box::pin(async move {
            list(&shared, options).await.map_err(to_js_error)
        }))
    }
}
