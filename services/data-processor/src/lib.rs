//! data-processor: receives batches of Oura documents from the collector,
//! validates them, and upserts them into PostgreSQL in set-based statements
//! (idempotent: keyed by day / Oura id / sample time). Serves the stored
//! metrics back, and the collector's sync state.

pub mod db_init;
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

/// The binary: serve (the default), or `db-init`.
#[derive(Parser, Debug)]
#[command(
    name = "data-processor",
    version,
    about = "Stores Oura documents in PostgreSQL",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: Settings,
}

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// As the master user: migrations, the services' roles and grants, Grafana's read-only role; then exit
    DbInit(db_init::DbInitSettings),
}

/// Settings of the server, from flags or the environment the Helm chart sets.
#[derive(clap::Args, Debug, Clone)]
pub struct Settings {
    /// Port to listen on
    #[arg(long, env = "PORT", default_value_t = 8080)]
    pub port: u16,
    /// Largest accepted request body, in bytes
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub max_body_bytes: usize,
    #[command(flatten)]
    pub db: DbArgs,
    /// Run the migrations at start-up (off where db-init runs them as the master user, as in the chart)
    #[arg(long, env = "DB_MIGRATE", default_value_t = true, action = clap::ArgAction::Set)]
    pub migrate: bool,
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
    if s.migrate {
        tokio::spawn(migrate_until_done(pool.clone()));
    }
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", s.port)).await?;
    tracing::info!(port = s.port, "listening");
    myhealth_common::http::serve(listener, app(AppState { pool }, metrics, s.max_body_bytes)).await?;
    Ok(())
}

async fn migrate_until_done(pool: PgPool) {
    let mut wait = Duration::from_secs(1);
    loop {
        match MIGRATOR.run(&pool).await {
            Ok(()) => return tracing::info!("migrations applied"),
            Err(e) => tracing::warn!(error = %e, retry_in = ?wait, "database not prepared yet"),
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(30));
    }
}
