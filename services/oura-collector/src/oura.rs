//! Oura API v2 client: `/v2/usercollection/{collection}` with a chunk's
//! range (`start_date`/`end_date`, heart rate `start_datetime`/`end_datetime`),
//! `next_token` paging, documents kept byte for byte as Oura sent them, and
//! retries with exponential backoff and jitter on 429 (honouring
//! `Retry-After`), 5xx and transport errors.
//!
//! Tokens: Oura's refresh tokens are single use, so the rotated one is saved
//! before the new access token is used. The access token is refreshed before
//! it expires — and whenever Oura refuses it (401 or 403): access tokens
//! expire and are revoked at any moment, between two requests of one run and
//! between two pages of one collection, and having worked a moment ago proves
//! nothing. The refused request is then sent again with the fresh token. Only
//! a refusal of a *fresh* token — one a refresh of this run issued and no
//! request has been answered with since — is a scope the user withheld (or a
//! lapsed subscription): [`FetchError::ScopeWithheld`]. So a withheld scope
//! costs one refresh per run, and a token that expired mid-run is refreshed
//! once per expiry; the log says which of the two it was.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::clock::Clock;
use crate::collections::{Chunk, Collection, Range};
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

/// Why a collection could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// 401/403 with an access token refreshed moments before: the user did not
    /// grant this collection's scope, or the Oura subscription has lapsed.
    #[error(
        "Oura refused the collection ({0}) with a freshly refreshed access token: its scope is not granted (or the subscription has lapsed)"
    )]
    ScopeWithheld(StatusCode),
    #[error("rate limited by Oura after {0} attempts")]
    RateLimited(u32),
    #[error("Oura unavailable: {0}")]
    Unavailable(String),
    /// Another 4xx (400, 422: the request itself; retrying will not help).
    #[error("Oura refused the request ({status}): {detail}")]
    Refused { status: StatusCode, detail: String },
    /// The token refresh failed: nothing can be fetched.
    #[error(transparent)]
    Token(anyhow::Error),
}

impl FetchError {
    /// The label the processor exports (`oura_collection_failures_total{reason}`).
    pub fn reason(&self) -> &'static str {
        match self {
            FetchError::ScopeWithheld(_) => "scope",
            FetchError::RateLimited(_) => "rate_limited",
            FetchError::Unavailable(_) => "unavailable",
            FetchError::Refused { .. } => "refused",
            FetchError::Token(_) => "error",
        }
    }
}

/// A page of a collection: the documents untouched.
#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    data: Vec<Box<RawValue>>,
    #[serde(default)]
    next_token: Option<String>,
}

pub struct Client {
    http: reqwest::Client,
    base: String,
    client_id: String,
    client_secret: String,
    store: Store,
    tokens: TokenSet,
    retry: Retry,
    clock: Arc<dyn Clock>,
    /// The access token was issued by a refresh of this run and no request has
    /// been answered with it since: a refusal of it is about the collection.
    fresh: bool,
    /// What this run asked of Oura (reported to the processor, which exports it).
    pub stats: Stats,
}

/// Requests sent to Oura in this run, how many it refused with 429, and refreshes.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct Stats {
    pub oura_requests: u64,
    pub oura_rate_limited: u64,
    pub token_refreshes: u64,
    /// Refreshes after Oura refused a token it had accepted (expired or revoked
    /// during the run) that the refused request then succeeded with.
    pub tokens_renewed: u64,
    /// Refusals of a fresh token (a withheld scope or a lapsed subscription).
    pub scopes_withheld: u64,
}

impl Client {
    #[allow(clippy::too_many_arguments)]
    pub async fn new(
        http: reqwest::Client,
        base: &str,
        client_id: &str,
        client_secret: &str,
        store: Store,
        retry: Retry,
        clock: Arc<dyn Clock>,
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
            clock,
            fresh: false,
            stats: Stats::default(),
        })
    }

    /// Exchange the refresh token for new tokens, persisting the rotated
    /// refresh token before anything uses the new access token.
    pub async fn refresh(&mut self) -> anyhow::Result<()> {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", self.tokens.refresh_token.as_str()),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.as_str()),
        ];
        self.stats.token_refreshes += 1;
        let res =
            self.http.post(format!("{}/oauth/token", self.base)).form(&form).send().await.context("token refresh")?;
        if !res.status().is_success() {
            anyhow::bail!(
                "token refresh was refused ({}): the refresh token may be revoked; set a new one in the token secret",
                res.status()
            );
        }
        #[derive(Deserialize)]
        struct Answer {
            access_token: String,
            refresh_token: Option<String>,
            expires_in: Option<i64>,
        }
        let a: Answer = res.json().await.context("token response without access_token")?;
        let expires_at = a.expires_in.map(|s| self.clock.now() + chrono::Duration::seconds(s));
        let next = TokenSet {
            refresh_token: a.refresh_token.unwrap_or_else(|| self.tokens.refresh_token.clone()),
            access_token: Some(a.access_token),
            expires_at,
        };
        self.store.save(&next).await?;
        self.tokens = next;
        self.fresh = true;
        tracing::info!("refreshed the Oura access token (refresh token rotated and persisted)");
        Ok(())
    }

    fn expiring(&self) -> bool {
        self.tokens.access_token.is_none()
            || self.tokens.expires_at.is_some_and(|at| at - chrono::Duration::minutes(5) <= self.clock.now())
    }

    /// GET with retries. A 401/403 refreshes the access token and sends the
    /// request again, unless the token is fresh: then the collection's scope is
    /// withheld (or the subscription lapsed).
    async fn get(&mut self, url: &str, query: &[(&str, String)]) -> Result<Page, FetchError> {
        if self.expiring() {
            self.refresh().await.map_err(FetchError::Token)?;
        }
        let mut attempt = 0;
        // The status Oura refused the token this request was first sent with.
        let mut renewed: Option<StatusCode> = None;
        loop {
            attempt += 1;
            let token = self.tokens.access_token.clone().unwrap_or_default();
            let sent = self.http.get(url).bearer_auth(token).query(query).send().await;
            self.stats.oura_requests += 1;
            let (wait, why) = match sent {
                Ok(res) if res.status().is_success() => {
                    let page = res.json::<Page>().await.map_err(|e| FetchError::Refused {
                        status: StatusCode::OK,
                        detail: format!("not a page of documents: {e}"),
                    })?;
                    self.fresh = false;
                    if let Some(status) = renewed {
                        self.stats.tokens_renewed += 1;
                        tracing::info!(
                            url,
                            status = status.as_u16(),
                            "the access token had expired or been revoked during the run: refreshed, and the request succeeded with the new one"
                        );
                    }
                    return Ok(page);
                }
                Ok(res) if matches!(res.status(), StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
                    let status = res.status();
                    if self.fresh {
                        self.stats.scopes_withheld += 1;
                        tracing::warn!(
                            url,
                            status = status.as_u16(),
                            after_refresh = renewed.is_some(),
                            "Oura refuses a freshly refreshed access token for this collection: its scope is not granted (or the subscription has lapsed)"
                        );
                        return Err(FetchError::ScopeWithheld(status));
                    }
                    // Expired or revoked since it last worked (or a scope withheld: the fresh token will tell).
                    tracing::info!(
                        url,
                        status = status.as_u16(),
                        "Oura refuses the access token: refreshing it once and asking again"
                    );
                    self.refresh().await.map_err(FetchError::Token)?;
                    renewed = Some(status);
                    // Not one of the request's attempts.
                    attempt -= 1;
                    continue;
                }
                Ok(res) if res.status() == StatusCode::TOO_MANY_REQUESTS => {
                    self.stats.oura_rate_limited += 1;
                    let wait = retry_after(&res);
                    if attempt >= self.retry.max_attempts {
                        return Err(FetchError::RateLimited(attempt));
                    }
                    (wait, "429".to_string())
                }
                Ok(res) if res.status().is_server_error() => (retry_after(&res), res.status().to_string()),
                Ok(res) => {
                    let status = res.status();
                    let detail = res.text().await.unwrap_or_default().chars().take(300).collect();
                    return Err(FetchError::Refused { status, detail });
                }
                Err(e) => (None, format!("transport error: {e}")),
            };
            if attempt >= self.retry.max_attempts {
                return Err(FetchError::Unavailable(format!("giving up on {url} after {attempt} attempts ({why})")));
            }
            let delay = self.retry.delay(attempt, wait);
            tracing::warn!(url, attempt, reason = why, delay_ms = delay.as_millis() as u64, "retrying");
            self.clock.sleep(delay).await;
        }
    }

    /// Every document of one chunk of a collection, following `next_token`.
    pub async fn chunk(&mut self, c: &Collection, chunk: &Chunk) -> Result<Vec<Box<RawValue>>, FetchError> {
        let url = format!("{}/v2/usercollection/{}", self.base, c.name);
        let mut query: Vec<(&str, String)> = match c.range {
            Range::Dates => vec![
                ("start_date", chunk.start.date_naive().to_string()),
                ("end_date", chunk.end.date_naive().to_string()),
            ],
            Range::DateTimes => vec![
                ("start_datetime", chunk.start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                ("end_datetime", chunk.end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            ],
        };
        let mut out = Vec::new();
        loop {
            let page = self.get(&url, &query).await?;
            out.extend(page.data);
            match page.next_token {
                Some(t) if !t.is_empty() => {
                    query.retain(|(k, _)| *k != "next_token");
                    query.push(("next_token", t));
                }
                _ => return Ok(out),
            }
        }
    }

    /// The clock's now (for callers that hold the client).
    pub fn now(&self) -> chrono::DateTime<Utc> {
        self.clock.now()
    }
}
