//! Read access to wire objects (a message, a member, a frame) without decoding them into Rust
//! structs: the state keeps the objects exactly as the server sent them and reads only the few
//! fields it needs to order, deduplicate and route. In the browser a wire object is a JS value
//! (read through `Reflect`); natively (tests) it is a `serde_json::Value`.

use std::fmt::Debug;

/// A JSON object as it came off the wire.
pub trait Wire: Clone + Debug {
    /// The value under `key`, `None` when absent or `null`.
    fn field(&self, key: &str) -> Option<Self>;
    fn as_string(&self) -> Option<String>;
    fn as_u64(&self) -> Option<u64>;
    fn as_bool(&self) -> Option<bool>;
    /// The elements of an array (empty for anything else).
    fn items(&self) -> Vec<Self>;

    fn str_of(&self, key: &str) -> Option<String> {
        self.field(key)?.as_string()
    }
    /// Whether `key` holds a string (without copying it out).
    fn has_str(&self, key: &str) -> bool {
        self.str_of(key).is_some()
    }
    fn u64_of(&self, key: &str) -> Option<u64> {
        self.field(key)?.as_u64()
    }
    fn list_of(&self, key: &str) -> Vec<Self> {
        self.field(key).map(|v| v.items()).unwrap_or_default()
    }
    fn flag(&self, key: &str) -> bool {
        self.field(key).and_then(|v| v.as_bool()).unwrap_or(false)
    }

    // Building values: the store's records, local echoes and outbox entries are wire objects
    // too (IndexedDB keeps them as they are, with no Rust encoding in between).

    fn string(text: &str) -> Self;
    fn number(n: u64) -> Self;
    fn boolean(b: bool) -> Self;
    fn array(items: Vec<Self>) -> Self;
    /// A new object with these fields (in this order).
    fn object(fields: Vec<(&str, Self)>) -> Self;
    /// A shallow copy with `key` set to `value`, or removed when `value` is `None`.
    fn with(&self, key: &str, value: Option<Self>) -> Self;
    /// A shallow copy with every field of `other` set on it (`Object.assign({}, self, other)`).
    fn merged(&self, other: &Self) -> Self;
}

#[cfg(test)]
impl Wire for serde_json::Value {
    fn field(&self, key: &str) -> Option<Self> {
        self.get(key).filter(|v| !v.is_null()).cloned()
    }
    fn as_string(&self) -> Option<String> {
        self.as_str().map(str::to_string)
    }
    fn as_u64(&self) -> Option<u64> {
        serde_json::Value::as_u64(self)
    }
    fn as_bool(&self) -> Option<bool> {
        serde_json::Value::as_bool(self)
    }
    fn items(&self) -> Vec<Self> {
        self.as_array().cloned().unwrap_or_default()
    }
    fn string(text: &str) -> Self {
        text.into()
    }
    fn number(n: u64) -> Self {
        n.into()
    }
    fn boolean(b: bool) -> Self {
        b.into()
    }
    fn array(items: Vec<Self>) -> Self {
        serde_json::Value::Array(items)
    }
    fn object(fields: Vec<(&str, Self)>) -> Self {
        serde_json::Value::Object(fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }
    fn with(&self, key: &str, value: Option<Self>) -> Self {
        let mut copy = self.clone();
        if let Some(object) = copy.as_object_mut() {
            match value {
                Some(v) => {
                    object.insert(key.to_string(), v);
                }
                None => {
                    object.remove(key);
                }
            }
        }
        copy
    }
    fn merged(&self, other: &Self) -> Self {
        let mut copy = self.clone();
        if let (Some(object), Some(extra)) = (copy.as_object_mut(), other.as_object()) {
            for (k, v) in extra {
                object.insert(k.clone(), v.clone());
            }
        }
        copy
    }
}

/// Where an incoming frame belongs in the sequence streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// A channel event: `cid` and its `channel_seq`.
    Channel(String, u64),
    /// A user event with its `user_seq`.
    User(u64),
    /// Ephemeral (typing, presence, watching) or connection frames: no sequence.
    None,
}

/// The stream position of a frame.
pub fn position<W: Wire>(frame: &W) -> Position {
    if let (Some(cid), Some(seq)) = (frame.str_of("cid"), frame.u64_of("channel_seq")) {
        return Position::Channel(cid, seq);
    }
    match frame.u64_of("user_seq") {
        Some(seq) => Position::User(seq),
        None => Position::None,
    }
}
