//! Records to and from JS values as IndexedDB stores them, and the keys and key ranges the
//! queries use. Values go through serde-wasm-bindgen's JSON-compatible mode (plain objects,
//! numbers for sequence numbers — IndexedDB keys cannot be BigInts); the few key fields a
//! record lacks (`rseq`, a member's `cid`, a draft's `thread`) are added as extra properties.

use js_sys::{Array, Reflect};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::JsValue;

use crate::store::StoreError;

fn codec(e: impl std::fmt::Display) -> StoreError {
    StoreError::Codec {
        message: e.to_string(),
    }
}

pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, StoreError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(codec)
}

pub fn from_js<T: DeserializeOwned>(value: JsValue) -> Result<T, StoreError> {
    serde_wasm_bindgen::from_value(value).map_err(codec)
}

pub fn from_all<T: DeserializeOwned>(values: Vec<JsValue>) -> Result<Vec<T>, StoreError> {
    values.into_iter().map(from_js).collect()
}

/// Serializes `value` and adds `key = extra` to the object.
pub fn with_field<T: Serialize + ?Sized>(
    value: &T,
    key: &str,
    extra: JsValue,
) -> Result<JsValue, StoreError> {
    let object = to_js(value)?;
    Reflect::set(&object, &JsValue::from_str(key), &extra).map_err(|_| codec("set key field"))?;
    Ok(object)
}

pub fn s(text: &str) -> JsValue {
    JsValue::from_str(text)
}

/// A compound key `[a, b, ...]`.
pub fn key(parts: &[JsValue]) -> JsValue {
    parts.iter().collect::<Array>().into()
}

/// The ordering key part of a confirmed message: newest sorts first.
pub fn rseq(seq: u64) -> JsValue {
    JsValue::from_f64(-(seq as f64))
}

/// The key range of every compound key that starts with `prefix` (arrays sort after every
/// string and number, so `[prefix, []]` is above all of them).
pub fn prefix_range(prefix: &str) -> Result<idb::KeyRange, StoreError> {
    let lower = key(&[s(prefix)]);
    let upper = key(&[s(prefix), Array::new().into()]);
    idb::KeyRange::bound(&lower, &upper, Some(false), Some(false)).map_err(super::errors::from_idb)
}

/// `[prefix, from]` to `[prefix, to]` with the given openness.
pub fn range(
    lower: JsValue,
    upper: JsValue,
    lower_open: bool,
    upper_open: bool,
) -> Result<idb::KeyRange, StoreError> {
    idb::KeyRange::bound(&lower, &upper, Some(lower_open), Some(upper_open))
        .map_err(super::errors::from_idb)
}
