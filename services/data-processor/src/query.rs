//! `GET /api/v1/metrics/{kind}?start=&end=`: stored daily metrics of one
//! kind, oldest first (for Grafana and the api-service's checks).

use axum::extract::State;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::error::{AppError, ErrorBody, Json, Path, Query};
use myhealth_common::telemetry::timed;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(utoipa_axum::routes!(metrics))
}

/// The kinds of daily metric, as `myhealth_common::schema::daily_table` knows them (documentation only).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum Kind {
    Sleep,
    Activity,
    Readiness,
    Spo2,
    Stress,
    Resilience,
    CardiovascularAge,
    Vo2Max,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Range {
    /// First day (default: all)
    pub start: Option<NaiveDate>,
    /// Last day (default: all)
    pub end: Option<NaiveDate>,
}

/// One kind's stored days.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Metrics {
    pub kind: String,
    /// One object a day, oldest first, with the kind's columns.
    #[schema(value_type = Vec<Object>)]
    pub data: Value,
}

/// The stored days of one kind of daily metric, oldest first.
#[utoipa::path(get, path = "/api/v1/metrics/{kind}", tag = "metrics",
    params(("kind" = Kind, Path, description = "Kind of daily metric"), Range),
    responses(
        (status = 200, description = "The days", body = Metrics),
        (status = 400, description = "A malformed date", body = ErrorBody),
        (status = 404, description = "Not a kind of daily metric", body = ErrorBody),
        (status = 422, description = "`start` is after `end`", body = ErrorBody),
        (status = 503, description = "The database is unavailable; retry", body = ErrorBody),
    ))]
async fn metrics(
    State(s): State<AppState>,
    Path(kind): Path<String>,
    Query(r): Query<Range>,
) -> Result<Json<Metrics>, AppError> {
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
    Ok(Json(Metrics { kind, data: rows }))
}
