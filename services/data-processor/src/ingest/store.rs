//! Storing a validated batch: one transaction, the raw documents of every
//! collection in one statement, then each collection's typed rows through
//! the one generic routine of [`super::table`]. A batch is stored
//! completely or not at all; sending it twice changes nothing.

use chrono::NaiveDate;

use super::body::Parsed;
use super::table::{FRESH_CHECK_MIN, Raw};
use crate::error::AppError;

pub(super) type Tx = sqlx::Transaction<'static, sqlx::Postgres>;

/// A transaction for one batch. Readers that cache (the api-service) drop
/// their answers when it commits: the notification is queued with BEGIN,
/// in its round trip, and PostgreSQL delivers it only on commit (never
/// after a rollback).
pub(super) async fn begin(pool: sqlx::PgPool) -> Result<Tx, sqlx::Error> {
    static BEGIN: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| format!("BEGIN; SELECT pg_notify('{}', '')", myhealth_common::db::INGEST_CHANNEL));
    pool.begin_with(BEGIN.as_str()).await
}

/// Store the batch: first with plain inserts where tables are fresh, again
/// with upserts only should a key exist after all.
pub(super) async fn store(
    pool: &sqlx::PgPool,
    begun: tokio::task::JoinHandle<Result<Tx, sqlx::Error>>,
    p: &Parsed<'_>,
) -> Result<(), AppError> {
    let tx = begun.await.map_err(|e| AppError::Internal(e.into()))??;
    match store_once(tx, p, true).await {
        Err(AppError::Conflict) => store_once(begin(pool.clone()).await?, p, false).await,
        other => other,
    }
}

/// One transaction, one statement per table.
async fn store_once(mut tx: Tx, p: &Parsed<'_>, fast: bool) -> Result<(), AppError> {
    let c = &mut *tx;
    store_raw(c, p, fast).await?;
    for documents in p.collections() {
        documents.store(c, fast).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Raw documents first, every collection in one statement.
async fn store_raw(c: &mut sqlx::PgConnection, p: &Parsed<'_>, fast: bool) -> Result<(), AppError> {
    let mut raws: Vec<Raw> = p.collections().iter().flat_map(|d| d.raw()).collect();
    // Ids are unique per collection (validated); documents without one are
    // keyed by their day, and only vO2_max may have two of a day: one is kept.
    raws.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    raws.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    if raws.is_empty() {
        return Ok(());
    }
    let mut fresh = false;
    if fast && raws.len() >= FRESH_CHECK_MIN {
        let mut kinds: Vec<&str> = raws.iter().map(|r| r.0).collect();
        kinds.dedup();
        let lo = raws.iter().map(|r| r.2).min();
        let hi = raws.iter().map(|r| r.2).max();
        fresh = sqlx::query_scalar(
            "SELECT NOT EXISTS (SELECT 1 FROM raw_documents WHERE kind = ANY($1) AND day BETWEEN $2 AND $3)",
        )
        .bind(&kinds)
        .bind(lo)
        .bind(hi)
        .fetch_one(&mut *c)
        .await?;
    }
    let mut sql = String::from(
        "INSERT INTO raw_documents (kind, oura_id, day, payload)
         SELECT k, id, d, p::jsonb FROM UNNEST($1::text[], $2::text[], $3::date[], $4::text[]) AS t(k, id, d, p)",
    );
    if !fresh {
        // A document re-sent unchanged is not written again.
        sql.push_str(
            " ON CONFLICT (kind, oura_id) DO UPDATE SET day = EXCLUDED.day, payload = EXCLUDED.payload, received_at = now()
             WHERE raw_documents.payload IS DISTINCT FROM EXCLUDED.payload",
        );
    }
    sqlx::query(&sql)
        .bind(raws.iter().map(|r| r.0).collect::<Vec<_>>())
        .bind(raws.iter().map(|r| r.1.as_str()).collect::<Vec<_>>())
        .bind(raws.iter().map(|r| r.2).collect::<Vec<NaiveDate>>())
        .bind(raws.iter().map(|r| r.3).collect::<Vec<_>>())
        .execute(&mut *c)
        .await?;
    Ok(())
}
