//! Ingest throughput of every collection against its floor, in the same
//! run on the same throwaway PostgreSQL: `COPY` of the very rows the ingest
//! stored (captured with `COPY … TO STDOUT` after a first ingest) into the
//! same emptied tables — the typed table(s) and, for documents, the raw
//! JSONB. Request bodies and COPY text are prepared before the clock starts:
//! what is measured is the server's work, HTTP and JSON included, one
//! transaction per request of at most 5,000 documents (as the collector
//! posts). Best of 3 (once under `cargo test`, the suite's smoke run). A last line re-sends the stored heart-rate samples
//! (every one an upsert) for scale.
//!
//! `cargo bench -p data-processor --bench ingest [-- COLLECTION…]` (the
//! named collections only; all of them by default)

use std::time::{Duration, Instant};

use axum::body::Bytes;
use chrono::{DateTime, Days, NaiveDate, Utc};
use futures_util::StreamExt;
use myhealth_common::oura;
use myhealth_common::testing::{TempPostgres, serve};
use serde_json::{Value, json};

const SAMPLES: usize = 100_000;
const BATCH: usize = 5_000;
const DAYS: usize = 3_650;
const ROUNDS: usize = 3;

/// `cargo bench` passes `--bench`; `cargo test --all-targets` (the suite)
/// runs this as a smoke test without it: once, not best of three.
fn rounds() -> usize {
    if std::env::args().any(|a| a == "--bench") { ROUNDS } else { 1 }
}
const TABLES: &str = "heart_rate_samples, sleep_metrics, sleep_periods, raw_documents, activity_metrics, readiness_metrics, workouts, \
                      sessions, spo2_metrics, stress_metrics, resilience_metrics, cardiovascular_age_metrics, vo2_max_metrics";

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(bench());
}

fn series(start: &str, n: usize, base: f64) -> Value {
    json!({ "interval": 300.0, "items": (0..n).map(|i| if i % 17 == 3 { Value::Null } else { json!(base + (i % 9) as f64) }).collect::<Vec<_>>(), "timestamp": start })
}

/// Documents of each collection, shaped as Oura sends them, one a day for ten years.
fn workloads() -> Vec<(&'static str, Vec<Value>, &'static [&'static str])> {
    let day0 = NaiveDate::from_ymd_opt(2016, 1, 1).unwrap();
    let days: Vec<String> = (0..DAYS).map(|i| (day0 + Days::new(i as u64)).to_string()).collect();
    let t0: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
    let each = |f: &dyn Fn(usize, &str) -> Value| days.iter().enumerate().map(|(i, d)| f(i, d)).collect::<Vec<_>>();
    vec![
        (
            oura::HEARTRATE,
            (0..SAMPLES)
                .map(|i| {
                    let ts = t0 + chrono::Duration::minutes(i as i64);
                    json!({ "bpm": 45 + i % 60, "source": "awake", "timestamp": ts.to_rfc3339(), "timestamp_unix": ts.timestamp_millis() })
                })
                .collect(),
            &["heart_rate_samples"],
        ),
        (
            oura::SLEEP,
            each(&|i, d| {
                let start = format!("{d}T00:10:00+02:00");
                json!({ "id": format!("night-{i}"), "meta": { "updated_at": "2026-01-01T08:00:00Z", "version": 1 }, "day": d, "type": "long_sleep", "period": 1,
                        "bedtime_start": start, "bedtime_end": format!("{d}T07:40:00+02:00"), "time_in_bed": 27000, "total_sleep_duration": 25000,
                        "deep_sleep_duration": 5400, "light_sleep_duration": 13000, "rem_sleep_duration": 6600, "awake_time": 2000, "efficiency": 92,
                        "latency": 600, "average_hrv": 45, "average_heart_rate": 55.5, "lowest_heart_rate": 48, "average_breath": 14.5, "restless_periods": 210,
                        "low_battery_alert": false, "heart_rate": series(&start, 90, 50.0), "hrv": series(&start, 90, 30.0),
                        "readiness": { "contributors": { "hrv_balance": 80 }, "score": 80, "temperature_deviation": 0.1, "temperature_trend_deviation": 0.0 },
                        "movement_30_sec": "1".repeat(900), "sleep_phase_5_min": "4211".repeat(22), "sleep_phase_30_sec": "2".repeat(900),
                        "sleep_algorithm_version": "v2" })
            }),
            &["sleep_periods", "raw_documents", "sleep_metrics"],
        ),
        (
            oura::DAILY_SLEEP,
            each(&|i, d| json!({ "id": format!("ds-{i}"), "day": d, "score": 60 + i % 40, "contributors": { "deep_sleep": 80, "efficiency": 90, "latency": 70, "rem_sleep": 85, "restfulness": 60, "timing": 75, "total_sleep": 88 }, "timestamp": format!("{d}T00:00:00+00:00") })),
            &["sleep_metrics", "raw_documents"],
        ),
        (
            oura::DAILY_ACTIVITY,
            each(&|i, d| json!({ "id": format!("a-{i}"), "day": d, "score": 70, "steps": 9000 + i, "active_calories": 500, "total_calories": 2500, "high_activity_time": 1200,
                                 "medium_activity_time": 2400, "low_activity_time": 15000, "class_5_min": "1".repeat(288), "met": series(&format!("{d}T04:00:00+02:00"), 60, 1.0),
                                 "timestamp": format!("{d}T04:00:00+02:00") })),
            &["activity_metrics", "raw_documents"],
        ),
        (
            oura::DAILY_READINESS,
            each(&|i, d| json!({ "id": format!("r-{i}"), "day": d, "score": 80, "temperature_deviation": -0.2, "contributors": { "resting_heart_rate": 90, "hrv_balance": 70, "sleep_balance": 80 }, "timestamp": format!("{d}T00:00:00+00:00") })),
            &["readiness_metrics", "raw_documents"],
        ),
        (
            oura::WORKOUT,
            each(&|i, d| json!({ "id": format!("w-{i}"), "day": d, "activity": "running", "intensity": "hard", "source": "autodetected", "calories": 420.5, "distance": 8000.0, "label": null,
                                 "start_datetime": format!("{d}T07:00:00+02:00"), "end_datetime": format!("{d}T07:45:00+02:00") })),
            &["workouts", "raw_documents"],
        ),
        (
            oura::SESSION,
            each(&|i, d| json!({ "id": format!("se-{i}"), "day": d, "type": "meditation", "mood": "good", "start_datetime": format!("{d}T21:00:00+02:00"), "end_datetime": format!("{d}T21:10:00+02:00"),
                                 "heart_rate": series(&format!("{d}T21:00:00+02:00"), 120, 60.0), "heart_rate_variability": series(&format!("{d}T21:00:00+02:00"), 120, 40.0), "motion_count": null })),
            &["sessions", "raw_documents"],
        ),
        (
            oura::DAILY_SPO2,
            each(&|i, d| json!({ "id": format!("o-{i}"), "day": d, "spo2_percentage": { "average": 96.5 }, "breathing_disturbance_index": 5 })),
            &["spo2_metrics", "raw_documents"],
        ),
        (
            oura::DAILY_STRESS,
            each(&|i, d| json!({ "id": format!("st-{i}"), "day": d, "stress_high": 3600, "recovery_high": 7200, "day_summary": "normal" })),
            &["stress_metrics", "raw_documents"],
        ),
        (
            oura::DAILY_RESILIENCE,
            each(&|i, d| json!({ "id": format!("re-{i}"), "day": d, "level": "solid", "contributors": { "sleep_recovery": 55.5, "daytime_recovery": 40.0, "stress": 30.0 } })),
            &["resilience_metrics", "raw_documents"],
        ),
        (
            oura::DAILY_CARDIOVASCULAR_AGE,
            each(&|i, d| json!({ "id": format!("c-{i}"), "day": d, "vascular_age": 38 })),
            &["cardiovascular_age_metrics", "raw_documents"],
        ),
        (
            oura::VO2_MAX,
            each(&|i, d| json!({ "id": format!("v-{i}"), "day": d, "timestamp": format!("{d}T12:00:00+02:00"), "vo2_max": 44 })),
            &["vo2_max_metrics", "raw_documents"],
        ),
    ]
}

async fn bench() {
    let pg = TempPostgres::start();
    let url = pg.database("bench").await;
    let pool = myhealth_common::db::pool_options().connect(&url).await.unwrap();
    data_processor::MIGRATOR.run(&pool).await.unwrap();
    let metrics = myhealth_common::telemetry::init_metrics();
    let addr = serve(data_processor::app(data_processor::AppState { pool: pool.clone() }, metrics, 64 << 20)).await;
    let http = reqwest::Client::new();

    // `cargo bench` passes `--bench`; anything else names collections.
    let only: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    for (collection, docs, tables) in workloads() {
        if !only.is_empty() && !only.iter().any(|o| o == collection) {
            continue;
        }
        // `Bytes`: a clone per request is a reference count, not a copy.
        let bodies: Vec<Bytes> =
            docs.chunks(BATCH).map(|c| serde_json::to_vec(&json!({ collection: c })).unwrap().into()).collect();
        // The floor: COPY of exactly the rows the ingest stores.
        truncate(&pool).await;
        for b in &bodies {
            post(&http, addr, b.clone()).await;
        }
        let mut copies = Vec::new();
        for t in tables {
            copies.push((format!("COPY {t} FROM STDIN"), copy_out(&pool, t).await));
        }
        let rows: usize = copies.iter().map(|(_, text)| text.lines().count()).sum();
        let copy = best(rounds(), || async {
            truncate(&pool).await;
            let t = Instant::now();
            for (statement, text) in &copies {
                copy_in(&pool, statement, text).await;
            }
            t.elapsed()
        })
        .await;
        let ingest = best(rounds(), || async {
            truncate(&pool).await;
            let t = Instant::now();
            for b in &bodies {
                post(&http, addr, b.clone()).await;
            }
            t.elapsed()
        })
        .await;
        report(collection, docs.len(), rows, copy, ingest);
        if collection == "heartrate" {
            // The same samples again (the overlap every run re-fetches): all
            // upserts, nothing changes. COPY cannot do this; its time is for scale.
            let again = best(rounds(), || async {
                let t = Instant::now();
                for b in &bodies {
                    post(&http, addr, b.clone()).await;
                }
                t.elapsed()
            })
            .await;
            report("heartrate, re-sent", docs.len(), rows, copy, again);
        }
    }
    pool.close().await;
}

async fn best<F, Fut>(rounds: usize, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Duration>,
{
    let mut best = Duration::MAX;
    for _ in 0..rounds {
        best = best.min(f().await);
    }
    best
}

async fn truncate(pool: &sqlx::PgPool) {
    sqlx::query(&format!("TRUNCATE {TABLES}")).execute(pool).await.unwrap();
}

async fn copy_out(pool: &sqlx::PgPool, table: &str) -> String {
    let mut conn = pool.acquire().await.unwrap();
    let mut stream = conn.copy_out_raw(&format!("COPY {table} TO STDOUT")).await.unwrap();
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    String::from_utf8(out).unwrap()
}

async fn copy_in(pool: &sqlx::PgPool, statement: &str, text: &str) {
    let mut conn = pool.acquire().await.unwrap();
    let mut copy = conn.copy_in_raw(statement).await.unwrap();
    copy.send(text.as_bytes()).await.unwrap();
    copy.finish().await.unwrap();
}

async fn post(http: &reqwest::Client, addr: std::net::SocketAddr, body: Bytes) {
    let res = http
        .post(format!("http://{addr}/api/v1/ingest"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

fn report(what: &str, docs: usize, rows: usize, copy: Duration, ingest: Duration) {
    println!(
        "{what:<26} {docs:>7} docs {rows:>7} rows   COPY {:>8.1} ms   ingest {:>8.1} ms ({:>8.0} docs/s)   ingest/COPY {:>5.1} %",
        copy.as_secs_f64() * 1e3,
        ingest.as_secs_f64() * 1e3,
        docs as f64 / ingest.as_secs_f64(),
        100.0 * copy.as_secs_f64() / ingest.as_secs_f64()
    );
}
