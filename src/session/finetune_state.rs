//! A classifier session's `finetune.json`: where it came from, its classes, the folds
//! done and the pooled result. Kept with the session's files so that anything listing
//! sessions can read it without the fine-tuning code.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::{write_atomic, Session};
use crate::accuracy::Accuracy;

/// What a classifier session is, and how far its fine-tune has got.
pub const STATE_FILE: &str = "finetune.json";
/// One fold's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldResult {
    pub fold: usize,
    pub correct: usize,
    pub tested: usize,
    pub seconds: f64,
}

/// A classifier session's `finetune.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinetuneState {
    /// The pretraining session it came from, and the step of its weights (None: its
    /// latest weights).
    pub source: String,
    pub source_step: Option<u64>,
    /// Started from random initialisation instead of the source's weights.
    pub from_scratch: bool,
    /// Imported by `import-hf` from the HF folder in `source`: fine-tuned elsewhere,
    /// no folds here.
    #[serde(default)]
    pub imported: bool,
    pub label_column: String,
    /// Class names in id order (`id2label`).
    pub classes: Vec<String>,
    pub folds: usize,
    /// Folds done, in order.
    pub done: Vec<FoldResult>,
    /// Pooled over every test document, once all folds are done.
    pub accuracy: Option<Accuracy>,
}

impl FinetuneState {
    /// The session's state, or None for a pretraining session.
    ///
    /// Errors: a damaged file.
    pub fn read(session: &Session) -> Result<Option<Self>> {
        match std::fs::read(session.path(STATE_FILE)) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .with_context(|| format!("{} is damaged", session.path(STATE_FILE).display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).context("cannot read the fine-tune state"),
        }
    }

    pub fn write(&self, session: &Session) -> Result<()> {
        write_atomic(&session.path(STATE_FILE), &serde_json::to_vec_pretty(self)?)
    }

    /// `74.1% ±1.9 (5 test folds, from `s`@2607)` or how far it got.
    pub fn describe(&self) -> String {
        if self.imported {
            return format!(
                "imported from {} ({} classes, not fine-tuned here)",
                self.source,
                self.classes.len()
            );
        }
        let from = match (self.from_scratch, self.source_step) {
            (true, _) => "from random initialisation".to_string(),
            (false, Some(step)) => format!("from `{}`@{step}", self.source),
            (false, None) => format!("from `{}`", self.source),
        };
        match &self.accuracy {
            Some(a) => format!(
                "{} ({} test fold{}, {from})",
                a.describe(),
                self.folds,
                if self.folds == 1 { "" } else { "s" }
            ),
            None => format!("{}/{} folds done ({from})", self.done.len(), self.folds),
        }
    }
}
