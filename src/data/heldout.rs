//! The held-out set's recipe, fixed when a session is made (`heldout.json`), so that
//! every evaluation of a session scores the same examples with the same masks: later
//! changes to `data.max_seq_len`, `data.mask_prob`, `data.short_seq_prob` or
//! `train.batch_size` (from `resume --set` or the workbench) change training only.
//!
//! New sessions are scored the same way whatever corruption they train with: 15% of the
//! tokens selected, every one shown as `[MASK]` (the fill-in-the-blank task a probe
//! asks), so that held-out losses of sessions trained with other masking rates or
//! replacement shares compare. Sessions made before this keep their own recipe
//! (`data.mask_prob` of their first run, 80/10/10).

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::config::Config;

/// The session file holding the recipe.
pub const HELDOUT_FILE: &str = "heldout.json";

/// What the held-out examples, their masks and the no-context floor are made with.
/// The split itself is fixed by `data.heldout_fraction` and `train.seed`, which a
/// resume cannot change.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HeldoutSpec {
    /// Tokens per example, `[CLS]` and both `[SEP]` included.
    pub max_seq_len: usize,
    pub short_seq_prob: f64,
    /// Share of tokens scored.
    pub mask_prob: f64,
    /// Share of the scored tokens shown as `[MASK]` (files without it: 0.8).
    #[serde(default = "bert_mask_replace")]
    pub mask_replace_prob: f64,
    /// Share of the scored tokens shown as a random token (files without it: 0.1).
    #[serde(default = "bert_random_replace")]
    pub random_replace_prob: f64,
    /// Examples per evaluation batch; masks are drawn per batch.
    pub batch_size: usize,
    /// At most this many held-out examples are scored: a subset fixed by the seed, so
    /// that an evaluation (and the collated held-out batches in memory) costs the same
    /// on a corpus of any size. Files without it (sessions made before): every one.
    #[serde(default)]
    pub max_examples: Option<usize>,
}

/// The held-out examples a new session scores at most (5,743 on the 25,000 IMDB
/// reviews, all of them; a 1 GB corpus gives about 181,000).
pub const MAX_EVAL_EXAMPLES: usize = 8192;

/// The share of tokens every new session is scored on, each shown as `[MASK]`.
pub const EVAL_MASK_PROB: f64 = 0.15;

/// Recipes written before the shares were recorded used BERT's 80/10/10.
fn bert_mask_replace() -> f64 {
    0.8
}

fn bert_random_replace() -> f64 {
    0.1
}

impl HeldoutSpec {
    /// The recipe a new session gets from its config: its example shapes and batch
    /// size, with [`EVAL_MASK_PROB`] of the tokens scored, all shown as `[MASK]`.
    pub fn from_config(config: &Config) -> Self {
        Self {
            max_seq_len: config.data.max_seq_len,
            short_seq_prob: config.data.short_seq_prob,
            mask_prob: EVAL_MASK_PROB,
            mask_replace_prob: 1.0,
            random_replace_prob: 0.0,
            batch_size: config.train.batch_size.max(1),
            max_examples: Some(MAX_EVAL_EXAMPLES),
        }
    }

    /// The session's recipe; a session without one (made before it was recorded) gets
    /// its current config's, written down so that it stays fixed from now on.
    ///
    /// Errors: the file exists but cannot be read or parsed, or cannot be written.
    pub fn for_session(dir: &Path, config: &Config) -> Result<Self> {
        let path = dir.join(HELDOUT_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "{} is damaged; restore it, or start a new session",
                    path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let spec = Self::from_config(config);
                crate::session::write_atomic(&path, &serde_json::to_vec_pretty(&spec)?)?;
                Ok(spec)
            }
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// `config` with this recipe's data keys, for building the held-out set.
    pub fn apply(&self, config: &Config) -> Config {
        let mut c = config.clone();
        c.data.max_seq_len = self.max_seq_len;
        c.data.short_seq_prob = self.short_seq_prob;
        c.data.mask_prob = self.mask_prob;
        c.data.mask_replace_prob = self.mask_replace_prob;
        c.data.random_replace_prob = self.random_replace_prob;
        c.train.batch_size = self.batch_size;
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_recipes_cap_the_examples_and_old_files_keep_all() {
        let config = Config::default();
        let fresh = HeldoutSpec::from_config(&config);
        assert_eq!(fresh.max_examples, Some(MAX_EVAL_EXAMPLES));
        let old = r#"{"max_seq_len":128,"short_seq_prob":0.1,"mask_prob":0.15,"batch_size":32}"#;
        let spec: HeldoutSpec = serde_json::from_str(old).unwrap();
        assert_eq!(spec.max_examples, None);
        assert_eq!(
            (spec.mask_replace_prob, spec.random_replace_prob),
            (0.8, 0.1)
        );
    }

    #[test]
    fn the_first_recipe_stays_whatever_the_config_says_later() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        let first = HeldoutSpec::for_session(dir.path(), &config).unwrap();
        config.data.mask_prob = 0.3;
        config.data.max_seq_len = 32;
        config.train.batch_size = 3;
        let later = HeldoutSpec::for_session(dir.path(), &config).unwrap();
        assert_eq!(first, later);
        assert_eq!(later, HeldoutSpec::from_config(&Config::default()));
    }

    #[test]
    fn new_sessions_are_scored_with_the_same_masking_whatever_they_train_with() {
        let mut config = Config::default();
        config.data.mask_prob = 0.4;
        config.data.mask_replace_prob = 0.5;
        config.data.random_replace_prob = 0.3;
        let spec = HeldoutSpec::from_config(&config);
        let applied = spec.apply(&config).data;
        assert_eq!(
            (
                applied.mask_prob,
                applied.mask_replace_prob,
                applied.random_replace_prob
            ),
            (0.15, 1.0, 0.0)
        );
        assert_eq!(spec, HeldoutSpec::from_config(&Config::default()));
    }

    #[test]
    fn a_recipe_written_before_the_replacement_shares_reads_as_bert() {
        let old =
            r#"{"max_seq_len": 64, "short_seq_prob": 0.1, "mask_prob": 0.3, "batch_size": 8}"#;
        let spec: HeldoutSpec = serde_json::from_str(old).unwrap();
        assert_eq!(spec.mask_prob, 0.3, "an old session keeps its own rate");
        assert_eq!(
            (spec.mask_replace_prob, spec.random_replace_prob),
            (0.8, 0.1)
        );
    }
}
