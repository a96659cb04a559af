//! api-service against a real PostgreSQL filled through the real
//! data-processor: login, tokens (none, forged, expired → 401), the data
//! routes with cursor paging, and the dashboard.

use api_service::auth::{Claims, Keys};
use api_service::{AppState, app};
use argon2::password_hash::{PasswordHasher, SaltString};
use myhealth_common::testing::{TempPostgres, serve};
use serde_json::{Value, json};

const KEY: &str = "test-signing-key-of-at-least-32-bytes!!";

fn token(key: &str, exp_offset: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    let c = Claims { sub: "me".into(), iat: now, exp: now + exp_offset };
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &c, &jsonwebtoken::EncodingKey::from_secret(key.as_bytes()))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn login_tokens_and_data() {
    let pg = TempPostgres::start();
    let url = pg.database("api").await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    data_processor::MIGRATOR.run(&pool).await.unwrap();
    let metrics = myhealth_common::telemetry::init_metrics();
    let processor =
        serve(data_processor::app(data_processor::AppState { pool: pool.clone() }, metrics.clone(), 1 << 20)).await;

    let salt = SaltString::from_b64("c29tZXNhbHRzb21lc2FsdA").unwrap();
    let hash = argon2::Argon2::default().hash_password(b"correct horse", &salt).unwrap().to_string();
    let keys = Keys::new("me", &hash, KEY).unwrap();
    let api = serve(app(AppState { pool: pool.clone(), auth: std::sync::Arc::new(keys) }, metrics)).await;
    let http = reqwest::Client::new();
    let u = |p: &str| format!("http://{api}{p}");

    // Ten days of data through the processor.
    let days: Vec<String> = (1..=10).map(|d| format!("2026-11-{d:02}")).collect();
    let batch = json!({
        "sleep": days.iter().enumerate().map(|(i, d)| json!({ "id": format!("s{i}"), "day": d, "score": 70 + i, "total_sleep_duration": 25000 + i * 100 })).collect::<Vec<_>>(),
        "activity": days.iter().enumerate().map(|(i, d)| json!({ "id": format!("a{i}"), "day": d, "score": 80, "steps": 9000 + i })).collect::<Vec<_>>(),
        "readiness": [{ "id": "r", "day": "2026-11-10", "score": 85, "temperature_deviation": 0.1 }],
    });
    assert_eq!(http.post(format!("http://{processor}/api/v1/ingest")).json(&batch).send().await.unwrap().status(), 200);

    // Login.
    let bad = http.post(u("/auth/login")).json(&json!({ "username": "me", "password": "wrong" })).send().await.unwrap();
    assert_eq!(bad.status(), 401);
    let ok: Value = http
        .post(u("/auth/login"))
        .json(&json!({ "username": "me", "password": "correct horse" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ok["expires_in"], 86400);
    let tok = ok["token"].as_str().unwrap().to_string();

    // No token, a forged one, an expired one: 401.
    assert_eq!(http.get(u("/api/v1/sleep")).send().await.unwrap().status(), 401);
    assert_eq!(
        http.get(u("/api/v1/sleep"))
            .bearer_auth(token("another-key-that-is-long-enough-123", 3600))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(http.get(u("/api/v1/sleep")).bearer_auth(token(KEY, -10)).send().await.unwrap().status(), 401);
    assert_eq!(http.get(u("/api/v1/sleep")).bearer_auth(token(KEY, 3600)).send().await.unwrap().status(), 200);

    // Paging, newest first.
    let p1: Value = http.get(u("/api/v1/sleep?limit=4")).bearer_auth(&tok).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        p1["data"].as_array().unwrap().iter().map(|r| r["day"].clone()).collect::<Vec<_>>(),
        vec![json!("2026-11-10"), json!("2026-11-09"), json!("2026-11-08"), json!("2026-11-07")]
    );
    assert_eq!(p1["next_cursor"], "2026-11-07");
    let p2: Value = http
        .get(u("/api/v1/sleep?limit=4&cursor=2026-11-07"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(p2["data"][0]["day"], "2026-11-06");
    let p3: Value = http
        .get(u("/api/v1/sleep?limit=4&cursor=2026-11-03"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(p3["data"].as_array().unwrap().len(), 2);
    assert_eq!(p3["next_cursor"], Value::Null);
    assert_eq!(http.get(u("/api/v1/sleep?limit=0")).bearer_auth(&tok).send().await.unwrap().status(), 422);
    assert_eq!(http.get(u("/api/v1/steps")).bearer_auth(&tok).send().await.unwrap().status(), 404);

    // Dashboard: latest day and the 7-day average (scores 73..=79 → 76).
    let d: Value = http.get(u("/api/v1/dashboard")).bearer_auth(&tok).send().await.unwrap().json().await.unwrap();
    assert_eq!(d["sleep"]["latest"]["day"], "2026-11-10");
    assert_eq!(d["sleep"]["avg_7d_score"], 76.0);
    assert_eq!(d["readiness"]["latest"]["score"], 85);
}
