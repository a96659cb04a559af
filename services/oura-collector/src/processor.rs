//! The data-processor as the collector sees it: read and advance the sync
//! state, post batches (retried on 503 / transport errors — the processor
//! upserts, so a retry never duplicates).

use anyhow::bail;
use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::oura::{Retry, retry_after};

pub struct Processor {
    pub http: reqwest::Client,
    pub base: String,
    pub retry: Retry,
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
            tokio::time::sleep(delay).await;
        }
    }

    pub async fn sync_state(&self, stream: &str) -> anyhow::Result<Option<NaiveDate>> {
        let url = format!("{}/api/v1/sync/{stream}", self.base);
        let res = self.send(|| self.http.get(&url)).await?;
        match res.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => {
                let v: Value = res.json().await?;
                Ok(v.get("last_synced_day").and_then(Value::as_str).and_then(|d| d.parse().ok()))
            }
            s => bail!("reading the sync state failed: {s}"),
        }
    }

    pub async fn ingest(&self, batch: &Value) -> anyhow::Result<Value> {
        let url = format!("{}/api/v1/ingest", self.base);
        let res = self.send(|| self.http.post(&url).json(batch)).await?;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!(
                "the data-processor refused the batch ({status}): {}",
                body.get("error").and_then(Value::as_str).unwrap_or("no reason given")
            );
        }
        Ok(body)
    }

    pub async fn advance(&self, stream: &str, day: NaiveDate) -> anyhow::Result<()> {
        let url = format!("{}/api/v1/sync/{stream}", self.base);
        let res = self.send(|| self.http.put(&url).json(&json!({ "last_synced_day": day }))).await?;
        if !res.status().is_success() {
            bail!("advancing the sync state failed: {}", res.status());
        }
        Ok(())
    }
}
