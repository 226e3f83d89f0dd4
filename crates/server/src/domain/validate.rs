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

/// Channel types: 1–64 of `[a-z0-9_-]`.
pub fn channel_type(v: &str) -> Result<()> {
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
    }

    #[test]
    fn sizes() {
        assert!(max_chars("name", Some("héllo"), 5).is_ok());
        assert!(max_chars("name", Some("héllo!"), 5).is_err());
        assert!(max_chars("name", None, 0).is_ok());
        assert!(uuid("id", "not-a-uuid").is_err());
    }
}
