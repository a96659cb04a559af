//! A stand-in for the Oura API v2, built from its contract — Oura's own
//! OpenAPI document 1.29 (vendored in `tests/contracts/`, where a test
//! validates every answer of this fake against the document's schemas) and
//! `shared/contracts/oura/NOTES.md` for what the document leaves unsaid:
//!
//! - one user at any UTC offset, whose documents appear as time (the
//!   injected [`Clock`]) passes: several sleep periods a day (`long_sleep`,
//!   `sleep`, `late_nap` — which counts for the next day —, `rest`,
//!   `deleted`) with their 5-minute series and embedded readiness, the daily
//!   documents, today's `daily_activity` growing through the day, heart rate,
//!   workouts, sessions, SpO2, stress, resilience, cardiovascular age,
//!   VO2max; nulls where the schema allows them (a day the ring was hardly
//!   worn, rest and deleted periods); some nights synced only two days late;
//! - `start_date`/`end_date` (date or date-time) compared with each
//!   document's own timestamp — a sleep period's bedtime start, a daily
//!   document's `timestamp` (`DAYT00:00:00+00:00` for daily_sleep and
//!   daily_readiness, `DAYT04:00:00+offset` for daily_activity), the day at
//!   00:00 UTC for documents without one — both bounds inclusive, a bare
//!   date meaning 00:00 UTC; `start > end` is 422 `{"detail": [...]}`;
//! - heart rate by `start_datetime`/`end_datetime`, refusing ranges over 30 days (400);
//! - `next_token` paging;
//! - OAuth: `/oauth/token` rotates single-use refresh tokens (only the
//!   latest is valid), access tokens expire after `expires_in` and may be
//!   revoked at any request (`revoke_after`); an expired or revoked access
//!   token gets 401 on every collection (the document's 401: "the access token
//!   is expired, malformed or revoked") until a refresh issues a new one;
//! - scopes the user may withhold: that collection answers 401 or 403, to
//!   every access token, fresh ones too;
//! - a lapsed subscription: every collection answers 403 (the document's 403:
//!   "the user's subscription to Oura has expired"), to every access token;
//! - a rate limit per window, 429 with `Retry-After` and `X-RateLimit-*`;
//! - scripted faults: a status on the n-th call of a collection, a
//!   collection that always fails, Oura down, requests never answered from
//!   the n-th on (a run killed mid-flight).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Days, Duration, FixedOffset, NaiveDate, NaiveTime, Utc};
use serde_json::{Value, json};

use crate::clock::Clock;
use myhealth_common::oura;

mod documents;
use documents::Day;

/// The OAuth scope each collection needs (Oura's documented scopes).
pub fn scope(collection: &str) -> &'static str {
    match collection {
        "heartrate" => "heartrate",
        "workout" => "workout",
        "session" => "session",
        "daily_spo2" => "spo2Daily",
        "personal_info" => "personal",
        _ => "daily",
    }
}

pub const SCOPES: [&str; 6] = ["daily", "heartrate", "workout", "session", "spo2Daily", "personal"];

/// The person wearing the ring.
#[derive(Debug, Clone)]
pub struct User {
    /// Minutes east of UTC (UTC+3: 180, UTC−5: −300).
    pub utc_offset_minutes: i32,
    /// The first day with data.
    pub first_day: NaiveDate,
    /// Minutes between heart-rate samples (Oura: about 5).
    pub heart_rate_every_minutes: i64,
    pub seed: u64,
}

/// What the fake knows and does.
pub struct Oura {
    pub user: User,
    pub clock: Arc<dyn Clock>,
    /// Refresh/access token generation: `refresh-N` is the only valid refresh token.
    pub generation: u32,
    /// When the current access token was issued (None: `access-0` never expires).
    pub issued_at: Option<DateTime<Utc>>,
    pub expires_in: i64,
    /// The scopes the user granted.
    pub granted: HashSet<&'static str>,
    /// What a collection of a withheld scope answers (401 or 403).
    pub withheld_status: u16,
    /// Calls per collection, and the queries asked.
    pub calls: HashMap<String, u32>,
    pub queries: Vec<(String, HashMap<String, String>)>,
    /// Collection and call number answered with a status instead (429s carry `Retry-After: 1`).
    pub scripted: Vec<(String, u32, u16)>,
    /// Collections that answer 500 every time.
    pub broken: Vec<String>,
    /// Every collection answers 503.
    pub down: bool,
    /// The current access token has expired or been revoked (calls get 401 until a refresh).
    pub expired: bool,
    /// Requests to the collections so far (whatever they were answered).
    pub requests: u32,
    /// After the n-th request to the collections (counted in `requests`), the
    /// access token then current is revoked: the next request with it gets 401.
    pub revoke_after: Vec<u32>,
    /// The user's Oura subscription has expired: every collection answers 403.
    pub subscription_lapsed: bool,
    /// Requests to the collections after this many are never answered (the
    /// test kills the run meanwhile, as the Job's deadline or a node would).
    pub stall_after: Option<u32>,
    pub page_size: usize,
    /// Heart-rate samples per page (Oura serves them in larger pages).
    pub heart_rate_page_size: usize,
    /// Requests per window per token, and the window.
    pub rate_limit: Option<(u32, Duration)>,
    window: Option<(DateTime<Utc>, u32)>,
    days: BTreeMap<NaiveDate, Day>,
}

impl Oura {
    pub fn new(user: User, clock: Arc<dyn Clock>) -> Oura {
        Oura {
            user,
            clock,
            generation: 0,
            issued_at: None,
            expires_in: 86_400,
            granted: SCOPES.into_iter().collect(),
            withheld_status: 401,
            calls: HashMap::new(),
            queries: Vec::new(),
            scripted: Vec::new(),
            broken: Vec::new(),
            down: false,
            expired: false,
            requests: 0,
            revoke_after: Vec::new(),
            subscription_lapsed: false,
            stall_after: None,
            page_size: 50,
            heart_rate_page_size: 1000,
            rate_limit: Some((5000, Duration::minutes(5))),
            window: None,
            days: BTreeMap::new(),
        }
    }

    fn offset(&self) -> FixedOffset {
        FixedOffset::east_opt(self.user.utc_offset_minutes * 60).expect("an offset within a day")
    }

    /// Every document of a collection that exists at `now` and whose filter
    /// instant lies in `start..=end`, oldest first.
    pub fn documents_in(
        &mut self,
        collection: &str,
        now: DateTime<Utc>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Vec<Value> {
        let texts = self.documents_text(collection, now, start, end);
        texts.iter().map(|t| serde_json::from_str(t).expect("the fake's own JSON")).collect()
    }

    /// The same, serialised (what a page is made of).
    fn documents_text(
        &mut self,
        collection: &str,
        now: DateTime<Utc>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Vec<String> {
        let off = self.offset();
        // A document of day d is compared at an instant within d−2 ..= d+2 (UTC):
        // only those days can hold one in range.
        let last = (now.with_timezone(&off).date_naive() + Days::new(1)).min(end.date_naive() + Days::new(2));
        let mut d = self.user.first_day.max(start.date_naive() - Days::new(2));
        let mut out = Vec::new();
        while d <= last {
            let user = self.user.clone();
            let day = self.days.entry(d).or_insert_with(|| Day::generate(&user, d));
            day.visible(collection, now, start, end, &mut out);
            d = d + Days::new(1);
        }
        out.sort_by_key(|a| a.0);
        out.into_iter().map(|(_, v)| v).collect()
    }

    /// Every document of a collection that exists at `now`.
    pub fn documents(&mut self, collection: &str, now: DateTime<Utc>) -> Vec<Value> {
        let all = DateTime::<Utc>::MIN_UTC;
        self.documents_in(
            collection,
            now,
            all.max(self.user.first_day.and_time(NaiveTime::MIN).and_utc() - Duration::days(3)),
            DateTime::<Utc>::MAX_UTC - Duration::days(10),
        )
    }

    /// What the fake holds at `now`, per collection: the documents a full fetch would return.
    pub fn snapshot(&mut self, now: DateTime<Utc>) -> BTreeMap<&'static str, Vec<Value>> {
        crate::collections::ALL.iter().map(|c| (c.name, self.documents(c.name, now))).collect()
    }
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
    let mut o = o.lock().unwrap_or_else(|e| e.into_inner());
    if f.get("grant_type").map(String::as_str) != Some("refresh_token")
        || f.get("client_id").map(String::as_str) != Some("cid")
        || f.get("client_secret").map(String::as_str) != Some("csecret")
    {
        return (StatusCode::BAD_REQUEST, Json(json!({ "error": "invalid_request" }))).into_response();
    }
    // Refresh tokens are single use: only the latest is valid.
    if f.get("refresh_token") != Some(&format!("refresh-{}", o.generation)) {
        return (StatusCode::UNAUTHORIZED, Json(json!({ "error": "invalid_grant" }))).into_response();
    }
    o.generation += 1;
    o.issued_at = Some(o.clock.now());
    o.expired = false;
    Json(json!({ "token_type": "bearer", "access_token": format!("access-{}", o.generation), "expires_in": o.expires_in, "refresh_token": format!("refresh-{}", o.generation) }))
        .into_response()
}

fn validation_error(param: &str, msg: &str, input: &str) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        // (Oura adds `input`; the 1.29 document's ValidationError names loc, msg and type only.)
        Json(
            json!({ "detail": [{ "type": "value_error", "loc": ["query", param], "msg": format!("{msg}: {input}") }] }),
        ),
    )
        .into_response()
}

/// A bound: a date-time (with its offset; UTC without one), or a bare date at 00:00 UTC.
fn bound(v: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Some(t.to_utc());
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S") {
        return Some(t.and_utc());
    }
    v.parse::<NaiveDate>().ok().map(|d| d.and_time(NaiveTime::MIN).and_utc())
}

async fn collection(
    State(o): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let stalled = {
        let mut o = o.lock().unwrap_or_else(|e| e.into_inner());
        o.requests += 1;
        o.stall_after.is_some_and(|n| o.requests > n)
    };
    if stalled {
        return std::future::pending().await;
    }
    let mut o = o.lock().unwrap_or_else(|e| e.into_inner());
    // Revoked after the request before this one: this one is refused already.
    if o.revoke_after.contains(&(o.requests - 1)) {
        o.expired = true;
    }
    let now = o.clock.now();
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    let lapsed = o.issued_at.is_some_and(|at| now >= at + Duration::seconds(o.expires_in));
    if auth != format!("Bearer access-{}", o.generation) || lapsed || o.expired {
        return (StatusCode::UNAUTHORIZED, Json(json!({ "detail": "Unauthorized" }))).into_response();
    }
    if let Some((limit, window)) = o.rate_limit {
        let (start, count) = match o.window {
            Some((start, count)) if now < start + window => (start, count),
            _ => (now, 0),
        };
        if count >= limit {
            let reset = (start + window - now).num_seconds().max(1);
            let headers = [
                ("retry-after", reset.to_string()),
                ("x-ratelimit-limit", limit.to_string()),
                ("x-ratelimit-window", window.num_seconds().to_string()),
                ("x-ratelimit-reset", reset.to_string()),
                ("x-ratelimit-tier", "default".to_string()),
            ];
            return (StatusCode::TOO_MANY_REQUESTS, headers, Json(json!({ "detail": "Rate limit exceeded" })))
                .into_response();
        }
        o.window = Some((start, count + 1));
    }
    let n = {
        let c = o.calls.entry(name.clone()).or_default();
        *c += 1;
        *c
    };
    o.queries.push((name.clone(), q.clone()));
    if o.subscription_lapsed {
        // (The document names no body for 403; Oura's errors carry `detail`.)
        return (StatusCode::FORBIDDEN, Json(json!({ "detail": "Access forbidden" }))).into_response();
    }
    if !o.granted.contains(scope(&name)) {
        let status = StatusCode::from_u16(o.withheld_status).unwrap_or(StatusCode::FORBIDDEN);
        return (status, Json(json!({ "detail": "The access token does not have the required scope." })))
            .into_response();
    }
    if o.down {
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "detail": "Service Unavailable" }))).into_response();
    }
    if o.broken.contains(&name) {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    if let Some((_, _, status)) = o.scripted.iter().find(|(c, call, _)| *c == name && *call == n) {
        let status = StatusCode::from_u16(*status).expect("a status");
        return (status, [("retry-after", "1")]).into_response();
    }
    if crate::collections::by_name(&name).is_none() {
        return (StatusCode::NOT_FOUND, Json(json!({ "detail": "Not Found" }))).into_response();
    }
    let (start_key, end_key) =
        if name == oura::HEARTRATE { ("start_datetime", "end_datetime") } else { ("start_date", "end_date") };
    let mut range = [None, None];
    for (i, key) in [start_key, end_key].into_iter().enumerate() {
        if let Some(v) = q.get(key) {
            match bound(v) {
                Some(t) => range[i] = Some(t),
                None => return validation_error(key, "Input should be a valid date or datetime", v),
            }
        }
    }
    // Oura's defaults: the last day (heart rate) or week.
    let today = now.date_naive().and_time(NaiveTime::MIN).and_utc();
    let start = range[0].unwrap_or(today - Duration::days(if name == oura::HEARTRATE { 1 } else { 7 }));
    let end = range[1].unwrap_or(if name == oura::HEARTRATE { now } else { today + Duration::days(1) });
    if start > end {
        return validation_error(start_key, "Start date must be before end date", q.get(start_key).map_or("", |v| v));
    }
    if name == oura::HEARTRATE && end - start > Duration::days(30) {
        return (StatusCode::BAD_REQUEST, Json(json!({ "detail": "The maximum range for heartrate is 30 days." })))
            .into_response();
    }
    let docs = o.documents_text(&name, now, start, end);
    let offset: usize = match q.get("next_token") {
        None => 0,
        Some(t) => match t.strip_prefix("page-").and_then(|n| n.parse().ok()) {
            Some(n) => n,
            None => return validation_error("next_token", "Invalid next_token", t),
        },
    };
    let size = if name == oura::HEARTRATE { o.heart_rate_page_size } else { o.page_size };
    let page: Vec<&str> = docs.iter().skip(offset).take(size).map(String::as_str).collect();
    let next = (offset + size < docs.len()).then(|| format!("page-{}", offset + size));
    // Assembled from the documents' text: serialising every page anew is most of a simulated run.
    let body = format!("{{\"data\":[{}],\"next_token\":{}}}", page.join(","), json!(next));
    ([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
}
