//! `POST /api/v1/ingest`: a batch of sleep, activity, readiness and
//! heart-rate documents (Oura API v2 field names). Everything is validated
//! before anything is written; then each kind is upserted in one set-based
//! statement (UNNEST of column arrays), all in one transaction, so a batch
//! is stored completely or not at all, and sending it twice changes nothing.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::AppState;
use crate::error::AppError;
use myhealth_common::telemetry::timed;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/ingest", post(ingest))
}

/// Sleep of one day: the score from `daily_sleep`, durations and HRV from
/// the night's long `sleep` period (merged by the collector).
#[derive(Debug, Deserialize)]
pub struct SleepDoc {
    pub id: String,
    pub day: NaiveDate,
    pub score: Option<i16>,
    pub total_sleep_duration: Option<i32>,
    pub deep_sleep_duration: Option<i32>,
    pub light_sleep_duration: Option<i32>,
    pub rem_sleep_duration: Option<i32>,
    pub efficiency: Option<i16>,
    pub latency: Option<i32>,
    pub average_hrv: Option<f32>,
    pub lowest_heart_rate: Option<i16>,
}

/// `daily_activity`.
#[derive(Debug, Deserialize)]
pub struct ActivityDoc {
    pub id: String,
    pub day: NaiveDate,
    pub score: Option<i16>,
    pub steps: Option<i32>,
    pub active_calories: Option<i32>,
    pub total_calories: Option<i32>,
    pub high_activity_time: Option<i32>,
    pub medium_activity_time: Option<i32>,
    pub low_activity_time: Option<i32>,
}

#[derive(Debug, Deserialize, Default)]
pub struct ReadinessContributors {
    pub resting_heart_rate: Option<i16>,
    pub hrv_balance: Option<i16>,
}

/// `daily_readiness`.
#[derive(Debug, Deserialize)]
pub struct ReadinessDoc {
    pub id: String,
    pub day: NaiveDate,
    pub score: Option<i16>,
    pub temperature_deviation: Option<f32>,
    #[serde(default)]
    pub contributors: ReadinessContributors,
}

/// One `heartrate` sample.
#[derive(Debug, Deserialize)]
pub struct HeartRateSample {
    pub bpm: i16,
    pub source: String,
    pub timestamp: DateTime<Utc>,
}

/// Rows stored per kind.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub sleep: usize,
    pub activity: usize,
    pub readiness: usize,
    pub heart_rate: usize,
}

/// A batch as it is stored: typed documents, each daily one with its raw
/// JSON text (stored as JSONB as sent, without a round trip through `Value`).
#[derive(Debug)]
struct Parsed<'a> {
    sleep: Vec<(SleepDoc, &'a str)>,
    activity: Vec<(ActivityDoc, &'a str)>,
    readiness: Vec<(ReadinessDoc, &'a str)>,
    heart_rate: Vec<HeartRateSample>,
    collector: Option<CollectorStats>,
}

/// The body: daily documents are kept raw until typed one by one (so an
/// error names its index); samples are typed straight away.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body<'a> {
    #[serde(default, borrow)]
    sleep: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    activity: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    readiness: Vec<&'a RawValue>,
    #[serde(default)]
    heart_rate: Vec<HeartRateSample>,
    /// What the collector's run asked of Oura (exported as metrics: the
    /// collector is a CronJob with nothing to scrape).
    #[serde(default)]
    collector: Option<CollectorStats>,
}

#[derive(Debug, Default, Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
struct CollectorStats {
    #[serde(default)]
    oura_requests: u64,
    #[serde(default)]
    oura_rate_limited: u64,
}

fn typed<'a, T: serde::de::DeserializeOwned>(
    kind: &str,
    raw: Vec<&'a RawValue>,
) -> Result<Vec<(T, &'a str)>, AppError> {
    raw.into_iter()
        .enumerate()
        .map(|(i, r)| {
            serde_json::from_str::<T>(r.get())
                .map(|t| (t, r.get()))
                .map_err(|e| AppError::Invalid(format!("{kind}[{i}]: {e}")))
        })
        .collect()
}

fn parse(bytes: &[u8]) -> Result<Parsed<'_>, AppError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let body: Body = serde_path_to_error::deserialize(de).map_err(|e| {
        let (path, inner) = (e.path().to_string(), e.into_inner());
        let at = if path == "." { String::new() } else { format!("{path}: ") };
        match inner.classify() {
            serde_json::error::Category::Data => AppError::Invalid(format!("{at}{inner}")),
            _ => AppError::BadRequest(format!("malformed JSON: {inner}")),
        }
    })?;
    Ok(Parsed {
        sleep: typed("sleep", body.sleep)?,
        activity: typed("activity", body.activity)?,
        readiness: typed("readiness", body.readiness)?,
        heart_rate: body.heart_rate,
        collector: body.collector,
    })
}

fn range<T: PartialOrd + std::fmt::Display + Copy>(
    at: &str,
    field: &str,
    v: Option<T>,
    lo: T,
    hi: T,
) -> Result<(), AppError> {
    match v {
        Some(x) if x < lo || x > hi => Err(AppError::Invalid(format!("{at}.{field}: {x} is outside {lo}..={hi}"))),
        _ => Ok(()),
    }
}

fn day_ok(at: &str, day: NaiveDate) -> Result<(), AppError> {
    let today = Utc::now().date_naive();
    let earliest = NaiveDate::from_ymd_opt(2015, 1, 1).expect("valid date");
    if day < earliest || day > today + chrono::Days::new(1) {
        return Err(AppError::Invalid(format!("{at}.day: {day} is not a plausible Oura day")));
    }
    Ok(())
}

const DAY: i32 = 86_400;

fn validate(p: &Parsed) -> Result<(), AppError> {
    for (i, (d, _)) in p.sleep.iter().enumerate() {
        let at = format!("sleep[{i}]");
        day_ok(&at, d.day)?;
        range(&at, "score", d.score, 0, 100)?;
        for (f, v) in [
            ("total_sleep_duration", d.total_sleep_duration),
            ("deep_sleep_duration", d.deep_sleep_duration),
            ("light_sleep_duration", d.light_sleep_duration),
            ("rem_sleep_duration", d.rem_sleep_duration),
            ("latency", d.latency),
        ] {
            range(&at, f, v, 0, DAY)?;
        }
        range(&at, "efficiency", d.efficiency, 0, 100)?;
        range(&at, "average_hrv", d.average_hrv, 0.0, 500.0)?;
        range(&at, "lowest_heart_rate", d.lowest_heart_rate, 20, 250)?;
    }
    for (i, (d, _)) in p.activity.iter().enumerate() {
        let at = format!("activity[{i}]");
        day_ok(&at, d.day)?;
        range(&at, "score", d.score, 0, 100)?;
        range(&at, "steps", d.steps, 0, 500_000)?;
        range(&at, "active_calories", d.active_calories, 0, 50_000)?;
        range(&at, "total_calories", d.total_calories, 0, 50_000)?;
        for (f, v) in [
            ("high_activity_time", d.high_activity_time),
            ("medium_activity_time", d.medium_activity_time),
            ("low_activity_time", d.low_activity_time),
        ] {
            range(&at, f, v, 0, DAY)?;
        }
    }
    for (i, (d, _)) in p.readiness.iter().enumerate() {
        let at = format!("readiness[{i}]");
        day_ok(&at, d.day)?;
        range(&at, "score", d.score, 0, 100)?;
        range(&at, "temperature_deviation", d.temperature_deviation, -10.0, 10.0)?;
        range(&at, "contributors.resting_heart_rate", d.contributors.resting_heart_rate, 0, 100)?;
        range(&at, "contributors.hrv_balance", d.contributors.hrv_balance, 0, 100)?;
    }
    for (i, h) in p.heart_rate.iter().enumerate() {
        range(&format!("heart_rate[{i}]"), "bpm", Some(h.bpm), 20, 250)?;
        if h.source.is_empty() || h.source.len() > 32 {
            return Err(AppError::Invalid(format!("heart_rate[{i}].source: must be 1-32 characters")));
        }
    }
    // One row per key: a batch that says two things about one day is ambiguous.
    let dup = |kind: &str, days: Vec<NaiveDate>| -> Result<(), AppError> {
        let mut seen = std::collections::BTreeSet::new();
        match days.into_iter().find(|d| !seen.insert(*d)) {
            Some(d) => Err(AppError::Invalid(format!("{kind}: day {d} appears twice in the batch"))),
            None => Ok(()),
        }
    };
    dup("sleep", p.sleep.iter().map(|(d, _)| d.day).collect())?;
    dup("activity", p.activity.iter().map(|(d, _)| d.day).collect())?;
    dup("readiness", p.readiness.iter().map(|(d, _)| d.day).collect())?;
    Ok(())
}

async fn ingest(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Json<Counts>, AppError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")));
    if !json {
        return Err(AppError::NotJson);
    }
    let mut p = parse(&body)?;
    validate(&p)?;
    // A sample sent twice in one batch is one sample (and one row may only be upserted once per statement).
    p.heart_rate.sort_by(|a, b| (a.timestamp, &a.source).cmp(&(b.timestamp, &b.source)));
    p.heart_rate.dedup_by(|a, b| a.timestamp == b.timestamp && a.source == b.source);
    let counts = timed("ingest", store(&s.pool, &p)).await?;
    if let Some(c) = p.collector {
        myhealth_common::metrics::counter!("oura_api_requests_total").increment(c.oura_requests);
        myhealth_common::metrics::counter!("oura_api_rate_limited_total").increment(c.oura_rate_limited);
    }
    myhealth_common::metrics::counter!("ingested_documents_total", "kind" => "sleep").increment(counts.sleep as u64);
    myhealth_common::metrics::counter!("ingested_documents_total", "kind" => "activity")
        .increment(counts.activity as u64);
    myhealth_common::metrics::counter!("ingested_documents_total", "kind" => "readiness")
        .increment(counts.readiness as u64);
    myhealth_common::metrics::counter!("ingested_documents_total", "kind" => "heart_rate")
        .increment(counts.heart_rate as u64);
    tracing::info!(
        sleep = counts.sleep,
        activity = counts.activity,
        readiness = counts.readiness,
        heart_rate = counts.heart_rate,
        "stored batch"
    );
    Ok(Json(counts))
}

/// One transaction, one statement per kind.
async fn store(pool: &sqlx::PgPool, p: &Parsed<'_>) -> Result<Counts, AppError> {
    let mut tx = pool.begin().await?;
    if !p.sleep.is_empty() {
        let d = &p.sleep;
        sqlx::query(
            "INSERT INTO sleep_metrics (day, oura_id, score, total_sleep_seconds, deep_sleep_seconds, light_sleep_seconds, rem_sleep_seconds, efficiency, latency_seconds, average_hrv, lowest_heart_rate)
             SELECT * FROM UNNEST($1::date[], $2::text[], $3::int2[], $4::int4[], $5::int4[], $6::int4[], $7::int4[], $8::int2[], $9::int4[], $10::float4[], $11::int2[])
             ON CONFLICT (day) DO UPDATE SET oura_id = EXCLUDED.oura_id, score = EXCLUDED.score, total_sleep_seconds = EXCLUDED.total_sleep_seconds,
               deep_sleep_seconds = EXCLUDED.deep_sleep_seconds, light_sleep_seconds = EXCLUDED.light_sleep_seconds, rem_sleep_seconds = EXCLUDED.rem_sleep_seconds,
               efficiency = EXCLUDED.efficiency, latency_seconds = EXCLUDED.latency_seconds, average_hrv = EXCLUDED.average_hrv,
               lowest_heart_rate = EXCLUDED.lowest_heart_rate, updated_at = now()",
        )
        .bind(d.iter().map(|(x, _)| x.day).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.id.clone()).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.score).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.total_sleep_duration).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.deep_sleep_duration).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.light_sleep_duration).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.rem_sleep_duration).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.efficiency).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.latency).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.average_hrv).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.lowest_heart_rate).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    if !p.activity.is_empty() {
        let d = &p.activity;
        let active = |x: &ActivityDoc| match (x.high_activity_time, x.medium_activity_time) {
            (None, None) => None,
            (h, m) => Some(h.unwrap_or(0) + m.unwrap_or(0)),
        };
        sqlx::query(
            "INSERT INTO activity_metrics (day, oura_id, score, steps, active_calories, total_calories, active_seconds)
             SELECT * FROM UNNEST($1::date[], $2::text[], $3::int2[], $4::int4[], $5::int4[], $6::int4[], $7::int4[])
             ON CONFLICT (day) DO UPDATE SET oura_id = EXCLUDED.oura_id, score = EXCLUDED.score, steps = EXCLUDED.steps,
               active_calories = EXCLUDED.active_calories, total_calories = EXCLUDED.total_calories,
               active_seconds = EXCLUDED.active_seconds, updated_at = now()",
        )
        .bind(d.iter().map(|(x, _)| x.day).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.id.clone()).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.score).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.steps).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.active_calories).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.total_calories).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| active(x)).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    if !p.readiness.is_empty() {
        let d = &p.readiness;
        sqlx::query(
            "INSERT INTO readiness_metrics (day, oura_id, score, temperature_deviation, resting_heart_rate_score, hrv_balance_score)
             SELECT * FROM UNNEST($1::date[], $2::text[], $3::int2[], $4::float4[], $5::int2[], $6::int2[])
             ON CONFLICT (day) DO UPDATE SET oura_id = EXCLUDED.oura_id, score = EXCLUDED.score, temperature_deviation = EXCLUDED.temperature_deviation,
               resting_heart_rate_score = EXCLUDED.resting_heart_rate_score, hrv_balance_score = EXCLUDED.hrv_balance_score, updated_at = now()",
        )
        .bind(d.iter().map(|(x, _)| x.day).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.id.clone()).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.score).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.temperature_deviation).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.contributors.resting_heart_rate).collect::<Vec<_>>())
        .bind(d.iter().map(|(x, _)| x.contributors.hrv_balance).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    if !p.heart_rate.is_empty() {
        let h = &p.heart_rate;
        let ts: Vec<DateTime<Utc>> = h.iter().map(|x| x.timestamp).collect();
        let source: Vec<&str> = h.iter().map(|x| x.source.as_str()).collect();
        let bpm: Vec<i16> = h.iter().map(|x| x.bpm).collect();
        // Samples are the volume stream. A batch covering time nothing is
        // stored for yet (a backfill, a first load) takes a plain insert;
        // ON CONFLICT's per-row speculative insertion costs as much again
        // (docs/performance.md). Otherwise — the overlap re-fetched every
        // run — upsert: a sample re-sent with the same time and source is
        // the same sample. Should two writers race on a new range (the
        // CronJob forbids concurrent runs), the loser fails on the primary
        // key, rolls back whole, and is answered 409 to retry.
        let (first, last) = (ts[0], ts[ts.len() - 1]); // sorted above
        let stored: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM heart_rate_samples WHERE ts BETWEEN $1 AND $2)")
                .bind(first)
                .bind(last)
                .fetch_one(&mut *tx)
                .await?;
        let upsert = if stored {
            " ON CONFLICT (ts, source) DO UPDATE SET bpm = EXCLUDED.bpm WHERE heart_rate_samples.bpm IS DISTINCT FROM EXCLUDED.bpm"
        } else {
            ""
        };
        sqlx::query(&format!(
            "INSERT INTO heart_rate_samples (ts, source, bpm) SELECT * FROM UNNEST($1::timestamptz[], $2::text[], $3::int2[]){upsert}"
        ))
        .bind(&ts)
        .bind(&source)
        .bind(&bpm)
        .execute(&mut *tx)
        .await?;
    }
    // The raw documents, keyed by kind and Oura id.
    let raws: Vec<(&str, &str, NaiveDate, &str)> = p
        .sleep
        .iter()
        .map(|(d, v)| ("sleep", d.id.as_str(), d.day, *v))
        .chain(p.activity.iter().map(|(d, v)| ("activity", d.id.as_str(), d.day, *v)))
        .chain(p.readiness.iter().map(|(d, v)| ("readiness", d.id.as_str(), d.day, *v)))
        .collect();
    if !raws.is_empty() {
        sqlx::query(
            "INSERT INTO raw_documents (kind, oura_id, day, payload)
             SELECT k, id, d, p::jsonb FROM UNNEST($1::text[], $2::text[], $3::date[], $4::text[]) AS t(k, id, d, p)
             ON CONFLICT (kind, oura_id) DO UPDATE SET day = EXCLUDED.day, payload = EXCLUDED.payload, received_at = now()",
        )
        .bind(raws.iter().map(|r| r.0.to_string()).collect::<Vec<_>>())
        .bind(raws.iter().map(|r| r.1.to_string()).collect::<Vec<_>>())
        .bind(raws.iter().map(|r| r.2).collect::<Vec<_>>())
        .bind(raws.iter().map(|r| r.3).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    // Readers that cache (the api-service dashboard) drop their answer when this commits.
    sqlx::query("SELECT pg_notify('myhealth_ingest', '')").execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(Counts {
        sleep: p.sleep.len(),
        activity: p.activity.len(),
        readiness: p.readiness.len(),
        heart_rate: p.heart_rate.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rejects_out_of_range_with_the_field_path() {
        let body = json!({ "sleep": [{ "id": "a", "day": "2026-11-01", "score": 140 }] }).to_string();
        let p = parse(body.as_bytes()).unwrap();
        let e = validate(&p).unwrap_err().to_string();
        assert_eq!(e, "sleep[0].score: 140 is outside 0..=100");
    }

    #[test]
    fn rejects_unknown_kinds_and_bad_types() {
        let e = parse(br#"{ "steps": [] }"#).unwrap_err().to_string();
        assert!(e.contains("unknown field `steps`, expected one of `sleep`, `activity`"), "{e}");
        let e = parse(br#"{ "activity": [{ "id": "a", "day": "yesterday" }] }"#).unwrap_err().to_string();
        assert!(e.starts_with("activity[0]: "), "{e}");
        let e = parse(br#"{ "heart_rate": [{ "bpm": 60, "source": "awake", "timestamp": "2026-11-01T00:00:00Z" }, { "bpm": "fast" }] }"#)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("heart_rate[1].bpm: invalid type"), "{e}");
        assert!(matches!(parse(b"{ \"sleep\": [").unwrap_err(), AppError::BadRequest(_)));
    }

    #[test]
    fn rejects_a_day_twice() {
        let body = json!({ "readiness": [{ "id": "a", "day": "2026-11-01" }, { "id": "b", "day": "2026-11-01" }] });
        let body = body.to_string();
        let p = parse(body.as_bytes()).unwrap();
        assert_eq!(validate(&p).unwrap_err().to_string(), "readiness: day 2026-11-01 appears twice in the batch");
    }
}
