//! The CronJob's schedule (every 5 minutes) over simulated days, for a user
//! at UTC+3 and one at UTC−5, each against the fake Oura API and the real
//! data-processor on a real PostgreSQL, the collector's clock driven by the
//! test (nothing sleeps through simulated time: backoff and `Retry-After`
//! advance the clock). In between: an outage of 32 days (the cluster down,
//! no runs at all), a withheld heart-rate scope (each run proves it with one
//! refresh and needs the user), Oura failing for an hour, and a tight
//! request budget so the catch-up spans several runs, oldest first. At the end every document the fake holds is stored exactly once
//! with its values, and no night's durations were lost or nulled — the
//! failure this test was written for: a window's first night dropped and
//! the stored one overwritten with NULL.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Days, Utc};
use common::{World, world};
use myhealth_common::testing::TempPostgres;
use oura_collector::Outcome;

const TICK: Duration = Duration::from_secs(300);

/// Run the schedule for `ticks` ticks from the tick `next`; returns the outcomes seen.
async fn schedule(w: &World, s: &oura_collector::Settings, ticks: u32, next: &mut DateTime<Utc>) -> Vec<Outcome> {
    runs(w, s, ticks, next).await.into_iter().map(|r| r.outcome).collect()
}

/// The same, returning the runs' reports.
async fn runs(
    w: &World,
    s: &oura_collector::Settings,
    ticks: u32,
    next: &mut DateTime<Utc>,
) -> Vec<oura_collector::Report> {
    let mut seen = Vec::new();
    for _ in 0..ticks {
        // A run's own waits (backoff, Retry-After) may have moved the clock past the tick.
        if w.now() < *next {
            w.clock.set(*next);
        }
        seen.push(w.run(s).await);
        *next += chrono::Duration::from_std(TICK).unwrap();
    }
    seen
}

async fn simulate(pg: Arc<TempPostgres>, db: &'static str, offset_minutes: i32, start: DateTime<Utc>) {
    let w = world(&pg, db, offset_minutes, start, 6).await;
    let mut next = start;
    // Hourly heart rate keeps the run cheap; the density changes nothing the collector does.
    {
        let mut f = w.fake.lock().unwrap();
        f.user.heart_rate_every_minutes = 60;
    }
    let mut s = w.settings();
    s.first_run_days = 7;
    // Tight enough that catching up after the outage takes several runs.
    s.max_requests_per_run = 16;
    let per_day = 24 * 12;

    // Two days as usual.
    let seen = schedule(&w, &s, 2 * per_day, &mut next).await;
    assert!(seen.iter().all(|o| *o == Outcome::Ok), "{db}: {:?}", seen.iter().filter(|o| **o != Outcome::Ok).count());
    w.assert_everything_stored().await;

    // The cluster is down for 32 days: no runs at all.
    next += chrono::Duration::days(32);
    // Back, but Oura fails for an hour: those runs fail, store nothing half, move no state.
    let synced_before = w.synced("oura_sleep").await;
    w.fake.lock().unwrap().down = true;
    let seen = schedule(&w, &s, 12, &mut next).await;
    assert!(seen.iter().all(|o| *o == Outcome::Failed), "{db}: {seen:?}");
    assert_eq!(w.synced("oura_sleep").await, synced_before);
    w.fake.lock().unwrap().down = false;

    // Recovering by itself, oldest first, within the budget — while the user
    // has unticked the heart-rate scope.
    w.fake.lock().unwrap().granted.remove("heartrate");
    let generation = w.fake.lock().unwrap().generation;
    let mut synced = Vec::new();
    let mut seen = Vec::new();
    for _ in 0..per_day + per_day / 2 {
        seen.extend(runs(&w, &s, 1, &mut next).await);
        synced.push(w.synced("oura_vo2_max").await);
    }
    assert!(seen.iter().all(|r| r.outcome == Outcome::NeedsUser), "{db}: heart rate withheld needs the user");
    assert!(seen.iter().all(|r| r.failed(true) == "heartrate(scope)" && r.failed(false).is_empty()), "{db}");
    let catch_up = synced.iter().position(|d| *d == Some(w.now().date_naive()));
    // The budget made it take several runs; the first stopped part-way, at an older day.
    assert!(catch_up.is_some_and(|runs| runs >= 1), "{db}: caught up in {catch_up:?} runs");
    assert!(synced[0].is_some_and(|d| d < w.now().date_naive() - Days::new(2)), "{db}: {:?}", synced[0]);
    assert!(synced.windows(2).all(|p| p[0] <= p[1]), "{db}: VO2max caught up oldest first");
    // One refresh a run proves the scope withheld; besides, at most one a day
    // (the access token expires daily), and no expiry taken for the scope.
    let refreshes: u64 = seen.iter().map(|r| r.stats.token_refreshes).sum();
    assert_eq!(u64::from(w.fake.lock().unwrap().generation - generation), refreshes, "{db}");
    assert!(refreshes <= seen.len() as u64 + 2, "{db}: {refreshes} refreshes in {} runs", seen.len());
    assert!(seen.iter().all(|r| r.stats.scopes_withheld == 1 && r.stats.tokens_renewed == 0), "{db}");
    assert_eq!(w.synced("oura_heartrate").await.map(|d| d < w.now().date_naive() - Days::new(30)), Some(true));

    // The scope granted again: heart rate catches up too (in 30-day chunks).
    w.fake.lock().unwrap().granted.insert("heartrate");
    let seen = schedule(&w, &s, per_day + per_day / 2, &mut next).await;
    assert_eq!(seen.last(), Some(&Outcome::Ok), "{db}");
    assert!(seen.iter().all(|o| *o == Outcome::Ok), "{db}: {seen:?}");

    // Everything the fake holds, stored exactly once, with its values.
    w.assert_everything_stored().await;
    // Typed: each day's night has its long sleep's durations — none lost, none nulled.
    let snapshot = w.snapshot();
    let nights: Vec<&serde_json::Value> = snapshot["sleep"].iter().filter(|p| p["type"] == "long_sleep").collect();
    assert!(nights.len() >= 35, "{db}: {} nights", nights.len());
    for n in nights {
        let day: chrono::NaiveDate = n["day"].as_str().unwrap().parse().unwrap();
        let row: (Option<i32>, Option<i32>, Option<f32>, Option<i16>) = sqlx::query_as(
            "SELECT total_sleep_seconds, deep_sleep_seconds, average_hrv, lowest_heart_rate FROM sleep_metrics WHERE day = $1",
        )
        .bind(day)
        .fetch_one(&w.pool)
        .await
        .unwrap();
        assert_eq!(
            row,
            (
                n["total_sleep_duration"].as_i64().map(|v| v as i32),
                n["deep_sleep_duration"].as_i64().map(|v| v as i32),
                n["average_hrv"].as_f64().map(|v| v as f32),
                n["lowest_heart_rate"].as_i64().map(|v| v as i16),
            ),
            "{db}: the night of {day}"
        );
    }
    // And nothing twice: one typed row per document.
    assert_eq!(w.count("sleep_periods").await as usize, snapshot["sleep"].len());
    assert_eq!(w.count("workouts").await as usize, snapshot["workout"].len());
    assert_eq!(w.count("sessions").await as usize, snapshot["session"].len());
    assert_eq!(w.count("activity_metrics").await as usize, snapshot["daily_activity"].len());
}

#[tokio::test(flavor = "multi_thread")]
async fn five_days_of_the_schedule_around_a_32_day_outage_lose_nothing() {
    let pg = Arc::new(TempPostgres::start());
    // Simulated time ends about now (the processor accepts days up to tomorrow).
    let start = (Utc::now() - chrono::Duration::days(38)).date_naive().and_hms_opt(0, 2, 0).unwrap().and_utc();
    let east = tokio::spawn(simulate(pg.clone(), "east", 180, start));
    let west = tokio::spawn(simulate(pg.clone(), "west", -300, start));
    east.await.unwrap();
    west.await.unwrap();
}
