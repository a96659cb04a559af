//! Answers of the data routes, cached: the single user asks the same few
//! questions again and again, and every answer only changes when the
//! data-processor stores a batch (every 5 minutes). The processor sends
//! `NOTIFY myhealth_ingest` in the transaction that stores it; a listener
//! here drops every cached answer when that commits. While the listener is
//! not connected nothing is cached, a cached answer is never older than
//! [`MAX_AGE`], and at most [`MAX_ENTRIES`] answers are kept (keyed by the
//! request's path and query, and kept for the day they were computed on, so
//! "today" is never stale). A lookup allocates nothing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use chrono::NaiveDate;
use sqlx::PgPool;
use sqlx::postgres::PgListener;

/// A safety net: even with a healthy listener, answers are recomputed this often.
pub const MAX_AGE: Duration = Duration::from_secs(60);
/// Distinct answers kept at once (a client walking odd queries cannot grow memory without bound).
pub const MAX_ENTRIES: usize = 4096;

#[derive(Default)]
pub struct Cache {
    listening: AtomicBool,
    /// Bumped by every invalidation: an answer computed across one is not kept.
    generation: AtomicU64,
    answers: RwLock<HashMap<String, Answer>>,
}

/// A kept answer: when and for which day it was computed.
struct Answer {
    at: Instant,
    day: NaiveDate,
    body: Bytes,
}

impl Cache {
    /// The cached answer for `key` on `day`, if there is a fresh one.
    pub fn get(&self, key: &str, day: NaiveDate) -> Option<Bytes> {
        if !self.listening.load(Ordering::Acquire) {
            return None;
        }
        let guard = self.answers.read().unwrap_or_else(|e| e.into_inner());
        guard.get(key).filter(|a| a.day == day && a.at.elapsed() < MAX_AGE).map(|a| a.body.clone())
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keep `body` for `key` on `day`, computed from data read after `generation` was taken.
    pub fn put(&self, generation: u64, key: String, day: NaiveDate, body: Bytes) {
        let mut guard = self.answers.write().unwrap_or_else(|e| e.into_inner());
        if self.listening.load(Ordering::Acquire) && self.generation() == generation {
            if guard.len() >= MAX_ENTRIES {
                guard.retain(|_, a| a.at.elapsed() < MAX_AGE);
                if guard.len() >= MAX_ENTRIES {
                    guard.clear();
                }
            }
            guard.insert(key, Answer { at: Instant::now(), day, body });
        }
    }

    pub fn invalidate(&self) {
        let mut guard = self.answers.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        guard.clear();
    }

    fn set_listening(&self, on: bool) {
        self.invalidate();
        self.listening.store(on, Ordering::Release);
    }
}

/// A cached route: its name (the `route` label) and its hit and miss
/// counters, registered on first use rather than looked up by name and
/// labels on every request. Declared `static` where the route is.
pub struct Route {
    pub name: &'static str,
    counters: std::sync::OnceLock<[myhealth_common::metrics::Counter; 2]>,
}

impl Route {
    pub const fn new(name: &'static str) -> Route {
        Route { name, counters: std::sync::OnceLock::new() }
    }

    /// Count a hit or a miss in `response_cache_total{route,result}`.
    pub fn count(&self, hit: bool) {
        use myhealth_common::metrics::counter;
        let [hits, misses] = self.counters.get_or_init(|| {
            [
                counter!("response_cache_total", "route" => self.name, "result" => "hit"),
                counter!("response_cache_total", "route" => self.name, "result" => "miss"),
            ]
        });
        if hit { hits } else { misses }.increment(1);
    }
}

/// Listen for stored batches for as long as the process lives, reconnecting
/// with backoff; caching is off whenever the listener is not connected.
pub fn spawn_listener(pool: PgPool, cache: Arc<Cache>) {
    tokio::spawn(async move {
        let mut wait = Duration::from_millis(500);
        loop {
            match PgListener::connect_with(&pool).await {
                Ok(mut listener) => {
                    if let Err(e) = listener.listen(myhealth_common::db::INGEST_CHANNEL).await {
                        tracing::warn!(error = %e, "cannot listen for stored batches");
                    } else {
                        cache.set_listening(true);
                        wait = Duration::from_millis(500);
                        // `try_recv` reports a lost connection as `None` instead of reconnecting
                        // silently, so no notification can be missed while the cache is on.
                        loop {
                            match listener.try_recv().await {
                                Ok(Some(_)) => cache.invalidate(),
                                Ok(None) => break tracing::warn!("notification connection lost"),
                                Err(e) => break tracing::warn!(error = %e, "notification listener failed"),
                            }
                        }
                    }
                    cache.set_listening(false);
                }
                Err(e) => tracing::debug!(error = %e, "notification listener cannot connect"),
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(30));
        }
    });
}
