//! Whether a failed delivery is worth repeating: [`classify`] splits an [`SdkError`] into
//! [`Failure::Retryable`] (the network, the server's load, or the session is at fault — the
//! entry stays pending) and [`Failure::Permanent`] (the server refused this change — the entry
//! becomes failed, with the server's code). Retry *policy* (backoff, when to try again) is the
//! driver's business, not this module's.

use chat_protocol::ErrorCode;

use crate::error::SdkError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Retryable,
    Permanent { code: ErrorCode, message: String },
}

/// Codes about the session or the connection rather than about the change itself: resending
/// the same change later, with working credentials, may well succeed.
fn about_the_session(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::UnknownApiKey
            | ErrorCode::AppInactive
            | ErrorCode::MissingToken
            | ErrorCode::InvalidToken
            | ErrorCode::TokenExpired
            | ErrorCode::TokenRevoked
            | ErrorCode::UnknownUser
            | ErrorCode::UserDeactivated
            | ErrorCode::Unavailable
    )
}

/// Classifies the error a delivery attempt ended with. Network failures (no HTTP answer) and
/// the codes [`ErrorCode::retryable`] names are retryable, as is anything the server itself
/// marked `retryable`; so are session errors (expired or revoked token, a closed client): the
/// change waits for a working session instead of being marked failed. Everything else
/// (`invalid_input`, `forbidden`, `not_found`, `id_conflict`, ...) is permanent.
pub fn classify(error: &SdkError) -> Failure {
    if error.retryable || error.code.retryable() || about_the_session(error.code) {
        Failure::Retryable
    } else {
        Failure::Permanent {
            code: error.code,
            message: error.message.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_protocol::ApiError;

    #[test]
    fn network_and_server_load_are_retryable() {
        assert_eq!(classify(&SdkError::network("offline")), Failure::Retryable);
        assert_eq!(
            classify(&SdkError::from_http(503, None)),
            Failure::Retryable
        );
        let limited = SdkError::from_api(429, ApiError::new(ErrorCode::RateLimited, "slow"));
        assert_eq!(classify(&limited), Failure::Retryable);
        assert_eq!(
            classify(&SdkError::from_http(500, None)),
            Failure::Retryable
        );
    }

    #[test]
    fn session_errors_keep_the_entry_pending() {
        for code in [
            ErrorCode::TokenExpired,
            ErrorCode::TokenRevoked,
            ErrorCode::InvalidToken,
        ] {
            assert_eq!(classify(&SdkError::new(code, 401, "x")), Failure::Retryable);
        }
        assert_eq!(classify(&SdkError::closed()), Failure::Retryable);
    }

    #[test]
    fn refusals_of_the_change_are_permanent() {
        let e = SdkError::from_api(
            403,
            ApiError::new(ErrorCode::Forbidden, "channel is frozen"),
        );
        assert_eq!(
            classify(&e),
            Failure::Permanent {
                code: ErrorCode::Forbidden,
                message: "channel is frozen".into()
            }
        );
        for code in [
            ErrorCode::InvalidInput,
            ErrorCode::NotFound,
            ErrorCode::IdConflict,
        ] {
            assert!(matches!(
                classify(&SdkError::new(code, 400, "x")),
                Failure::Permanent { .. }
            ));
        }
    }

    #[test]
    fn the_servers_retryable_verdict_wins() {
        let mut body = ApiError::new(ErrorCode::Forbidden, "try later");
        body.retryable = true;
        assert_eq!(classify(&SdkError::from_api(403, body)), Failure::Retryable);
    }
}
