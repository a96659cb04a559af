//! The daily-metric kinds and where they live: one closed mapping shared by
//! every service that reads them (no SQL is ever built from request text).

/// Table and the columns served, for a kind of daily metric.
pub fn daily_table(kind: &str) -> Option<(&'static str, &'static str)> {
    Some(match kind {
        "sleep" => (
            "sleep_metrics",
            "day, score, total_sleep_seconds, deep_sleep_seconds, light_sleep_seconds, rem_sleep_seconds, efficiency, latency_seconds, average_hrv, lowest_heart_rate, \
             time_in_bed_seconds, bedtime_start, bedtime_end, contributor_deep_sleep, contributor_efficiency, contributor_latency, \
             contributor_rem_sleep, contributor_restfulness, contributor_timing, contributor_total_sleep",
        ),
        "activity" => ("activity_metrics", "day, score, steps, active_calories, total_calories, active_seconds"),
        "readiness" => {
            ("readiness_metrics", "day, score, temperature_deviation, resting_heart_rate_score, hrv_balance_score")
        }
        "spo2" => ("spo2_metrics", "day, spo2_average, breathing_disturbance_index"),
        "stress" => ("stress_metrics", "day, stress_high_seconds, recovery_high_seconds, day_summary"),
        "resilience" => ("resilience_metrics", "day, level, sleep_recovery, daytime_recovery, stress"),
        "cardiovascular_age" => ("cardiovascular_age_metrics", "day, vascular_age"),
        "vo2_max" => ("vo2_max_metrics", "day, vo2_max, measured_at"),
        _ => return None,
    })
}
