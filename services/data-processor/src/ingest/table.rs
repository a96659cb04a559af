//! One typed table per collection, described once: its name, its key, its
//! columns with how each is bound and merged. From that description one
//! routine builds and runs the set-based upsert of any collection, and the
//! batch is walked as a list of collections ([`Documents`]), so storing,
//! validating and counting are each one loop.

use std::future::Future;
use std::pin::Pin;

use chrono::NaiveDate;
use serde::Deserialize;
use sqlx::postgres::PgArguments;

use super::check::Check;
use crate::error::AppError;

/// How a column's stored value meets a newer document's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Merge {
    /// A field every document has: the newer value replaces the stored one.
    Replace,
    /// An optional field: a document that lacks it never erases what is stored.
    Keep,
}

/// The key of a typed table: one row a day, or one per Oura document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Key {
    Day,
    OuraId,
}

impl Key {
    fn column(self) -> &'static str {
        match self {
            Key::Day => "day",
            Key::OuraId => "oura_id",
        }
    }
}

type BindResult = Result<(), sqlx::error::BoxDynError>;

/// One column of a typed table and how the batch's documents fill it.
pub(super) struct Column<D> {
    pub name: &'static str,
    /// The PostgreSQL type of the array bound for it (`int2`, `text`, …).
    pub ty: &'static str,
    /// The column's own type when the array's differs (JSON series travel as text, are stored as jsonb).
    pub cast: Option<&'static str>,
    pub merge: Merge,
    /// Binds the column's values of the rows, as one array.
    pub bind: fn(&[&D], &mut PgArguments) -> BindResult,
}

/// `column!(name, type, Keep|Replace, |doc| value)`, optionally `type as cast`.
macro_rules! column {
    ($name:literal, $ty:literal, $merge:ident, |$x:ident| $value:expr) => {
        column!(@ $name, $ty, None, $merge, |$x| $value)
    };
    ($name:literal, $ty:literal as $cast:literal, $merge:ident, |$x:ident| $value:expr) => {
        column!(@ $name, $ty, Some($cast), $merge, |$x| $value)
    };
    (@ $name:literal, $ty:literal, $cast:expr, $merge:ident, |$x:ident| $value:expr) => {
        $crate::ingest::table::Column {
            name: $name,
            ty: $ty,
            cast: $cast,
            merge: $crate::ingest::table::Merge::$merge,
            bind: |rows, args| {
                use sqlx::Arguments;
                args.add(rows.iter().map(|$x| $value).collect::<Vec<_>>())
            },
        }
    };
}
pub(super) use column;

/// A collection of documents that has a typed table.
pub(super) trait Collection<'a>: Deserialize<'a> + Sync + 'a {
    /// Its API name (one of `myhealth_common::oura::COLLECTIONS`).
    const NAME: &'static str;
    const TABLE: &'static str;
    const KEY: Key;
    /// Whether a batch may say one thing only about a day (day-keyed tables
    /// whose documents are the day's; VO2max measures several times a day).
    const ONE_A_DAY: bool = matches!(Self::KEY, Key::Day);
    /// A statement run after the upsert with the stored rows' days as `$1`
    /// (a table derived from this one).
    const THEN: Option<&'static str> = None;

    fn id(&self) -> Option<&str>;
    fn day(&self) -> NaiveDate;
    /// The table's columns, the key among them.
    fn columns() -> Vec<Column<Self>>;
    /// What is checked of a document beyond its day and id.
    fn check(&self, c: &Check, i: usize) -> Result<(), AppError>;

    /// The documents stored as rows: one per key (a statement may upsert a
    /// row only once). Ids are unique per batch (validated); a day-keyed
    /// collection with several documents a day overrides this.
    fn rows<'d>(docs: &'d [(Self, &'a str)]) -> Vec<&'d Self> {
        let mut rows: Vec<&Self> = docs.iter().map(|(x, _)| x).collect();
        if Self::KEY == Key::OuraId {
            rows.sort_by(|a, b| a.id().cmp(&b.id()));
            rows.dedup_by(|a, b| a.id() == b.id());
        }
        rows
    }
}

/// The upsert of a collection's rows, or its plain insert when the table is
/// fresh for the batch: every column from an array (UNNEST), and on a
/// conflict each column replaced or kept as its [`Merge`] says.
pub(super) fn statement<D>(table: &str, key: Key, columns: &[Column<D>], fresh: bool) -> String {
    let names = columns.iter().map(|c| c.name).collect::<Vec<_>>().join(", ");
    let select = columns
        .iter()
        .map(|c| match c.cast {
            Some(cast) => format!("t.{}::{cast}", c.name),
            None => format!("t.{}", c.name),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let arrays = columns.iter().enumerate().map(|(i, c)| format!("${}::{}[]", i + 1, c.ty)).collect::<Vec<_>>();
    let mut sql =
        format!("INSERT INTO {table} AS m ({names}) SELECT {select} FROM UNNEST({}) AS t({names})", arrays.join(", "));
    if !fresh {
        let key = key.column();
        sql.push_str(&format!(" ON CONFLICT ({key}) DO UPDATE SET "));
        for c in columns.iter().filter(|c| c.name != key) {
            match c.merge {
                Merge::Replace => sql.push_str(&format!("{n} = EXCLUDED.{n}, ", n = c.name)),
                Merge::Keep => sql.push_str(&format!("{n} = COALESCE(EXCLUDED.{n}, m.{n}), ", n = c.name)),
            }
        }
        sql.push_str("updated_at = now()");
    }
    sql
}

/// The arguments of [`statement`]: one array per column.
pub(super) fn arguments<D>(columns: &[Column<D>], rows: &[&D]) -> Result<PgArguments, AppError> {
    let mut args = PgArguments::default();
    for c in columns {
        (c.bind)(rows, &mut args).map_err(|e| AppError::Internal(anyhow::anyhow!("binding {}: {e}", c.name)))?;
    }
    Ok(args)
}

/// A raw document: collection, key, day, JSON text as sent.
pub(super) type Raw<'d> = (&'static str, String, NaiveDate, &'d str);

pub(super) type Stored<'c> = Pin<Box<dyn Future<Output = Result<(), AppError>> + Send + 'c>>;

/// One collection of a batch, whatever its document type.
pub(super) trait Documents: Sync {
    fn name(&self) -> &'static str;
    fn count(&self) -> usize;
    fn validate(&self) -> Result<(), AppError>;
    /// The documents kept raw (all but samples).
    fn raw(&self) -> Vec<Raw<'_>>;
    /// Its typed rows stored, in the batch's transaction.
    fn store<'c>(&'c self, c: &'c mut sqlx::PgConnection, fast: bool) -> Stored<'c>;
}

impl<'a, T: Collection<'a>> Documents for Vec<(T, &'a str)> {
    fn name(&self) -> &'static str {
        T::NAME
    }

    fn count(&self) -> usize {
        self.len()
    }

    fn validate(&self) -> Result<(), AppError> {
        let c = Check { collection: T::NAME };
        c.unique_ids(self.iter().map(|(d, _)| d.id()))?;
        for (i, (d, _)) in self.iter().enumerate() {
            c.day(i, d.day())?;
            c.text(i, "id", d.id(), 128)?;
            d.check(&c, i)?;
        }
        if T::ONE_A_DAY {
            c.one_per_day(self.iter().map(|(d, _)| d.day()))?;
        }
        Ok(())
    }

    fn raw(&self) -> Vec<Raw<'_>> {
        // Documents without an id (older `daily_cardiovascular_age`
        // answers) are keyed by their day.
        self.iter()
            .map(|(d, text)| {
                let key = d.id().map_or_else(|| format!("day:{}", d.day()), str::to_string);
                (T::NAME, key, d.day(), *text)
            })
            .collect()
    }

    fn store<'c>(&'c self, c: &'c mut sqlx::PgConnection, fast: bool) -> Stored<'c> {
        Box::pin(upsert(c, self, fast))
    }
}

/// Documents of a table in one batch below which its statement simply upserts.
pub(super) const FRESH_CHECK_MIN: usize = 64;

async fn upsert<'a, T: Collection<'a>>(
    c: &mut sqlx::PgConnection,
    docs: &[(T, &'a str)],
    fast: bool,
) -> Result<(), AppError> {
    if docs.is_empty() {
        return Ok(());
    }
    let fresh = fast && fresh_days(c, T::TABLE, &docs.iter().map(|(d, _)| d.day()).collect::<Vec<_>>()).await?;
    let rows = T::rows(docs);
    let columns = T::columns();
    let sql = statement(T::TABLE, T::KEY, &columns, fresh);
    let args = arguments(&columns, &rows)?;
    sqlx::query_with(&sql, args).execute(&mut *c).await?;
    if let Some(then) = T::THEN {
        let mut days: Vec<NaiveDate> = rows.iter().map(|x| x.day()).collect();
        days.sort();
        days.dedup();
        sqlx::query(then).bind(&days).execute(&mut *c).await?;
    }
    Ok(())
}

/// Whether `table` holds no row of the days `days` (a document keeps its day,
/// so a table without the batch's days holds none of its keys; should one
/// have moved, the insert fails on the key and the batch is stored again
/// with upserts). ON CONFLICT's speculative insertion costs as much again
/// as the insert (docs/performance.md); a first load and a backfill skip it.
async fn fresh_days(c: &mut sqlx::PgConnection, table: &str, days: &[NaiveDate]) -> Result<bool, AppError> {
    // A few documents (a run's usual overlap) are not worth the extra round trip.
    if days.len() < FRESH_CHECK_MIN {
        return Ok(false);
    }
    let (Some(lo), Some(hi)) = (days.iter().min(), days.iter().max()) else { return Ok(false) };
    let sql = format!("SELECT NOT EXISTS (SELECT 1 FROM {table} WHERE day BETWEEN $1 AND $2)");
    Ok(sqlx::query_scalar(&sql).bind(lo).bind(hi).fetch_one(&mut *c).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::periods::WorkoutDoc;

    #[test]
    fn the_statement_keeps_what_a_document_lacks_and_replaces_what_it_always_has() {
        let columns = WorkoutDoc::columns();
        let sql = statement(WorkoutDoc::TABLE, WorkoutDoc::KEY, &columns, false);
        assert!(sql.starts_with("INSERT INTO workouts AS m (oura_id, day, activity, "), "{sql}");
        assert!(sql.contains("FROM UNNEST($1::text[], $2::date[], $3::text[], "), "{sql}");
        assert!(sql.contains("ON CONFLICT (oura_id) DO UPDATE SET day = EXCLUDED.day, activity = EXCLUDED.activity, "));
        assert!(sql.contains("intensity = COALESCE(EXCLUDED.intensity, m.intensity)"), "{sql}");
        assert!(!sql.contains("oura_id = "), "the key is not updated: {sql}");
        assert!(sql.ends_with("updated_at = now()"), "{sql}");
        // A fresh table takes the plain insert.
        let fresh = statement(WorkoutDoc::TABLE, WorkoutDoc::KEY, &columns, true);
        assert!(!fresh.contains("ON CONFLICT") && sql.starts_with(&fresh), "{fresh}");
    }
}
