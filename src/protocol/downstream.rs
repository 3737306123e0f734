//! What the trainer reports about downstream quality: the labelled documents it scores,
//! the baselines on them, and each reading of the linear probe on frozen features.

use serde::{Deserialize, Serialize};

pub use crate::accuracy::{half_width_95, Accuracy};

/// The labelled documents a session scores and what simple methods get on them.
/// Sent once after `Started` (also on a resume), stored in the session's
/// `downstream.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DownstreamSetup {
    /// The corpus column holding the classes.
    pub label_column: String,
    /// Each class and how many labelled documents of the corpus have it, most first.
    pub classes: Vec<(String, usize)>,
    /// Documents the probe is scored on (a seeded sample of the labelled ones).
    pub documents: usize,
    /// Folds of the stratified split; every fold is a test fold in turn unless
    /// `strict`.
    pub folds: usize,
    /// Test documents (fold 0 only) were kept out of pretraining.
    pub strict: bool,
    /// Always answering the most frequent class of the training folds.
    pub majority: Accuracy,
    /// TF-IDF of word unigrams and bigrams (sublinear tf, min_df 2, L2-normalised),
    /// L2 logistic regression (C = 10), on the same folds.
    pub tfidf: Accuracy,
    /// The linear probe on the encoder as initialised (step 0); None when the session
    /// did not start from random weights (an import) or started before this existed.
    pub untrained: Option<Accuracy>,
}

/// One reading of the linear probe on frozen features, at a held-out evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DownstreamReading {
    pub step: u64,
    /// Training seconds of the session at this reading.
    pub elapsed_s: f64,
    /// Probe on the last layer's hidden states averaged over each document's tokens.
    pub mean_pooled: Accuracy,
    /// Probe on the last layer's `[CLS]` hidden state.
    pub cls: Accuracy,
    /// Wall seconds the reading took (features and fits); training waited for it.
    pub seconds: f64,
}

impl DownstreamReading {
    /// The better of the two feature kinds, with its name.
    pub fn best(&self) -> (&'static str, Accuracy) {
        if self.cls.accuracy > self.mean_pooled.accuracy {
            ("cls", self.cls)
        } else {
            ("mean", self.mean_pooled)
        }
    }
}

impl DownstreamSetup {
    /// One line: `downstream probe on `sentiment` (2 classes: ...), 2,000 documents,
    /// 5-fold: majority 50.0% ±2.2, TF-IDF 86.1% ±1.5, untrained encoder 60.2% ±2.1`.
    pub fn describe(&self) -> String {
        let n = crate::format::group_thousands;
        let classes: Vec<String> = self
            .classes
            .iter()
            .take(6)
            .map(|(c, k)| format!("{c} {}", n(*k as u64)))
            .collect();
        let more = if self.classes.len() > 6 { ", ..." } else { "" };
        let split = if self.strict {
            format!("1 of {} folds held out of pretraining", self.folds)
        } else {
            format!("{}-fold", self.folds)
        };
        let mut line = format!(
            "downstream probe on `{}` ({} classes: {}{more}), {} documents, {split}: majority {}, TF-IDF {}",
            self.label_column,
            self.classes.len(),
            classes.join(", "),
            n(self.documents as u64),
            self.majority.describe(),
            self.tfidf.describe(),
        );
        if let Some(u) = &self.untrained {
            line.push_str(&format!(", untrained encoder {}", u.describe()));
        }
        line
    }
}

impl DownstreamReading {
    /// One line: `probe step 520 | mean-pooled 71.2% ±2.0, [CLS] 64.0% ±2.1 | TF-IDF
    /// -14.9 points | 1.3s`; the comparison only when `tfidf` is known.
    pub fn describe(&self, tfidf: Option<&Accuracy>) -> String {
        let mut line = format!(
            "probe step {:>6} | mean-pooled {}, [CLS] {}",
            self.step,
            self.mean_pooled.describe(),
            self.cls.describe()
        );
        if let Some(t) = tfidf {
            let gap = 100.0 * (self.best().1.accuracy - t.accuracy);
            line.push_str(&format!(" | vs TF-IDF {gap:+.1} points"));
        }
        line.push_str(&format!(" | {:.1}s", self.seconds));
        line
    }
}
