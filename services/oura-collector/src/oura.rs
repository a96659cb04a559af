//! Oura API v2 client: `/v2/usercollection/{collection}` with `start_date`
//! / `end_date` (heart rate: `start_datetime` / `end_datetime`), `next_token`
//! pagination, bearer tokens refreshed on 401, and retries with exponential
//! backoff and jitter on 429 (honouring `Retry-After`), 5xx and transport errors.

use std::time::Duration;

use anyhow::{Context, bail};
use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::Value;

use crate::tokens::{Store, TokenSet};

#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub max_attempts: u32,
    pub base: Duration,
}

impl Retry {
    /// Delay before attempt `n` (1-based retry count): base · 2ⁿ⁻¹, plus up to 50 % jitter.
    pub fn delay(&self, n: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(d) = retry_after {
            return d;
        }
        let exp = self.base.saturating_mul(1 << (n.saturating_sub(1)).min(10));
        exp + exp.mul_f64(fastrand::f64() * 0.5)
    }
}

/// Parse `Retry-After` (seconds; HTTP dates are treated as 1 s).
pub fn retry_after(res: &reqwest::Response) -> Option<Duration> {
    let v = res.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    Some(Duration::from_secs(v.trim().parse::<u64>().unwrap_or(1).min(300)))
}

pub struct Client {
    http: reqwest::Client,
    base: String,
    client_id: String,
    client_secret: String,
    store: Store,
    tokens: TokenSet,
    retry: Retry,
    /// What this run asked of Oura (reported to the processor, which exports it).
    pub stats: Stats,
}

/// Requests sent to Oura in this run, and how many it refused with 429.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct Stats {
    pub oura_requests: u64,
    pub oura_rate_limited: u64,
}

impl Client {
    pub async fn new(
        http: reqwest::Client,
        base: &str,
        client_id: &str,
        client_secret: &str,
        store: Store,
        retry: Retry,
    ) -> anyhow::Result<Client> {
        let tokens = store.load().await?;
        Ok(Client {
            http,
            base: base.trim_end_matches('/').to_string(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            store,
            tokens,
            retry,
            stats: Stats::default(),
        })
    }

    /// Exchange the refresh token for new tokens, persisting the rotated
    /// refresh token before anything uses the new access token.
    async fn refresh(&mut self) -> anyhow::Result<()> {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", self.tokens.refresh_token.as_str()),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.as_str()),
        ];
        let res =
            self.http.post(format!("{}/oauth/token", self.base)).form(&form).send().await.context("token refresh")?;
        if !res.status().is_success() {
            bail!(
                "token refresh was refused ({}): the refresh token may be revoked; set a new one in the token secret",
                res.status()
            );
        }
        let body: Value = res.json().await?;
        let access = body.get("access_token").and_then(Value::as_str).context("token response without access_token")?;
        let refresh = body.get("refresh_token").and_then(Value::as_str).unwrap_or(&self.tokens.refresh_token);
        let next = TokenSet { refresh_token: refresh.to_string(), access_token: Some(access.to_string()) };
        self.store.save(&next).await?;
        self.tokens = next;
        tracing::info!("refreshed the Oura access token (refresh token rotated and persisted)");
        Ok(())
    }

    /// GET with retries; refreshes the token once on 401.
    async fn get(&mut self, url: &str, query: &[(&str, String)]) -> anyhow::Result<Value> {
        if self.tokens.access_token.is_none() {
            self.refresh().await?;
        }
        let mut refreshed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let token = self.tokens.access_token.clone().unwrap_or_default();
            let sent = self.http.get(url).bearer_auth(token).query(query).send().await;
            self.stats.oura_requests += 1;
            if sent.as_ref().is_ok_and(|r| r.status() == StatusCode::TOO_MANY_REQUESTS) {
                self.stats.oura_rate_limited += 1;
            }
            let (wait, why) = match sent {
                Ok(res) if res.status().is_success() => return Ok(res.json().await?),
                Ok(res) if res.status() == StatusCode::UNAUTHORIZED && !refreshed => {
                    refreshed = true;
                    self.refresh().await?;
                    continue;
                }
                Ok(res) if res.status() == StatusCode::TOO_MANY_REQUESTS || res.status().is_server_error() => {
                    (retry_after(&res), format!("{}", res.status()))
                }
                Ok(res) => bail!("Oura answered {} for {url}", res.status()),
                Err(e) => (None, format!("transport error: {e}")),
            };
            if attempt >= self.retry.max_attempts {
                bail!("giving up on {url} after {attempt} attempts ({why})");
            }
            let delay = self.retry.delay(attempt, wait);
            tracing::warn!(url, attempt, reason = why, delay_ms = delay.as_millis() as u64, "retrying");
            tokio::time::sleep(delay).await;
        }
    }

    async fn paged(&mut self, path: &str, mut query: Vec<(&'static str, String)>) -> anyhow::Result<Vec<Value>> {
        let url = format!("{}/v2/usercollection/{path}", self.base);
        let mut out = Vec::new();
        loop {
            let page = self.get(&url, &query).await?;
            out.extend(page.get("data").and_then(Value::as_array).cloned().unwrap_or_default());
            match page.get("next_token").and_then(Value::as_str) {
                Some(t) if !t.is_empty() => {
                    query.retain(|(k, _)| *k != "next_token");
                    query.push(("next_token", t.to_string()));
                }
                _ => return Ok(out),
            }
        }
    }

    /// A daily collection (`daily_sleep`, `sleep`, `daily_activity`, `daily_readiness`).
    pub async fn collection(&mut self, name: &str, start: NaiveDate, end: NaiveDate) -> anyhow::Result<Vec<Value>> {
        self.paged(name, vec![("start_date", start.to_string()), ("end_date", end.to_string())]).await
    }

    /// Heart-rate samples between two days.
    pub async fn heart_rate(&mut self, start: NaiveDate, end: NaiveDate) -> anyhow::Result<Vec<Value>> {
        let end = end.succ_opt().unwrap_or(end);
        self.paged(
            "heartrate",
            vec![("start_datetime", format!("{start}T00:00:00Z")), ("end_datetime", format!("{end}T00:00:00Z"))],
        )
        .await
    }
}
