//! JSON logs (tracing) and Prometheus metrics: request count and latency per
//! matched route (never per raw path, so ids in URLs cannot explode the
//! series), plus whatever the services record themselves.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::IntoResponse;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

/// Initialise logging: JSON lines unless `LOG_FORMAT=pretty`; level from `RUST_LOG`.
pub fn init_logs(service: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let pretty = std::env::var("LOG_FORMAT").is_ok_and(|f| f == "pretty");
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let _ = if pretty {
        builder.try_init()
    } else {
        builder.json().flatten_event(true).with_current_span(false).try_init()
    };
    tracing::info!(service, version = env!("CARGO_PKG_VERSION"), "starting");
}

/// Install the Prometheus recorder (once per process) and return its handle.
pub fn init_metrics() -> PrometheusHandle {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
            PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
                .expect("valid buckets")
                .install_recorder()
                .expect("one Prometheus recorder per process")
        })
        .clone()
}

/// Middleware: `http_requests_total` and `http_request_duration_seconds` by method, route, status.
pub async fn track(req: Request, next: Next) -> impl IntoResponse {
    let start = Instant::now();
    let route =
        req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(start.elapsed().as_secs_f64());
    res
}

/// Time a database query: `db_query_duration_seconds{query=…}`.
pub async fn timed<T>(query: &'static str, f: impl std::future::Future<Output = T>) -> T {
    let start = Instant::now();
    let out = f.await;
    metrics::histogram!("db_query_duration_seconds", "query" => query).record(start.elapsed().as_secs_f64());
    out
}
