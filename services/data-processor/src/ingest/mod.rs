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
//! The rooms: `body` (the request's shape, parsed and typed), `check` (what
//! a document must satisfy), `daily`, `periods` and `heartrate` (each
//! resource: its documents, checks and typed columns), `table` (the one
//! upsert routine and the `table::Collection` description it reads),
//! `store` (the transaction), `report` (the collector's run report).
//!
//! What is refused, always as a 4xx with a JSON body (never a 500): a body
//! the database could not store (`guard`: nesting, NUL, lone surrogates),
//! malformed JSON (400), a mistyped or implausible document or the same id
//! twice in one collection (422, naming the collection).

mod body;
mod check;
mod daily;
mod heartrate;
mod periods;
mod report;
mod store;
mod table;

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, header};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::error::{AppError, ErrorBody, Json};
use body::{Body, Parsed, parse};
use myhealth_common::telemetry::timed;

pub use report::FAILURE_REASONS;

pub fn router() -> OpenApiRouter<AppState> {
    report::register();
    OpenApiRouter::new().routes(utoipa_axum::routes!(ingest))
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
    let begin = tokio::spawn(store::begin(pool.clone()));
    let parsed = parse(&body);
    scan.await.map_err(|e| AppError::Internal(e.into()))??;
    let mut p = parsed?;
    validate(&p)?;
    heartrate::dedup(&mut p.heartrate);
    let counts = counts(&p);
    if counts.values().any(|n| *n > 0) {
        timed("ingest", store::store(pool, begin, &p)).await?;
    }
    if let Some(c) = &p.collector {
        report::export(c);
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

/// Every collection's documents, then the run report.
fn validate(p: &Parsed) -> Result<(), AppError> {
    for documents in p.collections() {
        documents.validate()?;
    }
    p.collector.as_ref().map_or(Ok(()), report::CollectorReport::validate)
}

/// Documents per collection (heart-rate samples after deduplication).
fn counts(p: &Parsed) -> BTreeMap<&'static str, usize> {
    p.collections().iter().map(|d| (d.name(), d.count())).collect()
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

    #[test]
    fn the_batch_spells_the_collections_as_common_does() {
        // The body's fields (serde), the answer's (`Stored`) and the typed
        // batch's list are second spellings of `oura::COLLECTIONS`.
        let p = parse(b"{}").unwrap();
        let names: Vec<&str> = p.collections().iter().map(|d| d.name()).collect();
        assert_eq!(names, myhealth_common::oura::COLLECTIONS);
        let body: serde_json::Map<String, serde_json::Value> =
            myhealth_common::oura::COLLECTIONS.iter().map(|c| (c.to_string(), json!([]))).collect();
        parse(serde_json::Value::Object(body).to_string().as_bytes()).unwrap();
        let stored = serde_json::to_value(Stored {
            daily_sleep: 0,
            sleep: 0,
            daily_activity: 0,
            daily_readiness: 0,
            heartrate: 0,
            workout: 0,
            session: 0,
            daily_spo2: 0,
            daily_stress: 0,
            daily_resilience: 0,
            daily_cardiovascular_age: 0,
            vo2_max: 0,
        })
        .unwrap();
        let keys: Vec<&str> = stored.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, myhealth_common::oura::COLLECTIONS);
    }
}
