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

fn is_false(b: &bool) -> bool {
    !*b
}

/// A message as stored: the wire fields minus empty collections (they are defaults when read
/// back), plus `rseq` for the ordering indexes. Smaller records are cheaper to clone into
/// IndexedDB, and writing `rseq` here saves a property set per message.
#[derive(Serialize)]
pub struct StoredMessage<'a> {
    id: &'a str,
    cid: &'a str,
    channel_seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    rseq: Option<f64>,
    user_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a chat_protocol::User>,
    text: &'a str,
    #[serde(rename = "type")]
    message_type: &'a str,
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quoted_message_id: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    attachments: &'a [serde_json::Value],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    mentions: &'a [String],
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    metadata: &'a chat_protocol::model::Metadata,
    #[serde(skip_serializing_if = "is_false")]
    is_silent: bool,
    #[serde(skip_serializing_if = "is_false")]
    is_pinned: bool,
    #[serde(skip_serializing_if = "is_false")]
    is_edited: bool,
    #[serde(skip_serializing_if = "is_false")]
    is_deleted: bool,
    created_at: &'a str,
    updated_at: &'a str,
}

impl<'a> StoredMessage<'a> {
    pub fn of(m: &'a chat_protocol::Message) -> Self {
        StoredMessage {
            id: &m.id,
            cid: &m.cid,
            channel_seq: m.channel_seq,
            // Local echoes (seq 0) have no rseq: they stay out of the ordering indexes.
            rseq: (m.channel_seq > 0).then(|| -(m.channel_seq as f64)),
            user_id: &m.user_id,
            user: m.user.as_ref(),
            text: &m.text,
            message_type: &m.message_type,
            status: &m.status,
            parent_id: m.parent_id.as_deref(),
            quoted_message_id: m.quoted_message_id.as_deref(),
            attachments: &m.attachments,
            mentions: &m.mentions,
            metadata: &m.metadata,
            is_silent: m.is_silent,
            is_pinned: m.is_pinned,
            is_edited: m.is_edited,
            is_deleted: m.is_deleted,
            created_at: &m.created_at,
            updated_at: &m.updated_at,
        }
    }
}
