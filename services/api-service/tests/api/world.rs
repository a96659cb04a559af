//! The world every test runs in: a throwaway PostgreSQL with the schema,
//! the real data-processor in front of it (to fill it as the collector
//! would) and the API; the signing key, the password and Oura-shaped days.

use std::net::SocketAddr;
use std::sync::Arc;

use api_service::auth::{Claims, Keys};
use api_service::{AppState, HttpSettings, app};
use argon2::password_hash::{PasswordHasher, SaltString};
use myhealth_common::testing::{TempPostgres, serve};
use serde_json::{Value, json};

pub(crate) const KEY: &str = "test-signing-key-of-at-least-32-bytes!!";
pub(crate) const PASSWORD: &str = "correct horse";

pub(crate) fn token(key: &str, exp_offset: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    let c = Claims { sub: "me".into(), iat: now, exp: now + exp_offset };
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &c, &jsonwebtoken::EncodingKey::from_secret(key.as_bytes()))
        .unwrap()
}

pub(crate) fn keys() -> Arc<Keys> {
    let salt = SaltString::from_b64("c29tZXNhbHRzb21lc2FsdA").unwrap();
    let hash = argon2::Argon2::default().hash_password(PASSWORD.as_bytes(), &salt).unwrap().to_string();
    Arc::new(Keys::new("me", &hash, KEY, &Default::default()).unwrap())
}

/// A database with the schema, the processor in front of it, and the API.
pub(crate) struct World {
    pub(crate) _pg: TempPostgres,
    pub(crate) processor: SocketAddr,
    pub(crate) api: SocketAddr,
    pub(crate) http: reqwest::Client,
}

impl World {
    pub(crate) async fn start(settings: HttpSettings) -> World {
        let pg = TempPostgres::start();
        let url = pg.database("api").await;
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        data_processor::MIGRATOR.run(&pool).await.unwrap();
        let metrics = myhealth_common::telemetry::init_metrics();
        let processor =
            serve(data_processor::app(data_processor::AppState { pool: pool.clone() }, metrics.clone(), 1 << 20)).await;
        let api = serve(app(AppState::new(pool, keys()), metrics, &settings).unwrap()).await;
        World { _pg: pg, processor, api, http: reqwest::Client::new() }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.api)
    }

    pub(crate) async fn ingest(&self, batch: Value) {
        let res = self.http.post(format!("http://{}/api/v1/ingest", self.processor)).json(&batch).send().await.unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }

    pub(crate) async fn login(&self) -> String {
        let res = self.http.post(self.url("/auth/login")).json(&json!({ "username": "me", "password": PASSWORD }));
        let ok: Value = res.send().await.unwrap().json().await.unwrap();
        assert_eq!(ok["expires_in"], 86400);
        ok["token"].as_str().unwrap().to_string()
    }

    pub(crate) async fn get(&self, path: &str, tok: &str) -> Value {
        let res = self.http.get(self.url(path)).bearer_auth(tok).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        res.json().await.unwrap()
    }
}

/// A day's `daily_sleep` and its night (the long sleep period), as Oura sends them.
pub(crate) fn nights(
    days: &[String],
    score: impl Fn(usize) -> i64,
    total: impl Fn(usize) -> i64,
) -> (Vec<Value>, Vec<Value>) {
    let daily = days.iter().enumerate().map(|(i, d)| json!({ "id": format!("ds{d}"), "day": d, "score": score(i), "contributors": { "timing": 70 }, "timestamp": format!("{d}T00:00:00+00:00") })).collect();
    let periods = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            json!({ "id": format!("n{d}"), "day": d, "type": "long_sleep", "period": 0, "bedtime_start": format!("{d}T00:10:00+02:00"), "bedtime_end": format!("{d}T07:40:00+02:00"),
                    "time_in_bed": 27000, "total_sleep_duration": total(i), "average_hrv": 41, "lowest_heart_rate": 50,
                    "heart_rate": { "interval": 300.0, "items": [55.0, null, 51.0], "timestamp": format!("{d}T00:10:00+02:00") },
                    "hrv": { "interval": 300.0, "items": [30.0, 35.5, null], "timestamp": format!("{d}T00:10:00+02:00") } })
        })
        .collect();
    (daily, periods)
}

/// One of every other collection for each day.
pub(crate) fn others(days: &[String]) -> Value {
    json!({
        "daily_spo2": days.iter().map(|d| json!({ "id": format!("o{d}"), "day": d, "spo2_percentage": { "average": 96.0 }, "breathing_disturbance_index": 5 })).collect::<Vec<_>>(),
        "daily_stress": days.iter().map(|d| json!({ "id": format!("st{d}"), "day": d, "stress_high": 1800, "recovery_high": 3600, "day_summary": "normal" })).collect::<Vec<_>>(),
        "daily_resilience": days.iter().map(|d| json!({ "id": format!("re{d}"), "day": d, "level": "solid", "contributors": { "sleep_recovery": 50.0, "daytime_recovery": 40.0, "stress": 30.0 } })).collect::<Vec<_>>(),
        "daily_cardiovascular_age": days.iter().map(|d| json!({ "id": format!("c{d}"), "day": d, "vascular_age": 39 })).collect::<Vec<_>>(),
        "vO2_max": days.iter().map(|d| json!({ "id": format!("v{d}"), "day": d, "timestamp": format!("{d}T12:00:00+02:00"), "vo2_max": 45 })).collect::<Vec<_>>(),
        "workout": days.iter().map(|d| json!({ "id": format!("w{d}"), "day": d, "activity": "cycling", "intensity": "moderate", "source": "autodetected", "calories": 300.0, "distance": 12000.0, "start_datetime": format!("{d}T17:00:00+02:00"), "end_datetime": format!("{d}T17:50:00+02:00") })).collect::<Vec<_>>(),
        "session": days.iter().map(|d| json!({ "id": format!("se{d}"), "day": d, "type": "meditation", "mood": "good", "start_datetime": format!("{d}T21:00:00+02:00"), "end_datetime": format!("{d}T21:10:00+02:00"), "heart_rate": { "interval": 5.0, "items": [60.0, 58.0], "timestamp": format!("{d}T21:00:00+02:00") } })).collect::<Vec<_>>(),
    })
}

/// Lenient limits for the tests that are not about limits.
pub(crate) fn relaxed() -> HttpSettings {
    HttpSettings {
        rate_limit_per_second: 10_000,
        rate_limit_burst: 10_000,
        login_rate_limit_per_minute: 600,
        ..Default::default()
    }
}
