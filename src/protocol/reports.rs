//! What the trainer reports in its events: the resolved setup, step and evaluation
//! metrics, the earlier history of a resumed session, preparation progress and the
//! run's summary.

use std::path::PathBuf;

use serde::Serialize;

use crate::probe::WatchReading;

/// The resolved setup, sent once before the first step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StartInfo {
    pub session: String,
    /// What the steps run in: `fp32`, `bf16 autocast` or `bf16 autocast + TF32`.
    pub precision: String,
    /// Processes training together (torch.distributed's world size; 1 for one).
    pub world_size: usize,
    pub session_dir: PathBuf,
    pub config: crate::config::Config,
    pub layers: usize,
    pub hidden: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub parameters: u64,
    pub device: String,
    pub corpus: String,
    pub documents: usize,
    pub train_documents: usize,
    pub heldout_documents: usize,
    pub sentences: usize,
    pub tokens: usize,
    pub vocab_size: usize,
    pub unk_rate: f64,
    pub train_examples: usize,
    pub heldout_examples: usize,
    /// Share of random-B (label 1) examples in the held-out set.
    pub heldout_random_next: f64,
    /// Held-out MLM loss of the best predictor that ignores context: the unigram where
    /// it sees `[MASK]`, the shown token weighed against a random replacement elsewhere.
    /// Above it the model does not use context yet (the early "unigram plateau").
    pub no_context_mlm_loss: f64,
    /// Held-out tokens per word (tokens that start a word, `##` pieces and punctuation
    /// excluded): an MLM loss per token times this is a loss per word, which compares
    /// across vocabularies of different sizes.
    pub heldout_tokens_per_word: f64,
    pub steps_per_epoch: u64,
    pub total_steps: u64,
    pub prepare_seconds: f64,
    /// The tokenizer and tokenized corpus came from the cache.
    pub corpus_cached: bool,
}

/// A resumed session's earlier metrics and changes, as read back from its records.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct History {
    pub steps: Vec<StepMetrics>,
    pub evals: Vec<EvalMetrics>,
    /// (step it took effect, "key=value")
    pub changes: Vec<(u64, String)>,
    /// Readings of the watched probes, by step.
    pub watched: Vec<(u64, Vec<WatchReading>)>,
    /// Readings of the downstream linear probe.
    pub downstream: Vec<super::DownstreamReading>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepMetrics {
    pub step: u64,
    pub epoch: usize,
    /// Fraction of the current epoch done.
    pub epoch_progress: f64,
    pub mlm_loss: f64,
    /// Accuracy over masked positions only.
    pub mlm_acc: f64,
    /// None (JSON `null`) when NSP is not trained (`model.nsp = false`).
    pub nsp_loss: Option<f64>,
    pub nsp_acc: Option<f64>,
    pub lr: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    pub tokens_per_s: f64,
    /// Share of the interval spent waiting for the next batch.
    pub data_wait: f64,
    pub elapsed_s: f64,
    /// On CUDA: the allocator's and the device's memory at this log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<crate::device::DeviceMemory>,
    /// Data-parallel runs: each rank's own tokens/s (index = rank; `tokens_per_s` is
    /// their sum). Empty in a one-process run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rank_tokens_per_s: Vec<f64>,
    /// Data-parallel runs: the share of rank 0's interval spent in collectives (moving
    /// losses and gradients, and waiting for the other ranks). None for one process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collective_share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalMetrics {
    pub step: u64,
    pub epoch: usize,
    pub mlm_loss: f64,
    pub mlm_acc: f64,
    pub perplexity: f64,
    /// None (JSON `null`) when NSP is not trained (`model.nsp = false`).
    pub nsp_loss: Option<f64>,
    pub nsp_acc: Option<f64>,
    pub seconds: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// All epochs (or max_steps) done.
    Completed,
    /// A front end asked to stop.
    Stopped,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub reason: FinishReason,
    pub step: u64,
    pub epoch: usize,
    pub elapsed_s: f64,
    pub last_eval: Option<EvalMetrics>,
    /// The session folder, where the run saved (`None` when nothing was saved: a run
    /// that failed before its first checkpoint).
    pub session_dir: Option<PathBuf>,
    /// Why a `Failed` run failed, in full (also sent as an `Error` event).
    pub error: Option<String>,
}

/// A phase of preparing the corpus; JSON events name it by [`PreparePhase::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PreparePhase {
    #[serde(rename = "checking the corpus")]
    CheckingCorpus,
    #[serde(rename = "counting words")]
    CountingWords,
    #[serde(rename = "learning the vocabulary")]
    LearningVocabulary,
    #[serde(rename = "encoding")]
    Encoding,
    #[serde(rename = "held-out batches")]
    HeldOutBatches,
    #[serde(rename = "labelled documents")]
    LabelledDocuments,
}

impl PreparePhase {
    /// How front ends and JSON events name it.
    pub fn as_str(self) -> &'static str {
        match self {
            PreparePhase::CheckingCorpus => "checking the corpus",
            PreparePhase::CountingWords => "counting words",
            PreparePhase::LearningVocabulary => "learning the vocabulary",
            PreparePhase::Encoding => "encoding",
            PreparePhase::HeldOutBatches => "held-out batches",
            PreparePhase::LabelledDocuments => "labelled documents",
        }
    }
}

/// What a [`PrepareProgress`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkUnit {
    /// Bytes of the corpus files as stored (compressed, if they are).
    Bytes,
    Documents,
}

/// How far preparing the corpus has got, within one phase.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrepareProgress {
    /// What is being done.
    pub phase: PreparePhase,
    /// Work done in this phase, in `unit`s.
    pub done: u64,
    /// Work in this phase, in `unit`s; 0 when not known.
    pub total: u64,
    /// What `done` and `total` count.
    pub unit: WorkUnit,
    /// Megabytes (10^6 bytes) of the corpus file per second in this phase so far; 0 in
    /// phases that do not read it.
    pub mb_per_s: f64,
}

impl PrepareProgress {
    /// One line: `encoding 312/910 MB (34%), 45.1 MB/s`.
    pub fn describe(&self) -> String {
        let (done, total, unit) = if self.unit == WorkUnit::Bytes {
            let mb = |b: u64| format!("{:.0}", b as f64 / 1e6);
            (mb(self.done), mb(self.total), "MB")
        } else {
            let n = crate::format::group_thousands;
            (n(self.done), n(self.total), "documents")
        };
        let mut line = self.phase.as_str().to_string();
        if self.total > 0 {
            let pct = 100.0 * self.done as f64 / self.total as f64;
            line.push_str(&format!(" {done}/{total} {unit} ({pct:.0}%)"));
        } else if self.done > 0 {
            line.push_str(&format!(" {done} {unit}"));
        }
        if self.mb_per_s > 0.0 {
            line.push_str(&format!(", {:.1} MB/s", self.mb_per_s));
        }
        line
    }
}
