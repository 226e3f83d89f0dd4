//! Rate limiting per user and endpoint: a fixed 60 s window counted in Redis
//! (`ratelimit:{uid}:{endpoint}`, INCR + EXPIRE 60). Over the limit the caller gets
//! `rate_limited` (429) with `retry_after` (the window's remaining seconds, also sent as the
//! `Retry-After` header), and the request does nothing. [`http_layer`] applies it to every
//! user-facing route (limits per group in [`crate::config::RateLimits`]); [`check`] is the same
//! test for websocket frames. When Redis cannot be reached the limits fail open (logged at most
//! every 10 s): requests go on, the revocation of their token is checked in Postgres instead.

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chat_protocol::{ApiError, ErrorCode};
use uuid::Uuid;

use crate::config::RateLimits;
use crate::error::{Error, Result};
use crate::auth::{self, Identity};
use crate::http::extract;
use crate::state::AppState;

/// Length of the fixed window, in seconds.
pub const WINDOW_SECS: i64 = 60;

/// Counts one request of `user` to `endpoint`; `rate_limited` when it is over `limit` in the
/// current window.
pub async fn check(state: &AppState, user: Uuid, endpoint: &str, limit: u32) -> Result<()> {
    let key = format!("ratelimit:{user}:{endpoint}");
    let mut redis = state.redis();
    match count_pipe(&key).query_async::<(i64, i64)>(&mut redis).await {
        Ok((count, ttl)) => verdict(endpoint, limit, count, ttl),
        Err(e) => {
            auth::warn_redis_down(&e, "rate limits not enforced");
            Ok(())
        }
    }
}

/// INCR + EXPIRE NX + TTL of a window counter, in one MULTI.
fn count_pipe(key: &str) -> redis::Pipeline {
    let mut pipe = redis::pipe();
    pipe.atomic().incr(key, 1).cmd("EXPIRE").arg(key).arg(WINDOW_SECS).arg("NX").ignore().ttl(key);
    pipe
}

/// Revocation of the request's token and its rate limit, in one Redis round trip: `token_revoked`
/// or `rate_limited`, else Ok.
pub async fn check_request(state: &AppState, who: &Identity, endpoint: &str, limit: u32) -> Result<()> {
    let key = format!("ratelimit:{}:{endpoint}", who.user_id);
    let mut pipe = redis::pipe();
    pipe.exists(auth::revoked_key(&who.claims.jti))
        .exists(auth::REVOCATIONS_LOADED_KEY)
        .incr(&key, 1)
        .cmd("EXPIRE")
        .arg(&key)
        .arg(WINDOW_SECS)
        .arg("NX")
        .ignore()
        .ttl(&key);
    let mut redis = state.redis();
    match pipe.query_async::<(bool, bool, i64, i64)>(&mut redis).await {
        Ok((revoked, loaded, count, ttl)) => {
            // Without the marker Redis lost its revocations: Postgres answers (auth.rs).
            if auth::revoked_given(state, &who.claims.jti, revoked, loaded).await? {
                return Err(auth::revoked_error());
            }
            verdict(endpoint, limit, count, ttl)
        }
        Err(e) => {
            // Without Redis: rate limits fail open (they protect capacity, not data); the
            // revocation is still checked, in Postgres.
            auth::warn_redis_down(&e, "revocations checked in Postgres, rate limits not enforced");
            if auth::revoked_in_db(state, &who.claims.jti).await? {
                return Err(auth::revoked_error());
            }
            Ok(())
        }
    }
}

fn verdict(endpoint: &str, limit: u32, count: i64, ttl: i64) -> Result<()> {
    if count > i64::from(limit) {
        let retry_after = if ttl > 0 { ttl } else { WINDOW_SECS };
        let mut err = ApiError::new(
            ErrorCode::RateLimited,
            format!("too many requests to {endpoint}: at most {limit} per minute; retry in {retry_after} s"),
        );
        err.retry_after = Some(retry_after as u32);
        return Err(Error::Api(err));
    }
    Ok(())
}

/// The counter name and limit of a user-facing route.
fn classify(method: &Method, path: &str, limits: &RateLimits) -> (String, u32) {
    if *method == Method::POST && path == "/v1/channels/{type}/{id}/messages" {
        return ("send-message".into(), limits.send_message);
    }
    let limit = if *method == Method::GET || *method == Method::HEAD { limits.read } else { limits.write };
    (format!("{}:{path}", method.as_str().to_ascii_lowercase()), limit)
}

/// Paths that are not user-facing (no user token) and are never counted here.
fn exempt(path: &str) -> bool {
    path == "/healthz"
        || path == "/v1/ws"
        || path == "/v1/guest"
        || path.starts_with("/admin/")
        || path.starts_with("/dev/")
}

/// Middleware for user-facing routes (mounted with `route_layer` after every route): requests
/// with a user token (and no api secret) are authenticated, counted, and refused over the limit
/// before the handler runs. The [`Identity`] is handed to the handler's extractor (`Identity`
/// or `UserAuth`), so the token is verified once per request.
pub async fn http_layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    if !headers.contains_key("authorization") || headers.contains_key("x-api-secret") {
        return next.run(req).await;
    }
    let Some(path) = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()) else {
        return next.run(req).await;
    };
    if exempt(&path) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    // Revocation is checked below, with the rate limit.
    let who = match auth::identify(&state, &extract::api_key(&parts), extract::bearer(&parts)).await {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let (endpoint, limit) = classify(&parts.method, &path, &state.config().rate_limits);
    if let Err(e) = check_request(&state, &who, &endpoint, limit).await {
        return e.into_response();
    }
    parts.extensions.insert(who);
    next.run(Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_fall_into_groups() {
        let l = RateLimits::default();
        assert_eq!(classify(&Method::POST, "/v1/channels/{type}/{id}/messages", &l), ("send-message".into(), l.send_message));
        assert_eq!(classify(&Method::GET, "/v1/channels/{type}/{id}/messages", &l).1, l.read);
        assert_eq!(classify(&Method::PATCH, "/v1/me", &l), ("patch:/v1/me".into(), l.write));
        assert!(exempt("/v1/ws") && exempt("/admin/apps") && !exempt("/v1/me"));
    }
}
