//! Per-client rate limiting (tower_governor): a general limit on the data
//! routes and a strict one on login, where each attempt is a password guess.
//!
//! The client is the peer address, or — behind `TRUSTED_PROXY_HOPS` proxies
//! (Istio's ingress gateway, a load balancer) — the address the outermost
//! trusted proxy saw, counted from the right of `X-Forwarded-For`; the
//! left-most entries are whatever the client wrote and are never trusted.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, StatusCode};
use axum::response::IntoResponse;
use tower_governor::governor::{GovernorConfig, GovernorConfigBuilder};
use tower_governor::key_extractor::KeyExtractor;
use tower_governor::{GovernorError, GovernorLayer};

use crate::error::ErrorBody;

/// The client address a request counts against.
#[derive(Clone, Copy, Debug)]
pub struct ClientIp {
    pub trusted_proxy_hops: usize,
}

impl KeyExtractor for ClientIp {
    type Key = IpAddr;

    fn extract<T>(&self, req: &Request<T>) -> Result<IpAddr, GovernorError> {
        let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        if self.trusted_proxy_hops == 0 {
            return peer.ok_or(GovernorError::UnableToExtractKey);
        }
        let hops: Vec<IpAddr> = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse().ok())
            .collect();
        // The last `trusted_proxy_hops` entries were appended by our proxies;
        // the one they saw as their peer is the right-most of those.
        hops.len()
            .checked_sub(self.trusted_proxy_hops)
            .and_then(|i| hops.get(i).copied())
            .or(peer)
            .ok_or(GovernorError::UnableToExtractKey)
    }
}

/// A limit: one request replenishes every `period`, up to `burst` in reserve.
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    pub period: Duration,
    pub burst: u32,
}

pub type Config = GovernorConfig<ClientIp, governor::middleware::NoOpMiddleware>;

pub fn config(limit: Limit, key: ClientIp) -> anyhow::Result<Arc<Config>> {
    let c = GovernorConfigBuilder::default()
        .key_extractor(key)
        .period(limit.period)
        .burst_size(limit.burst)
        .finish()
        .ok_or_else(|| anyhow::anyhow!("rate limit period and burst must be above zero"))?;
    Ok(Arc::new(c))
}

/// The layer, answering 429 with `Retry-After` and the usual error body.
pub fn layer(c: Arc<Config>) -> GovernorLayer<ClientIp, governor::middleware::NoOpMiddleware, Body> {
    GovernorLayer::new(c).error_handler(|e| match e {
        GovernorError::TooManyRequests { wait_time, .. } => {
            let mut res = (
                StatusCode::TOO_MANY_REQUESTS,
                axum::Json(ErrorBody { error: format!("too many requests, retry in {wait_time} s") }),
            )
                .into_response();
            res.headers_mut().insert("retry-after", HeaderValue::from(wait_time.max(1)));
            res
        }
        other => {
            tracing::warn!(error = %other, "rate limiter could not identify the client");
            let res: Response<Body> =
                (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(ErrorBody { error: "internal error".into() }))
                    .into_response();
            res
        }
    })
}

/// Forget idle clients now and then, so the limiter's memory stays bounded.
pub fn spawn_cleanup(configs: Vec<Arc<Config>>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            for c in &configs {
                c.limiter().retain_recent();
            }
        }
    });
}
