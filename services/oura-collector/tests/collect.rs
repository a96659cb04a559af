//! The collector against the fake Oura API built from the contract and the
//! real data-processor on a real PostgreSQL: every collection stored raw
//! and typed, retries, rotated tokens, request windows as the API reads
//! them, independent collections (a failing or withheld one does not
//! discard the others; a withheld scope or a lapsed subscription is proven by
//! one refresh a run and needs the user), batches
//! under the processor's body limit, the old `oura` stream honoured, and
//! the binary as the CronJob runs it with its exit codes.

mod common;

use std::net::SocketAddr;

use chrono::{DateTime, Days, NaiveDate, Utc};
use common::{World, world};
use myhealth_common::testing::TempPostgres;
use oura_collector::Outcome;
use serde_json::Value;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn collects_every_collection_raw_and_typed_with_retries_and_rotated_tokens() {
    let pg = TempPostgres::start();
    // 12:30 at UTC+3: today's activity exists, tonight's sleep not yet.
    let w = world(&pg, "collect", 180, at("2026-10-20T09:30:00Z"), 29).await;
    w.fake.lock().unwrap().scripted = vec![("daily_activity".into(), 1, 429), ("daily_readiness".into(), 1, 502)];
    let mut s = w.settings();
    s.backfill = Some(30);

    let report = w.run(&s).await;
    assert_eq!(report.outcome, Outcome::Ok, "{report:#?}");
    w.assert_everything_stored().await;
    // Today's activity was collected on the day.
    let today = w.now().date_naive();
    let act: Option<i32> = sqlx::query_scalar("SELECT steps FROM activity_metrics WHERE day = $1")
        .bind(today)
        .fetch_optional(&w.pool)
        .await
        .unwrap()
        .flatten();
    assert!(act.is_some_and(|s| s > 0), "today's activity: {act:?}");
    // The 429 and the 502 were retried; heart rate was asked in ranges of at most 30 days.
    {
        let f = w.fake.lock().unwrap();
        // Two chunks (31 days and then some), one page each, plus the retry.
        assert_eq!(f.calls["daily_sleep"], 2);
        assert_eq!(f.calls["daily_activity"], 3);
        assert_eq!(f.calls["daily_readiness"], 3);
        for (c, q) in f.queries.iter().filter(|(c, _)| c == "heartrate") {
            let (a, b): (DateTime<Utc>, DateTime<Utc>) =
                (q["start_datetime"].parse().unwrap(), q["end_datetime"].parse().unwrap());
            assert!(b - a <= chrono::Duration::days(30), "{c} {q:?}");
        }
        assert!(f.queries.iter().filter(|(c, _)| c == "heartrate").count() >= 2, "31+ days need two chunks");
    }
    // The rotated refresh token was persisted; each collection has its own state.
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&w.token_file).unwrap()).unwrap();
    assert_eq!(saved["refresh_token"], "refresh-1");
    for c in oura_collector::collections::ALL {
        assert_eq!(w.synced(c.stream).await, Some(today), "{}", c.stream);
    }
    // Every period of a day, not only the long sleep; the day's night is its long sleep.
    let types: Vec<Option<String>> =
        sqlx::query_scalar("SELECT DISTINCT type FROM sleep_periods").fetch_all(&w.pool).await.unwrap();
    for t in ["long_sleep", "sleep", "rest", "deleted", "late_nap"] {
        assert!(types.contains(&Some(t.to_string())), "{t} missing from {types:?}");
    }
    let mismatched: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sleep_metrics m JOIN sleep_periods p ON p.oura_id = m.sleep_period_id
         WHERE p.type <> 'long_sleep' OR m.total_sleep_seconds IS DISTINCT FROM p.total_sleep_seconds",
    )
    .fetch_one(&w.pool)
    .await
    .unwrap();
    assert_eq!(mismatched, 0);
    // The run reported its requests, the 429 and the outcome to the processor, which exports them.
    let m = w.metrics().await;
    assert!(counter(&m, "oura_api_rate_limited_total") >= 1.0, "{m}");
    assert!(counter(&m, "oura_api_requests_total") >= 14.0, "{m}");
    assert!(counter(&m, "oura_collector_runs_total{outcome=\"ok\"}") >= 1.0, "{m}");

    // A second run an hour later resumes from the stored states; its access
    // token has expired meanwhile, so it refreshes (rotating again).
    let before = w.count("raw_documents").await;
    w.fake.lock().unwrap().expired = true;
    w.clock.advance(std::time::Duration::from_secs(3600));
    let report = w.run(&w.settings()).await;
    assert_eq!(report.outcome, Outcome::Ok, "{report:#?}");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&w.token_file).unwrap()).unwrap();
    assert_eq!(saved["refresh_token"], "refresh-2");
    assert!(w.count("raw_documents").await >= before, "re-collecting loses nothing");
    w.assert_everything_stored().await;
    // It asked from the night before (its state − overlap − 1), not 30 days.
    let f = w.fake.lock().unwrap();
    let (_, q) = f.queries.iter().rev().find(|(c, _)| c == "sleep").unwrap();
    assert_eq!(q["start_date"], (today - Days::new(3)).to_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_collection_does_not_discard_the_others() {
    let pg = TempPostgres::start();
    let w = world(&pg, "failing", -300, at("2026-10-20T18:00:00Z"), 20).await;
    w.fake.lock().unwrap().broken = vec!["daily_readiness".into()];
    let report = w.run(&w.settings()).await;
    assert_eq!(report.outcome, Outcome::Partial);
    assert_eq!(report.get("daily_readiness").failure, Some("unavailable"));
    assert_eq!(w.fake.lock().unwrap().calls["daily_readiness"], 4, "retried up to max_attempts");
    // Everything else stored and advanced; readiness left where it begins
    // (written before anything was fetched: the day before its first day).
    let first = w.now().date_naive() - Days::new(w.settings().first_run_days);
    assert_eq!(w.synced("oura_daily_readiness").await, Some(first - Days::new(1)));
    assert_eq!(report.get("daily_readiness").failure.map(oura_collector::needs_user), Some(false));
    assert_eq!(w.synced("oura_sleep").await, Some(w.now().date_naive()));
    assert_eq!(w.count("readiness_metrics").await, 0);
    assert!(w.count("sleep_periods").await > 0 && w.count("workouts").await > 0);
    let m = w.metrics().await;
    assert!(
        counter(&m, "oura_collection_failures_total{collection=\"daily_readiness\",reason=\"unavailable\"}") >= 1.0,
        "{m}"
    );
    assert!(counter(&m, "oura_collector_runs_total{outcome=\"partial\"}") >= 1.0, "{m}");

    // Repaired: the next run catches up readiness too.
    w.fake.lock().unwrap().broken.clear();
    w.clock.advance(std::time::Duration::from_secs(300));
    assert_eq!(w.run(&w.settings()).await.outcome, Outcome::Ok);
    w.assert_everything_stored().await;
}

/// A withheld scope is told from an expired token by a refresh: the run's
/// one refresh proves a fresh token is refused for that collection. It fails
/// alone, needs the user (exit 4), is asked twice a run and no more, and is
/// reported every run.
#[tokio::test(flavor = "multi_thread")]
async fn a_withheld_scope_fails_alone_needs_the_user_and_is_proven_by_one_refresh_a_run() {
    let pg = TempPostgres::start();
    let w = world(&pg, "scope", 180, at("2026-10-20T07:00:00Z"), 20).await;
    w.fake.lock().unwrap().granted.remove("heartrate");
    let report = w.run(&w.settings()).await;
    assert_eq!(report.outcome, Outcome::NeedsUser, "{report:#?}");
    assert_eq!(report.outcome.exit_code(), 4);
    assert_eq!(report.get("heartrate").failure, Some("scope"));
    assert!(report.collections.iter().all(|c| c.name == "heartrate" || c.failure.is_none()), "{report:#?}");
    // The first access token, and the one that proved the scope.
    assert_eq!(report.stats.token_refreshes, 2);
    assert_eq!((report.stats.scopes_withheld, report.stats.tokens_renewed), (1, 0));
    assert_eq!(w.fake.lock().unwrap().calls["heartrate"], 2, "asked with the run's token, then with a fresh one");
    assert!(w.count("sleep_periods").await > 0);
    assert_eq!(w.count("heart_rate_samples").await, 0);
    // Later runs: one refresh each to prove it (401 or 403), two requests, reported every run.
    let series = "oura_collection_failures_total{collection=\"heartrate\",reason=\"scope\"}";
    for status in [401, 403, 401] {
        w.fake.lock().unwrap().withheld_status = status;
        let calls = w.fake.lock().unwrap().calls["heartrate"];
        let reported = counter(&w.metrics().await, series);
        w.clock.advance(std::time::Duration::from_secs(300));
        let report = w.run(&w.settings()).await;
        assert_eq!(report.outcome, Outcome::NeedsUser, "{status}");
        assert_eq!(report.get("heartrate").failure, Some("scope"), "{status}");
        assert_eq!(report.stats.token_refreshes, 1, "{status}: one refresh proves the scope");
        assert_eq!(w.fake.lock().unwrap().calls["heartrate"] - calls, 2, "{status}: retried no more");
        // (The metrics are the test process's: other tests report too.)
        assert!(counter(&w.metrics().await, series) > reported, "{status}: not reported");
    }
    assert_eq!(w.fake.lock().unwrap().generation, 5);
    // With a collection failing besides it: still needs the user, the other one said to be retried.
    w.fake.lock().unwrap().broken = vec!["workout".into()];
    w.clock.advance(std::time::Duration::from_secs(300));
    let report = w.run(&w.settings()).await;
    assert_eq!(report.outcome, Outcome::NeedsUser);
    assert_eq!(
        (report.failed(true).as_str(), report.failed(false).as_str()),
        ("heartrate(scope)", "workout(unavailable)")
    );
    w.fake.lock().unwrap().broken.clear();
    // Granted again: heart rate catches up by itself.
    w.fake.lock().unwrap().granted.insert("heartrate");
    w.clock.advance(std::time::Duration::from_secs(300));
    let report = w.run(&w.settings()).await;
    assert_eq!(report.outcome, Outcome::Ok);
    assert_eq!(report.stats.token_refreshes, 0);
    w.assert_everything_stored().await;
    // Excluding a withheld collection on purpose (OURA_COLLECTIONS) makes runs ok again, with no refresh.
    w.fake.lock().unwrap().granted.remove("heartrate");
    let mut s = w.settings();
    s.collections =
        oura_collector::collections::ALL.iter().filter(|c| c.name != "heartrate").map(|c| c.name.to_string()).collect();
    w.clock.advance(std::time::Duration::from_secs(300));
    let report = w.run(&s).await;
    assert_eq!(report.outcome, Outcome::Ok);
    assert_eq!(report.stats.token_refreshes, 0);
}

/// A lapsed subscription: every collection refused (403) whatever the token.
/// One refresh proves it, nothing is stored, no state moves, and the run
/// needs the user rather than failing (a retry in the Job would change nothing).
#[tokio::test(flavor = "multi_thread")]
async fn a_lapsed_subscription_needs_the_user_and_costs_one_refresh() {
    let pg = TempPostgres::start();
    let w = world(&pg, "lapsed", -300, at("2026-10-20T15:00:00Z"), 10).await;
    assert_eq!(w.run(&w.settings()).await.outcome, Outcome::Ok);
    let before = w.synced("oura_sleep").await;
    w.fake.lock().unwrap().subscription_lapsed = true;
    w.clock.advance(std::time::Duration::from_secs(300));
    let report = w.run(&w.settings()).await;
    assert_eq!(report.outcome, Outcome::NeedsUser, "{report:#?}");
    assert!(report.collections.iter().all(|c| c.failure == Some("scope")), "{report:#?}");
    assert_eq!(report.stats.token_refreshes, 1);
    assert_eq!(report.stats.oura_requests, 13, "the first collection twice, the others once");
    assert_eq!(w.synced("oura_sleep").await, before);
    // Renewed: the next run is ok and nothing is missing.
    w.fake.lock().unwrap().subscription_lapsed = false;
    w.clock.advance(std::time::Duration::from_secs(3 * 86_400));
    assert_eq!(w.run(&w.settings()).await.outcome, Outcome::Ok);
    w.assert_everything_stored().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn batches_fit_the_processors_body_limit_and_the_old_stream_is_honoured() {
    let pg = TempPostgres::start();
    let mut w = world(&pg, "limits", 60, at("2026-10-20T12:00:00Z"), 40).await;
    // A processor that takes 64 KiB at most; the collector starts at 1 MiB and learns.
    let (small, pool) = common::processor(&pg, "small", 64 << 10).await;
    w.processor = small;
    w.pool = pool;
    // The single stream of the old collector says it synced to three days ago.
    let old = w.now().date_naive() - Days::new(3);
    sqlx::query("INSERT INTO sync_state (stream, last_synced_day) VALUES ('oura', $1)")
        .bind(old)
        .execute(&w.pool)
        .await
        .unwrap();
    let mut s = w.settings();
    s.first_run_days = 7;
    s.batch_max_bytes = 1 << 20;
    let report = w.run(&s).await;
    assert_eq!(report.outcome, Outcome::Ok, "{report:#?}");
    // The five collections the old stream covered resumed from it; the new ones started FIRST_RUN_DAYS back.
    let (daily_sleep, workout) = {
        let f = w.fake.lock().unwrap();
        let first = |c: &str| -> NaiveDate {
            f.queries.iter().find(|(n, _)| n == c).map(|(_, q)| q["start_date"].parse().unwrap()).unwrap()
        };
        (first("daily_sleep"), first("workout"))
    };
    assert_eq!(daily_sleep, old - Days::new(3));
    assert_eq!(workout, w.now().date_naive() - Days::new(8));
    // Stored everything it asked for, in many small batches.
    let periods: i64 = w.count("sleep_periods").await;
    assert!(periods > 5);
    let m = w.metrics().await;
    assert!(counter(&m, "http_requests_total{method=\"POST\",route=\"/api/v1/ingest\",status=\"413\"}") >= 1.0);
}

/// The binary as the CronJob runs it: environment only, the tokens in an AWS
/// Secrets Manager secret (moto); exit 0 when everything was stored (an access
/// token revoked mid-run refreshed on the way), 3 when one collection failed
/// and the next run retries it, 4 when one needs the user (a scope withheld),
/// 1 when nothing could be (the refresh token refused).
#[tokio::test(flavor = "multi_thread")]
async fn the_binary_keeps_rotated_tokens_in_secrets_manager_and_says_partial() {
    let Some(moto) = myhealth_common::testing::Moto::start() else { return };
    let pg = TempPostgres::start();
    // The binary runs on the real clock: a fake whose days end now.
    let now = Utc::now();
    let w = world(&pg, "binary", 120, now, 10).await;
    w.fake.lock().unwrap().clock = std::sync::Arc::new(oura_collector::clock::SystemClock);

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
            .env("PROCESSOR_URL", format!("http://{}", w.processor))
            .env("MAX_ATTEMPTS", "2")
            .env("BACKOFF_BASE_MS", "10")
            .env("AWS_ENDPOINT_URL", &moto.endpoint)
            .env("AWS_REGION", "eu-west-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing");
        cmd
    };
    let exec = |mut cmd: std::process::Command| async move {
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap();
        let logs = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
        (out.status.code(), logs)
    };
    let (code, logs) = exec(collector(w.oura)).await;
    assert_eq!(code, Some(0), "{logs}");
    assert!(logs.contains("collection complete"), "{logs}");
    assert!(
        !logs.contains("csecret") && !logs.contains("refresh-1") && !logs.contains("access-1"),
        "secrets in logs: {logs}"
    );
    // The rotated token is the secret's current version; the old one is dead at Oura.
    let current = sm.get_secret_value().secret_id(&arn).send().await.unwrap();
    let saved: Value = serde_json::from_str(current.secret_string().unwrap()).unwrap();
    assert_eq!(saved["refresh_token"], "refresh-1");
    assert!(w.count("sleep_periods").await > 0);

    // The access token revoked mid-run: refreshed, the request asked again, exit 0; the log says so.
    {
        let mut f = w.fake.lock().unwrap();
        f.revoke_after = vec![f.requests + 3];
    }
    let (code, logs) = exec(collector(w.oura)).await;
    assert_eq!(code, Some(0), "{logs}");
    assert!(logs.contains("the access token had expired or been revoked during the run"), "{logs}");
    assert!(!logs.contains("scope is not granted"), "{logs}");
    let current = sm.get_secret_value().secret_id(&arn).send().await.unwrap();
    let saved: Value = serde_json::from_str(current.secret_string().unwrap()).unwrap();
    assert_eq!(saved["refresh_token"], "refresh-2", "the rotated token persisted");

    // One collection failing: exit 3, "partial: will be retried next run".
    w.fake.lock().unwrap().broken = vec!["sleep".into()];
    let (code, logs) = exec(collector(w.oura)).await;
    assert_eq!(code, Some(3), "{logs}");
    assert!(logs.contains("collection partial: will be retried next run"), "{logs}");
    assert!(logs.contains("sleep=failed(unavailable)"), "{logs}");

    // A scope withheld besides: exit 4, "partial: needs the user"; the log says it was the scope.
    w.fake.lock().unwrap().granted.remove("heartrate");
    let (code, logs) = exec(collector(w.oura)).await;
    assert_eq!(code, Some(4), "{logs}");
    assert!(logs.contains("collection partial: needs the user"), "{logs}");
    assert!(logs.contains("heartrate=failed(scope)") && logs.contains("sleep=failed(unavailable)"), "{logs}");
    assert!(logs.contains("scope is not granted"), "{logs}");
    assert!(!logs.contains("expired or been revoked during the run"), "{logs}");

    // The refresh token refused: exit 1.
    {
        let mut f = w.fake.lock().unwrap();
        f.broken.clear();
        f.granted.insert("heartrate");
        f.generation += 5;
    }
    sm.put_secret_value().secret_id(&arn).secret_string("refresh-0").send().await.unwrap();
    let (code, logs) = exec(collector(w.oura)).await;
    assert_eq!(code, Some(1), "{logs}");
    assert!(logs.contains("collection failed"), "{logs}");
}

/// What only these tests ask of the world.
impl World {
    async fn metrics(&self) -> String {
        reqwest::get(format!("http://{}/metrics", self.processor)).await.unwrap().text().await.unwrap()
    }
}

/// A counter's value in Prometheus text (`name{labels} value`).
fn counter(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}
