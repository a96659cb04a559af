//! `GET /api/v1/trends/{metric}?period=7d|30d|90d`: one value per calendar
//! day of the period (null where there is no data) with its 7-day rolling
//! average, which also looks at the 6 days before the period so the first
//! points are averaged like the rest. Served from the response cache.

use axum::extract::{OriginalUri, State};
use axum::response::Response;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::User;
use crate::error::{ApiError, ErrorBody, Path, Query, check_date};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(trend))
}

/// A daily metric that has a trend.
#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    SleepScore,
    TotalSleep,
    DeepSleep,
    LightSleep,
    RemSleep,
    SleepEfficiency,
    SleepLatency,
    AverageHrv,
    LowestHeartRate,
    ActivityScore,
    Steps,
    ActiveCalories,
    TotalCalories,
    ReadinessScore,
    TemperatureDeviation,
    TimeInBed,
    Spo2Average,
    BreathingDisturbanceIndex,
    StressHigh,
    RecoveryHigh,
    ResilienceSleepRecovery,
    ResilienceDaytimeRecovery,
    VascularAge,
    Vo2Max,
}

impl Metric {
    /// Table and column: a closed mapping, no SQL is built from request text.
    fn column(self) -> (&'static str, &'static str) {
        use Metric::*;
        match self {
            SleepScore => ("sleep_metrics", "score"),
            TotalSleep => ("sleep_metrics", "total_sleep_seconds"),
            DeepSleep => ("sleep_metrics", "deep_sleep_seconds"),
            LightSleep => ("sleep_metrics", "light_sleep_seconds"),
            RemSleep => ("sleep_metrics", "rem_sleep_seconds"),
            SleepEfficiency => ("sleep_metrics", "efficiency"),
            SleepLatency => ("sleep_metrics", "latency_seconds"),
            AverageHrv => ("sleep_metrics", "average_hrv"),
            LowestHeartRate => ("sleep_metrics", "lowest_heart_rate"),
            ActivityScore => ("activity_metrics", "score"),
            Steps => ("activity_metrics", "steps"),
            ActiveCalories => ("activity_metrics", "active_calories"),
            TotalCalories => ("activity_metrics", "total_calories"),
            ReadinessScore => ("readiness_metrics", "score"),
            TemperatureDeviation => ("readiness_metrics", "temperature_deviation"),
            TimeInBed => ("sleep_metrics", "time_in_bed_seconds"),
            Spo2Average => ("spo2_metrics", "spo2_average"),
            BreathingDisturbanceIndex => ("spo2_metrics", "breathing_disturbance_index"),
            StressHigh => ("stress_metrics", "stress_high_seconds"),
            RecoveryHigh => ("stress_metrics", "recovery_high_seconds"),
            ResilienceSleepRecovery => ("resilience_metrics", "sleep_recovery"),
            ResilienceDaytimeRecovery => ("resilience_metrics", "daytime_recovery"),
            VascularAge => ("cardiovascular_age_metrics", "vascular_age"),
            Vo2Max => ("vo2_max_metrics", "vo2_max"),
        }
    }
}

/// How far back the trend reaches.
#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Period {
    #[serde(rename = "7d")]
    D7,
    #[default]
    #[serde(rename = "30d")]
    D30,
    #[serde(rename = "90d")]
    D90,
}

impl Period {
    fn days(self) -> u64 {
        match self {
            Period::D7 => 7,
            Period::D30 => 30,
            Period::D90 => 90,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrendQuery {
    /// Length of the period (default 30d).
    period: Option<Period>,
    /// Last day of the period (default: today, UTC).
    end: Option<NaiveDate>,
}

#[derive(Serialize, Deserialize, ToSchema, sqlx::FromRow, Debug, PartialEq)]
pub struct Point {
    pub day: NaiveDate,
    /// The day's value; null when there is no data for the day.
    pub value: Option<f64>,
    /// Mean of the values of this day and the 6 before it (days without data are skipped).
    pub rolling_avg_7d: Option<f64>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Trend {
    pub metric: Metric,
    pub period: Period,
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// One point per day, oldest first.
    pub points: Vec<Point>,
}

/// Daily values of a metric over 7, 30 or 90 days, with a 7-day rolling average.
#[utoipa::path(get, path = "/api/v1/trends/{metric}", tag = "data", security(("bearer" = [])),
    params(("metric" = Metric, Path, description = "The metric"), TrendQuery),
    responses((status = 200, body = Trend), (status = "4XX", body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn trend(
    _u: User,
    State(s): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Path(metric): Path<Metric>,
    Query(q): Query<TrendQuery>,
) -> Result<Response, ApiError> {
    check_date("end", q.end)?;
    // Cached like every data route (the key holds the day, for the default end).
    static ROUTE: crate::cache::Route = crate::cache::Route::new("/api/v1/trends/{metric}");
    crate::data::cached(&s, &ROUTE, &uri, compute(&s, metric, q)).await
}

async fn compute(s: &AppState, metric: Metric, q: TrendQuery) -> Result<Trend, ApiError> {
    let period = q.period.unwrap_or_default();
    let end = q.end.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let start = end - chrono::Days::new(period.days() - 1);
    let (table, column) = metric.column();
    // A dense calendar from 6 days before the period, so the rolling window
    // is 6 rows back and the first points see their preceding week.
    let sql = format!(
        "WITH cal AS (
             SELECT d::date AS day, t.{column}::float8 AS value
             FROM generate_series($1::date - 6, $2::date, interval '1 day') d
             LEFT JOIN {table} t ON t.day = d::date),
         rolled AS (
             SELECT day, value, avg(value) OVER (ORDER BY day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS rolling_avg_7d
             FROM cal)
         SELECT day, value, rolling_avg_7d FROM rolled WHERE day >= $1 ORDER BY day"
    );
    let points =
        myhealth_common::telemetry::timed("trend", sqlx::query_as(&sql).bind(start).bind(end).fetch_all(&s.pool))
            .await?;
    Ok(Trend { metric, period, start, end, points })
}
