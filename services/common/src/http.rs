//! The HTTP layers every service wears, outermost first: a request id
//! (`x-request-id`, generated unless the caller sent one, echoed back and put
//! in every log line of the request), a trace span, every error answered as
//! JSON (`{"error": "…"}`, whatever produced it), a timeout (503 when a
//! handler takes too long), a body read timeout, and the per-route metrics of
//! [`crate::telemetry`].
//!
//! Also [`serve`], the connection loop: HTTP/1.1 with a header read timeout
//! (axum's own `serve` takes no configuration and sets no timer, so a client
//! sending its headers one byte at a time held its connection for ever), the
//! peer address for every request (rate limiting needs it), and draining of
//! in-flight requests on SIGTERM.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use hyper_util::rt::{TokioIo, TokioTimer};
use tower::ServiceExt as _;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};
use tower_http::trace::TraceLayer;

/// How long a client may take over the parts of its request.
#[derive(clap::Args, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Longest a client may take to send a request's headers; also how long an idle keep-alive connection is kept
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECONDS", default_value_t = 10)]
    pub header_read_timeout_seconds: u64,
    /// Longest a request body may stall between two reads (the whole request stays within the request timeout)
    #[arg(long, env = "BODY_READ_TIMEOUT_SECONDS", default_value_t = 10)]
    pub body_read_timeout_seconds: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { header_read_timeout_seconds: 10, body_read_timeout_seconds: 10 }
    }
}

impl Timeouts {
    pub fn header_read(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_seconds.max(1))
    }

    pub fn body_read(&self) -> Duration {
        Duration::from_secs(self.body_read_timeout_seconds.max(1))
    }
}

/// Wrap a service's router in the standard layers.
pub fn standard(router: Router, request_timeout: Duration, body_read: Duration) -> Router {
    router
        .layer(axum::middleware::from_fn(crate::telemetry::track))
        // Per frame: a body that stops arriving fails its read (a 408 where
        // the service maps it, see `is_body_timeout`); one that trickles is
        // still cut by the request timeout below, which spans the handler's read.
        .layer(RequestBodyTimeoutLayer::new(body_read))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, request_timeout))
        .layer(axum::middleware::map_response(json_errors))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req.extensions().get::<RequestId>().and_then(|id| id.header_value().to_str().ok()).unwrap_or("");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// The body of every error answer.
#[derive(serde::Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

/// Error answers that are not JSON already — axum's rejections, its empty
/// 404 and 405, tower-http's 413 and 503 — become `{"error": "…"}`, their
/// text (or the status's reason) as the message; status and headers stay.
async fn json_errors(mut res: Response<Body>) -> Response<Body> {
    let status = res.status();
    // A body too large or too slow was not read to its end: hyper closes the
    // connection after answering. Saying so keeps the client from sending
    // its next request on it (seen: hyper's `IncompleteMessage` after a 413).
    if matches!(status, StatusCode::PAYLOAD_TOO_LARGE | StatusCode::REQUEST_TIMEOUT) {
        res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    // Error texts are one line; anything longer is not a message for a client.
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let reason = status.canonical_reason().unwrap_or("error").to_lowercase();
    let message = if text.trim().is_empty() { reason.as_str() } else { text.trim() };
    let body = serde_json::to_vec(&ErrorBody { error: message }).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, Body::from(body))
}

/// Whether reading a request body failed because it stalled longer than the
/// body read timeout (anywhere in the error's chain of sources).
pub fn is_body_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(e) = cur {
        if e.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cur = e.source();
    }
    false
}

/// Serve `router` on `listener` until SIGTERM/Ctrl-C, then drain.
pub async fn serve(listener: tokio::net::TcpListener, router: Router, timeouts: Timeouts) -> std::io::Result<()> {
    serve_until(listener, router, timeouts, crate::shutdown_signal()).await
}

/// Serve until `signal` resolves; then stop accepting, let every open
/// connection finish its request in flight, and return.
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    router: Router,
    timeouts: Timeouts,
    signal: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    // The timer starts whenever the connection waits for a request head —
    // the first one, and between requests of a kept-alive connection.
    http.timer(TokioTimer::new()).header_read_timeout(timeouts.header_read());
    // Dropped when the signal comes: connections see it and drain.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(());
    tokio::spawn(async move {
        signal.await;
        drop(stop_rx);
    });
    // Every connection task holds a receiver; when all are gone, every one has finished.
    let (done_tx, done_rx) = tokio::sync::watch::channel(());
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: pause, as axum does, instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stop_tx.closed() => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(req.map(Body::new))
        });
        let conn = http.serve_connection(TokioIo::new(stream), service);
        let (stop, done) = (stop_tx.clone(), done_rx.clone());
        tokio::spawn(async move {
            let mut conn = pin!(conn);
            let mut stopping = pin!(stop.closed());
            let mut draining = false;
            loop {
                tokio::select! {
                    result = conn.as_mut() => {
                        if let Err(e) = result {
                            // A header read timeout ends here too: the client was too slow.
                            tracing::debug!(peer = %peer, error = %e, "connection closed");
                        }
                        break;
                    }
                    _ = &mut stopping, if !draining => {
                        draining = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(done);
        });
    }
    drop(listener);
    drop(done_rx);
    done_tx.closed().await;
    Ok(())
}
