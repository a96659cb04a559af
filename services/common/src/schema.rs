//! The daily-metric kinds and where they live: one closed mapping shared by
//! every service that reads them (no SQL is ever built from request text).

/// Table and the columns served, for a kind of daily metric.
pub fn daily_table(kind: &str) -> Option<(&'static str, &'static str)> {
    Some(match kind {
        "sleep" => (
            "sleep_metrics",
            "day, score, total_sleep_seconds, deep_sleep_seconds, light_sleep_seconds, rem_sleep_seconds, efficiency, latency_seconds, average_hrv, lowest_heart_rate",
        ),
        "activity" => ("activity_metrics", "day, score, steps, active_calories, total_calories, active_seconds"),
        "readiness" => {
            ("readiness_metrics", "day, score, temperature_deviation, resting_heart_rate_score, hrv_balance_score")
        }
        _ => return None,
    })
}
