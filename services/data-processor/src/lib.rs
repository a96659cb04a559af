//! data-processor: receives batches of Oura documents from the collector,
//! validates them, and upserts them into PostgreSQL in set-based statements
//! (idempotent: keyed by day / Oura id / sample time). Serves the stored
//! metrics back, and the collector's sync state. The routes and the OpenAPI
//! 3.1 document come from the same handler annotations (utoipa);
//! `openapi.json` beside this crate is the committed copy, checked by a test.

pub mod db_init;
pub mod error;
pub mod guard;
pub mod ingest;
pub mod query;
pub mod reader;
pub mod sync;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use clap::Parser;
use myhealth_common::db::DbArgs;
use myhealth_common::http::Timeouts;
use sqlx::PgPool;
use tower_http::limit::RequestBodyLimitLayer;
use utoipa_axum::router::OpenApiRouter;

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
    DbInit(Box<db_init::DbInitSettings>),
    /// Print the OpenAPI document and exit
    Openapi,
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
    /// Longest a request may take before it is answered 503
    #[arg(long, env = "REQUEST_TIMEOUT_SECONDS", default_value_t = 30)]
    pub request_timeout_seconds: u64,
    #[command(flatten)]
    pub timeouts: Timeouts,
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

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "myHealth data-processor",
        description = "Stores the Oura documents the collector sends, serves them back, and keeps the collector's sync state. Inside the cluster only; every error is `{\"error\": \"…\"}`."
    ),
    components(schemas(error::ErrorBody, query::Kind))
)]
struct ApiDoc;

/// The documented routes, before any layer.
fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(<ApiDoc as utoipa::OpenApi>::openapi())
        .merge(ingest::router())
        .merge(query::router())
        .merge(sync::router())
}

/// The OpenAPI 3.1 document of the routes (what `/openapi.json` serves).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = documented().into_openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").into();
    doc
}

/// What the HTTP surface needs besides its state.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    pub timeouts: Timeouts,
}

impl Limits {
    /// The defaults, with this body limit.
    pub fn with_max_body(max_body_bytes: usize) -> Limits {
        Limits { max_body_bytes, request_timeout: Duration::from_secs(30), timeouts: Timeouts::default() }
    }
}

/// The whole HTTP surface, with the default timeouts.
pub fn app(state: AppState, metrics: myhealth_common::PrometheusHandle, max_body: usize) -> Router {
    app_with(state, metrics, &Limits::with_max_body(max_body))
}

/// The whole HTTP surface.
pub fn app_with(state: AppState, metrics: myhealth_common::PrometheusHandle, limits: &Limits) -> Router {
    let doc = serde_json::to_string_pretty(&openapi()).expect("the document serialises");
    let (routes, _) = documented().with_state(state.clone()).split_for_parts();
    let routes = routes
        .route(
            "/openapi.json",
            axum::routing::get(move || async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], doc) }),
        )
        .merge(myhealth_common::health::router(state.pool, metrics))
        // axum's own 2 MiB default would answer 413 first, whatever MAX_BODY_BYTES says.
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes));
    myhealth_common::http::standard(routes, limits.request_timeout, limits.timeouts.body_read())
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
    let limits = Limits {
        max_body_bytes: s.max_body_bytes,
        request_timeout: Duration::from_secs(s.request_timeout_seconds),
        timeouts: s.timeouts,
    };
    myhealth_common::http::serve(listener, app_with(AppState { pool }, metrics, &limits), s.timeouts).await?;
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
