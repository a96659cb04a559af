//! oura-collector: one run of the CronJob. Reads where each stream stopped
//! (the processor's sync state), fetches Oura API v2 from a few days before
//! that (late data is common), pages through `next_token`, merges each
//! day's sleep score with the night's long sleep period, posts the batch to
//! the data-processor, and only then advances the sync state.

#[cfg(feature = "fake-oura")]
pub mod fake;
pub mod oura;
pub mod processor;
pub mod tokens;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use chrono::{Days, NaiveDate, Utc};
use clap::Parser;
use serde_json::{Value, json};

#[derive(Parser, Debug, Clone)]
#[command(name = "oura-collector", version, about = "Collects Oura Ring data into the data-processor")]
pub struct Settings {
    #[arg(long, env = "OURA_API_BASE_URL", default_value = "https://api.ouraring.com")]
    pub oura_base_url: String,
    #[arg(long, env = "OURA_CLIENT_ID", hide_env_values = true)]
    pub client_id: String,
    #[arg(long, env = "OURA_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: String,
    /// AWS Secrets Manager secret (name or ARN) holding the rotating tokens
    #[arg(long, env = "OURA_TOKEN_SECRET_ID", required_unless_present = "token_file", conflicts_with = "token_file")]
    pub token_secret_id: Option<String>,
    /// Or a writable file holding them (outside the cluster)
    #[arg(long, env = "OURA_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    #[arg(long, env = "PROCESSOR_URL", default_value = "http://data-processor:8080")]
    pub processor_url: String,
    /// Days re-fetched before the last synced day (Oura revises recent days)
    #[arg(long, env = "OVERLAP_DAYS", default_value_t = 2)]
    pub overlap_days: u64,
    /// Fetch this many days back instead of resuming from the sync state
    #[arg(long)]
    pub backfill: Option<u64>,
    /// Seconds before an HTTP request is abandoned
    #[arg(long, env = "HTTP_TIMEOUT_SECONDS", default_value_t = 30)]
    pub http_timeout_seconds: u64,
    /// Attempts per request on 429 / 5xx / connection errors
    #[arg(long, env = "MAX_ATTEMPTS", default_value_t = 6)]
    pub max_attempts: u32,
    /// First backoff delay in milliseconds (doubles, with jitter)
    #[arg(long, env = "BACKOFF_BASE_MS", default_value_t = 500)]
    pub backoff_base_ms: u64,
}

/// What one run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
    pub sleep: usize,
    pub activity: usize,
    pub readiness: usize,
    pub heart_rate: usize,
}

/// The sync-state stream this collector advances.
pub const STREAM: &str = "oura";

pub async fn run(s: &Settings) -> anyhow::Result<Report> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(s.http_timeout_seconds)).build()?;
    let retry = oura::Retry { max_attempts: s.max_attempts, base: Duration::from_millis(s.backoff_base_ms) };
    let processor =
        processor::Processor { http: http.clone(), base: s.processor_url.trim_end_matches('/').to_string(), retry };
    let today = Utc::now().date_naive();
    let start = match s.backfill {
        Some(days) => today - Days::new(days),
        None => match processor.sync_state(STREAM).await? {
            Some(last) => last - Days::new(s.overlap_days),
            None => today - Days::new(7),
        },
    };
    let store = match (&s.token_secret_id, &s.token_file) {
        (Some(id), _) => tokens::Store::Secret(tokens::SecretStore::new(id.clone()).await),
        (None, Some(path)) => tokens::Store::File(tokens::FileStore::new(path.clone())),
        (None, None) => anyhow::bail!("set OURA_TOKEN_SECRET_ID (or OURA_TOKEN_FILE) to where the Oura tokens live"),
    };
    let mut client = oura::Client::new(http, &s.oura_base_url, &s.client_id, &s.client_secret, store, retry).await?;

    let daily_sleep = client.collection("daily_sleep", start, today).await.context("daily_sleep")?;
    let sleep_periods = client.collection("sleep", start, today).await.context("sleep")?;
    let activity = client.collection("daily_activity", start, today).await.context("daily_activity")?;
    let readiness = client.collection("daily_readiness", start, today).await.context("daily_readiness")?;
    let heart_rate = client.heart_rate(start, today).await.context("heartrate")?;

    let sleep = merge_sleep(&daily_sleep, &sleep_periods);
    let report = Report {
        start: Some(start),
        end: Some(today),
        sleep: sleep.len(),
        activity: activity.len(),
        readiness: readiness.len(),
        heart_rate: heart_rate.len(),
    };
    let batch = json!({ "sleep": sleep, "activity": activity, "readiness": readiness, "heart_rate": heart_rate,
                        "collector": client.stats });
    processor.ingest(&batch).await.context("posting to the data-processor")?;
    // Only now: the data is stored, so the next run may start later.
    processor.advance(STREAM, today).await?;
    Ok(report)
}

/// One sleep document per day: the score of `daily_sleep` with the
/// durations, HRV and heart rate of that day's longest `long_sleep` period.
pub fn merge_sleep(daily: &[Value], periods: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    for d in daily {
        let Some(day) = d.get("day").and_then(Value::as_str) else { continue };
        let night = periods
            .iter()
            .filter(|p| p.get("day").and_then(Value::as_str) == Some(day))
            .filter(|p| p.get("type").and_then(Value::as_str).is_none_or(|t| t == "long_sleep"))
            .max_by_key(|p| p.get("total_sleep_duration").and_then(Value::as_i64).unwrap_or(0));
        let mut doc = json!({ "id": d.get("id"), "day": day, "score": d.get("score") });
        if let Some(n) = night {
            for k in [
                "total_sleep_duration",
                "deep_sleep_duration",
                "light_sleep_duration",
                "rem_sleep_duration",
                "efficiency",
                "latency",
                "average_hrv",
                "lowest_heart_rate",
            ] {
                doc[k] = n.get(k).cloned().unwrap_or(Value::Null);
            }
        }
        out.push(doc);
    }
    out
}
