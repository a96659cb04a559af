//! api-service against a real PostgreSQL filled through the real
//! data-processor: login, tokens (none, forged, expired → 401), the data
//! routes with cursor paging, the dashboard, trends, rate limits (429),
//! CORS, request ids and compression; the OpenAPI document against the
//! routes, and schemathesis against the running service.

use std::net::SocketAddr;
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
    Arc::new(Keys::new("me", &hash, KEY).unwrap())
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
    w.ingest(json!({
        "sleep": days.iter().enumerate().map(|(i, d)| json!({ "id": format!("s{i}"), "day": d, "score": 70 + i, "total_sleep_duration": 25000 + i * 100 })).collect::<Vec<_>>(),
        "activity": days.iter().enumerate().map(|(i, d)| json!({ "id": format!("a{i}"), "day": d, "score": 80, "steps": 9000 + i })).collect::<Vec<_>>(),
        "readiness": [{ "id": "r", "day": "2026-11-10", "score": 85, "temperature_deviation": 0.1 }],
    }))
    .await;

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
    w.ingest(json!({ "readiness": [{ "id": "r2", "day": "2026-11-11", "score": 60 }] })).await;
    let mut latest = Value::Null;
    for _ in 0..50 {
        latest = w.get("/api/v1/dashboard", &tok).await["readiness"]["latest"]["day"].clone();
        if latest == "2026-11-11" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(latest, "2026-11-11", "a stored batch must show on the dashboard");
}

#[tokio::test(flavor = "multi_thread")]
async fn trends_have_a_point_per_day_and_a_rolling_average() {
    let w = World::start(relaxed()).await;
    // Steps on 20 days of November except the 15th; steps = 1000 × day.
    let docs: Vec<Value> = (1..=20)
        .filter(|d| *d != 15)
        .map(|d| json!({ "id": format!("a{d}"), "day": format!("2026-11-{d:02}"), "steps": 1000 * d }))
        .collect();
    w.ingest(json!({ "activity": docs })).await;
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
    assert_eq!(operations, 6);
}

/// schemathesis (property-based, from the OpenAPI document) against the
/// running service with a valid token: no server errors, every response
/// conforms to the document (status, content type, headers, schema).
#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_nothing() {
    let Some(tool) = python_tool("schemathesis") else { return };
    let w = World::start(relaxed()).await;
    let days: Vec<String> = (1..=9).map(|d| format!("2026-11-{d:02}")).collect();
    w.ingest(json!({
        "sleep": days.iter().map(|d| json!({ "id": format!("s{d}"), "day": d, "score": 77, "total_sleep_duration": 27000, "average_hrv": 41 })).collect::<Vec<_>>(),
        "activity": days.iter().map(|d| json!({ "id": format!("a{d}"), "day": d, "score": 81, "steps": 10000 })).collect::<Vec<_>>(),
        "readiness": days.iter().map(|d| json!({ "id": format!("r{d}"), "day": d, "score": 88, "temperature_deviation": -0.2 })).collect::<Vec<_>>(),
    }))
    .await;
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
