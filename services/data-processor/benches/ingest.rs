//! Ingest throughput against its floor, in the same run on the same
//! throwaway PostgreSQL: `COPY` of the same rows into the same (emptied)
//! table. Two workloads: heart-rate samples (the volume stream, batches of
//! 5,000 as the collector posts them) and daily sleep documents (each also
//! kept as raw JSONB, so the floor copies both tables).
//! Request bodies and COPY text are prepared before the clock starts:
//! what is measured is the server's work, HTTP and JSON included. A third
//! line re-sends the stored samples (every one an upsert) for scale.
//!
//! `cargo bench -p data-processor --bench ingest`

use std::time::{Duration, Instant};

use chrono::{DateTime, Days, NaiveDate, Utc};
use myhealth_common::testing::{TempPostgres, serve};
use serde_json::{Value, json};

const SAMPLES: usize = 100_000;
const BATCH: usize = 5_000;
const NIGHTS: usize = 3_650;
const ROUNDS: usize = 5;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(bench());
}

async fn bench() {
    let pg = TempPostgres::start();
    let url = pg.database("bench").await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    data_processor::MIGRATOR.run(&pool).await.unwrap();
    let metrics = myhealth_common::telemetry::init_metrics();
    let addr = serve(data_processor::app(data_processor::AppState { pool: pool.clone() }, metrics, 64 << 20)).await;
    let http = reqwest::Client::new();

    // Heart rate: one sample a minute.
    let t0: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
    let samples: Vec<(DateTime<Utc>, i16)> =
        (0..SAMPLES).map(|i| (t0 + chrono::Duration::minutes(i as i64), 45 + (i % 60) as i16)).collect();
    let bodies: Vec<Vec<u8>> = samples
        .chunks(BATCH)
        .map(|c| {
            let hr: Vec<Value> =
                c.iter().map(|(ts, bpm)| json!({ "bpm": bpm, "source": "awake", "timestamp": ts })).collect();
            serde_json::to_vec(&json!({ "heart_rate": hr })).unwrap()
        })
        .collect();
    let copy_text: String =
        samples.iter().map(|(ts, bpm)| format!("{}\tawake\t{bpm}\n", ts.to_rfc3339())).collect::<Vec<_>>().concat();

    let copy = best(ROUNDS, || async {
        truncate(&pool).await;
        let t = Instant::now();
        copy_in(&pool, "COPY heart_rate_samples (ts, source, bpm) FROM STDIN", &copy_text).await;
        t.elapsed()
    })
    .await;
    let ingest = best(ROUNDS, || async {
        truncate(&pool).await;
        let t = Instant::now();
        for b in &bodies {
            post(&http, addr, b.clone()).await;
        }
        t.elapsed()
    })
    .await;
    report("heart-rate samples", SAMPLES, copy, ingest);
    // The same samples again (the overlap every run re-fetches): all upserts,
    // nothing changes. COPY cannot do this at all; its time is shown for scale.
    let again = best(ROUNDS, || async {
        let t = Instant::now();
        for b in &bodies {
            post(&http, addr, b.clone()).await;
        }
        t.elapsed()
    })
    .await;
    report("heart-rate samples, re-sent", SAMPLES, copy, again);

    // Sleep: merged documents as the collector sends them, raw JSONB kept.
    let day0 = NaiveDate::from_ymd_opt(2016, 1, 1).unwrap();
    let docs: Vec<Value> = (0..NIGHTS)
        .map(|i| {
            json!({ "id": format!("night-{i}"), "day": day0 + Days::new(i as u64), "score": 60 + i % 40,
                    "total_sleep_duration": 27000, "deep_sleep_duration": 5400, "light_sleep_duration": 15000,
                    "rem_sleep_duration": 6600, "efficiency": 90, "latency": 600, "average_hrv": 45.5, "lowest_heart_rate": 52 })
        })
        .collect();
    let sleep_bodies: Vec<Vec<u8>> =
        docs.chunks(BATCH).map(|c| serde_json::to_vec(&json!({ "sleep": c })).unwrap()).collect();
    let metrics_text: String = docs
        .iter()
        .map(|d| {
            format!(
                "{}\t{}\t{}\t27000\t5400\t15000\t6600\t90\t600\t45.5\t52\n",
                d["day"].as_str().unwrap(),
                d["id"].as_str().unwrap(),
                d["score"]
            )
        })
        .collect::<Vec<_>>()
        .concat();
    let raw_text: String = docs
        .iter()
        .map(|d| {
            let json = d.to_string().replace('\\', "\\\\");
            format!("sleep\t{}\t{}\t{json}\n", d["id"].as_str().unwrap(), d["day"].as_str().unwrap())
        })
        .collect::<Vec<_>>()
        .concat();
    let copy = best(ROUNDS, || async {
        truncate(&pool).await;
        let t = Instant::now();
        copy_in(&pool, "COPY sleep_metrics (day, oura_id, score, total_sleep_seconds, deep_sleep_seconds, light_sleep_seconds, rem_sleep_seconds, efficiency, latency_seconds, average_hrv, lowest_heart_rate) FROM STDIN", &metrics_text).await;
        copy_in(&pool, "COPY raw_documents (kind, oura_id, day, payload) FROM STDIN", &raw_text).await;
        t.elapsed()
    })
    .await;
    let ingest = best(ROUNDS, || async {
        truncate(&pool).await;
        let t = Instant::now();
        for b in &sleep_bodies {
            post(&http, addr, b.clone()).await;
        }
        t.elapsed()
    })
    .await;
    report("sleep documents (+ raw JSONB)", NIGHTS, copy, ingest);
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
    sqlx::query("TRUNCATE heart_rate_samples, sleep_metrics, raw_documents").execute(pool).await.unwrap();
}

async fn copy_in(pool: &sqlx::PgPool, statement: &str, text: &str) {
    let mut conn = pool.acquire().await.unwrap();
    let mut copy = conn.copy_in_raw(statement).await.unwrap();
    copy.send(text.as_bytes()).await.unwrap();
    copy.finish().await.unwrap();
}

async fn post(http: &reqwest::Client, addr: std::net::SocketAddr, body: Vec<u8>) {
    let res = http
        .post(format!("http://{addr}/api/v1/ingest"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

fn report(what: &str, rows: usize, copy: Duration, ingest: Duration) {
    let per_s = |d: Duration| rows as f64 / d.as_secs_f64();
    println!(
        "{what:<30} {rows:>7} rows   COPY {:>8.1} ms ({:>9.0} rows/s)   ingest {:>8.1} ms ({:>9.0} rows/s)   ingest/COPY {:>5.1} %",
        copy.as_secs_f64() * 1e3,
        per_s(copy),
        ingest.as_secs_f64() * 1e3,
        per_s(ingest),
        100.0 * per_s(ingest) / per_s(copy)
    );
}
