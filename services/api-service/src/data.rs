//! The data routes: the dashboard (latest day and 7-day averages, the
//! latest of the other daily series), the day-by-day lists (sleep,
//! activity, readiness, SpO2, stress, resilience, cardiovascular age,
//! VO2max) with `start`, `end`, `limit` and a `cursor`, newest first, and
//! the lists of timed documents (every sleep period with its series,
//! workouts, sessions), newest first by start time. Every answer is served
//! from the response cache (`cache.rs`) until the next stored batch.

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::User;
use crate::error::{ApiError, ErrorBody, Query, check_date};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(dashboard))
        .routes(routes!(sleep))
        .routes(routes!(sleep_periods))
        .routes(routes!(activity))
        .routes(routes!(readiness))
        .routes(routes!(spo2))
        .routes(routes!(stress))
        .routes(routes!(resilience))
        .routes(routes!(cardiovascular_age))
        .routes(routes!(vo2_max))
        .routes(routes!(workouts))
        .routes(routes!(sessions))
}

/// Serve the cached answer of this request, or compute, keep and serve it.
pub async fn cached<T, F>(
    s: &AppState,
    route: &'static crate::cache::Route,
    uri: &axum::http::Uri,
    compute: F,
) -> Result<Response, ApiError>
where
    T: Serialize,
    F: std::future::Future<Output = Result<T, ApiError>>,
{
    // Answers that default to "today" change at midnight: each is kept for its day.
    let day = Utc::now().date_naive();
    let key = uri.path_and_query().map_or_else(|| uri.path(), |pq| pq.as_str());
    if let Some(body) = s.cache.get(key, day) {
        route.count(true);
        return Ok(json_response(body));
    }
    route.count(false);
    let generation = s.cache.generation();
    let value = compute.await?;
    let body = Bytes::from(serde_json::to_vec(&value).map_err(|e| ApiError::Internal(e.into()))?);
    s.cache.put(generation, key.to_string(), day, body.clone());
    Ok(json_response(body))
}

fn json_response(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}

/// One night, as scored by Oura: `daily_sleep`'s score and contributors, the
/// durations, HRV and heart rate of the day's longest long sleep (seconds).
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
    pub time_in_bed_seconds: Option<i32>,
    pub bedtime_start: Option<DateTime<Utc>>,
    pub bedtime_end: Option<DateTime<Utc>>,
    /// Contributors to the score (each 0–100).
    pub contributor_deep_sleep: Option<i16>,
    pub contributor_efficiency: Option<i16>,
    pub contributor_latency: Option<i16>,
    pub contributor_rem_sleep: Option<i16>,
    pub contributor_restfulness: Option<i16>,
    pub contributor_timing: Option<i16>,
    pub contributor_total_sleep: Option<i16>,
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

/// One night's blood oxygen.
#[derive(Serialize, Deserialize, sqlx::FromRow, ToSchema, Debug, Clone)]
pub struct Spo2Day {
    pub day: NaiveDate,
    /// Average SpO2 during sleep, percent.
    pub spo2_average: Option<f32>,
    pub breathing_disturbance_index: Option<i16>,
}

/// One day's stress.
#[derive(Serialize, Deserialize, sqlx::FromRow, ToSchema, Debug, Clone)]
pub struct StressDay {
    pub day: NaiveDate,
    pub stress_high_seconds: Option<i32>,
    pub recovery_high_seconds: Option<i32>,
    /// `restored`, `normal` or `stressful`.
    pub day_summary: Option<String>,
}

/// One day's resilience.
#[derive(Serialize, Deserialize, sqlx::FromRow, ToSchema, Debug, Clone)]
pub struct ResilienceDay {
    pub day: NaiveDate,
    /// `limited`, `adequate`, `solid`, `strong` or `exceptional`.
    pub level: Option<String>,
    pub sleep_recovery: Option<f32>,
    pub daytime_recovery: Option<f32>,
    pub stress: Option<f32>,
}

/// One day's cardiovascular age estimate.
#[derive(Serialize, Deserialize, sqlx::FromRow, ToSchema, Debug, Clone)]
pub struct CardiovascularAgeDay {
    pub day: NaiveDate,
    /// Years.
    pub vascular_age: Option<i16>,
}

/// One day's VO2max estimate.
#[derive(Serialize, Deserialize, sqlx::FromRow, ToSchema, Debug, Clone)]
pub struct Vo2MaxDay {
    pub day: NaiveDate,
    /// ml/kg/min.
    pub vo2_max: Option<f32>,
    pub measured_at: Option<DateTime<Utc>>,
}

/// A series of samples: `items[i]` was taken at `timestamp + i · interval` seconds (null: no reading).
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq)]
pub struct Series {
    pub interval: f64,
    pub items: Vec<Option<f64>>,
    pub timestamp: String,
}

/// One sleep period: the night's long sleep, a nap, a late nap (counted for
/// the next day), a rejected rest, a deleted one — with its 5-minute series.
#[derive(Serialize, Deserialize, sqlx::FromRow, ToSchema, Debug, Clone)]
pub struct SleepPeriod {
    #[sqlx(rename = "oura_id")]
    pub id: String,
    pub day: NaiveDate,
    /// `long_sleep`, `sleep`, `late_nap`, `rest`, `deleted` (null: not classified yet).
    #[sqlx(rename = "type")]
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub period: Option<i16>,
    pub bedtime_start: DateTime<Utc>,
    pub bedtime_end: DateTime<Utc>,
    pub time_in_bed_seconds: Option<i32>,
    pub total_sleep_seconds: Option<i32>,
    pub deep_sleep_seconds: Option<i32>,
    pub light_sleep_seconds: Option<i32>,
    pub rem_sleep_seconds: Option<i32>,
    pub awake_seconds: Option<i32>,
    pub efficiency: Option<i16>,
    pub latency_seconds: Option<i32>,
    pub average_hrv: Option<f32>,
    pub average_heart_rate: Option<f32>,
    pub lowest_heart_rate: Option<i16>,
    pub average_breath: Option<f32>,
    pub restless_periods: Option<i32>,
    /// The readiness score embedded in the period.
    pub readiness_score: Option<i16>,
    /// One character per 5 minutes: 1 deep, 2 light, 3 REM, 4 awake.
    pub sleep_phase_5_min: Option<String>,
    /// Heart rate every 5 minutes, bpm.
    #[schema(value_type = Option<Series>)]
    pub heart_rate: Option<sqlx::types::Json<Series>>,
    /// HRV every 5 minutes, ms.
    #[schema(value_type = Option<Series>)]
    pub hrv: Option<sqlx::types::Json<Series>>,
}

/// One workout.
#[derive(Serialize, Deserialize, sqlx::FromRow, ToSchema, Debug, Clone)]
pub struct Workout {
    #[sqlx(rename = "oura_id")]
    pub id: String,
    pub day: NaiveDate,
    pub activity: String,
    /// `easy`, `moderate` or `hard`.
    pub intensity: Option<String>,
    /// `manual`, `autodetected`, `confirmed`, `workout_heart_rate`.
    pub source: Option<String>,
    pub label: Option<String>,
    pub calories: Option<f32>,
    pub distance_meters: Option<f32>,
    pub start_datetime: DateTime<Utc>,
    pub end_datetime: DateTime<Utc>,
}

/// One session (breathing, meditation, nap, relaxation, …).
#[derive(Serialize, Deserialize, sqlx::FromRow, ToSchema, Debug, Clone)]
pub struct Session {
    #[sqlx(rename = "oura_id")]
    pub id: String,
    pub day: NaiveDate,
    #[sqlx(rename = "type")]
    #[serde(rename = "type")]
    pub kind: String,
    pub mood: Option<String>,
    pub start_datetime: DateTime<Utc>,
    pub end_datetime: DateTime<Utc>,
    #[schema(value_type = Option<Series>)]
    pub heart_rate: Option<sqlx::types::Json<Series>>,
    #[schema(value_type = Option<Series>)]
    pub hrv: Option<sqlx::types::Json<Series>>,
}

/// A page of days, newest first.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    /// Pass as `cursor` for the next (older) page; null on the last page.
    pub next_cursor: Option<NaiveDate>,
}

/// A page of timed documents, newest first.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct TimedPage<T> {
    pub data: Vec<T>,
    /// Pass as `cursor` for the next (older) page: the start of the last item; null on the last page.
    pub next_cursor: Option<DateTime<Utc>>,
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

/// Which timed documents to list (by their day).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimedQuery {
    /// First day (inclusive).
    start: Option<NaiveDate>,
    /// Last day (inclusive).
    end: Option<NaiveDate>,
    /// Items per page, 1–366 (default 30).
    #[param(minimum = 1, maximum = 366)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page: items that started before it.
    cursor: Option<DateTime<Utc>>,
}

fn limit(l: Option<i64>) -> Result<i64, ApiError> {
    let limit = l.unwrap_or(30);
    if !(1..=366).contains(&limit) {
        return Err(ApiError::Invalid("limit must be between 1 and 366".into()));
    }
    Ok(limit)
}

fn far() -> NaiveDate {
    NaiveDate::from_ymd_opt(9999, 12, 31).expect("date")
}

fn first() -> NaiveDate {
    NaiveDate::from_ymd_opt(1900, 1, 1).expect("date")
}

async fn page<T>(s: &AppState, kind: &'static str, p: PageQuery) -> Result<Page<T>, ApiError>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin + HasDay,
{
    let (table, cols) = myhealth_common::schema::daily_table(kind).expect("a known kind");
    let limit = limit(p.limit)?;
    check_date("start", p.start)?;
    check_date("end", p.end)?;
    check_date("cursor", p.cursor)?;
    let start = p.start.unwrap_or(first());
    let end = p.end.unwrap_or(far());
    let before = p.cursor.unwrap_or(far() + chrono::Days::new(1));
    let sql = format!("SELECT {cols} FROM {table} WHERE day BETWEEN $1 AND $2 AND day < $3 ORDER BY day DESC LIMIT $4");
    let data: Vec<T> = myhealth_common::telemetry::timed(
        kind,
        sqlx::query_as(&sql).bind(start).bind(end).bind(before).bind(limit).fetch_all(&s.pool),
    )
    .await?;
    let next_cursor = if data.len() as i64 == limit { data.last().map(HasDay::day) } else { None };
    Ok(Page { data, next_cursor })
}

/// Table, columns and start column of a timed kind (a closed mapping: no SQL from request text).
fn timed_table(kind: &str) -> (&'static str, &'static str, &'static str) {
    match kind {
        "sleep_periods" => (
            "sleep_periods",
            "oura_id, day, type, period, bedtime_start, bedtime_end, time_in_bed_seconds, total_sleep_seconds, deep_sleep_seconds, \
             light_sleep_seconds, rem_sleep_seconds, awake_seconds, efficiency, latency_seconds, average_hrv, average_heart_rate, \
             lowest_heart_rate, average_breath, restless_periods, readiness_score, sleep_phase_5_min, heart_rate, hrv",
            "bedtime_start",
        ),
        "workouts" => (
            "workouts",
            "oura_id, day, activity, intensity, source, label, calories, distance_meters, start_datetime, end_datetime",
            "start_datetime",
        ),
        _ => ("sessions", "oura_id, day, type, mood, start_datetime, end_datetime, heart_rate, hrv", "start_datetime"),
    }
}

async fn timed_page<T>(s: &AppState, kind: &'static str, p: TimedQuery) -> Result<TimedPage<T>, ApiError>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin + HasStart,
{
    let (table, cols, start_col) = timed_table(kind);
    let limit = limit(p.limit)?;
    check_date("start", p.start)?;
    check_date("end", p.end)?;
    if let Some(c) = p.cursor {
        check_date("cursor", Some(c.date_naive()))?;
    }
    let start = p.start.unwrap_or(first());
    let end = p.end.unwrap_or(far());
    let before = p.cursor.unwrap_or(far().and_hms_opt(0, 0, 0).expect("midnight").and_utc());
    let sql = format!(
        "SELECT {cols} FROM {table} WHERE day BETWEEN $1 AND $2 AND {start_col} < $3 ORDER BY {start_col} DESC, oura_id LIMIT $4"
    );
    let data: Vec<T> = myhealth_common::telemetry::timed(
        kind,
        sqlx::query_as(&sql).bind(start).bind(end).bind(before).bind(limit).fetch_all(&s.pool),
    )
    .await?;
    let next_cursor = if data.len() as i64 == limit { data.last().map(HasStart::start) } else { None };
    Ok(TimedPage { data, next_cursor })
}

pub trait HasDay {
    fn day(&self) -> NaiveDate;
}
macro_rules! has_day {
    ($($t:ty),*) => {$( impl HasDay for $t { fn day(&self) -> NaiveDate { self.day } } )*};
}
has_day!(SleepDay, ActivityDay, ReadinessDay, Spo2Day, StressDay, ResilienceDay, CardiovascularAgeDay, Vo2MaxDay);

pub trait HasStart {
    fn start(&self) -> DateTime<Utc>;
}
impl HasStart for SleepPeriod {
    fn start(&self) -> DateTime<Utc> {
        self.bedtime_start
    }
}
impl HasStart for Workout {
    fn start(&self) -> DateTime<Utc> {
        self.start_datetime
    }
}
impl HasStart for Session {
    fn start(&self) -> DateTime<Utc> {
        self.start_datetime
    }
}

macro_rules! day_route {
    ($name:ident, $path:literal, $kind:literal, $t:ty, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(get, path = $path, tag = "data", params(PageQuery), security(("bearer" = [])),
            responses((status = 200, body = Page<$t>), (status = "4XX", body = ErrorBody), (status = 503, body = ErrorBody)))]
        pub async fn $name(
            _u: User,
            State(s): State<AppState>,
            OriginalUri(uri): OriginalUri,
            Query(p): Query<PageQuery>,
        ) -> Result<Response, ApiError> {
            static ROUTE: crate::cache::Route = crate::cache::Route::new($path);
            cached(&s, &ROUTE, &uri, page::<$t>(&s, $kind, p)).await
        }
    };
}

day_route!(sleep, "/api/v1/sleep", "sleep", SleepDay, "Nights, newest first.");
day_route!(activity, "/api/v1/activity", "activity", ActivityDay, "Activity days, newest first.");
day_route!(readiness, "/api/v1/readiness", "readiness", ReadinessDay, "Readiness days, newest first.");
day_route!(spo2, "/api/v1/spo2", "spo2", Spo2Day, "Blood oxygen during sleep, newest first.");
day_route!(stress, "/api/v1/stress", "stress", StressDay, "Daily stress, newest first.");
day_route!(resilience, "/api/v1/resilience", "resilience", ResilienceDay, "Daily resilience, newest first.");
day_route!(
    cardiovascular_age,
    "/api/v1/cardiovascular_age",
    "cardiovascular_age",
    CardiovascularAgeDay,
    "Cardiovascular age estimates, newest first."
);
day_route!(vo2_max, "/api/v1/vo2_max", "vo2_max", Vo2MaxDay, "VO2max estimates, newest first.");

macro_rules! timed_route {
    ($name:ident, $path:literal, $kind:literal, $t:ty, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(get, path = $path, tag = "data", params(TimedQuery), security(("bearer" = [])),
            responses((status = 200, body = TimedPage<$t>), (status = "4XX", body = ErrorBody), (status = 503, body = ErrorBody)))]
        pub async fn $name(
            _u: User,
            State(s): State<AppState>,
            OriginalUri(uri): OriginalUri,
            Query(p): Query<TimedQuery>,
        ) -> Result<Response, ApiError> {
            static ROUTE: crate::cache::Route = crate::cache::Route::new($path);
            cached(&s, &ROUTE, &uri, timed_page::<$t>(&s, $kind, p)).await
        }
    };
}

timed_route!(
    sleep_periods,
    "/api/v1/sleep/periods",
    "sleep_periods",
    SleepPeriod,
    "Every sleep period (long sleep, naps, rest, deleted) with its 5-minute series, newest first."
);
timed_route!(workouts, "/api/v1/workouts", "workouts", Workout, "Workouts, newest first.");
timed_route!(sessions, "/api/v1/sessions", "sessions", Session, "Sessions, newest first.");

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
    /// The latest day of each of the other daily series.
    pub spo2: Option<Spo2Day>,
    pub stress: Option<StressDay>,
    pub resilience: Option<ResilienceDay>,
    pub cardiovascular_age: Option<CardiovascularAgeDay>,
    pub vo2_max: Option<Vo2MaxDay>,
}

/// One statement for the whole dashboard: one round trip to the database.
fn dashboard_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let latest = |kind: &str| {
            let (table, cols) = myhealth_common::schema::daily_table(kind).expect("a known kind");
            format!("(SELECT row_to_json(x) FROM (SELECT {cols} FROM {table} ORDER BY day DESC LIMIT 1) x)")
        };
        let part = |kind: &str| {
            let (table, _) = myhealth_common::schema::daily_table(kind).expect("a known kind");
            format!(
                "'{kind}', json_build_object('latest', {},
                    'avg_7d_score', (SELECT avg(score)::float8 FROM {table} WHERE day > (SELECT max(day) FROM {table}) - 7))",
                latest(kind)
            )
        };
        let others = ["spo2", "stress", "resilience", "cardiovascular_age", "vo2_max"]
            .map(|k| format!("'{k}', {}", latest(k)))
            .join(", ");
        format!("SELECT json_build_object({}, {}, {}, {others})", part("sleep"), part("activity"), part("readiness"))
    })
}

/// The latest day and the 7-day average score of sleep, activity and readiness, and the latest of the other daily series.
#[utoipa::path(get, path = "/api/v1/dashboard", tag = "data", security(("bearer" = [])),
    responses((status = 200, body = Dashboard), (status = "4XX", body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn dashboard(
    _u: User,
    State(s): State<AppState>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    static ROUTE: crate::cache::Route = crate::cache::Route::new("/api/v1/dashboard");
    cached(&s, &ROUTE, &uri, async {
        let sqlx::types::Json(d): sqlx::types::Json<Dashboard> =
            myhealth_common::telemetry::timed("dashboard", sqlx::query_scalar(dashboard_sql()).fetch_one(&s.pool))
                .await?;
        Ok(d)
    })
    .await
}

#[cfg(test)]
mod columns;
