//! Request extractors that turn every rejection into a coded error: JSON bodies
//! (`invalid_json`, naming the bad or unknown field), user authentication (api_key + bearer
//! token) and server-side authentication (api_key + api_secret).

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use chat_protocol::ErrorCode;
use serde::de::DeserializeOwned;

use crate::auth::{self, Claims, Identity};
use crate::domain::apps::App;
use crate::domain::users::UserRow;
use crate::error::Error;
use crate::state::AppState;

/// A JSON body; malformed JSON, wrong types and unknown fields are `invalid_json`, text with
/// U+0000 is `invalid_input` ([`crate::domain::validate::no_nul_in_json`]).
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                Error::api(ErrorCode::InvalidInput, "the request body is too large")
            } else {
                Error::api(ErrorCode::InvalidJson, format!("cannot read the body: {e}"))
            }
        })?;
        crate::domain::validate::no_nul_in_json(&bytes)?;
        serde_json::from_slice(&bytes)
            .map(Body)
            .map_err(|e| Error::api(ErrorCode::InvalidJson, format!("invalid JSON body: {e}")))
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").trim()
}

pub(crate) fn api_key(parts: &Parts) -> String {
    let h = header(&parts.headers, "x-api-key");
    if !h.is_empty() {
        return h.to_string();
    }
    // Also accepted as a query parameter, for clients that cannot set headers.
    parts
        .uri
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("api_key=")))
        .unwrap_or("")
        .to_string()
}

pub(crate) fn bearer(parts: &Parts) -> &str {
    let authz = header(&parts.headers, "authorization");
    authz.strip_prefix("Bearer ").or_else(|| authz.strip_prefix("bearer ")).unwrap_or(authz).trim()
}

/// The authenticated user of a client request, with the user's row (refused when deactivated).
#[derive(Clone)]
pub struct UserAuth {
    pub app: App,
    pub user: UserRow,
    pub claims: Claims,
}

impl FromRequestParts<AppState> for UserAuth {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // The rate-limit middleware identified the request and checked revocation already.
        if let Some(who) = parts.extensions.remove::<Identity>() {
            let user = auth::load_user(state, &who).await?;
            return Ok(UserAuth { app: who.app, user, claims: who.claims });
        }
        let (app, user, claims) = auth::user(state, &api_key(parts), bearer(parts)).await?;
        Ok(UserAuth { app, user, claims })
    }
}

/// The identified (not revoked) user of a client request, without the user row: for the send
/// path, which checks the user inside its transaction.
impl FromRequestParts<AppState> for Identity {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(who) = parts.extensions.remove::<Identity>() {
            return Ok(who);
        }
        let who = auth::identify(state, &api_key(parts), bearer(parts)).await?;
        if auth::is_revoked(state, &who.claims.jti).await? {
            return Err(auth::revoked_error());
        }
        Ok(who)
    }
}

/// The application of a server-side request (api_key + api_secret).
pub struct SecretAuth(pub App);

impl FromRequestParts<AppState> for SecretAuth {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let key = api_key(parts);
        let secret = header(&parts.headers, "x-api-secret");
        if secret.is_empty() {
            return Err(Error::api(ErrorCode::InvalidSecret, "server-side calls need X-Api-Secret"));
        }
        Ok(SecretAuth(auth::secret(state, &key, secret).await?))
    }
}
