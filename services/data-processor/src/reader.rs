//! The read-only database role that Grafana's PostgreSQL datasource logs in
//! as. The processor owns the schema, so it also owns who may read it: after
//! the migrations it creates (or re-passwords) the role and grants it SELECT
//! on every table, now and future.

use sqlx::PgPool;

/// Create `user` if missing, (re)set its password, and grant it read access.
///
/// The name and password reach PostgreSQL as bind parameters of
/// `set_config` and are quoted by `format(%I, %L)` inside the block, so
/// neither is ever part of a statement's text (nor of a statement log).
pub async fn ensure(pool: &PgPool, user: &str, password: &str) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "SELECT set_config('myhealth.reader_user', $1, true), set_config('myhealth.reader_password', $2, true)",
    )
    .bind(user)
    .bind(password)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        r#"
DO $$
DECLARE
  u text := current_setting('myhealth.reader_user');
  p text := current_setting('myhealth.reader_password');
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = u) THEN
    EXECUTE format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', u, p);
  ELSE
    EXECUTE format('CREATE ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', u, p);
  END IF;
  -- Belt and braces: even a granted write would be refused, and a runaway
  -- dashboard query cannot hold a connection for long.
  EXECUTE format('ALTER ROLE %I SET default_transaction_read_only = on', u);
  EXECUTE format('ALTER ROLE %I SET statement_timeout = %L', u, '30s');
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), u);
  EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', u);
  EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA public TO %I', u);
  EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO %I', u);
END
$$"#,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}
