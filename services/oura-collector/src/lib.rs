//! oura-collector: one run of the CronJob. For every Oura collection it
//! reads that collection's own sync state (`oura_<collection>` at the
//! processor, and the ranges an unfinished backfill left: plan.rs), fetches
//! from a few days before it in chunks of at most 30 days (oldest first,
//! round-robin over the collections), posts the documents exactly as Oura
//! sent them in batches under the processor's body limit, and advances each
//! state only over chunks whose documents are stored — so whatever a run
//! misses, however it ends, the next run fetches. A collection that fails is
//! reported and skipped; the others go on. The exit code tells a failure the
//! next run retries by itself (3, "partial: will be retried next run") from
//! one only the user can end — a scope not granted, a lapsed subscription,
//! told from an expired access token by a refresh (oura.rs) — (4, "partial:
//! needs the user"). See docs/services.md.

mod batch;
pub mod clock;
pub mod collections;
#[cfg(feature = "fake-oura")]
pub mod fake;
pub mod oura;
pub mod plan;
pub mod processor;
pub mod tokens;

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use clap::Parser;
use serde_json::json;

use crate::clock::{Clock, SystemClock};
use crate::collections::Collection;
use crate::oura::FetchError;

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
    /// Days re-fetched before each collection's last synced day (Oura revises recent days)
    #[arg(long, env = "OVERLAP_DAYS", default_value_t = 2)]
    pub overlap_days: u64,
    /// Fetch this many days back instead of resuming from the sync state
    #[arg(long)]
    pub backfill: Option<u64>,
    /// Days fetched on a collection's first run (no sync state yet)
    #[arg(long, env = "FIRST_RUN_DAYS", default_value_t = 7)]
    pub first_run_days: u64,
    /// The collections to fetch, comma-separated Oura names (default: all)
    #[arg(long, env = "OURA_COLLECTIONS", value_delimiter = ',')]
    pub collections: Vec<String>,
    /// Requests to Oura one run may start (a long backlog continues in the next runs)
    #[arg(long, env = "MAX_REQUESTS_PER_RUN", default_value_t = 1000)]
    pub max_requests_per_run: u64,
    /// Largest batch posted to the data-processor, in bytes (its MAX_BODY_BYTES is 8 MiB by default)
    #[arg(long, env = "BATCH_MAX_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub batch_max_bytes: usize,
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

/// How a run ended: the process's exit code says it (0, 1, 3, 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every collection asked for was fetched and stored (a backlog may remain for the next runs).
    Ok,
    /// Nothing could be collected (tokens, the processor, Oura, or every collection failed) —
    /// unless every failure needs the user, which is [`Outcome::NeedsUser`].
    Failed,
    /// Partial, will be retried next run: some collections failed in a way the
    /// next runs retry by themselves (Oura failing, the rate limit, the
    /// processor refusing a document); what they missed is fetched again.
    Partial,
    /// Partial, needs the user: an Oura account refuses a collection even a
    /// freshly refreshed access token asks for — a scope not granted, or the
    /// subscription lapsed. Retried every run, it fails the same way until the
    /// user grants the scope (or renews) or `OURA_COLLECTIONS` leaves it out.
    NeedsUser,
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Ok => 0,
            Outcome::Failed => 1,
            Outcome::Partial => 3,
            Outcome::NeedsUser => 4,
        }
    }

    /// The label of `oura_collector_runs_total{outcome}` (the processor's closed
    /// set: both partial outcomes are `partial`; the failures' reasons tell them apart).
    fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::Partial | Outcome::NeedsUser => "partial",
        }
    }
}

/// A failure only the user can end (a scope, the subscription); every other
/// one is retried by the next run.
pub fn needs_user(reason: &str) -> bool {
    reason == "scope"
}

/// What a run did with one collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionReport {
    pub name: &'static str,
    /// Documents fetched and stored (after deduplication across chunks).
    pub documents: usize,
    /// The collection's sync state after the run.
    pub synced_through: Option<NaiveDate>,
    /// Why it failed (`scope`, `rate_limited`, `unavailable`, `refused`, `invalid`, `error`).
    pub failure: Option<&'static str>,
    pub detail: Option<String>,
    /// Chunks left for the next run (the request budget ran out, or it failed).
    pub chunks_left: usize,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub outcome: Outcome,
    pub collections: Vec<CollectionReport>,
    pub stats: oura::Stats,
}

impl Report {
    pub fn get(&self, name: &str) -> &CollectionReport {
        self.collections.iter().find(|c| c.name == name).expect("a collection of this run")
    }

    /// The failed collections as `name(reason)`, those that need the user or those that do not.
    pub fn failed(&self, needing_user: bool) -> String {
        let failed = self.collections.iter().filter_map(|c| c.failure.map(|r| (c.name, r)));
        failed
            .filter(|(_, r)| needs_user(r) == needing_user)
            .map(|(c, r)| format!("{c}({r})"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// One collection's work in a run.
struct Job {
    c: &'static Collection,
    plan: plan::Plan,
    steps: VecDeque<plan::Step>,
    /// The states of the streams its plan advances, as far as this run knows.
    states: HashMap<String, NaiveDate>,
    seen: HashSet<String>,
    documents: usize,
    /// Chunks fetched in this run.
    fetched: usize,
    failure: Option<(&'static str, String)>,
}

impl Job {
    fn active(&self) -> bool {
        self.failure.is_none() && !self.steps.is_empty()
    }
    fn fail(&mut self, reason: &'static str, detail: String) {
        if needs_user(reason) {
            tracing::warn!(collection = self.c.name, reason, error = %detail, "collection failed: it needs the user; the others go on");
        } else {
            tracing::warn!(collection = self.c.name, reason, error = %detail, "collection failed: the next run retries it; the others go on");
        }
        self.failure = Some((reason, detail));
    }
}

/// A run with the real clock.
pub async fn run(s: &Settings) -> anyhow::Result<Report> {
    run_with(s, Arc::new(SystemClock)).await
}

/// A run with the given clock (tests drive the schedule with a manual one).
pub async fn run_with(s: &Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Report> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(s.http_timeout_seconds)).build()?;
    let retry = oura::Retry { max_attempts: s.max_attempts, base: Duration::from_millis(s.backoff_base_ms) };
    let processor = processor::Processor {
        http: http.clone(),
        base: s.processor_url.trim_end_matches('/').to_string(),
        retry,
        clock: clock.clone(),
    };
    let selected: Vec<&'static Collection> = if s.collections.is_empty() {
        collections::ALL.iter().collect()
    } else {
        s.collections
            .iter()
            .map(|n| {
                collections::by_name(n.trim()).ok_or_else(|| {
                    anyhow::anyhow!("OURA_COLLECTIONS: `{n}` is not an Oura collection this collector knows")
                })
            })
            .collect::<anyhow::Result<_>>()?
    };
    let store = match (&s.token_secret_id, &s.token_file) {
        (Some(id), _) => tokens::Store::Secret(tokens::SecretStore::new(id.clone()).await),
        (None, Some(path)) => tokens::Store::File(tokens::FileStore::new(path.clone())),
        (None, None) => anyhow::bail!("set OURA_TOKEN_SECRET_ID (or OURA_TOKEN_FILE) to where the Oura tokens live"),
    };
    let states = processor.sync_states().await?;
    let mut client =
        oura::Client::new(http, &s.oura_base_url, &s.client_id, &s.client_secret, store, retry, clock.clone()).await?;

    let window = plan::Window {
        today: clock.now().date_naive(),
        overlap_days: s.overlap_days,
        first_run_days: s.first_run_days,
        backfill: s.backfill,
    };
    let mut jobs: Vec<Job> = selected
        .into_iter()
        .map(|c| {
            let plan = plan::plan(c, &states, window);
            Job {
                c,
                steps: plan.steps.iter().copied().collect(),
                states: plan
                    .groups
                    .iter()
                    .flatten()
                    .filter_map(|a| Some((a.stream.clone(), *states.get(&a.stream)?)))
                    .collect(),
                plan,
                seen: HashSet::new(),
                documents: 0,
                fetched: 0,
                failure: None,
            }
        })
        .collect();
    // Where a new collection or a backfill begins, before anything is fetched:
    // a run that fails or is killed from here on leaves those days to the next.
    for j in jobs.iter_mut() {
        for (stream, day) in &j.plan.write_ahead {
            processor.advance(stream, *day).await?;
            j.states.insert(stream.clone(), *day);
        }
    }

    let mut batch = batch::Batch::new(s.batch_max_bytes);
    let mut fatal: Option<String> = None;
    let mut budget_hit = false;
    // Round-robin over the collections, one chunk each per turn: the oldest
    // data of every collection first, and a budget that runs out leaves them
    // all about as far along.
    'turns: while jobs.iter().any(Job::active) {
        for i in 0..jobs.len() {
            if !jobs[i].active() {
                continue;
            }
            if client.stats.oura_requests >= s.max_requests_per_run {
                budget_hit = true;
                break 'turns;
            }
            let step = jobs[i].steps[0];
            match client.chunk(jobs[i].c, &step.chunk).await {
                Ok(docs) => {
                    let j = &mut jobs[i];
                    j.steps.pop_front();
                    j.fetched += 1;
                    // Touching chunks can both hold a document on their boundary:
                    // keyed only when there is more than one chunk (a key costs a parse).
                    let chunked = !j.seen.is_empty() || !j.steps.is_empty();
                    for d in docs {
                        if !chunked || j.seen.insert(batch::key(j.c, &d)) {
                            j.documents += 1;
                            batch.push(i, j.c.name, d);
                        }
                    }
                    batch.advance(i, step.group, step.chunk.synced_through);
                    if batch.full()
                        && let Err(e) = batch.flush(&processor, &mut jobs).await
                    {
                        fatal = Some(format!("{e:#}"));
                        break 'turns;
                    }
                }
                Err(FetchError::Token(e)) => {
                    fatal = Some(format!("{e:#}"));
                    break 'turns;
                }
                Err(e @ FetchError::RateLimited(_)) => {
                    // Every further request would be refused too: the next run goes on.
                    let detail = e.to_string();
                    for j in jobs.iter_mut().filter(|j| j.active()) {
                        j.fail("rate_limited", detail.clone());
                    }
                    break 'turns;
                }
                Err(e) => jobs[i].fail(e.reason(), e.to_string()),
            }
        }
    }
    if fatal.is_none()
        && let Err(e) = batch.flush(&processor, &mut jobs).await
    {
        fatal = Some(format!("{e:#}"));
    }
    if let Some(e) = &fatal {
        tracing::error!(error = %e, "the run cannot go on");
        for j in jobs.iter_mut().filter(|j| j.failure.is_none() && !j.steps.is_empty()) {
            j.failure = Some(("error", e.clone()));
        }
    }
    if budget_hit {
        let left: usize = jobs.iter().map(|j| j.steps.len()).sum();
        tracing::info!(chunks_left = left, "request budget of this run spent; the next run goes on (oldest first)");
    }

    let failures: Vec<&'static str> = jobs.iter().filter_map(|j| j.failure.as_ref().map(|f| f.0)).collect();
    // Nothing of this run reached the processor.
    let nothing = jobs.iter().all(|j| j.fetched == 0 || j.failure.as_ref().is_some_and(|f| f.0 == "invalid"));
    let outcome = if failures.is_empty() {
        Outcome::Ok
    } else if nothing && failures.iter().any(|r| !needs_user(r)) {
        Outcome::Failed
    } else if failures.iter().any(|r| needs_user(r)) {
        Outcome::NeedsUser
    } else {
        Outcome::Partial
    };
    let report = json!({
        "oura_requests": client.stats.oura_requests,
        "oura_rate_limited": client.stats.oura_rate_limited,
        "token_refreshes": client.stats.token_refreshes,
        "outcome": outcome.label(),
        "failures": jobs.iter().filter_map(|j| j.failure.as_ref().map(|(r, _)| json!({ "collection": j.c.name, "reason": r }))).collect::<Vec<_>>(),
    });
    if let Err(e) = processor.report(&report).await {
        tracing::warn!(error = %format!("{e:#}"), "the run's report did not reach the data-processor");
    }
    Ok(Report {
        outcome,
        stats: client.stats,
        collections: jobs
            .into_iter()
            .map(|j| CollectionReport {
                name: j.c.name,
                documents: j.documents,
                synced_through: j.states.get(j.c.stream).copied(),
                failure: j.failure.as_ref().map(|f| f.0),
                detail: j.failure.map(|f| f.1),
                chunks_left: j.steps.len(),
            })
            .collect(),
    })
}
