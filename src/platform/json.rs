//! JSON in and out through the JS engine (`JSON.parse`/`JSON.stringify`) plus
//! serde-wasm-bindgen, which is much smaller in wasm than parsing with serde_json.

use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::JsValue;

use crate::error::SdkError;

/// Parses JSON text into a JS value.
pub fn parse(text: &str) -> Result<JsValue, SdkError> {
    js_sys::JSON::parse(text).map_err(|_| SdkError::bad_response(0, "the server sent invalid JSON"))
}

/// Reads a Rust value out of a JS value.
pub fn from_js<T: DeserializeOwned>(value: JsValue) -> Result<T, serde_wasm_bindgen::Error> {
    serde_wasm_bindgen::from_value(value)
}

/// Converts a Rust value to a plain JS value (objects, not `Map`s).
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, SdkError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| SdkError::bad_response(0, e.to_string()))
}

/// Serializes a Rust value to JSON text.
pub fn stringify<T: Serialize + ?Sized>(value: &T) -> Result<String, SdkError> {
    let js = to_js(value)?;
    js_sys::JSON::stringify(&js)
        .map(String::from)
        .map_err(|_| SdkError::invalid_input("value cannot be written as JSON"))
}
