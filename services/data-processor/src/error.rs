//! Errors as HTTP answers: clients get a clear message about *their* input;
//! internals (SQL, connection strings) go to the log, never the response.
//! Every answer that is not a success is `{"error": "…"}` (plus
//! `collection` where one collection's document was refused): these, and
//! what axum or tower-http refuse before a handler runs, which
//! `myhealth_common::http` turns into the same shape.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The body of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for a person to read.
    pub error: String,
    /// The collection whose document was refused (422): the collector can drop it and send the rest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection: Option<String>,
}

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
    /// An extractor refused the request (bad query, path or body).
    #[error("{message}")]
    Rejected { status: StatusCode, message: String },
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
            // The answer says only "unavailable"; the log says why.
            tracing::warn!(error = %e, "database unavailable");
            AppError::Unavailable
        } else if e.as_database_error().is_some_and(|d| d.is_unique_violation()) {
            AppError::Conflict
        } else {
            AppError::Internal(e.into())
        }
    }
}

macro_rules! from_rejection {
    ($($t:ty),*) => {$(
        impl From<$t> for AppError {
            fn from(r: $t) -> Self {
                // A body that stalled past BODY_READ_TIMEOUT_SECONDS is the
                // client's slowness, not a malformed request.
                if myhealth_common::http::is_body_timeout(&r) {
                    return AppError::Rejected { status: StatusCode::REQUEST_TIMEOUT, message: "the request body stalled; send it faster".into() };
                }
                AppError::Rejected { status: r.status(), message: r.body_text() }
            }
        }
    )*};
}
from_rejection!(BytesRejection, JsonRejection, PathRejection, QueryRejection);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            AppError::Invalid(m) => (StatusCode::UNPROCESSABLE_ENTITY, m.clone()),
            AppError::InvalidDocument { message, .. } => (StatusCode::UNPROCESSABLE_ENTITY, message.clone()),
            AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
            AppError::NotJson => (StatusCode::UNSUPPORTED_MEDIA_TYPE, self.to_string()),
            AppError::Rejected { status, message } => (*status, message.clone()),
            AppError::Conflict => (StatusCode::CONFLICT, self.to_string()),
            AppError::NotFound => (StatusCode::NOT_FOUND, "not found".into()),
            // Logged with its cause where it was classified (`From<sqlx::Error>`).
            AppError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable, retry later".into()),
            AppError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error".into())
            }
        };
        let collection = match self {
            AppError::InvalidDocument { collection, .. } => Some(collection),
            _ => None,
        };
        let body = ErrorBody { error: message, collection };
        let mut res = (status, axum::Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut().insert("retry-after", axum::http::HeaderValue::from_static("5"));
        }
        res
    }
}

/// `Json<T>` whose rejection is an [`AppError`].
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `Query<T>` whose rejection is an [`AppError`].
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct Query<T>(pub T);

/// `Path<T>` whose rejection is an [`AppError`].
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct Path<T>(pub T);
