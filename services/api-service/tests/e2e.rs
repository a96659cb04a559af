//! End to end, every part real except Oura's cloud: a fake Oura API →
//! oura-collector → data-processor → PostgreSQL → api-service, with the
//! database down when the collector starts (it retries until it is back)
//! and every record stored exactly once.

use std::sync::Arc;
use std::time::Duration;

use api_service::auth::Keys;
use api_service::{AppState, HttpSettings, app};
use argon2::password_hash::{PasswordHasher, SaltString};
use myhealth_common::testing::{TempPostgres, serve};
use oura_collector::fake::{self, Oura};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn oura_to_api_through_an_outage() {
    let pg = Arc::new(TempPostgres::start());
    let url = pg.database("e2e").await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    data_processor::MIGRATOR.run(&pool).await.unwrap();
    let metrics = myhealth_common::telemetry::init_metrics();
    let processor =
        serve(data_processor::app(data_processor::AppState { pool: pool.clone() }, metrics.clone(), 1 << 20)).await;
    let salt = SaltString::from_b64("c29tZXNhbHRzb21lc2FsdA").unwrap();
    let hash = argon2::Argon2::default().hash_password(b"pw", &salt).unwrap().to_string();
    let keys = Arc::new(Keys::new("me", &hash, "an-e2e-signing-key-that-is-32-bytes-long").unwrap());
    let api = serve(app(AppState::new(pool.clone(), keys), metrics, &HttpSettings::default()).unwrap()).await;
    let (oura, oura_state) = fake::start(Oura::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token.json");
    std::fs::write(&token_file, "refresh-0").unwrap();
    let settings = oura_collector::Settings {
        oura_base_url: format!("http://{oura}"),
        client_id: "cid".into(),
        client_secret: "csecret".into(),
        token_secret_id: None,
        token_file: Some(token_file),
        processor_url: format!("http://{processor}"),
        overlap_days: 2,
        backfill: None,
        http_timeout_seconds: 5,
        max_attempts: 6,
        backoff_base_ms: 100,
    };

    // The database is down as the CronJob fires, and back a moment later.
    pg.stop();
    let restarter = {
        let pg = pg.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1500));
            pg.restart();
        })
    };
    let began = std::time::Instant::now();
    let report = oura_collector::run(&settings).await.expect("the collector rides out the outage");
    assert!(began.elapsed() >= Duration::from_millis(1500), "it cannot have stored anything before the restart");
    restarter.join().unwrap();
    assert_eq!((report.sleep, report.activity, report.readiness, report.heart_rate), (2, 1, 1, 1));

    // A second run (the next CronJob) re-fetches the overlap: nothing doubles.
    oura_collector::run(&settings).await.unwrap();
    let counts: (i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM sleep_metrics), (SELECT count(*) FROM activity_metrics),
                (SELECT count(*) FROM readiness_metrics), (SELECT count(*) FROM heart_rate_samples),
                (SELECT count(*) FROM raw_documents)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    // raw_documents keeps the daily documents (heart-rate samples are their own rows).
    assert_eq!(counts, (2, 1, 1, 1, 4), "every record exactly once");
    assert_eq!(oura_state.lock().unwrap().generation, 1, "one refresh; the second run reuses the valid access token");

    // What the person sees.
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("http://{api}/auth/login"))
        .json(&json!({ "username": "me", "password": "pw" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tok = login["token"].as_str().unwrap();
    let get = |path: &str| {
        let req = http.get(format!("http://{api}{path}")).bearer_auth(tok);
        async move {
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.unwrap()
        }
    };
    let sleep = get("/api/v1/sleep").await;
    assert_eq!(sleep["data"][0]["day"], "2026-11-02");
    assert_eq!(sleep["data"][1]["day"], "2026-11-01");
    // The night: daily_sleep's score merged with the long sleep period's durations and HRV.
    assert_eq!(sleep["data"][1]["score"], 82);
    assert_eq!(sleep["data"][1]["total_sleep_seconds"], 27000);
    assert_eq!(sleep["data"][1]["deep_sleep_seconds"], 5400);
    assert_eq!(sleep["data"][1]["average_hrv"], 48.0);
    assert_eq!(sleep["data"][1]["lowest_heart_rate"], 51);
    let dash = get("/api/v1/dashboard").await;
    assert_eq!(dash["activity"]["latest"]["steps"], 10234);
    assert_eq!(dash["readiness"]["latest"]["temperature_deviation"], -0.2);
    assert_eq!(dash["sleep"]["avg_7d_score"], 76.5);
    let trend = get("/api/v1/trends/sleep_score?period=7d&end=2026-11-02").await;
    let values: Vec<&Value> = trend["points"].as_array().unwrap().iter().map(|p| &p["value"]).collect();
    assert_eq!(values[5..], [&json!(82.0), &json!(71.0)]);
}
