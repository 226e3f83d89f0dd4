//! Turns what `js/idb.js` rejects with into a [`StoreError`], keeping the DOMException's name
//! and message: a thrown exception, the `.error` of a failed request or aborted transaction, or
//! one of the adapter's own `{name, message}` errors.

use js_sys::Reflect;
use wasm_bindgen::JsValue;

use crate::store::StoreError;

fn text(value: &JsValue, key: &str) -> Option<String> {
    Reflect::get(value, &JsValue::from_str(key))
        .ok()?
        .as_string()
}

/// `(name, message)` of a DOMException or Error (read as properties: a DOMException's are
/// getters on its prototype), or of the `.error` of a request/transaction.
pub fn dom_parts(value: &JsValue) -> Option<(String, String)> {
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
