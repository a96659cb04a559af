//! api-service: the authenticated read API over the stored Oura data.
//! Single user: `POST /auth/login` checks the password against an argon2
//! hash (from a secret) and returns an HS256 JWT valid 24 h; every
//! `/api/v1/*` route requires it.

pub mod auth;
pub mod data;
pub mod error;

use axum::Router;
use clap::Parser;
use myhealth_common::db::DbArgs;
use sqlx::PgPool;

#[derive(Parser, Debug, Clone)]
#[command(name = "api-service", version, about = "Authenticated read API of myHealth")]
pub struct Settings {
    #[arg(long, env = "PORT", default_value_t = 8080)]
    pub port: u16,
    /// Argon2 PHC hash of the user's password (from the api-password-hash secret)
    #[arg(long, env = "API_PASSWORD_HASH", hide_env_values = true)]
    pub password_hash: String,
    /// Key that signs the JWTs (from the jwt-signing-key secret)
    #[arg(long, env = "JWT_SIGNING_KEY", hide_env_values = true)]
    pub jwt_signing_key: String,
    /// The user name accepted at login
    #[arg(long, env = "API_USERNAME", default_value = "me")]
    pub username: String,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub auth: std::sync::Arc<auth::Keys>,
}

pub fn app(state: AppState, metrics: myhealth_common::PrometheusHandle) -> Router {
    Router::new()
        .merge(auth::router())
        .merge(data::router())
        .with_state(state.clone())
        .merge(myhealth_common::health::router(state.pool, metrics))
        .layer(axum::middleware::from_fn(myhealth_common::telemetry::track))
}

pub async fn run(s: Settings) -> anyhow::Result<()> {
    myhealth_common::telemetry::init_logs("api-service");
    let metrics = myhealth_common::telemetry::init_metrics();
    let keys = auth::Keys::new(&s.username, &s.password_hash, &s.jwt_signing_key)?;
    let state = AppState { pool: s.db.pool()?, auth: std::sync::Arc::new(keys) };
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", s.port)).await?;
    axum::serve(listener, app(state, metrics)).with_graceful_shutdown(myhealth_common::shutdown_signal()).await?;
    Ok(())
}
