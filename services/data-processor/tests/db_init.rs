//! db-init on a real PostgreSQL, run as the chart runs it (the binary, from
//! the environment only): as a master user that is *not* a superuser (as
//! RDS's is not) it migrates, creates each service's role with exactly its
//! privileges and Grafana's read-only role — twice, the second time over
//! existing roles, without one failing statement — and with `log_statement =
//! all` no password appears in PostgreSQL's log (the reader's is set as a
//! SCRAM verifier). The reader runs every query of the Oura dashboard the
//! chart ships, cannot write, and sees tables added later. The master
//! connection also comes from where the chart points it: an SSM parameter
//! and the RDS-managed secret (moto). And a service's password rotated
//! under it while it runs causes no outage.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use myhealth_common::testing::TempPostgres;
use sqlx::Executor;
use sqlx::postgres::PgConnectOptions;

const USER: &str = "grafana_reader";
const MASTER: &str = "rds_master";
const MASTER_PASSWORD: &str = "Master-pw-3f9b";

async fn login(pg: &TempPostgres, db: &str, user: &str, password: &str) -> Result<sqlx::PgConnection, sqlx::Error> {
    use sqlx::Connection;
    let opts = PgConnectOptions::new().host("127.0.0.1").port(pg.port).database(db).username(user).password(password);
    sqlx::PgConnection::connect_with(&opts).await
}

/// A database owned by a CREATEROLE, non-superuser master, as RDS sets it up.
async fn rds_like(pg: &TempPostgres, db: &str) -> String {
    let admin = sqlx::PgPool::connect(&pg.url("postgres")).await.unwrap();
    admin
        .execute(format!("CREATE ROLE {MASTER} WITH LOGIN CREATEROLE PASSWORD '{MASTER_PASSWORD}'").as_str())
        .await
        .unwrap();
    admin.execute(format!("CREATE DATABASE {db} OWNER {MASTER}").as_str()).await.unwrap();
    admin.close().await;
    pg.require_password(MASTER);
    format!("postgres://{MASTER}:{MASTER_PASSWORD}@127.0.0.1:{}/{db}", pg.port)
}

fn db_init(envs: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_data-processor"))
        .arg("db-init")
        .env_clear()
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
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
async fn db_init_creates_every_role_as_a_non_superuser_and_logs_no_password() {
    let pg = TempPostgres::start_with(&[("log_statement", "all")]);
    let url = rds_like(&pg, "dbinit").await;
    pg.require_password(USER);
    let first = "first-Reader-pw-7c1e";
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("DB_ROLES", "data_processor=write,api_service=read"),
        ("DB_READER_PASSWORD", first),
    ];
    let (ok, logs) = db_init(&env);
    assert!(ok, "db-init failed:\n{logs}");
    assert!(logs.contains("read-only role ready") && logs.contains("service role ready"), "{logs}");
    // Again, over the roles it made: nothing fails.
    let (ok, logs) = db_init(&env);
    assert!(ok, "db-init failed over existing roles:\n{logs}");
    assert!(!logs.contains(first), "the password reached db-init's logs:\n{logs}");

    let mut reader = login(&pg, "dbinit", USER, first).await.expect("the reader logs in with its password");
    assert!(login(&pg, "dbinit", USER, "wrong").await.is_err(), "a wrong password logged in");
    let master = sqlx::PgPool::connect(&url).await.unwrap();
    master
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
    let write = reader
        .execute("BEGIN READ WRITE; INSERT INTO activity_metrics (day) VALUES ('2026-11-01')")
        .await
        .unwrap_err()
        .to_string();
    assert!(write.contains("permission denied"), "{write}");
    reader.execute("ROLLBACK").await.unwrap();

    // The services' roles: the processor writes, the API reads, neither may change the schema.
    let as_role = |role: &str| format!("postgres://{role}@127.0.0.1:{}/dbinit", pg.port);
    let processor = sqlx::PgPool::connect(&as_role("data_processor")).await.unwrap();
    processor.execute("INSERT INTO activity_metrics (day) VALUES ('2026-11-02')").await.unwrap();
    let ddl = processor.execute("CREATE TABLE mine (x int)").await.unwrap_err().to_string();
    assert!(ddl.contains("permission denied"), "{ddl}");
    let api = sqlx::PgPool::connect(&as_role("api_service")).await.unwrap();
    api.execute("SELECT count(*) FROM activity_metrics").await.unwrap();
    let w = api.execute("INSERT INTO activity_metrics (day) VALUES ('2026-11-03')").await.unwrap_err().to_string();
    assert!(w.contains("permission denied"), "{w}");

    // A table a later migration adds is readable without another grant.
    master.execute("CREATE TABLE later_metrics (day date)").await.unwrap();
    reader.execute("SELECT count(*) FROM later_metrics").await.unwrap();
    api.execute("SELECT count(*) FROM later_metrics").await.unwrap();

    // Rotation: a new password locks the old one out.
    let (ok, logs) = db_init(&[("DATABASE_URL", url.as_str()), ("DB_READER_PASSWORD", "second-Reader-pw-99af")]);
    assert!(ok, "{logs}");
    assert!(login(&pg, "dbinit", USER, first).await.is_err(), "the old password still works");
    login(&pg, "dbinit", USER, "second-Reader-pw-99af").await.unwrap();

    // PostgreSQL saw every statement, none failed, and no password.
    let log = pg.log();
    assert!(log.contains("statement:"), "log_statement=all logged nothing?\n{log}");
    for secret in [first, "second-Reader-pw-99af"] {
        assert!(!log.contains(secret), "a reader password is in PostgreSQL's log");
    }
    let errors: Vec<&str> = log.lines().filter(|l| l.contains("ERROR:")).collect();
    let ours: Vec<&&str> =
        errors.iter().filter(|l| !l.contains("permission denied") && !l.contains("read-only transaction")).collect();
    assert!(ours.is_empty(), "db-init made statements fail: {ours:#?}");
}

/// The chart's way: the master connection from the SSM parameter the
/// Terraform writes, its password from the RDS-managed secret it names, the
/// reader's from Secrets Manager (all on moto), the database real.
#[tokio::test(flavor = "multi_thread")]
async fn db_init_reads_the_master_connection_from_aws() {
    let Some(moto) = myhealth_common::testing::Moto::start() else { return };
    let pg = TempPostgres::start();
    rds_like(&pg, "fromaws").await;
    pg.require_password(USER);
    let region = "eu-west-1";
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region))
        .endpoint_url(&moto.endpoint)
        .credentials_provider(aws_sdk_ssm::config::Credentials::new("test", "test", None, None, "test"))
        .load()
        .await;
    let sm = aws_sdk_secretsmanager::Client::new(&config);
    let master = sm
        .create_secret()
        .name("rds!db-0123")
        .secret_string(serde_json::json!({ "username": MASTER, "password": MASTER_PASSWORD }).to_string())
        .send()
        .await
        .unwrap();
    sm.create_secret().name("myhealth-dev/grafana/database").secret_string("aws-Reader-pw-51d0").send().await.unwrap();
    let parameter = serde_json::json!({
        "host": "127.0.0.1", "port": pg.port.to_string(), "dbname": "fromaws",
        "username": MASTER, "master_secret_arn": master.arn().unwrap(),
    });
    aws_sdk_ssm::Client::new(&config)
        .put_parameter()
        .name("/myhealth-dev/database")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .value(parameter.to_string())
        .send()
        .await
        .unwrap();

    let (ok, logs) = db_init(&[
        ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", region),
        ("DB_PARAMETER", "/myhealth-dev/database"),
        ("DB_ROLES", "data_processor=write,api_service=read"),
        ("DB_READER_USER", USER),
        ("DB_READER_SECRET_ID", "myhealth-dev/grafana/database"),
        ("DB_SSLMODE", "disable"),
    ]);
    assert!(ok, "db-init from AWS failed:\n{logs}");
    assert!(!logs.contains(MASTER_PASSWORD) && !logs.contains("aws-Reader-pw-51d0"), "a password in the logs:\n{logs}");
    login(&pg, "fromaws", USER, "aws-Reader-pw-51d0").await.expect("the reader's password came from Secrets Manager");
    let roles: Vec<String> = sqlx::query_scalar(
        "SELECT rolname::text FROM pg_roles WHERE rolname IN ('data_processor', 'api_service') ORDER BY 1",
    )
    .fetch_all(&sqlx::PgPool::connect(&pg.url("fromaws")).await.unwrap())
    .await
    .unwrap();
    assert_eq!(roles, ["api_service", "data_processor"]);
}

/// A service's password changed while it runs: new connections take the
/// new one from its file, open ones are kept; killed connections come back.
/// `/ready` (a query through the pool) keeps answering 200, or is back
/// within seconds.
#[tokio::test(flavor = "multi_thread")]
async fn a_password_rotated_under_a_running_service_causes_no_outage() {
    let pg = TempPostgres::start();
    let url = rds_like(&pg, "rotate").await;
    let (ok, logs) = db_init(&[("DATABASE_URL", url.as_str()), ("DB_ROLES", "data_processor=write")]);
    assert!(ok, "{logs}");
    let superuser = sqlx::PgPool::connect(&pg.url("rotate")).await.unwrap();
    superuser.execute("ALTER ROLE data_processor PASSWORD 'Old-pw-0001'").await.unwrap();
    pg.require_password("data_processor");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("password");
    std::fs::write(&file, "Old-pw-0001\n").unwrap();

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let pg_port = pg.port.to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_data-processor"))
        .env_clear()
        .env("PORT", port.to_string())
        .env("DB_HOST", "127.0.0.1")
        .env("DB_PORT", &pg_port)
        .env("DB_NAME", "rotate")
        .env("DB_USER", "data_processor")
        .env("DB_PASSWORD_FILE", &file)
        .env("DB_MIGRATE", "false")
        .env("DB_SSLMODE", "disable")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(3)).build().unwrap();
    let ready = format!("http://127.0.0.1:{port}/ready");
    let is_ready = || async { client.get(&ready).send().await.is_ok_and(|r| r.status() == 200) };
    let start = Instant::now();
    while !is_ready().await {
        assert!(start.elapsed() < Duration::from_secs(30), "the service never became ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Rotate as an operator would: the role's password first, then the file
    // (the Secret behind it); then end every session, so only new ones remain.
    superuser.execute("ALTER ROLE data_processor PASSWORD 'New-pw-0002'").await.unwrap();
    std::fs::write(&file, "New-pw-0002\n").unwrap();
    superuser
        .execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'data_processor'")
        .await
        .unwrap();
    let rotated = Instant::now();
    let mut last_failure = None;
    while rotated.elapsed() < Duration::from_secs(8) {
        if !is_ready().await {
            last_failure = Some(rotated.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The file is looked at every 2 s: at most that long without a usable credential.
    if let Some(t) = last_failure {
        assert!(t < Duration::from_secs(4), "still failing {t:?} after the rotation");
    }
    assert!(is_ready().await, "not ready after the rotation");
    // And the old password really is gone from the server.
    assert!(login(&pg, "rotate", "data_processor", "Old-pw-0001").await.is_err());

    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let logs = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(logs.contains("database password changed"), "{logs}");
    assert!(!logs.contains("Old-pw-0001") && !logs.contains("New-pw-0002"), "a password in the logs:\n{logs}");
}
