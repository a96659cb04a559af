//! API errors: a clear message for the client, internals only in the log.
//! Every error, including axum's own extractor rejections, is the same JSON
//! shape (`{"error": "…"}`), so clients and the OpenAPI document have one
//! error schema.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("unauthorized")]
    Unauthorized,
    #[error("{0}")]
    Invalid(String),
    /// An extractor refused the request (bad JSON, wrong content type, bad query).
    #[error("{message}")]
    Rejected { status: StatusCode, message: String },
    #[error("database unavailable")]
    Unavailable,
    /// Every password verification slot stayed busy for the queue wait.
    #[error("busy")]
    Busy,
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// The body of every error response.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for a person to read.
    pub error: String,
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if myhealth_common::db::is_unavailable(&e) {
            // The answer says only "unavailable"; the log says why.
            tracing::warn!(error = %e, "database unavailable");
            ApiError::Unavailable
        } else {
            ApiError::Internal(e.into())
        }
    }
}

macro_rules! from_rejection {
    ($($t:ty),*) => {$(
        impl From<$t> for ApiError {
            fn from(r: $t) -> Self {
                // A body that stalled past BODY_READ_TIMEOUT_SECONDS is the
                // client's slowness, not a malformed request.
                if myhealth_common::http::is_body_timeout(&r) {
                    return ApiError::Rejected { status: StatusCode::REQUEST_TIMEOUT, message: "the request body stalled; send it faster".into() };
                }
                ApiError::Rejected { status: r.status(), message: r.body_text() }
            }
        }
    )*};
}
from_rejection!(JsonRejection, QueryRejection, PathRejection);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let busy = matches!(self, ApiError::Busy);
        let (status, msg) = match self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "missing, expired or invalid token".to_string()),
            ApiError::Invalid(m) => (StatusCode::UNPROCESSABLE_ENTITY, m),
            ApiError::Rejected { status, message } => (status, message),
            ApiError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable, retry later".into()),
            ApiError::Busy => (StatusCode::SERVICE_UNAVAILABLE, "too many logins in progress, retry in 1 s".into()),
            ApiError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error".into())
            }
        };
        let mut res = (status, axum::Json(ErrorBody { error: msg })).into_response();
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert("www-authenticate", HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // A login slot frees within a verification's time; a database takes longer.
            let wait = if busy { "1" } else { "5" };
            res.headers_mut().insert("retry-after", HeaderValue::from_static(wait));
        }
        res
    }
}

/// `Json<T>` whose rejection is an [`ApiError`].
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `Query<T>` whose rejection is an [`ApiError`].
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// `Path<T>` whose rejection is an [`ApiError`].
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// Dates the database can store and a person could mean.
pub fn check_date(name: &str, d: Option<chrono::NaiveDate>) -> Result<(), ApiError> {
    use chrono::Datelike;
    match d {
        Some(d) if !(1900..=9999).contains(&d.year()) => {
            Err(ApiError::Invalid(format!("{name} must be between 1900-01-01 and 9999-12-31")))
        }
        _ => Ok(()),
    }
}
