//! `GET /api/v1/metrics/{type}?start=&end=`: stored daily metrics of one
//! kind, oldest first (for Grafana and the api-service's checks).

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::Value;

use crate::AppState;
use crate::error::AppError;
use myhealth_common::telemetry::timed;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/metrics/{kind}", get(metrics))
}

#[derive(Debug, Deserialize)]
pub struct Range {
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
}

async fn metrics(
    State(s): State<AppState>,
    Path(kind): Path<String>,
    Query(r): Query<Range>,
) -> Result<Json<Value>, AppError> {
    let (table, cols) = myhealth_common::schema::daily_table(&kind).ok_or(AppError::NotFound)?;
    // PostgreSQL dates do not reach chrono's MIN/MAX: open ends are bounded here.
    let start = r.start.unwrap_or(NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date"));
    let end = r.end.unwrap_or(NaiveDate::from_ymd_opt(9999, 12, 31).expect("valid date"));
    if start > end {
        return Err(AppError::Invalid(format!("start {start} is after end {end}")));
    }
    let sql = format!(
        "SELECT coalesce(json_agg(t ORDER BY t.day), '[]'::json) FROM (SELECT {cols} FROM {table} WHERE day BETWEEN $1 AND $2) t"
    );
    let rows: Value = timed("metrics", sqlx::query_scalar(&sql).bind(start).bind(end).fetch_one(&s.pool)).await?;
    Ok(Json(serde_json::json!({ "kind": kind, "data": rows })))
}
