//! Batch preparation ahead of the trainer: one thread per epoch masks and collates
//! batches into a bounded channel, so data is ready when the trainer asks. Under
//! data-parallel training each rank collates only its shard of every global batch.

use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{bounded, Receiver};

use super::batch::{collate_each, HostBatch};
use super::masking::MaskConfig;
use super::pairs::{examples, PairSpan};
use super::{rng_for, TokenizedCorpus};
use crate::tokenizer::SpecialIds;

/// Batches the prefetch thread keeps ready.
const AHEAD: usize = 4;

/// This process's part of each global batch: rank `rank` of `world_size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub rank: usize,
    pub world_size: usize,
}

impl Shard {
    /// One process: the whole batch.
    pub const WHOLE: Shard = Shard {
        rank: 0,
        world_size: 1,
    };

    /// The range of a global batch of `len` examples this rank trains on: contiguous
    /// and as even as can be (the first `len % world_size` ranks take one more), so
    /// that 2 ranks x 16 see exactly the examples of 1 x 32.
    pub fn range(&self, len: usize) -> std::ops::Range<usize> {
        let (base, extra) = (len / self.world_size, len % self.world_size);
        let start = self.rank * base + self.rank.min(extra);
        start..start + base + usize::from(self.rank < extra)
    }
}

/// One rank's share of a global batch.
pub struct ShardBatch {
    pub host: HostBatch,
    /// Examples in the global batch (every rank's share together).
    pub global_examples: usize,
    /// False when this rank's share is empty (a global batch smaller than the world):
    /// `host` then holds the batch's first example so that the rank still computes a
    /// gradient of every parameter, and its losses must count for nothing.
    pub counts: bool,
}

pub struct Prefetch {
    pub batches: Receiver<ShardBatch>,
    handle: Option<JoinHandle<()>>,
}

impl Prefetch {
    /// Streams `examples` in order as global batches of `batch_size x
    /// shard.world_size`, starting at example `skip` (the epoch's examples already
    /// trained on, whatever batch size or world size they were trained at), and
    /// collates this rank's share of each. Each example's masks are drawn from a
    /// stream fixed by (`seed`, `epoch`, the example's index in the epoch), so they do
    /// not depend on batch size, world size or resumes. A batch's ids are read from
    /// `corpus` (the corpus the spans were made from) only when it is collated.
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
        shard: Shard,
    ) -> Self {
        let (tx, rx) = bounded(AHEAD);
        let global = batch_size.max(1) * shard.world_size.max(1);
        let handle = std::thread::Builder::new()
            .name("bertwork-batches".into())
            .spawn(move || {
                let rest = spans.get(skip..).unwrap_or_default();
                for (i, chunk) in rest.chunks(global).enumerate() {
                    let first = skip + i * global;
                    let range = shard.range(chunk.len());
                    let counts = !range.is_empty();
                    let range = if counts { range } else { 0..1 };
                    let start = first + range.start;
                    let mine = examples(&chunk[range], &corpus, specials);
                    let host = collate_each(&mine, &mask, |row| {
                        rng_for(seed, "mask", epoch << 32 | (start + row) as u64)
                    });
                    let batch = ShardBatch {
                        host,
                        global_examples: chunk.len(),
                        counts,
                    };
                    if tx.send(batch).is_err() {
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

#[cfg(test)]
mod tests {
    use super::Shard;

    #[test]
    fn shards_cover_a_batch_once_in_order() {
        for world_size in 1..6 {
            for len in 0..40 {
                let mut next = 0;
                for rank in 0..world_size {
                    let r = Shard { rank, world_size }.range(len);
                    assert_eq!(r.start, next, "len {len} world {world_size}");
                    let even = len / world_size;
                    assert!(r.len() == even || r.len() == even + 1);
                    next = r.end;
                }
                assert_eq!(next, len);
            }
        }
        assert_eq!(
            Shard {
                rank: 1,
                world_size: 2
            }
            .range(32),
            16..32
        );
    }
}
