//! Tokenized documents, the held-out split, NSP pairs, masking and batches.

pub mod batch;
pub mod cache;
pub mod floor;
pub mod heldout;
pub mod masking;
pub mod pairs;
pub mod prefetch;
mod store;
pub mod store_file;
pub mod tokenized;

pub use batch::HostBatch;
pub use tokenized::TokenizedCorpus;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A reproducible random stream for (`seed`, `purpose`, `index`): the same triple always
/// gives the same numbers, whatever else ran before (which is what makes an epoch's data
/// reproducible on resume).
pub fn rng_for(seed: u64, purpose: &str, index: u64) -> ChaCha8Rng {
    // FNV-1a over the purpose, mixed with the seed and index by SplitMix64 steps.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in purpose.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    let mut x = seed ^ h.rotate_left(17) ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ChaCha8Rng::seed_from_u64(x ^ (x >> 31))
}
