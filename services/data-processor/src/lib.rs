//! data-processor: receives batches of Oura documents from the collector,
//! validates them, and upserts them into PostgreSQL in set-based statements
//! (idempotent: keyed by day / Oura id / sample time). Serves the stored
//! metrics back, and the collector's sync state.

pub mod error;
pub mod ingest;
pub mod query;
pub mod reader;
pub mod sync;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use clap::Parser;
use myhealth_common::db::DbArgs;
use sqlx::PgPool;
use tower_http::limit::RequestBodyLimitLayer;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Settings, from flags or the environment the Helm chart sets.
#[derive(Parser, Debug, Clone)]
#[command(name = "data-processor", version, about = "Stores Oura documents in PostgreSQL")]
pub struct Settings {
    /// Port to listen on
    #[arg(long, env = "PORT", default_value_t = 8080)]
    pub port: u16,
    /// Largest accepted request body, in bytes
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub max_body_bytes: usize,
    #[command(flatten)]
    pub db: DbArgs,
    /// Read-only role for Grafana's datasource (created when a password is given)
    #[arg(long, env = "DB_READER_USER", default_value = "grafana_reader")]
    pub reader_user: String,
    /// Password of the read-only role; without it no role is managed
    #[arg(long, env = "DB_READER_PASSWORD", hide_env_values = true)]
    pub reader_password: Option<String>,
}

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
}

/// The whole HTTP surface.
pub fn app(state: AppState, metrics: myhealth_common::PrometheusHandle, max_body: usize) -> Router {
    let routes = Router::new()
        .merge(ingest::router())
        .merge(query::router())
        .merge(sync::router())
        .with_state(state.clone())
        .merge(myhealth_common::health::router(state.pool, metrics))
        // axum's own 2 MiB default would answer 413 first, whatever MAX_BODY_BYTES says.
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(max_body));
    myhealth_common::http::standard(routes, Duration::from_secs(30))
}

pub async fn run(s: Settings) -> anyhow::Result<()> {
    myhealth_common::telemetry::init_logs("data-processor");
    let metrics = myhealth_common::telemetry::init_metrics();
    let pool = s.db.pool()?;
    // Migrate when the database is there, retrying in the background: until
    // then /ready says so and ingest answers 503, and the pod is not restarted.
    let reader = s.reader_password.filter(|p| !p.is_empty()).map(|p| (s.reader_user, p));
    tokio::spawn(prepare_until_done(pool.clone(), reader));
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", s.port)).await?;
    tracing::info!(port = s.port, "listening");
    myhealth_common::http::serve(listener, app(AppState { pool }, metrics, s.max_body_bytes)).await?;
    Ok(())
}

/// Migrations, then the read-only role (its grants need the tables).
async fn prepare(pool: &PgPool, reader: Option<&(String, String)>) -> anyhow::Result<()> {
    MIGRATOR.run(pool).await?;
    tracing::info!("migrations applied");
    if let Some((user, password)) = reader {
        reader::ensure(pool, user, password).await?;
        tracing::info!(role = %user, "read-only role ready");
    }
    Ok(())
}

async fn prepare_until_done(pool: PgPool, reader: Option<(String, String)>) {
    let mut wait = Duration::from_secs(1);
    loop {
        // Replicas race to create the role; the loser retries and finds it.
        match prepare(&pool, reader.as_ref()).await {
            Ok(()) => return,
            Err(e) => tracing::warn!(error = %e, retry_in = ?wait, "database not prepared yet"),
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(30));
    }
}
