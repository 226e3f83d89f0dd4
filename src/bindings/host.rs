//! The one synchronous entry from the SDK's JS into a client: `host(kind, a, b)`. The outbox's
//! delivery loop (`js/io.js`) calls it for the outbox's rules and for what a delivered or
//! refused entry does to the state; the JS facade (`js/index.js`, through `_host` on the
//! `ChatClient` and `Channel` handles) for the checks, local echoes and outbox entries of the
//! changes it queues. One entry rather than an export per call: every export costs its own
//! glue in the wasm and in JS. The kinds are numbered as `js/io.js` and `js/index.js` name them.

use std::rc::{Rc, Weak};

use js_sys::{Array, Function};
use wasm_bindgen::prelude::*;

use super::errors::to_js_error;
use super::outbox::{decode, entry, sdk_error, writes};
use super::shared::{object, Shared};
use crate::error::SdkError;
use crate::outbox::{plan, ready, Failure, FoldOutcome};
use crate::state::Wire;
use crate::store::WriteBatch;

// The outbox's delivery loop (js/io.js).
const FOLD: u32 = 0;
const START: u32 = 1;
const FAIL: u32 = 2;
const RETRY: u32 = 3;
const DISCARD: u32 = 4;
const RECOVER: u32 = 5;
const READY: u32 = 6;
const DELIVER: u32 = 7;
const CONFIRMED: u32 = 8;
const REFUSED: u32 = 9;
const EMIT: u32 = 10;
const RETRIED: u32 = 11;
const DISCARDED: u32 = 12;
// The facade (js/index.js).
const OUTBOX: u32 = 13;
const STORE: u32 = 14;
const HELD: u32 = 15;
const CHANGE: u32 = 16;
const REQUEST: u32 = 17;
const LOADING: u32 = 18;
const LOADED: u32 = 19;
const FROM_CACHE: u32 = 20;
const PUT_MESSAGES: u32 = 21;
const OLDER: u32 = 22;
const SET_PINNED: u32 = 23;
const CACHED_QUERY: u32 = 24;
const HANDLES: u32 = 25;
const LISTED: u32 = 26;
const DRAFT_QUEUED: u32 = 27;
const DRAFT: u32 = 28;
const DRAFTS: u32 = 29;
const DISCONNECT: u32 = 30;
const RESTORE: u32 = 32;
const REMOVE_DATABASE: u32 = 33;
const REST: u32 = 34;
const START_CONNECTION: u32 = 35;
const POSITIONED: u32 = 36;
// REST and the store's writer (js/io.js).
const ANSWER: u32 = 37;
const EVICTABLE: u32 = 39;
// Answers the wasm asked `Rest.after` / `Rest.renew` for.
pub(crate) const SYNCED: u32 = 40;
pub(crate) const RELOADED: u32 = 41;
pub(crate) const MESSAGE_RELOADED: u32 = 42;
pub(crate) const REFRESHED: u32 = 43;

/// `host` as a JS function for `js/io.js`'s objects of the client behind `weak` (owned by the
/// JS garbage collector; it holds only a weak reference to the client).
pub(crate) fn function(weak: Weak<Shared>) -> Function {
    let host = Closure::<dyn Fn(u32, JsValue, JsValue) -> Result<JsValue, JsValue>>::new(
        move |kind: u32, a: JsValue, b: JsValue| match weak.upgrade() {
            Some(shared) => host(&shared, kind, a, b),
            None => Err(to_js_error(SdkError::closed())),
        },
    );
    host.into_js_value().unchecked_into()
}

pub(crate) fn host(
    shared: &Rc<Shared>,
    kind: u32,
    a: JsValue,
    b: JsValue,
) -> Result<JsValue, JsValue> {
    let id = || b.as_string().unwrap_or_default();
    let cid = || a.as_string().unwrap_or_default();
    let done = Ok(JsValue::UNDEFINED);
    match kind {
        FOLD => {
            let new = entry(&b)?;
            let (outcome, batch) =
                plan::enqueue(&decode(&a)?, &new.id, &new.cid, new.op, WriteBatch::new());
            let target = match outcome {
                FoldOutcome::Enqueued => JsValue::from_str(&new.id),
                FoldOutcome::FoldedInto(other) => JsValue::from_str(&other),
                FoldOutcome::Cancelled => JsValue::UNDEFINED,
            };
            Ok(object(&[("writes", writes(batch)?), ("target", target)]))
        }
        START => writes(plan::start(&decode(&a)?, &id())),
        FAIL => {
            // [id, error]
            let parts = b.items();
            let target = text_at(&parts, 0);
            let error = sdk_error(&parts.get(1).cloned().unwrap_or_default());
            let (failure, batch) = plan::fail(&decode(&a)?, &target, &error);
            let permanent = matches!(failure, Failure::Permanent { .. });
            Ok(object(&[
                ("writes", writes(batch)?),
                ("permanent", permanent.into()),
            ]))
        }
        RETRY => writes(plan::retry(&decode(&a)?, &id())),
        DISCARD => writes(plan::discard(&decode(&a)?, &id())),
        RECOVER => writes(plan::recover(&decode(&a)?)),
        READY => {
            let chosen = ready(&decode(&a)?);
            let picked = a
                .items()
                .into_iter()
                .filter(|r| {
                    let id = r.str_of("id");
                    chosen.iter().any(|e| Some(&e.id) == id.as_ref())
                })
                .collect::<Array>();
            Ok(picked.into())
        }
        DELIVER => Ok(super::offline::send(shared, &entry(&a)?).into()),
        CONFIRMED => {
            super::offline::confirmed(shared, &entry(&a)?, &b);
            done
        }
        REFUSED => {
            super::offline::refused(shared, &entry(&a)?, &sdk_error(&b));
            done
        }
        EMIT => {
            shared.emit(&a);
            done
        }
        RETRIED => {
            super::offline::echo_sending(shared, &a.as_string().unwrap_or_default());
            done
        }
        DISCARDED => {
            super::offline::echo_gone(shared, &a.as_string().unwrap_or_default());
            done
        }
        OUTBOX => Ok(shared.outbox.clone().into()),
        STORE => Ok(shared.offline.store.handle().clone()),
        HELD => Ok(super::mutations::held(
            shared,
            &a.as_string().unwrap_or_default(),
        )),
        CHANGE => super::mutations::prepare(shared, &a, &b),
        REQUEST => super::client::request(shared, &a, b),
        LOADING => {
            super::channel::loading(shared, &cid());
            done
        }
        LOADED => {
            super::channel::loaded(shared, &cid(), (!b.is_undefined()).then_some(&b));
            done
        }
        FROM_CACHE => Ok(super::channel::from_cache(shared, &cid())),
        PUT_MESSAGES => {
            super::channel::put_messages(shared, &cid(), &b);
            done
        }
        OLDER => {
            // [cid, before_seq]
            let parts = a.items();
            let cid = text_at(&parts, 0);
            let before = parts.get(1).and_then(JsValue::as_u64).unwrap_or(0);
            super::offline::persist_older(shared, &cid, before, b.items());
            done
        }
        CACHED_QUERY => Ok(super::client::cached_query(shared, &cid())),
        HANDLES => super::client::handles(shared, &cid()),
        LISTED => {
            // [more, key]
            let parts = a.items();
            let more = parts.first().is_some_and(JsValue::is_truthy);
            let key = parts
                .get(1)
                .and_then(JsValue::as_string)
                .unwrap_or_default();
            super::client::listed(shared, more, key, &b)
        }
        DRAFT_QUEUED => {
            let (cid, parent) = draft_key(&a);
            Ok(super::drafts::queued(&cid, &parent, &b).into())
        }
        DRAFT => {
            let (cid, parent) = draft_key(&a);
            let draft = (!b.is_undefined()).then_some(b);
            super::drafts::from_server(shared, &cid, parent, draft);
            done
        }
        DRAFTS => {
            super::drafts::listed(shared, &a);
            done
        }
        DISCONNECT => {
            super::driver::disconnect(shared, a.unchecked_into());
            done
        }
        RESTORE => {
            // [cold start, user, outbox records], echoes
            let parts = a.items();
            let part = |i: usize| parts.get(i).cloned().unwrap_or_default();
            let had = super::offline::restore(shared, &part(0), part(1), &part(2), &b);
            Ok(had.into())
        }
        REMOVE_DATABASE => Ok(super::offline::remove_database(shared)),
        REST => Ok(shared.rest.clone().into()),
        ANSWER => super::rest::answer(a.as_f64().unwrap_or(0.0) as u16, b),
        EVICTABLE => Ok(super::offline::evictable(shared)),
        SYNCED => {
            shared.synced(&b);
            done
        }
        RELOADED => {
            shared.reloaded(&cid(), &b);
            done
        }
        MESSAGE_RELOADED => {
            super::offline::message_reloaded(shared, &cid(), &b);
            done
        }
        REFRESHED => {
            super::driver::token_refreshed(shared, super::rest::outcome(&b).map(drop));
            done
        }
        START_CONNECTION => {
            super::client::start(shared, a.is_truthy(), b.unchecked_into());
            done
        }
        POSITIONED => Ok(super::client::positioned(shared).into()),
        SET_PINNED => {
            super::channel::set_pinned(shared, &cid(), &b);
            done
        }
        _ => done,
    }
}

/// `[cid, parent_id?]` of a draft.
fn draft_key(a: &JsValue) -> (String, Option<String>) {
    let parts = a.items();
    let cid = text_at(&parts, 0);
    (cid, parts.get(1).and_then(JsValue::as_string))
}

/// The string at `i` of a list of arguments ("" when there is none).
fn text_at(parts: &[JsValue], i: usize) -> String {
    parts
        .get(i)
        .and_then(JsValue::as_string)
        .unwrap_or_default()
}
