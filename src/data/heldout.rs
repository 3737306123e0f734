//! The held-out set's recipe, fixed when a session is made (`heldout.json`), so that
//! every evaluation of a session scores the same examples with the same masks: later
//! changes to `data.max_seq_len`, `data.mask_prob`, `data.short_seq_prob` or
//! `train.batch_size` (from `resume --set` or the workbench) change training only.

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
    /// Share of tokens scored (80/10/10 as in training).
    pub mask_prob: f64,
    /// Examples per evaluation batch; masks are drawn per batch.
    pub batch_size: usize,
}

impl HeldoutSpec {
    /// The recipe a new session gets from its config.
    pub fn from_config(config: &Config) -> Self {
        Self {
            max_seq_len: config.data.max_seq_len,
            short_seq_prob: config.data.short_seq_prob,
            mask_prob: config.data.mask_prob,
            batch_size: config.train.batch_size.max(1),
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
        c.train.batch_size = self.batch_size;
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
