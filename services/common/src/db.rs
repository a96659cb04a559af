//! Database settings and pool. Either `DATABASE_URL`, or the parts the chart
//! maps (`DB_HOST`, `DB_PORT`, `DB_NAME`, `DB_USER`, `DB_SSLMODE`), so no
//! password has to be spliced into a URL by hand.
//!
//! The credential is asked for again for every new connection, so one that
//! changes under a running service causes no outage: with `DB_IAM_AUTH` a
//! fresh RDS IAM token from the pod's role (what the chart sets: nothing to
//! rotate at all); with `DB_PASSWORD_FILE` the file's current content (a
//! rotated Secret mounted as a file); else the fixed `DB_PASSWORD`.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

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
    /// Read the password from this file, again whenever it changes (a rotated Secret mounted as a file)
    #[arg(long, env = "DB_PASSWORD_FILE", conflicts_with = "db_iam_auth")]
    pub db_password_file: Option<PathBuf>,
    /// Log in with an RDS IAM token from the pod's AWS role, fresh for every connection
    #[arg(long, env = "DB_IAM_AUTH", default_value_t = false, action = clap::ArgAction::Set)]
    pub db_iam_auth: bool,
    /// AWS region of the database (IAM tokens are signed for it)
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    pub aws_region: String,
    /// disable, prefer, require, verify-ca or verify-full (RDS forces TLS: use require or stronger)
    #[arg(long, env = "DB_SSLMODE", default_value = "prefer")]
    pub db_sslmode: String,
    /// Largest number of pooled connections
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 10)]
    pub db_max_connections: u32,
}

/// How often a password file is looked at, and how long before its expiry an IAM token is replaced.
const FILE_POLL: Duration = Duration::from_secs(2);
const TOKEN_REFRESH: Duration = Duration::from_secs(600);

/// The channel the data-processor notifies in the transaction that stores
/// a batch, and the api-service listens on to drop its cached answers.
pub const INGEST_CHANNEL: &str = "myhealth_ingest";

/// A pooled connection used within this long is handed out again without a
/// ping (PgBouncer's `server_check_delay` is 30 s too). sqlx pings every
/// connection it takes back, and with `test_before_acquire` again on every
/// acquire: a second round trip in front of every request. One that died
/// in the seconds between fails its statement, which the services answer
/// with a retryable 503, and is not taken back.
pub const CHECK_AFTER_IDLE: Duration = Duration::from_secs(30);

/// The pool settings of both services (and of their benchmarks, so what is
/// measured is what runs): a connection idle for [`CHECK_AFTER_IDLE`] is
/// pinged before use, a busy one is not.
pub fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new().acquire_timeout(Duration::from_secs(3)).test_before_acquire(false).before_acquire(
        |conn, meta| {
            Box::pin(async move {
                if meta.idle_for < CHECK_AFTER_IDLE {
                    return Ok(true);
                }
                // An error closes it (hard: its socket is likely dead); the
                // pool opens or takes another.
                sqlx::Connection::ping(conn).await?;
                Ok(true)
            })
        },
    )
}

impl DbArgs {
    /// The connection without the password (that comes from [`DbArgs::pool`]'s credential source).
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
        let mut o = PgConnectOptions::new()
            .host(&self.db_host)
            .port(self.db_port)
            .database(&self.db_name)
            .username(&self.db_user)
            .ssl_mode(ssl);
        if self.db_password_file.is_none() && !self.db_iam_auth {
            o = o.password(&self.db_password);
        }
        Ok(o)
    }

    /// A lazily connecting pool: the service starts (and answers `/health`)
    /// even while the database is down; `/ready` says whether it is reachable.
    /// Must be called inside a Tokio runtime: it starts the task that keeps
    /// the credential current.
    pub fn pool(&self) -> anyhow::Result<PgPool> {
        let base = self.connect_options()?;
        let mut first = base.clone();
        if let Some(path) = &self.db_password_file {
            first = first.password(read_password(path)?.trim_end_matches(['\r', '\n']));
        }
        let pool = pool_options().max_connections(self.db_max_connections).connect_lazy_with(first);
        if let Some(path) = self.db_password_file.clone() {
            tokio::spawn(watch_password_file(pool.clone(), base, path));
        } else if self.db_iam_auth {
            tokio::spawn(refresh_iam_token(pool.clone(), base, self.clone()));
        }
        Ok(pool)
    }
}

fn read_password(path: &std::path::Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read DB_PASSWORD_FILE `{}`: {e}", path.display()))
}

/// New connections use the file's current password; open ones are untouched
/// (PostgreSQL does not end sessions when a password changes).
async fn watch_password_file(pool: PgPool, base: PgConnectOptions, path: PathBuf) {
    let mut current = read_password(&path).ok();
    loop {
        tokio::time::sleep(FILE_POLL).await;
        match read_password(&path) {
            Ok(p) if Some(&p) != current.as_ref() => {
                pool.set_connect_options(base.clone().password(p.trim_end_matches(['\r', '\n'])));
                tracing::info!("database password changed: new connections use it");
                current = Some(p);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "database password file unreadable; keeping the last one"),
        }
    }
}

/// A fresh token well before the last one expires; until the first arrives
/// connections fail (and `/ready` says so), retried with backoff.
async fn refresh_iam_token(pool: PgPool, base: PgConnectOptions, args: DbArgs) {
    let mut wait = Duration::from_secs(1);
    loop {
        let token = async {
            let creds = crate::iam::credentials(&args.aws_region).await?;
            crate::iam::auth_token(
                &creds,
                &args.aws_region,
                &args.db_host,
                args.db_port,
                &args.db_user,
                SystemTime::now(),
            )
        };
        match token.await {
            Ok(t) => {
                pool.set_connect_options(base.clone().password(&t));
                wait = Duration::from_secs(1);
                tokio::time::sleep(TOKEN_REFRESH).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?wait, "no IAM database token");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// Record pool statistics as gauges (scraped with everything else).
pub fn record_pool_stats(pool: &PgPool) {
    metrics::gauge!("db_pool_connections").set(pool.size() as f64);
    metrics::gauge!("db_pool_idle_connections").set(pool.num_idle() as f64);
}

/// Whether an error means the database cannot be reached right now (the
/// client should retry: 503), as opposed to a fault in the request or code.
/// A refused login counts: the credential may be mid-rotation.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed | sqlx::Error::Tls(_) => true,
        // 28P01 invalid_password, 28000 invalid_authorization_specification;
        // the connection exceptions of class 08 (not 08P01, a protocol
        // violation: a fault of ours, retrying would not help); 57P01–57P03
        // and 57P05, the server shutting down, crashed, starting or ending
        // an idle session (what a pooled connection reads first after a
        // restart or an RDS failover).
        sqlx::Error::Database(d) => d.code().is_some_and(|c| {
            matches!(
                c.as_ref(),
                "28P01"
                    | "28000"
                    | "08000"
                    | "08001"
                    | "08003"
                    | "08004"
                    | "08006"
                    | "57P01"
                    | "57P02"
                    | "57P03"
                    | "57P05"
            )
        }),
        _ => false,
    }
}
