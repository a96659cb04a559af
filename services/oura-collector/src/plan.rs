//! What one run asks of a collection, and which sync states each stored
//! chunk moves.
//!
//! A collection's state (`oura_<collection>`) is the last day through which
//! everything from its first day on is stored; the processor only ever moves
//! it forward. A run asks the days from `state − OVERLAP_DAYS` to today. Two
//! kinds of days lie outside that and are remembered until fetched:
//!
//! - a collection's first days: with no state yet (and none in the old `oura`
//!   stream), its state is set to the day before its first day *before*
//!   anything is fetched, so a run that fails or is killed before storing
//!   anything leaves the next run starting from that same day, not from a
//!   `FIRST_RUN_DAYS` that has moved on;
//! - a `--backfill` reaching before `state − OVERLAP_DAYS`: those days get a
//!   stream of their own, `oura_<collection>_range_<from>_<through>`
//!   (`YYYYMMDD`), written before anything is fetched with the day before
//!   `from` and moved forward like the main state. Every run asks a range
//!   whose state is short of its `through` from the day after its state, so a
//!   backfill that failed part-way — a scope, Oura failing, the rate limit, a
//!   crash, a killed pod — is finished by the next runs, however old it is.
//!
//! Touching or overlapping ranges are merged into one group and cut into the
//! usual chunks of at most 30 days (collections.rs), so nothing is asked
//! twice beyond the chunks' margins. A stored chunk of a group advances every
//! state of that group to its `synced_through` (capped at the range's
//! `through`): everything of the group before it is stored too, since a
//! collection's chunks are fetched in order and it stops at its first failure.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};

use crate::collections::{self, Chunk, Collection};

/// One request range of a run and the group whose states it advances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub chunk: Chunk,
    pub group: usize,
}

/// A state a stored chunk of a group moves to its `synced_through`, at most to `through`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advance {
    pub stream: String,
    pub through: Option<NaiveDate>,
}

impl Advance {
    /// The state after a chunk of its group that holds everything through `day` is stored.
    pub fn to(&self, day: NaiveDate) -> NaiveDate {
        self.through.map_or(day, |t| t.min(day))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Oldest first.
    pub steps: Vec<Step>,
    /// Per group: the states its stored chunks advance.
    pub groups: Vec<Vec<Advance>>,
    /// States to write before anything is fetched (where a new collection, or a backfill, begins).
    pub write_ahead: Vec<(String, NaiveDate)>,
}

/// What decides a run's plan besides the states.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub today: NaiveDate,
    pub overlap_days: u64,
    pub first_run_days: u64,
    pub backfill: Option<u64>,
}

/// The stream that remembers a backfill's days `from..=through` of a collection.
pub fn range_stream(c: &Collection, from: NaiveDate, through: NaiveDate) -> String {
    format!("{}_range_{}_{}", c.stream, from.format("%Y%m%d"), through.format("%Y%m%d"))
}

/// The days of a range stream of this collection (None: another stream).
pub fn parse_range(c: &Collection, stream: &str) -> Option<(NaiveDate, NaiveDate)> {
    let rest = stream.strip_prefix(c.stream)?.strip_prefix("_range_")?;
    let (from, through) = rest.split_once('_')?;
    let day = |s: &str| (s.len() == 8).then(|| NaiveDate::parse_from_str(s, "%Y%m%d").ok()).flatten();
    Some((day(from)?, day(through)?))
}

struct Range {
    from: NaiveDate,
    through: NaiveDate,
    advance: Advance,
}

/// The run's plan for one collection, from every stream's state.
pub fn plan(c: &Collection, states: &BTreeMap<String, NaiveDate>, w: Window) -> Plan {
    let mut write_ahead = Vec::new();
    let state = states.get(c.stream).or(if c.legacy { states.get(collections::LEGACY_STREAM) } else { None }).copied();
    let first = match state {
        Some(last) => last - Days::new(w.overlap_days),
        None => {
            let first = w.today - Days::new(w.backfill.unwrap_or(w.first_run_days));
            write_ahead.push((c.stream.to_string(), first - Days::new(1)));
            first
        }
    };
    let mut ranges =
        vec![Range { from: first, through: w.today, advance: Advance { stream: c.stream.into(), through: None } }];
    // A backfill reaching further back than the overlap: remembered until fetched.
    let mut new_range = None;
    if let Some(days) = w.backfill {
        let from = w.today - Days::new(days);
        if from < first {
            let through = first - Days::new(1);
            let stream = range_stream(c, from, through);
            write_ahead.push((stream.clone(), from - Days::new(1)));
            new_range = Some(stream.clone());
            ranges.push(Range { from, through, advance: Advance { stream, through: Some(through) } });
        }
    }
    // Ranges earlier runs did not finish, from the day after their state.
    for (stream, done) in states {
        if new_range.as_ref() == Some(stream) {
            continue;
        }
        if let Some((from, through)) = parse_range(c, stream)
            && *done < through
        {
            let from = from.max(*done + Days::new(1));
            ranges.push(Range { from, through, advance: Advance { stream: stream.clone(), through: Some(through) } });
        }
    }
    ranges.sort_by_key(|r| r.from);

    // Touching or overlapping ranges are one group.
    let mut merged: Vec<(NaiveDate, NaiveDate, Vec<Advance>)> = Vec::new();
    for r in ranges {
        match merged.last_mut() {
            Some((_, through, advances)) if r.from <= *through + Days::new(1) => {
                *through = (*through).max(r.through);
                advances.push(r.advance);
            }
            _ => merged.push((r.from, r.through, vec![r.advance])),
        }
    }
    let mut steps = Vec::new();
    let mut groups = Vec::new();
    for (group, (from, through, advances)) in merged.into_iter().enumerate() {
        steps.extend(collections::chunks(from, through).into_iter().map(|chunk| Step { chunk, group }));
        groups.push(advances);
    }
    Plan { steps, groups, write_ahead }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn sleep() -> &'static Collection {
        collections::by_name("sleep").unwrap()
    }

    fn window(backfill: Option<u64>) -> Window {
        Window { today: d("2026-11-10"), overlap_days: 2, first_run_days: 7, backfill }
    }

    fn states(s: &[(&str, &str)]) -> BTreeMap<String, NaiveDate> {
        s.iter().map(|(k, v)| (k.to_string(), d(v))).collect()
    }

    #[test]
    fn a_new_collection_writes_its_first_day_ahead() {
        let p = plan(sleep(), &states(&[]), window(None));
        assert_eq!(p.write_ahead, vec![("oura_sleep".to_string(), d("2026-11-02"))]);
        assert_eq!(p.steps.len(), 1);
        assert_eq!(p.steps[0].chunk, collections::chunks(d("2026-11-03"), d("2026-11-10"))[0]);
        // The old stream stands in for the state: nothing to write ahead.
        let p = plan(sleep(), &states(&[("oura", "2026-11-09")]), window(None));
        assert!(p.write_ahead.is_empty());
        assert_eq!(p.steps[0].chunk.start.date_naive(), d("2026-11-06"));
    }

    #[test]
    fn a_backfill_before_the_state_gets_its_own_remembered_range() {
        let s = states(&[("oura_sleep", "2026-11-09")]);
        let p = plan(sleep(), &s, window(Some(40)));
        let range = "oura_sleep_range_20261001_20261106".to_string();
        assert_eq!(p.write_ahead, vec![(range.clone(), d("2026-09-30"))]);
        // One group (the range touches the overlap): the same chunks as one window.
        assert_eq!(
            p.steps.iter().map(|s| s.chunk).collect::<Vec<_>>(),
            collections::chunks(d("2026-10-01"), d("2026-11-10"))
        );
        assert_eq!(p.groups.len(), 1);
        assert_eq!(p.groups[0][0], Advance { stream: range.clone(), through: Some(d("2026-11-06")) });
        assert_eq!(p.groups[0][0].to(d("2026-11-10")), d("2026-11-06"));
        assert_eq!(p.groups[0][1].stream, "oura_sleep");
        assert_eq!(p.groups[0][1].to(d("2026-10-29")), d("2026-10-29"));
        assert_eq!(parse_range(sleep(), &range), Some((d("2026-10-01"), d("2026-11-06"))));
        assert_eq!(parse_range(collections::by_name("daily_sleep").unwrap(), &range), None);
        // A backfill within the overlap changes nothing; a short one never skips days the state lacks.
        assert_eq!(plan(sleep(), &s, window(Some(2))), plan(sleep(), &s, window(None)));
        let old = states(&[("oura_sleep", "2026-10-20")]);
        assert_eq!(plan(sleep(), &old, window(Some(1))), plan(sleep(), &old, window(None)));
    }

    #[test]
    fn an_unfinished_range_is_asked_from_the_day_after_its_state_until_done() {
        let s = states(&[
            ("oura_sleep", "2026-11-09"),
            ("oura_sleep_range_20260801_20260830", "2026-08-15"),
            ("oura_sleep_range_20260901_20260910", "2026-09-10"),
            ("oura_daily_sleep_range_20260701_20260710", "2026-06-30"),
        ]);
        let p = plan(sleep(), &s, window(None));
        assert!(p.write_ahead.is_empty());
        assert_eq!(p.groups.len(), 2, "{p:#?}");
        assert_eq!(p.steps[0].chunk, collections::chunks(d("2026-08-16"), d("2026-08-30"))[0]);
        assert_eq!(p.steps[0].group, 0);
        assert_eq!(p.steps.last().unwrap().chunk.synced_through, d("2026-11-10"));
        assert_eq!(
            p.groups[0],
            vec![Advance { stream: "oura_sleep_range_20260801_20260830".into(), through: Some(d("2026-08-30")) }]
        );
        assert_eq!(p.groups[1][0].stream, "oura_sleep");
    }
}
