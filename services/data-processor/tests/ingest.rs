//! data-processor against a real PostgreSQL (a throwaway cluster started
//! with initdb/pg_ctl): round trip, idempotency, refusal of bad batches
//! with nothing stored, sync state, and an outage in the middle.

use std::net::SocketAddr;

use data_processor::{AppState, MIGRATOR, app};
use myhealth_common::testing::{TempPostgres, serve};
use serde_json::{Value, json};

struct Server {
    addr: SocketAddr,
    pool: sqlx::PgPool,
}

async fn server(pg: &TempPostgres, db: &str) -> Server {
    let url = pg.database(db).await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(std::time::Duration::from_secs(2))
        .connect(&url)
        .await
        .unwrap();
    MIGRATOR.run(&pool).await.unwrap();
    let addr =
        serve(app(AppState { pool: pool.clone() }, myhealth_common::telemetry::init_metrics(), 1024 * 1024)).await;
    Server { addr, pool }
}

fn batch() -> Value {
    json!({
        "sleep": [
            { "id": "s1", "day": "2026-11-01", "score": 82, "total_sleep_duration": 27000, "deep_sleep_duration": 5400, "light_sleep_duration": 15000, "rem_sleep_duration": 6600, "efficiency": 91, "latency": 540, "average_hrv": 48.5, "lowest_heart_rate": 51 },
            { "id": "s2", "day": "2026-11-02", "score": 75 }
        ],
        "activity": [ { "id": "a1", "day": "2026-11-01", "score": 88, "steps": 10234, "active_calories": 512, "total_calories": 2500, "high_activity_time": 1200, "medium_activity_time": 2400 } ],
        "readiness": [ { "id": "r1", "day": "2026-11-01", "score": 79, "temperature_deviation": -0.2, "contributors": { "resting_heart_rate": 90, "hrv_balance": 70 } } ],
        "heart_rate": [
            { "bpm": 58, "source": "awake", "timestamp": "2026-11-01T08:00:00Z" },
            { "bpm": 61, "source": "awake", "timestamp": "2026-11-01T08:05:00Z" }
        ]
    })
}

async fn count(pool: &sqlx::PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")).fetch_one(pool).await.unwrap()
}

async fn counts(pool: &sqlx::PgPool) -> [i64; 5] {
    [
        count(pool, "sleep_metrics").await,
        count(pool, "activity_metrics").await,
        count(pool, "readiness_metrics").await,
        count(pool, "heart_rate_samples").await,
        count(pool, "raw_documents").await,
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn ingest_round_trip_idempotency_and_refusals() {
    let pg = TempPostgres::start();
    let s = server(&pg, "roundtrip").await;
    let http = reqwest::Client::new();
    let url = |p: &str| format!("http://{}{p}", s.addr);

    // Stored, with counts.
    let res = http.post(url("/api/v1/ingest")).json(&batch()).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({ "sleep": 2, "activity": 1, "readiness": 1, "heart_rate": 2 })
    );
    assert_eq!(counts(&s.pool).await, [2, 1, 1, 2, 4]);

    // Read back.
    let got: Value = http
        .get(url("/api/v1/metrics/sleep?start=2026-11-01&end=2026-11-01"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        got["data"],
        json!([{ "day": "2026-11-01", "score": 82, "total_sleep_seconds": 27000, "deep_sleep_seconds": 5400, "light_sleep_seconds": 15000, "rem_sleep_seconds": 6600, "efficiency": 91, "latency_seconds": 540, "average_hrv": 48.5, "lowest_heart_rate": 51 }])
    );
    let act: Value = http.get(url("/api/v1/metrics/activity")).send().await.unwrap().json().await.unwrap();
    assert_eq!(act["data"][0]["active_seconds"], 3600);

    // The same batch again: the same rows, nothing duplicated.
    assert_eq!(http.post(url("/api/v1/ingest")).json(&batch()).send().await.unwrap().status(), 200);
    assert_eq!(counts(&s.pool).await, [2, 1, 1, 2, 4]);
    // A corrected score replaces the old one.
    let mut fixed = batch();
    fixed["sleep"][1]["score"] = json!(77);
    http.post(url("/api/v1/ingest")).json(&fixed).send().await.unwrap();
    let s2: i16 = sqlx::query_scalar("SELECT score FROM sleep_metrics WHERE day = '2026-11-02'")
        .fetch_one(&s.pool)
        .await
        .unwrap();
    assert_eq!(s2, 77);
    // A corrected sample too, and a sample twice in one batch is one sample.
    let mut hr = batch();
    hr["heart_rate"][0]["bpm"] = json!(99);
    let dup = hr["heart_rate"][0].clone();
    hr["heart_rate"].as_array_mut().unwrap().push(dup);
    assert_eq!(http.post(url("/api/v1/ingest")).json(&hr).send().await.unwrap().status(), 200);
    let bpm: Vec<i16> =
        sqlx::query_scalar("SELECT bpm FROM heart_rate_samples ORDER BY ts").fetch_all(&s.pool).await.unwrap();
    assert!(bpm.contains(&99), "{bpm:?}");
    assert_eq!(counts(&s.pool).await, [2, 1, 1, 2, 4]);
    // Not JSON by content type: 415.
    let res = http.post(url("/api/v1/ingest")).body(batch().to_string()).send().await.unwrap();
    assert_eq!(res.status(), 415);

    // A bad record anywhere: 422 with the path, and nothing of the batch stored.
    let mut bad = batch();
    bad["sleep"][0]["day"] = json!("2026-11-10");
    bad["activity"][0]["day"] = json!("2026-11-10");
    bad["readiness"][0]["score"] = json!(140);
    let res = http.post(url("/api/v1/ingest")).json(&bad).send().await.unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({ "error": "readiness[0].score: 140 is outside 0..=100" }));
    assert_eq!(counts(&s.pool).await, [2, 1, 1, 2, 4]);

    // Not JSON at all: 400.
    let res = http
        .post(url("/api/v1/ingest"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // Too large: 413.
    let huge = json!({ "heart_rate": (0..20000).map(|i| json!({ "bpm": 60, "source": "awake", "timestamp": format!("2026-11-01T00:00:{:02}Z", i % 60) })).collect::<Vec<_>>() });
    assert_eq!(http.post(url("/api/v1/ingest")).json(&huge).send().await.unwrap().status(), 413);
    // Unknown kind of metric: 404.
    assert_eq!(http.get(url("/api/v1/metrics/steps")).send().await.unwrap().status(), 404);

    // Sync state only moves forward.
    assert_eq!(http.get(url("/api/v1/sync/daily_sleep")).send().await.unwrap().status(), 404);
    let put = |d: &'static str| http.put(url("/api/v1/sync/daily_sleep")).json(&json!({ "last_synced_day": d })).send();
    assert_eq!(
        put("2026-11-02").await.unwrap().json::<Value>().await.unwrap(),
        json!({ "last_synced_day": "2026-11-02" })
    );
    assert_eq!(
        put("2026-10-01").await.unwrap().json::<Value>().await.unwrap(),
        json!({ "last_synced_day": "2026-11-02" })
    );

    // Probes and metrics.
    assert_eq!(http.get(url("/health")).send().await.unwrap().status(), 200);
    assert_eq!(http.get(url("/ready")).send().await.unwrap().status(), 200);
    let m = http.get(url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(m.contains("http_requests_total{method=\"POST\",route=\"/api/v1/ingest\",status=\"200\"}"), "{m}");
    assert!(m.contains("db_query_duration_seconds"), "{m}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outage_answers_503_and_loses_nothing() {
    let pg = TempPostgres::start();
    let s = server(&pg, "outage").await;
    let http = reqwest::Client::new();
    let url = |p: &str| format!("http://{}{p}", s.addr);

    pg.stop();
    let res = http.post(url("/api/v1/ingest")).json(&batch()).send().await.unwrap();
    assert_eq!(res.status(), 503, "{:?}", res.text().await);
    assert_eq!(http.get(url("/ready")).send().await.unwrap().status(), 503);
    assert_eq!(
        http.get(url("/health")).send().await.unwrap().status(),
        200,
        "liveness does not depend on the database"
    );

    pg.restart();
    // The sender retries: every record lands exactly once.
    let mut status = 0;
    for _ in 0..20 {
        status = http.post(url("/api/v1/ingest")).json(&batch()).send().await.unwrap().status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(status, 200);
    assert_eq!(counts(&s.pool).await, [2, 1, 1, 2, 4]);
}
