//! The data-processor as the collector sees it: read every stream's sync
//! state, advance one, post batches (retried on 503 / 409 / transport errors
//! — the processor upserts, so a retry never duplicates) and the run's report.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::bail;
use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::clock::Clock;
use crate::oura::{Retry, retry_after};

pub struct Processor {
    pub http: reqwest::Client,
    pub base: String,
    pub retry: Retry,
    pub clock: Arc<dyn Clock>,
}

/// Why a batch was not stored.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// 422 naming the collection whose document is invalid.
    #[error("the data-processor refused a `{collection}` document: {message}")]
    Invalid { collection: String, message: String },
    /// 413: the processor's body limit is lower than ours.
    #[error("the batch is larger than the data-processor accepts")]
    TooLarge,
    #[error("{0}")]
    Failed(String),
}

impl Processor {
    async fn send(&self, req: impl Fn() -> reqwest::RequestBuilder) -> anyhow::Result<reqwest::Response> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (wait, why) = match req().send().await {
                // 409: a concurrent batch stored the same samples first; the retry upserts.
                Ok(res)
                    if res.status().is_server_error()
                        || res.status() == StatusCode::TOO_MANY_REQUESTS
                        || res.status() == StatusCode::CONFLICT =>
                {
                    (retry_after(&res), res.status().to_string())
                }
                Ok(res) => return Ok(res),
                Err(e) => (None, format!("transport error: {e}")),
            };
            if attempt >= self.retry.max_attempts {
                bail!("the data-processor is not answering after {attempt} attempts ({why})");
            }
            let delay = self.retry.delay(attempt, wait);
            tracing::warn!(attempt, reason = why, delay_ms = delay.as_millis() as u64, "retrying the data-processor");
            self.clock.sleep(delay).await;
        }
    }

    /// Every stream's last synced day.
    pub async fn sync_states(&self) -> anyhow::Result<BTreeMap<String, NaiveDate>> {
        let url = format!("{}/api/v1/sync", self.base);
        let res = self.send(|| self.http.get(&url)).await?;
        if !res.status().is_success() {
            bail!("reading the sync state failed: {}", res.status());
        }
        Ok(res.json().await?)
    }

    pub async fn ingest(&self, body: Vec<u8>) -> Result<(), IngestError> {
        let url = format!("{}/api/v1/ingest", self.base);
        let res = self
            .send(|| self.http.post(&url).header("content-type", "application/json").body(body.clone()))
            .await
            .map_err(|e| IngestError::Failed(format!("{e:#}")))?;
        let status = res.status();
        if status.is_success() {
            return Ok(());
        }
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            return Err(IngestError::TooLarge);
        }
        let body: Value = res.json().await.unwrap_or(Value::Null);
        let message = body.get("error").and_then(Value::as_str).unwrap_or("no reason given").to_string();
        match body.get("collection").and_then(Value::as_str) {
            Some(c) if status == StatusCode::UNPROCESSABLE_ENTITY => {
                Err(IngestError::Invalid { collection: c.to_string(), message })
            }
            _ => Err(IngestError::Failed(format!("the data-processor refused the batch ({status}): {message}"))),
        }
    }

    pub async fn advance(&self, stream: &str, day: NaiveDate) -> anyhow::Result<()> {
        let url = format!("{}/api/v1/sync/{stream}", self.base);
        let res = self.send(|| self.http.put(&url).json(&json!({ "last_synced_day": day }))).await?;
        if !res.status().is_success() {
            bail!("advancing the sync state of {stream} failed: {}", res.status());
        }
        Ok(())
    }

    /// The run's report (`{"collector": …}`), which the processor exports as metrics.
    pub async fn report(&self, report: &Value) -> anyhow::Result<()> {
        let url = format!("{}/api/v1/ingest", self.base);
        let res = self.send(|| self.http.post(&url).json(&json!({ "collector": report }))).await?;
        if !res.status().is_success() {
            bail!("the data-processor refused the run report: {}", res.status());
        }
        Ok(())
    }
}
