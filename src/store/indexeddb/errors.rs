//! Turns an `idb` error into a [`StoreError`], digging the browser's DOMException (name and
//! message) out of whatever the error carries: the exception itself, or the failed request or
//! transaction whose `.error` holds it.

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};

use crate::store::StoreError;

/// The JS value an `idb` error wraps, if any.
fn payload(error: &idb::Error) -> Option<JsValue> {
    use idb::Error::*;
    match error {
        DomException(e) => Some(e.clone().into()),
        AddFailed(v)
        | ClearFailed(v)
        | CountFailed(v)
        | CursorAdvanceFailed(v)
        | CursorContinueFailed(v)
        | CursorKeyNotFound(v)
        | CursorPrimaryKeyNotFound(v)
        | CursorValueNotFound(v)
        | DeleteFailed(v)
        | GetAllFailed(v)
        | GetAllKeysFailed(v)
        | GetFailed(v)
        | GetKeyFailed(v)
        | IndexCreateFailed(v)
        | IndexDeleteFailed(v)
        | IndexedDbDeleteFailed(v)
        | IndexedDbNotFound(v)
        | IndexedDbOpenFailed(v)
        | IndexNotFound(v)
        | KeyPathNotFound(v)
        | KeyRangeBoundNotFound(v)
        | KeyRangeCreateFailed(v)
        | KeyRangeIncludesFailed(v)
        | ObjectStoreCreateFailed(v)
        | ObjectStoreDeleteFailed(v)
        | ObjectStoreNotFound(v)
        | OpenCursorFailed(v)
        | OpenKeyCursorFailed(v)
        | RequestErrorNotFound(v)
        | RequestResultNotFound(v)
        | TransactionAbortError(v)
        | TransactionCommitError(v)
        | TransactionModeNotFound(v)
        | TransactionOpenFailed(v)
        | UpdateFailed(v)
        | UnexpectedJsType(_, v) => Some(v.clone()),
        _ => None,
    }
}

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
    if let Some(name) = text(value, "name") {
        return Some((name, text(value, "message").unwrap_or_default()));
    }
    let inner = Reflect::get(value, &JsValue::from_str("error")).ok()?;
    if inner.is_object() {
        if let Some(e) = inner.dyn_ref::<web_sys::DomException>() {
            return Some((e.name(), e.message()));
        }
        return Some((
            text(&inner, "name")?,
            text(&inner, "message").unwrap_or_default(),
        ));
    }
    None
}

/// What `idb` says it was doing, without the (useless) `[object ...]` text it appends.
fn context(error: &idb::Error) -> String {
    let text = error.to_string();
    match text.split_once(": ") {
        Some((head, _)) => head.to_owned(),
        None => text,
    }
}

/// The typed error for an `idb` failure.
pub fn from_idb(error: idb::Error) -> StoreError {
    let context = context(&error);
    match payload(&error).as_ref().and_then(dom_parts) {
        Some((name, message)) => StoreError::from_dom(&context, &name, &message),
        None => StoreError::Backend {
            context,
            name: String::new(),
            message: error.to_string(),
        },
    }
}

/// The typed error of a DOMException (or anything with `name`/`message`) seen directly.
pub fn from_js(context: &str, value: &JsValue) -> StoreError {
    match dom_parts(value) {
        Some((name, message)) => StoreError::from_dom(context, &name, &message),
        None => StoreError::Backend {
            context: context.to_owned(),
            name: String::new(),
            message: format!("{value:?}"),
        },
    }
}
