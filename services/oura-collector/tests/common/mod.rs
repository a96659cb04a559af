//! The world the collector's tests run in: a real PostgreSQL (throwaway
//! cluster), the real data-processor in front of it, the fake Oura API from
//! the contract, a token file, and one clock shared by the fake and the
//! collector. Every test binary uses all of it: what one binary alone
//! needs stays in that binary.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, Days, Utc};
use myhealth_common::testing::{TempPostgres, serve};
use oura_collector::Settings;
use oura_collector::clock::{Clock, ManualClock};
use oura_collector::fake::{self, Oura, User};
use serde_json::Value;

pub struct World {
    pub processor: SocketAddr,
    pub pool: sqlx::PgPool,
    pub oura: SocketAddr,
    pub fake: fake::Shared,
    pub clock: ManualClock,
    pub token_file: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

pub async fn processor(pg: &TempPostgres, db: &str, max_body: usize) -> (SocketAddr, sqlx::PgPool) {
    let url = pg.database(db).await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    data_processor::MIGRATOR.run(&pool).await.unwrap();
    let app = data_processor::app(
        data_processor::AppState { pool: pool.clone() },
        myhealth_common::telemetry::init_metrics(),
        max_body,
    );
    (serve(app).await, pool)
}

/// A user at `offset_minutes` east of UTC with data from `history_days` before `now`.
pub async fn world(pg: &TempPostgres, db: &str, offset_minutes: i32, now: DateTime<Utc>, history_days: u64) -> World {
    let (processor, pool) = processor(pg, db, 8 << 20).await;
    let clock = ManualClock::new(now);
    let user = User {
        utc_offset_minutes: offset_minutes,
        first_day: now.date_naive() - Days::new(history_days),
        heart_rate_every_minutes: 30,
        seed: offset_minutes.unsigned_abs() as u64 + 1,
    };
    let (oura, fake) = fake::start(Oura::new(user, Arc::new(clock.clone()))).await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("oura-token.json");
    std::fs::write(&token_file, "refresh-0").unwrap();
    World { processor, pool, oura, fake, clock, token_file, _dir: dir }
}

impl World {
    pub fn settings(&self) -> Settings {
        Settings {
            oura_base_url: format!("http://{}", self.oura),
            client_id: "cid".into(),
            client_secret: "csecret".into(),
            token_secret_id: None,
            token_file: Some(self.token_file.clone()),
            processor_url: format!("http://{}", self.processor),
            overlap_days: 2,
            backfill: None,
            first_run_days: 45,
            collections: vec![],
            max_requests_per_run: 1000,
            batch_max_bytes: 4 << 20,
            http_timeout_seconds: 5,
            max_attempts: 4,
            backoff_base_ms: 10,
        }
    }

    pub async fn run(&self, s: &Settings) -> oura_collector::Report {
        oura_collector::run_with(s, Arc::new(self.clock.clone())).await.unwrap()
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// What the fake holds now, per collection.
    pub fn snapshot(&self) -> BTreeMap<&'static str, Vec<Value>> {
        let now = self.now();
        self.fake.lock().unwrap().snapshot(now)
    }

    pub async fn raw(&self, kind: &str) -> BTreeMap<String, Value> {
        let rows: Vec<(String, sqlx::types::Json<Value>)> =
            sqlx::query_as("SELECT oura_id, payload FROM raw_documents WHERE kind = $1")
                .bind(kind)
                .fetch_all(&self.pool)
                .await
                .unwrap();
        rows.into_iter().map(|(k, v)| (k, v.0)).collect()
    }

    pub async fn heart_rate(&self) -> BTreeMap<(DateTime<Utc>, String), i16> {
        let rows: Vec<(DateTime<Utc>, String, i16)> =
            sqlx::query_as("SELECT ts, source, bpm FROM heart_rate_samples").fetch_all(&self.pool).await.unwrap();
        rows.into_iter().map(|(t, s, b)| ((t, s), b)).collect()
    }

    pub async fn synced(&self, stream: &str) -> Option<chrono::NaiveDate> {
        sqlx::query_scalar("SELECT last_synced_day FROM sync_state WHERE stream = $1")
            .bind(stream)
            .fetch_optional(&self.pool)
            .await
            .unwrap()
    }

    /// Rows of a table.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")).fetch_one(&self.pool).await.unwrap()
    }

    /// Every document the fake holds is stored exactly once, raw, as the fake sent it
    /// (heart-rate samples as rows with their values).
    pub async fn assert_everything_stored(&self) {
        for (collection, docs) in self.snapshot() {
            if collection == myhealth_common::oura::HEARTRATE {
                let stored = self.heart_rate().await;
                let expected: BTreeMap<(DateTime<Utc>, String), i16> = docs
                    .iter()
                    .map(|d| {
                        let t: DateTime<Utc> = d["timestamp"].as_str().unwrap().parse().unwrap();
                        ((t, d["source"].as_str().unwrap().to_string()), d["bpm"].as_i64().unwrap() as i16)
                    })
                    .collect();
                assert_eq!(
                    self.count("heart_rate_samples").await as usize,
                    expected.len(),
                    "heart-rate samples stored vs held"
                );
                assert!(stored == expected, "heart-rate samples differ from the fake's");
                continue;
            }
            let stored = self.raw(collection).await;
            assert_eq!(stored.len(), docs.len(), "{collection}: stored {} of {} documents", stored.len(), docs.len());
            for d in &docs {
                let id = d["id"].as_str().unwrap();
                assert_eq!(stored.get(id), Some(d), "{collection}/{id} is not stored as the fake holds it");
            }
        }
    }
}
