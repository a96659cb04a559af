//! The collector's sync state: the last day of each stream that the
//! processor has stored. The collector reads it to know where to resume and
//! advances it only after a batch was stored (it never talks to the
//! database itself).

use axum::extract::State;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::error::{AppError, ErrorBody, Json, Path};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(utoipa_axum::routes!(list)).routes(utoipa_axum::routes!(read, write))
}

/// A stream's state: every document up to this day is stored.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct SyncState {
    pub last_synced_day: NaiveDate,
}

fn check(stream: &str) -> Result<(), AppError> {
    if stream.is_empty()
        || stream.len() > 64
        || !stream.bytes().all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit())
    {
        return Err(AppError::Invalid(format!(
            "`{}` is not a stream name (lowercase letters, digits, `_`)",
            stream.escape_debug()
        )));
    }
    Ok(())
}

/// Every stream's state at once (the collector reads one per collection).
#[utoipa::path(get, path = "/api/v1/sync", tag = "sync",
    responses(
        (status = 200, description = "The last synced day of every stream", body = std::collections::BTreeMap<String, NaiveDate>),
        (status = 503, description = "The database is unavailable; retry", body = ErrorBody),
    ))]
async fn list(State(s): State<AppState>) -> Result<Json<std::collections::BTreeMap<String, NaiveDate>>, AppError> {
    let rows: Vec<(String, NaiveDate)> =
        sqlx::query_as("SELECT stream, last_synced_day FROM sync_state").fetch_all(&s.pool).await?;
    Ok(Json(rows.into_iter().collect()))
}

/// One stream's state.
#[utoipa::path(get, path = "/api/v1/sync/{stream}", tag = "sync", params(("stream" = String, Path, description = "The stream (`oura_<collection>`, or the old `oura`): lowercase letters, digits and `_`, at most 64", pattern = "^[a-z0-9_]{1,64}$")),
    responses(
        (status = 200, description = "The stream's state", body = SyncState),
        (status = 404, description = "No state for this stream yet", body = ErrorBody),
        (status = 422, description = "Not a stream name", body = ErrorBody),
        (status = 503, description = "The database is unavailable; retry", body = ErrorBody),
    ))]
async fn read(State(s): State<AppState>, Path(stream): Path<String>) -> Result<Json<SyncState>, AppError> {
    check(&stream)?;
    let day: Option<NaiveDate> = sqlx::query_scalar("SELECT last_synced_day FROM sync_state WHERE stream = $1")
        .bind(&stream)
        .fetch_optional(&s.pool)
        .await?;
    day.map(|d| Json(SyncState { last_synced_day: d })).ok_or(AppError::NotFound)
}

/// Advance a stream's state. Only ever moves forward: a late retry of an
/// older batch cannot rewind it; the answer is the state afterwards.
#[utoipa::path(put, path = "/api/v1/sync/{stream}", tag = "sync", params(("stream" = String, Path, description = "The stream (`oura_<collection>`, or the old `oura`): lowercase letters, digits and `_`, at most 64", pattern = "^[a-z0-9_]{1,64}$")), request_body = SyncState,
    responses(
        (status = 200, description = "The stream's state afterwards", body = SyncState),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 408, description = "The body stalled for longer than `BODY_READ_TIMEOUT_SECONDS`", body = ErrorBody),
        (status = 415, description = "Not `Content-Type: application/json`", body = ErrorBody),
        (status = 422, description = "Not a stream name, or not a state", body = ErrorBody),
        (status = 503, description = "The database is unavailable; retry", body = ErrorBody),
    ))]
async fn write(
    State(s): State<AppState>,
    Path(stream): Path<String>,
    Json(body): Json<SyncState>,
) -> Result<Json<SyncState>, AppError> {
    check(&stream)?;
    let day: NaiveDate = sqlx::query_scalar(
        "INSERT INTO sync_state (stream, last_synced_day) VALUES ($1, $2)
         ON CONFLICT (stream) DO UPDATE SET last_synced_day = GREATEST(sync_state.last_synced_day, EXCLUDED.last_synced_day), updated_at = now()
         RETURNING last_synced_day",
    )
    .bind(&stream)
    .bind(body.last_synced_day)
    .fetch_one(&s.pool)
    .await?;
    Ok(Json(SyncState { last_synced_day: day }))
}
