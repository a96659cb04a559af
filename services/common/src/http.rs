//! The HTTP layers every service wears, outermost first: a request id
//! (`x-request-id`, generated unless the caller sent one, echoed back and put
//! in every log line of the request), a trace span, a timeout (503 when a
//! handler takes too long), and the per-route metrics of [`crate::telemetry`].
//! Also [`serve`], which keeps the peer address (rate limiting needs it) and
//! drains in-flight requests on SIGTERM.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::{Request, StatusCode};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Wrap a service's router in the standard layers.
pub fn standard(router: Router, timeout: Duration) -> Router {
    router
        .layer(axum::middleware::from_fn(crate::telemetry::track))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, timeout))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req.extensions().get::<RequestId>().and_then(|id| id.header_value().to_str().ok()).unwrap_or("");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// Serve `router` on `listener` until SIGTERM/Ctrl-C, then drain.
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(crate::shutdown_signal())
        .await
}
