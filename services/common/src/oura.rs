//! The Oura collections, by their API names: the one list the collector
//! fetches, the data-processor takes and the metrics are labelled with.
//! Each service spells a name only through these constants; where a second
//! spelling must stay (serde field names of the ingest body, the collector's
//! stream names, the tables of the migrations), a test compares it with
//! this list.

pub const DAILY_SLEEP: &str = "daily_sleep";
pub const SLEEP: &str = "sleep";
pub const DAILY_ACTIVITY: &str = "daily_activity";
pub const DAILY_READINESS: &str = "daily_readiness";
pub const HEARTRATE: &str = "heartrate";
pub const WORKOUT: &str = "workout";
pub const SESSION: &str = "session";
pub const DAILY_SPO2: &str = "daily_spo2";
pub const DAILY_STRESS: &str = "daily_stress";
pub const DAILY_RESILIENCE: &str = "daily_resilience";
pub const DAILY_CARDIOVASCULAR_AGE: &str = "daily_cardiovascular_age";
/// Oura's own spelling, capital O included.
pub const VO2_MAX: &str = "vO2_max";

/// Every collection, in the order the collector asks them (`daily_sleep`
/// first: the scope nearly every user grants, so the access token is
/// proven early).
pub const COLLECTIONS: [&str; 12] = [
    DAILY_SLEEP,
    SLEEP,
    DAILY_ACTIVITY,
    DAILY_READINESS,
    HEARTRATE,
    WORKOUT,
    SESSION,
    DAILY_SPO2,
    DAILY_STRESS,
    DAILY_RESILIENCE,
    DAILY_CARDIOVASCULAR_AGE,
    VO2_MAX,
];

/// Whether `name` is an Oura collection.
pub fn is_collection(name: &str) -> bool {
    COLLECTIONS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct() {
        let mut names = COLLECTIONS.to_vec();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), COLLECTIONS.len());
        assert!(is_collection("vO2_max") && !is_collection("vo2_max"));
    }
}
