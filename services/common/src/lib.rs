//! Shared building blocks of the bundled services: database settings from
//! the environment (the names the Helm chart sets), JSON logs, Prometheus
//! metrics, graceful shutdown, the PostgreSQL pool with its credential
//! (RDS IAM tokens, a rotated password file, or a fixed password), and the `/health`
//! (liveness) and `/ready` (database reachable) endpoints, and the names of
//! the Oura collections (`oura`).

pub mod db;
pub mod health;
pub mod http;
pub mod iam;
pub mod oura;
pub mod schema;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;

/// Resolves when the process is asked to stop (SIGTERM from Kubernetes, or Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested, draining");
}

// The services record metrics through the same crates this one installs.
pub use metrics;
pub use metrics_exporter_prometheus::PrometheusHandle;
