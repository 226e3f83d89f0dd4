//! Stable error codes, the `{code, message, retryable}` error body, and websocket close codes.
//!
//! Codes are part of the public contract: clients branch on them, so a code is never renamed
//! or reused. Every HTTP error body and every websocket `error` frame carries one.

use serde::{Deserialize, Serialize};

/// Every error the server can report. Serialized as snake_case strings (`"token_expired"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request body or query is not valid JSON or misses a required field.
    InvalidJson,
    /// A field has a value outside what is allowed (too long, wrong format, unknown enum).
    InvalidInput,
    /// No `api_key`, or it names no application.
    UnknownApiKey,
    /// The application exists but is disabled.
    AppInactive,
    /// The server-side secret does not match the application's.
    InvalidSecret,
    /// No token was supplied.
    MissingToken,
    /// The token is not a well-formed HS256 JWT or its signature does not verify.
    InvalidToken,
    /// The token's `exp` has passed; fetch a fresh token and reconnect.
    TokenExpired,
    /// The token's `jti` has been revoked.
    TokenRevoked,
    /// The token's user does not exist in this application.
    UnknownUser,
    /// The user is deactivated.
    UserDeactivated,
    /// The caller may not do this (not a member, insufficient role).
    Forbidden,
    /// The thing named does not exist (or the caller may not know it exists).
    NotFound,
    /// A client-chosen id is already used by a different object.
    IdConflict,
    /// A websocket frame was larger than [`crate::MAX_CLIENT_FRAME_BYTES`].
    FrameTooLarge,
    /// A websocket frame could not be parsed as a known client frame.
    InvalidFrame,
    /// Too many requests; retry after the indicated time.
    RateLimited,
    /// The server failed; retrying may succeed.
    Internal,
    /// A dependency (database, redis) is unavailable; retry later.
    Unavailable,
    /// The channel is frozen: nobody may post until it is unfrozen.
    ChannelFrozen,
    /// The caller is banned from this channel (until `ban_expires_at`, if set).
    BannedFromChannel,
    /// Slow mode or the channel cooldown: wait `retry_after` seconds before posting again.
    SlowMode,
    /// The path exists but not with this HTTP method (the `Allow` header lists those it has).
    MethodNotAllowed,
    /// The request URI is too long to be parsed (over 64 KiB).
    UriTooLong,
    /// The request has too many headers (over 100) or they are too large.
    HeadersTooLarge,
}

impl ErrorCode {
    /// The stable wire string of this code.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::UnknownApiKey => "unknown_api_key",
            ErrorCode::AppInactive => "app_inactive",
            ErrorCode::InvalidSecret => "invalid_secret",
            ErrorCode::MissingToken => "missing_token",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::TokenRevoked => "token_revoked",
            ErrorCode::UnknownUser => "unknown_user",
            ErrorCode::UserDeactivated => "user_deactivated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::IdConflict => "id_conflict",
            ErrorCode::FrameTooLarge => "frame_too_large",
            ErrorCode::InvalidFrame => "invalid_frame",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Internal => "internal",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::ChannelFrozen => "channel_frozen",
            ErrorCode::BannedFromChannel => "banned_from_channel",
            ErrorCode::SlowMode => "slow_mode",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::UriTooLong => "uri_too_long",
            ErrorCode::HeadersTooLarge => "headers_too_large",
        }
    }

    /// The HTTP status the server answers with for this code.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidJson | ErrorCode::InvalidInput | ErrorCode::InvalidFrame => 400,
            ErrorCode::FrameTooLarge => 413,
            ErrorCode::UnknownApiKey
            | ErrorCode::InvalidSecret
            | ErrorCode::MissingToken
            | ErrorCode::InvalidToken
            | ErrorCode::TokenExpired
            | ErrorCode::TokenRevoked
            | ErrorCode::UnknownUser => 401,
            ErrorCode::AppInactive
            | ErrorCode::UserDeactivated
            | ErrorCode::Forbidden
            | ErrorCode::ChannelFrozen
            | ErrorCode::BannedFromChannel => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::IdConflict => 409,
            ErrorCode::UriTooLong => 414,
            ErrorCode::RateLimited | ErrorCode::SlowMode => 429,
            ErrorCode::HeadersTooLarge => 431,
            ErrorCode::Internal => 500,
            ErrorCode::Unavailable => 503,
        }
    }

    /// Whether the same request may succeed if simply sent again later.
    pub fn retryable(self) -> bool {
        matches!(self, ErrorCode::RateLimited | ErrorCode::Internal | ErrorCode::Unavailable | ErrorCode::SlowMode)
    }

    /// The websocket close code used when this error ends a connection during the handshake.
    pub fn close_code(self) -> CloseCode {
        match self {
            ErrorCode::UnknownApiKey => CloseCode::UnknownApiKey,
            ErrorCode::AppInactive => CloseCode::AppInactive,
            ErrorCode::MissingToken | ErrorCode::InvalidToken | ErrorCode::UnknownUser => {
                CloseCode::InvalidToken
            }
            ErrorCode::TokenExpired => CloseCode::TokenExpired,
            ErrorCode::TokenRevoked => CloseCode::TokenRevoked,
            ErrorCode::UserDeactivated => CloseCode::UserDeactivated,
            ErrorCode::Internal | ErrorCode::Unavailable => CloseCode::TryAgainLater,
            _ => CloseCode::PolicyViolation,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error body of every failed HTTP request and of every websocket `error` frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub retryable: bool,
    /// Seconds to wait before retrying (only with `rate_limited`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u32>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into(), retryable: code.retryable(), retry_after: None }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

/// Websocket close codes. 1000–1999 are the standard ones; 4000–4099 are terminal for the
/// current credentials (the client must not reconnect with the same token); 4100–4199 tell the
/// client to reconnect (after backoff).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum CloseCode {
    /// Normal closure (client disconnect or server shutdown of an idle session).
    Normal = 1000,
    /// The server is going away (shutdown); reconnect, possibly to another node.
    GoingAway = 1001,
    /// The client broke the websocket protocol itself (RFC 6455: bad opcode, unmasked frame).
    ProtocolError = 1002,
    /// A text frame was not valid UTF-8 (RFC 6455 requires closing); reconnect.
    InvalidPayload = 1007,
    /// A frame exceeded the transport's hard limit (1 MiB); reconnect.
    MessageTooBig = 1009,
    /// The token's signature or format is bad, or it names an unknown user. Terminal.
    InvalidToken = 4001,
    /// The token has expired. Terminal for this token: refresh it, then reconnect.
    TokenExpired = 4002,
    /// The token was revoked. Terminal.
    TokenRevoked = 4003,
    /// The api_key names no application. Terminal.
    UnknownApiKey = 4004,
    /// The application is disabled. Terminal.
    AppInactive = 4005,
    /// The user is deactivated. Terminal.
    UserDeactivated = 4006,
    /// The client broke the protocol repeatedly. Terminal.
    PolicyViolation = 4008,
    /// No frame arrived within the health-check window; reconnect.
    HealthCheckTimeout = 4100,
    /// The server could not serve the session right now; reconnect after backoff.
    TryAgainLater = 4101,
    /// The client fell too far behind the live stream; reconnect and sync.
    SlowConsumer = 4102,
}

impl CloseCode {
    pub fn as_u16(self) -> u16 {
        self as u16
    }

    pub fn from_u16(code: u16) -> Option<CloseCode> {
        use CloseCode::*;
        [
            Normal, GoingAway, ProtocolError, InvalidPayload, MessageTooBig, InvalidToken, TokenExpired, TokenRevoked,
            UnknownApiKey, AppInactive, UserDeactivated, PolicyViolation, HealthCheckTimeout,
            TryAgainLater, SlowConsumer,
        ]
        .into_iter()
        .find(|c| c.as_u16() == code)
    }

    /// Whether a client should reconnect after this close (with backoff). `TokenExpired` is
    /// reconnectable only after a token refresh, so it reports `false` here.
    pub fn should_reconnect(code: u16) -> bool {
        !(4000..4100).contains(&code) && code != CloseCode::Normal as u16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_to_their_stable_strings() {
        for code in [
            ErrorCode::InvalidJson,
            ErrorCode::TokenExpired,
            ErrorCode::FrameTooLarge,
            ErrorCode::MethodNotAllowed,
            ErrorCode::UriTooLong,
            ErrorCode::HeadersTooLarge,
        ] {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            let back: ErrorCode = serde_json::from_str(&json).unwrap();
            assert_eq!(back, code);
        }
    }

    #[test]
    fn close_codes_split_terminal_and_reconnect() {
        assert!(!CloseCode::should_reconnect(CloseCode::TokenRevoked.as_u16()));
        assert!(!CloseCode::should_reconnect(CloseCode::UnknownApiKey.as_u16()));
        assert!(!CloseCode::should_reconnect(1000));
        assert!(CloseCode::should_reconnect(CloseCode::HealthCheckTimeout.as_u16()));
        assert!(CloseCode::should_reconnect(1006));
        assert_eq!(CloseCode::from_u16(4002), Some(CloseCode::TokenExpired));
        assert_eq!(CloseCode::from_u16(4999), None);
    }

    #[test]
    fn error_body_shape() {
        let e = ApiError::new(ErrorCode::RateLimited, "slow down");
        let v: serde_json::Value = serde_json::to_value(&e).unwrap();
        assert_eq!(v["code"], "rate_limited");
        assert_eq!(v["retryable"], true);
        assert!(v.get("retry_after").is_none());
    }
}
