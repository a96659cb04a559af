//! The fake's documents: each day of the user's life generated once, from
//! the seed (nights with their series, the daily documents, workouts,
//! sessions, heart rate), with when each appears and the instant Oura's
//! range filters compare — what `super` pages through.

use chrono::{DateTime, Datelike, Days, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use myhealth_common::oura;
use serde_json::{Value, json};

use super::User;

/// A deterministic pseudo-random number in 0..n for (seed, day, salt).
fn pick(seed: u64, day: NaiveDate, salt: u64, n: u64) -> u64 {
    let mut x = seed
        ^ (day.num_days_from_ce() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ salt.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 30;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    x % n.max(1)
}

/// One document with when it appears and the instant the filters compare.
struct Doc {
    collection: &'static str,
    appears: DateTime<Utc>,
    filter_at: DateTime<Utc>,
    body: Value,
}

/// Everything of one day, generated once (final versions).
pub(super) struct Day {
    docs: Vec<Doc>,
    /// Each document serialised once (pages are assembled from these).
    texts: Vec<String>,
    /// daily_activity: appears at 04:00 local and grows until the day ends.
    activity: Option<(DateTime<Utc>, DateTime<Utc>, Value)>,
}

fn ts(t: DateTime<Utc>, off: &FixedOffset) -> String {
    t.with_timezone(off).to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

fn meta(t: DateTime<Utc>) -> Value {
    json!({ "updated_at": t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), "version": 1 })
}

/// A 5-minute series from `start` over `seconds`, around `base`.
fn sample(seed: u64, day: NaiveDate, salt: u64, start: &str, seconds: i64, base: f64, spread: u64) -> Value {
    let n = (seconds / 300).max(1);
    let items: Vec<Value> = (0..n)
        .map(|i| {
            if i == 3 {
                Value::Null // a gap in the series (items may be null)
            } else {
                json!(base + pick(seed, day, salt + i as u64, spread) as f64)
            }
        })
        .collect();
    json!({ "interval": 300.0, "items": items, "timestamp": start })
}

impl Day {
    pub(super) fn generate(u: &User, day: NaiveDate) -> Day {
        let off = FixedOffset::east_opt(u.utc_offset_minutes * 60).expect("offset");
        let local = |d: NaiveDate, h: u32, m: u32| -> DateTime<Utc> {
            off.from_local_datetime(&d.and_hms_opt(h, m, 0).expect("a time")).single().expect("fixed offset").to_utc()
        };
        let p = |salt: u64, n: u64| pick(u.seed, day, salt, n);
        let ix = (day - u.first_day).num_days();
        let id = |what: &str| format!("{what}-{day}-{}", u.seed);
        // A day the ring was hardly worn: no night, daily documents mostly null.
        let sparse = ix % 9 == 4;
        let mut docs = Vec::new();
        let midnight_utc = day.and_time(NaiveTime::MIN).and_utc();

        // The night that ends this morning (bedtime the evening before).
        let bed = local(day - Days::new(1), 22, 30) + Duration::minutes(p(1, 100) as i64);
        let wake = bed + Duration::minutes(400 + p(2, 120) as i64);
        // Most nights reach Oura minutes after waking; some only when the ring
        // syncs two days later (the reason the collector re-fetches recent days).
        let late = ix % 4 == 2;
        let night_ready = wake + Duration::minutes(15) + if late { Duration::hours(45) } else { Duration::zero() };
        let in_bed = (wake - bed).num_seconds();
        if !sparse {
            let total = in_bed - 1800 - p(3, 1200) as i64;
            let deep = total / 5;
            let rem = total / 4;
            let light = total - deep - rem;
            docs.push(Doc {
                collection: oura::SLEEP,
                appears: night_ready,
                filter_at: bed,
                body: json!({
                    "id": id("night"), "meta": meta(night_ready),
                    "average_breath": 14.5 + p(4, 20) as f64 / 10.0, "average_heart_rate": 52.0 + p(5, 10) as f64,
                    "average_hrv": 35 + p(6, 30) as i64, "awake_time": in_bed - total,
                    "bedtime_end": ts(wake, &off), "bedtime_start": ts(bed, &off), "day": day.to_string(),
                    "deep_sleep_duration": deep, "efficiency": (100 * total / in_bed),
                    "heart_rate": sample(u.seed, day, 10, &ts(bed, &off), in_bed, 48.0, 20),
                    "hrv": sample(u.seed, day, 20, &ts(bed, &off), in_bed, 25.0, 50),
                    "latency": 300 + p(7, 900) as i64, "light_sleep_duration": light, "low_battery_alert": false,
                    "lowest_heart_rate": 45 + p(8, 10) as i64, "movement_30_sec": "1".repeat((in_bed / 30) as usize),
                    "period": 1,
                    "readiness": { "contributors": { "activity_balance": 80, "body_temperature": 95, "hrv_balance": 70 + p(9, 30) as i64, "previous_day_activity": 85, "previous_night": 75, "recovery_index": 90, "resting_heart_rate": 88, "sleep_balance": 82, "sleep_regularity": 77 },
                                   "score": 60 + p(11, 40) as i64, "temperature_deviation": -0.3 + p(12, 6) as f64 / 10.0, "temperature_trend_deviation": 0.1 },
                    "readiness_score_delta": 1, "rem_sleep_duration": rem, "restless_periods": 100 + p(13, 200) as i64,
                    "sleep_algorithm_version": "v2", "sleep_analysis_reason": "foreground_sleep_analysis",
                    "sleep_phase_30_sec": "2".repeat((in_bed / 30) as usize), "sleep_phase_5_min": "4211".repeat((in_bed / 1200) as usize),
                    "sleep_score_delta": 0, "time_in_bed": in_bed, "total_sleep_duration": total, "type": "long_sleep",
                    "ring_id": format!("ring-{}", u.seed), "app_sleep_phase_5_min": "4211".repeat((in_bed / 1200) as usize)
                }),
            });
            // Short periods of the day: a nap (`sleep`), a rejected `rest`, a
            // `deleted` one, and an evening `late_nap` that counts for tomorrow.
            let short = |kind: &str, start: DateTime<Utc>, minutes: i64, for_day: NaiveDate, period: i64| -> Doc {
                let end = start + Duration::minutes(minutes);
                let scored = kind == "sleep" || kind == "late_nap";
                let secs = minutes * 60;
                let n = |v: Value| if scored { v } else { Value::Null };
                Doc {
                    collection: oura::SLEEP,
                    appears: end + Duration::minutes(10),
                    filter_at: start,
                    body: json!({
                        "id": format!("{kind}-{day}-{}", u.seed), "meta": meta(end),
                        "average_breath": n(json!(15.0)), "average_heart_rate": n(json!(60.0)), "average_hrv": n(json!(40)),
                        "awake_time": n(json!(120)), "bedtime_end": ts(end, &off), "bedtime_start": ts(start, &off),
                        "day": for_day.to_string(), "deep_sleep_duration": n(json!(0)), "efficiency": n(json!(85)),
                        "heart_rate": n(sample(u.seed, day, 30, &ts(start, &off), secs, 55.0, 10)), "hrv": n(sample(u.seed, day, 40, &ts(start, &off), secs, 30.0, 20)),
                        "latency": n(json!(240)), "light_sleep_duration": n(json!(secs - 120)), "low_battery_alert": false,
                        "lowest_heart_rate": n(json!(54)), "movement_30_sec": n(json!("1".repeat((secs / 30) as usize))), "period": period,
                        "readiness": Value::Null, "readiness_score_delta": Value::Null, "rem_sleep_duration": n(json!(0)),
                        "restless_periods": n(json!(12)), "sleep_algorithm_version": n(json!("v2")), "sleep_analysis_reason": Value::Null,
                        "sleep_phase_30_sec": n(json!("2".repeat((secs / 30) as usize))), "sleep_phase_5_min": n(json!("2".repeat((secs / 300) as usize))),
                        "sleep_score_delta": Value::Null, "time_in_bed": secs, "total_sleep_duration": n(json!(secs - 120)),
                        // A nap not yet classified has no type.
                        "type": if kind == "sleep" && ix % 2 == 0 { Value::Null } else { json!(kind) },
                        "ring_id": Value::Null, "app_sleep_phase_5_min": Value::Null
                    }),
                }
            };
            if p(50, 3) == 0 {
                docs.push(short(
                    "sleep",
                    local(day, 14, 0) + Duration::minutes(p(51, 60) as i64),
                    25 + p(52, 30) as i64,
                    day,
                    2,
                ));
            }
            if ix % 4 == 1 {
                docs.push(short("rest", local(day, 16, 10), 20, day, 3));
            }
            if ix % 6 == 2 {
                docs.push(short("deleted", local(day, 12, 5), 18, day, 4));
            }
            if ix % 5 == 3 {
                docs.push(short("late_nap", local(day, 19, 0), 30, day + Days::new(1), 0));
            }

            let contributors = |null: bool| {
                let v = |x: u64| if null { Value::Null } else { json!(60 + p(x, 40)) };
                json!({ "deep_sleep": v(60), "efficiency": v(61), "latency": v(62), "rem_sleep": v(63), "restfulness": v(64), "timing": v(65), "total_sleep": v(66) })
            };
            docs.push(Doc {
                collection: oura::DAILY_SLEEP,
                appears: night_ready,
                filter_at: midnight_utc,
                body: json!({ "id": id("daily-sleep"), "meta": meta(night_ready), "contributors": contributors(false), "day": day.to_string(),
                              "score": 55 + p(70, 45) as i64, "timestamp": format!("{day}T00:00:00+00:00") }),
            });
            docs.push(Doc {
                collection: oura::DAILY_READINESS,
                appears: night_ready,
                filter_at: midnight_utc,
                body: json!({ "id": id("readiness"), "meta": meta(night_ready),
                              "contributors": { "activity_balance": 80, "body_temperature": 95, "hrv_balance": 60 + p(80, 40) as i64, "previous_day_activity": 85, "previous_night": 75, "recovery_index": 90, "resting_heart_rate": 60 + p(81, 40) as i64, "sleep_balance": 82, "sleep_regularity": 77 },
                              "day": day.to_string(), "score": 55 + p(82, 45) as i64, "temperature_deviation": -0.5 + p(83, 10) as f64 / 10.0,
                              "temperature_trend_deviation": 0.05, "timestamp": format!("{day}T00:00:00+00:00") }),
            });
            docs.push(Doc {
                collection: oura::DAILY_SPO2,
                appears: night_ready,
                filter_at: midnight_utc,
                body: json!({ "id": id("spo2"), "meta": meta(night_ready), "breathing_disturbance_index": p(90, 20) as i64, "day": day.to_string(),
                              "spo2_percentage": { "average": 95.0 + p(91, 40) as f64 / 10.0 } }),
            });
            docs.push(Doc {
                collection: oura::DAILY_RESILIENCE,
                appears: night_ready,
                filter_at: midnight_utc,
                body: json!({ "id": id("resilience"), "day": day.to_string(),
                              "contributors": { "sleep_recovery": 40.0 + p(100, 300) as f64 / 10.0, "daytime_recovery": 45.0 + p(101, 200) as f64 / 10.0, "stress": 30.0 + p(102, 200) as f64 / 10.0 },
                              "level": (["limited", "adequate", "solid", "strong", "exceptional"][p(103, 5) as usize]) }),
            });
            docs.push(Doc {
                collection: oura::DAILY_CARDIOVASCULAR_AGE,
                appears: night_ready,
                filter_at: midnight_utc,
                body: json!({ "id": id("cva"), "meta": meta(night_ready), "day": day.to_string(), "vascular_age": 35 + p(110, 8) as i64 }),
            });
        } else {
            // The ring barely worn: Oura still scores the day, with little to go on.
            docs.push(Doc {
                collection: oura::DAILY_SLEEP,
                appears: local(day, 9, 0),
                filter_at: midnight_utc,
                body: json!({ "id": id("daily-sleep"), "meta": meta(local(day, 9, 0)),
                              "contributors": { "deep_sleep": null, "efficiency": null, "latency": null, "rem_sleep": null, "restfulness": null, "timing": null, "total_sleep": null },
                              "day": day.to_string(), "score": null, "timestamp": format!("{day}T00:00:00+00:00") }),
            });
            docs.push(Doc {
                collection: oura::DAILY_READINESS,
                appears: local(day, 9, 0),
                filter_at: midnight_utc,
                body: json!({ "id": id("readiness"), "meta": meta(local(day, 9, 0)), "contributors": { "activity_balance": null, "body_temperature": null, "hrv_balance": null, "previous_day_activity": null, "previous_night": null, "recovery_index": null, "resting_heart_rate": null, "sleep_balance": null, "sleep_regularity": null },
                              "day": day.to_string(), "score": null, "temperature_deviation": null, "temperature_trend_deviation": null, "timestamp": format!("{day}T00:00:00+00:00") }),
            });
            docs.push(Doc {
                collection: oura::DAILY_SPO2,
                appears: local(day, 9, 0),
                filter_at: midnight_utc,
                body: json!({ "id": id("spo2"), "meta": meta(local(day, 9, 0)), "breathing_disturbance_index": null, "day": day.to_string(), "spo2_percentage": null }),
            });
            docs.push(Doc {
                collection: oura::DAILY_CARDIOVASCULAR_AGE,
                appears: local(day, 9, 0),
                filter_at: midnight_utc,
                body: json!({ "id": id("cva"), "meta": meta(local(day, 9, 0)), "day": day.to_string(), "vascular_age": null }),
            });
        }

        // The day's stress, summed up once the day is over.
        let day_end = local(day + Days::new(1), 0, 30);
        docs.push(Doc {
            collection: oura::DAILY_STRESS,
            appears: day_end,
            filter_at: midnight_utc,
            body: if sparse {
                json!({ "id": id("stress"), "meta": meta(day_end), "day": day.to_string(), "day_summary": null, "recovery_high": null, "stress_high": null })
            } else {
                json!({ "id": id("stress"), "meta": meta(day_end), "day": day.to_string(), "day_summary": (["restored", "normal", "stressful"][p(120, 3) as usize]),
                        "recovery_high": 3600 + p(121, 7200) as i64, "stress_high": 900 + p(122, 5400) as i64 })
            },
        });

        // Workouts and sessions.
        if p(130, 2) == 0 || ix % 7 == 0 {
            let start = local(day, 7, 0) + Duration::minutes(p(131, 600) as i64);
            let end = start + Duration::minutes(20 + p(132, 70) as i64);
            let manual = ix % 7 == 0;
            docs.push(Doc {
                collection: oura::WORKOUT,
                appears: end + Duration::minutes(10),
                filter_at: start,
                body: json!({ "id": id("workout"), "meta": meta(end), "activity": (["walking", "running", "cycling"][p(133, 3) as usize]),
                              "calories": if manual { Value::Null } else { json!(100.0 + p(134, 400) as f64) }, "day": day.to_string(),
                              "distance": if manual { Value::Null } else { json!(1000.0 + p(135, 9000) as f64) }, "end_datetime": ts(end, &off),
                              "intensity": (["easy", "moderate", "hard"][p(136, 3) as usize]), "label": if manual { json!("Morning loop") } else { Value::Null },
                              "source": if manual { "manual" } else { "autodetected" }, "start_datetime": ts(start, &off) }),
            });
        }
        if ix % 3 == 0 {
            let start = local(day, 18, 0) + Duration::minutes(p(140, 60) as i64);
            let end = start + Duration::minutes(10);
            let quiet = ix % 6 == 3;
            docs.push(Doc {
                collection: oura::SESSION,
                appears: end + Duration::minutes(5),
                filter_at: start,
                body: json!({ "id": id("session"), "meta": meta(end), "day": day.to_string(), "end_datetime": ts(end, &off),
                              "heart_rate": if quiet { Value::Null } else { json!({ "interval": 5.0, "items": [62.0, 60.5, null, 58.0], "timestamp": ts(start, &off) }) },
                              "heart_rate_variability": if quiet { Value::Null } else { json!({ "interval": 5.0, "items": [40.0, 44.0, 47.5, 50.0], "timestamp": ts(start, &off) }) },
                              "mood": if quiet { Value::Null } else { json!((["bad", "worse", "same", "good", "great"][p(141, 5) as usize])) },
                              "motion_count": if quiet { Value::Null } else { json!({ "interval": 5.0, "items": [0.0, 3.0, 1.0, 0.0], "timestamp": ts(start, &off) }) },
                              "start_datetime": ts(start, &off), "type": (["breathing", "meditation", "relaxation"][p(142, 3) as usize]) }),
            });
        }
        if ix % 3 == 1 {
            let at = local(day, 12, 0);
            docs.push(Doc {
                collection: oura::VO2_MAX,
                appears: at,
                filter_at: at,
                body: json!({ "id": id("vo2"), "meta": meta(at), "day": day.to_string(), "timestamp": ts(at, &off), "vo2_max": 40 + p(150, 10) as i64 }),
            });
        }

        // Heart rate through the day (local midnight to midnight).
        let from = local(day, 0, 0);
        let mut t = from;
        let mut i = 0u64;
        while t < from + Duration::days(1) {
            let asleep = t >= bed && t < wake;
            let source = if asleep {
                "sleep"
            } else if i % 40 == 7 {
                "workout"
            } else {
                "awake"
            };
            docs.push(Doc {
                collection: oura::HEARTRATE,
                appears: t + Duration::minutes(10),
                filter_at: t,
                body: json!({ "timestamp": t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false), "timestamp_unix": t.timestamp_millis(),
                              "bpm": if asleep { 50 } else { 65 } + p(200 + i % 50, 25) as i64, "source": source }),
            });
            t += Duration::minutes(u.heart_rate_every_minutes.max(1));
            i += 1;
        }

        // Activity: appears at 04:00 local and grows until the day is over.
        let act_at = local(day, 4, 0);
        let steps = if sparse { 800 } else { 4000 + p(160, 9000) as i64 };
        let activity = json!({
            "id": id("activity"), "meta": meta(act_at), "active_calories": steps / 20, "average_met_minutes": 1.5,
            "class_5_min": if sparse { Value::Null } else { json!("1".repeat(288)) },
            "contributors": if sparse { json!({ "meet_daily_targets": null, "move_every_hour": null, "recovery_time": null, "stay_active": null, "training_frequency": null, "training_volume": null }) }
                            else { json!({ "meet_daily_targets": 80, "move_every_hour": 95, "recovery_time": 100, "stay_active": 70, "training_frequency": 80, "training_volume": 90 }) },
            "day": day.to_string(), "equivalent_walking_distance": steps * 3 / 4, "high_activity_met_minutes": 20, "high_activity_time": 600 + p(161, 1200) as i64,
            "inactivity_alerts": 1, "low_activity_met_minutes": 150, "low_activity_time": 15000, "medium_activity_met_minutes": 120,
            "medium_activity_time": 1800 + p(162, 2400) as i64, "met": { "interval": 60.0, "items": [0.9, 1.1, null, 3.5], "timestamp": ts(act_at, &off) },
            "meters_to_target": 2000, "non_wear_time": if sparse { 60000 } else { 1200 }, "resting_time": 20000,
            "score": if sparse { Value::Null } else { json!(60 + p(163, 40)) }, "sedentary_met_minutes": 10, "sedentary_time": 30000,
            "steps": steps, "target_calories": 500, "target_meters": 10000, "timestamp": ts(act_at, &off), "total_calories": 2000 + steps / 20
        });
        let texts = docs.iter().map(|d| d.body.to_string()).collect();
        Day { docs, texts, activity: Some((act_at, local(day + Days::new(1), 0, 0), activity)) }
    }

    pub(super) fn visible(
        &self,
        collection: &str,
        now: DateTime<Utc>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        out: &mut Vec<(DateTime<Utc>, String)>,
    ) {
        let within = |t: &DateTime<Utc>| *t >= start && *t <= end;
        for (d, text) in self.docs.iter().zip(&self.texts) {
            if d.collection == collection && d.appears <= now && within(&d.filter_at) {
                out.push((d.filter_at, text.clone()));
            }
        }
        if collection == oura::DAILY_ACTIVITY
            && let Some((from, until, full)) = &self.activity
            && *from <= now
            && within(from)
        {
            out.push((*from, grown(full, *from, *until, now).to_string()));
        }
    }
}

/// Today's activity as of `now`: the counts so far (the final document once the day is over).
fn grown(full: &Value, from: DateTime<Utc>, until: DateTime<Utc>, now: DateTime<Utc>) -> Value {
    if now >= until {
        return full.clone();
    }
    let share = (now - from).num_seconds() as f64 / (until - from).num_seconds() as f64;
    let mut v = full.clone();
    for k in ["steps", "active_calories", "equivalent_walking_distance", "high_activity_time", "medium_activity_time"] {
        if let Some(n) = v[k].as_i64() {
            v[k] = json!((n as f64 * share) as i64);
        }
    }
    v["meta"] = meta(now);
    v
}
