//! `/health` (the process is up) and `/ready` (and the database answers),
//! plus `/metrics` for Prometheus.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;
use sqlx::PgPool;

#[derive(Clone)]
struct Probe {
    pool: PgPool,
    metrics: PrometheusHandle,
}

pub fn router(pool: PgPool, metrics: PrometheusHandle) -> Router {
    Router::new()
        .route("/health", get(|| async { axum::Json(json!({ "status": "ok" })) }))
        .route("/ready", get(ready))
        .route("/metrics", get(render_metrics))
        .with_state(Probe { pool, metrics })
}

/// The database check answers within this, below the kubelet's probe timeout
/// (the chart's 5 s), so a slow database reads as "not ready", never as a hung probe.
const READY_CHECK: std::time::Duration = std::time::Duration::from_secs(2);

async fn ready(State(p): State<Probe>) -> (StatusCode, axum::Json<serde_json::Value>) {
    crate::db::record_pool_stats(&p.pool);
    let check = crate::telemetry::timed("ready", sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&p.pool));
    let result = match tokio::time::timeout(READY_CHECK, check).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err(format!("no answer within {READY_CHECK:?}")),
    };
    match result {
        Ok(_) => (StatusCode::OK, axum::Json(json!({ "status": "ready" }))),
        Err(e) => {
            tracing::warn!(error = %e, "database not reachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({ "status": "unavailable", "reason": "database not reachable" })),
            )
        }
    }
}

async fn render_metrics(State(p): State<Probe>) -> String {
    crate::db::record_pool_stats(&p.pool);
    p.metrics.render()
}
