//! The data routes with cursor paging, the new daily series, trends, and
//! the OpenAPI document against the routes (and schemathesis against it).

use api_service::{AppState, app};
use myhealth_common::testing::{python_tool, serve};
use serde_json::{Value, json};

use crate::world::*;

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
