//! The SDK's error value: one stable [`ErrorCode`], the HTTP status (0 when the failure did not
//! come from an HTTP answer), whether retrying may help, and a human-readable message.
//!
//! Every failure the SDK reports — HTTP error bodies, websocket handshake refusals, network
//! failures, bad arguments from the caller — becomes an [`SdkError`]; the bindings turn it into a
//! JS `Error` carrying `code`, `status` and `retryable`. Codes are never recovered by parsing
//! message strings.

use chat_protocol::{ApiError, CloseCode, ErrorCode};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkError {
    pub code: ErrorCode,
    /// HTTP status of the failed request, or 0 when there was no HTTP answer.
    pub status: u16,
    pub retryable: bool,
    pub message: String,
}

impl SdkError {
    pub fn new(code: ErrorCode, status: u16, message: impl Into<String>) -> Self {
        SdkError {
            code,
            status,
            retryable: code.retryable(),
            message: message.into(),
        }
    }

    /// The caller passed something unusable (missing option, malformed argument).
    pub fn invalid_input(message: impl Into<String>) -> Self {
        SdkError::new(ErrorCode::InvalidInput, 0, message)
    }

    /// The network failed before any answer arrived (offline, refused, DNS). Retryable.
    pub fn network(message: impl Into<String>) -> Self {
        SdkError::new(ErrorCode::Unavailable, 0, message)
    }

    /// The server answered something the SDK could not understand.
    pub fn bad_response(status: u16, message: impl Into<String>) -> Self {
        SdkError::new(ErrorCode::Internal, status, message)
    }

    /// The client was disconnected by the caller; nothing more will be sent or received.
    pub fn closed() -> Self {
        let mut e = SdkError::new(ErrorCode::Unavailable, 0, "the client is disconnected");
        e.retryable = false;
        e
    }

    /// An error body from the server, keeping the server's own `retryable` verdict.
    pub fn from_api(status: u16, error: ApiError) -> Self {
        SdkError {
            code: error.code,
            status,
            retryable: error.retryable,
            message: error.message,
        }
    }

    /// A failed HTTP answer: the parsed error body when there is one, else a code derived from
    /// the status alone.
    pub fn from_http(status: u16, body: Option<ApiError>) -> Self {
        match body {
            Some(error) => SdkError::from_api(status, error),
            None => {
                let code = match status {
                    400 => ErrorCode::InvalidInput,
                    401 => ErrorCode::InvalidToken,
                    403 => ErrorCode::Forbidden,
                    404 => ErrorCode::NotFound,
                    409 => ErrorCode::IdConflict,
                    413 => ErrorCode::FrameTooLarge,
                    429 => ErrorCode::RateLimited,
                    502..=504 => ErrorCode::Unavailable,
                    _ => ErrorCode::Internal,
                };
                SdkError::new(
                    code,
                    status,
                    [
                        "HTTP ",
                        &crate::text::decimal(status.into()),
                        " without an error body",
                    ]
                    .concat(),
                )
            }
        }
    }

    /// The error a websocket close code stands for, when the server closed the handshake
    /// without sending an `error` frame first.
    pub fn from_close_code(code: u16) -> Self {
        let error_code = match CloseCode::from_u16(code) {
            Some(CloseCode::InvalidToken) => ErrorCode::InvalidToken,
            Some(CloseCode::TokenExpired) => ErrorCode::TokenExpired,
            Some(CloseCode::TokenRevoked) => ErrorCode::TokenRevoked,
            Some(CloseCode::UnknownApiKey) => ErrorCode::UnknownApiKey,
            Some(CloseCode::AppInactive) => ErrorCode::AppInactive,
            Some(CloseCode::UserDeactivated) => ErrorCode::UserDeactivated,
            Some(CloseCode::PolicyViolation) => ErrorCode::InvalidFrame,
            _ => ErrorCode::Unavailable,
        };
        let message = [
            "websocket closed with code ",
            &crate::text::decimal(code.into()),
        ]
        .concat();
        let mut e = SdkError::new(error_code, 0, message);
        e.retryable = CloseCode::should_reconnect(code);
        e
    }
}

impl std::fmt::Display for SdkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for SdkError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_body_wins_over_status() {
        let body = ApiError::new(ErrorCode::Forbidden, "not a member");
        let e = SdkError::from_http(403, Some(body));
        assert_eq!(
            (e.code, e.status, e.retryable),
            (ErrorCode::Forbidden, 403, false)
        );
        assert_eq!(e.message, "not a member");
    }

    #[test]
    fn server_retryable_verdict_is_kept() {
        let mut body = ApiError::new(ErrorCode::Forbidden, "x");
        body.retryable = true;
        assert!(SdkError::from_http(403, Some(body)).retryable);
    }

    #[test]
    fn status_alone_maps_to_a_code() {
        assert_eq!(SdkError::from_http(404, None).code, ErrorCode::NotFound);
        let e = SdkError::from_http(503, None);
        assert_eq!(e.code, ErrorCode::Unavailable);
        assert!(e.retryable);
        assert_eq!(SdkError::from_http(418, None).code, ErrorCode::Internal);
    }

    #[test]
    fn close_codes_map_to_error_codes() {
        let e = SdkError::from_close_code(4004);
        assert_eq!(e.code, ErrorCode::UnknownApiKey);
        assert!(!e.retryable);
        assert_eq!(
            SdkError::from_close_code(4003).code,
            ErrorCode::TokenRevoked
        );
        let e = SdkError::from_close_code(1006);
        assert_eq!(e.code, ErrorCode::Unavailable);
        assert!(e.retryable);
    }

    #[test]
    fn closed_is_not_retryable() {
        assert!(!SdkError::closed().retryable);
        assert!(SdkError::network("offline").retryable);
    }
}
