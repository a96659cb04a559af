//! `POST /api/v1/ingest`: a batch of Oura API v2 documents, keyed by the
//! collection they came from (`daily_sleep`, `sleep`, `heartrate`, …), each
//! document exactly as Oura sent it. Everything is validated before anything
//! is written; then, in one transaction, every daily/period document is kept
//! raw (JSONB, per collection and document id) and its typed columns are
//! upserted in one set-based statement per table (UNNEST of column arrays).
//! A batch is stored completely or not at all, sending it twice changes
//! nothing, and a typed value is never replaced by NULL: a later document
//! that lacks a field (or a batch that lacks the night) cannot erase what is
//! stored. The collector's run report (`collector`) is exported as metrics.
//!
//! What is refused, always as a 4xx with a JSON body (never a 500): a body
//! the database could not store (`guard`: nesting, NUL, lone surrogates),
//! malformed JSON (400), a mistyped or implausible document or the same id
//! twice in one collection (422, naming the collection).

use std::borrow::Cow;
use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, header};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::error::{AppError, ErrorBody, Json};
use myhealth_common::telemetry::timed;

/// The Oura collections a batch may carry, by their API names.
pub const COLLECTIONS: [&str; 12] = [
    "daily_sleep",
    "sleep",
    "daily_activity",
    "daily_readiness",
    "heartrate",
    "workout",
    "session",
    "daily_spo2",
    "daily_stress",
    "daily_resilience",
    "daily_cardiovascular_age",
    "vO2_max",
];

/// Why a collection failed in a collector run (a closed set: metric labels).
pub const FAILURE_REASONS: [&str; 6] = ["scope", "rate_limited", "unavailable", "refused", "invalid", "error"];

pub fn router() -> OpenApiRouter<AppState> {
    // Counters exist from the start (at 0), so an alert's `increase()` sees
    // the first failure too, not only the second.
    for c in COLLECTIONS {
        for r in FAILURE_REASONS {
            myhealth_common::metrics::counter!("oura_collection_failures_total", "collection" => c, "reason" => r)
                .increment(0);
        }
    }
    for o in ["ok", "partial", "failed"] {
        myhealth_common::metrics::counter!("oura_collector_runs_total", "outcome" => o).increment(0);
    }
    OpenApiRouter::new().routes(utoipa_axum::routes!(ingest))
}

type Ts = DateTime<FixedOffset>;

#[derive(Debug, Deserialize, Default, ToSchema)]
pub struct SleepContributors {
    pub deep_sleep: Option<i16>,
    pub efficiency: Option<i16>,
    pub latency: Option<i16>,
    pub rem_sleep: Option<i16>,
    pub restfulness: Option<i16>,
    pub timing: Option<i16>,
    pub total_sleep: Option<i16>,
}

/// `daily_sleep`: the day's score and its contributors.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DailySleepDoc {
    pub id: Option<String>,
    pub day: NaiveDate,
    pub score: Option<i16>,
    #[serde(default)]
    pub contributors: Option<SleepContributors>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EmbeddedReadiness {
    pub score: Option<i16>,
}

/// `sleep`: one sleep period (long sleep, nap, rest, …) with its series.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SleepPeriodDoc<'a> {
    pub id: String,
    pub day: NaiveDate,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub period: Option<i16>,
    #[schema(value_type = String, format = DateTime)]
    pub bedtime_start: Ts,
    #[schema(value_type = String, format = DateTime)]
    pub bedtime_end: Ts,
    pub time_in_bed: Option<i32>,
    pub total_sleep_duration: Option<i32>,
    pub deep_sleep_duration: Option<i32>,
    pub light_sleep_duration: Option<i32>,
    pub rem_sleep_duration: Option<i32>,
    pub awake_time: Option<i32>,
    pub efficiency: Option<i16>,
    pub latency: Option<i32>,
    pub average_hrv: Option<f32>,
    pub average_heart_rate: Option<f32>,
    pub lowest_heart_rate: Option<i16>,
    pub average_breath: Option<f32>,
    pub restless_periods: Option<i32>,
    pub readiness: Option<EmbeddedReadiness>,
    pub sleep_phase_5_min: Option<String>,
    /// The 5-minute series `{interval, items, timestamp}`, stored as sent.
    #[serde(borrow, default)]
    #[schema(value_type = Option<Object>)]
    pub heart_rate: Option<&'a RawValue>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<Object>)]
    pub hrv: Option<&'a RawValue>,
}

/// `daily_activity`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ActivityDoc {
    pub id: Option<String>,
    pub day: NaiveDate,
    pub score: Option<i16>,
    pub steps: Option<i32>,
    pub active_calories: Option<i32>,
    pub total_calories: Option<i32>,
    pub high_activity_time: Option<i32>,
    pub medium_activity_time: Option<i32>,
    pub low_activity_time: Option<i32>,
}

#[derive(Debug, Deserialize, Default, ToSchema)]
pub struct ReadinessContributors {
    pub resting_heart_rate: Option<i16>,
    pub hrv_balance: Option<i16>,
}

/// `daily_readiness`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReadinessDoc {
    pub id: Option<String>,
    pub day: NaiveDate,
    pub score: Option<i16>,
    pub temperature_deviation: Option<f32>,
    #[serde(default)]
    pub contributors: Option<ReadinessContributors>,
}

/// One `heartrate` sample (stored whole as a typed row: it has no id).
#[derive(Debug, Deserialize, ToSchema)]
pub struct HeartRateSample<'a> {
    pub bpm: i16,
    // Borrowed from the body: 5,000 samples a request, one allocation saved each.
    #[serde(borrow)]
    #[schema(value_type = String)]
    pub source: Cow<'a, str>,
    #[serde(deserialize_with = "rfc3339")]
    pub timestamp: DateTime<Utc>,
}

/// `workout`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct WorkoutDoc {
    pub id: String,
    pub day: NaiveDate,
    pub activity: String,
    pub intensity: Option<String>,
    pub source: Option<String>,
    pub label: Option<String>,
    pub calories: Option<f32>,
    pub distance: Option<f32>,
    #[schema(value_type = String, format = DateTime)]
    pub start_datetime: Ts,
    #[schema(value_type = String, format = DateTime)]
    pub end_datetime: Ts,
}

/// `session` (meditation, breathing, nap, …) with its series.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SessionDoc<'a> {
    pub id: String,
    pub day: NaiveDate,
    #[serde(rename = "type")]
    pub kind: String,
    pub mood: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub start_datetime: Ts,
    #[schema(value_type = String, format = DateTime)]
    pub end_datetime: Ts,
    #[serde(borrow, default)]
    #[schema(value_type = Option<Object>)]
    pub heart_rate: Option<&'a RawValue>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<Object>)]
    pub heart_rate_variability: Option<&'a RawValue>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Spo2Values {
    pub average: Option<f32>,
}

/// `daily_spo2`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Spo2Doc {
    pub id: Option<String>,
    pub day: NaiveDate,
    pub spo2_percentage: Option<Spo2Values>,
    pub breathing_disturbance_index: Option<i16>,
}

/// `daily_stress`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct StressDoc {
    pub id: Option<String>,
    pub day: NaiveDate,
    pub stress_high: Option<i32>,
    pub recovery_high: Option<i32>,
    pub day_summary: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResilienceContributors {
    pub sleep_recovery: Option<f32>,
    pub daytime_recovery: Option<f32>,
    pub stress: Option<f32>,
}

/// `daily_resilience`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ResilienceDoc {
    pub id: Option<String>,
    pub day: NaiveDate,
    pub level: Option<String>,
    pub contributors: Option<ResilienceContributors>,
}

/// `daily_cardiovascular_age`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CardioAgeDoc {
    pub id: Option<String>,
    pub day: NaiveDate,
    pub vascular_age: Option<i16>,
}

/// `vO2_max`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Vo2MaxDoc {
    pub id: Option<String>,
    pub day: NaiveDate,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub timestamp: Option<Ts>,
    pub vo2_max: Option<f32>,
}

/// A sample's time: chrono's strict RFC 3339 parser first (Oura's format,
/// and a third of the cost of the lenient one serde's default uses), the
/// lenient one (a space for `T`, …) should it refuse; cut to the
/// microsecond PostgreSQL keeps, so samples are deduplicated as stored and
/// `COPY` and the upsert agree on a time before 2000.
fn rfc3339<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    struct Rfc3339;
    impl serde::de::Visitor<'_> for Rfc3339 {
        type Value = DateTime<Utc>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an RFC 3339 date and time")
        }

        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<DateTime<Utc>, E> {
            use chrono::SubsecRound;
            DateTime::parse_from_rfc3339(s)
                .or_else(|_| s.parse::<DateTime<FixedOffset>>())
                .map(|t| t.with_timezone(&Utc).trunc_subsecs(6))
                .map_err(E::custom)
        }
    }
    d.deserialize_str(Rfc3339)
}

/// A batch as it is stored: typed documents, each with its raw JSON text
/// (stored as JSONB as sent, without a round trip through `Value`).
#[derive(Debug, Default)]
struct Parsed<'a> {
    daily_sleep: Vec<(DailySleepDoc, &'a str)>,
    sleep: Vec<(SleepPeriodDoc<'a>, &'a str)>,
    daily_activity: Vec<(ActivityDoc, &'a str)>,
    daily_readiness: Vec<(ReadinessDoc, &'a str)>,
    heartrate: Vec<HeartRateSample<'a>>,
    workout: Vec<(WorkoutDoc, &'a str)>,
    session: Vec<(SessionDoc<'a>, &'a str)>,
    daily_spo2: Vec<(Spo2Doc, &'a str)>,
    daily_stress: Vec<(StressDoc, &'a str)>,
    daily_resilience: Vec<(ResilienceDoc, &'a str)>,
    daily_cardiovascular_age: Vec<(CardioAgeDoc, &'a str)>,
    vo2_max: Vec<(Vo2MaxDoc, &'a str)>,
    collector: Option<CollectorReport>,
}

/// The body: documents are kept raw until typed one by one (so an error
/// names its collection and index); samples are typed straight away. Every
/// collection is optional; documents may carry fields not named here (they
/// are stored raw, as sent).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Batch)]
struct Body<'a> {
    #[serde(default, borrow)]
    #[schema(value_type = Vec<DailySleepDoc>)]
    daily_sleep: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    #[schema(value_type = Vec<SleepPeriodDoc>)]
    sleep: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    #[schema(value_type = Vec<ActivityDoc>)]
    daily_activity: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    #[schema(value_type = Vec<ReadinessDoc>)]
    daily_readiness: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    heartrate: Vec<HeartRateSample<'a>>,
    #[serde(default, borrow)]
    #[schema(value_type = Vec<WorkoutDoc>)]
    workout: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    #[schema(value_type = Vec<SessionDoc>)]
    session: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    #[schema(value_type = Vec<Spo2Doc>)]
    daily_spo2: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    #[schema(value_type = Vec<StressDoc>)]
    daily_stress: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    #[schema(value_type = Vec<ResilienceDoc>)]
    daily_resilience: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    #[schema(value_type = Vec<CardioAgeDoc>)]
    daily_cardiovascular_age: Vec<&'a RawValue>,
    #[serde(default, borrow, rename = "vO2_max")]
    #[schema(value_type = Vec<Vo2MaxDoc>)]
    vo2_max: Vec<&'a RawValue>,
    /// What the collector's run did (exported as metrics: the collector is
    /// a CronJob with nothing to scrape).
    #[serde(default)]
    collector: Option<CollectorReport>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    Ok,
    Partial,
    Failed,
}

/// A collection that failed in the run, and why (both from closed lists).
#[derive(Debug, Deserialize, Clone, ToSchema)]
#[serde(deny_unknown_fields)]
struct Failure {
    collection: String,
    reason: String,
}

/// The collector's run report.
#[derive(Debug, Default, Deserialize, Clone, ToSchema)]
#[serde(deny_unknown_fields)]
struct CollectorReport {
    #[serde(default)]
    oura_requests: u64,
    #[serde(default)]
    oura_rate_limited: u64,
    #[serde(default)]
    token_refreshes: u64,
    #[serde(default)]
    outcome: Option<Outcome>,
    #[serde(default)]
    failures: Vec<Failure>,
}

fn typed<'a, T: Deserialize<'a>>(collection: &str, raw: Vec<&'a RawValue>) -> Result<Vec<(T, &'a str)>, AppError> {
    raw.into_iter()
        .enumerate()
        .map(|(i, r)| {
            serde_json::from_str::<T>(r.get()).map(|t| (t, r.get())).map_err(|e| AppError::InvalidDocument {
                collection: collection.to_string(),
                message: format!("{collection}[{i}]: {e}"),
            })
        })
        .collect()
}

fn parse(bytes: &[u8]) -> Result<Parsed<'_>, AppError> {
    // Tracking the path costs a fifth of the parse of a body of samples:
    // it is only needed to name where a body went wrong, so only then is
    // the body parsed again, with it.
    let body: Body = match serde_json::from_slice(bytes) {
        Ok(body) => body,
        Err(e) => return Err(parse_error(bytes, e)),
    };
    typed_body(body)
}

/// The error of a body that does not parse (`first`), with the path where
/// it fails.
fn parse_error(bytes: &[u8], first: serde_json::Error) -> AppError {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let Err(e) = serde_path_to_error::deserialize::<_, Body>(de) else {
        // The value itself parses: what follows it does not (trailing
        // characters), which only `from_slice` checks.
        return AppError::BadRequest(format!("malformed JSON: {first}"));
    };
    let (path, inner) = (e.path().to_string(), e.into_inner());
    let at = if path == "." { String::new() } else { format!("{path}: ") };
    match inner.classify() {
        serde_json::error::Category::Data => AppError::Invalid(format!("{at}{inner}")),
        _ => AppError::BadRequest(format!("malformed JSON: {inner}")),
    }
}

/// Each document of the body typed, so an error names its collection and index.
fn typed_body(body: Body<'_>) -> Result<Parsed<'_>, AppError> {
    Ok(Parsed {
        daily_sleep: typed("daily_sleep", body.daily_sleep)?,
        sleep: typed("sleep", body.sleep)?,
        daily_activity: typed("daily_activity", body.daily_activity)?,
        daily_readiness: typed("daily_readiness", body.daily_readiness)?,
        heartrate: body.heartrate,
        workout: typed("workout", body.workout)?,
        session: typed("session", body.session)?,
        daily_spo2: typed("daily_spo2", body.daily_spo2)?,
        daily_stress: typed("daily_stress", body.daily_stress)?,
        daily_resilience: typed("daily_resilience", body.daily_resilience)?,
        daily_cardiovascular_age: typed("daily_cardiovascular_age", body.daily_cardiovascular_age)?,
        vo2_max: typed("vO2_max", body.vo2_max)?,
        collector: body.collector,
    })
}

/// Checks of one collection's documents; errors name the collection.
struct Check<'c> {
    collection: &'c str,
}

impl Check<'_> {
    fn err(&self, message: String) -> AppError {
        AppError::InvalidDocument { collection: self.collection.to_string(), message }
    }

    fn range<T: PartialOrd + std::fmt::Display + Copy>(
        &self,
        i: usize,
        field: &str,
        v: Option<T>,
        lo: T,
        hi: T,
    ) -> Result<(), AppError> {
        match v {
            Some(x) if x < lo || x > hi => {
                Err(self.err(format!("{}[{i}].{field}: {x} is outside {lo}..={hi}", self.collection)))
            }
            _ => Ok(()),
        }
    }

    fn day(&self, i: usize, day: NaiveDate) -> Result<(), AppError> {
        let today = Utc::now().date_naive();
        let earliest = NaiveDate::from_ymd_opt(2015, 1, 1).expect("valid date");
        // Users east of UTC live up to 14 hours ahead: their today can be our tomorrow.
        if day < earliest || day > today + chrono::Days::new(1) {
            return Err(self.err(format!("{}[{i}].day: {day} is not a plausible Oura day", self.collection)));
        }
        Ok(())
    }

    fn text(&self, i: usize, field: &str, v: Option<&str>, max: usize) -> Result<(), AppError> {
        match v {
            Some(s) if s.is_empty() || s.len() > max => {
                Err(self.err(format!("{}[{i}].{field}: must be 1-{max} characters", self.collection)))
            }
            _ => Ok(()),
        }
    }

    fn order(&self, i: usize, start: &Ts, end: &Ts) -> Result<(), AppError> {
        if end < start {
            return Err(self.err(format!("{}[{i}]: ends before it starts", self.collection)));
        }
        Ok(())
    }

    /// One document per id: two with the same id say two things about one
    /// document (the collector sends each once), so the batch is ambiguous.
    fn unique_ids<'i>(&self, ids: impl Iterator<Item = Option<&'i str>>) -> Result<(), AppError> {
        let mut seen = std::collections::HashMap::new();
        for (i, id) in ids.enumerate() {
            let Some(id) = id else { continue };
            if let Some(first) = seen.insert(id, i) {
                return Err(self.err(format!(
                    "{c}: id `{}` appears twice in the batch ({c}[{first}] and {c}[{i}])",
                    id.escape_debug(),
                    c = self.collection
                )));
            }
        }
        Ok(())
    }

    /// One row per day in day-keyed tables: a batch that says two things about one day is ambiguous.
    fn one_per_day(&self, days: impl Iterator<Item = NaiveDate>) -> Result<(), AppError> {
        let mut seen = std::collections::BTreeSet::new();
        for d in days {
            if !seen.insert(d) {
                return Err(self.err(format!("{}: day {d} appears twice in the batch", self.collection)));
            }
        }
        Ok(())
    }
}

const DAY: i32 = 86_400;

fn validate(p: &Parsed) -> Result<(), AppError> {
    let c = Check { collection: "daily_sleep" };
    c.unique_ids(p.daily_sleep.iter().map(|(d, _)| d.id.as_deref()))?;
    for (i, (d, _)) in p.daily_sleep.iter().enumerate() {
        c.day(i, d.day)?;
        c.text(i, "id", d.id.as_deref(), 128)?;
        c.range(i, "score", d.score, 0, 100)?;
        if let Some(k) = &d.contributors {
            for (f, v) in [
                ("deep_sleep", k.deep_sleep),
                ("efficiency", k.efficiency),
                ("latency", k.latency),
                ("rem_sleep", k.rem_sleep),
                ("restfulness", k.restfulness),
                ("timing", k.timing),
                ("total_sleep", k.total_sleep),
            ] {
                c.range(i, &format!("contributors.{f}"), v, 0, 100)?;
            }
        }
    }
    c.one_per_day(p.daily_sleep.iter().map(|(d, _)| d.day))?;

    let c = Check { collection: "sleep" };
    c.unique_ids(p.sleep.iter().map(|(d, _)| Some(d.id.as_str())))?;
    for (i, (d, _)) in p.sleep.iter().enumerate() {
        c.day(i, d.day)?;
        c.text(i, "id", Some(&d.id), 128)?;
        c.text(i, "type", d.kind.as_deref(), 32)?;
        c.order(i, &d.bedtime_start, &d.bedtime_end)?;
        c.range(i, "time_in_bed", d.time_in_bed, 0, 2 * DAY)?;
        for (f, v) in [
            ("total_sleep_duration", d.total_sleep_duration),
            ("deep_sleep_duration", d.deep_sleep_duration),
            ("light_sleep_duration", d.light_sleep_duration),
            ("rem_sleep_duration", d.rem_sleep_duration),
            ("awake_time", d.awake_time),
            ("latency", d.latency),
        ] {
            c.range(i, f, v, 0, DAY)?;
        }
        c.range(i, "efficiency", d.efficiency, 0, 100)?;
        c.range(i, "average_hrv", d.average_hrv, 0.0, 500.0)?;
        c.range(i, "average_heart_rate", d.average_heart_rate, 20.0, 250.0)?;
        c.range(i, "lowest_heart_rate", d.lowest_heart_rate, 20, 250)?;
        c.range(i, "average_breath", d.average_breath, 0.0, 100.0)?;
        c.range(i, "restless_periods", d.restless_periods, 0, DAY)?;
        c.range(i, "readiness.score", d.readiness.as_ref().and_then(|r| r.score), 0, 100)?;
    }

    let c = Check { collection: "daily_activity" };
    c.unique_ids(p.daily_activity.iter().map(|(d, _)| d.id.as_deref()))?;
    for (i, (d, _)) in p.daily_activity.iter().enumerate() {
        c.day(i, d.day)?;
        c.text(i, "id", d.id.as_deref(), 128)?;
        c.range(i, "score", d.score, 0, 100)?;
        c.range(i, "steps", d.steps, 0, 500_000)?;
        c.range(i, "active_calories", d.active_calories, 0, 50_000)?;
        c.range(i, "total_calories", d.total_calories, 0, 50_000)?;
        for (f, v) in [
            ("high_activity_time", d.high_activity_time),
            ("medium_activity_time", d.medium_activity_time),
            ("low_activity_time", d.low_activity_time),
        ] {
            c.range(i, f, v, 0, DAY)?;
        }
    }
    c.one_per_day(p.daily_activity.iter().map(|(d, _)| d.day))?;

    let c = Check { collection: "daily_readiness" };
    c.unique_ids(p.daily_readiness.iter().map(|(d, _)| d.id.as_deref()))?;
    for (i, (d, _)) in p.daily_readiness.iter().enumerate() {
        c.day(i, d.day)?;
        c.text(i, "id", d.id.as_deref(), 128)?;
        c.range(i, "score", d.score, 0, 100)?;
        c.range(i, "temperature_deviation", d.temperature_deviation, -10.0, 10.0)?;
        let k = d.contributors.as_ref();
        c.range(i, "contributors.resting_heart_rate", k.and_then(|k| k.resting_heart_rate), 0, 100)?;
        c.range(i, "contributors.hrv_balance", k.and_then(|k| k.hrv_balance), 0, 100)?;
    }
    c.one_per_day(p.daily_readiness.iter().map(|(d, _)| d.day))?;

    let c = Check { collection: "heartrate" };
    for (i, h) in p.heartrate.iter().enumerate() {
        c.range(i, "bpm", Some(h.bpm), 20, 250)?;
        c.text(i, "source", Some(&h.source), 32)?;
    }

    let c = Check { collection: "workout" };
    c.unique_ids(p.workout.iter().map(|(d, _)| Some(d.id.as_str())))?;
    for (i, (d, _)) in p.workout.iter().enumerate() {
        c.day(i, d.day)?;
        c.text(i, "id", Some(&d.id), 128)?;
        c.text(i, "activity", Some(&d.activity), 64)?;
        c.order(i, &d.start_datetime, &d.end_datetime)?;
        c.range(i, "calories", d.calories, 0.0, 50_000.0)?;
        c.range(i, "distance", d.distance, 0.0, 1_000_000.0)?;
    }

    let c = Check { collection: "session" };
    c.unique_ids(p.session.iter().map(|(d, _)| Some(d.id.as_str())))?;
    for (i, (d, _)) in p.session.iter().enumerate() {
        c.day(i, d.day)?;
        c.text(i, "id", Some(&d.id), 128)?;
        c.text(i, "type", Some(&d.kind), 32)?;
        c.order(i, &d.start_datetime, &d.end_datetime)?;
    }

    let c = Check { collection: "daily_spo2" };
    c.unique_ids(p.daily_spo2.iter().map(|(d, _)| d.id.as_deref()))?;
    for (i, (d, _)) in p.daily_spo2.iter().enumerate() {
        c.day(i, d.day)?;
        c.text(i, "id", d.id.as_deref(), 128)?;
        c.range(i, "spo2_percentage.average", d.spo2_percentage.as_ref().and_then(|s| s.average), 0.0, 100.0)?;
        c.range(i, "breathing_disturbance_index", d.breathing_disturbance_index, 0, 1000)?;
    }
    c.one_per_day(p.daily_spo2.iter().map(|(d, _)| d.day))?;

    let c = Check { collection: "daily_stress" };
    c.unique_ids(p.daily_stress.iter().map(|(d, _)| d.id.as_deref()))?;
    for (i, (d, _)) in p.daily_stress.iter().enumerate() {
        c.day(i, d.day)?;
        c.text(i, "id", d.id.as_deref(), 128)?;
        c.range(i, "stress_high", d.stress_high, 0, DAY)?;
        c.range(i, "recovery_high", d.recovery_high, 0, DAY)?;
    }
    c.one_per_day(p.daily_stress.iter().map(|(d, _)| d.day))?;

    let c = Check { collection: "daily_resilience" };
    c.unique_ids(p.daily_resilience.iter().map(|(d, _)| d.id.as_deref()))?;
    for (i, (d, _)) in p.daily_resilience.iter().enumerate() {
        c.day(i, d.day)?;
        c.text(i, "id", d.id.as_deref(), 128)?;
        c.text(i, "level", d.level.as_deref(), 32)?;
        let k = d.contributors.as_ref();
        c.range(i, "contributors.sleep_recovery", k.and_then(|k| k.sleep_recovery), 0.0, 100.0)?;
        c.range(i, "contributors.daytime_recovery", k.and_then(|k| k.daytime_recovery), 0.0, 100.0)?;
        c.range(i, "contributors.stress", k.and_then(|k| k.stress), 0.0, 100.0)?;
    }
    c.one_per_day(p.daily_resilience.iter().map(|(d, _)| d.day))?;

    let c = Check { collection: "daily_cardiovascular_age" };
    c.unique_ids(p.daily_cardiovascular_age.iter().map(|(d, _)| d.id.as_deref()))?;
    for (i, (d, _)) in p.daily_cardiovascular_age.iter().enumerate() {
        c.day(i, d.day)?;
        c.text(i, "id", d.id.as_deref(), 128)?;
        c.range(i, "vascular_age", d.vascular_age, 0, 150)?;
    }
    c.one_per_day(p.daily_cardiovascular_age.iter().map(|(d, _)| d.day))?;

    let c = Check { collection: "vO2_max" };
    c.unique_ids(p.vo2_max.iter().map(|(d, _)| d.id.as_deref()))?;
    for (i, (d, _)) in p.vo2_max.iter().enumerate() {
        c.day(i, d.day)?;
        c.text(i, "id", d.id.as_deref(), 128)?;
        c.range(i, "vo2_max", d.vo2_max, 0.0, 150.0)?;
    }

    if let Some(r) = &p.collector {
        for f in &r.failures {
            if !COLLECTIONS.contains(&f.collection.as_str()) || !FAILURE_REASONS.contains(&f.reason.as_str()) {
                return Err(AppError::Invalid(format!(
                    "collector.failures: `{}`/`{}` is not a known collection and reason",
                    f.collection, f.reason
                )));
            }
        }
    }
    Ok(())
}

/// Documents stored per collection (heart-rate samples after deduplication).
#[derive(Debug, Serialize, ToSchema)]
pub struct Stored {
    pub daily_sleep: usize,
    pub sleep: usize,
    pub daily_activity: usize,
    pub daily_readiness: usize,
    pub heartrate: usize,
    pub workout: usize,
    pub session: usize,
    pub daily_spo2: usize,
    pub daily_stress: usize,
    pub daily_resilience: usize,
    pub daily_cardiovascular_age: usize,
    #[serde(rename = "vO2_max")]
    pub vo2_max: usize,
}

/// Store a batch of Oura documents, all or nothing.
#[utoipa::path(post, path = "/api/v1/ingest", tag = "ingest",
    request_body(content = Body, content_type = "application/json",
        description = "Documents of any Oura collections, keyed by the collection's API name, each as Oura sent it."),
    responses(
        (status = 200, description = "Stored; the documents per collection", body = Stored),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 408, description = "The body stalled for longer than `BODY_READ_TIMEOUT_SECONDS`", body = ErrorBody),
        (status = 409, description = "Another batch stored the same keys at the same moment; retry", body = ErrorBody),
        (status = 413, description = "Larger than `MAX_BODY_BYTES`", body = ErrorBody),
        (status = 415, description = "Not `Content-Type: application/json`", body = ErrorBody),
        (status = 422, description = "A document is invalid, implausible, nested too deep, holds a NUL or a lone surrogate, or shares its id with another of its collection: `collection` names it, so the rest can be resent; without `collection` the batch itself is wrong (an unknown collection, a bad run report)", body = ErrorBody),
        (status = 503, description = "The database is unavailable, or the request took longer than the request timeout; retry", body = ErrorBody),
    ))]
async fn ingest(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Stored>, AppError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")));
    if !json {
        return Err(AppError::NotJson);
    }
    let body = body?;
    // In a task of its own: a request cancelled midway (the request timeout,
    // a client gone) must not cancel the store inside a `COPY` — sqlx does
    // not bring a connection dropped there back in step, and the next
    // statement on it would read this one's reply. The task ends the
    // transaction either way; a retried batch is idempotent.
    let pool = s.pool.clone();
    tokio::spawn(async move { accept(&pool, body).await }).await.map_err(|e| AppError::Internal(e.into()))?.map(Json)
}

/// Check, parse, validate and store one body; what was stored.
async fn accept(pool: &sqlx::PgPool, body: Bytes) -> Result<Stored, AppError> {
    // The collector posts one batch at a time, so while this parses the
    // other core idles: the scan for what PostgreSQL cannot store runs
    // there, beside the parse, and the transaction is opened meanwhile.
    // The scan's verdict comes first, as if it had run first.
    let scan = tokio::task::spawn_blocking({
        let body = body.clone();
        move || crate::guard::check(&body)
    });
    let begin = tokio::spawn(begin(pool.clone()));
    let parsed = parse(&body);
    scan.await.map_err(|e| AppError::Internal(e.into()))??;
    let mut p = parsed?;
    validate(&p)?;
    // A sample sent twice in one batch is one sample (and one row may only be upserted once per statement).
    p.heartrate.sort_by(|a, b| (a.timestamp, &a.source).cmp(&(b.timestamp, &b.source)));
    p.heartrate.dedup_by(|a, b| a.timestamp == b.timestamp && a.source == b.source);
    // VO2max has an id and a timestamp but one typed row per day: the latest
    // measurement of a day wins (its raw documents are all kept).
    let counts = counts(&p);
    if counts.values().any(|n| *n > 0) {
        timed("ingest", store(pool, begin, &p)).await?;
    }
    if let Some(c) = &p.collector {
        export(c);
    }
    for (kind, n) in &counts {
        myhealth_common::metrics::counter!("ingested_documents_total", "kind" => *kind).increment(*n as u64);
    }
    let stored: usize = counts.values().sum();
    if stored > 0 {
        tracing::info!(documents = stored, ?counts, "stored batch");
    }
    Ok(Stored {
        daily_sleep: p.daily_sleep.len(),
        sleep: p.sleep.len(),
        daily_activity: p.daily_activity.len(),
        daily_readiness: p.daily_readiness.len(),
        heartrate: p.heartrate.len(),
        workout: p.workout.len(),
        session: p.session.len(),
        daily_spo2: p.daily_spo2.len(),
        daily_stress: p.daily_stress.len(),
        daily_resilience: p.daily_resilience.len(),
        daily_cardiovascular_age: p.daily_cardiovascular_age.len(),
        vo2_max: p.vo2_max.len(),
    })
}

fn counts(p: &Parsed) -> BTreeMap<&'static str, usize> {
    BTreeMap::from([
        ("daily_sleep", p.daily_sleep.len()),
        ("sleep", p.sleep.len()),
        ("daily_activity", p.daily_activity.len()),
        ("daily_readiness", p.daily_readiness.len()),
        ("heartrate", p.heartrate.len()),
        ("workout", p.workout.len()),
        ("session", p.session.len()),
        ("daily_spo2", p.daily_spo2.len()),
        ("daily_stress", p.daily_stress.len()),
        ("daily_resilience", p.daily_resilience.len()),
        ("daily_cardiovascular_age", p.daily_cardiovascular_age.len()),
        ("vO2_max", p.vo2_max.len()),
    ])
}

fn export(c: &CollectorReport) {
    use myhealth_common::metrics::counter;
    counter!("oura_api_requests_total").increment(c.oura_requests);
    counter!("oura_api_rate_limited_total").increment(c.oura_rate_limited);
    counter!("oura_token_refreshes_total").increment(c.token_refreshes);
    if let Some(o) = c.outcome {
        let o = match o {
            Outcome::Ok => "ok",
            Outcome::Partial => "partial",
            Outcome::Failed => "failed",
        };
        counter!("oura_collector_runs_total", "outcome" => o).increment(1);
    }
    for f in &c.failures {
        // Both labels were checked against closed lists in `validate`.
        counter!("oura_collection_failures_total", "collection" => f.collection.clone(), "reason" => f.reason.clone())
            .increment(1);
        tracing::warn!(collection = %f.collection, reason = %f.reason, "the collector reports a failed collection");
    }
}

/// The raw documents' key: the Oura id, or the day where a collection's
/// documents carry none (older `daily_cardiovascular_age` answers).
fn key(id: &Option<String>, day: NaiveDate) -> String {
    id.clone().unwrap_or_else(|| format!("day:{day}"))
}

/// Which tables cannot hold any key of this batch yet: their statements are
/// plain inserts. ON CONFLICT's speculative insertion costs as much again as
/// the insert (docs/performance.md); a first load and a backfill skip it.
#[derive(Default)]
struct Fresh {
    raw: bool,
    sleep_metrics: bool,
    sleep_periods: bool,
    activity_metrics: bool,
    readiness_metrics: bool,
    workouts: bool,
    sessions: bool,
    spo2_metrics: bool,
    stress_metrics: bool,
    resilience_metrics: bool,
    cardiovascular_age_metrics: bool,
    vo2_max_metrics: bool,
}

/// Documents of a table in one batch below which its statement simply upserts.
const FRESH_CHECK_MIN: usize = 64;

/// The statement without its ON CONFLICT clause when its table is fresh for the batch.
fn upsert(sql: &'static str, fresh: bool) -> std::borrow::Cow<'static, str> {
    match sql.split_once("ON CONFLICT") {
        Some((insert, _)) if fresh => insert.into(),
        _ => sql.into(),
    }
}

/// Whether `table` holds no row of the days `days` (a document keeps its day,
/// so a table without the batch's days holds none of its keys; should one
/// have moved, the insert fails on the key and the batch is stored again
/// with upserts).
async fn fresh_days(c: &mut sqlx::PgConnection, table: &str, days: &[NaiveDate]) -> Result<bool, AppError> {
    // A few documents (a run's usual overlap) are not worth the extra round trip.
    if days.len() < FRESH_CHECK_MIN {
        return Ok(false);
    }
    let (Some(lo), Some(hi)) = (days.iter().min(), days.iter().max()) else { return Ok(false) };
    let sql = format!("SELECT NOT EXISTS (SELECT 1 FROM {table} WHERE day BETWEEN $1 AND $2)");
    Ok(sqlx::query_scalar(&sql).bind(lo).bind(hi).fetch_one(&mut *c).await?)
}

/// Store the batch: first with plain inserts where tables are fresh, again
/// with upserts only should a key exist after all.
async fn store(
    pool: &sqlx::PgPool,
    begun: tokio::task::JoinHandle<Result<Tx, sqlx::Error>>,
    p: &Parsed<'_>,
) -> Result<(), AppError> {
    let tx = begun.await.map_err(|e| AppError::Internal(e.into()))??;
    match store_once(tx, p, true).await {
        Err(AppError::Conflict) => store_once(begin(pool.clone()).await?, p, false).await,
        other => other,
    }
}

type Tx = sqlx::Transaction<'static, sqlx::Postgres>;

/// A transaction for one batch. Readers that cache (the api-service) drop
/// their answers when it commits: the notification is queued with BEGIN,
/// in its round trip, and PostgreSQL delivers it only on commit (never
/// after a rollback).
async fn begin(pool: sqlx::PgPool) -> Result<Tx, sqlx::Error> {
    static BEGIN: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| format!("BEGIN; SELECT pg_notify('{}', '')", myhealth_common::db::INGEST_CHANNEL));
    pool.begin_with(BEGIN.as_str()).await
}

/// One transaction, one statement per table.
async fn store_once(mut tx: Tx, p: &Parsed<'_>, fast: bool) -> Result<(), AppError> {
    let c = &mut *tx;
    let mut fresh = Fresh::default();
    if fast {
        let days = |v: &mut dyn Iterator<Item = NaiveDate>| v.collect::<Vec<_>>();
        fresh.sleep_metrics = fresh_days(c, "sleep_metrics", &days(&mut p.daily_sleep.iter().map(|d| d.0.day))).await?;
        fresh.sleep_periods = fresh_days(c, "sleep_periods", &days(&mut p.sleep.iter().map(|d| d.0.day))).await?;
        fresh.activity_metrics =
            fresh_days(c, "activity_metrics", &days(&mut p.daily_activity.iter().map(|d| d.0.day))).await?;
        fresh.readiness_metrics =
            fresh_days(c, "readiness_metrics", &days(&mut p.daily_readiness.iter().map(|d| d.0.day))).await?;
        fresh.workouts = fresh_days(c, "workouts", &days(&mut p.workout.iter().map(|d| d.0.day))).await?;
        fresh.sessions = fresh_days(c, "sessions", &days(&mut p.session.iter().map(|d| d.0.day))).await?;
        fresh.spo2_metrics = fresh_days(c, "spo2_metrics", &days(&mut p.daily_spo2.iter().map(|d| d.0.day))).await?;
        fresh.stress_metrics =
            fresh_days(c, "stress_metrics", &days(&mut p.daily_stress.iter().map(|d| d.0.day))).await?;
        fresh.resilience_metrics =
            fresh_days(c, "resilience_metrics", &days(&mut p.daily_resilience.iter().map(|d| d.0.day))).await?;
        fresh.cardiovascular_age_metrics =
            fresh_days(c, "cardiovascular_age_metrics", &days(&mut p.daily_cardiovascular_age.iter().map(|d| d.0.day)))
                .await?;
        fresh.vo2_max_metrics = fresh_days(c, "vo2_max_metrics", &days(&mut p.vo2_max.iter().map(|d| d.0.day))).await?;
    }

    // Raw documents first, every collection in one statement.
    let mut raws: Vec<(&str, String, NaiveDate, &str)> = Vec::new();
    raws.extend(p.daily_sleep.iter().map(|(d, v)| ("daily_sleep", key(&d.id, d.day), d.day, *v)));
    raws.extend(p.sleep.iter().map(|(d, v)| ("sleep", d.id.clone(), d.day, *v)));
    raws.extend(p.daily_activity.iter().map(|(d, v)| ("daily_activity", key(&d.id, d.day), d.day, *v)));
    raws.extend(p.daily_readiness.iter().map(|(d, v)| ("daily_readiness", key(&d.id, d.day), d.day, *v)));
    raws.extend(p.workout.iter().map(|(d, v)| ("workout", d.id.clone(), d.day, *v)));
    raws.extend(p.session.iter().map(|(d, v)| ("session", d.id.clone(), d.day, *v)));
    raws.extend(p.daily_spo2.iter().map(|(d, v)| ("daily_spo2", key(&d.id, d.day), d.day, *v)));
    raws.extend(p.daily_stress.iter().map(|(d, v)| ("daily_stress", key(&d.id, d.day), d.day, *v)));
    raws.extend(p.daily_resilience.iter().map(|(d, v)| ("daily_resilience", key(&d.id, d.day), d.day, *v)));
    raws.extend(
        p.daily_cardiovascular_age.iter().map(|(d, v)| ("daily_cardiovascular_age", key(&d.id, d.day), d.day, *v)),
    );
    raws.extend(p.vo2_max.iter().map(|(d, v)| ("vO2_max", key(&d.id, d.day), d.day, *v)));
    // Ids are unique per collection (validate); documents without one are
    // keyed by their day, and only vO2_max may have two of a day: one is kept.
    raws.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    raws.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    if fast && raws.len() >= FRESH_CHECK_MIN {
        let kinds: Vec<&str> = {
            let mut k: Vec<&str> = raws.iter().map(|r| r.0).collect();
            k.dedup();
            k
        };
        let lo = raws.iter().map(|r| r.2).min();
        let hi = raws.iter().map(|r| r.2).max();
        fresh.raw = sqlx::query_scalar(
            "SELECT NOT EXISTS (SELECT 1 FROM raw_documents WHERE kind = ANY($1) AND day BETWEEN $2 AND $3)",
        )
        .bind(&kinds)
        .bind(lo)
        .bind(hi)
        .fetch_one(&mut *c)
        .await?;
    }
    if !raws.is_empty() {
        sqlx::query(&upsert(
            "INSERT INTO raw_documents (kind, oura_id, day, payload)
             SELECT k, id, d, p::jsonb FROM UNNEST($1::text[], $2::text[], $3::date[], $4::text[]) AS t(k, id, d, p)
             ON CONFLICT (kind, oura_id) DO UPDATE SET day = EXCLUDED.day, payload = EXCLUDED.payload, received_at = now()
             WHERE raw_documents.payload IS DISTINCT FROM EXCLUDED.payload",
            fresh.raw,
        ))
        .bind(raws.iter().map(|r| r.0).collect::<Vec<_>>())
        .bind(raws.iter().map(|r| r.1.as_str()).collect::<Vec<_>>())
        .bind(raws.iter().map(|r| r.2).collect::<Vec<_>>())
        .bind(raws.iter().map(|r| r.3).collect::<Vec<_>>())
        .execute(&mut *c)
        .await?;
    }

    if !p.daily_sleep.is_empty() {
        let d = &p.daily_sleep;
        let k = |f: fn(&SleepContributors) -> Option<i16>| -> Vec<Option<i16>> {
            d.iter().map(|(x, _)| x.contributors.as_ref().and_then(f)).collect()
        };
        sqlx::query(&upsert(
            "INSERT INTO sleep_metrics AS m (day, oura_id, score, contributor_deep_sleep, contributor_efficiency, contributor_latency,
                 contributor_rem_sleep, contributor_restfulness, contributor_timing, contributor_total_sleep)
             SELECT * FROM UNNEST($1::date[], $2::text[], $3::int2[], $4::int2[], $5::int2[], $6::int2[], $7::int2[], $8::int2[], $9::int2[], $10::int2[])
             ON CONFLICT (day) DO UPDATE SET oura_id = COALESCE(EXCLUDED.oura_id, m.oura_id), score = COALESCE(EXCLUDED.score, m.score),
               contributor_deep_sleep = COALESCE(EXCLUDED.contributor_deep_sleep, m.contributor_deep_sleep),
               contributor_efficiency = COALESCE(EXCLUDED.contributor_efficiency, m.contributor_efficiency),
               contributor_latency = COALESCE(EXCLUDED.contributor_latency, m.contributor_latency),
               contributor_rem_sleep = COALESCE(EXCLUDED.contributor_rem_sleep, m.contributor_rem_sleep),
               contributor_restfulness = COALESCE(EXCLUDED.contributor_restfulness, m.contributor_restfulness),
               contributor_timing = COALESCE(EXCLUDED.contributor_timing, m.contributor_timing),
               contributor_total_sleep = COALESCE(EXCLUDED.contributor_total_sleep, m.contributor_total_sleep),
               updated_at = now()",
            fresh.sleep_metrics,
        ))
        .bind(d.iter().map(|(x, _)| x.day).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.id.as_deref()).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.score).collect::<Vec<_>>())
        .bind(k(|c| c.deep_sleep))
        .bind(k(|c| c.efficiency))
        .bind(k(|c| c.latency))
        .bind(k(|c| c.rem_sleep))
        .bind(k(|c| c.restfulness))
        .bind(k(|c| c.timing))
        .bind(k(|c| c.total_sleep))
        .execute(&mut *c)
        .await?;
    }

    if !p.sleep.is_empty() {
        let mut d: Vec<&SleepPeriodDoc> = p.sleep.iter().map(|(x, _)| x).collect();
        d.sort_by(|a, b| a.id.cmp(&b.id));
        d.dedup_by(|a, b| a.id == b.id);
        sqlx::query(&upsert(
            "INSERT INTO sleep_periods AS s (oura_id, day, type, period, bedtime_start, bedtime_end, time_in_bed_seconds, total_sleep_seconds,
                 deep_sleep_seconds, light_sleep_seconds, rem_sleep_seconds, awake_seconds, efficiency, latency_seconds, average_hrv,
                 average_heart_rate, lowest_heart_rate, average_breath, restless_periods, readiness_score, sleep_phase_5_min, heart_rate, hrv)
             SELECT t.id, t.day, t.type, t.period, t.bs, t.be, t.tib, t.total, t.deep, t.light, t.rem, t.awake, t.eff, t.lat, t.hrv_avg,
                    t.hr_avg, t.hr_low, t.breath, t.restless, t.readiness, t.phases, t.hr::jsonb, t.hrv::jsonb
             FROM UNNEST($1::text[], $2::date[], $3::text[], $4::int2[], $5::timestamptz[], $6::timestamptz[], $7::int4[], $8::int4[],
                 $9::int4[], $10::int4[], $11::int4[], $12::int4[], $13::int2[], $14::int4[], $15::float4[], $16::float4[], $17::int2[],
                 $18::float4[], $19::int4[], $20::int2[], $21::text[], $22::text[], $23::text[])
               AS t(id, day, type, period, bs, be, tib, total, deep, light, rem, awake, eff, lat, hrv_avg, hr_avg, hr_low, breath, restless,
                    readiness, phases, hr, hrv)
             ON CONFLICT (oura_id) DO UPDATE SET day = EXCLUDED.day, type = COALESCE(EXCLUDED.type, s.type),
               period = COALESCE(EXCLUDED.period, s.period), bedtime_start = EXCLUDED.bedtime_start, bedtime_end = EXCLUDED.bedtime_end,
               time_in_bed_seconds = COALESCE(EXCLUDED.time_in_bed_seconds, s.time_in_bed_seconds),
               total_sleep_seconds = COALESCE(EXCLUDED.total_sleep_seconds, s.total_sleep_seconds),
               deep_sleep_seconds = COALESCE(EXCLUDED.deep_sleep_seconds, s.deep_sleep_seconds),
               light_sleep_seconds = COALESCE(EXCLUDED.light_sleep_seconds, s.light_sleep_seconds),
               rem_sleep_seconds = COALESCE(EXCLUDED.rem_sleep_seconds, s.rem_sleep_seconds),
               awake_seconds = COALESCE(EXCLUDED.awake_seconds, s.awake_seconds),
               efficiency = COALESCE(EXCLUDED.efficiency, s.efficiency),
               latency_seconds = COALESCE(EXCLUDED.latency_seconds, s.latency_seconds),
               average_hrv = COALESCE(EXCLUDED.average_hrv, s.average_hrv),
               average_heart_rate = COALESCE(EXCLUDED.average_heart_rate, s.average_heart_rate),
               lowest_heart_rate = COALESCE(EXCLUDED.lowest_heart_rate, s.lowest_heart_rate),
               average_breath = COALESCE(EXCLUDED.average_breath, s.average_breath),
               restless_periods = COALESCE(EXCLUDED.restless_periods, s.restless_periods),
               readiness_score = COALESCE(EXCLUDED.readiness_score, s.readiness_score),
               sleep_phase_5_min = COALESCE(EXCLUDED.sleep_phase_5_min, s.sleep_phase_5_min),
               heart_rate = COALESCE(EXCLUDED.heart_rate, s.heart_rate), hrv = COALESCE(EXCLUDED.hrv, s.hrv), updated_at = now()",
            fresh.sleep_periods,
        ))
        .bind(d.iter().map(|x| x.id.as_str()).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.day).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.kind.as_deref()).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.period).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.bedtime_start.to_utc()).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.bedtime_end.to_utc()).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.time_in_bed).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.total_sleep_duration).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.deep_sleep_duration).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.light_sleep_duration).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.rem_sleep_duration).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.awake_time).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.efficiency).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.latency).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.average_hrv).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.average_heart_rate).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.lowest_heart_rate).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.average_breath).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.restless_periods).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.readiness.as_ref().and_then(|r| r.score)).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.sleep_phase_5_min.as_deref()).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.heart_rate.map(RawValue::get)).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.hrv.map(RawValue::get)).collect::<Vec<_>>())
        .execute(&mut *c)
        .await?;
        // The day's night for the daily table: its longest long_sleep period,
        // chosen among the *stored* periods — a batch without the night
        // leaves the night that is stored.
        let mut days: Vec<NaiveDate> = d.iter().map(|x| x.day).collect();
        days.sort();
        days.dedup();
        sqlx::query(
            "INSERT INTO sleep_metrics AS m (day, sleep_period_id, total_sleep_seconds, deep_sleep_seconds, light_sleep_seconds,
                 rem_sleep_seconds, efficiency, latency_seconds, average_hrv, lowest_heart_rate, time_in_bed_seconds, bedtime_start, bedtime_end)
             SELECT DISTINCT ON (p.day) p.day, p.oura_id, p.total_sleep_seconds, p.deep_sleep_seconds, p.light_sleep_seconds,
                 p.rem_sleep_seconds, p.efficiency, p.latency_seconds, p.average_hrv, p.lowest_heart_rate, p.time_in_bed_seconds,
                 p.bedtime_start, p.bedtime_end
             FROM sleep_periods p
             WHERE p.day = ANY($1::date[]) AND (p.type = 'long_sleep' OR p.type IS NULL)
             ORDER BY p.day, p.total_sleep_seconds DESC NULLS LAST, p.oura_id
             ON CONFLICT (day) DO UPDATE SET sleep_period_id = EXCLUDED.sleep_period_id,
               total_sleep_seconds = COALESCE(EXCLUDED.total_sleep_seconds, m.total_sleep_seconds),
               deep_sleep_seconds = COALESCE(EXCLUDED.deep_sleep_seconds, m.deep_sleep_seconds),
               light_sleep_seconds = COALESCE(EXCLUDED.light_sleep_seconds, m.light_sleep_seconds),
               rem_sleep_seconds = COALESCE(EXCLUDED.rem_sleep_seconds, m.rem_sleep_seconds),
               efficiency = COALESCE(EXCLUDED.efficiency, m.efficiency),
               latency_seconds = COALESCE(EXCLUDED.latency_seconds, m.latency_seconds),
               average_hrv = COALESCE(EXCLUDED.average_hrv, m.average_hrv),
               lowest_heart_rate = COALESCE(EXCLUDED.lowest_heart_rate, m.lowest_heart_rate),
               time_in_bed_seconds = COALESCE(EXCLUDED.time_in_bed_seconds, m.time_in_bed_seconds),
               bedtime_start = EXCLUDED.bedtime_start, bedtime_end = EXCLUDED.bedtime_end, updated_at = now()",
        )
        .bind(&days)
        .execute(&mut *c)
        .await?;
    }

    if !p.daily_activity.is_empty() {
        let d = &p.daily_activity;
        let active = |x: &ActivityDoc| match (x.high_activity_time, x.medium_activity_time) {
            (None, None) => None,
            (h, m) => Some(h.unwrap_or(0) + m.unwrap_or(0)),
        };
        sqlx::query(&upsert(
            "INSERT INTO activity_metrics AS m (day, oura_id, score, steps, active_calories, total_calories, active_seconds)
             SELECT * FROM UNNEST($1::date[], $2::text[], $3::int2[], $4::int4[], $5::int4[], $6::int4[], $7::int4[])
             ON CONFLICT (day) DO UPDATE SET oura_id = COALESCE(EXCLUDED.oura_id, m.oura_id), score = COALESCE(EXCLUDED.score, m.score),
               steps = COALESCE(EXCLUDED.steps, m.steps), active_calories = COALESCE(EXCLUDED.active_calories, m.active_calories),
               total_calories = COALESCE(EXCLUDED.total_calories, m.total_calories),
               active_seconds = COALESCE(EXCLUDED.active_seconds, m.active_seconds), updated_at = now()",
            fresh.activity_metrics,
        ))
        .bind(d.iter().map(|(x, _)| x.day).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.id.as_deref()).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.score).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.steps).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.active_calories).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.total_calories).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| active(x)).collect::<Vec<_>>())
        .execute(&mut *c)
        .await?;
    }

    if !p.daily_readiness.is_empty() {
        let d = &p.daily_readiness;
        sqlx::query(&upsert(
            "INSERT INTO readiness_metrics AS m (day, oura_id, score, temperature_deviation, resting_heart_rate_score, hrv_balance_score)
             SELECT * FROM UNNEST($1::date[], $2::text[], $3::int2[], $4::float4[], $5::int2[], $6::int2[])
             ON CONFLICT (day) DO UPDATE SET oura_id = COALESCE(EXCLUDED.oura_id, m.oura_id), score = COALESCE(EXCLUDED.score, m.score),
               temperature_deviation = COALESCE(EXCLUDED.temperature_deviation, m.temperature_deviation),
               resting_heart_rate_score = COALESCE(EXCLUDED.resting_heart_rate_score, m.resting_heart_rate_score),
               hrv_balance_score = COALESCE(EXCLUDED.hrv_balance_score, m.hrv_balance_score), updated_at = now()",
            fresh.readiness_metrics,
        ))
        .bind(d.iter().map(|(x, _)| x.day).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.id.as_deref()).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.score).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.temperature_deviation).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.contributors.as_ref().and_then(|c| c.resting_heart_rate)).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.contributors.as_ref().and_then(|c| c.hrv_balance)).collect::<Vec<_>>())
        .execute(&mut *c)
        .await?;
    }

    if !p.heartrate.is_empty() {
        store_heart_rate(c, &p.heartrate, fast).await?;
    }

    if !p.workout.is_empty() {
        let mut d: Vec<&WorkoutDoc> = p.workout.iter().map(|(x, _)| x).collect();
        d.sort_by(|a, b| a.id.cmp(&b.id));
        d.dedup_by(|a, b| a.id == b.id);
        sqlx::query(&upsert(
            "INSERT INTO workouts AS w (oura_id, day, activity, intensity, source, label, calories, distance_meters, start_datetime, end_datetime)
             SELECT * FROM UNNEST($1::text[], $2::date[], $3::text[], $4::text[], $5::text[], $6::text[], $7::float4[], $8::float4[],
                 $9::timestamptz[], $10::timestamptz[])
             ON CONFLICT (oura_id) DO UPDATE SET day = EXCLUDED.day, activity = EXCLUDED.activity,
               intensity = COALESCE(EXCLUDED.intensity, w.intensity), source = COALESCE(EXCLUDED.source, w.source),
               label = COALESCE(EXCLUDED.label, w.label), calories = COALESCE(EXCLUDED.calories, w.calories),
               distance_meters = COALESCE(EXCLUDED.distance_meters, w.distance_meters),
               start_datetime = EXCLUDED.start_datetime, end_datetime = EXCLUDED.end_datetime, updated_at = now()",
            fresh.workouts,
        ))
        .bind(d.iter().map(|x| x.id.as_str()).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.day).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.activity.as_str()).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.intensity.as_deref()).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.source.as_deref()).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.label.as_deref()).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.calories).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.distance).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.start_datetime.to_utc()).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.end_datetime.to_utc()).collect::<Vec<_>>())
        .execute(&mut *c)
        .await?;
    }

    if !p.session.is_empty() {
        let mut d: Vec<&SessionDoc> = p.session.iter().map(|(x, _)| x).collect();
        d.sort_by(|a, b| a.id.cmp(&b.id));
        d.dedup_by(|a, b| a.id == b.id);
        sqlx::query(&upsert(
            "INSERT INTO sessions AS s (oura_id, day, type, mood, start_datetime, end_datetime, heart_rate, hrv)
             SELECT t.id, t.day, t.type, t.mood, t.s, t.e, t.hr::jsonb, t.hrv::jsonb
             FROM UNNEST($1::text[], $2::date[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::text[], $8::text[])
               AS t(id, day, type, mood, s, e, hr, hrv)
             ON CONFLICT (oura_id) DO UPDATE SET day = EXCLUDED.day, type = EXCLUDED.type, mood = COALESCE(EXCLUDED.mood, s.mood),
               start_datetime = EXCLUDED.start_datetime, end_datetime = EXCLUDED.end_datetime,
               heart_rate = COALESCE(EXCLUDED.heart_rate, s.heart_rate), hrv = COALESCE(EXCLUDED.hrv, s.hrv), updated_at = now()",
            fresh.sessions,
        ))
        .bind(d.iter().map(|x| x.id.as_str()).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.day).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.kind.as_str()).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.mood.as_deref()).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.start_datetime.to_utc()).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.end_datetime.to_utc()).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.heart_rate.map(RawValue::get)).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.heart_rate_variability.map(RawValue::get)).collect::<Vec<_>>())
        .execute(&mut *c)
        .await?;
    }

    if !p.daily_spo2.is_empty() {
        let d = &p.daily_spo2;
        sqlx::query(&upsert(
            "INSERT INTO spo2_metrics AS m (day, oura_id, spo2_average, breathing_disturbance_index)
             SELECT * FROM UNNEST($1::date[], $2::text[], $3::float4[], $4::int2[])
             ON CONFLICT (day) DO UPDATE SET oura_id = COALESCE(EXCLUDED.oura_id, m.oura_id),
               spo2_average = COALESCE(EXCLUDED.spo2_average, m.spo2_average),
               breathing_disturbance_index = COALESCE(EXCLUDED.breathing_disturbance_index, m.breathing_disturbance_index),
               updated_at = now()",
            fresh.spo2_metrics,
        ))
        .bind(d.iter().map(|(x, _)| x.day).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.id.as_deref()).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.spo2_percentage.as_ref().and_then(|s| s.average)).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.breathing_disturbance_index).collect::<Vec<_>>())
        .execute(&mut *c)
        .await?;
    }

    if !p.daily_stress.is_empty() {
        let d = &p.daily_stress;
        sqlx::query(&upsert(
            "INSERT INTO stress_metrics AS m (day, oura_id, stress_high_seconds, recovery_high_seconds, day_summary)
             SELECT * FROM UNNEST($1::date[], $2::text[], $3::int4[], $4::int4[], $5::text[])
             ON CONFLICT (day) DO UPDATE SET oura_id = COALESCE(EXCLUDED.oura_id, m.oura_id),
               stress_high_seconds = COALESCE(EXCLUDED.stress_high_seconds, m.stress_high_seconds),
               recovery_high_seconds = COALESCE(EXCLUDED.recovery_high_seconds, m.recovery_high_seconds),
               day_summary = COALESCE(EXCLUDED.day_summary, m.day_summary), updated_at = now()",
            fresh.stress_metrics,
        ))
        .bind(d.iter().map(|(x, _)| x.day).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.id.as_deref()).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.stress_high).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.recovery_high).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.day_summary.as_deref()).collect::<Vec<_>>())
        .execute(&mut *c)
        .await?;
    }

    if !p.daily_resilience.is_empty() {
        let d = &p.daily_resilience;
        let k = |f: fn(&ResilienceContributors) -> Option<f32>| -> Vec<Option<f32>> {
            d.iter().map(|(x, _)| x.contributors.as_ref().and_then(f)).collect()
        };
        sqlx::query(&upsert(
            "INSERT INTO resilience_metrics AS m (day, oura_id, level, sleep_recovery, daytime_recovery, stress)
             SELECT * FROM UNNEST($1::date[], $2::text[], $3::text[], $4::float4[], $5::float4[], $6::float4[])
             ON CONFLICT (day) DO UPDATE SET oura_id = COALESCE(EXCLUDED.oura_id, m.oura_id), level = COALESCE(EXCLUDED.level, m.level),
               sleep_recovery = COALESCE(EXCLUDED.sleep_recovery, m.sleep_recovery),
               daytime_recovery = COALESCE(EXCLUDED.daytime_recovery, m.daytime_recovery),
               stress = COALESCE(EXCLUDED.stress, m.stress), updated_at = now()",
            fresh.resilience_metrics,
        ))
        .bind(d.iter().map(|(x, _)| x.day).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.id.as_deref()).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.level.as_deref()).collect::<Vec<_>>())
        .bind(k(|c| c.sleep_recovery))
        .bind(k(|c| c.daytime_recovery))
        .bind(k(|c| c.stress))
        .execute(&mut *c)
        .await?;
    }

    if !p.daily_cardiovascular_age.is_empty() {
        let d = &p.daily_cardiovascular_age;
        sqlx::query(&upsert(
            "INSERT INTO cardiovascular_age_metrics AS m (day, oura_id, vascular_age)
             SELECT * FROM UNNEST($1::date[], $2::text[], $3::int2[])
             ON CONFLICT (day) DO UPDATE SET oura_id = COALESCE(EXCLUDED.oura_id, m.oura_id),
               vascular_age = COALESCE(EXCLUDED.vascular_age, m.vascular_age), updated_at = now()",
            fresh.cardiovascular_age_metrics,
        ))
        .bind(d.iter().map(|(x, _)| x.day).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.id.as_deref()).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.vascular_age).collect::<Vec<_>>())
        .execute(&mut *c)
        .await?;
    }

    if !p.vo2_max.is_empty() {
        // One typed row per day: the day's latest measurement.
        let mut d: Vec<&Vo2MaxDoc> = p.vo2_max.iter().map(|(x, _)| x).collect();
        d.sort_by(|a, b| (a.day, b.timestamp).cmp(&(b.day, a.timestamp)));
        d.dedup_by(|a, b| a.day == b.day);
        sqlx::query(&upsert(
            "INSERT INTO vo2_max_metrics AS m (day, oura_id, measured_at, vo2_max)
             SELECT * FROM UNNEST($1::date[], $2::text[], $3::timestamptz[], $4::float4[])
             ON CONFLICT (day) DO UPDATE SET oura_id = COALESCE(EXCLUDED.oura_id, m.oura_id),
               measured_at = COALESCE(EXCLUDED.measured_at, m.measured_at), vo2_max = COALESCE(EXCLUDED.vo2_max, m.vo2_max),
               updated_at = now()",
            fresh.vo2_max_metrics,
        ))
        .bind(d.iter().map(|x| x.day).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.id.as_deref()).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.timestamp.map(|t| t.to_utc())).collect::<Vec<_>>())
        .bind(d.iter().map(|x| x.vo2_max).collect::<Vec<_>>())
        .execute(&mut *c)
        .await?;
    }

    tx.commit().await?;
    Ok(())
}

/// Heart-rate samples, sorted and deduplicated by the caller.
async fn store_heart_rate(c: &mut sqlx::PgConnection, h: &[HeartRateSample<'_>], fast: bool) -> Result<(), AppError> {
    // Samples are the volume stream. A batch covering time nothing is
    // stored for yet (a backfill, a first load) takes a plain insert;
    // ON CONFLICT's per-row speculative insertion costs as much again
    // (docs/performance.md). Otherwise — the overlap re-fetched every
    // run — upsert: a sample re-sent with the same time and source is
    // the same sample. Should two writers race on a new range (the
    // CronJob forbids concurrent runs), the loser fails on the primary
    // key, rolls back whole, and is stored again with upserts.
    let (first, last) = (h[0].timestamp, h[h.len() - 1].timestamp);
    let stored: bool = !fast
        || sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM heart_rate_samples WHERE ts BETWEEN $1 AND $2)")
            .bind(first)
            .bind(last)
            .fetch_one(&mut *c)
            .await?;
    if !stored {
        return copy_heart_rate(c, h).await;
    }
    let ts: Vec<DateTime<Utc>> = h.iter().map(|x| x.timestamp).collect();
    let source: Vec<&str> = h.iter().map(|x| x.source.as_ref()).collect();
    let bpm: Vec<i16> = h.iter().map(|x| x.bpm).collect();
    sqlx::query(
        "INSERT INTO heart_rate_samples (ts, source, bpm) SELECT * FROM UNNEST($1::timestamptz[], $2::text[], $3::int2[])
         ON CONFLICT (ts, source) DO UPDATE SET bpm = EXCLUDED.bpm WHERE heart_rate_samples.bpm IS DISTINCT FROM EXCLUDED.bpm",
    )
    .bind(&ts)
    .bind(&source)
    .bind(&bpm)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Samples of a fresh time range by `COPY … (FORMAT binary)`: PostgreSQL
/// stores them with its multi-row insert, where `INSERT … SELECT FROM
/// UNNEST` inserts row by row (docs/performance.md).
async fn copy_heart_rate(c: &mut sqlx::PgConnection, h: &[HeartRateSample<'_>]) -> Result<(), AppError> {
    let mut copy = c.copy_in_raw("COPY heart_rate_samples (ts, source, bpm) FROM STDIN (FORMAT binary)").await?;
    match copy.send(binary_copy(h)).await {
        Ok(_) => {
            copy.finish().await?;
            Ok(())
        }
        Err(e) => {
            copy.abort("the batch could not be sent").await.ok();
            Err(e.into())
        }
    }
}

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// The samples in PostgreSQL's binary `COPY` format (documented with the
/// `COPY` command): a signature, flags and header extension, then per row
/// its field count and each field's length and binary value, then -1.
fn binary_copy(h: &[HeartRateSample<'_>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(21 + h.len() * 40);
    out.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
    out.extend_from_slice(&0i32.to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes());
    for x in h {
        out.extend_from_slice(&3i16.to_be_bytes());
        // timestamptz: int8 microseconds since 2000-01-01 UTC.
        out.extend_from_slice(&8i32.to_be_bytes());
        out.extend_from_slice(&(x.timestamp.timestamp_micros() - PG_EPOCH_MICROS).to_be_bytes());
        // text: its UTF-8 bytes (validated: at most 32 characters).
        out.extend_from_slice(&(x.source.len() as i32).to_be_bytes());
        out.extend_from_slice(x.source.as_bytes());
        out.extend_from_slice(&2i32.to_be_bytes());
        out.extend_from_slice(&x.bpm.to_be_bytes());
    }
    out.extend_from_slice(&(-1i16).to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rejects_out_of_range_with_the_field_path() {
        let body = json!({ "daily_sleep": [{ "id": "a", "day": "2026-11-01", "score": 140 }] }).to_string();
        let p = parse(body.as_bytes()).unwrap();
        let e = validate(&p).unwrap_err();
        assert_eq!(e.to_string(), "daily_sleep[0].score: 140 is outside 0..=100");
        assert!(matches!(e, AppError::InvalidDocument { collection, .. } if collection == "daily_sleep"));
    }

    #[test]
    fn rejects_unknown_collections_and_bad_types() {
        let e = parse(br#"{ "steps": [] }"#).unwrap_err().to_string();
        assert!(e.contains("unknown field `steps`, expected one of `daily_sleep`, `sleep`"), "{e}");
        let e = parse(br#"{ "daily_activity": [{ "id": "a", "day": "yesterday" }] }"#).unwrap_err().to_string();
        assert!(e.starts_with("daily_activity[0]: "), "{e}");
        let e = parse(br#"{ "heartrate": [{ "bpm": 60, "source": "awake", "timestamp": "2026-11-01T00:00:00Z" }, { "bpm": "fast" }] }"#)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("heartrate[1].bpm: invalid type"), "{e}");
        assert!(matches!(parse(b"{ \"sleep\": [").unwrap_err(), AppError::BadRequest(_)));
        let e = parse(br#"{ "sleep": [{ "id": "p", "day": "2026-11-01", "bedtime_start": "late", "bedtime_end": "2026-11-01T07:00:00+03:00" }] }"#)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("sleep[0]: "), "{e}");
    }

    #[test]
    fn trailing_characters_and_sample_times() {
        // The value parses, what follows it does not: 400, with where.
        let e = parse(br#"{ "heartrate": [] } x"#).unwrap_err();
        assert!(
            matches!(&e, AppError::BadRequest(m) if m == "malformed JSON: trailing characters at line 1 column 21"),
            "{e}"
        );
        // Strict RFC 3339, the lenient form, and cut to the microsecond
        // (two samples a nanosecond apart are one sample, as stored).
        let body = br#"{ "heartrate": [
            { "bpm": 60, "source": "awake", "timestamp": "1999-12-31T23:59:59.9999999Z" },
            { "bpm": 60, "source": "awake", "timestamp": "1999-12-31 23:59:59.9999991+00:00" },
            { "bpm": 61, "source": "awake", "timestamp": "2026-11-01T10:05:00+03:00" }
        ] }"#;
        let p = parse(body).unwrap();
        let t: Vec<String> = p.heartrate.iter().map(|h| h.timestamp.to_rfc3339()).collect();
        assert_eq!(
            t,
            ["1999-12-31T23:59:59.999999+00:00", "1999-12-31T23:59:59.999999+00:00", "2026-11-01T07:05:00+00:00"]
        );
        let e = parse(br#"{ "heartrate": [{ "bpm": 60, "source": "awake", "timestamp": "yesterday" }] }"#).unwrap_err();
        assert!(e.to_string().starts_with("heartrate[0].timestamp: "), "{e}");
    }

    #[test]
    fn rejects_a_day_twice_but_not_two_periods_of_a_day() {
        let body =
            json!({ "daily_readiness": [{ "id": "a", "day": "2026-11-01" }, { "id": "b", "day": "2026-11-01" }] });
        let body = body.to_string();
        let p = parse(body.as_bytes()).unwrap();
        assert_eq!(validate(&p).unwrap_err().to_string(), "daily_readiness: day 2026-11-01 appears twice in the batch");
        let body = json!({ "sleep": [
            { "id": "n", "day": "2026-11-01", "bedtime_start": "2026-10-31T23:00:00+03:00", "bedtime_end": "2026-11-01T07:00:00+03:00" },
            { "id": "nap", "day": "2026-11-01", "bedtime_start": "2026-11-01T14:00:00+03:00", "bedtime_end": "2026-11-01T14:40:00+03:00" }
        ] })
        .to_string();
        validate(&parse(body.as_bytes()).unwrap()).unwrap();
    }

    #[test]
    fn a_collector_report_names_known_collections_only() {
        let body = json!({ "collector": { "outcome": "partial", "failures": [{ "collection": "heartrate", "reason": "scope" }] } });
        validate(&parse(body.to_string().as_bytes()).unwrap()).unwrap();
        let body = json!({ "collector": { "failures": [{ "collection": "weight", "reason": "scope" }] } });
        assert!(validate(&parse(body.to_string().as_bytes()).unwrap()).is_err());
    }
}
