//! The collector's sync state: the last day of each stream that the
//! processor has stored. The collector reads it to know where to resume and
//! advances it only after a batch was stored (it never talks to the
//! database itself).

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::AppError;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/sync", get(list)).route("/api/v1/sync/{stream}", get(read).put(write))
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SyncState {
    pub last_synced_day: NaiveDate,
}

fn check(stream: &str) -> Result<(), AppError> {
    if stream.is_empty()
        || stream.len() > 64
        || !stream.bytes().all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit())
    {
        return Err(AppError::Invalid(format!("`{stream}` is not a stream name (lowercase letters, digits, `_`)")));
    }
    Ok(())
}

/// Every stream's state at once (the collector reads one per collection).
async fn list(State(s): State<AppState>) -> Result<Json<std::collections::BTreeMap<String, NaiveDate>>, AppError> {
    let rows: Vec<(String, NaiveDate)> =
        sqlx::query_as("SELECT stream, last_synced_day FROM sync_state").fetch_all(&s.pool).await?;
    Ok(Json(rows.into_iter().collect()))
}

async fn read(State(s): State<AppState>, Path(stream): Path<String>) -> Result<Json<SyncState>, AppError> {
    check(&stream)?;
    let day: Option<NaiveDate> = sqlx::query_scalar("SELECT last_synced_day FROM sync_state WHERE stream = $1")
        .bind(&stream)
        .fetch_optional(&s.pool)
        .await?;
    day.map(|d| Json(SyncState { last_synced_day: d })).ok_or(AppError::NotFound)
}

/// Only ever moves forward: a late retry of an older batch cannot rewind it.
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
