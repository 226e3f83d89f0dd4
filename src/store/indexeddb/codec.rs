//! Records as IndexedDB keeps them, and the keys and key ranges the queries use.
//!
//! Records are stored as the JS objects they are (IndexedDB's structured clone copies them);
//! no Rust encoding happens. Messages, channels, users, read states and outbox entries carry
//! their keys themselves and are put as they are. The few key fields other records lack are set
//! on a shallow copy (`Object.assign`) before the put and deleted from the object read back, so
//! a record read back equals the record written:
//!
//! | store | extra field | value |
//! | --- | --- | --- |
//! | members | `cid` | the channel of the write (a `ChannelMember` does not carry it) |
//! | drafts | `thread` | `parent_id`, or `""` for the channel's draft (keys cannot be absent) |
//! | reactions | `kind` | `type` (the key path of version 1 names it `kind`) |
//!
//! These names are therefore reserved in those records: a field of that name the record
//! brings itself is not read back. (None of the wire types has one.)
//!
//! Message order: the indexes `[cid, channel_seq]` and `[parent_id, channel_seq]`. Local
//! echoes (`channel_seq` absent or 0) are outside every range the queries use.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::IdbKeyRange;

use super::errors::from_js;
use crate::store::StoreError;

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

/// The confirmed messages of `prefix` in an ordering index (`[prefix, channel_seq]`) with
/// `after < channel_seq < before` (`before: None` for no upper bound). Local echoes (0) and
/// sequence numbers that are not numbers are outside.
pub fn seq_range(prefix: &str, after: u64, before: Option<u64>) -> Result<IdbKeyRange, StoreError> {
    let at = |seq: f64| key(&[s(prefix), JsValue::from_f64(seq)]);
    match before {
        Some(b) => range(&at(after as f64), &at(b as f64), true, true),
        None => range(&at(after as f64), &at(f64::INFINITY), true, false),
    }
}
