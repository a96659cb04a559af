//! Per-client rate limiting (tower_governor): a general limit on the data
//! routes and a strict one on login, where each attempt is a password guess.
//!
//! Who the client is ([`ClientIp`]): `X-Forwarded-For` is believed only
//! when the connection comes from a trusted proxy (`TRUSTED_PROXIES`, the
//! Istio sidecar's loopback by default) and `TRUSTED_PROXY_HOPS` is above
//! zero. Then the client is the entry the outermost trusted proxy wrote —
//! the `TRUSTED_PROXY_HOPS`-th from the right; anything left of it is
//! whatever the client wrote itself and is never read. A request from any
//! other peer — one that reached the pod without the proxies — is keyed by
//! its peer address, whatever headers it carries, so it can neither take a
//! new identity per request nor spend another address's budget (see
//! docs/security.md, "Client addresses and proxy hops"). IPv6 clients are
//! keyed by their /64: one subscriber holds the whole prefix.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use axum::response::IntoResponse;
use ipnet::IpNet;
use tower_governor::governor::{GovernorConfig, GovernorConfigBuilder};
use tower_governor::key_extractor::KeyExtractor;
use tower_governor::{GovernorError, GovernorLayer};

use crate::error::ErrorBody;

/// The client address a request counts against.
#[derive(Clone, Debug)]
pub struct ClientIp {
    pub trusted_proxy_hops: usize,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<[IpNet]>,
}

/// Said once per process: a deployment whose proxies are not in
/// `TRUSTED_PROXIES` rate-limits them as one client.
static WARNED_UNTRUSTED: AtomicBool = AtomicBool::new(false);

impl ClientIp {
    /// The key of a request from `peer` with these headers.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if self.trusted_proxy_hops == 0 {
            return key(peer);
        }
        let forwarded = headers.get_all("x-forwarded-for");
        if !self.trusted_proxies.iter().any(|n| n.contains(&peer)) {
            if forwarded.iter().next().is_some() && !WARNED_UNTRUSTED.swap(true, Ordering::Relaxed) {
                tracing::warn!(%peer, "X-Forwarded-For from a peer outside TRUSTED_PROXIES is ignored; the peer is the client");
            }
            return key(peer);
        }
        // Every entry of every header line, in order (a list may be split over lines).
        let entries: Vec<&str> =
            forwarded.iter().flat_map(|v| v.to_str().unwrap_or_default().split(',')).map(str::trim).collect();
        // Fewer entries than proxies: the request did not pass all of them.
        let Some(i) = entries.len().checked_sub(self.trusted_proxy_hops) else { return key(peer) };
        // What a trusted proxy wrote must be an address; anything else says the
        // hop count is wrong, and falling back to the peer is the safe answer.
        parse(entries[i]).map(key).unwrap_or_else(|| key(peer))
    }
}

/// An entry as proxies write it: an address, or an address with a port.
fn parse(entry: &str) -> Option<IpAddr> {
    entry.parse::<IpAddr>().ok().or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip())).map(|a| a.to_canonical())
}

/// IPv4 addresses as they are; IPv6 by their /64 (rotating within one's own prefix is not a new client).
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

impl KeyExtractor for ClientIp {
    type Key = IpAddr;

    fn extract<T>(&self, req: &Request<T>) -> Result<IpAddr, GovernorError> {
        let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let peer = peer.ok_or(GovernorError::UnableToExtractKey)?;
        Ok(self.client(peer, req.headers()))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn client(hops: usize, peer: &str, xff: &[&str]) -> IpAddr {
        let c = ClientIp { trusted_proxy_hops: hops, trusted_proxies: vec!["10.0.0.0/24".parse().unwrap()].into() };
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        c.client(ip(peer), &h)
    }

    #[test]
    fn the_client_is_the_entry_the_outermost_trusted_proxy_wrote() {
        // API Gateway appended the client, Envoy the load balancer.
        assert_eq!(client(2, "10.0.0.6", &["198.51.100.7, 10.0.0.9"]), ip("198.51.100.7"));
        // Whatever the client wrote before is never read.
        assert_eq!(client(2, "10.0.0.6", &["1.2.3.4, 198.51.100.7, 10.0.0.9"]), ip("198.51.100.7"));
        assert_eq!(client(2, "10.0.0.6", &["1.2.3.4", "198.51.100.7, 10.0.0.9"]), ip("198.51.100.7"));
        assert_eq!(client(1, "10.0.0.6", &["1.2.3.4,198.51.100.7"]), ip("198.51.100.7"));
        // A port, as some proxies write it.
        assert_eq!(client(1, "10.0.0.6", &["198.51.100.7:5123"]), ip("198.51.100.7"));
        // Fewer entries than proxies: it did not come through them all — the peer.
        assert_eq!(client(2, "10.0.0.6", &["198.51.100.7"]), ip("10.0.0.6"));
        assert_eq!(client(1, "10.0.0.6", &[]), ip("10.0.0.6"));
        // Not an address where a trusted proxy writes one: the peer, never the entry to its left.
        assert_eq!(client(1, "10.0.0.6", &["198.51.100.7, unknown"]), ip("10.0.0.6"));
        // No hops configured: the peer, whatever the headers say.
        assert_eq!(client(0, "10.0.0.6", &["198.51.100.7"]), ip("10.0.0.6"));
    }

    #[test]
    fn a_peer_outside_the_trusted_proxies_is_the_client() {
        assert_eq!(client(1, "10.0.1.5", &["198.51.100.7"]), ip("10.0.1.5"));
        assert_eq!(client(2, "192.0.2.1", &["203.0.113.1, 198.51.100.7, 10.0.0.9"]), ip("192.0.2.1"));
        // An IPv4 peer seen through an IPv6 socket is still that IPv4 peer.
        assert_eq!(client(1, "::ffff:10.0.0.6", &["198.51.100.7"]), ip("198.51.100.7"));
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        assert_eq!(client(1, "10.0.0.6", &["2001:db8:1:2:aaaa::1"]), ip("2001:db8:1:2::"));
        assert_eq!(client(1, "10.0.0.6", &["[2001:db8:1:2:bbbb::9]:443"]), ip("2001:db8:1:2::"));
        assert_eq!(client(0, "2001:db8:9:9::5", &[]), ip("2001:db8:9:9::"));
    }
}
