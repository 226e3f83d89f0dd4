//! The JSON error body on every error the router answers: [`method_not_allowed`] is the 405 of
//! a path that exists without the request's method, and [`json_errors`] gives any other error
//! response (status >= 400) that is not JSON — axum's extractor rejections, `ServeDir`'s bare
//! 404 and 405 — the `{code, message, retryable}` body of the code for its status
//! ([`code_for_status`]). Answers built from [`crate::Error`] are JSON already and pass as they
//! are.

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{
    CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER, TRANSFER_ENCODING,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::Response;
use chat_protocol::{ApiError, ErrorCode};

use crate::error::Error;

/// Longest plain-text error body kept as the message.
const MAX_TEXT_BYTES: usize = 1024;

/// The code of an error answer that has only a status. A code has one status: the answer takes
/// the code's status (a bare 413 or 415 becomes 400, like the JSON extractor's).
pub fn code_for_status(status: StatusCode) -> ErrorCode {
    match status.as_u16() {
        403 => ErrorCode::Forbidden,
        404 | 410 => ErrorCode::NotFound,
        405 => ErrorCode::MethodNotAllowed,
        409 => ErrorCode::IdConflict,
        414 => ErrorCode::UriTooLong,
        415 | 422 => ErrorCode::InvalidJson,
        429 => ErrorCode::RateLimited,
        431 => ErrorCode::HeadersTooLarge,
        503 => ErrorCode::Unavailable,
        500..=599 => ErrorCode::Internal,
        _ => ErrorCode::InvalidInput,
    }
}

/// The router's answer to a known path asked with a method it does not have (axum adds the
/// `Allow` header).
pub async fn method_not_allowed(method: Method, uri: Uri) -> Error {
    Error::api(
        ErrorCode::MethodNotAllowed,
        format!("{method} is not allowed on {}", uri.path()),
    )
}

/// Middleware: an error response without a JSON body gets one (see the module comment).
pub async fn json_errors(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let resp = next.run(req).await;
    if resp.status().as_u16() < 400 || is_json(resp.headers()) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let text = if is_plain_text(&parts.headers) {
        axum::body::to_bytes(body, MAX_TEXT_BYTES)
            .await
            .ok()
            .and_then(|b| String::from_utf8(b.to_vec()).ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    } else {
        None
    };
    let code = code_for_status(parts.status);
    let message =
        text.unwrap_or_else(|| default_message(code, parts.status, &method, &parts.headers));
    let mut error = ApiError::new(code, message);
    if code == ErrorCode::RateLimited {
        error.retry_after = parts
            .headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.trim().parse().ok());
    }
    parts.status = StatusCode::from_u16(code.http_status()).unwrap_or(parts.status);
    for name in [CONTENT_LENGTH, CONTENT_ENCODING, TRANSFER_ENCODING] {
        parts.headers.remove(name);
    }
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, Body::from(body_bytes(&error)))
}

/// The serialized error body.
pub fn body_bytes(error: &ApiError) -> Vec<u8> {
    // An ApiError is strings, a bool and a number: serializing it cannot fail.
    serde_json::to_vec(error)
        .unwrap_or_else(|_| br#"{"code":"internal","message":"","retryable":true}"#.to_vec())
}

fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn is_json(headers: &HeaderMap) -> bool {
    content_type(headers).starts_with("application/json")
}

fn is_plain_text(headers: &HeaderMap) -> bool {
    content_type(headers).starts_with("text/plain")
}

fn default_message(
    code: ErrorCode,
    status: StatusCode,
    method: &Method,
    headers: &HeaderMap,
) -> String {
    match code {
        ErrorCode::MethodNotAllowed => {
            let allow = headers
                .get("allow")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            format!("{method} is not allowed here; allowed: {allow}")
        }
        ErrorCode::NotFound => "no such endpoint or file".to_string(),
        _ => status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_maps_to_a_code_and_known_ones_keep_their_status() {
        for status in [403, 404, 405, 409, 414, 429, 431, 500, 503] {
            let s = StatusCode::from_u16(status).unwrap();
            assert_eq!(code_for_status(s).http_status(), status, "{status}");
        }
        for (status, code) in [
            (413, ErrorCode::InvalidInput),
            (415, ErrorCode::InvalidJson),
            (400, ErrorCode::InvalidInput),
        ] {
            assert_eq!(code_for_status(StatusCode::from_u16(status).unwrap()), code);
        }
    }
}
