//! Runs that go wrong, and how the next ones remember it — against the fake
//! Oura API built from the contract and the real data-processor on a real
//! PostgreSQL:
//!
//! - an access token revoked after N requests (Oura answers 401 until a
//!   refresh), for several N — between two collections and between two pages
//!   of one — is refreshed once, the rotated refresh token persisted, and the
//!   refused request asked again: nothing is taken for a withheld scope.

mod common;

use chrono::{DateTime, Utc};
use common::{World, world};
use myhealth_common::testing::TempPostgres;
use oura_collector::Outcome;
use serde_json::Value;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
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
