//! The data routes: the dashboard (latest day and 7-day averages) and the
//! day-by-day lists with `start`, `end`, `limit` and an opaque `cursor`.

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::User;
use crate::error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/dashboard", get(dashboard)).route("/api/v1/{kind}", get(list))
}

#[derive(Deserialize)]
pub struct Page {
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
    limit: Option<i64>,
    /// The last day of the previous page (newest first).
    cursor: Option<NaiveDate>,
}

async fn list(
    _u: User,
    State(s): State<AppState>,
    Path(kind): Path<String>,
    Query(p): Query<Page>,
) -> Result<Json<Value>, ApiError> {
    let (table, cols) = myhealth_common::schema::daily_table(&kind).ok_or(ApiError::NotFound)?;
    let limit = p.limit.unwrap_or(30);
    if !(1..=366).contains(&limit) {
        return Err(ApiError::Invalid("limit must be between 1 and 366".into()));
    }
    let start = p.start.unwrap_or(NaiveDate::from_ymd_opt(1970, 1, 1).expect("date"));
    let end = p.end.unwrap_or(NaiveDate::from_ymd_opt(9999, 12, 31).expect("date"));
    let before = p.cursor.unwrap_or(NaiveDate::from_ymd_opt(9999, 12, 31).expect("date"));
    let sql = format!(
        "SELECT coalesce(json_agg(t ORDER BY t.day DESC), '[]'::json) FROM (SELECT {cols} FROM {table} WHERE day BETWEEN $1 AND $2 AND day < $3 ORDER BY day DESC LIMIT $4) t"
    );
    let rows: Value =
        sqlx::query_scalar(&sql).bind(start).bind(end).bind(before).bind(limit).fetch_one(&s.pool).await?;
    let next =
        rows.as_array().filter(|r| r.len() as i64 == limit).and_then(|r| r.last()).and_then(|l| l.get("day")).cloned();
    Ok(Json(json!({ "data": rows, "next_cursor": next })))
}

async fn dashboard(_u: User, State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let v: Value = sqlx::query_scalar(
        "SELECT json_build_object(
            'sleep', (SELECT json_build_object('latest', (SELECT row_to_json(x) FROM (SELECT day, score, total_sleep_seconds, average_hrv FROM sleep_metrics ORDER BY day DESC LIMIT 1) x),
                                               'avg_7d_score', (SELECT avg(score)::float8 FROM (SELECT score FROM sleep_metrics ORDER BY day DESC LIMIT 7) y))),
            'activity', (SELECT json_build_object('latest', (SELECT row_to_json(x) FROM (SELECT day, score, steps FROM activity_metrics ORDER BY day DESC LIMIT 1) x),
                                                  'avg_7d_score', (SELECT avg(score)::float8 FROM (SELECT score FROM activity_metrics ORDER BY day DESC LIMIT 7) y))),
            'readiness', (SELECT json_build_object('latest', (SELECT row_to_json(x) FROM (SELECT day, score, temperature_deviation FROM readiness_metrics ORDER BY day DESC LIMIT 1) x),
                                                   'avg_7d_score', (SELECT avg(score)::float8 FROM (SELECT score FROM readiness_metrics ORDER BY day DESC LIMIT 7) y))))",
    )
    .fetch_one(&s.pool)
    .await?;
    Ok(Json(v))
}
