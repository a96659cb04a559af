//! Batches for the data-processor: documents of any collections, kept as
//! the raw JSON Oura sent, packed into bodies under a byte limit (the
//! processor's `MAX_BODY_BYTES`; a 413 halves ours and resends). The sync
//! states a batch completes (plan.rs) are advanced only after it is stored. When the
//! processor refuses one collection's document (422 naming the collection),
//! that collection is dropped from the batch and failed; the rest is sent.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::Job;
use crate::collections::Collection;
use crate::processor::{IngestError, Processor};

/// The identity of a document within a collection, for deduplication
/// across touching chunks: its id; heart-rate samples by time and source;
/// documents without an id by their day.
pub fn key(c: &Collection, doc: &RawValue) -> String {
    #[derive(Deserialize)]
    struct Key<'a> {
        #[serde(borrow)]
        id: Option<std::borrow::Cow<'a, str>>,
        #[serde(borrow)]
        day: Option<std::borrow::Cow<'a, str>>,
        #[serde(borrow)]
        timestamp: Option<std::borrow::Cow<'a, str>>,
        #[serde(borrow)]
        source: Option<std::borrow::Cow<'a, str>>,
    }
    match serde_json::from_str::<Key>(doc.get()) {
        Ok(k) if c.name == myhealth_common::oura::HEARTRATE => {
            format!("{}|{}", k.timestamp.unwrap_or_default(), k.source.unwrap_or_default())
        }
        Ok(Key { id: Some(id), .. }) => id.into_owned(),
        Ok(Key { day: Some(day), .. }) => format!("day:{day}"),
        // Not an object we can key: keep it (the processor will judge it).
        _ => doc.get().to_string(),
    }
}

pub struct Batch {
    max_bytes: usize,
    docs: Vec<(usize, &'static str, Box<RawValue>)>,
    bytes: usize,
    /// (job, group of its plan, the day its chunks so far are complete through).
    advances: Vec<(usize, usize, NaiveDate)>,
}

/// Room for the keys, brackets and the run's framing.
const FRAMING: usize = 1024;

impl Batch {
    pub fn new(max_bytes: usize) -> Batch {
        Batch { max_bytes: max_bytes.max(2 * FRAMING), docs: Vec::new(), bytes: FRAMING, advances: Vec::new() }
    }

    pub fn push(&mut self, job: usize, collection: &'static str, doc: Box<RawValue>) {
        self.bytes += doc.get().len() + 1;
        self.docs.push((job, collection, doc));
    }

    /// The states of group `group` of job `job`'s plan may move to `day` once
    /// what it pushed so far is stored.
    pub fn advance(&mut self, job: usize, group: usize, day: NaiveDate) {
        self.advances.push((job, group, day));
    }

    pub fn full(&self) -> bool {
        self.bytes >= self.max_bytes
    }

    fn body(docs: &[(usize, &'static str, Box<RawValue>)]) -> Vec<u8> {
        let mut by: BTreeMap<&str, Vec<&RawValue>> = BTreeMap::new();
        for (_, c, d) in docs {
            by.entry(c).or_default().push(d);
        }
        serde_json::to_vec(&by).expect("raw JSON serialises")
    }

    /// Store everything pushed, then advance the sync states it completes.
    /// An error means the processor cannot take batches now (the run stops).
    pub(crate) async fn flush(&mut self, processor: &Processor, jobs: &mut [Job]) -> anyhow::Result<()> {
        let mut docs = std::mem::take(&mut self.docs);
        self.bytes = FRAMING;
        while !docs.is_empty() {
            // The longest prefix under the limit (at least one document).
            let mut size = FRAMING;
            let mut n = 0;
            while n < docs.len() && (n == 0 || size + docs[n].2.get().len() < self.max_bytes) {
                size += docs[n].2.get().len() + 1;
                n += 1;
            }
            match processor.ingest(Self::body(&docs[..n])).await {
                Ok(()) => {
                    docs.drain(..n);
                }
                Err(IngestError::Invalid { collection, message }) => {
                    let Some(i) = jobs.iter().position(|j| j.c.name == collection) else {
                        anyhow::bail!("the data-processor refused a collection this run did not send: {message}");
                    };
                    // Drop that collection, keep the rest (its earlier, stored chunks stay stored).
                    docs.retain(|d| d.0 != i);
                    self.advances.retain(|a| a.0 != i);
                    jobs[i].fail("invalid", message);
                }
                Err(IngestError::TooLarge) if n > 1 => {
                    self.max_bytes = (size / 2).max(2 * FRAMING);
                    tracing::warn!(
                        max_bytes = self.max_bytes,
                        "the data-processor's body limit is lower: smaller batches"
                    );
                }
                Err(IngestError::TooLarge) => {
                    let i = docs[0].0;
                    docs.retain(|d| d.0 != i);
                    self.advances.retain(|a| a.0 != i);
                    jobs[i].fail("invalid", "a single document is larger than the data-processor accepts".into());
                }
                Err(IngestError::Failed(e)) => anyhow::bail!(e),
            }
        }
        for (i, group, day) in std::mem::take(&mut self.advances) {
            let j = &mut jobs[i];
            for a in &j.plan.groups[group] {
                let to = a.to(day);
                if j.states.get(&a.stream).is_none_or(|s| *s < to) {
                    processor.advance(&a.stream, to).await?;
                    j.states.insert(a.stream.clone(), to);
                }
            }
        }
        Ok(())
    }
}
