//! Records as IndexedDB keeps them, and the keys and key ranges the queries use.
//!
//! Records are stored as the JS objects they are (IndexedDB's structured clone copies them);
//! no Rust encoding happens. The few key fields a record lacks are set on a shallow copy
//! (`Object.assign`) before the put and deleted from the object read back, so a record read
//! back equals the record written:
//!
//! | store | extra field | value |
//! | --- | --- | --- |
//! | messages | `rseq` | `-channel_seq` (confirmed messages only: echoes stay out of the indexes) |
//! | members | `cid` | the channel of the write (a `ChannelMember` does not carry it) |
//! | drafts | `thread` | `parent_id`, or `""` for the channel's draft |
//! | reactions | `kind` | `type` (the key path of version 1 names it `kind`) |
//!
//! These names are therefore reserved in those records: a field of that name the record
//! brings itself is not read back. (None of the wire types has one.)

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::IdbKeyRange;

use super::errors::from_js;
use crate::store::StoreError;

pub const RSEQ: &str = "rseq";
pub const MEMBER_CID: &str = "cid";
pub const THREAD: &str = "thread";
pub const KIND: &str = "kind";

/// A shallow copy of `record` with `key = value`.
pub fn keyed(record: &JsValue, key: &JsValue, value: &JsValue) -> JsValue {
    let copy = Object::assign(&Object::new(), record.unchecked_ref());
    // Setting a property of a plain object cannot fail.
    let _ = Reflect::set(&copy, key, value);
    copy.into()
}

/// Removes an extra key field from a record read back (it is the record's own copy).
pub fn strip(record: &JsValue, key: &JsValue) {
    if record.is_object() {
        let _ = Reflect::delete_property(record.unchecked_ref::<Object>(), key);
    }
}

/// Removes an extra key field from every record read back.
pub fn strip_all(records: &[JsValue], key: &str) {
    let key = JsValue::from_str(key);
    for r in records {
        strip(r, &key);
    }
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

/// `lower` to `upper` with the given openness.
pub fn range(
    lower: &JsValue,
    upper: &JsValue,
    lower_open: bool,
    upper_open: bool,
) -> Result<IdbKeyRange, StoreError> {
    IdbKeyRange::bound_with_lower_open_and_upper_open(lower, upper, lower_open, upper_open)
        .map_err(|e| from_js("key range", &e))
}

/// The key range of every compound key that starts with `prefix` (arrays sort after every
/// string and number, so `[prefix, []]` is above all of them).
pub fn prefix_range(prefix: &str) -> Result<IdbKeyRange, StoreError> {
    range(
        &key(&[s(prefix)]),
        &key(&[s(prefix), Array::new().into()]),
        false,
        false,
    )
}

/// The confirmed messages of `prefix` in an ordering index (`[prefix, rseq]`) with
/// `channel_seq < before` (all of them for `u64::MAX`).
pub fn below_seq(prefix: &str, before: u64) -> Result<IdbKeyRange, StoreError> {
    // rseq = -channel_seq <= -1 for confirmed messages, so [prefix, 0) bounds them above;
    // channel_seq < before  <=>  rseq > -before.
    let upper = key(&[s(prefix), JsValue::from_f64(0.0)]);
    if before == u64::MAX {
        range(&key(&[s(prefix)]), &upper, false, true)
    } else {
        range(&key(&[s(prefix), rseq(before)]), &upper, true, true)
    }
}
