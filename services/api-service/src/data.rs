//! The data routes: the dashboard (latest day and 7-day averages) and the
//! day-by-day lists with `start`, `end`, `limit` and a `cursor`, newest first.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::User;
use crate::error::{ApiError, ErrorBody, Json, Query, check_date};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(dashboard))
        .routes(routes!(sleep))
        .routes(routes!(activity))
        .routes(routes!(readiness))
}

/// One night, as scored by Oura (durations in seconds).
#[derive(Serialize, Deserialize, sqlx::FromRow, ToSchema, Debug, Clone)]
pub struct SleepDay {
    pub day: NaiveDate,
    pub score: Option<i16>,
    pub total_sleep_seconds: Option<i32>,
    pub deep_sleep_seconds: Option<i32>,
    pub light_sleep_seconds: Option<i32>,
    pub rem_sleep_seconds: Option<i32>,
    /// Percent of time in bed spent asleep.
    pub efficiency: Option<i16>,
    pub latency_seconds: Option<i32>,
    /// Average heart-rate variability, ms.
    pub average_hrv: Option<f32>,
    /// Lowest heart rate of the night, bpm.
    pub lowest_heart_rate: Option<i16>,
}

/// One day of activity.
#[derive(Serialize, Deserialize, sqlx::FromRow, ToSchema, Debug, Clone)]
pub struct ActivityDay {
    pub day: NaiveDate,
    pub score: Option<i16>,
    pub steps: Option<i32>,
    pub active_calories: Option<i32>,
    pub total_calories: Option<i32>,
    pub active_seconds: Option<i32>,
}

/// One day's readiness.
#[derive(Serialize, Deserialize, sqlx::FromRow, ToSchema, Debug, Clone)]
pub struct ReadinessDay {
    pub day: NaiveDate,
    pub score: Option<i16>,
    /// Body temperature deviation from the baseline, °C.
    pub temperature_deviation: Option<f32>,
    pub resting_heart_rate_score: Option<i16>,
    pub hrv_balance_score: Option<i16>,
}

/// A page of days, newest first.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    /// Pass as `cursor` for the next (older) page; null on the last page.
    pub next_cursor: Option<NaiveDate>,
}

/// Which days to list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// First day (inclusive).
    start: Option<NaiveDate>,
    /// Last day (inclusive).
    end: Option<NaiveDate>,
    /// Days per page, 1–366 (default 30).
    #[param(minimum = 1, maximum = 366)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<NaiveDate>,
}

async fn page<T>(s: &AppState, kind: &'static str, p: PageQuery) -> Result<Json<Page<T>>, ApiError>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin + HasDay,
{
    let (table, cols) = myhealth_common::schema::daily_table(kind).expect("a known kind");
    let limit = p.limit.unwrap_or(30);
    if !(1..=366).contains(&limit) {
        return Err(ApiError::Invalid("limit must be between 1 and 366".into()));
    }
    check_date("start", p.start)?;
    check_date("end", p.end)?;
    check_date("cursor", p.cursor)?;
    let far = NaiveDate::from_ymd_opt(9999, 12, 31).expect("date");
    let start = p.start.unwrap_or(NaiveDate::from_ymd_opt(1900, 1, 1).expect("date"));
    let end = p.end.unwrap_or(far);
    let before = p.cursor.unwrap_or(far + chrono::Days::new(1));
    let sql = format!("SELECT {cols} FROM {table} WHERE day BETWEEN $1 AND $2 AND day < $3 ORDER BY day DESC LIMIT $4");
    let data: Vec<T> = myhealth_common::telemetry::timed(
        kind,
        sqlx::query_as(&sql).bind(start).bind(end).bind(before).bind(limit).fetch_all(&s.pool),
    )
    .await?;
    let next_cursor = if data.len() as i64 == limit { data.last().map(HasDay::day) } else { None };
    Ok(Json(Page { data, next_cursor }))
}

pub trait HasDay {
    fn day(&self) -> NaiveDate;
}
macro_rules! has_day {
    ($($t:ty),*) => {$( impl HasDay for $t { fn day(&self) -> NaiveDate { self.day } } )*};
}
has_day!(SleepDay, ActivityDay, ReadinessDay);

/// Nights, newest first.
#[utoipa::path(get, path = "/api/v1/sleep", tag = "data", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<SleepDay>), (status = "4XX", body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn sleep(
    _u: User,
    State(s): State<AppState>,
    Query(p): Query<PageQuery>,
) -> Result<Json<Page<SleepDay>>, ApiError> {
    page(&s, "sleep", p).await
}

/// Activity days, newest first.
#[utoipa::path(get, path = "/api/v1/activity", tag = "data", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<ActivityDay>), (status = "4XX", body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn activity(
    _u: User,
    State(s): State<AppState>,
    Query(p): Query<PageQuery>,
) -> Result<Json<Page<ActivityDay>>, ApiError> {
    page(&s, "activity", p).await
}

/// Readiness days, newest first.
#[utoipa::path(get, path = "/api/v1/readiness", tag = "data", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<ReadinessDay>), (status = "4XX", body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn readiness(
    _u: User,
    State(s): State<AppState>,
    Query(p): Query<PageQuery>,
) -> Result<Json<Page<ReadinessDay>>, ApiError> {
    page(&s, "readiness", p).await
}

/// The latest day of a kind and the average score of the 7 days ending on it.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Summary<T> {
    pub latest: Option<T>,
    pub avg_7d_score: Option<f64>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Dashboard {
    pub sleep: Summary<SleepDay>,
    pub activity: Summary<ActivityDay>,
    pub readiness: Summary<ReadinessDay>,
}

/// One statement for the whole dashboard: one round trip to the database.
fn dashboard_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let part = |kind: &str| {
            let (table, cols) = myhealth_common::schema::daily_table(kind).expect("a known kind");
            format!(
                "'{kind}', json_build_object(
                    'latest', (SELECT row_to_json(x) FROM (SELECT {cols} FROM {table} ORDER BY day DESC LIMIT 1) x),
                    'avg_7d_score', (SELECT avg(score)::float8 FROM {table} WHERE day > (SELECT max(day) FROM {table}) - 7))"
            )
        };
        format!("SELECT json_build_object({}, {}, {})", part("sleep"), part("activity"), part("readiness"))
    })
}

/// The latest day and the 7-day average score of sleep, activity and readiness.
#[utoipa::path(get, path = "/api/v1/dashboard", tag = "data", security(("bearer" = [])),
    responses((status = 200, body = Dashboard), (status = "4XX", body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn dashboard(_u: User, State(s): State<AppState>) -> Result<Response, ApiError> {
    if let Some(body) = s.cache.get() {
        myhealth_common::metrics::counter!("dashboard_cache_total", "result" => "hit").increment(1);
        return Ok(json_response(body));
    }
    myhealth_common::metrics::counter!("dashboard_cache_total", "result" => "miss").increment(1);
    let generation = s.cache.generation();
    let sqlx::types::Json(d): sqlx::types::Json<Dashboard> =
        myhealth_common::telemetry::timed("dashboard", sqlx::query_scalar(dashboard_sql()).fetch_one(&s.pool)).await?;
    let body = Bytes::from(serde_json::to_vec(&d).map_err(|e| ApiError::Internal(e.into()))?);
    s.cache.put(generation, body.clone());
    Ok(json_response(body))
}

fn json_response(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}
