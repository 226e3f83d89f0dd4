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
    fn u64_of(&self, key: &str) -> Option<u64> {
        self.field(key)?.as_u64()
    }
    fn list_of(&self, key: &str) -> Vec<Self> {
        self.field(key).map(|v| v.items()).unwrap_or_default()
    }
    fn flag(&self, key: &str) -> bool {
        self.field(key).and_then(|v| v.as_bool()).unwrap_or(false)
    }
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
