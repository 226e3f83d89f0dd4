//! Reads the few protocol values the SDK itself needs — a frame's [`FrameHeader`], an
//! [`ApiError`] body, the `connect` [`ClientOptions`] — out of a [`Wire`] object field by
//! field, without serde.
//!
//! Why: in wasm, one serde deserialization through serde-wasm-bindgen brings serde's error
//! formatting (`Unexpected`, float and string `Debug` formatting: ~30 KB of wasm). Wire objects
//! stay JS objects anyway; reading five fields with `Reflect` is all that is needed. The serde
//! derives stay for native use; the tests below check both readings agree.

use chat_protocol::{ApiError, ErrorCode};

use crate::config::ClientOptions;
use crate::frame::{ChannelRef, FrameHeader};
use crate::state::Wire;

/// Every [`ErrorCode`], to look one up by its wire name.
const ERROR_CODES: [ErrorCode; 25] = [
    ErrorCode::InvalidJson,
    ErrorCode::InvalidInput,
    ErrorCode::UnknownApiKey,
    ErrorCode::AppInactive,
    ErrorCode::InvalidSecret,
    ErrorCode::MissingToken,
    ErrorCode::InvalidToken,
    ErrorCode::TokenExpired,
    ErrorCode::TokenRevoked,
    ErrorCode::UnknownUser,
    ErrorCode::UserDeactivated,
    ErrorCode::Forbidden,
    ErrorCode::NotFound,
    ErrorCode::IdConflict,
    ErrorCode::FrameTooLarge,
    ErrorCode::InvalidFrame,
    ErrorCode::RateLimited,
    ErrorCode::Internal,
    ErrorCode::Unavailable,
    ErrorCode::ChannelFrozen,
    ErrorCode::BannedFromChannel,
    ErrorCode::SlowMode,
    ErrorCode::MethodNotAllowed,
    ErrorCode::UriTooLong,
    ErrorCode::HeadersTooLarge,
];

/// The [`ErrorCode`] named `name` (`token_expired`, ...); `None` for an unknown name.
pub fn error_code(name: &str) -> Option<ErrorCode> {
    ERROR_CODES.into_iter().find(|c| c.as_str() == name)
}

/// An `{code, message, retryable, retry_after?}` error body; `None` when it is not one.
pub fn api_error<W: Wire>(body: &W) -> Option<ApiError> {
    Some(ApiError {
        code: error_code(&body.str_of("code")?)?,
        message: body.str_of("message")?,
        retryable: body.field("retryable")?.as_bool()?,
        retry_after: body
            .u64_of("retry_after")
            .map(|s| u32::try_from(s).unwrap_or(u32::MAX)),
    })
}

/// The routing header of a server frame; `None` without a `type` or with a malformed `error`.
pub fn frame_header<W: Wire>(frame: &W) -> Option<FrameHeader> {
    let error = match frame.field("error") {
        Some(e) => Some(api_error(&e)?),
        None => None,
    };
    let channel = match frame.field("channel") {
        Some(c) => Some(ChannelRef {
            cid: c.str_of("cid")?,
        }),
        None => None,
    };
    Some(FrameHeader {
        kind: frame.str_of("type")?,
        cid: frame.str_of("cid"),
        channel_seq: frame.u64_of("channel_seq"),
        user_seq: frame.u64_of("user_seq"),
        health_interval_ms: frame
            .u64_of("health_interval_ms")
            .and_then(|n| u32::try_from(n).ok()),
        connection_id: frame.str_of("connection_id"),
        error,
        channel,
    })
}

/// `ChatClient.connect(options)`: `apiUrl`, `apiKey`, `userId` (strings, required), `token`
/// and `deviceId` (optional). The error names the missing field.
pub fn client_options<W: Wire>(options: &W) -> Result<ClientOptions, String> {
    let required = |key: &str| {
        options
            .str_of(key)
            .ok_or_else(|| ["missing or non-string field `", key, "`"].concat())
    };
    Ok(ClientOptions {
        api_url: required("apiUrl")?,
        api_key: required("apiKey")?,
        user_id: required("userId")?,
        token: options.str_of("token").unwrap_or_default(),
        device_id: options.str_of("deviceId"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn every_error_code_reads_back() {
        for code in ERROR_CODES {
            let name = serde_json::to_value(code).unwrap();
            assert_eq!(error_code(name.as_str().unwrap()), Some(code));
        }
        assert_eq!(error_code("nope"), None);
    }

    #[test]
    fn frame_headers_read_like_serde() {
        let frames = [
            json!({"type": "connection.ok", "connection_id": "c1", "health_interval_ms": 5000}),
            json!({"type": "message.new", "cid": "m:a", "channel_seq": 7, "message": {"id": "x"}}),
            json!({"type": "notification.added_to_channel", "channel": {"cid": "m:b"}, "user_seq": 3}),
            json!({"type": "error", "error": {"code": "token_expired", "message": "old", "retryable": false}}),
            json!({"type": "error", "error": {"code": "rate_limited", "message": "slow", "retryable": true, "retry_after": 2}}),
            json!({"type": "health.check", "cid": null}),
        ];
        for frame in frames {
            let by_serde: FrameHeader = serde_json::from_value(frame.clone()).unwrap();
            assert_eq!(frame_header(&frame), Some(by_serde), "{frame}");
        }
        assert_eq!(frame_header(&json!({"cid": "m:a"})), None);
        assert_eq!(
            frame_header(&json!({"type": "error", "error": {"code": "??"}})),
            None
        );
    }

    #[test]
    fn api_errors_read_like_serde() {
        let body = json!({"code": "not_found", "message": "no such channel", "retryable": false});
        let by_serde: ApiError = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(api_error(&body), Some(by_serde));
        assert_eq!(api_error(&json!({"message": "x"})), None);
        assert_eq!(api_error(&Value::String("oops".into())), None);
    }

    #[test]
    fn client_options_read_like_serde() {
        let full = json!({"apiUrl": "http://h", "apiKey": "k", "userId": "u", "token": "t", "deviceId": "d"});
        let short = json!({"apiUrl": "http://h", "apiKey": "k", "userId": "u"});
        for options in [full, short] {
            let by_serde: ClientOptions = serde_json::from_value(options.clone()).unwrap();
            assert_eq!(client_options(&options), Ok(by_serde));
        }
        let err = client_options(&json!({"apiUrl": "http://h", "userId": "u"})).unwrap_err();
        assert!(err.contains("apiKey"), "{err}");
    }
}
