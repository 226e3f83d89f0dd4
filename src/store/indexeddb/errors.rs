//! Turns what the browser reports into a [`StoreError`], keeping the DOMException's name and
//! message: a thrown exception, or the `.error` of a failed request or aborted transaction.

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{IdbRequest, IdbTransaction};

use crate::store::StoreError;

fn text(value: &JsValue, key: &str) -> Option<String> {
    Reflect::get(value, &JsValue::from_str(key))
        .ok()?
        .as_string()
}

/// `(name, message)` of a DOMException or Error, or of the `.error` of a request/transaction.
pub fn dom_parts(value: &JsValue) -> Option<(String, String)> {
    if let Some(e) = value.dyn_ref::<web_sys::DomException>() {
        return Some((e.name(), e.message()));
    }
    if !value.is_object() {
        return None;
    }
    if let Some(name) = text(value, "name") {
        return Some((name, text(value, "message").unwrap_or_default()));
    }
    let inner = Reflect::get(value, &JsValue::from_str("error")).ok()?;
    if inner.is_object() {
        return dom_parts(&inner);
    }
    None
}

/// The typed error of a DOMException (or anything with `name`/`message`) seen directly.
/// `context` says what the store was doing.
pub fn from_js(context: &str, value: &JsValue) -> StoreError {
    match dom_parts(value) {
        Some((name, message)) => StoreError::from_dom(context, &name, &message),
        None => StoreError::Backend {
            context: context.to_owned(),
            name: String::new(),
            message: value
                .as_string()
                .unwrap_or_else(|| "the browser reported a failure without an error".into()),
        },
    }
}

/// The error of a request that fired `error`.
pub fn of_request(context: &str, request: &IdbRequest) -> StoreError {
    match request.error() {
        Ok(Some(e)) => from_js(context, &e.into()),
        Ok(None) | Err(_) => StoreError::Backend {
            context: context.to_owned(),
            name: "UnknownError".into(),
            message: "the request failed without an error".into(),
        },
    }
}

/// The error of a transaction that fired `abort` (e.g. `QuotaExceededError`).
pub fn of_abort(tx: &IdbTransaction) -> StoreError {
    match tx.error() {
        Some(e) => from_js("transaction aborted", &e.into()),
        None => StoreError::Backend {
            context: "transaction aborted".into(),
            name: "AbortError".into(),
            message: "the transaction was aborted without an error".into(),
        },
    }
}
