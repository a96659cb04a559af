//! The collections of periods, keyed by their Oura id (`sleep`, `workout`,
//! `session`): a day may hold several. A sleep period also feeds the day's
//! night in `sleep_metrics`; the 5-minute series are stored as sent (JSONB).
//! A period's day and times are always sent, so they are replaced; its
//! optional values keep what is stored when a newer document lacks them.

use chrono::{DateTime, FixedOffset, NaiveDate};
use myhealth_common::oura;
use serde::Deserialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

use super::check::{Check, DAY};
use super::table::{Collection, Column, Key, column};
use crate::error::AppError;

type Ts = DateTime<FixedOffset>;

#[derive(Debug, Deserialize, ToSchema)]
pub struct EmbeddedReadiness {
    pub score: Option<i16>,
}

/// `sleep`: one sleep period (long sleep, nap, rest, …) with its series.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SleepPeriodDoc<'a> {
    pub id: String,
    pub day: NaiveDate,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub period: Option<i16>,
    #[schema(value_type = String, format = DateTime)]
    pub bedtime_start: Ts,
    #[schema(value_type = String, format = DateTime)]
    pub bedtime_end: Ts,
    pub time_in_bed: Option<i32>,
    pub total_sleep_duration: Option<i32>,
    pub deep_sleep_duration: Option<i32>,
    pub light_sleep_duration: Option<i32>,
    pub rem_sleep_duration: Option<i32>,
    pub awake_time: Option<i32>,
    pub efficiency: Option<i16>,
    pub latency: Option<i32>,
    pub average_hrv: Option<f32>,
    pub average_heart_rate: Option<f32>,
    pub lowest_heart_rate: Option<i16>,
    pub average_breath: Option<f32>,
    pub restless_periods: Option<i32>,
    pub readiness: Option<EmbeddedReadiness>,
    pub sleep_phase_5_min: Option<String>,
    /// The 5-minute series `{interval, items, timestamp}`, stored as sent.
    #[serde(borrow, default)]
    #[schema(value_type = Option<Object>)]
    pub heart_rate: Option<&'a RawValue>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<Object>)]
    pub hrv: Option<&'a RawValue>,
}

/// `workout`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct WorkoutDoc {
    pub id: String,
    pub day: NaiveDate,
    pub activity: String,
    pub intensity: Option<String>,
    pub source: Option<String>,
    pub label: Option<String>,
    pub calories: Option<f32>,
    pub distance: Option<f32>,
    #[schema(value_type = String, format = DateTime)]
    pub start_datetime: Ts,
    #[schema(value_type = String, format = DateTime)]
    pub end_datetime: Ts,
}

/// `session` (meditation, breathing, nap, …) with its series.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SessionDoc<'a> {
    pub id: String,
    pub day: NaiveDate,
    #[serde(rename = "type")]
    pub kind: String,
    pub mood: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub start_datetime: Ts,
    #[schema(value_type = String, format = DateTime)]
    pub end_datetime: Ts,
    #[serde(borrow, default)]
    #[schema(value_type = Option<Object>)]
    pub heart_rate: Option<&'a RawValue>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<Object>)]
    pub heart_rate_variability: Option<&'a RawValue>,
}

/// The accessors every id-keyed document shares.
macro_rules! id_keyed {
    ($name:expr, $table:literal) => {
        const NAME: &'static str = $name;
        const TABLE: &'static str = $table;
        const KEY: Key = Key::OuraId;

        fn id(&self) -> Option<&str> {
            Some(&self.id)
        }

        fn day(&self) -> NaiveDate {
            self.day
        }
    };
}

/// The day's night for the daily table: its longest long_sleep period,
/// chosen among the *stored* periods — a batch without the night leaves
/// the night that is stored.
const NIGHTS: &str = "INSERT INTO sleep_metrics AS m (day, sleep_period_id, total_sleep_seconds, deep_sleep_seconds, light_sleep_seconds,
                 rem_sleep_seconds, efficiency, latency_seconds, average_hrv, lowest_heart_rate, time_in_bed_seconds, bedtime_start, bedtime_end)
             SELECT DISTINCT ON (p.day) p.day, p.oura_id, p.total_sleep_seconds, p.deep_sleep_seconds, p.light_sleep_seconds,
                 p.rem_sleep_seconds, p.efficiency, p.latency_seconds, p.average_hrv, p.lowest_heart_rate, p.time_in_bed_seconds,
                 p.bedtime_start, p.bedtime_end
             FROM sleep_periods p
             WHERE p.day = ANY($1::date[]) AND (p.type = 'long_sleep' OR p.type IS NULL)
             ORDER BY p.day, p.total_sleep_seconds DESC NULLS LAST, p.oura_id
             ON CONFLICT (day) DO UPDATE SET sleep_period_id = EXCLUDED.sleep_period_id,
               total_sleep_seconds = COALESCE(EXCLUDED.total_sleep_seconds, m.total_sleep_seconds),
               deep_sleep_seconds = COALESCE(EXCLUDED.deep_sleep_seconds, m.deep_sleep_seconds),
               light_sleep_seconds = COALESCE(EXCLUDED.light_sleep_seconds, m.light_sleep_seconds),
               rem_sleep_seconds = COALESCE(EXCLUDED.rem_sleep_seconds, m.rem_sleep_seconds),
               efficiency = COALESCE(EXCLUDED.efficiency, m.efficiency),
               latency_seconds = COALESCE(EXCLUDED.latency_seconds, m.latency_seconds),
               average_hrv = COALESCE(EXCLUDED.average_hrv, m.average_hrv),
               lowest_heart_rate = COALESCE(EXCLUDED.lowest_heart_rate, m.lowest_heart_rate),
               time_in_bed_seconds = COALESCE(EXCLUDED.time_in_bed_seconds, m.time_in_bed_seconds),
               bedtime_start = EXCLUDED.bedtime_start, bedtime_end = EXCLUDED.bedtime_end, updated_at = now()";

impl<'a> Collection<'a> for SleepPeriodDoc<'a> {
    id_keyed!(oura::SLEEP, "sleep_periods");
    const THEN: Option<&'static str> = Some(NIGHTS);

    fn check(&self, c: &Check, i: usize) -> Result<(), AppError> {
        c.text(i, "type", self.kind.as_deref(), 32)?;
        c.order(i, &self.bedtime_start, &self.bedtime_end)?;
        c.range(i, "time_in_bed", self.time_in_bed, 0, 2 * DAY)?;
        for (f, v) in [
            ("total_sleep_duration", self.total_sleep_duration),
            ("deep_sleep_duration", self.deep_sleep_duration),
            ("light_sleep_duration", self.light_sleep_duration),
            ("rem_sleep_duration", self.rem_sleep_duration),
            ("awake_time", self.awake_time),
            ("latency", self.latency),
        ] {
            c.range(i, f, v, 0, DAY)?;
        }
        c.range(i, "efficiency", self.efficiency, 0, 100)?;
        c.range(i, "average_hrv", self.average_hrv, 0.0, 500.0)?;
        c.range(i, "average_heart_rate", self.average_heart_rate, 20.0, 250.0)?;
        c.range(i, "lowest_heart_rate", self.lowest_heart_rate, 20, 250)?;
        c.range(i, "average_breath", self.average_breath, 0.0, 100.0)?;
        c.range(i, "restless_periods", self.restless_periods, 0, DAY)?;
        c.range(i, "readiness.score", self.readiness.as_ref().and_then(|r| r.score), 0, 100)
    }

    fn columns() -> Vec<Column<Self>> {
        vec![
            column!("oura_id", "text", Replace, |x| x.id.as_str()),
            column!("day", "date", Replace, |x| x.day),
            column!("type", "text", Keep, |x| x.kind.as_deref()),
            column!("period", "int2", Keep, |x| x.period),
            column!("bedtime_start", "timestamptz", Replace, |x| x.bedtime_start.to_utc()),
            column!("bedtime_end", "timestamptz", Replace, |x| x.bedtime_end.to_utc()),
            column!("time_in_bed_seconds", "int4", Keep, |x| x.time_in_bed),
            column!("total_sleep_seconds", "int4", Keep, |x| x.total_sleep_duration),
            column!("deep_sleep_seconds", "int4", Keep, |x| x.deep_sleep_duration),
            column!("light_sleep_seconds", "int4", Keep, |x| x.light_sleep_duration),
            column!("rem_sleep_seconds", "int4", Keep, |x| x.rem_sleep_duration),
            column!("awake_seconds", "int4", Keep, |x| x.awake_time),
            column!("efficiency", "int2", Keep, |x| x.efficiency),
            column!("latency_seconds", "int4", Keep, |x| x.latency),
            column!("average_hrv", "float4", Keep, |x| x.average_hrv),
            column!("average_heart_rate", "float4", Keep, |x| x.average_heart_rate),
            column!("lowest_heart_rate", "int2", Keep, |x| x.lowest_heart_rate),
            column!("average_breath", "float4", Keep, |x| x.average_breath),
            column!("restless_periods", "int4", Keep, |x| x.restless_periods),
            column!("readiness_score", "int2", Keep, |x| x.readiness.as_ref().and_then(|r| r.score)),
            column!("sleep_phase_5_min", "text", Keep, |x| x.sleep_phase_5_min.as_deref()),
            column!("heart_rate", "text" as "jsonb", Keep, |x| x.heart_rate.map(RawValue::get)),
            column!("hrv", "text" as "jsonb", Keep, |x| x.hrv.map(RawValue::get)),
        ]
    }
}

impl Collection<'_> for WorkoutDoc {
    id_keyed!(oura::WORKOUT, "workouts");

    fn check(&self, c: &Check, i: usize) -> Result<(), AppError> {
        c.text(i, "activity", Some(&self.activity), 64)?;
        c.order(i, &self.start_datetime, &self.end_datetime)?;
        c.range(i, "calories", self.calories, 0.0, 50_000.0)?;
        c.range(i, "distance", self.distance, 0.0, 1_000_000.0)
    }

    fn columns() -> Vec<Column<Self>> {
        vec![
            column!("oura_id", "text", Replace, |x| x.id.as_str()),
            column!("day", "date", Replace, |x| x.day),
            column!("activity", "text", Replace, |x| x.activity.as_str()),
            column!("intensity", "text", Keep, |x| x.intensity.as_deref()),
            column!("source", "text", Keep, |x| x.source.as_deref()),
            column!("label", "text", Keep, |x| x.label.as_deref()),
            column!("calories", "float4", Keep, |x| x.calories),
            column!("distance_meters", "float4", Keep, |x| x.distance),
            column!("start_datetime", "timestamptz", Replace, |x| x.start_datetime.to_utc()),
            column!("end_datetime", "timestamptz", Replace, |x| x.end_datetime.to_utc()),
        ]
    }
}

impl<'a> Collection<'a> for SessionDoc<'a> {
    id_keyed!(oura::SESSION, "sessions");

    fn check(&self, c: &Check, i: usize) -> Result<(), AppError> {
        c.text(i, "type", Some(&self.kind), 32)?;
        c.order(i, &self.start_datetime, &self.end_datetime)
    }

    fn columns() -> Vec<Column<Self>> {
        vec![
            column!("oura_id", "text", Replace, |x| x.id.as_str()),
            column!("day", "date", Replace, |x| x.day),
            column!("type", "text", Replace, |x| x.kind.as_str()),
            column!("mood", "text", Keep, |x| x.mood.as_deref()),
            column!("start_datetime", "timestamptz", Replace, |x| x.start_datetime.to_utc()),
            column!("end_datetime", "timestamptz", Replace, |x| x.end_datetime.to_utc()),
            column!("heart_rate", "text" as "jsonb", Keep, |x| x.heart_rate.map(RawValue::get)),
            column!("hrv", "text" as "jsonb", Keep, |x| x.heart_rate_variability.map(RawValue::get)),
        ]
    }
}
