//! The server's error type: every failure a handler can return, mapped to the wire's
//! `{code, message, retryable}` body and HTTP status. Internal details are logged, not sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chat_protocol::{ApiError, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A client-facing failure with a stable code.
    #[error("{0}")]
    Api(ApiError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn api(code: ErrorCode, message: impl Into<String>) -> Error {
        Error::Api(ApiError::new(code, message))
    }

    pub fn invalid(message: impl Into<String>) -> Error {
        Error::api(ErrorCode::InvalidInput, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Error {
        Error::api(ErrorCode::Forbidden, message)
    }

    pub fn not_found(message: impl Into<String>) -> Error {
        Error::api(ErrorCode::NotFound, message)
    }

    /// The wire form of this error. Infrastructure failures become `unavailable` / `internal`
    /// without their details, which are logged instead.
    pub fn to_api(&self) -> ApiError {
        match self {
            Error::Api(e) => e.clone(),
            Error::Db(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed) => {
                tracing::warn!(error = %self, "dependency unavailable");
                ApiError::new(ErrorCode::Unavailable, "the database is unavailable; retry later")
            }
            // Data exceptions (SQLSTATE class 22: a value Postgres cannot store or compare)
            // and program limits (54: e.g. a value too large to index) come from the values a
            // request carried: bad input, never worth a retry. Validation should have caught
            // them first, so they are logged.
            Error::Db(sqlx::Error::Database(db))
                if db.code().is_some_and(|c| c.starts_with("22") || c.starts_with("54")) =>
            {
                tracing::warn!(error = %self, "input refused by the database");
                ApiError::new(ErrorCode::InvalidInput, "a value in the request cannot be stored")
            }
            Error::Redis(e) if e.is_io_error() || e.is_connection_dropped() || e.is_timeout() => {
                tracing::warn!(error = %self, "dependency unavailable");
                ApiError::new(ErrorCode::Unavailable, "redis is unavailable; retry later")
            }
            other => {
                tracing::error!(error = %other, "internal error");
                ApiError::new(ErrorCode::Internal, "internal server error")
            }
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let body = self.to_api();
        let status =
            StatusCode::from_u16(body.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (status, Json(&body)).into_response();
        if let Some(secs) = body.retry_after {
            if let Ok(v) = secs.to_string().parse() {
                resp.headers_mut().insert("retry-after", v);
            }
        }
        resp
    }
}
