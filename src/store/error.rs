//! [`StoreError`]: what a store operation can fail with. The browser's DOMException name and
//! message are kept (rexie's own `Display` drops them), and the failures a caller reacts to
//! differently — quota, a blocked upgrade, a closed connection, a database newer than this
//! code — are distinct variants.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The browser refused to store more (`QuotaExceededError`). Free space (evict) and retry.
    QuotaExceeded { message: String },
    /// Opening needs a schema upgrade, but another tab keeps an older connection open.
    UpgradeBlocked { message: String },
    /// The connection was closed (another tab upgraded or deleted the database, or the browser
    /// closed it). The store reopens it on the next call.
    ConnectionClosed { message: String },
    /// The database on disk was written by a newer schema than this code knows (`VersionError`).
    VersionTooNew { message: String },
    /// A stored record could not be read back (or a value could not be stored) as the expected
    /// type.
    Codec { message: String },
    /// Any other failure of the backend, with everything the browser told us: what we were
    /// doing (`context`), and the DOMException `name` and `message`.
    Backend {
        context: String,
        name: String,
        message: String,
    },
}

/// Whether `text` contains `part` (a plain byte scan: `str::contains` brings a substring
/// search engine into the wasm for these two short checks).
fn has(text: &str, part: &str) -> bool {
    text.as_bytes()
        .windows(part.len())
        .any(|w| w == part.as_bytes())
}

impl StoreError {
    /// Classifies a DOMException by its `name`. `context` says what the store was doing.
    pub fn from_dom(context: &str, name: &str, message: &str) -> StoreError {
        let message = message.to_owned();
        match name {
            "QuotaExceededError" => StoreError::QuotaExceeded { message },
            // Thrown by `transaction()` on a connection that is closed or closing.
            "InvalidStateError" if has(&message, "clos") || has(context, "transaction") => {
                StoreError::ConnectionClosed { message }
            }
            "VersionError" => StoreError::VersionTooNew { message },
            // The IndexedDB adapter's own (js/idb.js), named as `name()` names them.
            "UpgradeBlocked" => StoreError::UpgradeBlocked { message },
            "ConnectionClosed" => StoreError::ConnectionClosed { message },
            _ => StoreError::Backend {
                context: context.to_owned(),
                name: name.to_owned(),
                message,
            },
        }
    }

    /// Whether the connection must be dropped and opened again before the next call.
    pub fn needs_reopen(&self) -> bool {
        matches!(self, StoreError::ConnectionClosed { .. })
    }

    /// The DOMException-style name of this error (stable; for JS `Error.name`-like use).
    pub fn name(&self) -> &str {
        match self {
            StoreError::QuotaExceeded { .. } => "QuotaExceededError",
            StoreError::UpgradeBlocked { .. } => "UpgradeBlocked",
            StoreError::ConnectionClosed { .. } => "ConnectionClosed",
            StoreError::VersionTooNew { .. } => "VersionError",
            StoreError::Codec { .. } => "CodecError",
            StoreError::Backend { name, .. } => name,
        }
    }
}

impl StoreError {
    /// What went wrong, in words (the `Display` text; built without `core::fmt`, see
    /// [`crate::text`]).
    pub fn describe(&self) -> String {
        let (what, message) = match self {
            StoreError::QuotaExceeded { message } => ("storage quota exceeded", message),
            StoreError::UpgradeBlocked { message } => {
                ("schema upgrade blocked by another open connection", message)
            }
            StoreError::ConnectionClosed { message } => ("database connection closed", message),
            StoreError::VersionTooNew { message } => ("database is newer than this code", message),
            StoreError::Codec { message } => ("stored record has an unexpected shape", message),
            StoreError::Backend {
                context,
                name,
                message,
            } => return [context.as_str(), ": ", name, ": ", message].concat(),
        };
        [what, ": ", message].concat()
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl std::error::Error for StoreError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dom_names_map_to_distinct_variants() {
        let q = StoreError::from_dom("put", "QuotaExceededError", "full");
        assert_eq!(
            q,
            StoreError::QuotaExceeded {
                message: "full".into()
            }
        );
        let c = StoreError::from_dom(
            "failed to open new transaction",
            "InvalidStateError",
            "The database connection is closing.",
        );
        assert!(c.needs_reopen());
        assert!(matches!(
            StoreError::from_dom("open", "VersionError", "v3 < v4"),
            StoreError::VersionTooNew { .. }
        ));
    }

    #[test]
    fn the_adapters_own_names_read_back_as_their_variants() {
        for e in [
            StoreError::UpgradeBlocked {
                message: "wait".into(),
            },
            StoreError::ConnectionClosed {
                message: "closing".into(),
            },
            StoreError::QuotaExceeded {
                message: "full".into(),
            },
            StoreError::VersionTooNew {
                message: "5 > 4".into(),
            },
        ] {
            let message = match &e {
                StoreError::UpgradeBlocked { message }
                | StoreError::ConnectionClosed { message }
                | StoreError::QuotaExceeded { message }
                | StoreError::VersionTooNew { message } => message.clone(),
                _ => unreachable!(),
            };
            assert_eq!(StoreError::from_dom("open", e.name(), &message), e);
        }
    }

    #[test]
    fn other_dom_errors_keep_name_and_message() {
        let e = StoreError::from_dom("failed to add a value", "ConstraintError", "key exists");
        assert_eq!(e.name(), "ConstraintError");
        assert_eq!(
            e.to_string(),
            "failed to add a value: ConstraintError: key exists"
        );
        assert!(!e.needs_reopen());
    }
}
