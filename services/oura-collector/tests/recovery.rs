//! Runs that go wrong, and how the next ones remember it — against the fake
//! Oura API built from the contract and the real data-processor on a real
//! PostgreSQL:
//!
//! - an access token revoked after N requests (Oura answers 401 until a
//!   refresh), for several N — between two collections and between two pages
//!   of one — is refreshed once, the rotated refresh token persisted, and the
//!   refused request asked again: nothing is taken for a withheld scope;
//! - a first `--backfill` that fails part-way (Oura failing one collection
//!   throughout, another after its first chunk, a 429 past the retries that
//!   stops the run), an ordinary run killed mid-flight, then ordinary runs:
//!   every document and sample stored exactly once, each run resuming every
//!   collection from what was stored (minus the overlap), not from today;
//! - a `--backfill` reaching before the days already stored that fails
//!   part-way (a chunk failing, a scope withheld) is finished by the
//!   ordinary runs — through a kill and while the scope is still withheld —
//!   and once finished, no run asks those days again.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Days, NaiveDate, Utc};
use common::{World, world};
use myhealth_common::testing::TempPostgres;
use oura_collector::{Outcome, Settings};
use serde_json::Value;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// The day a query's range starts (`start_date`, or heart rate's `start_datetime`).
fn start_of(q: &HashMap<String, String>) -> NaiveDate {
    let v = q.get("start_date").or_else(|| q.get("start_datetime")).expect("a start");
    v[..10].parse().unwrap()
}

/// Per collection, the oldest day asked by the queries from `from` on.
fn oldest_asked(w: &World, from: usize) -> BTreeMap<String, NaiveDate> {
    let f = w.fake.lock().unwrap();
    let mut out: BTreeMap<String, NaiveDate> = BTreeMap::new();
    for (c, q) in &f.queries[from..] {
        let d = start_of(q);
        out.entry(c.clone()).and_modify(|o| *o = (*o).min(d)).or_insert(d);
    }
    out
}

/// Every stream's sync state.
async fn states(w: &World) -> BTreeMap<String, NaiveDate> {
    let rows: Vec<(String, NaiveDate)> =
        sqlx::query_as("SELECT stream, last_synced_day FROM sync_state").fetch_all(&w.pool).await.unwrap();
    rows.into_iter().collect()
}

/// A run killed (as the Job's deadline or a lost node kills the pod) while
/// waiting for the answer to the request after the `after`-th.
async fn killed_run(w: &World, s: &Settings, after: u32) {
    w.fake.lock().unwrap().stall_after = Some(after);
    let (s, clock) = (s.clone(), w.clock.clone());
    let run = tokio::spawn(async move { oura_collector::run_with(&s, Arc::new(clock)).await });
    while w.fake.lock().unwrap().requests <= after {
        assert!(!run.is_finished(), "the run ended before it was killed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    run.abort();
    assert!(run.await.unwrap_err().is_cancelled());
    w.fake.lock().unwrap().stall_after = None;
}

fn saved_refresh_token(w: &World) -> String {
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&w.token_file).unwrap()).unwrap();
    saved["refresh_token"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_access_token_revoked_after_n_requests_is_refreshed_once_and_the_request_asked_again() {
    let pg = TempPostgres::start();
    let mut inside_pages = 0;
    for n in [1, 3, 6, 9, 14, 21] {
        let w = world(&pg, &format!("revoked_{n}"), 180, at("2026-10-20T09:30:00Z"), 12).await;
        {
            // Small pages: most collections take several requests.
            let mut f = w.fake.lock().unwrap();
            f.page_size = 5;
            f.heart_rate_page_size = 100;
            f.revoke_after = vec![n];
        }
        let mut s = w.settings();
        s.backfill = Some(12);
        let report = w.run(&s).await;
        assert_eq!(report.outcome, Outcome::Ok, "revoked after {n}: {report:#?}");
        // The run's first access token, and one when the revoked one was refused.
        assert_eq!(report.stats.token_refreshes, 2, "revoked after {n}");
        assert_eq!((report.stats.tokens_renewed, report.stats.scopes_withheld), (1, 0), "revoked after {n}");
        assert_eq!(saved_refresh_token(&w), "refresh-2", "revoked after {n}: the rotated token persisted");
        {
            let f = w.fake.lock().unwrap();
            // One request refused (401), then asked again as it was: the queries
            // record the answered ones, so the n+1-th is the refused one's retry.
            assert_eq!(f.requests as usize, f.queries.len() + 1, "revoked after {n}");
            let (before, retried) = (&f.queries[n as usize - 1], &f.queries[n as usize]);
            if retried.1.contains_key("next_token") {
                // Inside a paginated collection: its page before came with the revoked token.
                assert_eq!(before.0, retried.0, "revoked after {n}");
                inside_pages += 1;
            }
        }
        w.assert_everything_stored().await;
        let today = w.now().date_naive();
        for c in oura_collector::collections::ALL {
            assert_eq!(w.synced(c.stream).await, Some(today), "revoked after {n}: {}", c.stream);
        }
    }
    assert!(inside_pages >= 2, "some revocations fell between two pages of one collection: {inside_pages}");

    // Twice in one run, and beside a scope really withheld: each expiry costs
    // one refresh, the scope one more; only the withheld collection fails.
    let w = world(&pg, "revoked_twice", -300, at("2026-10-20T18:00:00Z"), 12).await;
    {
        let mut f = w.fake.lock().unwrap();
        f.page_size = 5;
        f.revoke_after = vec![4, 11];
        f.granted.remove("workout");
    }
    let report = w.run(&w.settings()).await;
    assert_eq!(report.outcome, Outcome::NeedsUser, "{report:#?}");
    assert_eq!(report.failed(true), "workout(scope)");
    assert_eq!(report.failed(false), "");
    assert_eq!((report.stats.tokens_renewed, report.stats.scopes_withheld), (2, 1));
    assert_eq!(report.stats.token_refreshes, 4);
    assert_eq!(saved_refresh_token(&w), "refresh-4");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_first_backfill_that_fails_part_way_is_finished_by_the_ordinary_runs() {
    let pg = TempPostgres::start();
    let w = world(&pg, "first_backfill", 180, at("2026-10-20T09:30:00Z"), 40).await;
    let mut s = w.settings();
    s.first_run_days = 7;
    s.max_attempts = 3;
    // Small batches: a run stores (and advances) as it goes.
    s.batch_max_bytes = 64 << 10;
    {
        let mut f = w.fake.lock().unwrap();
        // One page a chunk. Oura failing readiness throughout, sleep on its
        // second chunk; heart rate answering 429 past the retries on its second
        // chunk, which stops the run; and the access token revoked on the way.
        f.page_size = 100;
        f.heart_rate_page_size = 2000;
        f.broken = vec!["daily_readiness".into()];
        f.scripted = (2..=4).flat_map(|n| [("sleep".to_string(), n, 500), ("heartrate".to_string(), n, 429)]).collect();
        f.revoke_after = vec![7];
    }
    let mut backfill = s.clone();
    backfill.backfill = Some(40);
    let report = w.run(&backfill).await;
    assert_eq!(report.outcome, Outcome::Partial, "{report:#?}");
    assert_eq!(report.get("daily_readiness").failure, Some("unavailable"));
    assert_eq!(report.get("sleep").failure, Some("unavailable"));
    assert_eq!(report.get("heartrate").failure, Some("rate_limited"));
    assert_eq!(report.get("vO2_max").failure, Some("rate_limited"));
    assert_eq!(report.stats.tokens_renewed, 1);
    let today = w.now().date_naive();
    let first = today - Days::new(40);
    // A collection that stored nothing starts at the backfill's first day; one
    // that stored a chunk, after it; none was advanced over what it missed.
    assert_eq!(w.synced("oura_daily_readiness").await, Some(first - Days::new(1)));
    for c in ["oura_sleep", "oura_heartrate", "oura_vo2_max"] {
        let synced = w.synced(c).await.unwrap();
        assert!(synced > first && synced < today - Days::new(2), "{c}: {synced}");
    }
    {
        let mut f = w.fake.lock().unwrap();
        f.broken.clear();
        f.scripted.clear();
    }

    // An ordinary run, killed mid-flight; then the next. Each asks every
    // collection from its state minus the overlap (the evening before: − 1).
    let expect = |states: &BTreeMap<String, NaiveDate>| -> BTreeMap<String, NaiveDate> {
        oura_collector::collections::ALL
            .iter()
            .map(|c| (c.name.to_string(), states[c.stream] - Days::new(s.overlap_days + 1)))
            .collect()
    };
    let before = states(&w).await;
    let asked = w.fake.lock().unwrap().queries.len();
    let requests = w.fake.lock().unwrap().requests;
    w.clock.advance(Duration::from_secs(300));
    killed_run(&w, &s, requests + 9).await;
    let killed = oldest_asked(&w, asked);
    assert!(killed.len() >= 5, "{killed:?}");
    for (c, day) in &killed {
        assert_eq!(Some(day), expect(&before).get(c), "{c}: the killed run");
    }
    let before = states(&w).await;
    let asked = w.fake.lock().unwrap().queries.len();
    w.clock.advance(Duration::from_secs(300));
    let report = w.run(&s).await;
    assert_eq!(report.outcome, Outcome::Ok, "{report:#?}");
    assert_eq!(oldest_asked(&w, asked), expect(&before), "nothing stored asked again beyond the overlap");
    w.assert_everything_stored().await;

    // A day later, as usual.
    w.clock.advance(Duration::from_secs(86_400));
    let before = states(&w).await;
    let asked = w.fake.lock().unwrap().queries.len();
    assert_eq!(w.run(&s).await.outcome, Outcome::Ok);
    assert_eq!(oldest_asked(&w, asked), expect(&before));
    w.assert_everything_stored().await;
    assert!(states(&w).await.keys().all(|k| !k.contains("_range_")), "no range without a state to reach before");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backfill_before_the_stored_days_that_fails_part_way_is_finished_by_the_ordinary_runs() {
    let pg = TempPostgres::start();
    let w = world(&pg, "late_backfill", -300, at("2026-10-20T18:00:00Z"), 60).await;
    let mut s = w.settings();
    s.first_run_days = 7;
    // The last week, as usual.
    assert_eq!(w.run(&s).await.outcome, Outcome::Ok);
    let today = w.now().date_naive();

    // Sixty days back: sleep fails after its first chunk, the session scope is withheld.
    {
        // One page a chunk; sleep's second chunk fails (every attempt).
        let mut f = w.fake.lock().unwrap();
        f.page_size = 100;
        let calls = f.calls["sleep"];
        f.scripted = (2..=5).map(|n| ("sleep".to_string(), calls + n, 500)).collect();
        f.granted.remove("session");
    }
    w.clock.advance(Duration::from_secs(300));
    let mut backfill = s.clone();
    backfill.backfill = Some(60);
    let report = w.run(&backfill).await;
    assert_eq!(report.outcome, Outcome::NeedsUser, "{report:#?}");
    assert_eq!((report.failed(true).as_str(), report.failed(false).as_str()), ("session(scope)", "sleep(unavailable)"));
    w.fake.lock().unwrap().scripted.clear();
    // Each collection's backfilled days have a state of their own; the main
    // state (everything since the first run) is where it was.
    let (from, through) = (today - Days::new(60), today - Days::new(s.overlap_days + 1));
    let range = |c: &str| format!("oura_{c}_range_{}_{}", from.format("%Y%m%d"), through.format("%Y%m%d"));
    let st = states(&w).await;
    assert_eq!(st[&range("daily_sleep")], through, "finished");
    assert_eq!(st[&range("session")], from - Days::new(1), "nothing of it fetched");
    let sleep_done = st[&range("sleep")];
    assert!(sleep_done > from && sleep_done < through, "{sleep_done}");
    assert_eq!(st["oura_sleep"], today);
    assert_eq!(st["oura_session"], today);

    // An ordinary run, killed part-way; then more, the scope still withheld.
    let requests = w.fake.lock().unwrap().requests;
    w.clock.advance(Duration::from_secs(300));
    let asked = w.fake.lock().unwrap().queries.len();
    killed_run(&w, &s, requests + 3).await;
    let killed = oldest_asked(&w, asked);
    assert_eq!(killed.get("sleep"), Some(&sleep_done), "the unfinished range from the day after its state");
    assert_eq!(
        killed.get("daily_sleep"),
        Some(&(today - Days::new(s.overlap_days + 1))),
        "a finished range is not asked"
    );
    for _ in 0..2 {
        w.clock.advance(Duration::from_secs(300));
        let asked = w.fake.lock().unwrap().queries.len();
        let report = w.run(&s).await;
        assert_eq!(report.outcome, Outcome::NeedsUser, "{report:#?}");
        assert_eq!(report.failed(true), "session(scope)");
        assert_eq!(report.failed(false), "");
        // Asked each run, from the range's first day.
        assert_eq!(oldest_asked(&w, asked).get("session"), Some(&(from - Days::new(1))));
    }
    assert_eq!(states(&w).await[&range("sleep")], through);

    // Granted: session catches up, the sixty days included; then nothing old is asked again.
    w.fake.lock().unwrap().granted.insert("session");
    w.clock.advance(Duration::from_secs(300));
    assert_eq!(w.run(&s).await.outcome, Outcome::Ok);
    w.assert_everything_stored().await;
    let st = states(&w).await;
    for c in oura_collector::collections::ALL {
        let name = c.stream.trim_start_matches("oura_");
        assert_eq!(st.get(&range(name)), Some(&through), "{}", c.name);
        assert_eq!(st[c.stream], today, "{}", c.name);
    }
    w.clock.advance(Duration::from_secs(300));
    let asked = w.fake.lock().unwrap().queries.len();
    assert_eq!(w.run(&s).await.outcome, Outcome::Ok);
    let oldest = oldest_asked(&w, asked);
    assert_eq!(oldest.len(), 12);
    assert!(oldest.values().all(|d| *d == today - Days::new(s.overlap_days + 1)), "{oldest:?}");
}
