//! Slow clients against the data-processor binary, configured from the
//! environment as the chart runs it: slow headers are cut at the header
//! read timeout, a stalled body at the body read timeout (408), a body
//! trickling just fast enough at the request timeout (503) — and the
//! service keeps serving meanwhile. (The same test runs against api-service.)

use std::time::Duration;

use myhealth_common::testing::{Binary, Slow, SlowOutcome, slow_clients};

/// The slow clients' outcomes: each closed by the server no earlier than
/// `at_least` (so by that timeout, not by something quicker), with an
/// answer starting `answer`.
fn judge(what: &str, outcomes: &[SlowOutcome], at_least: Duration, answer: &str) {
    let mut closed: Vec<Duration> = Vec::new();
    for (i, o) in outcomes.iter().enumerate() {
        let after =
            o.closed_after.unwrap_or_else(|| panic!("{what}: connection {i} still open when the client gave up"));
        assert!(after >= at_least, "{what}: connection {i} closed after {after:?}, before the {at_least:?} timeout");
        assert!(o.answer.starts_with(answer), "{what}: connection {i} answered {:?}", o.answer);
        if !answer.is_empty() {
            assert!(o.answer.contains("\"error\""), "{what}: not the JSON error shape: {:?}", o.answer);
        }
        closed.push(after);
    }
    closed.sort();
    println!(
        "{what}: {} connections, all closed by the server after {:.2}–{:.2} s (timeout {:?})",
        closed.len(),
        closed[0].as_secs_f64(),
        closed[closed.len() - 1].as_secs_f64(),
        at_least
    );
}

/// The binary with 1 s header and body read timeouts and a 3 s request
/// timeout: 100 clients sending their headers a byte every 200 ms, 20
/// sending a body and stalling, 20 trickling a body faster than the body
/// timeout — while another client is served as usual.
async fn slow_clients_are_cut_off(binary: &str, env: &[(&str, &str)], post: &str) {
    let mut env = env.to_vec();
    env.extend([
        ("HEADER_READ_TIMEOUT_SECONDS", "1"),
        ("BODY_READ_TIMEOUT_SECONDS", "1"),
        ("REQUEST_TIMEOUT_SECONDS", "3"),
    ]);
    let b = Binary::start(binary, &env).await;
    let tick = Duration::from_millis(200);
    let (headers, health) =
        tokio::join!(slow_clients(b.addr, "/health", 100, Slow::Headers, tick, Duration::from_secs(10)), async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            reqwest::get(format!("http://{}/health", b.addr)).await.unwrap().status()
        });
    assert_eq!(health, 200, "served while 100 slow clients hold connections");
    judge("slow headers", &headers, Duration::from_secs(1), "");
    let stalled = slow_clients(b.addr, post, 20, Slow::StalledBody, tick, Duration::from_secs(10)).await;
    judge("stalled bodies", &stalled, Duration::from_secs(1), "HTTP/1.1 408");
    let trickling =
        slow_clients(b.addr, post, 20, Slow::TricklingBody, Duration::from_millis(300), Duration::from_secs(15)).await;
    judge("trickling bodies", &trickling, Duration::from_secs(3), "HTTP/1.1 503");
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_clients_are_cut_off_by_the_timeouts() {
    let env = [("DATABASE_URL", "postgres://nobody@127.0.0.1:9/none"), ("DB_MIGRATE", "false")];
    slow_clients_are_cut_off(env!("CARGO_BIN_EXE_data-processor"), &env, "/api/v1/ingest").await;
}
