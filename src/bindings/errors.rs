//! SDK errors as JS `Error` objects with `code`, `status` and `retryable` properties.

use js_sys::Reflect;
use wasm_bindgen::JsValue;

use crate::error::SdkError;

pub(crate) fn to_js_error(error: SdkError) -> JsValue {
    let js = js_sys::Error::new(&error.message);
    let set = |key: &str, value: JsValue| {
        let _ = Reflect::set(&js, &JsValue::from_str(key), &value);
    };
    set("code", JsValue::from_str(error.code.as_str()));
    set("status", JsValue::from(error.status));
    set("retryable", JsValue::from_bool(error.retryable));
    js.into()
}

/// An argument from JS that does not have the expected shape.
pub(crate) fn bad_argument(what: &str, error: &str) -> JsValue {
    to_js_error(SdkError::invalid_input([what, ": ", error].concat()))
}
