//! api-service throughput and latency with `wrk` (Debian), against its own
//! floor in the same run: `/health` of the same server (no auth, no
//! database) versus `/api/v1/dashboard` (JWT check, rate limiter, one SQL
//! statement over a year of data, JSON). The server runs in this (optimised)
//! process on a throwaway PostgreSQL; rate limits are lifted so wrk measures
//! the work, not the limiter's refusals.
//!
//! `cargo bench -p api-service --bench http` (needs `wrk` on PATH)

use std::process::Command;
use std::sync::Arc;

use api_service::auth::{Claims, Keys};
use api_service::{AppState, HttpSettings, app};
use argon2::password_hash::{PasswordHasher, SaltString};
use myhealth_common::testing::{TempPostgres, serve};

const KEY: &str = "a-benchmark-signing-key-of-32-bytes-or-more";

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

    let floor = wrk(&format!("http://{addr}/health"), None);
    let dash = wrk(&format!("http://{addr}/api/v1/dashboard"), Some(&token));
    let trend = wrk(&format!("http://{addr}/api/v1/trends/sleep_score?period=90d"), Some(&token));
    for (what, r) in [("/health (floor)", &floor), ("/api/v1/dashboard", &dash), ("/api/v1/trends 90d", &trend)] {
        println!(
            "{what:<22} {:>9.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms   {:>5.1} % of the floor",
            r.rps,
            r.p50_ms,
            r.p99_ms,
            100.0 * r.rps / floor.rps
        );
    }
    let metrics = Command::new("curl").args(["-s", &format!("http://{addr}/metrics")]).output().unwrap();
    for l in String::from_utf8_lossy(&metrics.stdout).lines().filter(|l| l.starts_with("dashboard_cache_total")) {
        println!("{l}");
    }
    drop(pg);
}

async fn setup() -> (TempPostgres, std::net::SocketAddr) {
    let pg = TempPostgres::start();
    let url = pg.database("bench").await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
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
    let salt = SaltString::from_b64("c29tZXNhbHRzb21lc2FsdA").unwrap();
    let hash = argon2::Argon2::default().hash_password(b"pw", &salt).unwrap().to_string();
    let keys = Arc::new(Keys::new("me", &hash, KEY).unwrap());
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
    cmd.args(["-t2", "-c16", "-d8s", "--latency"]);
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
