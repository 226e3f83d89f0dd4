//! Input validation shared by the domain modules: ids, names and sizes. Every failure is an
//! `invalid_input` error that names the field.

use crate::error::{Error, Result};

/// Ids chosen by applications (user ids, channel ids and types): 1–64 of `[A-Za-z0-9_\-@.!]`.
pub fn external_id(field: &str, v: &str) -> Result<()> {
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-@.!".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{field} must be 1-64 characters of letters, digits and _-@.! (got {:?})",
            truncate(v, 80)
        )))
    }
}

/// Channel types the routes use as path words (`POST /v1/channels/query`): never a type.
pub const RESERVED_CHANNEL_TYPES: &[&str] = &["query"];

/// Channel types: 1–64 of `[a-z0-9_-]`, not a reserved word ([`RESERVED_CHANNEL_TYPES`]).
pub fn channel_type(v: &str) -> Result<()> {
    if RESERVED_CHANNEL_TYPES.contains(&v) {
        return Err(Error::invalid(format!("channel type {v:?} is reserved")));
    }
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "channel type must be 1-64 characters of a-z, 0-9, _ and - (got {:?})",
            truncate(v, 80)
        )))
    }
}

/// Optional text fields with a maximum length in characters.
pub fn max_chars(field: &str, v: Option<&str>, max: usize) -> Result<()> {
    match v {
        Some(s) if s.chars().count() > max => {
            Err(Error::invalid(format!("{field} is longer than {max} characters")))
        }
        _ => Ok(()),
    }
}

/// JSON values stored as JSONB (metadata, attachments) are capped in serialized size.
pub fn max_json_bytes(field: &str, v: &impl serde::Serialize, max: usize) -> Result<()> {
    let n = serde_json::to_vec(v)?.len();
    if n > max {
        Err(Error::invalid(format!("{field} is larger than {max} bytes")))
    } else {
        Ok(())
    }
}

/// Refuses JSON whose strings or keys hold U+0000 (NUL): Postgres stores no NUL in text or
/// JSONB, so such input is refused up front (`invalid_input`, never retryable) wherever JSON
/// arrives (request bodies, websocket frames). A NUL can only arrive as the escape `\u0000`
/// (raw control characters are not JSON), so input without that escape costs one scan.
/// Unparsable input passes: the typed parse that follows reports it.
pub fn no_nul_in_json(bytes: &[u8]) -> Result<()> {
    const ESCAPE: &[u8] = b"\\u0000";
    if !bytes.windows(ESCAPE.len()).any(|w| w == ESCAPE) {
        return Ok(());
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else { return Ok(()) };
    match nul_path(&value, String::new()) {
        Some(path) => Err(Error::invalid(format!(
            "{} contains the character U+0000 (NUL), which text may not contain",
            if path.is_empty() { "the body".to_string() } else { path }
        ))),
        None => Ok(()),
    }
}

/// The path (`a.b[2]`) of the first string or key holding NUL in `v`.
fn nul_path(v: &serde_json::Value, at: String) -> Option<String> {
    match v {
        serde_json::Value::String(s) => s.contains('\0').then_some(at),
        serde_json::Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, item)| nul_path(item, format!("{at}[{i}]")))
        }
        serde_json::Value::Object(map) => map.iter().find_map(|(k, item)| {
            let here = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
            if k.contains('\0') {
                return Some(if at.is_empty() { "a key".to_string() } else { format!("a key in {at}") });
            }
            nul_path(item, here)
        }),
        _ => None,
    }
}

pub fn uuid(field: &str, v: &str) -> Result<uuid::Uuid> {
    uuid::Uuid::parse_str(v).map_err(|_| Error::invalid(format!("{field} must be a UUID")))
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(external_id("id", "alice_01").is_ok());
        assert!(external_id("id", "").is_err());
        assert!(external_id("id", "a b").is_err());
        assert!(external_id("id", "'; DROP TABLE users;--").is_err());
        assert!(external_id("id", &"x".repeat(65)).is_err());
        assert!(channel_type("messaging").is_ok());
        assert!(channel_type("Messaging").is_err());
        assert!(channel_type("query").is_err());
    }

    #[test]
    fn nul_is_refused_wherever_it_hides() {
        assert!(no_nul_in_json(br#"{"text":"hi"}"#).is_ok());
        assert!(no_nul_in_json(br#"{"text":"a\\u0000"}"#).is_ok(), "an escaped backslash, then text");
        for bad in [
            &br#"{"text":"a\u0000b"}"#[..],
            br#"{"metadata":{"k":["x","\u0000"]}}"#,
            br#"{"metadata":{"\u0000":1}}"#,
            br#""\u0000""#,
        ] {
            let e = no_nul_in_json(bad).unwrap_err().to_api();
            assert_eq!(e.code, chat_protocol::ErrorCode::InvalidInput);
            assert!(!e.retryable);
        }
        let e = no_nul_in_json(br#"{"metadata":{"k":["x","\u0000"]}}"#).unwrap_err().to_api();
        assert!(e.message.starts_with("metadata.k[1] "), "{}", e.message);
    }

    #[test]
    fn sizes() {
        assert!(max_chars("name", Some("héllo"), 5).is_ok());
        assert!(max_chars("name", Some("héllo!"), 5).is_err());
        assert!(max_chars("name", None, 0).is_ok());
        assert!(uuid("id", "not-a-uuid").is_err());
    }
}
