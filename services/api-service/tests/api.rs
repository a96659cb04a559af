//! api-service against a real PostgreSQL filled through the real
//! data-processor: login, tokens (none, forged, expired, or signed with the
//! right key but for another subject, not valid yet, or too long-lived →
//! 401), the login pool's 503, client addresses behind a proxy, the data
//! routes with cursor paging (days and timed documents: sleep periods with
//! their series, workouts, sessions), the new daily series, the dashboard,
//! trends, rate limits (429),
//! CORS, request ids and compression; the OpenAPI document against the
//! routes, and schemathesis against the running service.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use api_service::auth::{Claims, Keys};
use api_service::{AppState, HttpSettings, app};
use argon2::password_hash::{PasswordHasher, SaltString};
use myhealth_common::testing::{TempPostgres, python_tool, serve};
use serde_json::{Value, json};

const KEY: &str = "test-signing-key-of-at-least-32-bytes!!";
const PASSWORD: &str = "correct horse";

fn token(key: &str, exp_offset: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    let c = Claims { sub: "me".into(), iat: now, exp: now + exp_offset };
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &c, &jsonwebtoken::EncodingKey::from_secret(key.as_bytes()))
        .unwrap()
}

fn keys() -> Arc<Keys> {
    let salt = SaltString::from_b64("c29tZXNhbHRzb21lc2FsdA").unwrap();
    let hash = argon2::Argon2::default().hash_password(PASSWORD.as_bytes(), &salt).unwrap().to_string();
    Arc::new(Keys::new("me", &hash, KEY, &Default::default()).unwrap())
}

/// A database with the schema, the processor in front of it, and the API.
struct World {
    _pg: TempPostgres,
    processor: SocketAddr,
    api: SocketAddr,
    http: reqwest::Client,
}

impl World {
    async fn start(settings: HttpSettings) -> World {
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

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.api)
    }

    async fn ingest(&self, batch: Value) {
        let res = self.http.post(format!("http://{}/api/v1/ingest", self.processor)).json(&batch).send().await.unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }

    async fn login(&self) -> String {
        let res = self.http.post(self.url("/auth/login")).json(&json!({ "username": "me", "password": PASSWORD }));
        let ok: Value = res.send().await.unwrap().json().await.unwrap();
        assert_eq!(ok["expires_in"], 86400);
        ok["token"].as_str().unwrap().to_string()
    }

    async fn get(&self, path: &str, tok: &str) -> Value {
        let res = self.http.get(self.url(path)).bearer_auth(tok).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        res.json().await.unwrap()
    }
}

/// A day's `daily_sleep` and its night (the long sleep period), as Oura sends them.
fn nights(days: &[String], score: impl Fn(usize) -> i64, total: impl Fn(usize) -> i64) -> (Vec<Value>, Vec<Value>) {
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
fn others(days: &[String]) -> Value {
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
fn relaxed() -> HttpSettings {
    HttpSettings {
        rate_limit_per_second: 10_000,
        rate_limit_burst: 10_000,
        login_rate_limit_per_minute: 600,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn login_tokens_and_data() {
    let w = World::start(relaxed()).await;
    let days: Vec<String> = (1..=10).map(|d| format!("2026-11-{d:02}")).collect();
    let (daily, periods) = nights(&days, |i| 70 + i as i64, |i| 25000 + i as i64 * 100);
    w.ingest(json!({
        "daily_sleep": daily,
        "sleep": periods,
        "daily_activity": days.iter().enumerate().map(|(i, d)| json!({ "id": format!("a{i}"), "day": d, "score": 80, "steps": 9000 + i })).collect::<Vec<_>>(),
        "daily_readiness": [{ "id": "r", "day": "2026-11-10", "score": 85, "temperature_deviation": 0.1 }],
    }))
    .await;
    w.ingest(others(&days)).await;

    // Login: a wrong password, a wrong user, a body that is not JSON.
    let bad = w.http.post(w.url("/auth/login")).json(&json!({ "username": "me", "password": "wrong" }));
    assert_eq!(bad.send().await.unwrap().status(), 401);
    let bad = w.http.post(w.url("/auth/login")).json(&json!({ "username": "you", "password": PASSWORD }));
    assert_eq!(bad.send().await.unwrap().status(), 401);
    let res = w.http.post(w.url("/auth/login")).body("username=me").send().await.unwrap();
    assert_eq!(res.status(), 415);
    let body: Value = res.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("Content-Type"), "{body}");
    let tok = w.login().await;

    // No token, a forged one, an expired one, a valid one.
    assert_eq!(w.http.get(w.url("/api/v1/sleep")).send().await.unwrap().status(), 401);
    let forged = token("another-key-that-is-long-enough-123", 3600);
    assert_eq!(w.http.get(w.url("/api/v1/sleep")).bearer_auth(forged).send().await.unwrap().status(), 401);
    assert_eq!(w.http.get(w.url("/api/v1/sleep")).bearer_auth(token(KEY, -10)).send().await.unwrap().status(), 401);
    assert_eq!(w.http.get(w.url("/api/v1/sleep")).bearer_auth(token(KEY, 3600)).send().await.unwrap().status(), 200);

    // Paging, newest first.
    let p1 = w.get("/api/v1/sleep?limit=4", &tok).await;
    let p1_days: Vec<Value> = p1["data"].as_array().unwrap().iter().map(|r| r["day"].clone()).collect();
    assert_eq!(p1_days, vec![json!("2026-11-10"), json!("2026-11-09"), json!("2026-11-08"), json!("2026-11-07")]);
    assert_eq!(p1["data"][0]["total_sleep_seconds"], 25900);
    assert_eq!(p1["next_cursor"], "2026-11-07");
    let p2 = w.get("/api/v1/sleep?limit=4&cursor=2026-11-07", &tok).await;
    assert_eq!(p2["data"][0]["day"], "2026-11-06");
    let p3 = w.get("/api/v1/sleep?limit=4&cursor=2026-11-03", &tok).await;
    assert_eq!(p3["data"].as_array().unwrap().len(), 2);
    assert_eq!(p3["next_cursor"], Value::Null);
    let window = w.get("/api/v1/activity?start=2026-11-03&end=2026-11-05", &tok).await;
    assert_eq!(window["data"].as_array().unwrap().len(), 3);
    assert_eq!(window["data"][0]["steps"], 9004);

    // Bad queries: 422 (or 400) with a message, never 500.
    for q in ["limit=0", "limit=abc", "start=2026-13-01", "cursor=0001-01-01"] {
        let res = w.http.get(w.url(&format!("/api/v1/sleep?{q}"))).bearer_auth(&tok).send().await.unwrap();
        assert!(matches!(res.status().as_u16(), 400 | 422), "{q}: {}", res.status());
        assert!(res.json::<Value>().await.unwrap()["error"].is_string());
    }
    assert_eq!(w.http.get(w.url("/api/v1/steps")).bearer_auth(&tok).send().await.unwrap().status(), 404);

    // Dashboard: latest day and the 7-day average (scores 73..=79 → 76).
    let d = w.get("/api/v1/dashboard", &tok).await;
    assert_eq!(d["sleep"]["latest"]["day"], "2026-11-10");
    assert_eq!(d["sleep"]["avg_7d_score"], 76.0);
    assert_eq!(d["readiness"]["latest"]["score"], 85);
    assert_eq!(d["readiness"]["avg_7d_score"], 85.0);

    // The dashboard is cached, and a stored batch replaces the cached answer
    // (the processor's NOTIFY reaches the api-service's listener within milliseconds).
    assert_eq!(w.get("/api/v1/dashboard", &tok).await, d);
    w.ingest(json!({ "daily_readiness": [{ "id": "r2", "day": "2026-11-11", "score": 60 }] })).await;
    let mut latest = Value::Null;
    for _ in 0..50 {
        latest = w.get("/api/v1/dashboard", &tok).await["readiness"]["latest"]["day"].clone();
        if latest == "2026-11-11" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(latest, "2026-11-11", "a stored batch must show on the dashboard");
    // The latest of the other daily series.
    let d = w.get("/api/v1/dashboard", &tok).await;
    assert_eq!(d["spo2"]["spo2_average"], 96.0);
    assert_eq!(d["vo2_max"]["vo2_max"], 45.0);
    assert_eq!(d["cardiovascular_age"]["day"], "2026-11-10");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_new_series_sleep_periods_workouts_and_sessions() {
    let w = World::start(relaxed()).await;
    let days: Vec<String> = (1..=5).map(|d| format!("2026-11-{d:02}")).collect();
    let (daily, periods) = nights(&days, |_| 80, |i| 26000 + i as i64);
    let nap = json!({ "id": "nap", "day": "2026-11-03", "type": "sleep", "bedtime_start": "2026-11-03T14:00:00+02:00", "bedtime_end": "2026-11-03T14:30:00+02:00", "total_sleep_duration": 1600 });
    let mut periods: Vec<Value> = periods;
    periods.push(nap);
    w.ingest(json!({ "daily_sleep": daily, "sleep": periods })).await;
    w.ingest(others(&days)).await;
    let tok = w.login().await;

    // Every period, newest first by bedtime, with its series; paged by start time.
    let p = w.get("/api/v1/sleep/periods?limit=2", &tok).await;
    assert_eq!(p["data"][0]["id"], "n2026-11-05");
    assert_eq!(p["data"][0]["type"], "long_sleep");
    assert_eq!(p["data"][0]["heart_rate"]["items"], json!([55.0, null, 51.0]));
    let cursor = p["next_cursor"].as_str().unwrap().to_string();
    let p2 = w.get(&format!("/api/v1/sleep/periods?limit=2&cursor={cursor}"), &tok).await;
    assert_eq!(p2["data"][0]["id"], "nap", "the nap of the 3rd started after that night");
    let day3 = w.get("/api/v1/sleep/periods?start=2026-11-03&end=2026-11-03", &tok).await;
    assert_eq!(day3["data"].as_array().unwrap().len(), 2);
    // The day's sleep is the long sleep's, with the contributors.
    let s = w.get("/api/v1/sleep?start=2026-11-03&end=2026-11-03", &tok).await;
    assert_eq!(s["data"][0]["total_sleep_seconds"], 26002);
    assert_eq!(s["data"][0]["contributor_timing"], 70);

    let wk = w.get("/api/v1/workouts?limit=10", &tok).await;
    assert_eq!(wk["data"].as_array().unwrap().len(), 5);
    assert_eq!(wk["data"][0]["distance_meters"], 12000.0);
    let se = w.get("/api/v1/sessions", &tok).await;
    assert_eq!(se["data"][0]["type"], "meditation");
    for (path, field, value) in [
        ("/api/v1/spo2", "spo2_average", json!(96.0)),
        ("/api/v1/stress", "day_summary", json!("normal")),
        ("/api/v1/resilience", "level", json!("solid")),
        ("/api/v1/cardiovascular_age", "vascular_age", json!(39)),
        ("/api/v1/vo2_max", "vo2_max", json!(45.0)),
    ] {
        let page = w.get(path, &tok).await;
        assert_eq!(page["data"].as_array().unwrap().len(), 5, "{path}");
        assert_eq!(page["data"][0][field], value, "{path}");
    }
    let t = w.get("/api/v1/trends/spo2_average?period=7d&end=2026-11-05", &tok).await;
    assert_eq!(t["points"][6]["value"], 96.0);
    let t = w.get("/api/v1/trends/vo2_max?period=7d&end=2026-11-05", &tok).await;
    assert_eq!(t["points"][6]["rolling_avg_7d"], 45.0);
    // A bad cursor is the client's mistake.
    let res = w.http.get(w.url("/api/v1/workouts?cursor=yesterday")).bearer_auth(&tok).send().await.unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn trends_have_a_point_per_day_and_a_rolling_average() {
    let w = World::start(relaxed()).await;
    // Steps on 20 days of November except the 15th; steps = 1000 × day.
    let docs: Vec<Value> = (1..=20)
        .filter(|d| *d != 15)
        .map(|d| json!({ "id": format!("a{d}"), "day": format!("2026-11-{d:02}"), "steps": 1000 * d }))
        .collect();
    w.ingest(json!({ "daily_activity": docs })).await;
    let tok = w.login().await;

    let t = w.get("/api/v1/trends/steps?period=7d&end=2026-11-20", &tok).await;
    assert_eq!(t["start"], "2026-11-14");
    assert_eq!(t["metric"], "steps");
    assert_eq!(t["period"], "7d");
    let points = t["points"].as_array().unwrap();
    assert_eq!(points.len(), 7);
    assert_eq!(points[0]["day"], "2026-11-14");
    // The 14th averages the 8th..14th: 11000.
    assert_eq!(points[0]["value"], 14000.0);
    assert_eq!(points[0]["rolling_avg_7d"], 11000.0);
    // The 15th has no value, and its average skips it: 9th..14th → 11500.
    assert_eq!(points[1]["value"], Value::Null);
    assert_eq!(points[1]["rolling_avg_7d"], 11500.0);
    // The 20th: 14th,16th..20th → (14+16+17+18+19+20)/6 × 1000.
    assert_eq!(points[6]["rolling_avg_7d"], 104000.0 / 6.0);

    let t = w.get("/api/v1/trends/steps?period=90d&end=2026-11-20", &tok).await;
    assert_eq!(t["points"].as_array().unwrap().len(), 90);
    let t = w.get("/api/v1/trends/sleep_score", &tok).await;
    assert_eq!(t["period"], "30d", "30 days by default");
    assert_eq!(t["end"], chrono::Utc::now().date_naive().to_string());

    let res = w.http.get(w.url("/api/v1/trends/weight")).bearer_auth(&tok).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.json::<Value>().await.unwrap()["error"].as_str().unwrap().contains("unknown variant `weight`"));
    let res = w.http.get(w.url("/api/v1/trends/steps?period=1y")).bearer_auth(&tok).send().await.unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_answer_429_per_client() {
    let w = World::start(HttpSettings {
        rate_limit_per_second: 1,
        rate_limit_burst: 3,
        login_rate_limit_per_minute: 2,
        trusted_proxy_hops: 1,
        ..Default::default()
    })
    .await;
    let attempt = |from: &'static str| {
        w.http
            .post(w.url("/auth/login"))
            .header("x-forwarded-for", from)
            .json(&json!({ "username": "me", "password": "guess" }))
            .send()
    };
    // Two guesses a minute from one client; the third is refused before argon2 runs.
    assert_eq!(attempt("203.0.113.7").await.unwrap().status(), 401);
    assert_eq!(attempt("203.0.113.7").await.unwrap().status(), 401);
    let refused = attempt("203.0.113.7").await.unwrap();
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&wait), "retry-after {wait}");
    assert!(refused.json::<Value>().await.unwrap()["error"].as_str().unwrap().starts_with("too many requests"));
    // Another client is not affected — and a client cannot pose as another by
    // writing its own X-Forwarded-For: only the right-most (proxy-written) entry counts.
    assert_eq!(attempt("198.51.100.1").await.unwrap().status(), 401);
    assert_eq!(attempt("10.9.9.9, 203.0.113.7").await.unwrap().status(), 429);

    // The data routes: a burst of 3, then 429.
    let tok = token(KEY, 3600);
    let mut statuses = vec![];
    for _ in 0..5 {
        let res = w.http.get(w.url("/api/v1/dashboard")).header("x-forwarded-for", "192.0.2.5").bearer_auth(&tok);
        statuses.push(res.send().await.unwrap().status().as_u16());
    }
    assert_eq!(&statuses[..3], &[200, 200, 200]);
    assert!(statuses[3..].contains(&429), "{statuses:?}");
    // Probes are never limited.
    for _ in 0..10 {
        assert_eq!(w.http.get(w.url("/health")).send().await.unwrap().status(), 200);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cors_request_ids_and_compression() {
    let w =
        World::start(HttpSettings { cors_allowed_origins: vec!["https://app.example.org".into()], ..relaxed() }).await;
    // Preflight from the allowed origin, and from another.
    let pre = |origin: &'static str| {
        w.http
            .request(reqwest::Method::OPTIONS, w.url("/api/v1/dashboard"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let ok = pre("https://app.example.org").await.unwrap();
    assert_eq!(ok.headers()["access-control-allow-origin"], "https://app.example.org");
    assert!(ok.headers()["access-control-allow-headers"].to_str().unwrap().contains("authorization"));
    let other = pre("https://evil.example.com").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());

    // A request id is made up when absent, and echoed when sent.
    let res = w.http.get(w.url("/health")).send().await.unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let res = w.http.get(w.url("/health")).header("x-request-id", "trace-me-42").send().await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-me-42");

    // Large enough responses are gzipped when the client asks.
    let res = w.http.get(w.url("/openapi.json")).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(res.headers()["content-encoding"], "gzip");
    let res = w.http.get(w.url("/openapi.json")).send().await.unwrap();
    assert!(res.headers().get("content-encoding").is_none());
    let served: Value = res.json().await.unwrap();
    assert_eq!(served["openapi"], "3.1.0");
}

/// The committed `openapi.json` is what the service serves, and every
/// documented operation is a route of the service (and answers in the
/// documented error shape without a token). Routes and document are built
/// from the same annotations, so the reverse holds by construction.
#[tokio::test(flavor = "multi_thread")]
async fn openapi_document_is_committed_and_matches_the_routes() {
    let generated = serde_json::to_string_pretty(&api_service::openapi()).unwrap() + "\n";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "services/api-service/openapi.json is stale: run `cargo run -q -p api-service -- openapi > services/api-service/openapi.json`"
    );

    // No database needed: every operation is refused for want of a token first.
    let pool = sqlx::postgres::PgPoolOptions::new().connect_lazy("postgres://nobody@127.0.0.1:9/none").unwrap();
    let metrics = myhealth_common::telemetry::init_metrics();
    let api = serve(app(AppState::new(pool, keys()), metrics, &relaxed()).unwrap()).await;
    let http = reqwest::Client::new();
    let doc: Value = http.get(format!("http://{api}/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(doc, serde_json::from_str::<Value>(&generated).unwrap());
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let url = format!("http://{api}{}", path.replace("{metric}", "steps"));
            let res = http.request(method.to_uppercase().parse().unwrap(), url).send().await.unwrap();
            let status = res.status().as_u16();
            assert_ne!(status, 404, "{method} {path} is documented but not routed");
            assert_ne!(status, 405, "{method} {path} is documented but not routed for {method}");
            let documented = op["responses"].as_object().unwrap();
            assert!(
                documented.contains_key(&status.to_string()) || documented.contains_key(&format!("{}XX", status / 100)),
                "{method} {path} answered {status}, which is not documented"
            );
            let body: Value = res.json().await.unwrap();
            assert!(body["error"].is_string(), "{method} {path}: {body}");
            operations += 1;
        }
    }
    assert_eq!(operations, 14);
}

/// schemathesis (property-based, from the OpenAPI document) against the
/// running service with a valid token: no server errors, every response
/// conforms to the document (status, content type, headers, schema).
#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_nothing() {
    let Some(tool) = python_tool("schemathesis") else { return };
    let w = World::start(relaxed()).await;
    let days: Vec<String> = (1..=9).map(|d| format!("2026-11-{d:02}")).collect();
    let (daily, periods) = nights(&days, |_| 77, |_| 27000);
    w.ingest(json!({
        "daily_sleep": daily,
        "sleep": periods,
        "daily_activity": days.iter().map(|d| json!({ "id": format!("a{d}"), "day": d, "score": 81, "steps": 10000 })).collect::<Vec<_>>(),
        "daily_readiness": days.iter().map(|d| json!({ "id": format!("r{d}"), "day": d, "score": 88, "temperature_deviation": -0.2 })).collect::<Vec<_>>(),
    }))
    .await;
    w.ingest(others(&days)).await;
    let tok = w.login().await;
    let report = tempfile::tempdir().unwrap();
    let api = w.url("/openapi.json");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(tool)
            .args(["run", &api, "--header", &format!("Authorization: Bearer {tok}")])
            .args(["--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance"])
            .args(["--max-examples", "60", "--seed", "20261122", "--no-color", "--workers", "1"])
            .args(["--generation-database", "none", "--report", "ndjson"])
            .arg("--report-dir")
            .arg(report.path())
            .current_dir(report.path())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "schemathesis found problems:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let summary = stdout.lines().filter(|l| l.contains("Test cases") || l.contains("passed")).collect::<Vec<_>>();
    println!("schemathesis: {}", summary.join(" | "));
    assert!(!summary.is_empty(), "no summary in:\n{stdout}");
}

/// A token signed with the service's own key, with any claims.
fn signed(claims: Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(KEY.as_bytes()),
    )
    .unwrap()
}

/// The signature is not enough: a token must be one the service would have
/// issued — its configured subject, an `iat` not ahead of the clock by more
/// than the skew, no `nbf` still to come, a lifetime of at most 24 h.
#[tokio::test(flavor = "multi_thread")]
async fn a_token_with_the_right_key_and_the_wrong_claims_is_refused() {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_secs(1))
        .connect_lazy("postgres://nobody@127.0.0.1:9/none")
        .unwrap();
    let api =
        serve(app(AppState::new(pool, keys()), myhealth_common::telemetry::init_metrics(), &relaxed()).unwrap()).await;
    let http = reqwest::Client::new();
    let now = chrono::Utc::now().timestamp();
    let day = 24 * 3600;
    // What the route answers past the token check: 503 (no database here) means the token was accepted.
    let status = |tok: String| {
        let req = http.get(format!("http://{api}/api/v1/dashboard")).bearer_auth(tok);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let accepted = 503;
    assert_eq!(status(signed(json!({ "sub": "me", "iat": now, "exp": now + day }))).await, accepted);
    // Another replica's clock a little ahead: within the skew.
    assert_eq!(status(signed(json!({ "sub": "me", "iat": now + 30, "exp": now + 30 + day }))).await, accepted);
    assert_eq!(status(signed(json!({ "sub": "me", "iat": now, "exp": now + day, "nbf": now - 5 }))).await, accepted);
    for (why, claims) in [
        ("another subject", json!({ "sub": "admin", "iat": now, "exp": now + day })),
        ("no subject", json!({ "iat": now, "exp": now + day })),
        ("not valid before an hour from now", json!({ "sub": "me", "iat": now, "exp": now + day, "nbf": now + 3600 })),
        ("issued in the future", json!({ "sub": "me", "iat": now + 600, "exp": now + 600 + 3600 })),
        ("valid until the year 3000", json!({ "sub": "me", "iat": now, "exp": 32_503_680_000_i64 })),
        ("a lifetime of 24 h and a minute", json!({ "sub": "me", "iat": now, "exp": now + day + 60 })),
        ("no issue time", json!({ "sub": "me", "exp": now + 3600 })),
        ("no expiry", json!({ "sub": "me", "iat": now })),
    ] {
        assert_eq!(status(signed(claims)).await, 401, "{why}");
    }
}

/// A stand-in for the proxies in front of api-service (API Gateway, Envoy):
/// it listens on 127.0.0.1 and forwards every request to `upstream` from the
/// source address `from`, appending its own peer's address to
/// `X-Forwarded-For` as those proxies do. Nothing else.
async fn proxy(upstream: SocketAddr, from: IpAddr) -> SocketAddr {
    use axum::extract::{ConnectInfo, Request};
    let client = reqwest::Client::builder().local_address(from).build().unwrap();
    let forward = move |ConnectInfo(peer): ConnectInfo<SocketAddr>, req: Request| {
        let client = client.clone();
        async move {
            let (parts, body) = req.into_parts();
            let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
            let xff = match parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
                Some(v) => format!("{v}, {}", peer.ip()),
                None => peer.ip().to_string(),
            };
            let mut headers = parts.headers.clone();
            headers.remove("host");
            headers.insert("x-forwarded-for", xff.parse().unwrap());
            let res = client
                .request(parts.method, format!("http://{upstream}{}", parts.uri))
                .headers(headers)
                .body(body)
                .send()
                .await
                .unwrap();
            let mut out = axum::http::Response::builder().status(res.status());
            for (k, v) in res.headers() {
                out = out.header(k, v);
            }
            out.body(axum::body::Body::from(res.bytes().await.unwrap())).unwrap()
        }
    };
    serve(axum::Router::new().fallback(forward)).await
}

/// A client connecting from `from` (a loopback address of its own).
fn client_from(from: &str) -> reqwest::Client {
    reqwest::Client::builder().local_address(from.parse::<IpAddr>().unwrap()).build().unwrap()
}

/// The bypass the review found: with `TRUSTED_PROXY_HOPS=1` and the pod
/// reachable without the proxy, a client rotating `X-Forwarded-For` got a
/// new identity per request (no login limit) and could spend any chosen
/// address's budget. Now only the trusted proxy's header is believed.
#[tokio::test(flavor = "multi_thread")]
async fn a_direct_connection_cannot_choose_its_client_address() {
    let w = World::start(HttpSettings {
        login_rate_limit_per_minute: 2,
        trusted_proxy_hops: 1,
        trusted_proxies: vec!["127.0.0.2/32".parse().unwrap()],
        ..relaxed()
    })
    .await;
    let proxy = proxy(w.api, "127.0.0.2".parse().unwrap()).await;
    let guess = json!({ "username": "me", "password": "guess" });
    let via_proxy = |from: &str, xff: Option<&str>| {
        let mut req = client_from(from).post(format!("http://{proxy}/auth/login")).json(&guess);
        if let Some(x) = xff {
            req = req.header("x-forwarded-for", x);
        }
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let attacker = client_from("127.0.0.66");
    let direct = |xff: String| {
        let req = attacker.post(w.url("/auth/login")).header("x-forwarded-for", xff).json(&guess);
        async move { req.send().await.unwrap().status().as_u16() }
    };

    // Straight to the pod, naming the victim (127.0.0.10) and then a new address each time:
    // all one client, the attacker's own address, limited after two guesses.
    let mut statuses = vec![direct("127.0.0.10".into()).await, direct("127.0.0.10".into()).await];
    for i in 0..8 {
        statuses.push(direct(format!("198.51.100.{i}")).await);
    }
    assert_eq!(&statuses[..2], &[401, 401], "{statuses:?}");
    assert!(statuses[2..].iter().all(|s| *s == 429), "rotating X-Forwarded-For is no new identity: {statuses:?}");

    // The victim, through the proxy, still has its whole budget — and is limited in turn.
    assert_eq!(via_proxy("127.0.0.10", None).await, 401);
    assert_eq!(via_proxy("127.0.0.10", None).await, 401);
    assert_eq!(via_proxy("127.0.0.10", None).await, 429);
    // Through the proxy, what a client writes itself is left of the proxy's entry and never read.
    assert_eq!(via_proxy("127.0.0.11", Some("127.0.0.12")).await, 401);
    assert_eq!(via_proxy("127.0.0.11", Some("127.0.0.12")).await, 401);
    assert_eq!(via_proxy("127.0.0.12", None).await, 401, "127.0.0.11 spent its own budget, not 127.0.0.12's");
    // The user logs in through the proxy while all that goes on.
    let res = client_from("127.0.0.13")
        .post(format!("http://{proxy}/auth/login"))
        .json(&json!({ "username": "me", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// More logins than the pool has slots: the excess is answered 503 with
/// `Retry-After` (here without a queue, so some must be), never anything
/// else, and the user's login goes through once the burst is over.
#[tokio::test(flavor = "multi_thread")]
async fn logins_beyond_the_pool_are_refused_with_retry_after() {
    let salt = SaltString::from_b64("c29tZXNhbHRzb21lc2FsdA").unwrap();
    let hash = argon2::Argon2::default().hash_password(PASSWORD.as_bytes(), &salt).unwrap().to_string();
    let one = api_service::login::LoginSettings { login_concurrency: Some(1), login_queue_seconds: 0 };
    let keys = Arc::new(Keys::new("me", &hash, KEY, &one).unwrap());
    assert_eq!(keys.pool.sizing.slots, 1);
    let pool = sqlx::postgres::PgPoolOptions::new().connect_lazy("postgres://nobody@127.0.0.1:9/none").unwrap();
    let api =
        serve(app(AppState::new(pool, keys), myhealth_common::telemetry::init_metrics(), &relaxed()).unwrap()).await;
    let http = reqwest::Client::new();
    let burst: Vec<_> = (0..20)
        .map(|_| {
            let req =
                http.post(format!("http://{api}/auth/login")).json(&json!({ "username": "me", "password": "guess" }));
            tokio::spawn(async move { req.send().await.unwrap() })
        })
        .collect();
    let (mut refused, mut wrong) = (0, 0);
    for r in burst {
        let res = r.await.unwrap();
        match res.status().as_u16() {
            401 => wrong += 1,
            503 => {
                assert_eq!(res.headers()["retry-after"], "1");
                let body: Value = res.json().await.unwrap();
                assert!(body["error"].as_str().unwrap().contains("too many logins"), "{body}");
                refused += 1;
            }
            other => panic!("a login answered {other}"),
        }
    }
    assert!(wrong >= 1 && refused >= 1, "{wrong} verified, {refused} refused");
    let res = http.post(format!("http://{api}/auth/login")).json(&json!({ "username": "me", "password": PASSWORD }));
    assert_eq!(res.send().await.unwrap().status(), 200);
}

/// `api-service hash-password` (the binary) prints a PHC string the
/// service takes as `API_PASSWORD_HASH`, for that password only.
#[test]
fn hash_password_prints_what_the_service_accepts() {
    use argon2::{PasswordHash, PasswordVerifier};
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_api-service"))
        .arg("hash-password")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"correct horse\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let phc = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    let hash = PasswordHash::new(&phc).unwrap();
    assert!(argon2::Argon2::default().verify_password(b"correct horse", &hash).is_ok());
    assert!(
        argon2::Argon2::default().verify_password(b"correct horse\n", &hash).is_err(),
        "the newline is not part of it"
    );
    assert!(Keys::new("me", &phc, KEY, &Default::default()).is_ok());
}
