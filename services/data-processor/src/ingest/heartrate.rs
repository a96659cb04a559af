//! `heartrate`: the volume stream, samples without an id stored whole as
//! typed rows (no raw documents), by binary `COPY` where their time range
//! is new and by an upsert where it overlaps what is stored.

use std::borrow::Cow;

use chrono::{DateTime, FixedOffset, Utc};
use myhealth_common::oura;
use serde::Deserialize;
use utoipa::ToSchema;

use super::check::Check;
use super::table::{Documents, Raw, Stored};
use crate::error::AppError;

/// One `heartrate` sample (stored whole as a typed row: it has no id).
#[derive(Debug, Deserialize, ToSchema)]
pub struct HeartRateSample<'a> {
    pub bpm: i16,
    // Borrowed from the body: 5,000 samples a request, one allocation saved each.
    #[serde(borrow)]
    #[schema(value_type = String)]
    pub source: Cow<'a, str>,
    #[serde(deserialize_with = "rfc3339")]
    pub timestamp: DateTime<Utc>,
}

/// A sample's time: chrono's strict RFC 3339 parser first (Oura's format,
/// and a third of the cost of the lenient one serde's default uses), the
/// lenient one (a space for `T`, …) should it refuse; cut to the
/// microsecond PostgreSQL keeps, so samples are deduplicated as stored and
/// `COPY` and the upsert agree on a time before 2000.
fn rfc3339<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    struct Rfc3339;
    impl serde::de::Visitor<'_> for Rfc3339 {
        type Value = DateTime<Utc>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an RFC 3339 date and time")
        }

        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<DateTime<Utc>, E> {
            use chrono::SubsecRound;
            DateTime::parse_from_rfc3339(s)
                .or_else(|_| s.parse::<DateTime<FixedOffset>>())
                .map(|t| t.with_timezone(&Utc).trunc_subsecs(6))
                .map_err(E::custom)
        }
    }
    d.deserialize_str(Rfc3339)
}

/// Samples are validated, counted and stored as a collection, but have no
/// typed table of their own kind: nothing is kept raw.
impl Documents for Vec<HeartRateSample<'_>> {
    fn name(&self) -> &'static str {
        oura::HEARTRATE
    }

    fn count(&self) -> usize {
        self.len()
    }

    fn validate(&self) -> Result<(), AppError> {
        let c = Check { collection: oura::HEARTRATE };
        for (i, h) in self.iter().enumerate() {
            c.range(i, "bpm", Some(h.bpm), 20, 250)?;
            c.text(i, "source", Some(&h.source), 32)?;
        }
        Ok(())
    }

    fn raw(&self) -> Vec<Raw<'_>> {
        Vec::new()
    }

    fn store<'c>(&'c self, c: &'c mut sqlx::PgConnection, fast: bool) -> Stored<'c> {
        Box::pin(async move { if self.is_empty() { Ok(()) } else { store_heart_rate(c, self, fast).await } })
    }
}

/// A sample sent twice in one batch is one sample (and one row may only be
/// upserted once per statement).
pub(super) fn dedup(h: &mut Vec<HeartRateSample<'_>>) {
    h.sort_by(|a, b| (a.timestamp, &a.source).cmp(&(b.timestamp, &b.source)));
    h.dedup_by(|a, b| a.timestamp == b.timestamp && a.source == b.source);
}

/// Heart-rate samples, sorted and deduplicated by the caller.
async fn store_heart_rate(c: &mut sqlx::PgConnection, h: &[HeartRateSample<'_>], fast: bool) -> Result<(), AppError> {
    // Samples are the volume stream. A batch covering time nothing is
    // stored for yet (a backfill, a first load) takes a plain insert;
    // ON CONFLICT's per-row speculative insertion costs as much again
    // (docs/performance.md). Otherwise — the overlap re-fetched every
    // run — upsert: a sample re-sent with the same time and source is
    // the same sample. Should two writers race on a new range (the
    // CronJob forbids concurrent runs), the loser fails on the primary
    // key, rolls back whole, and is stored again with upserts.
    let (first, last) = (h[0].timestamp, h[h.len() - 1].timestamp);
    let stored: bool = !fast
        || sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM heart_rate_samples WHERE ts BETWEEN $1 AND $2)")
            .bind(first)
            .bind(last)
            .fetch_one(&mut *c)
            .await?;
    if !stored {
        return copy_heart_rate(c, h).await;
    }
    let ts: Vec<DateTime<Utc>> = h.iter().map(|x| x.timestamp).collect();
    let source: Vec<&str> = h.iter().map(|x| x.source.as_ref()).collect();
    let bpm: Vec<i16> = h.iter().map(|x| x.bpm).collect();
    sqlx::query(
        "INSERT INTO heart_rate_samples (ts, source, bpm) SELECT * FROM UNNEST($1::timestamptz[], $2::text[], $3::int2[])
         ON CONFLICT (ts, source) DO UPDATE SET bpm = EXCLUDED.bpm WHERE heart_rate_samples.bpm IS DISTINCT FROM EXCLUDED.bpm",
    )
    .bind(&ts)
    .bind(&source)
    .bind(&bpm)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Samples of a fresh time range by `COPY … (FORMAT binary)`: PostgreSQL
/// stores them with its multi-row insert, where `INSERT … SELECT FROM
/// UNNEST` inserts row by row (docs/performance.md).
async fn copy_heart_rate(c: &mut sqlx::PgConnection, h: &[HeartRateSample<'_>]) -> Result<(), AppError> {
    let mut copy = c.copy_in_raw("COPY heart_rate_samples (ts, source, bpm) FROM STDIN (FORMAT binary)").await?;
    match copy.send(binary_copy(h)).await {
        Ok(_) => {
            copy.finish().await?;
            Ok(())
        }
        Err(e) => {
            copy.abort("the batch could not be sent").await.ok();
            Err(e.into())
        }
    }
}

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// The samples in PostgreSQL's binary `COPY` format (documented with the
/// `COPY` command): a signature, flags and header extension, then per row
/// its field count and each field's length and binary value, then -1.
fn binary_copy(h: &[HeartRateSample<'_>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(21 + h.len() * 40);
    out.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
    out.extend_from_slice(&0i32.to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes());
    for x in h {
        out.extend_from_slice(&3i16.to_be_bytes());
        // timestamptz: int8 microseconds since 2000-01-01 UTC.
        out.extend_from_slice(&8i32.to_be_bytes());
        out.extend_from_slice(&(x.timestamp.timestamp_micros() - PG_EPOCH_MICROS).to_be_bytes());
        // text: its UTF-8 bytes (validated: at most 32 characters).
        out.extend_from_slice(&(x.source.len() as i32).to_be_bytes());
        out.extend_from_slice(x.source.as_bytes());
        out.extend_from_slice(&2i32.to_be_bytes());
        out.extend_from_slice(&x.bpm.to_be_bytes());
    }
    out.extend_from_slice(&(-1i16).to_be_bytes());
    out
}
