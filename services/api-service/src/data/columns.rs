//! The SQL column lists the data routes select (`myhealth_common::schema`
//! for the daily kinds, `timed_table` for the timed ones) against the
//! `FromRow` types the rows are read into: a column added to one and not
//! the other fails here rather than at a request (a missing column is a
//! decoding error, an extra one is silently never served).

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::*;

/// The fields of a row type, in order, from a row holding only the required ones.
fn fields<T: Serialize + DeserializeOwned>(required: Value) -> Vec<String> {
    let row: T = serde_json::from_value(required).unwrap();
    serde_json::to_value(row).unwrap().as_object().unwrap().keys().cloned().collect()
}

fn columns(list: &str) -> Vec<String> {
    list.split(',').map(|c| c.trim().to_string()).collect()
}

fn daily(kind: &str) -> Vec<String> {
    columns(myhealth_common::schema::daily_table(kind).unwrap().1)
}

/// A timed kind's columns, with the Oura id under the name the API gives
/// it (`#[sqlx(rename = "oura_id")] id`).
fn timed(kind: &str) -> Vec<String> {
    columns(timed_table(kind).1).into_iter().map(|c| if c == "oura_id" { "id".into() } else { c }).collect()
}

#[test]
fn every_daily_kind_selects_exactly_the_fields_of_its_row_type() {
    let day = json!({ "day": "2026-11-01" });
    assert_eq!(daily("sleep"), fields::<SleepDay>(day.clone()));
    assert_eq!(daily("activity"), fields::<ActivityDay>(day.clone()));
    assert_eq!(daily("readiness"), fields::<ReadinessDay>(day.clone()));
    assert_eq!(daily("spo2"), fields::<Spo2Day>(day.clone()));
    assert_eq!(daily("stress"), fields::<StressDay>(day.clone()));
    assert_eq!(daily("resilience"), fields::<ResilienceDay>(day.clone()));
    assert_eq!(daily("cardiovascular_age"), fields::<CardiovascularAgeDay>(day.clone()));
    assert_eq!(daily("vo2_max"), fields::<Vo2MaxDay>(day));
}

#[test]
fn every_timed_kind_selects_exactly_the_fields_of_its_row_type() {
    let (start, end) = ("2026-11-01T00:00:00Z", "2026-11-01T07:00:00Z");
    let period = json!({ "id": "p", "day": "2026-11-01", "bedtime_start": start, "bedtime_end": end });
    assert_eq!(timed("sleep_periods"), fields::<SleepPeriod>(period));
    let workout =
        json!({ "id": "w", "day": "2026-11-01", "activity": "walking", "start_datetime": start, "end_datetime": end });
    assert_eq!(timed("workouts"), fields::<Workout>(workout));
    let session =
        json!({ "id": "s", "day": "2026-11-01", "type": "breathing", "start_datetime": start, "end_datetime": end });
    assert_eq!(timed("sessions"), fields::<Session>(session));
}
