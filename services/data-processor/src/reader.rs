//! The read-only database role that Grafana's PostgreSQL datasource logs in
//! as, ensured by db-init (as the master user): created if missing, its
//! password (re)set, SELECT on every table, now and future.
//!
//! The password never reaches PostgreSQL: it is set as a SCRAM-SHA-256
//! verifier computed here (what PostgreSQL would store anyway), so a
//! statement log — RDS exports it to CloudWatch — holds no password. Name and
//! verifier travel as bind parameters into the block and are quoted there.
//! Role attributes beyond LOGIN are left at their defaults: naming them
//! (`NOSUPERUSER`…) is refused to the non-superuser master user RDS gives.

use sqlx::{Connection, Executor, PgConnection};

/// Create `user` if missing, (re)set its password, and grant it read access.
pub async fn ensure(conn: &mut PgConnection, user: &str, password: &str) -> Result<(), sqlx::Error> {
    let verifier = postgres_protocol::password::scram_sha_256(password.as_bytes());
    let mut tx = conn.begin().await?;
    sqlx::query(
        "SELECT set_config('myhealth.reader_user', $1, true), set_config('myhealth.reader_verifier', $2, true)",
    )
    .bind(user)
    .bind(&verifier)
    .execute(&mut *tx)
    .await?;
    tx.execute(
        r#"
DO $$
DECLARE
  u text := current_setting('myhealth.reader_user');
  v text := current_setting('myhealth.reader_verifier');
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = u) THEN
    EXECUTE format('ALTER ROLE %I WITH LOGIN PASSWORD %L', u, v);
  ELSE
    EXECUTE format('CREATE ROLE %I WITH LOGIN PASSWORD %L', u, v);
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
    .await?;
    tx.commit().await
}
