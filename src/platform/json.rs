//! JSON text in through the JS engine (`JSON.parse`): the websocket's frames become JS objects
//! without any Rust decoding in between.

use wasm_bindgen::JsValue;

use crate::error::SdkError;

/// Parses JSON text into a JS value.
pub fn parse(text: &str) -> Result<JsValue, SdkError> {
    js_sys::JSON::parse(text).map_err(|_| SdkError::bad_response(0, "the server sent invalid JSON"))
}
