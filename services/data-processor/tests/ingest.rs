//! data-processor against a real PostgreSQL (a throwaway cluster started
//! with initdb/pg_ctl): round trip, idempotency, refusal of bad batches
//! with nothing stored, a stored value never replaced by less, raw documents
//! kept as sent, the body limit, sync state, and an outage in the middle.

use std::net::SocketAddr;

use data_processor::{AppState, MIGRATOR, app};
use myhealth_common::testing::{TempPostgres, serve};
use serde_json::{Value, json};

struct Server {
    addr: SocketAddr,
    pool: sqlx::PgPool,
}

async fn server(pg: &TempPostgres, db: &str) -> Server {
    server_with_limit(pg, db, 1024 * 1024).await
}

async fn server_with_limit(pg: &TempPostgres, db: &str, max_body: usize) -> Server {
    let url = pg.database(db).await;
    // The services' own pool settings (no ping in front of each request).
    let pool = myhealth_common::db::pool_options()
        .max_connections(4)
        .acquire_timeout(std::time::Duration::from_secs(2))
        .connect(&url)
        .await
        .unwrap();
    MIGRATOR.run(&pool).await.unwrap();
    let addr = serve(app(AppState { pool: pool.clone() }, myhealth_common::telemetry::init_metrics(), max_body)).await;
    Server { addr, pool }
}

fn night(id: &str, day: &str, kind: &str, total: Option<i64>) -> Value {
    json!({ "id": id, "day": day, "type": kind, "period": 1, "bedtime_start": format!("{day}T00:30:00+03:00"), "bedtime_end": format!("{day}T08:00:00+03:00"),
            "time_in_bed": 27000, "total_sleep_duration": total, "deep_sleep_duration": 5400, "light_sleep_duration": 15000, "rem_sleep_duration": 6600,
            "efficiency": 91, "latency": 540, "average_hrv": 48.5, "lowest_heart_rate": 51, "average_heart_rate": 55.5,
            "heart_rate": { "interval": 300.0, "items": [52.0, null, 50.0], "timestamp": format!("{day}T00:30:00+03:00") },
            "readiness": { "contributors": {}, "score": 80 } })
}

fn batch() -> Value {
    json!({
        "daily_sleep": [
            { "id": "ds1", "day": "2026-11-01", "score": 82, "contributors": { "deep_sleep": 90, "timing": 70 }, "timestamp": "2026-11-01T00:00:00+00:00" },
            { "id": "ds2", "day": "2026-11-02", "score": 75, "contributors": {}, "timestamp": "2026-11-02T00:00:00+00:00" }
        ],
        "sleep": [ night("n1", "2026-11-01", "long_sleep", Some(27000)),
                   { "id": "nap1", "day": "2026-11-01", "type": "sleep", "bedtime_start": "2026-11-01T14:00:00+03:00", "bedtime_end": "2026-11-01T14:30:00+03:00", "total_sleep_duration": 1700 } ],
        "daily_activity": [ { "id": "a1", "day": "2026-11-01", "score": 88, "steps": 10234, "active_calories": 512, "total_calories": 2500, "high_activity_time": 1200, "medium_activity_time": 2400 } ],
        "daily_readiness": [ { "id": "r1", "day": "2026-11-01", "score": 79, "temperature_deviation": -0.2, "contributors": { "resting_heart_rate": 90, "hrv_balance": 70 } } ],
        "heartrate": [
            { "bpm": 58, "source": "awake", "timestamp": "2026-11-01T08:00:00Z" },
            { "bpm": 61, "source": "awake", "timestamp": "2026-11-01T08:05:00Z" }
        ],
        "workout": [ { "id": "w1", "day": "2026-11-01", "activity": "running", "intensity": "hard", "source": "manual", "calories": 400.5, "distance": 8000.0,
                       "start_datetime": "2026-11-01T07:00:00+03:00", "end_datetime": "2026-11-01T07:45:00+03:00" } ],
        "session": [ { "id": "se1", "day": "2026-11-01", "type": "breathing", "mood": "good", "start_datetime": "2026-11-01T18:00:00+03:00", "end_datetime": "2026-11-01T18:10:00+03:00",
                       "heart_rate": { "interval": 5.0, "items": [60.0, 59.0], "timestamp": "2026-11-01T18:00:00+03:00" } } ],
        "daily_spo2": [ { "id": "o1", "day": "2026-11-01", "spo2_percentage": { "average": 96.5 }, "breathing_disturbance_index": 4 } ],
        "daily_stress": [ { "id": "st1", "day": "2026-11-01", "stress_high": 3600, "recovery_high": 7200, "day_summary": "normal" } ],
        "daily_resilience": [ { "id": "re1", "day": "2026-11-01", "level": "solid", "contributors": { "sleep_recovery": 55.5, "daytime_recovery": 40.0, "stress": 30.0 } } ],
        "daily_cardiovascular_age": [ { "day": "2026-11-01", "vascular_age": 38 } ],
        "vO2_max": [ { "id": "v1", "day": "2026-11-01", "timestamp": "2026-11-01T12:00:00+03:00", "vo2_max": 44 } ]
    })
}

async fn count(pool: &sqlx::PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")).fetch_one(pool).await.unwrap()
}

async fn counts(pool: &sqlx::PgPool) -> [i64; 7] {
    [
        count(pool, "sleep_metrics").await,
        count(pool, "sleep_periods").await,
        count(pool, "activity_metrics").await,
        count(pool, "readiness_metrics").await,
        count(pool, "heart_rate_samples").await,
        count(pool, "workouts").await
            + count(pool, "sessions").await
            + count(pool, "spo2_metrics").await
            + count(pool, "stress_metrics").await
            + count(pool, "resilience_metrics").await
            + count(pool, "cardiovascular_age_metrics").await
            + count(pool, "vo2_max_metrics").await,
        count(pool, "raw_documents").await,
    ]
}

const ALL: [i64; 7] = [2, 2, 1, 1, 2, 7, 13];

#[tokio::test(flavor = "multi_thread")]
async fn ingest_round_trip_idempotency_and_refusals() {
    let pg = TempPostgres::start();
    let s = server(&pg, "roundtrip").await;
    let http = reqwest::Client::new();
    let url = |p: &str| format!("http://{}{p}", s.addr);

    // Stored, with counts.
    let res = http.post(url("/api/v1/ingest")).json(&batch()).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let stored = res.json::<Value>().await.unwrap();
    assert_eq!(stored["daily_sleep"], 2);
    assert_eq!(stored["sleep"], 2);
    assert_eq!(stored["heartrate"], 2);
    assert_eq!(stored["vO2_max"], 1);
    assert_eq!(counts(&s.pool).await, ALL);
    // Raw documents are kept as sent, per collection and id (a document without an id by its day).
    let raw: Value = sqlx::query_scalar::<_, sqlx::types::Json<Value>>(
        "SELECT payload FROM raw_documents WHERE kind = 'sleep' AND oura_id = 'n1'",
    )
    .fetch_one(&s.pool)
    .await
    .unwrap()
    .0;
    assert_eq!(raw, batch()["sleep"][0]);
    let cva: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM raw_documents WHERE kind = 'daily_cardiovascular_age' AND oura_id = 'day:2026-11-01'",
    )
    .fetch_one(&s.pool)
    .await
    .unwrap();
    assert_eq!(cva, 1);

    // Read back.
    let got: Value = http
        .get(url("/api/v1/metrics/sleep?start=2026-11-01&end=2026-11-01"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The day: daily_sleep's score and contributors, the long sleep's durations (not the nap's).
    let day = &got["data"][0];
    assert_eq!(day["score"], 82);
    assert_eq!(day["contributor_deep_sleep"], 90);
    assert_eq!(day["total_sleep_seconds"], 27000);
    assert_eq!(day["deep_sleep_seconds"], 5400);
    assert_eq!(day["average_hrv"], 48.5);
    assert_eq!(day["lowest_heart_rate"], 51);
    assert_eq!(day["time_in_bed_seconds"], 27000);
    let spo2: Value = http.get(url("/api/v1/metrics/spo2")).send().await.unwrap().json().await.unwrap();
    assert_eq!(spo2["data"][0]["spo2_average"], 96.5);
    let act: Value = http.get(url("/api/v1/metrics/activity")).send().await.unwrap().json().await.unwrap();
    assert_eq!(act["data"][0]["active_seconds"], 3600);

    // The same batch again: the same rows, nothing duplicated.
    assert_eq!(http.post(url("/api/v1/ingest")).json(&batch()).send().await.unwrap().status(), 200);
    assert_eq!(counts(&s.pool).await, ALL);
    // A corrected score replaces the old one.
    let mut fixed = batch();
    fixed["daily_sleep"][1]["score"] = json!(77);
    http.post(url("/api/v1/ingest")).json(&fixed).send().await.unwrap();
    let s2: i16 = sqlx::query_scalar("SELECT score FROM sleep_metrics WHERE day = '2026-11-02'")
        .fetch_one(&s.pool)
        .await
        .unwrap();
    assert_eq!(s2, 77);
    // A corrected sample too, and a sample twice in one batch is one sample.
    let mut hr = batch();
    hr["heartrate"][0]["bpm"] = json!(99);
    let dup = hr["heartrate"][0].clone();
    hr["heartrate"].as_array_mut().unwrap().push(dup);
    assert_eq!(http.post(url("/api/v1/ingest")).json(&hr).send().await.unwrap().status(), 200);
    let bpm: Vec<i16> =
        sqlx::query_scalar("SELECT bpm FROM heart_rate_samples ORDER BY ts").fetch_all(&s.pool).await.unwrap();
    assert!(bpm.contains(&99), "{bpm:?}");
    assert_eq!(counts(&s.pool).await, ALL);
    // Not JSON by content type: 415.
    let res = http.post(url("/api/v1/ingest")).body(batch().to_string()).send().await.unwrap();
    assert_eq!(res.status(), 415);

    // A bad record anywhere: 422 with the path, and nothing of the batch stored.
    let mut bad = batch();
    bad["daily_sleep"][0]["day"] = json!("2026-11-10");
    bad["daily_activity"][0]["day"] = json!("2026-11-10");
    bad["daily_readiness"][0]["score"] = json!(140);
    let res = http.post(url("/api/v1/ingest")).json(&bad).send().await.unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({ "error": "daily_readiness[0].score: 140 is outside 0..=100", "collection": "daily_readiness" })
    );
    assert_eq!(counts(&s.pool).await, ALL);

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
    let huge = json!({ "heartrate": (0..20000).map(|i| json!({ "bpm": 60, "source": "awake", "timestamp": format!("2026-11-01T00:00:{:02}Z", i % 60) })).collect::<Vec<_>>() });
    let res = http.post(url("/api/v1/ingest")).json(&huge).send().await.unwrap();
    assert_eq!(res.status(), 413);
    // Its body was not read: the connection is closed, and the client told so.
    assert_eq!(res.headers()["connection"], "close");
    // Unknown kind of metric: 404.
    assert_eq!(http.get(url("/api/v1/metrics/steps")).send().await.unwrap().status(), 404);

    // Sync state only moves forward; every stream can be read at once.
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
    let all: Value = http.get(url("/api/v1/sync")).send().await.unwrap().json().await.unwrap();
    assert_eq!(all, json!({ "daily_sleep": "2026-11-02" }));

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
    assert_eq!(counts(&s.pool).await, ALL);
}

/// Samples of a new time range go in by binary `COPY`: every field arrives
/// exactly (microseconds, offsets, times before PostgreSQL's 2000 epoch,
/// text beyond ASCII, the lenient timestamp form), and writers racing on
/// the same new range all succeed with each sample stored once.
#[tokio::test(flavor = "multi_thread")]
async fn heart_rate_samples_arrive_exactly_and_racing_writers_lose_nothing() {
    let pg = TempPostgres::start();
    let s = server(&pg, "samples").await;
    let http = reqwest::Client::new();
    let url = |p: &str| format!("http://{}{p}", s.addr);
    let sent = json!({ "heartrate": [
        { "bpm": 250, "source": "awake", "timestamp": "2026-11-01T08:00:00.123456Z" },
        { "bpm": 20, "source": "rest", "timestamp": "2026-11-01T08:00:00.123456Z" },
        { "bpm": 61, "source": "workout", "timestamp": "2026-11-01T10:05:00+03:00", "timestamp_unix": 1761980700000_i64 },
        { "bpm": 47, "source": "sömn", "timestamp": "1999-12-31T23:59:59.999999Z" },
        { "bpm": 52, "source": "live", "timestamp": "1970-01-01T00:00:00Z" },
        { "bpm": 70, "source": "session", "timestamp": "2026-11-01 09:00:00+00:00" }
    ] });
    let res = http.post(url("/api/v1/ingest")).json(&sent).send().await.unwrap();
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    let rows: Vec<(String, String, i16)> = sqlx::query_as(
        "SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), source, bpm FROM heart_rate_samples ORDER BY ts, source",
    )
    .fetch_all(&s.pool)
    .await
    .unwrap();
    let want = [
        ("1970-01-01T00:00:00.000000", "live", 52),
        ("1999-12-31T23:59:59.999999", "sömn", 47),
        ("2026-11-01T07:05:00.000000", "workout", 61),
        ("2026-11-01T08:00:00.123456", "awake", 250),
        ("2026-11-01T08:00:00.123456", "rest", 20),
        ("2026-11-01T09:00:00.000000", "session", 70),
    ];
    let want: Vec<(String, String, i16)> = want.iter().map(|(t, s, b)| (t.to_string(), s.to_string(), *b)).collect();
    assert_eq!(rows, want);

    // Eight writers post the same 3,000 samples of a range nothing holds
    // yet: all but one find the keys taken, and store again with upserts.
    let range = json!({ "heartrate": (0..3000).map(|i| json!({ "bpm": 40 + i % 100, "source": "awake",
        "timestamp": format!("2026-10-{:02}T{:02}:{:02}:00Z", 1 + i / 1440, i / 60 % 24, i % 60) })).collect::<Vec<_>>() });
    let posts = (0..8).map(|_| http.post(url("/api/v1/ingest")).json(&range).send());
    for res in futures_util::future::join_all(posts).await {
        let res = res.unwrap();
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
    }
    let n: i64 =
        sqlx::query_scalar("SELECT count(*) FROM heart_rate_samples WHERE ts >= '2026-10-01' AND ts < '2026-11-01'")
            .fetch_one(&s.pool)
            .await
            .unwrap();
    assert_eq!(n, 3000);
}

/// A request cancelled while its `COPY` waits (here behind another writer's
/// uncommitted sample, until the request timeout answers 503) still ends its
/// transaction: the samples land once the other writer rolls back, and the
/// pool's one connection stays in step for the requests after it.
#[tokio::test(flavor = "multi_thread")]
async fn a_request_cancelled_inside_copy_leaves_the_connection_in_step() {
    let pg = TempPostgres::start();
    let url = pg.database("cancel").await;
    let pool = myhealth_common::db::pool_options().max_connections(1).connect(&url).await.unwrap();
    MIGRATOR.run(&pool).await.unwrap();
    let limits = data_processor::Limits {
        request_timeout: std::time::Duration::from_millis(500),
        ..data_processor::Limits::with_max_body(1 << 20)
    };
    let addr = serve(data_processor::app_with(
        AppState { pool: pool.clone() },
        myhealth_common::telemetry::init_metrics(),
        &limits,
    ))
    .await;
    let http = reqwest::Client::new();
    let url = |p: &str| format!("http://{addr}{p}");
    let samples = |day: u32| {
        json!({ "heartrate": (0..100).map(|i| json!({ "bpm": 60, "source": "awake",
            "timestamp": format!("2026-10-{day:02}T00:{:02}:{:02}Z", i / 60, i % 60) })).collect::<Vec<_>>() })
    };

    // Another writer holds the batch's first key, uncommitted: invisible to
    // the range check (so the batch is fresh: COPY), in the COPY's way.
    let blocker = sqlx::PgPool::connect(&pg.url("cancel")).await.unwrap();
    let mut other = blocker.begin().await.unwrap();
    sqlx::query("INSERT INTO heart_rate_samples (ts, source, bpm) VALUES ('2026-10-01T00:00:00Z', 'awake', 99)")
        .execute(&mut *other)
        .await
        .unwrap();
    let res = http.post(url("/api/v1/ingest")).json(&samples(1)).send().await.unwrap();
    assert_eq!(res.status(), 503, "the request timed out: {:?}", res.text().await);
    other.rollback().await.unwrap();

    // The cancelled request's store finishes on its own and commits.
    let mut n = 0;
    for _ in 0..50 {
        n = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM heart_rate_samples").fetch_one(&blocker).await.unwrap();
        if n == 100 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(n, 100, "the timed-out batch was stored");
    // The next requests on the same (only) connection read their own replies.
    for day in 2..6 {
        let res = http.post(url("/api/v1/ingest")).json(&samples(day)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        assert_eq!(res.json::<Value>().await.unwrap()["heartrate"], 100);
        let put =
            http.put(url("/api/v1/sync/heartrate")).json(&json!({ "last_synced_day": format!("2026-10-{day:02}") }));
        let put = put.send().await.unwrap();
        assert_eq!(put.json::<Value>().await.unwrap(), json!({ "last_synced_day": format!("2026-10-{day:02}") }));
    }
    assert_eq!(count(&pool, "heart_rate_samples").await, 500);
}

/// The bug this replaced: a later fetch that lacked the night (or sent
/// fields as null) overwrote the stored durations with NULL.
#[tokio::test(flavor = "multi_thread")]
async fn a_stored_value_is_never_replaced_by_less() {
    let pg = TempPostgres::start();
    let s = server(&pg, "never_less").await;
    let http = reqwest::Client::new();
    let post = |b: Value| http.post(format!("http://{}/api/v1/ingest", s.addr)).json(&b).send();
    assert_eq!(post(batch()).await.unwrap().status(), 200);
    // daily_sleep again without the night, with a revised score: the score changes, the night stays.
    let again = json!({ "daily_sleep": [{ "id": "ds1", "day": "2026-11-01", "score": 84, "contributors": { "deep_sleep": null }, "timestamp": "2026-11-01T00:00:00+00:00" }] });
    assert_eq!(post(again).await.unwrap().status(), 200);
    // The night again with its fields null: nothing is erased.
    let mut nulls = night("n1", "2026-11-01", "long_sleep", None);
    for k in ["deep_sleep_duration", "average_hrv", "lowest_heart_rate", "heart_rate"] {
        nulls[k] = Value::Null;
    }
    assert_eq!(
        post(json!({ "sleep": [nulls], "daily_spo2": [{ "id": "o1", "day": "2026-11-01", "spo2_percentage": null }] }))
            .await
            .unwrap()
            .status(),
        200
    );
    type Night = (i16, Option<i16>, Option<i32>, Option<i32>, Option<f32>, Option<i16>);
    let row: Night = sqlx::query_as(
        "SELECT score, contributor_deep_sleep, total_sleep_seconds, deep_sleep_seconds, average_hrv, lowest_heart_rate FROM sleep_metrics WHERE day = '2026-11-01'",
    )
    .fetch_one(&s.pool)
    .await
    .unwrap();
    assert_eq!(row, (84, Some(90), Some(27000), Some(5400), Some(48.5), Some(51)));
    let series: Option<sqlx::types::Json<Value>> =
        sqlx::query_scalar("SELECT heart_rate FROM sleep_periods WHERE oura_id = 'n1'")
            .fetch_one(&s.pool)
            .await
            .unwrap();
    assert_eq!(series.unwrap().0["items"], json!([52.0, null, 50.0]));
    let spo2: Option<f32> =
        sqlx::query_scalar("SELECT spo2_average FROM spo2_metrics").fetch_one(&s.pool).await.unwrap();
    assert_eq!(spo2, Some(96.5));
    // A document whose day moved to one with nothing stored yet: the plain
    // insert of a "fresh" day meets its key, and the batch is stored again with upserts.
    // (Large enough a batch for the plain-insert path: 70 nights of days nothing is stored for.)
    let first: chrono::NaiveDate = "2026-08-01".parse().unwrap();
    let mut nights: Vec<Value> = (1..70)
        .map(|i| {
            let day = (first + chrono::Days::new(i)).to_string();
            night(&format!("m{i}"), &day, "long_sleep", Some(25000))
        })
        .collect();
    nights.push(night("n1", "2026-08-01", "long_sleep", Some(26000)));
    assert_eq!(post(json!({ "sleep": nights })).await.unwrap().status(), 200);
    let days: Vec<chrono::NaiveDate> =
        sqlx::query_scalar("SELECT day FROM sleep_periods WHERE oura_id = 'n1'").fetch_all(&s.pool).await.unwrap();
    assert_eq!(days, vec![first]);
    assert_eq!(count(&s.pool, "sleep_periods").await, 71);
}

/// MAX_BODY_BYTES is the limit: larger bodies are refused, smaller ones
/// accepted even above axum's own 2 MiB default.
#[tokio::test(flavor = "multi_thread")]
async fn the_body_limit_is_max_body_bytes() {
    let pg = TempPostgres::start();
    let big = json!({ "heartrate": (0..40_000).map(|i| json!({ "bpm": 60, "source": "awake", "timestamp": format!("2026-10-{:02}T{:02}:{:02}:{:02}Z", 1 + i / 3600 % 28, i / 60 % 24, i % 60, i % 60) })).collect::<Vec<_>>(), "collector": { "oura_requests": 0 } });
    let body = serde_json::to_vec(&big).unwrap();
    assert!(body.len() > 2 << 20, "above axum's default: {} bytes", body.len());
    let roomy = server_with_limit(&pg, "roomy", 8 << 20).await;
    let tight = server_with_limit(&pg, "tight", 1 << 20).await;
    let http = reqwest::Client::new();
    let send = |s: &Server| {
        http.post(format!("http://{}/api/v1/ingest", s.addr))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
    };
    assert_eq!(send(&roomy).await.unwrap().status(), 200);
    assert_eq!(send(&tight).await.unwrap().status(), 413);
}

/// Client mistakes that used to be 500s (the database refused what the
/// processor had let through): every one is a 4xx with a JSON body naming
/// the collection where there is one, and nothing of the batch is stored.
/// Bodies are written as text: `\ud800` cannot be held by a `Value`.
#[tokio::test(flavor = "multi_thread")]
async fn client_mistakes_are_4xx_with_a_json_body() {
    let pg = TempPostgres::start();
    let s = server_with_limit(&pg, "mistakes", 8 << 20).await;
    let http = reqwest::Client::new();
    let post = |body: String| {
        http.post(format!("http://{}/api/v1/ingest", s.addr))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let activity = |extra: &str| {
        format!(r#"{{ "daily_activity": [{{ "id": "a1", "day": "2026-11-01", "steps": 5000{extra} }}] }}"#)
    };
    let workout = |id: &str, activity: &str, day: &str| {
        format!(
            r#"{{ "id": "{id}", "day": "{day}", "activity": "{activity}", "start_datetime": "{day}T07:00:00+03:00", "end_datetime": "{day}T07:45:00+03:00" }}"#
        )
    };
    let deep = |levels: usize| format!("{}1{}", "[".repeat(levels), "]".repeat(levels));
    // (body, status, collection, what the message must say)
    let cases: Vec<(String, u16, Option<&str>, &str)> = vec![
        (activity(r#", "note": "x\u0000y""#), 422, Some("daily_activity"), "daily_activity[0].note"),
        (activity(r#", "k\u0000": 1"#), 422, Some("daily_activity"), "daily_activity[0]"),
        (
            format!(r#"{{ "workout": [{}] }}"#, workout(r"w\u0000", "running", "2026-11-01")),
            422,
            Some("workout"),
            "workout[0].id",
        ),
        (
            r#"{ "heartrate": [{ "bpm": 60, "source": "aw\u0000ake", "timestamp": "2026-11-01T00:00:00Z" }] }"#.into(),
            422,
            Some("heartrate"),
            "heartrate[0].source",
        ),
        (activity(r#", "note": "\ud800""#), 422, Some("daily_activity"), "surrogate"),
        (activity(r#", "note": "\udc00x""#), 422, Some("daily_activity"), "surrogate"),
        (
            r#"{ "heartrate": [{ "bpm": 60, "source": "\ud800", "timestamp": "2026-11-01T00:00:00Z" }] }"#.into(),
            422,
            Some("heartrate"),
            "surrogate",
        ),
        (
            format!(
                r#"{{ "workout": [{}, {}] }}"#,
                workout("w1", "running", "2026-11-01"),
                workout("w1", "cycling", "2026-11-01")
            ),
            422,
            Some("workout"),
            "`w1`",
        ),
        (
            r#"{ "daily_activity": [{ "id": "a1", "day": "2026-11-01" }, { "id": "a1", "day": "2026-11-02" }] }"#
                .into(),
            422,
            Some("daily_activity"),
            "`a1`",
        ),
        (activity(&format!(r#", "deep": {}"#, deep(100_000))), 422, Some("daily_activity"), "deeper than 32"),
        (activity(&format!(r#", "deep": {}"#, deep(32))), 422, Some("daily_activity"), "deeper than 32"),
        (format!(r#"{{ "sleep": [], "extra": {} }}"#, deep(100_000)), 422, None, "extra"),
        (
            format!(
                r#"{{ "heartrate": [{{ "bpm": 60, "source": "awake", "timestamp": "2026-11-01T00:00:00Z", "x": {} }}] }}"#,
                deep(100_000)
            ),
            422,
            Some("heartrate"),
            "deeper than 32",
        ),
    ];
    for (body, status, collection, says) in &cases {
        let res = post(body.clone()).await.unwrap();
        let got = res.status().as_u16();
        assert!(
            res.headers()["content-type"].to_str().unwrap().starts_with("application/json"),
            "{}: not JSON",
            &body[..body.len().min(120)]
        );
        let answer: Value = res.json().await.unwrap();
        assert_eq!(got, *status, "{}: {answer}", &body[..body.len().min(120)]);
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(error.contains(says), "{error:?} should say {says:?}");
        assert_eq!(answer["collection"].as_str(), *collection, "{answer}");
    }
    assert_eq!(counts(&s.pool).await, [0; 7], "nothing of a refused batch is stored");

    // What is fine is stored: an escaped backslash before `u0000` is text, a
    // surrogate pair is one character, 31 levels under a document's own is the limit.
    for body in [
        activity(r#", "note": "C:\\u0000""#),
        activity(&format!(r#", "deep": {}"#, deep(31))),
        activity(r#", "note": "\ud83d\ude00""#),
    ] {
        let res = post(body.clone()).await.unwrap();
        assert_eq!(res.status(), 200, "{body}: {}", res.text().await.unwrap());
    }
    let note: String = sqlx::query_scalar("SELECT payload->>'note' FROM raw_documents WHERE oura_id = 'a1'")
        .fetch_one(&s.pool)
        .await
        .unwrap();
    assert_eq!(note, "\u{1F600}");

    // The other ways to get it wrong answer JSON too.
    let http_err = |method: reqwest::Method, path: &str, body: Option<&str>| {
        let mut r = http.request(method, format!("http://{}{path}", s.addr));
        if let Some(b) = body {
            r = r.header("content-type", "application/json").body(b.to_string());
        }
        r.send()
    };
    for (method, path, body, status) in [
        (reqwest::Method::GET, "/api/v1/metrics/sleep?start=yesterday", None, 400),
        (reqwest::Method::GET, "/api/v1/nothing-here", None, 404),
        (reqwest::Method::DELETE, "/api/v1/ingest", None, 405),
        (reqwest::Method::PUT, "/api/v1/sync/oura", Some("{\"last_synced_day\": 5}"), 422),
        (reqwest::Method::PUT, "/api/v1/sync/oura", Some("{"), 400),
        (reqwest::Method::PUT, "/api/v1/sync/oura", Some("{\"last_synced_day\": \"\\u0000\"}"), 422),
    ] {
        let res = http_err(method.clone(), path, body).await.unwrap();
        assert_eq!(res.status().as_u16(), status, "{method} {path}");
        let answer: Value = res.json().await.unwrap_or_else(|e| panic!("{method} {path}: not JSON: {e}"));
        assert!(answer["error"].is_string(), "{method} {path}: {answer}");
    }
}
