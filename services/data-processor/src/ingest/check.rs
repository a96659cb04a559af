//! The checks a document must pass before anything is stored: plausible
//! days, values within their ranges, bounded texts, one document per id
//! and (in day-keyed tables) per day. Every error names the collection and
//! the document's index, so the collector can resend the rest.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

use crate::error::AppError;

type Ts = DateTime<FixedOffset>;

/// Seconds in a day: the bound of most durations.
pub(super) const DAY: i32 = 86_400;

/// Checks of one collection's documents; errors name the collection.
pub(super) struct Check<'c> {
    pub collection: &'c str,
}

impl Check<'_> {
    fn err(&self, message: String) -> AppError {
        AppError::InvalidDocument { collection: self.collection.to_string(), message }
    }

    pub(super) fn range<T: PartialOrd + std::fmt::Display + Copy>(
        &self,
        i: usize,
        field: &str,
        v: Option<T>,
        lo: T,
        hi: T,
    ) -> Result<(), AppError> {
        match v {
            Some(x) if x < lo || x > hi => {
                Err(self.err(format!("{}[{i}].{field}: {x} is outside {lo}..={hi}", self.collection)))
            }
            _ => Ok(()),
        }
    }

    pub(super) fn day(&self, i: usize, day: NaiveDate) -> Result<(), AppError> {
        let today = Utc::now().date_naive();
        let earliest = NaiveDate::from_ymd_opt(2015, 1, 1).expect("valid date");
        // Users east of UTC live up to 14 hours ahead: their today can be our tomorrow.
        if day < earliest || day > today + chrono::Days::new(1) {
            return Err(self.err(format!("{}[{i}].day: {day} is not a plausible Oura day", self.collection)));
        }
        Ok(())
    }

    pub(super) fn text(&self, i: usize, field: &str, v: Option<&str>, max: usize) -> Result<(), AppError> {
        match v {
            Some(s) if s.is_empty() || s.len() > max => {
                Err(self.err(format!("{}[{i}].{field}: must be 1-{max} characters", self.collection)))
            }
            _ => Ok(()),
        }
    }

    pub(super) fn order(&self, i: usize, start: &Ts, end: &Ts) -> Result<(), AppError> {
        if end < start {
            return Err(self.err(format!("{}[{i}]: ends before it starts", self.collection)));
        }
        Ok(())
    }

    /// One document per id: two with the same id say two things about one
    /// document (the collector sends each once), so the batch is ambiguous.
    pub(super) fn unique_ids<'i>(&self, ids: impl Iterator<Item = Option<&'i str>>) -> Result<(), AppError> {
        let mut seen = std::collections::HashMap::new();
        for (i, id) in ids.enumerate() {
            let Some(id) = id else { continue };
            if let Some(first) = seen.insert(id, i) {
                return Err(self.err(format!(
                    "{c}: id `{}` appears twice in the batch ({c}[{first}] and {c}[{i}])",
                    id.escape_debug(),
                    c = self.collection
                )));
            }
        }
        Ok(())
    }

    /// One row per day in day-keyed tables: a batch that says two things about one day is ambiguous.
    pub(super) fn one_per_day(&self, days: impl Iterator<Item = NaiveDate>) -> Result<(), AppError> {
        let mut seen = std::collections::BTreeSet::new();
        for d in days {
            if !seen.insert(d) {
                return Err(self.err(format!("{}: day {d} appears twice in the batch", self.collection)));
            }
        }
        Ok(())
    }
}
