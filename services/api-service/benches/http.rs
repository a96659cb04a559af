//! api-service throughput and latency with `wrk` (Debian), against its own
//! floor in the same run: `/health` of the same server (no auth, no
//! database), measured right before each route (three such pairs, the
//! median reported), versus every data route (JWT check, rate limiter, the
//! response cache in front of the SQL over a year of data, JSON). The server runs in
//! this (optimised) process on a throwaway PostgreSQL; rate limits are
//! lifted so wrk measures the work, not the limiter's refusals.
//!
//! `cargo bench -p api-service --bench http [-- ROUTE…]` (needs `wrk` on
//! PATH; with arguments, only the routes containing one of them)

use std::process::Command;
use std::sync::Arc;

use api_service::auth::{Claims, Keys};
use api_service::{AppState, HttpSettings, app};
use argon2::password_hash::{PasswordHasher, SaltString};
use myhealth_common::testing::{TempPostgres, serve};

const KEY: &str = "a-benchmark-signing-key-of-32-bytes-or-more";
/// Floor-then-route pairs per route (odd: the median is one of them).
const ROUNDS: usize = 3;

/// `cargo bench` passes `--bench`; `cargo test --all-targets` (the suite)
/// runs this as a smoke test without it: every route answers under load,
/// one short pair each.
fn benching() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn main() {
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("`wrk` is not installed (Debian: apt-get install wrk); nothing measured");
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let (pg, addr) = rt.block_on(setup());
    let now = chrono::Utc::now().timestamp();
    let claims = Claims { sub: "me".into(), iat: now, exp: now + 3600 };
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(KEY.as_bytes()),
    )
    .unwrap();

    let routes = [
        "/api/v1/dashboard",
        "/api/v1/sleep",
        "/api/v1/activity",
        "/api/v1/readiness",
        "/api/v1/spo2",
        "/api/v1/stress",
        "/api/v1/resilience",
        "/api/v1/cardiovascular_age",
        "/api/v1/vo2_max",
        "/api/v1/sleep/periods?limit=7",
        "/api/v1/workouts",
        "/api/v1/sessions",
        "/api/v1/trends/sleep_score?period=90d",
        "/api/v1/trends/steps?period=30d",
        "/api/v1/trends/vo2_max?period=7d",
    ];
    // `cargo bench` passes `--bench`; anything else selects routes.
    let only: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    // The machine is shared and its speed drifts by several per cent from
    // one second to the next: each route is measured in ROUNDS pairs, each
    // right after its own floor, and the median pair is reported (by its
    // ratio); the p99 is the worst of the rounds.
    for route in routes.into_iter().filter(|r| only.is_empty() || only.iter().any(|o| r.contains(o.as_str()))) {
        let rounds = if benching() { ROUNDS } else { 1 };
        let mut pairs: Vec<(Run, Run)> = (0..rounds)
            .map(|_| (wrk(&format!("http://{addr}/health"), None), wrk(&format!("http://{addr}{route}"), Some(&token))))
            .collect();
        let worst_p99 = pairs.iter().map(|(_, r)| r.p99_ms).fold(0.0, f64::max);
        let ratios: Vec<String> = pairs.iter().map(|(f, r)| format!("{:.1}", 100.0 * r.rps / f.rps)).collect();
        pairs.sort_by(|a, b| (a.1.rps / a.0.rps).total_cmp(&(b.1.rps / b.0.rps)));
        let (floor, r) = &pairs[rounds / 2];
        println!(
            "{route:<40} {:>9.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms   {:>5.1} % of the floor ({:.0} req/s, p99 {:.2} ms; rounds {} %)",
            r.rps,
            r.p50_ms,
            worst_p99,
            100.0 * r.rps / floor.rps,
            floor.rps,
            floor.p99_ms,
            ratios.join(" / ")
        );
    }
    let metrics = Command::new("curl").args(["-s", &format!("http://{addr}/metrics")]).output().unwrap();
    for l in String::from_utf8_lossy(&metrics.stdout).lines().filter(|l| l.starts_with("response_cache_total")) {
        println!("{l}");
    }
    drop(pg);
}

async fn setup() -> (TempPostgres, std::net::SocketAddr) {
    let pg = TempPostgres::start();
    let url = pg.database("bench").await;
    let pool = myhealth_common::db::pool_options().connect(&url).await.unwrap();
    data_processor::MIGRATOR.run(&pool).await.unwrap();
    // A year of days.
    for (table, cols, values) in [
        (
            "sleep_metrics",
            "score, total_sleep_seconds, average_hrv",
            "27000 + (random() * 3600)::int, 30 + random() * 30",
        ),
        ("activity_metrics", "score, steps, active_calories", "(random() * 15000)::int, (random() * 900)::int"),
        (
            "readiness_metrics",
            "score, temperature_deviation, hrv_balance_score",
            "random() - 0.5, 50 + (random() * 50)::int",
        ),
    ] {
        sqlx::query(&format!(
            "INSERT INTO {table} (day, {cols}) SELECT d::date, 60 + (random() * 40)::int, {values}
             FROM generate_series(current_date - 364, current_date, interval '1 day') d"
        ))
        .execute(&pool)
        .await
        .unwrap();
    }
    // The other daily series, and the timed documents with their series.
    for sql in [
        "INSERT INTO spo2_metrics (day, spo2_average, breathing_disturbance_index) SELECT d::date, 95 + random() * 4, (random() * 20)::int FROM generate_series(current_date - 364, current_date, interval '1 day') d",
        "INSERT INTO stress_metrics (day, stress_high_seconds, recovery_high_seconds, day_summary) SELECT d::date, (random() * 7200)::int, (random() * 7200)::int, 'normal' FROM generate_series(current_date - 364, current_date, interval '1 day') d",
        "INSERT INTO resilience_metrics (day, level, sleep_recovery, daytime_recovery, stress) SELECT d::date, 'solid', random() * 100, random() * 100, random() * 100 FROM generate_series(current_date - 364, current_date, interval '1 day') d",
        "INSERT INTO cardiovascular_age_metrics (day, vascular_age) SELECT d::date, 35 + (random() * 10)::int FROM generate_series(current_date - 364, current_date, interval '1 day') d",
        "INSERT INTO vo2_max_metrics (day, vo2_max, measured_at) SELECT d::date, 40 + random() * 10, d FROM generate_series(current_date - 364, current_date, interval '1 day') d",
        "INSERT INTO sleep_periods (oura_id, day, type, bedtime_start, bedtime_end, total_sleep_seconds, heart_rate, hrv)
         SELECT 'n' || d::date, d::date, 'long_sleep', d - interval '8 hours', d, 27000,
                jsonb_build_object('interval', 300, 'items', (SELECT jsonb_agg(50 + (random() * 10)::int) FROM generate_series(1, 96)), 'timestamp', d - interval '8 hours'),
                jsonb_build_object('interval', 300, 'items', (SELECT jsonb_agg(30 + (random() * 30)::int) FROM generate_series(1, 96)), 'timestamp', d - interval '8 hours')
         FROM generate_series(current_date - 364, current_date, interval '1 day') d",
        "INSERT INTO workouts (oura_id, day, activity, intensity, source, calories, distance_meters, start_datetime, end_datetime) SELECT 'w' || d::date, d::date, 'running', 'hard', 'autodetected', 400, 8000, d + interval '7 hours', d + interval '8 hours' FROM generate_series(current_date - 364, current_date, interval '1 day') d",
        "INSERT INTO sessions (oura_id, day, type, mood, start_datetime, end_datetime) SELECT 's' || d::date, d::date, 'meditation', 'good', d + interval '21 hours', d + interval '21 hours 10 minutes' FROM generate_series(current_date - 364, current_date, interval '1 day') d",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    let salt = SaltString::from_b64("c29tZXNhbHRzb21lc2FsdA").unwrap();
    let hash = argon2::Argon2::default().hash_password(b"pw", &salt).unwrap().to_string();
    let keys = Arc::new(Keys::new("me", &hash, KEY, &Default::default()).unwrap());
    let http = HttpSettings {
        rate_limit_per_second: 1_000_000,
        rate_limit_burst: 1_000_000,
        login_rate_limit_per_minute: 1_000,
        ..Default::default()
    };
    let metrics = myhealth_common::telemetry::init_metrics();
    let addr = serve(app(AppState::new(pool, keys), metrics, &http).unwrap()).await;
    (pg, addr)
}

struct Run {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn wrk(url: &str, token: Option<&str>) -> Run {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t2", "-c16", if benching() { "-d3s" } else { "-d1s" }, "--latency"]);
    if let Some(t) = token {
        cmd.args(["-H", &format!("Authorization: Bearer {t}")]);
    }
    let out = cmd.arg(url).output().expect("run wrk");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!text.contains("Non-2xx"), "wrk saw errors:\n{text}");
    let rps = field(&text, "Requests/sec:").parse().unwrap();
    let ms = |v: &str| -> f64 {
        let (num, unit) = v.split_at(v.find(|c: char| c.is_alphabetic()).unwrap());
        let n: f64 = num.parse().unwrap();
        match unit {
            "us" => n / 1000.0,
            "ms" => n,
            "s" => n * 1000.0,
            _ => panic!("unit {unit}"),
        }
    };
    Run { rps, p50_ms: ms(&field(&text, "50%")), p99_ms: ms(&field(&text, "99%")) }
}

fn field(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(key).map(|v| v.trim().to_string()))
        .unwrap_or_else(|| panic!("no `{key}` in wrk output:\n{text}"))
}
