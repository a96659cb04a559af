//! The collector against a fake Oura API (documented v2 shapes: `data` +
//! `next_token` pages, OAuth refresh with rotating refresh tokens, 429 with
//! `Retry-After`, a 500) and the real data-processor on a real PostgreSQL.

use std::net::SocketAddr;

use myhealth_common::testing::{TempPostgres, serve};
use oura_collector::fake::{self, Oura};
use oura_collector::{Settings, run};
use serde_json::Value;

async fn processor(pg: &TempPostgres, db: &str) -> (SocketAddr, sqlx::PgPool) {
    let url = pg.database(db).await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    data_processor::MIGRATOR.run(&pool).await.unwrap();
    let app = data_processor::app(
        data_processor::AppState { pool: pool.clone() },
        myhealth_common::telemetry::init_metrics(),
        1 << 20,
    );
    (serve(app).await, pool)
}

fn settings(oura: SocketAddr, proc_addr: SocketAddr, token_file: &std::path::Path) -> Settings {
    Settings {
        oura_base_url: format!("http://{oura}"),
        client_id: "cid".into(),
        client_secret: "csecret".into(),
        token_secret_id: None,
        token_file: Some(token_file.to_path_buf()),
        processor_url: format!("http://{proc_addr}"),
        overlap_days: 2,
        backfill: Some(30),
        http_timeout_seconds: 5,
        max_attempts: 4,
        backoff_base_ms: 10,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn collects_pages_retries_rotates_tokens_and_stores() {
    let pg = TempPostgres::start();
    let (proc_addr, pool) = processor(&pg, "collect").await;
    let (oura, state) = fake::start(Oura {
        scripted: vec![("daily_activity".into(), 1, 429), ("daily_readiness".into(), 1, 502)],
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("oura-token.json");
    std::fs::write(&token_file, "refresh-0").unwrap();

    let report = run(&settings(oura, proc_addr, &token_file)).await.unwrap();
    assert_eq!((report.sleep, report.activity, report.readiness, report.heart_rate), (2, 1, 1, 1));

    // The rotated refresh token was persisted; the old one is dead.
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&token_file).unwrap()).unwrap();
    assert_eq!(saved["refresh_token"], "refresh-1");
    // The 429 and the 502 were retried.
    let calls = state.lock().unwrap().calls.clone();
    assert_eq!(calls["daily_activity"], 2);
    assert_eq!(calls["daily_readiness"], 2);
    assert_eq!(calls["daily_sleep"], 2, "two pages");
    // The run reported its Oura requests and the 429 to the processor, which exports them.
    let metrics = reqwest::get(format!("http://{proc_addr}/metrics")).await.unwrap().text().await.unwrap();
    let counter = |name: &str| -> u64 {
        metrics.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
    };
    assert!(counter("oura_api_rate_limited_total ") >= 1, "{metrics}");
    assert!(counter("oura_api_requests_total ") >= 8, "{metrics}");

    // Merged sleep: the score of daily_sleep, the durations of the long sleep (not the nap).
    let (score, total, hrv): (i16, i32, f32) =
        sqlx::query_as("SELECT score, total_sleep_seconds, average_hrv FROM sleep_metrics WHERE day = '2026-11-01'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((score, total, hrv), (82, 27000, 48.0));
    let day2: (i16, Option<i32>) =
        sqlx::query_as("SELECT score, total_sleep_seconds FROM sleep_metrics WHERE day = '2026-11-02'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(day2, (71, None));
    let synced: chrono::NaiveDate = sqlx::query_scalar("SELECT last_synced_day FROM sync_state WHERE stream = 'oura'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(synced, chrono::Utc::now().date_naive());

    // A second run starts from the persisted tokens; its access token has
    // expired meanwhile, so it refreshes (rotating again) and carries on.
    state.lock().unwrap().expired = true;
    run(&settings(oura, proc_addr, &token_file)).await.unwrap();
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&token_file).unwrap()).unwrap();
    assert_eq!(saved["refresh_token"], "refresh-2");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM sleep_metrics").fetch_one(&pool).await.unwrap();
    assert_eq!(rows, 2, "re-collecting stores nothing twice");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_half_way_stores_nothing_and_leaves_the_sync_state() {
    let pg = TempPostgres::start();
    let (proc_addr, pool) = processor(&pg, "failure").await;
    let (oura, state) = fake::start(Oura { broken: vec!["daily_readiness".into()], ..Default::default() }).await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("oura-token.json");
    std::fs::write(&token_file, "refresh-0").unwrap();

    let err = run(&settings(oura, proc_addr, &token_file)).await.unwrap_err();
    assert!(format!("{err:#}").contains("giving up"), "{err:#}");
    assert_eq!(state.lock().unwrap().calls["daily_readiness"], 4, "retried up to max_attempts");
    let synced: Option<chrono::NaiveDate> =
        sqlx::query_scalar("SELECT last_synced_day FROM sync_state WHERE stream = 'oura'")
            .fetch_optional(&pool)
            .await
            .unwrap();
    assert_eq!(synced, None, "the sync state must not advance");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM raw_documents").fetch_one(&pool).await.unwrap();
    assert_eq!(rows, 0);
    // Even a failed run keeps the rotated token it was given.
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&token_file).unwrap()).unwrap();
    assert_eq!(saved["refresh_token"], "refresh-1");
}

/// The binary as the CronJob runs it: environment only, the tokens in an AWS
/// Secrets Manager secret (moto), exit status 0 on success and non-zero on
/// failure so the Job shows it.
#[tokio::test(flavor = "multi_thread")]
async fn the_binary_keeps_rotated_tokens_in_secrets_manager() {
    let Some(moto) = myhealth_common::testing::Moto::start() else { return };
    let pg = TempPostgres::start();
    let (proc_addr, pool) = processor(&pg, "binary").await;
    let (oura, state) = fake::start(Oura::default()).await;

    let creds = aws_sdk_secretsmanager::config::Credentials::new("testing", "testing", None, None, "test");
    let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&moto.endpoint)
        .region(aws_config::Region::new("eu-west-1"))
        .credentials_provider(creds)
        .load()
        .await;
    let sm = aws_sdk_secretsmanager::Client::new(&aws);
    let arn = sm
        .create_secret()
        .name("myhealth-dev/oura-refresh-token")
        .secret_string("refresh-0")
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();

    let collector = |oura: SocketAddr| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_oura-collector"));
        cmd.env_clear()
            .env("OURA_API_BASE_URL", format!("http://{oura}"))
            .env("OURA_CLIENT_ID", "cid")
            .env("OURA_CLIENT_SECRET", "csecret")
            .env("OURA_TOKEN_SECRET_ID", &arn)
            .env("PROCESSOR_URL", format!("http://{proc_addr}"))
            .env("MAX_ATTEMPTS", "2")
            .env("BACKOFF_BASE_MS", "10")
            .env("AWS_ENDPOINT_URL", &moto.endpoint)
            .env("AWS_REGION", "eu-west-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing");
        cmd
    };
    let out = tokio::task::spawn_blocking({
        let mut cmd = collector(oura);
        move || cmd.output().unwrap()
    })
    .await
    .unwrap();
    let logs = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{logs}");
    assert!(logs.contains("collection complete"), "{logs}");
    assert!(
        !logs.contains("csecret") && !logs.contains("refresh-1") && !logs.contains("access-1"),
        "secrets in logs: {logs}"
    );

    // The rotated token is the secret's current version; the old one is dead at Oura.
    let now = sm.get_secret_value().secret_id(&arn).send().await.unwrap();
    let saved: Value = serde_json::from_str(now.secret_string().unwrap()).unwrap();
    assert_eq!(saved["refresh_token"], "refresh-1");
    assert_eq!(state.lock().unwrap().generation, 1);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM sleep_metrics").fetch_one(&pool).await.unwrap();
    assert_eq!(rows, 2);

    // A failing run: exit status 1.
    let (broken, _) = fake::start(Oura { broken: vec!["sleep".into()], generation: 1, ..Default::default() }).await;
    let out = tokio::task::spawn_blocking({
        let mut cmd = collector(broken);
        move || cmd.output().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("collection failed"));
}
