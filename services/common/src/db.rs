//! Database settings and pool. Either `DATABASE_URL`, or the parts the
//! chart maps from the RDS-managed secret (`DB_HOST`, `DB_PORT`, `DB_NAME`,
//! `DB_USER`, `DB_PASSWORD`, `DB_SSLMODE`), so the password never has to be
//! spliced into a URL by hand.

use std::time::Duration;

use clap::Args;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};

#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    /// Full connection URL (overrides the DB_* parts)
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    #[arg(long, env = "DB_HOST", default_value = "localhost")]
    pub db_host: String,
    #[arg(long, env = "DB_PORT", default_value_t = 5432)]
    pub db_port: u16,
    #[arg(long, env = "DB_NAME", default_value = "myhealth")]
    pub db_name: String,
    #[arg(long, env = "DB_USER", default_value = "myhealth")]
    pub db_user: String,
    #[arg(long, env = "DB_PASSWORD", hide_env_values = true, default_value = "")]
    pub db_password: String,
    /// disable, prefer, require, verify-ca or verify-full (RDS forces TLS: use require or stronger)
    #[arg(long, env = "DB_SSLMODE", default_value = "prefer")]
    pub db_sslmode: String,
    /// Largest number of pooled connections
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 10)]
    pub db_max_connections: u32,
}

impl DbArgs {
    pub fn connect_options(&self) -> anyhow::Result<PgConnectOptions> {
        if let Some(url) = &self.database_url {
            return Ok(url.parse()?);
        }
        let ssl = match self.db_sslmode.as_str() {
            "disable" => PgSslMode::Disable,
            "prefer" => PgSslMode::Prefer,
            "require" => PgSslMode::Require,
            "verify-ca" => PgSslMode::VerifyCa,
            "verify-full" => PgSslMode::VerifyFull,
            other => {
                anyhow::bail!("DB_SSLMODE `{other}` is not one of disable, prefer, require, verify-ca, verify-full")
            }
        };
        Ok(PgConnectOptions::new()
            .host(&self.db_host)
            .port(self.db_port)
            .database(&self.db_name)
            .username(&self.db_user)
            .password(&self.db_password)
            .ssl_mode(ssl))
    }

    /// A lazily connecting pool: the service starts (and answers `/health`)
    /// even while the database is down; `/ready` says whether it is reachable.
    pub fn pool(&self) -> anyhow::Result<PgPool> {
        Ok(PgPoolOptions::new()
            .max_connections(self.db_max_connections)
            .acquire_timeout(Duration::from_secs(3))
            .connect_lazy_with(self.connect_options()?))
    }
}

/// Record pool statistics as gauges (scraped with everything else).
pub fn record_pool_stats(pool: &PgPool) {
    metrics::gauge!("db_pool_connections").set(pool.size() as f64);
    metrics::gauge!("db_pool_idle_connections").set(pool.num_idle() as f64);
}

/// Whether an error means the database cannot be reached right now (the
/// client should retry: 503), as opposed to a fault in the request or code.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed | sqlx::Error::Tls(_))
}
