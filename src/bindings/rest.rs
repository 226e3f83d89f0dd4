//! The client's REST calls and store writes, as `js/io.js` performs them: `Rest` (fetch with the
//! client's headers and current token, the token refresh through the provider) and `Writer` (the
//! store's writes in order, merged, older pages only where they reach the stored messages, and
//! the eviction of older messages when the store is full). This module declares them and decides
//! what an HTTP answer means ([`answer`]).

use js_sys::{Array, Function, Promise};
use wasm_bindgen::prelude::*;

use super::errors::to_js_error;
use crate::decode;
use crate::error::SdkError;

#[wasm_bindgen(module = "/js/io.js")]
extern "C" {
    /// The REST calls of one client (`js/io.js`).
    #[derive(Clone)]
    pub(crate) type Rest;
    #[wasm_bindgen(constructor)]
    pub(crate) fn new(
        base: &str,
        api_key: &str,
        token: &str,
        provider: &JsValue,
        host: &Function,
    ) -> Rest;
    /// One call; a promise of the answer (rejects with the SDK's error).
    #[wasm_bindgen(method)]
    pub(crate) fn call(this: &Rest, method: &str, path: &str, body: &JsValue) -> Promise;
    /// A call whose outcome comes back as `host(kind, arg, [answer, error])`.
    #[wasm_bindgen(method)]
    pub(crate) fn after(
        this: &Rest,
        kind: u32,
        arg: &JsValue,
        method: &str,
        path: &str,
        body: &JsValue,
    );
    /// A new token from the provider, its outcome as `host(kind, undefined, [ok, error])`.
    #[wasm_bindgen(method)]
    pub(crate) fn renew(this: &Rest, kind: u32);
    /// The token in use.
    #[wasm_bindgen(method, getter)]
    pub(crate) fn token(this: &Rest) -> String;

    /// The store's writer of one client (`js/io.js`).
    pub(crate) type Writer;
    #[wasm_bindgen(constructor)]
    pub(crate) fn new(store: &JsValue, keep: u32, host: &Function) -> Writer;
    #[wasm_bindgen(method)]
    pub(crate) fn put(this: &Writer, writes: Array);
    #[wasm_bindgen(method)]
    pub(crate) fn older(this: &Writer, cid: &str, before: f64, writes: Array);
}

/// What an HTTP answer (`status`, its parsed JSON body or undefined) means: the value of a 2xx
/// answer, else the SDK's error for the status and the server's error body.
pub(crate) fn answer(status: u16, value: JsValue) -> Result<JsValue, JsValue> {
    if !(200..300).contains(&status) {
        return Err(to_js_error(SdkError::from_http(
            status,
            decode::api_error(&value),
        )));
    }
    if value.is_undefined() {
        return Err(to_js_error(SdkError::bad_response(
            0,
            "the server sent invalid JSON",
        )));
    }
    Ok(value)
}

/// The outcome `[answer, error]` of a `Rest.after` or `Rest.renew`.
pub(crate) fn outcome(result: &JsValue) -> Result<JsValue, SdkError> {
    let parts = js_sys::Array::from(result);
    let error = parts.get(1);
    if error.is_undefined() {
        Ok(parts.get(0))
    } else {
        Err(super::outbox::sdk_error(&error))
    }
}
