//! The collector against a fake Oura API (documented v2 shapes: `data` +
//! `next_token` pages, OAuth refresh with rotating refresh tokens, 429 with
//! `Retry-After`, a 500) and the real data-processor on a real PostgreSQL.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use myhealth_common::testing::{TempPostgres, serve};
use oura_collector::{Settings, run};
use serde_json::{Value, json};

#[derive(Default)]
struct Oura {
    generation: u32,
    calls: HashMap<String, u32>,
    /// Collections that answer 500 every time.
    broken: Vec<String>,
    /// The current access token has expired (the next call gets 401).
    expired: bool,
}

type Shared = Arc<Mutex<Oura>>;

async fn token(State(o): State<Shared>, Form(f): Form<HashMap<String, String>>) -> Response {
    let mut o = o.lock().unwrap();
    if f.get("grant_type").map(String::as_str) != Some("refresh_token")
        || f.get("client_id").map(String::as_str) != Some("cid")
    {
        return StatusCode::BAD_REQUEST.into_response();
    }
    // Only the latest refresh token is valid: Oura rotates them.
    if f.get("refresh_token") != Some(&format!("refresh-{}", o.generation)) {
        return (StatusCode::UNAUTHORIZED, Json(json!({ "error": "invalid_grant" }))).into_response();
    }
    o.generation += 1;
    Json(json!({ "access_token": format!("access-{}", o.generation), "refresh_token": format!("refresh-{}", o.generation), "expires_in": 86400, "token_type": "bearer" })).into_response()
}

async fn collection(
    State(o): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut o = o.lock().unwrap();
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    if auth != format!("Bearer access-{}", o.generation) || std::mem::take(&mut o.expired) {
        return (StatusCode::UNAUTHORIZED, Json(json!({ "detail": "invalid token" }))).into_response();
    }
    let n = {
        let c = o.calls.entry(name.clone()).or_default();
        *c += 1;
        *c
    };
    if o.broken.contains(&name) {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    match (name.as_str(), n) {
        ("daily_activity", 1) => return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")]).into_response(),
        ("daily_readiness", 1) => return StatusCode::BAD_GATEWAY.into_response(),
        _ => {}
    }
    let page2 = q.get("next_token").map(String::as_str) == Some("p2");
    let body = match (name.as_str(), page2) {
        ("daily_sleep", false) => {
            json!({ "data": [{ "id": "ds1", "day": "2026-11-01", "score": 82, "contributors": {}, "timestamp": "2026-11-01T00:00:00+00:00" }], "next_token": "p2" })
        }
        ("daily_sleep", true) => {
            json!({ "data": [{ "id": "ds2", "day": "2026-11-02", "score": 71, "contributors": {}, "timestamp": "2026-11-02T00:00:00+00:00" }], "next_token": null })
        }
        ("sleep", _) => json!({ "data": [
            { "id": "nap", "day": "2026-11-01", "type": "sleep", "total_sleep_duration": 1200, "deep_sleep_duration": 0, "light_sleep_duration": 1200, "rem_sleep_duration": 0, "efficiency": 80, "latency": 300, "average_hrv": 30, "lowest_heart_rate": 60 },
            { "id": "night", "day": "2026-11-01", "type": "long_sleep", "total_sleep_duration": 27000, "deep_sleep_duration": 5400, "light_sleep_duration": 15000, "rem_sleep_duration": 6600, "efficiency": 91, "latency": 540, "average_hrv": 48, "lowest_heart_rate": 51 }
        ], "next_token": null }),
        ("daily_activity", _) => {
            json!({ "data": [{ "id": "a1", "day": "2026-11-01", "score": 88, "steps": 10234, "active_calories": 512, "total_calories": 2500, "high_activity_time": 1200, "medium_activity_time": 2400, "low_activity_time": 9000 }], "next_token": null })
        }
        ("daily_readiness", _) => {
            json!({ "data": [{ "id": "r1", "day": "2026-11-01", "score": 79, "temperature_deviation": -0.2, "contributors": { "resting_heart_rate": 90, "hrv_balance": 70 } }], "next_token": null })
        }
        ("heartrate", _) => {
            json!({ "data": [{ "bpm": 58, "source": "awake", "timestamp": "2026-11-01T08:00:00+00:00" }], "next_token": null })
        }
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    Json(body).into_response()
}

async fn processor(pg: &TempPostgres, db: &str) -> (SocketAddr, sqlx::PgPool) {
    let url = pg.database(db).await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    data_processor::MIGRATOR.run(&pool).await.unwrap();
    let app = data_processor::app(
        data_processor::AppState { pool: pool.clone() },
        myhealth_common::telemetry::init_metrics(),
        1 << 20,
    );
    (serve(app).await, pool)
}

fn settings(oura: SocketAddr, proc_addr: SocketAddr, token_file: &std::path::Path) -> Settings {
    Settings {
        oura_base_url: format!("http://{oura}"),
        client_id: "cid".into(),
        client_secret: "csecret".into(),
        token_file: token_file.to_path_buf(),
        processor_url: format!("http://{proc_addr}"),
        overlap_days: 2,
        backfill: Some(30),
        http_timeout_seconds: 5,
        max_attempts: 4,
        backoff_base_ms: 10,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn collects_pages_retries_rotates_tokens_and_stores() {
    let pg = TempPostgres::start();
    let (proc_addr, pool) = processor(&pg, "collect").await;
    let state: Shared = Arc::default();
    let oura = serve(
        Router::new()
            .route("/oauth/token", post(token))
            .route("/v2/usercollection/{name}", get(collection))
            .with_state(state.clone()),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("oura-token.json");
    std::fs::write(&token_file, "refresh-0").unwrap();

    let report = run(&settings(oura, proc_addr, &token_file)).await.unwrap();
    assert_eq!((report.sleep, report.activity, report.readiness, report.heart_rate), (2, 1, 1, 1));

    // The rotated refresh token was persisted; the old one is dead.
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&token_file).unwrap()).unwrap();
    assert_eq!(saved["refresh_token"], "refresh-1");
    // The 429 and the 502 were retried.
    let calls = state.lock().unwrap().calls.clone();
    assert_eq!(calls["daily_activity"], 2);
    assert_eq!(calls["daily_readiness"], 2);
    assert_eq!(calls["daily_sleep"], 2, "two pages");

    // Merged sleep: the score of daily_sleep, the durations of the long sleep (not the nap).
    let (score, total, hrv): (i16, i32, f32) =
        sqlx::query_as("SELECT score, total_sleep_seconds, average_hrv FROM sleep_metrics WHERE day = '2026-11-01'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((score, total, hrv), (82, 27000, 48.0));
    let day2: (i16, Option<i32>) =
        sqlx::query_as("SELECT score, total_sleep_seconds FROM sleep_metrics WHERE day = '2026-11-02'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(day2, (71, None));
    let synced: chrono::NaiveDate = sqlx::query_scalar("SELECT last_synced_day FROM sync_state WHERE stream = 'oura'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(synced, chrono::Utc::now().date_naive());

    // A second run starts from the persisted tokens; its access token has
    // expired meanwhile, so it refreshes (rotating again) and carries on.
    state.lock().unwrap().expired = true;
    run(&settings(oura, proc_addr, &token_file)).await.unwrap();
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&token_file).unwrap()).unwrap();
    assert_eq!(saved["refresh_token"], "refresh-2");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM sleep_metrics").fetch_one(&pool).await.unwrap();
    assert_eq!(rows, 2, "re-collecting stores nothing twice");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_half_way_stores_nothing_and_leaves_the_sync_state() {
    let pg = TempPostgres::start();
    let (proc_addr, pool) = processor(&pg, "failure").await;
    let state: Shared = Arc::new(Mutex::new(Oura { broken: vec!["daily_readiness".into()], ..Default::default() }));
    let oura = serve(
        Router::new()
            .route("/oauth/token", post(token))
            .route("/v2/usercollection/{name}", get(collection))
            .with_state(state.clone()),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("oura-token.json");
    std::fs::write(&token_file, "refresh-0").unwrap();

    let err = run(&settings(oura, proc_addr, &token_file)).await.unwrap_err();
    assert!(format!("{err:#}").contains("giving up"), "{err:#}");
    assert_eq!(state.lock().unwrap().calls["daily_readiness"], 4, "retried up to max_attempts");
    let synced: Option<chrono::NaiveDate> =
        sqlx::query_scalar("SELECT last_synced_day FROM sync_state WHERE stream = 'oura'")
            .fetch_optional(&pool)
            .await
            .unwrap();
    assert_eq!(synced, None, "the sync state must not advance");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM raw_documents").fetch_one(&pool).await.unwrap();
    assert_eq!(rows, 0);
    // Even a failed run keeps the rotated token it was given.
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&token_file).unwrap()).unwrap();
    assert_eq!(saved["refresh_token"], "refresh-1");
}
