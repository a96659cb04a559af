//! API errors: a clear message for the client, internals only in the log.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("unauthorized")]
    Unauthorized,
    #[error("{0}")]
    Invalid(String),
    #[error("not found")]
    NotFound,
    #[error("database unavailable")]
    Unavailable,
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if myhealth_common::db::is_unavailable(&e) { ApiError::Unavailable } else { ApiError::Internal(e.into()) }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, msg) = match &self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "missing, expired or invalid token".to_string()),
            ApiError::Invalid(m) => (StatusCode::UNPROCESSABLE_ENTITY, m.clone()),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not found".into()),
            ApiError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable, retry later".into()),
            ApiError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error".into())
            }
        };
        let mut res = (status, axum::Json(json!({ "error": msg }))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert("www-authenticate", axum::http::HeaderValue::from_static("Bearer"));
        }
        res
    }
}
