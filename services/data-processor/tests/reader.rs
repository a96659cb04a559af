//! The read-only role Grafana's datasource uses, on a real PostgreSQL: the
//! data-processor binary creates it from the environment the chart sets, it
//! logs in with its password only, runs every query of the Oura dashboard
//! the chart ships, cannot write, sees tables added later, and a new password
//! replaces the old one.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use myhealth_common::testing::TempPostgres;
use sqlx::Executor;
use sqlx::postgres::PgConnectOptions;

const USER: &str = "grafana_reader";

async fn login(pg: &TempPostgres, db: &str, password: &str) -> Result<sqlx::PgConnection, sqlx::Error> {
    use sqlx::Connection;
    let opts = PgConnectOptions::new().host("127.0.0.1").port(pg.port).database(db).username(USER).password(password);
    sqlx::PgConnection::connect_with(&opts).await
}

/// The SQL of every PostgreSQL panel of the chart's Oura dashboard, with
/// Grafana's `$__timeFilter(expr)` macro expanded the way Grafana does.
fn dashboard_queries() -> Vec<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../templates/helm/myhealth/dashboards/oura-overview.json");
    let dashboard: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(sql) = target["rawSql"].as_str() {
                let sql = expand_time_filter(sql);
                assert!(!sql.contains("$__"), "an unexpanded Grafana macro in {sql}");
                out.push((panel["title"].as_str().unwrap_or("?").to_string(), sql));
            }
        }
    }
    out
}

fn expand_time_filter(sql: &str) -> String {
    const MACRO: &str = "$__timeFilter(";
    let Some(start) = sql.find(MACRO) else { return sql.to_string() };
    let args = &sql[start + MACRO.len()..];
    // The argument may hold parentheses of its own: find the matching one.
    let mut depth = 1;
    let end = args
        .char_indices()
        .find(|&(_, c)| {
            depth += match c {
                '(' => 1,
                ')' => -1,
                _ => 0,
            };
            depth == 0
        })
        .map(|(i, _)| i)
        .expect("balanced parentheses");
    let expr = &args[..end];
    let expanded = format!("{expr} BETWEEN '2026-10-01T00:00:00Z' AND '2026-12-01T00:00:00Z'");
    format!("{}{expanded}{}", &sql[..start], expand_time_filter(&args[end + 1..]))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_creates_a_read_only_role_for_grafana() {
    let pg = TempPostgres::start();
    let url = pg.database("reader").await;
    pg.require_password(USER);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let first = "first-Reader-pw-7c1e";
    let mut child = Command::new(env!("CARGO_BIN_EXE_data-processor"))
        .env_clear()
        .env("DATABASE_URL", &url)
        .env("PORT", port.to_string())
        .env("DB_READER_PASSWORD", first)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // The role appears once the migrations have run.
    let started = Instant::now();
    let mut reader = loop {
        match login(&pg, "reader", first).await {
            Ok(c) => break c,
            Err(_) if started.elapsed() < Duration::from_secs(30) => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("the read-only role never became usable: {e}"),
        }
    };
    assert!(login(&pg, "reader", "wrong").await.is_err(), "a wrong password logged in");

    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    admin
        .execute(
            "INSERT INTO sleep_metrics (day, score, deep_sleep_seconds, rem_sleep_seconds, light_sleep_seconds, average_hrv, lowest_heart_rate) \
             VALUES ('2026-11-01', 82, 5400, 6600, 15000, 48.5, 51)",
        )
        .await
        .unwrap();

    let queries = dashboard_queries();
    assert!(queries.len() >= 6, "the dashboard has lost its PostgreSQL panels: {queries:?}");
    for (title, sql) in &queries {
        let rows = reader.fetch_all(sql.as_str()).await.unwrap_or_else(|e| panic!("panel `{title}`: {e}\n{sql}"));
        if sql.contains("FROM sleep_metrics") {
            assert_eq!(rows.len(), 1, "panel `{title}` should see the stored night");
        }
    }

    let write = reader.execute("DELETE FROM sleep_metrics").await.unwrap_err().to_string();
    assert!(write.contains("read-only transaction") || write.contains("permission denied"), "{write}");
    // Even outside its default read-only mode the role holds no write grant.
    let write = reader
        .execute("BEGIN READ WRITE; INSERT INTO activity_metrics (day) VALUES ('2026-11-01')")
        .await
        .unwrap_err()
        .to_string();
    assert!(write.contains("permission denied"), "{write}");
    reader.execute("ROLLBACK").await.unwrap();

    // A table a later migration adds is readable without another grant.
    admin.execute("CREATE TABLE later_metrics (day date)").await.unwrap();
    reader.execute("SELECT count(*) FROM later_metrics").await.unwrap();

    // Nothing of the password in what the process printed.
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let logs = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(logs.contains("read-only role ready"), "{logs}");
    assert!(!logs.contains(first), "the password reached the logs:\n{logs}");

    // Rotation: ensuring again with a new password locks the old one out.
    data_processor::reader::ensure(&admin, USER, "second-Reader-pw-99af").await.unwrap();
    assert!(login(&pg, "reader", first).await.is_err(), "the old password still works");
    login(&pg, "reader", "second-Reader-pw-99af").await.unwrap();
}
