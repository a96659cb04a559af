//! The day-keyed collections: one typed row a day (`daily_sleep`,
//! `daily_activity`, `daily_readiness`, `daily_spo2`, `daily_stress`,
//! `daily_resilience`, `daily_cardiovascular_age`, `vO2_max`), their
//! documents as Oura sends them, what is checked of each and where each
//! field is stored. Every typed value is optional in Oura's documents, so
//! every column keeps what is stored when a newer document lacks it.

use chrono::{DateTime, FixedOffset, NaiveDate};
use myhealth_common::oura;
use serde::Deserialize;
use utoipa::ToSchema;

use super::check::{Check, DAY};
use super::table::{Collection, Column, Key, column};
use crate::error::AppError;

type Ts = DateTime<FixedOffset>;

#[derive(Debug, Deserialize, Default, ToSchema)]
pub struct SleepContributors {
    pub deep_sleep: Option<i16>,
    pub efficiency: Option<i16>,
    pub latency: Option<i16>,
    pub rem_sleep: Option<i16>,
    pub restfulness: Option<i16>,
    pub timing: Option<i16>,
    pub total_sleep: Option<i16>,
}

/// `daily_sleep`: the day's score and its contributors.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DailySleepDoc {
    pub id: Option<String>,
    pub day: NaiveDate,
    pub score: Option<i16>,
    #[serde(default)]
    pub contributors: Option<SleepContributors>,
}

/// `daily_activity`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ActivityDoc {
    pub id: Option<String>,
    pub day: NaiveDate,
    pub score: Option<i16>,
    pub steps: Option<i32>,
    pub active_calories: Option<i32>,
    pub total_calories: Option<i32>,
    pub high_activity_time: Option<i32>,
    pub medium_activity_time: Option<i32>,
    pub low_activity_time: Option<i32>,
}

#[derive(Debug, Deserialize, Default, ToSchema)]
pub struct ReadinessContributors {
    pub resting_heart_rate: Option<i16>,
    pub hrv_balance: Option<i16>,
}

/// `daily_readiness`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReadinessDoc {
    pub id: Option<String>,
    pub day: NaiveDate,
    pub score: Option<i16>,
    pub temperature_deviation: Option<f32>,
    #[serde(default)]
    pub contributors: Option<ReadinessContributors>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Spo2Values {
    pub average: Option<f32>,
}

/// `daily_spo2`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Spo2Doc {
    pub id: Option<String>,
    pub day: NaiveDate,
    pub spo2_percentage: Option<Spo2Values>,
    pub breathing_disturbance_index: Option<i16>,
}

/// `daily_stress`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct StressDoc {
    pub id: Option<String>,
    pub day: NaiveDate,
    pub stress_high: Option<i32>,
    pub recovery_high: Option<i32>,
    pub day_summary: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResilienceContributors {
    pub sleep_recovery: Option<f32>,
    pub daytime_recovery: Option<f32>,
    pub stress: Option<f32>,
}

/// `daily_resilience`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ResilienceDoc {
    pub id: Option<String>,
    pub day: NaiveDate,
    pub level: Option<String>,
    pub contributors: Option<ResilienceContributors>,
}

/// `daily_cardiovascular_age`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CardioAgeDoc {
    pub id: Option<String>,
    pub day: NaiveDate,
    pub vascular_age: Option<i16>,
}

/// `vO2_max`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Vo2MaxDoc {
    pub id: Option<String>,
    pub day: NaiveDate,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub timestamp: Option<Ts>,
    pub vo2_max: Option<f32>,
}

/// The accessors every day-keyed document shares.
macro_rules! day_keyed {
    ($name:expr, $table:literal) => {
        const NAME: &'static str = $name;
        const TABLE: &'static str = $table;
        const KEY: Key = Key::Day;

        fn id(&self) -> Option<&str> {
            self.id.as_deref()
        }

        fn day(&self) -> NaiveDate {
            self.day
        }
    };
}

impl Collection<'_> for DailySleepDoc {
    day_keyed!(oura::DAILY_SLEEP, "sleep_metrics");

    fn check(&self, c: &Check, i: usize) -> Result<(), AppError> {
        c.range(i, "score", self.score, 0, 100)?;
        if let Some(k) = &self.contributors {
            for (f, v) in [
                ("deep_sleep", k.deep_sleep),
                ("efficiency", k.efficiency),
                ("latency", k.latency),
                ("rem_sleep", k.rem_sleep),
                ("restfulness", k.restfulness),
                ("timing", k.timing),
                ("total_sleep", k.total_sleep),
            ] {
                c.range(i, &format!("contributors.{f}"), v, 0, 100)?;
            }
        }
        Ok(())
    }

    fn columns() -> Vec<Column<Self>> {
        fn k(x: &DailySleepDoc, f: fn(&SleepContributors) -> Option<i16>) -> Option<i16> {
            x.contributors.as_ref().and_then(f)
        }
        vec![
            column!("day", "date", Replace, |x| x.day),
            column!("oura_id", "text", Keep, |x| x.id.as_deref()),
            column!("score", "int2", Keep, |x| x.score),
            column!("contributor_deep_sleep", "int2", Keep, |x| k(x, |c| c.deep_sleep)),
            column!("contributor_efficiency", "int2", Keep, |x| k(x, |c| c.efficiency)),
            column!("contributor_latency", "int2", Keep, |x| k(x, |c| c.latency)),
            column!("contributor_rem_sleep", "int2", Keep, |x| k(x, |c| c.rem_sleep)),
            column!("contributor_restfulness", "int2", Keep, |x| k(x, |c| c.restfulness)),
            column!("contributor_timing", "int2", Keep, |x| k(x, |c| c.timing)),
            column!("contributor_total_sleep", "int2", Keep, |x| k(x, |c| c.total_sleep)),
        ]
    }
}

impl Collection<'_> for ActivityDoc {
    day_keyed!(oura::DAILY_ACTIVITY, "activity_metrics");

    fn check(&self, c: &Check, i: usize) -> Result<(), AppError> {
        c.range(i, "score", self.score, 0, 100)?;
        c.range(i, "steps", self.steps, 0, 500_000)?;
        c.range(i, "active_calories", self.active_calories, 0, 50_000)?;
        c.range(i, "total_calories", self.total_calories, 0, 50_000)?;
        for (f, v) in [
            ("high_activity_time", self.high_activity_time),
            ("medium_activity_time", self.medium_activity_time),
            ("low_activity_time", self.low_activity_time),
        ] {
            c.range(i, f, v, 0, DAY)?;
        }
        Ok(())
    }

    fn columns() -> Vec<Column<Self>> {
        vec![
            column!("day", "date", Replace, |x| x.day),
            column!("oura_id", "text", Keep, |x| x.id.as_deref()),
            column!("score", "int2", Keep, |x| x.score),
            column!("steps", "int4", Keep, |x| x.steps),
            column!("active_calories", "int4", Keep, |x| x.active_calories),
            column!("total_calories", "int4", Keep, |x| x.total_calories),
            column!("active_seconds", "int4", Keep, |x| x.active_seconds()),
        ]
    }
}

impl ActivityDoc {
    /// Time at high or medium intensity (low activity is not "active").
    fn active_seconds(&self) -> Option<i32> {
        match (self.high_activity_time, self.medium_activity_time) {
            (None, None) => None,
            (h, m) => Some(h.unwrap_or(0) + m.unwrap_or(0)),
        }
    }
}

impl Collection<'_> for ReadinessDoc {
    day_keyed!(oura::DAILY_READINESS, "readiness_metrics");

    fn check(&self, c: &Check, i: usize) -> Result<(), AppError> {
        c.range(i, "score", self.score, 0, 100)?;
        c.range(i, "temperature_deviation", self.temperature_deviation, -10.0, 10.0)?;
        let k = self.contributors.as_ref();
        c.range(i, "contributors.resting_heart_rate", k.and_then(|k| k.resting_heart_rate), 0, 100)?;
        c.range(i, "contributors.hrv_balance", k.and_then(|k| k.hrv_balance), 0, 100)
    }

    fn columns() -> Vec<Column<Self>> {
        vec![
            column!("day", "date", Replace, |x| x.day),
            column!("oura_id", "text", Keep, |x| x.id.as_deref()),
            column!("score", "int2", Keep, |x| x.score),
            column!("temperature_deviation", "float4", Keep, |x| x.temperature_deviation),
            column!("resting_heart_rate_score", "int2", Keep, |x| x
                .contributors
                .as_ref()
                .and_then(|c| c.resting_heart_rate)),
            column!("hrv_balance_score", "int2", Keep, |x| x.contributors.as_ref().and_then(|c| c.hrv_balance)),
        ]
    }
}

impl Collection<'_> for Spo2Doc {
    day_keyed!(oura::DAILY_SPO2, "spo2_metrics");

    fn check(&self, c: &Check, i: usize) -> Result<(), AppError> {
        c.range(i, "spo2_percentage.average", self.spo2_percentage.as_ref().and_then(|s| s.average), 0.0, 100.0)?;
        c.range(i, "breathing_disturbance_index", self.breathing_disturbance_index, 0, 1000)
    }

    fn columns() -> Vec<Column<Self>> {
        vec![
            column!("day", "date", Replace, |x| x.day),
            column!("oura_id", "text", Keep, |x| x.id.as_deref()),
            column!("spo2_average", "float4", Keep, |x| x.spo2_percentage.as_ref().and_then(|s| s.average)),
            column!("breathing_disturbance_index", "int2", Keep, |x| x.breathing_disturbance_index),
        ]
    }
}

impl Collection<'_> for StressDoc {
    day_keyed!(oura::DAILY_STRESS, "stress_metrics");

    fn check(&self, c: &Check, i: usize) -> Result<(), AppError> {
        c.range(i, "stress_high", self.stress_high, 0, DAY)?;
        c.range(i, "recovery_high", self.recovery_high, 0, DAY)
    }

    fn columns() -> Vec<Column<Self>> {
        vec![
            column!("day", "date", Replace, |x| x.day),
            column!("oura_id", "text", Keep, |x| x.id.as_deref()),
            column!("stress_high_seconds", "int4", Keep, |x| x.stress_high),
            column!("recovery_high_seconds", "int4", Keep, |x| x.recovery_high),
            column!("day_summary", "text", Keep, |x| x.day_summary.as_deref()),
        ]
    }
}

impl Collection<'_> for ResilienceDoc {
    day_keyed!(oura::DAILY_RESILIENCE, "resilience_metrics");

    fn check(&self, c: &Check, i: usize) -> Result<(), AppError> {
        c.text(i, "level", self.level.as_deref(), 32)?;
        let k = self.contributors.as_ref();
        c.range(i, "contributors.sleep_recovery", k.and_then(|k| k.sleep_recovery), 0.0, 100.0)?;
        c.range(i, "contributors.daytime_recovery", k.and_then(|k| k.daytime_recovery), 0.0, 100.0)?;
        c.range(i, "contributors.stress", k.and_then(|k| k.stress), 0.0, 100.0)
    }

    fn columns() -> Vec<Column<Self>> {
        fn k(x: &ResilienceDoc, f: fn(&ResilienceContributors) -> Option<f32>) -> Option<f32> {
            x.contributors.as_ref().and_then(f)
        }
        vec![
            column!("day", "date", Replace, |x| x.day),
            column!("oura_id", "text", Keep, |x| x.id.as_deref()),
            column!("level", "text", Keep, |x| x.level.as_deref()),
            column!("sleep_recovery", "float4", Keep, |x| k(x, |c| c.sleep_recovery)),
            column!("daytime_recovery", "float4", Keep, |x| k(x, |c| c.daytime_recovery)),
            column!("stress", "float4", Keep, |x| k(x, |c| c.stress)),
        ]
    }
}

impl Collection<'_> for CardioAgeDoc {
    day_keyed!(oura::DAILY_CARDIOVASCULAR_AGE, "cardiovascular_age_metrics");

    fn check(&self, c: &Check, i: usize) -> Result<(), AppError> {
        c.range(i, "vascular_age", self.vascular_age, 0, 150)
    }

    fn columns() -> Vec<Column<Self>> {
        vec![
            column!("day", "date", Replace, |x| x.day),
            column!("oura_id", "text", Keep, |x| x.id.as_deref()),
            column!("vascular_age", "int2", Keep, |x| x.vascular_age),
        ]
    }
}

impl<'a> Collection<'a> for Vo2MaxDoc {
    day_keyed!(oura::VO2_MAX, "vo2_max_metrics");
    // Measured several times a day: every document is kept raw, the
    // typed row is the day's latest measurement.
    const ONE_A_DAY: bool = false;

    fn check(&self, c: &Check, i: usize) -> Result<(), AppError> {
        c.range(i, "vo2_max", self.vo2_max, 0.0, 150.0)
    }

    fn columns() -> Vec<Column<Self>> {
        vec![
            column!("day", "date", Replace, |x| x.day),
            column!("oura_id", "text", Keep, |x| x.id.as_deref()),
            column!("measured_at", "timestamptz", Keep, |x| x.timestamp.map(|t| t.to_utc())),
            column!("vo2_max", "float4", Keep, |x| x.vo2_max),
        ]
    }

    fn rows<'d>(docs: &'d [(Self, &'a str)]) -> Vec<&'d Self> {
        let mut rows: Vec<&Self> = docs.iter().map(|(x, _)| x).collect();
        rows.sort_by(|a, b| (a.day, b.timestamp).cmp(&(b.day, a.timestamp)));
        rows.dedup_by(|a, b| a.day == b.day);
        rows
    }
}
