//! The collector's run report, carried in a batch (`collector`): the
//! collector is a CronJob with nothing to scrape, so what its run did is
//! exported here as Prometheus counters. Its labels come from closed lists
//! (the collections, [`FAILURE_REASONS`]): a report naming anything else is
//! refused.

use myhealth_common::metrics::counter;
use myhealth_common::oura;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::AppError;

/// Why a collection failed in a collector run (a closed set: metric labels).
pub const FAILURE_REASONS: [&str; 6] = ["scope", "rate_limited", "unavailable", "refused", "invalid", "error"];

/// Counters exist from the start (at 0), so an alert's `increase()` sees
/// the first failure too, not only the second.
pub(super) fn register() {
    for c in oura::COLLECTIONS {
        for r in FAILURE_REASONS {
            counter!("oura_collection_failures_total", "collection" => c, "reason" => r).increment(0);
        }
    }
    for o in ["ok", "partial", "failed"] {
        counter!("oura_collector_runs_total", "outcome" => o).increment(0);
    }
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    Ok,
    Partial,
    Failed,
}

/// A collection that failed in the run, and why (both from closed lists).
#[derive(Debug, Deserialize, Clone, ToSchema)]
#[serde(deny_unknown_fields)]
struct Failure {
    collection: String,
    reason: String,
}

/// The collector's run report.
#[derive(Debug, Default, Deserialize, Clone, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CollectorReport {
    #[serde(default)]
    oura_requests: u64,
    #[serde(default)]
    oura_rate_limited: u64,
    #[serde(default)]
    token_refreshes: u64,
    #[serde(default)]
    outcome: Option<Outcome>,
    #[serde(default)]
    failures: Vec<Failure>,
}

impl CollectorReport {
    /// Both labels of every failure from their closed lists.
    pub(super) fn validate(&self) -> Result<(), AppError> {
        for f in &self.failures {
            if !oura::is_collection(&f.collection) || !FAILURE_REASONS.contains(&f.reason.as_str()) {
                return Err(AppError::Invalid(format!(
                    "collector.failures: `{}`/`{}` is not a known collection and reason",
                    f.collection, f.reason
                )));
            }
        }
        Ok(())
    }
}

pub(super) fn export(c: &CollectorReport) {
    counter!("oura_api_requests_total").increment(c.oura_requests);
    counter!("oura_api_rate_limited_total").increment(c.oura_rate_limited);
    counter!("oura_token_refreshes_total").increment(c.token_refreshes);
    if let Some(o) = c.outcome {
        let o = match o {
            Outcome::Ok => "ok",
            Outcome::Partial => "partial",
            Outcome::Failed => "failed",
        };
        counter!("oura_collector_runs_total", "outcome" => o).increment(1);
    }
    for f in &c.failures {
        // Both labels were checked against closed lists in `validate`.
        counter!("oura_collection_failures_total", "collection" => f.collection.clone(), "reason" => f.reason.clone())
            .increment(1);
        tracing::warn!(collection = %f.collection, reason = %f.reason, "the collector reports a failed collection");
    }
}
