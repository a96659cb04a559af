//! A fake Oura API v2 for tests, built from the documented shapes: the
//! `/v2/usercollection/*` collections answer `{"data": [...], "next_token"}`
//! pages (daily_sleep spans two), `/oauth/token` rotates refresh tokens (only
//! the latest is valid), and faults can be scripted: a status on the n-th
//! call of a collection, a collection that always fails, an expired token.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

/// What the fake knows and does.
#[derive(Default)]
pub struct Oura {
    /// Refresh/access token generation: `refresh-N` is the only valid refresh token.
    pub generation: u32,
    /// Calls per collection.
    pub calls: HashMap<String, u32>,
    /// Collection and call number answered with a status instead (429s carry `Retry-After: 1`).
    pub scripted: Vec<(String, u32, u16)>,
    /// Collections that answer 500 every time.
    pub broken: Vec<String>,
    /// The current access token has expired (the next call gets 401).
    pub expired: bool,
}

pub type Shared = Arc<Mutex<Oura>>;

/// Serve the fake on a local port.
pub async fn start(oura: Oura) -> (SocketAddr, Shared) {
    let state: Shared = Arc::new(Mutex::new(oura));
    let app = Router::new()
        .route("/oauth/token", post(token))
        .route("/v2/usercollection/{name}", get(collection))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a local port");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("fake Oura") });
    (addr, state)
}

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
    if let Some((_, _, status)) = o.scripted.iter().find(|(c, call, _)| *c == name && *call == n) {
        let status = StatusCode::from_u16(*status).expect("a status");
        return (status, [("retry-after", "1")]).into_response();
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
