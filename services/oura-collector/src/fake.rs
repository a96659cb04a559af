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
use chrono::{DateTime, Datelike, Days, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use serde_json::{Value, json};

use crate::clock::Clock;

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
        if name == "heartrate" { ("start_datetime", "end_datetime") } else { ("start_date", "end_date") };
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
    let start = range[0].unwrap_or(today - Duration::days(if name == "heartrate" { 1 } else { 7 }));
    let end = range[1].unwrap_or(if name == "heartrate" { now } else { today + Duration::days(1) });
    if start > end {
        return validation_error(start_key, "Start date must be before end date", q.get(start_key).map_or("", |v| v));
    }
    if name == "heartrate" && end - start > Duration::days(30) {
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
    let size = if name == "heartrate" { o.heart_rate_page_size } else { o.page_size };
    let page: Vec<&str> = docs.iter().skip(offset).take(size).map(String::as_str).collect();
    let next = (offset + size < docs.len()).then(|| format!("page-{}", offset + size));
    // Assembled from the documents' text: serialising every page anew is most of a simulated run.
    let body = format!("{{\"data\":[{}],\"next_token\":{}}}", page.join(","), json!(next));
    ([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A deterministic pseudo-random number in 0..n for (seed, day, salt).
fn pick(seed: u64, day: NaiveDate, salt: u64, n: u64) -> u64 {
    let mut x = seed
        ^ (day.num_days_from_ce() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ salt.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 30;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    x % n.max(1)
}

/// One document with when it appears and the instant the filters compare.
struct Doc {
    collection: &'static str,
    appears: DateTime<Utc>,
    filter_at: DateTime<Utc>,
    body: Value,
}

/// Everything of one day, generated once (final versions).
struct Day {
    docs: Vec<Doc>,
    /// Each document serialised once (pages are assembled from these).
    texts: Vec<String>,
    /// daily_activity: appears at 04:00 local and grows until the day ends.
    activity: Option<(DateTime<Utc>, DateTime<Utc>, Value)>,
}

fn ts(t: DateTime<Utc>, off: &FixedOffset) -> String {
    t.with_timezone(off).to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

fn meta(t: DateTime<Utc>) -> Value {
    json!({ "updated_at": t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), "version": 1 })
}

/// A 5-minute series from `start` over `seconds`, around `base`.
fn sample(seed: u64, day: NaiveDate, salt: u64, start: &str, seconds: i64, base: f64, spread: u64) -> Value {
    let n = (seconds / 300).max(1);
    let items: Vec<Value> = (0..n)
        .map(|i| {
            if i == 3 {
                Value::Null // a gap in the series (items may be null)
            } else {
                json!(base + pick(seed, day, salt + i as u64, spread) as f64)
            }
        })
        .collect();
    json!({ "interval": 300.0, "items": items, "timestamp": start })
}

impl Day {
    fn generate(u: &User, day: NaiveDate) -> Day {
        let off = FixedOffset::east_opt(u.utc_offset_minutes * 60).expect("offset");
        let local = |d: NaiveDate, h: u32, m: u32| -> DateTime<Utc> {
            off.from_local_datetime(&d.and_hms_opt(h, m, 0).expect("a time")).single().expect("fixed offset").to_utc()
        };
        let p = |salt: u64, n: u64| pick(u.seed, day, salt, n);
        let ix = (day - u.first_day).num_days();
        let id = |what: &str| format!("{what}-{day}-{}", u.seed);
        // A day the ring was hardly worn: no night, daily documents mostly null.
        let sparse = ix % 9 == 4;
        let mut docs = Vec::new();
        let midnight_utc = day.and_time(NaiveTime::MIN).and_utc();

        // The night that ends this morning (bedtime the evening before).
        let bed = local(day - Days::new(1), 22, 30) + Duration::minutes(p(1, 100) as i64);
        let wake = bed + Duration::minutes(400 + p(2, 120) as i64);
        // Most nights reach Oura minutes after waking; some only when the ring
        // syncs two days later (the reason the collector re-fetches recent days).
        let late = ix % 4 == 2;
        let night_ready = wake + Duration::minutes(15) + if late { Duration::hours(45) } else { Duration::zero() };
        let in_bed = (wake - bed).num_seconds();
        if !sparse {
            let total = in_bed - 1800 - p(3, 1200) as i64;
            let deep = total / 5;
            let rem = total / 4;
            let light = total - deep - rem;
            docs.push(Doc {
                collection: "sleep",
                appears: night_ready,
                filter_at: bed,
                body: json!({
                    "id": id("night"), "meta": meta(night_ready),
                    "average_breath": 14.5 + p(4, 20) as f64 / 10.0, "average_heart_rate": 52.0 + p(5, 10) as f64,
                    "average_hrv": 35 + p(6, 30) as i64, "awake_time": in_bed - total,
                    "bedtime_end": ts(wake, &off), "bedtime_start": ts(bed, &off), "day": day.to_string(),
                    "deep_sleep_duration": deep, "efficiency": (100 * total / in_bed),
                    "heart_rate": sample(u.seed, day, 10, &ts(bed, &off), in_bed, 48.0, 20),
                    "hrv": sample(u.seed, day, 20, &ts(bed, &off), in_bed, 25.0, 50),
                    "latency": 300 + p(7, 900) as i64, "light_sleep_duration": light, "low_battery_alert": false,
                    "lowest_heart_rate": 45 + p(8, 10) as i64, "movement_30_sec": "1".repeat((in_bed / 30) as usize),
                    "period": 1,
                    "readiness": { "contributors": { "activity_balance": 80, "body_temperature": 95, "hrv_balance": 70 + p(9, 30) as i64, "previous_day_activity": 85, "previous_night": 75, "recovery_index": 90, "resting_heart_rate": 88, "sleep_balance": 82, "sleep_regularity": 77 },
                                   "score": 60 + p(11, 40) as i64, "temperature_deviation": -0.3 + p(12, 6) as f64 / 10.0, "temperature_trend_deviation": 0.1 },
                    "readiness_score_delta": 1, "rem_sleep_duration": rem, "restless_periods": 100 + p(13, 200) as i64,
                    "sleep_algorithm_version": "v2", "sleep_analysis_reason": "foreground_sleep_analysis",
                    "sleep_phase_30_sec": "2".repeat((in_bed / 30) as usize), "sleep_phase_5_min": "4211".repeat((in_bed / 1200) as usize),
                    "sleep_score_delta": 0, "time_in_bed": in_bed, "total_sleep_duration": total, "type": "long_sleep",
                    "ring_id": format!("ring-{}", u.seed), "app_sleep_phase_5_min": "4211".repeat((in_bed / 1200) as usize)
                }),
            });
            // Short periods of the day: a nap (`sleep`), a rejected `rest`, a
            // `deleted` one, and an evening `late_nap` that counts for tomorrow.
            let short = |kind: &str, start: DateTime<Utc>, minutes: i64, for_day: NaiveDate, period: i64| -> Doc {
                let end = start + Duration::minutes(minutes);
                let scored = kind == "sleep" || kind == "late_nap";
                let secs = minutes * 60;
                let n = |v: Value| if scored { v } else { Value::Null };
                Doc {
                    collection: "sleep",
                    appears: end + Duration::minutes(10),
                    filter_at: start,
                    body: json!({
                        "id": format!("{kind}-{day}-{}", u.seed), "meta": meta(end),
                        "average_breath": n(json!(15.0)), "average_heart_rate": n(json!(60.0)), "average_hrv": n(json!(40)),
                        "awake_time": n(json!(120)), "bedtime_end": ts(end, &off), "bedtime_start": ts(start, &off),
                        "day": for_day.to_string(), "deep_sleep_duration": n(json!(0)), "efficiency": n(json!(85)),
                        "heart_rate": n(sample(u.seed, day, 30, &ts(start, &off), secs, 55.0, 10)), "hrv": n(sample(u.seed, day, 40, &ts(start, &off), secs, 30.0, 20)),
                        "latency": n(json!(240)), "light_sleep_duration": n(json!(secs - 120)), "low_battery_alert": false,
                        "lowest_heart_rate": n(json!(54)), "movement_30_sec": n(json!("1".repeat((secs / 30) as usize))), "period": period,
                        "readiness": Value::Null, "readiness_score_delta": Value::Null, "rem_sleep_duration": n(json!(0)),
                        "restless_periods": n(json!(12)), "sleep_algorithm_version": n(json!("v2")), "sleep_analysis_reason": Value::Null,
                        "sleep_phase_30_sec": n(json!("2".repeat((secs / 30) as usize))), "sleep_phase_5_min": n(json!("2".repeat((secs / 300) as usize))),
                        "sleep_score_delta": Value::Null, "time_in_bed": secs, "total_sleep_duration": n(json!(secs - 120)),
                        // A nap not yet classified has no type.
                        "type": if kind == "sleep" && ix % 2 == 0 { Value::Null } else { json!(kind) },
                        "ring_id": Value::Null, "app_sleep_phase_5_min": Value::Null
                    }),
                }
            };
            if p(50, 3) == 0 {
                docs.push(short(
                    "sleep",
                    local(day, 14, 0) + Duration::minutes(p(51, 60) as i64),
                    25 + p(52, 30) as i64,
                    day,
                    2,
                ));
            }
            if ix % 4 == 1 {
                docs.push(short("rest", local(day, 16, 10), 20, day, 3));
            }
            if ix % 6 == 2 {
                docs.push(short("deleted", local(day, 12, 5), 18, day, 4));
            }
            if ix % 5 == 3 {
                docs.push(short("late_nap", local(day, 19, 0), 30, day + Days::new(1), 0));
            }

            let contributors = |null: bool| {
                let v = |x: u64| if null { Value::Null } else { json!(60 + p(x, 40)) };
                json!({ "deep_sleep": v(60), "efficiency": v(61), "latency": v(62), "rem_sleep": v(63), "restfulness": v(64), "timing": v(65), "total_sleep": v(66) })
            };
            docs.push(Doc {
                collection: "daily_sleep",
                appears: night_ready,
                filter_at: midnight_utc,
                body: json!({ "id": id("daily-sleep"), "meta": meta(night_ready), "contributors": contributors(false), "day": day.to_string(),
                              "score": 55 + p(70, 45) as i64, "timestamp": format!("{day}T00:00:00+00:00") }),
            });
            docs.push(Doc {
                collection: "daily_readiness",
                appears: night_ready,
                filter_at: midnight_utc,
                body: json!({ "id": id("readiness"), "meta": meta(night_ready),
                              "contributors": { "activity_balance": 80, "body_temperature": 95, "hrv_balance": 60 + p(80, 40) as i64, "previous_day_activity": 85, "previous_night": 75, "recovery_index": 90, "resting_heart_rate": 60 + p(81, 40) as i64, "sleep_balance": 82, "sleep_regularity": 77 },
                              "day": day.to_string(), "score": 55 + p(82, 45) as i64, "temperature_deviation": -0.5 + p(83, 10) as f64 / 10.0,
                              "temperature_trend_deviation": 0.05, "timestamp": format!("{day}T00:00:00+00:00") }),
            });
            docs.push(Doc {
                collection: "daily_spo2",
                appears: night_ready,
                filter_at: midnight_utc,
                body: json!({ "id": id("spo2"), "meta": meta(night_ready), "breathing_disturbance_index": p(90, 20) as i64, "day": day.to_string(),
                              "spo2_percentage": { "average": 95.0 + p(91, 40) as f64 / 10.0 } }),
            });
            docs.push(Doc {
                collection: "daily_resilience",
                appears: night_ready,
                filter_at: midnight_utc,
                body: json!({ "id": id("resilience"), "day": day.to_string(),
                              "contributors": { "sleep_recovery": 40.0 + p(100, 300) as f64 / 10.0, "daytime_recovery": 45.0 + p(101, 200) as f64 / 10.0, "stress": 30.0 + p(102, 200) as f64 / 10.0 },
                              "level": (["limited", "adequate", "solid", "strong", "exceptional"][p(103, 5) as usize]) }),
            });
            docs.push(Doc {
                collection: "daily_cardiovascular_age",
                appears: night_ready,
                filter_at: midnight_utc,
                body: json!({ "id": id("cva"), "meta": meta(night_ready), "day": day.to_string(), "vascular_age": 35 + p(110, 8) as i64 }),
            });
        } else {
            // The ring barely worn: Oura still scores the day, with little to go on.
            docs.push(Doc {
                collection: "daily_sleep",
                appears: local(day, 9, 0),
                filter_at: midnight_utc,
                body: json!({ "id": id("daily-sleep"), "meta": meta(local(day, 9, 0)),
                              "contributors": { "deep_sleep": null, "efficiency": null, "latency": null, "rem_sleep": null, "restfulness": null, "timing": null, "total_sleep": null },
                              "day": day.to_string(), "score": null, "timestamp": format!("{day}T00:00:00+00:00") }),
            });
            docs.push(Doc {
                collection: "daily_readiness",
                appears: local(day, 9, 0),
                filter_at: midnight_utc,
                body: json!({ "id": id("readiness"), "meta": meta(local(day, 9, 0)), "contributors": { "activity_balance": null, "body_temperature": null, "hrv_balance": null, "previous_day_activity": null, "previous_night": null, "recovery_index": null, "resting_heart_rate": null, "sleep_balance": null, "sleep_regularity": null },
                              "day": day.to_string(), "score": null, "temperature_deviation": null, "temperature_trend_deviation": null, "timestamp": format!("{day}T00:00:00+00:00") }),
            });
            docs.push(Doc {
                collection: "daily_spo2",
                appears: local(day, 9, 0),
                filter_at: midnight_utc,
                body: json!({ "id": id("spo2"), "meta": meta(local(day, 9, 0)), "breathing_disturbance_index": null, "day": day.to_string(), "spo2_percentage": null }),
            });
            docs.push(Doc {
                collection: "daily_cardiovascular_age",
                appears: local(day, 9, 0),
                filter_at: midnight_utc,
                body: json!({ "id": id("cva"), "meta": meta(local(day, 9, 0)), "day": day.to_string(), "vascular_age": null }),
            });
        }

        // The day's stress, summed up once the day is over.
        let day_end = local(day + Days::new(1), 0, 30);
        docs.push(Doc {
            collection: "daily_stress",
            appears: day_end,
            filter_at: midnight_utc,
            body: if sparse {
                json!({ "id": id("stress"), "meta": meta(day_end), "day": day.to_string(), "day_summary": null, "recovery_high": null, "stress_high": null })
            } else {
                json!({ "id": id("stress"), "meta": meta(day_end), "day": day.to_string(), "day_summary": (["restored", "normal", "stressful"][p(120, 3) as usize]),
                        "recovery_high": 3600 + p(121, 7200) as i64, "stress_high": 900 + p(122, 5400) as i64 })
            },
        });

        // Workouts and sessions.
        if p(130, 2) == 0 || ix % 7 == 0 {
            let start = local(day, 7, 0) + Duration::minutes(p(131, 600) as i64);
            let end = start + Duration::minutes(20 + p(132, 70) as i64);
            let manual = ix % 7 == 0;
            docs.push(Doc {
                collection: "workout",
                appears: end + Duration::minutes(10),
                filter_at: start,
                body: json!({ "id": id("workout"), "meta": meta(end), "activity": (["walking", "running", "cycling"][p(133, 3) as usize]),
                              "calories": if manual { Value::Null } else { json!(100.0 + p(134, 400) as f64) }, "day": day.to_string(),
                              "distance": if manual { Value::Null } else { json!(1000.0 + p(135, 9000) as f64) }, "end_datetime": ts(end, &off),
                              "intensity": (["easy", "moderate", "hard"][p(136, 3) as usize]), "label": if manual { json!("Morning loop") } else { Value::Null },
                              "source": if manual { "manual" } else { "autodetected" }, "start_datetime": ts(start, &off) }),
            });
        }
        if ix % 3 == 0 {
            let start = local(day, 18, 0) + Duration::minutes(p(140, 60) as i64);
            let end = start + Duration::minutes(10);
            let quiet = ix % 6 == 3;
            docs.push(Doc {
                collection: "session",
                appears: end + Duration::minutes(5),
                filter_at: start,
                body: json!({ "id": id("session"), "meta": meta(end), "day": day.to_string(), "end_datetime": ts(end, &off),
                              "heart_rate": if quiet { Value::Null } else { json!({ "interval": 5.0, "items": [62.0, 60.5, null, 58.0], "timestamp": ts(start, &off) }) },
                              "heart_rate_variability": if quiet { Value::Null } else { json!({ "interval": 5.0, "items": [40.0, 44.0, 47.5, 50.0], "timestamp": ts(start, &off) }) },
                              "mood": if quiet { Value::Null } else { json!((["bad", "worse", "same", "good", "great"][p(141, 5) as usize])) },
                              "motion_count": if quiet { Value::Null } else { json!({ "interval": 5.0, "items": [0.0, 3.0, 1.0, 0.0], "timestamp": ts(start, &off) }) },
                              "start_datetime": ts(start, &off), "type": (["breathing", "meditation", "relaxation"][p(142, 3) as usize]) }),
            });
        }
        if ix % 3 == 1 {
            let at = local(day, 12, 0);
            docs.push(Doc {
                collection: "vO2_max",
                appears: at,
                filter_at: at,
                body: json!({ "id": id("vo2"), "meta": meta(at), "day": day.to_string(), "timestamp": ts(at, &off), "vo2_max": 40 + p(150, 10) as i64 }),
            });
        }

        // Heart rate through the day (local midnight to midnight).
        let from = local(day, 0, 0);
        let mut t = from;
        let mut i = 0u64;
        while t < from + Duration::days(1) {
            let asleep = t >= bed && t < wake;
            let source = if asleep {
                "sleep"
            } else if i % 40 == 7 {
                "workout"
            } else {
                "awake"
            };
            docs.push(Doc {
                collection: "heartrate",
                appears: t + Duration::minutes(10),
                filter_at: t,
                body: json!({ "timestamp": t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false), "timestamp_unix": t.timestamp_millis(),
                              "bpm": if asleep { 50 } else { 65 } + p(200 + i % 50, 25) as i64, "source": source }),
            });
            t += Duration::minutes(u.heart_rate_every_minutes.max(1));
            i += 1;
        }

        // Activity: appears at 04:00 local and grows until the day is over.
        let act_at = local(day, 4, 0);
        let steps = if sparse { 800 } else { 4000 + p(160, 9000) as i64 };
        let activity = json!({
            "id": id("activity"), "meta": meta(act_at), "active_calories": steps / 20, "average_met_minutes": 1.5,
            "class_5_min": if sparse { Value::Null } else { json!("1".repeat(288)) },
            "contributors": if sparse { json!({ "meet_daily_targets": null, "move_every_hour": null, "recovery_time": null, "stay_active": null, "training_frequency": null, "training_volume": null }) }
                            else { json!({ "meet_daily_targets": 80, "move_every_hour": 95, "recovery_time": 100, "stay_active": 70, "training_frequency": 80, "training_volume": 90 }) },
            "day": day.to_string(), "equivalent_walking_distance": steps * 3 / 4, "high_activity_met_minutes": 20, "high_activity_time": 600 + p(161, 1200) as i64,
            "inactivity_alerts": 1, "low_activity_met_minutes": 150, "low_activity_time": 15000, "medium_activity_met_minutes": 120,
            "medium_activity_time": 1800 + p(162, 2400) as i64, "met": { "interval": 60.0, "items": [0.9, 1.1, null, 3.5], "timestamp": ts(act_at, &off) },
            "meters_to_target": 2000, "non_wear_time": if sparse { 60000 } else { 1200 }, "resting_time": 20000,
            "score": if sparse { Value::Null } else { json!(60 + p(163, 40)) }, "sedentary_met_minutes": 10, "sedentary_time": 30000,
            "steps": steps, "target_calories": 500, "target_meters": 10000, "timestamp": ts(act_at, &off), "total_calories": 2000 + steps / 20
        });
        let texts = docs.iter().map(|d| d.body.to_string()).collect();
        Day { docs, texts, activity: Some((act_at, local(day + Days::new(1), 0, 0), activity)) }
    }

    fn visible(
        &self,
        collection: &str,
        now: DateTime<Utc>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        out: &mut Vec<(DateTime<Utc>, String)>,
    ) {
        let within = |t: &DateTime<Utc>| *t >= start && *t <= end;
        for (d, text) in self.docs.iter().zip(&self.texts) {
            if d.collection == collection && d.appears <= now && within(&d.filter_at) {
                out.push((d.filter_at, text.clone()));
            }
        }
        if collection == "daily_activity"
            && let Some((from, until, full)) = &self.activity
            && *from <= now
            && within(from)
        {
            out.push((*from, grown(full, *from, *until, now).to_string()));
        }
    }
}

/// Today's activity as of `now`: the counts so far (the final document once the day is over).
fn grown(full: &Value, from: DateTime<Utc>, until: DateTime<Utc>, now: DateTime<Utc>) -> Value {
    if now >= until {
        return full.clone();
    }
    let share = (now - from).num_seconds() as f64 / (until - from).num_seconds() as f64;
    let mut v = full.clone();
    for k in ["steps", "active_calories", "equivalent_walking_distance", "high_activity_time", "medium_activity_time"] {
        if let Some(n) = v[k].as_i64() {
            v[k] = json!((n as f64 * share) as i64);
        }
    }
    v["meta"] = meta(now);
    v
}
