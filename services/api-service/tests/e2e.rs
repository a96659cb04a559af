//! End to end, every part real except Oura's cloud: the fake Oura API (built
//! from Oura's contract, on the real clock) → oura-collector →
//! data-processor → PostgreSQL → api-service, with the database down when
//! the collector starts (it retries until it is back), every document
//! stored exactly once, and the API serving what the fake holds.

use std::sync::Arc;
use std::time::Duration;

use api_service::auth::Keys;
use api_service::{AppState, HttpSettings, app};
use argon2::password_hash::{PasswordHasher, SaltString};
use myhealth_common::testing::{TempPostgres, serve};
use oura_collector::fake::{self, Oura, User};
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
    let keys =
        Arc::new(Keys::new("me", &hash, "an-e2e-signing-key-that-is-32-bytes-long", &Default::default()).unwrap());
    let api = serve(app(AppState::new(pool.clone(), keys), metrics, &HttpSettings::default()).unwrap()).await;
    let user = User {
        utc_offset_minutes: 120,
        first_day: chrono::Utc::now().date_naive() - chrono::Days::new(6),
        heart_rate_every_minutes: 30,
        seed: 3,
    };
    let (oura, oura_state) = fake::start(Oura::new(user, Arc::new(oura_collector::clock::SystemClock))).await;
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
        first_run_days: 7,
        collections: vec![],
        max_requests_per_run: 1000,
        batch_max_bytes: 4 << 20,
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
    assert_eq!(report.outcome, oura_collector::Outcome::Ok, "{report:#?}");

    // A second run (the next CronJob) re-fetches the overlap: nothing doubles.
    oura_collector::run(&settings).await.unwrap();
    let now = chrono::Utc::now();
    let held = oura_state.lock().unwrap().snapshot(now);
    for (collection, docs) in &held {
        if *collection == "heartrate" {
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM heart_rate_samples").fetch_one(&pool).await.unwrap();
            assert!(n as usize >= docs.len() - 1, "heart rate: {n} of {}", docs.len());
            continue;
        }
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM raw_documents WHERE kind = $1")
            .bind(collection)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(n as usize, docs.len(), "{collection}: every document exactly once");
    }
    assert_eq!(oura_state.lock().unwrap().generation, 1, "one refresh; the second run reuses the valid access token");
    let night = held["sleep"].iter().rev().find(|p| p["type"] == "long_sleep").unwrap().clone();
    let day = night["day"].as_str().unwrap().to_string();
    let score = held["daily_sleep"].iter().find(|d| d["day"] == day.as_str()).unwrap()["score"].clone();

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
    let sleep = get(&format!("/api/v1/sleep?start={day}&end={day}")).await;
    // The night: daily_sleep's score beside the long sleep period's durations and HRV.
    assert_eq!(sleep["data"][0]["score"], score);
    assert_eq!(sleep["data"][0]["total_sleep_seconds"], night["total_sleep_duration"]);
    assert_eq!(sleep["data"][0]["deep_sleep_seconds"], night["deep_sleep_duration"]);
    assert_eq!(sleep["data"][0]["average_hrv"].as_f64(), night["average_hrv"].as_f64());
    assert_eq!(sleep["data"][0]["lowest_heart_rate"], night["lowest_heart_rate"]);
    let periods = get(&format!("/api/v1/sleep/periods?start={day}&end={day}")).await;
    let expected = held["sleep"].iter().filter(|p| p["day"] == day.as_str()).count();
    assert_eq!(periods["data"].as_array().unwrap().len(), expected);
    let dash = get("/api/v1/dashboard").await;
    let latest = held["daily_activity"].last().unwrap();
    assert_eq!(dash["activity"]["latest"]["day"], latest["day"]);
    assert!(dash["sleep"]["avg_7d_score"].is_number());
    let trend = get(&format!("/api/v1/trends/sleep_score?period=7d&end={day}")).await;
    assert_eq!(trend["points"][6]["value"].as_f64(), score.as_f64());
}
