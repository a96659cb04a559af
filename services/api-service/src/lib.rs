//! api-service: the authenticated read API over the stored Oura data.
//! Single user: `POST /auth/login` checks the password against an argon2
//! hash (from a secret) and returns an HS256 JWT valid 24 h; every
//! `/api/v1/*` route requires it. The routes and the OpenAPI 3.1 document
//! come from the same handler annotations (utoipa), so they cannot drift;
//! `openapi.json` beside this crate is the committed copy, checked by a test.

pub mod auth;
pub mod cache;
pub mod data;
pub mod error;
pub mod limit;
pub mod login;
pub mod trends;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method};
use clap::Parser;
use myhealth_common::db::DbArgs;
use sqlx::PgPool;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "api-service",
    version,
    about = "Authenticated read API of myHealth",
    after_help = "`api-service openapi` prints the OpenAPI document and exits; `api-service hash-password` reads a password on stdin and prints its argon2 hash for API_PASSWORD_HASH."
)]
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
    pub login: login::LoginSettings,
    #[command(flatten)]
    pub http: HttpSettings,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Everything about the HTTP surface that is not a secret.
#[derive(clap::Args, Debug, Clone)]
pub struct HttpSettings {
    /// Origins allowed to call the API from a browser, comma-separated (none: no CORS headers)
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub cors_allowed_origins: Vec<String>,
    /// Requests per second per client on the data routes
    #[arg(long, env = "RATE_LIMIT_PER_SECOND", default_value_t = 20)]
    pub rate_limit_per_second: u32,
    /// Burst above that rate per client
    #[arg(long, env = "RATE_LIMIT_BURST", default_value_t = 40)]
    pub rate_limit_burst: u32,
    /// Login attempts per minute per client
    #[arg(long, env = "LOGIN_RATE_LIMIT_PER_MINUTE", default_value_t = 5)]
    pub login_rate_limit_per_minute: u32,
    /// Proxies in front that append to X-Forwarded-For: the client is the entry this many from the right (0: the peer address)
    #[arg(long, env = "TRUSTED_PROXY_HOPS", default_value_t = 0)]
    pub trusted_proxy_hops: usize,
    /// Peers whose X-Forwarded-For is believed, as CIDRs, comma-separated (default: loopback, the Istio sidecar's source)
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',', default_value = "127.0.0.0/8,::1/128")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Longest a request may take before it is answered 503
    #[arg(long, env = "REQUEST_TIMEOUT_SECONDS", default_value_t = 10)]
    pub request_timeout_seconds: u64,
    #[command(flatten)]
    pub timeouts: myhealth_common::http::Timeouts,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            cors_allowed_origins: vec![],
            rate_limit_per_second: 20,
            rate_limit_burst: 40,
            login_rate_limit_per_minute: 5,
            trusted_proxy_hops: 0,
            trusted_proxies: vec!["127.0.0.0/8".parse().expect("a CIDR"), "::1/128".parse().expect("a CIDR")],
            request_timeout_seconds: 10,
            timeouts: Default::default(),
        }
    }
}

/// What every handler shares, behind one `Arc`: axum clones the state for
/// each request (into the route, and again for `State`), one reference
/// count instead of one per field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub pool: PgPool,
    pub auth: Arc<auth::Keys>,
    pub cache: Arc<cache::Cache>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// The state, with the response cache listening for stored batches.
    pub fn new(pool: PgPool, auth: Arc<auth::Keys>) -> AppState {
        let cache = Arc::new(cache::Cache::default());
        cache::spawn_listener(pool.clone(), cache.clone());
        AppState::with_cache(pool, auth, cache)
    }

    /// The state with this cache (listening or not: tests).
    pub fn with_cache(pool: PgPool, auth: Arc<auth::Keys>, cache: Arc<cache::Cache>) -> AppState {
        AppState(Arc::new(Shared { pool, auth, cache }))
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "myHealth API", description = "Read API over the Oura Ring data myHealth stores. Log in at `/auth/login`; send the token as `Authorization: Bearer …`."),
    modifiers(&BearerAuth),
    components(schemas(error::ErrorBody))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// The documented routes, before any layer: login and the data routes.
fn documented(limits: Option<(Arc<limit::Config>, Arc<limit::Config>)>) -> OpenApiRouter<AppState> {
    let (mut login, mut data) = (auth::router(), data::router().merge(trends::router()));
    if let Some((login_limit, data_limit)) = limits {
        login = login.layer(limit::layer(login_limit));
        data = data.layer(limit::layer(data_limit));
    }
    OpenApiRouter::with_openapi(<ApiDoc as utoipa::OpenApi>::openapi()).merge(login).merge(data)
}

/// The OpenAPI 3.1 document of the routes (what `/openapi.json` serves).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = documented(None).into_openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").into();
    doc
}

/// The whole HTTP surface.
pub fn app(state: AppState, metrics: myhealth_common::PrometheusHandle, http: &HttpSettings) -> anyhow::Result<Router> {
    let key = limit::ClientIp {
        trusted_proxy_hops: http.trusted_proxy_hops,
        trusted_proxies: http.trusted_proxies.clone().into(),
    };
    let data_limit = limit::config(
        limit::Limit {
            period: Duration::from_secs(1) / http.rate_limit_per_second.max(1),
            burst: http.rate_limit_burst,
        },
        key.clone(),
    )?;
    let login_limit = limit::config(
        limit::Limit {
            period: Duration::from_secs(60) / http.login_rate_limit_per_minute.max(1),
            burst: http.login_rate_limit_per_minute,
        },
        key,
    )?;
    limit::spawn_cleanup(vec![data_limit.clone(), login_limit.clone()]);
    let doc = serde_json::to_string_pretty(&openapi())?;
    let (routes, _) = documented(Some((login_limit, data_limit))).with_state(state.clone()).split_for_parts();
    let routes = routes
        .route(
            "/openapi.json",
            axum::routing::get(move || async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], doc) }),
        )
        .merge(myhealth_common::health::router(state.pool.clone(), metrics))
        .layer(CompressionLayer::new())
        .layer(cors(&http.cors_allowed_origins)?);
    Ok(myhealth_common::http::standard(
        routes,
        Duration::from_secs(http.request_timeout_seconds),
        http.timeouts.body_read(),
    ))
}

fn cors(origins: &[String]) -> anyhow::Result<CorsLayer> {
    let origins = origins
        .iter()
        .filter(|o| !o.trim().is_empty())
        .map(|o| {
            HeaderValue::from_str(o.trim())
                .map_err(|_| anyhow::anyhow!("CORS_ALLOWED_ORIGINS: `{o}` is not a valid origin"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([axum::http::header::AUTHORIZATION, axum::http::header::CONTENT_TYPE])
        .expose_headers([HeaderName::from_static("x-request-id"), HeaderName::from_static("retry-after")])
        .max_age(Duration::from_secs(600)))
}

pub async fn run(s: Settings) -> anyhow::Result<()> {
    // Before the first verification: its memory must go back to the kernel.
    login::return_large_allocations();
    myhealth_common::telemetry::init_logs("api-service");
    let metrics = myhealth_common::telemetry::init_metrics();
    let keys = auth::Keys::new(&s.username, &s.password_hash, &s.jwt_signing_key, &s.login)?;
    let state = AppState::new(s.db.pool()?, Arc::new(keys));
    let router = app(state, metrics, &s.http)?;
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", s.port)).await?;
    tracing::info!(port = s.port, "listening");
    myhealth_common::http::serve(listener, router, s.http.timeouts).await?;
    Ok(())
}
