//! The Oura collections the collector fetches and the request windows it
//! asks them for.
//!
//! Oura compares `start_date`/`end_date` with each document's own timestamp
//! (a sleep period's bedtime start, a daily document's `timestamp`, e.g.
//! `DAYT04:00:00+offset` for activity), and a bare date means 00:00 UTC
//! (`shared/contracts/oura/NOTES.md`). So a window of days `first..=today`
//! is asked as the instants `(first − 1) 00:00Z ..= (today + 2) 00:00Z`:
//! the night of `first` began the evening before (in any UTC offset from −12
//! to +14), and today's daily documents are stamped later in the day than
//! midnight. Long windows are cut into chunks of at most 30 days — the
//! longest heart-rate range Oura serves — that touch at their ends (a
//! document on a boundary comes twice and is deduplicated by its id).

use chrono::{DateTime, Days, NaiveDate, Utc};
use myhealth_common::oura;

/// How a collection takes its range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// `start_date` / `end_date` (dates or date-times; we send dates).
    Dates,
    /// `start_datetime` / `end_datetime` (heart rate).
    DateTimes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Collection {
    /// The path segment and the key of the ingest body.
    pub name: &'static str,
    /// Its sync-state stream at the processor.
    pub stream: &'static str,
    pub range: Range,
    /// Covered by the old single `oura` stream (read once, on the first run of a new stream).
    pub legacy: bool,
}

const fn c(name: &'static str, stream: &'static str, range: Range, legacy: bool) -> Collection {
    Collection { name, stream, range, legacy }
}

/// Every collection, in the order a run asks them: the order of
/// [`oura::COLLECTIONS`] (a test holds the two together).
pub const ALL: [Collection; 12] = [
    c(oura::DAILY_SLEEP, "oura_daily_sleep", Range::Dates, true),
    c(oura::SLEEP, "oura_sleep", Range::Dates, true),
    c(oura::DAILY_ACTIVITY, "oura_daily_activity", Range::Dates, true),
    c(oura::DAILY_READINESS, "oura_daily_readiness", Range::Dates, true),
    c(oura::HEARTRATE, "oura_heartrate", Range::DateTimes, true),
    c(oura::WORKOUT, "oura_workout", Range::Dates, false),
    c(oura::SESSION, "oura_session", Range::Dates, false),
    c(oura::DAILY_SPO2, "oura_daily_spo2", Range::Dates, false),
    c(oura::DAILY_STRESS, "oura_daily_stress", Range::Dates, false),
    c(oura::DAILY_RESILIENCE, "oura_daily_resilience", Range::Dates, false),
    c(oura::DAILY_CARDIOVASCULAR_AGE, "oura_daily_cardiovascular_age", Range::Dates, false),
    c(oura::VO2_MAX, "oura_vo2_max", Range::Dates, false),
];

pub fn by_name(name: &str) -> Option<&'static Collection> {
    ALL.iter().find(|c| c.name == name)
}

/// The old single stream of the collector before per-collection state.
pub const LEGACY_STREAM: &str = "oura";

/// Days per chunk: Oura refuses heart-rate ranges over 30 days.
pub const CHUNK_DAYS: u64 = 30;

/// One request range of a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The sync state once this chunk is stored: every document of this day
    /// and before has been fetched.
    pub synced_through: NaiveDate,
}

fn midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()
}

/// The chunks that fetch every document of the days `first..=today`, oldest first.
pub fn chunks(first: NaiveDate, today: NaiveDate) -> Vec<Chunk> {
    let first = first.min(today);
    let start = first - Days::new(1);
    let end = today + Days::new(2);
    let mut out = Vec::new();
    let mut at = start;
    while at < end {
        let next = (at + Days::new(CHUNK_DAYS)).min(end);
        // A document of day d is stamped no later than d+1 12:00 UTC (a
        // workout ending at midnight local time in UTC−12): a chunk ending at
        // `next` 00:00Z holds every document of the days up to next − 2.
        let synced_through = if next == end { today } else { next - Days::new(2) };
        out.push(Chunk { start: midnight(at), end: midnight(next), synced_through });
        at = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn every_collection_once_in_the_shared_order_with_its_stream() {
        let names: Vec<&str> = ALL.iter().map(|c| c.name).collect();
        assert_eq!(names, oura::COLLECTIONS);
        for c in ALL {
            // Stream names are stored sync state: they must not follow a renamed collection silently.
            assert_eq!(c.stream, format!("oura_{}", c.name.to_lowercase()), "{c:?}");
        }
    }

    #[test]
    fn a_short_window_is_one_chunk_from_the_evening_before_to_after_today() {
        let c = chunks(d("2026-11-08"), d("2026-11-10"));
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].start.to_rfc3339(), "2026-11-07T00:00:00+00:00");
        assert_eq!(c[0].end.to_rfc3339(), "2026-11-12T00:00:00+00:00");
        assert_eq!(c[0].synced_through, d("2026-11-10"));
    }

    #[test]
    fn a_long_outage_is_cut_into_touching_chunks_of_at_most_30_days() {
        let c = chunks(d("2026-01-01"), d("2026-04-15"));
        assert!(c.len() >= 4);
        for w in c.windows(2) {
            assert_eq!(w[0].end, w[1].start, "chunks touch");
            assert!(w[0].synced_through < w[1].synced_through);
        }
        for ch in &c {
            assert!(ch.end - ch.start <= chrono::Duration::days(30), "{ch:?}");
        }
        assert_eq!(c[0].start.to_rfc3339(), "2025-12-31T00:00:00+00:00");
        assert_eq!(c.last().unwrap().end.to_rfc3339(), "2026-04-17T00:00:00+00:00");
        assert_eq!(c.last().unwrap().synced_through, d("2026-04-15"));
    }
}
