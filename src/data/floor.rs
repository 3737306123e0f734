//! The no-context floor: the held-out MLM loss of the best predictor that ignores the
//! sentence and looks only at the token shown at a scored position.
//!
//! Such a predictor knows the training unigram `p` and the masking rule. Where it sees
//! `[MASK]` the answer is drawn from `p`. Where it sees a real token `s`, the position
//! was either kept (share `k` of the selected tokens; the answer is `s`) or replaced by a
//! uniform random token (share `ρ`, drawing `s` with probability `r(s)`; the answer is
//! anything, drawn from `p`), so the posterior is
//! `q(t | s) = p(t) (k 1[t = s] + ρ r(s)) / (k p(s) + ρ r(s))` (BERT: `k = ρ = 0.1`).
//!
//! Early in training BERT sits on this floor for a long time (the "unigram plateau"): a
//! held-out MLM loss above it means the model does not use context yet; the first words
//! that fit a sentence appear only once the loss goes below it.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::masking::{MaskConfig, IGNORE};
use super::{HostBatch, TokenizedCorpus};

/// The session file that records the floor, for readers of a saved session that do
/// not prepare its corpus (`bertwork report`).
pub const FLOOR_FILE: &str = "floor.json";

/// What [`FLOOR_FILE`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FloorRecord {
    /// [`no_context_loss`] of the session's held-out batches, in nats per scored token
    /// (the unit of the held-out MLM loss).
    pub no_context_mlm_loss: f64,
}

/// Records the floor of the session in `dir` (written when a run starts; the same
/// value every time, since the corpus, the split and the held-out recipe are fixed).
/// A floor that could not be computed (no held-out positions) is not written.
///
/// Errors: the file cannot be written.
pub fn save(dir: &Path, no_context_mlm_loss: f64) -> Result<()> {
    if !no_context_mlm_loss.is_finite() {
        return Ok(());
    }
    let record = FloorRecord {
        no_context_mlm_loss,
    };
    crate::session::write_atomic(&dir.join(FLOOR_FILE), &serde_json::to_vec_pretty(&record)?)
}

/// The floor the session in `dir` recorded; None when it has none (made before the
/// floor was recorded, and not resumed since).
///
/// Errors: the file exists but cannot be read or parsed.
pub fn load(dir: &Path) -> Result<Option<f64>> {
    let path = dir.join(FLOOR_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice::<FloorRecord>(&bytes)
            .map(|r| Some(r.no_context_mlm_loss).filter(|f| f.is_finite()))
            .with_context(|| {
                format!(
                    "{} is damaged; resume the session to write it again",
                    path.display()
                )
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Add-one smoothed unigram over the tokens masking can select (all but `[CLS]`,
/// `[SEP]`, `[PAD]`, `[MASK]`), from the training split.
pub struct Unigram {
    probs: Vec<f64>,
}

impl Unigram {
    pub fn fit(train: &TokenizedCorpus, mask: &MaskConfig) -> Self {
        let mut counts = vec![0u64; mask.vocab_size];
        for t in train.tokens() {
            if let Some(c) = counts.get_mut(t as usize) {
                *c += 1;
            }
        }
        let (mut total, mut kinds) = (0u64, 0u64);
        for (id, &c) in counts.iter().enumerate() {
            if mask.selectable(id as u32) {
                total += c;
                kinds += 1;
            }
        }
        let denominator = (total + kinds).max(1) as f64;
        let probs = counts
            .iter()
            .enumerate()
            .map(|(id, &c)| {
                if mask.selectable(id as u32) {
                    (c + 1) as f64 / denominator
                } else {
                    0.0
                }
            })
            .collect();
        Self { probs }
    }

    fn p(&self, id: i64) -> f64 {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.probs.get(i))
            .copied()
            .unwrap_or(0.0)
    }
}

/// Probability that a random replacement shows `id`.
fn random_draw(id: i64, mask: &MaskConfig) -> f64 {
    u32::try_from(id).map_or(0.0, |id| mask.random_token_prob(id))
}

/// Negative log-probability the no-context predictor gives the `label` at a position
/// that shows `shown`.
pub fn position_loss(unigram: &Unigram, mask: &MaskConfig, shown: i64, label: i64) -> f64 {
    let p_label = unigram.p(label);
    let q = if shown == mask.specials.mask as i64 {
        p_label
    } else {
        let kept = (1.0 - mask.mask_replace_prob - mask.random_replace_prob).max(0.0);
        let r = mask.random_replace_prob * random_draw(shown, mask);
        let same = if shown == label { kept } else { 0.0 };
        p_label * (same + r) / (kept * unigram.p(shown) + r)
    };
    -q.max(f64::MIN_POSITIVE).ln()
}

/// Mean no-context loss over the scored positions of `batches` (the fixed held-out
/// batches, so it compares directly with the held-out MLM loss).
pub fn no_context_loss(unigram: &Unigram, mask: &MaskConfig, batches: &[HostBatch]) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for b in batches {
        for (&shown, &label) in b.input_ids.iter().zip(&b.mlm_labels) {
            if label != IGNORE {
                sum += position_loss(unigram, mask, shown, label);
                n += 1;
            }
        }
    }
    if n == 0 {
        f64::NAN
    } else {
        sum / n as f64
    }
}

#[cfg(test)]
mod tests;
