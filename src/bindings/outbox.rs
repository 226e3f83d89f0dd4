//! The outbox in the browser: `js/io.js`'s `Outbox` runs the delivery loop (one entry at a time
//! per channel, backoff, the 20 s answer timeout, the promise of each change) over the store's
//! outbox records; this module is the host it calls back for everything that is a decision or
//! touches the client — the transitions of [`crate::outbox::plan`] over the decoded entries, the
//! request of an entry, and what a confirmed or refused entry does to the state. Calls are
//! synchronous, except the delivery request (a promise).

use std::rc::{Rc, Weak};

use js_sys::{Array, Function, Promise};
use wasm_bindgen::prelude::*;

use super::errors::to_js_error;
use super::offline::storage_error;
use super::shared::{object, Shared};
use crate::decode::error_code;
use crate::error::SdkError;
use crate::outbox::{plan, ready, sort_by_order, Failure, FoldOutcome, OutboxEntry};
use crate::state::Wire;
use crate::store::browser::encode_batch;
use crate::store::WriteBatch;

#[wasm_bindgen(module = "/js/io.js")]
extern "C" {
    /// The delivery loop of one client (`js/io.js`).
    #[wasm_bindgen(js_name = Outbox)]
    pub(crate) type Delivery;
    #[wasm_bindgen(constructor, js_class = "Outbox")]
    fn new(store: &JsValue, host: &Function) -> Delivery;
    #[wasm_bindgen(method)]
    pub(crate) fn enqueue(this: &Delivery, entry: JsValue, echo: Array) -> Promise;
    #[wasm_bindgen(method)]
    pub(crate) fn kick(this: &Delivery);
    #[wasm_bindgen(method)]
    pub(crate) fn reconnected(this: &Delivery);
    #[wasm_bindgen(method)]
    pub(crate) fn recover(this: &Delivery) -> Promise;
    #[wasm_bindgen(method)]
    pub(crate) fn entries(this: &Delivery) -> Promise;
    #[wasm_bindgen(method)]
    pub(crate) fn retry(this: &Delivery, id: &str) -> Promise;
    #[wasm_bindgen(method)]
    pub(crate) fn discard(this: &Delivery, id: &str) -> Promise;
    #[wasm_bindgen(method)]
    pub(crate) fn pending(this: &Delivery) -> Promise;
    #[wasm_bindgen(method)]
    pub(crate) fn dispose(this: &Delivery);
}

// What `js/io.js` asks (its host kinds).
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

/// The delivery loop over `store` (the `js/idb.js` or `js/memory.js` object), calling back the
/// client behind `weak` (the host function is owned by the JS garbage collector and holds only a
/// weak reference).
pub(crate) fn delivery(store: &JsValue, weak: Weak<Shared>) -> Delivery {
    let host = Closure::<dyn Fn(u32, JsValue, JsValue) -> Result<JsValue, JsValue>>::new(
        move |kind: u32, a: JsValue, b: JsValue| match weak.upgrade() {
            Some(shared) => host(&shared, kind, a, b),
            None => Err(to_js_error(SdkError::closed())),
        },
    );
    Delivery::new(store, host.into_js_value().unchecked_ref())
}

/// The stored records as entries, in delivery order.
pub(crate) fn decode(records: &JsValue) -> Result<Vec<OutboxEntry<JsValue>>, JsValue> {
    let mut entries = Vec::new();
    for record in records.items() {
        let entry = OutboxEntry::from_wire(&record).ok_or_else(|| {
            to_js_error(SdkError::bad_response(
                0,
                "an outbox entry that cannot be read",
            ))
        })?;
        entries.push(entry);
    }
    sort_by_order(&mut entries);
    Ok(entries)
}

fn entry(record: &JsValue) -> Result<OutboxEntry<JsValue>, JsValue> {
    OutboxEntry::from_wire(record)
        .ok_or_else(|| to_js_error(SdkError::invalid_input("not an outbox entry")))
}

/// A rejection from JS (the SDK's own `Error`s carry `code`, `status`, `retryable`).
fn sdk_error(error: &JsValue) -> SdkError {
    let code = error
        .str_of("code")
        .and_then(|c| error_code(&c))
        .unwrap_or(chat_protocol::ErrorCode::Unavailable);
    let mut e = SdkError::new(code, 0, error.str_of("message").unwrap_or_default());
    e.status = error.u64_of("status").unwrap_or(0) as u16;
    e.retryable = error.flag("retryable");
    e
}

fn writes(batch: WriteBatch<JsValue>) -> Result<JsValue, JsValue> {
    let encoded = encode_batch(batch).map_err(|e| to_js_error(storage_error(e)))?;
    Ok(encoded.into())
}

fn host(shared: &Rc<Shared>, kind: u32, a: JsValue, b: JsValue) -> Result<JsValue, JsValue> {
    let id = || b.as_string().unwrap_or_default();
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
            let target = parts
                .first()
                .and_then(JsValue::as_string)
                .unwrap_or_default();
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
        DELIVER => {
            let entry = entry(&a)?;
            let shared = shared.clone();
            Ok(super::shared::promise(Box::pin(async move {
                super::offline::send(&shared, &entry)
                    .await
                    .map_err(to_js_error)
            }))
            .into())
        }
        CONFIRMED => {
            super::offline::confirmed(shared, &entry(&a)?, &b);
            Ok(JsValue::UNDEFINED)
        }
        REFUSED => {
            super::offline::refused(shared, &entry(&a)?, &sdk_error(&b));
            Ok(JsValue::UNDEFINED)
        }
        EMIT => {
            shared.emit(&a);
            Ok(JsValue::UNDEFINED)
        }
        RETRIED => {
            super::offline::echo_sending(shared, &a.as_string().unwrap_or_default());
            Ok(JsValue::UNDEFINED)
        }
        DISCARDED => {
            super::offline::echo_gone(shared, &a.as_string().unwrap_or_default());
            Ok(JsValue::UNDEFINED)
        }
        _ => Ok(JsValue::UNDEFINED),
    }
}
