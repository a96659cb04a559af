//! Errors as HTTP answers: clients get a clear message about *their* input;
//! internals (SQL, connection strings) go to the log, never the response.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request is well-formed JSON but its content is invalid.
    #[error("{0}")]
    Invalid(String),
    /// A document of one collection is invalid: the collector can drop that
    /// collection and send the others.
    #[error("{message}")]
    InvalidDocument { collection: String, message: String },
    /// The request could not be read as the expected JSON.
    #[error("{0}")]
    BadRequest(String),
    #[error("expected `Content-Type: application/json`")]
    NotJson,
    /// Another request stored the same keys meanwhile: retry.
    #[error("another batch stored the same samples concurrently; retry")]
    Conflict,
    #[error("not found")]
    NotFound,
    /// The database is unreachable: the client should retry.
    #[error("database unavailable")]
    Unavailable,
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        if myhealth_common::db::is_unavailable(&e) {
            AppError::Unavailable
        } else if e.as_database_error().is_some_and(|d| d.is_unique_violation()) {
            AppError::Conflict
        } else {
            AppError::Internal(e.into())
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            AppError::Invalid(m) => (StatusCode::UNPROCESSABLE_ENTITY, m.clone()),
            AppError::InvalidDocument { message, .. } => (StatusCode::UNPROCESSABLE_ENTITY, message.clone()),
            AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
            AppError::NotJson => (StatusCode::UNSUPPORTED_MEDIA_TYPE, self.to_string()),
            AppError::Conflict => (StatusCode::CONFLICT, self.to_string()),
            AppError::NotFound => (StatusCode::NOT_FOUND, "not found".into()),
            AppError::Unavailable => {
                tracing::warn!("database unavailable");
                (StatusCode::SERVICE_UNAVAILABLE, "database unavailable, retry later".into())
            }
            AppError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error".into())
            }
        };
        let body = match &self {
            AppError::InvalidDocument { collection, .. } => json!({ "error": message, "collection": collection }),
            _ => json!({ "error": message }),
        };
        let mut res = (status, axum::Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut().insert("retry-after", axum::http::HeaderValue::from_static("5"));
        }
        res
    }
}
