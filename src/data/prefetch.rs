//! Batch preparation ahead of the trainer: one thread per epoch masks and collates
//! batches into a bounded channel, so data is ready when the trainer asks.

use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{bounded, Receiver};

use super::batch::{collate, HostBatch};
use super::masking::MaskConfig;
use super::pairs::{examples, PairSpan};
use super::{rng_for, TokenizedCorpus};
use crate::tokenizer::SpecialIds;

/// Batches the prefetch thread keeps ready.
const AHEAD: usize = 4;

pub struct Prefetch {
    pub batches: Receiver<HostBatch>,
    handle: Option<JoinHandle<()>>,
}

impl Prefetch {
    /// Streams `examples` in order as batches of `batch_size`, starting at example
    /// `skip` (the epoch's examples already trained on, whatever batch size they were
    /// trained at); each batch's masks are drawn from a stream fixed by (`seed`,
    /// `epoch`, the index of its first example). A batch's ids are read from `corpus`
    /// (the corpus the spans were made from) only when it is collated.
    #[allow(clippy::too_many_arguments)]
    pub fn spawn(
        spans: Arc<Vec<PairSpan>>,
        corpus: Arc<TokenizedCorpus>,
        specials: SpecialIds,
        batch_size: usize,
        mask: MaskConfig,
        seed: u64,
        epoch: u64,
        skip: usize,
    ) -> Self {
        let (tx, rx) = bounded(AHEAD);
        let handle = std::thread::Builder::new()
            .name("bertwork-batches".into())
            .spawn(move || {
                let rest = spans.get(skip..).unwrap_or_default();
                for (i, chunk) in rest.chunks(batch_size.max(1)).enumerate() {
                    // One stream per batch, keyed by where it starts: a resumed epoch
                    // masks its batches exactly as the uninterrupted run did.
                    let first = (skip + i * batch_size) as u64;
                    let mut rng = rng_for(seed, "mask", epoch << 32 | first);
                    let chunk = examples(chunk, &corpus, specials);
                    if tx.send(collate(&chunk, &mask, &mut rng)).is_err() {
                        return;
                    }
                }
            })
            .expect("spawning the batch thread");
        Self {
            batches: rx,
            handle: Some(handle),
        }
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        // Unblock the producer (its send fails once the receiver is gone), then join.
        let (_, dead) = bounded(0);
        self.batches = dead;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
