//! `data-processor db-init`: the one step that runs as the database's master
//! user (the chart runs it as a pre-install/upgrade hook, ArgoCD's PreSync):
//! the migrations, a login role per service with exactly its privileges, and
//! the read-only role Grafana's datasource uses. The services themselves log
//! in as their own roles — with RDS IAM tokens, so no password exists for them.
//!
//! In AWS the master connection comes from the SSM parameter the Terraform
//! writes (`DB_PARAMETER`: host, port, dbname, master user, and the ARN of
//! the secret RDS keeps — and rotates — the master password in), read when
//! the job runs; the reader's password from Secrets Manager
//! (`DB_READER_SECRET_ID`). Elsewhere from `DATABASE_URL`/`DB_*` and
//! `DB_READER_PASSWORD`.
//!
//! Every statement is idempotent; passwords never reach a statement's text:
//! the reader's is set as a SCRAM verifier computed here, which is all
//! PostgreSQL stores (or logs).

use anyhow::{Context, bail};
use clap::Args;
use myhealth_common::db::DbArgs;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor, PgConnection};

#[derive(Args, Debug, Clone)]
pub struct DbInitSettings {
    /// The master connection, when not from DB_PARAMETER
    #[command(flatten)]
    pub db: DbArgs,
    /// SSM parameter with the connection (host, port, dbname, username, master_secret_arn)
    #[arg(long, env = "DB_PARAMETER")]
    pub parameter: Option<String>,
    /// Service roles and what they may do: `name=write` (the processor's tables) or `name=read`
    #[arg(long, env = "DB_ROLES", default_value = "")]
    pub roles: String,
    /// Read-only role for Grafana's datasource
    #[arg(long, env = "DB_READER_USER", default_value = "grafana_reader")]
    pub reader_user: String,
    /// Its password; or DB_READER_SECRET_ID
    #[arg(long, env = "DB_READER_PASSWORD", hide_env_values = true, conflicts_with = "reader_secret_id")]
    pub reader_password: Option<String>,
    /// Secrets Manager secret holding the reader's password
    #[arg(long, env = "DB_READER_SECRET_ID")]
    pub reader_secret_id: Option<String>,
}

/// What a service role may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Write,
    Read,
}

/// `data_processor=write,api_service=read`.
pub fn parse_roles(s: &str) -> anyhow::Result<Vec<(String, Access)>> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| {
            let (name, access) = x.split_once('=').unwrap_or((x, "read"));
            let access = match access {
                "write" => Access::Write,
                "read" => Access::Read,
                other => bail!("DB_ROLES: `{other}` is neither `write` nor `read`"),
            };
            if !identifier(name) {
                bail!("DB_ROLES: `{name}` is not a role name (lowercase letters, digits, `_`)");
            }
            Ok((name.to_string(), access))
        })
        .collect()
}

fn identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !s.as_bytes()[0].is_ascii_digit()
}

#[derive(serde::Deserialize)]
struct ConnectionParameter {
    host: String,
    port: String,
    dbname: String,
    username: String,
    master_secret_arn: String,
}

#[derive(serde::Deserialize)]
struct Master {
    username: String,
    password: String,
}

async fn aws_config(region: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_string()))
        .load()
        .await
}

async fn secret_string(sm: &aws_sdk_secretsmanager::Client, id: &str) -> anyhow::Result<String> {
    let out = sm.get_secret_value().secret_id(id).send().await.with_context(|| format!("cannot read secret `{id}`"))?;
    out.secret_string().map(str::to_string).with_context(|| format!("secret `{id}` has no string value"))
}

/// The master connection and the reader's password, from AWS or the settings.
async fn resolve(s: &DbInitSettings) -> anyhow::Result<(PgConnectOptions, Option<String>)> {
    let region = &s.db.aws_region;
    let (aws, sm) = if s.parameter.is_some() || s.reader_secret_id.is_some() {
        let config = aws_config(region).await;
        (Some(config.clone()), Some(aws_sdk_secretsmanager::Client::new(&config)))
    } else {
        (None, None)
    };
    let options = match (&s.parameter, &aws, &sm) {
        (Some(name), Some(config), Some(sm)) => {
            let ssm = aws_sdk_ssm::Client::new(config);
            let p = ssm
                .get_parameter()
                .name(name)
                .with_decryption(true)
                .send()
                .await
                .with_context(|| format!("cannot read parameter `{name}`"))?;
            let value =
                p.parameter().and_then(|p| p.value()).with_context(|| format!("parameter `{name}` is empty"))?;
            let c: ConnectionParameter = serde_json::from_str(value)
                .with_context(|| format!("parameter `{name}` is not the connection JSON"))?;
            let m: Master = serde_json::from_str(&secret_string(sm, &c.master_secret_arn).await?)
                .context("the master secret is not RDS's {username, password} JSON")?;
            if m.username != c.username {
                tracing::warn!("the master secret's user differs from the parameter's; using the secret's");
            }
            let mut args = s.db.clone();
            args.database_url = None;
            args.db_host = c.host;
            args.db_port = c.port.parse().context("the parameter's port is not a number")?;
            args.db_name = c.dbname;
            args.db_user = m.username;
            args.db_password = m.password;
            args.db_password_file = None;
            args.db_iam_auth = false;
            args.connect_options()?
        }
        _ => s.db.connect_options()?,
    };
    let reader = match (&s.reader_password, &s.reader_secret_id, &sm) {
        (Some(p), _, _) => Some(p.clone()),
        (None, Some(id), Some(sm)) => Some(secret_string(sm, id).await?),
        _ => None,
    };
    Ok((options, reader.filter(|p| !p.is_empty())))
}

pub async fn run(s: DbInitSettings) -> anyhow::Result<()> {
    myhealth_common::telemetry::init_logs("db-init");
    let roles = parse_roles(&s.roles)?;
    let (options, reader_password) = resolve(&s).await?;
    // Retried: on a first install the database may still be coming up.
    let mut wait = std::time::Duration::from_secs(1);
    let mut attempt = 1;
    let mut conn = loop {
        match PgConnection::connect_with(&options).await {
            Ok(c) => break c,
            Err(e) if attempt < 8 => {
                tracing::warn!(error = %e, retry_in = ?wait, "database not reachable yet");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(std::time::Duration::from_secs(30));
                attempt += 1;
            }
            Err(e) => return Err(e).context("cannot connect as the master user"),
        }
    };
    crate::MIGRATOR.run(&mut conn).await.context("migrations")?;
    tracing::info!("migrations applied");
    ensure_roles(&mut conn, &roles).await?;
    if let Some(p) = reader_password {
        crate::reader::ensure(&mut conn, &s.reader_user, &p).await?;
        tracing::info!(role = %s.reader_user, "read-only role ready");
    }
    conn.close().await?;
    Ok(())
}

/// Each service role: LOGIN, no password, `rds_iam` where the server has it
/// (RDS: then it can only log in with an IAM token), and its privileges on
/// every table, now and future.
pub async fn ensure_roles(conn: &mut PgConnection, roles: &[(String, Access)]) -> anyhow::Result<()> {
    let rds_iam: bool = sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam')")
        .fetch_one(&mut *conn)
        .await?;
    for (role, access) in roles {
        // Identifiers were checked by `parse_roles`; still quoted by format(%I).
        let privileges = match access {
            Access::Write => "SELECT, INSERT, UPDATE, DELETE",
            Access::Read => "SELECT",
        };
        let mut tx = conn.begin().await?;
        sqlx::query("SELECT set_config('myhealth.role', $1, true), set_config('myhealth.privileges', $2, true), set_config('myhealth.rds_iam', $3, true)")
            .bind(role)
            .bind(privileges)
            .bind(if rds_iam { "on" } else { "off" })
            .execute(&mut *tx)
            .await?;
        tx.execute(
            r#"
DO $$
DECLARE
  r text := current_setting('myhealth.role');
  p text := current_setting('myhealth.privileges');
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
    EXECUTE format('CREATE ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', r);
  END IF;
  IF current_setting('myhealth.rds_iam') = 'on' THEN
    EXECUTE format('GRANT rds_iam TO %I', r);
  END IF;
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), r);
  EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', r);
  EXECUTE format('GRANT %s ON ALL TABLES IN SCHEMA public TO %I', p, r);
  EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO %I', r);
  EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT %s ON TABLES TO %I', p, r);
  EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO %I', r);
END
$$"#,
        )
        .await?;
        tx.commit().await?;
        tracing::info!(role = %role, access = ?access, iam = rds_iam, "service role ready");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_and_refuse_what_is_no_identifier() {
        assert_eq!(
            parse_roles("data_processor=write, api_service=read").unwrap(),
            [("data_processor".to_string(), Access::Write), ("api_service".to_string(), Access::Read)]
        );
        assert!(parse_roles("x=admin").is_err());
        assert!(parse_roles("Robert'); DROP TABLE x;--=read").is_err());
        assert!(parse_roles("").unwrap().is_empty());
    }
}
