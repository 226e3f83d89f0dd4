//! The outbox in the browser: `js/io.js`'s `Outbox` runs the delivery loop (one entry at a time
//! per channel, backoff, the 20 s answer timeout, the promise of each change) over the store's
//! outbox records, and calls back into the client ([`super::host`]) for everything that is a
//! decision or touches the state. This module makes the loop and reads its records.

use js_sys::{Array, Function, Promise};
use wasm_bindgen::prelude::*;

use super::errors::to_js_error;
use super::offline::storage_error;
use crate::decode::error_code;
use crate::error::SdkError;
use crate::outbox::{sort_by_order, OutboxEntry};
use crate::state::Wire;
use crate::store::browser::encode_batch;
use crate::store::WriteBatch;

#[wasm_bindgen(module = "/js/io.js")]
extern "C" {
    /// The delivery loop of one client (`js/io.js`).
    #[wasm_bindgen(js_name = Outbox)]
    #[derive(Clone)]
    pub(crate) type Delivery;
    #[wasm_bindgen(constructor, js_class = "Outbox")]
    pub(crate) fn new(store: &JsValue, host: &Function) -> Delivery;
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

pub(crate) fn entry(record: &JsValue) -> Result<OutboxEntry<JsValue>, JsValue> {
    OutboxEntry::from_wire(record)
        .ok_or_else(|| to_js_error(SdkError::invalid_input("not an outbox entry")))
}

/// A rejection from JS (the SDK's own `Error`s carry `code`, `status`, `retryable`).
pub(crate) fn sdk_error(error: &JsValue) -> SdkError {
    let code = error
        .str_of("code")
        .and_then(|c| error_code(&c))
        .unwrap_or(chat_protocol::ErrorCode::Unavailable);
    let mut e = SdkError::new(code, 0, error.str_of("message").unwrap_or_default());
    e.status = error.u64_of("status").unwrap_or(0) as u16;
    e.retryable = error.flag("retryable");
    e
}

pub(crate) fn writes(batch: WriteBatch<JsValue>) -> Result<JsValue, JsValue> {
    let encoded = encode_batch(batch).map_err(|e| to_js_error(storage_error(e)))?;
    Ok(encoded.into())
}
