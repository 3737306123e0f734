//! The only coupling between the trainer thread and any front end: commands in,
//! events out, over crossbeam channels.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use crate::probe::WatchReading;
use crate::probe::{AttentionMap, FillMaskResult, Neighbours, NextSentenceResult};

mod downstream;
mod reports;
pub use downstream::{half_width_95, Accuracy, DownstreamReading, DownstreamSetup};
pub use reports::{
    EvalMetrics, FinishReason, History, PreparePhase, PrepareProgress, StartInfo, StepMetrics,
    Summary, WorkUnit,
};

/// What a front end asks of the trainer.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Pause,
    Resume,
    /// Finish the current step, save, and exit.
    Stop,
    /// Write a checkpoint now (between steps).
    SaveCheckpoint,
    /// Change a hyperparameter; see [`Hyper::applies_at`] for when it takes effect.
    SetHyper(Hyper),
    Probe(ProbeRequest),
    /// Write a checkpoint now and fork the session from it; training goes on here.
    Fork,
    /// Replace the watched probes (`train.watch` entries) from the next step on.
    Watch(Vec<String>),
}

/// A hyperparameter change a user may make during training.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "key", content = "value", rename_all = "snake_case")]
pub enum Hyper {
    Lr(f64),
    ClipNorm(f64),
    WarmupSteps(u64),
    WeightDecay(f64),
    BatchSize(usize),
    MaskProb(f64),
    Epochs(usize),
    EvalEvery(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplyAt {
    NextStep,
    NextEpoch,
}

impl Hyper {
    /// Learning rate and clipping apply at the next step; the rest at the next epoch.
    pub fn applies_at(&self) -> ApplyAt {
        match self {
            Hyper::Lr(_) | Hyper::ClipNorm(_) => ApplyAt::NextStep,
            Hyper::WarmupSteps(_)
            | Hyper::WeightDecay(_)
            | Hyper::BatchSize(_)
            | Hyper::MaskProb(_)
            | Hyper::Epochs(_)
            | Hyper::EvalEvery(_) => ApplyAt::NextEpoch,
        }
    }

    /// The config key it corresponds to.
    pub fn key(&self) -> &'static str {
        match self {
            Hyper::Lr(_) => "train.lr",
            Hyper::ClipNorm(_) => "train.clip_norm",
            Hyper::WarmupSteps(_) => "train.warmup_steps",
            Hyper::WeightDecay(_) => "train.weight_decay",
            Hyper::BatchSize(_) => "train.batch_size",
            Hyper::MaskProb(_) => "data.mask_prob",
            Hyper::Epochs(_) => "train.epochs",
            Hyper::EvalEvery(_) => "train.eval_every",
        }
    }

    /// Writes the change into a config.
    pub fn apply_to(&self, config: &mut crate::config::Config) {
        let (t, d) = (&mut config.train, &mut config.data);
        match *self {
            Hyper::Lr(v) => t.lr = v,
            Hyper::ClipNorm(v) => t.clip_norm = v,
            Hyper::WarmupSteps(v) => t.warmup_steps = v,
            Hyper::WeightDecay(v) => t.weight_decay = v,
            Hyper::BatchSize(v) => t.batch_size = v,
            Hyper::MaskProb(v) => d.mask_prob = v,
            Hyper::Epochs(v) => t.epochs = v,
            Hyper::EvalEvery(v) => t.eval_every = v,
        }
    }

    /// Every hyperparameter a user may change during training, in the panel's order,
    /// each with the value `config` holds. The one list of them: the panel's fields
    /// and their current values come from it.
    pub fn all_from(config: &crate::config::Config) -> [Hyper; 8] {
        let (t, d) = (&config.train, &config.data);
        [
            Hyper::Lr(t.lr),
            Hyper::WarmupSteps(t.warmup_steps),
            Hyper::WeightDecay(t.weight_decay),
            Hyper::BatchSize(t.batch_size),
            Hyper::MaskProb(d.mask_prob),
            Hyper::ClipNorm(t.clip_norm),
            Hyper::Epochs(t.epochs),
            Hyper::EvalEvery(t.eval_every),
        ]
    }

    /// The same hyperparameter with the value typed as `text`.
    ///
    /// Errors: `text` is not a number (a whole number >= 0 for counts), naming the key.
    pub fn with_text(self, text: &str) -> Result<Hyper, String> {
        let text = text.trim();
        let key = self.key();
        let float = || {
            text.parse::<f64>()
                .map_err(|_| format!("{key}: `{text}` is not a number"))
        };
        let int = || {
            text.parse::<u64>()
                .map_err(|_| format!("{key}: `{text}` is not a whole number >= 0"))
        };
        Ok(match self {
            Hyper::Lr(_) => Hyper::Lr(float()?),
            Hyper::ClipNorm(_) => Hyper::ClipNorm(float()?),
            Hyper::WarmupSteps(_) => Hyper::WarmupSteps(int()?),
            Hyper::WeightDecay(_) => Hyper::WeightDecay(float()?),
            Hyper::BatchSize(_) => Hyper::BatchSize(int()? as usize),
            Hyper::MaskProb(_) => Hyper::MaskProb(float()?),
            Hyper::Epochs(_) => Hyper::Epochs(int()? as usize),
            Hyper::EvalEvery(_) => Hyper::EvalEvery(int()?),
        })
    }

    pub fn value_string(&self) -> String {
        match *self {
            Hyper::Lr(v) | Hyper::ClipNorm(v) | Hyper::WeightDecay(v) | Hyper::MaskProb(v) => {
                format!("{v}")
            }
            Hyper::WarmupSteps(v) | Hyper::EvalEvery(v) => v.to_string(),
            Hyper::BatchSize(v) | Hyper::Epochs(v) => v.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ProbeRequest {
    /// Top-k predictions for every `[MASK]` in `text`.
    FillMask { id: u64, text: String, top_k: usize },
    /// Probability that `b` follows `a`.
    NextSentence { id: u64, a: String, b: String },
    /// Every layer's and head's attention for `[CLS] text [SEP]`.
    Attention { id: u64, text: String },
    /// The `k` nearest tokens to `word` in the word-embedding table, and its cosine
    /// similarity to `other` when given.
    Neighbours {
        id: u64,
        word: String,
        other: Option<String>,
        k: usize,
    },
}

/// How far below the no-context floor (nats per token) the held-out MLM loss must be
/// for a run to count as using the context: the "context onset" of the time-to-quality
/// benchmark (`bench/to_quality.py`).
pub const ONSET_MARGIN: f64 = 0.10;

/// Whether held-out MLM loss `heldout` is at least [`ONSET_MARGIN`] below `floor`.
pub fn uses_context(heldout: f64, floor: f64) -> bool {
    heldout.is_finite() && floor.is_finite() && heldout <= floor - ONSET_MARGIN
}

/// The context onset of a run: its first held-out evaluation that [`uses_context`]
/// against the no-context floor `floor`, if any. The trainer announces it
/// ([`Event::ContextOnset`]), a resume finds it again in the session's records, and the
/// charts mark it.
pub fn context_onset(evals: &[EvalMetrics], floor: f64) -> Option<&EvalMetrics> {
    evals.iter().find(|e| uses_context(e.mlm_loss, floor))
}

/// The one line both front ends show for [`Event::ContextOnset`].
pub fn context_onset_line(step: u64, elapsed_s: f64, heldout: f64, floor: f64) -> String {
    let secs = elapsed_s.round() as u64;
    format!(
        "context onset at step {step} ({}:{:02} of training): held-out MLM loss {heldout:.3} is {:.3} below the no-context floor {floor:.3}; the model now uses the context, so probes start to make sense",
        secs / 60,
        secs % 60,
        floor - heldout
    )
}

/// Whether held-out NSP accuracy `acc` on `n` pairs is within the 95% interval of
/// chance: always answering the more frequent label (`random_next` = share of random
/// B). Interval: [`half_width_95`] at the chance level.
pub fn nsp_at_chance(acc: f64, random_next: f64, n: usize) -> bool {
    let chance = random_next.max(1.0 - random_next);
    acc.is_finite() && n > 0 && acc <= chance + half_width_95(chance, n)
}

/// Held-out evaluations after which an NSP still at chance is reported.
pub const NSP_CHANCE_EVALS: usize = 3;

/// The one line both front ends show when NSP is still at chance after
/// [`NSP_CHANCE_EVALS`] evaluations.
pub fn nsp_chance_line(step: u64, acc: f64, random_next: f64, n: usize) -> String {
    let chance = random_next.max(1.0 - random_next);
    format!(
        "NSP is at chance at step {step}: held-out accuracy {acc:.3} against {chance:.3} ±{:.3} for always guessing; in a corpus of one domain every random B is on the same topic, so NSP must learn coherence rather than topic and learns slowly (RoBERTa dropped it); MLM and the downstream probe do not depend on it, and model.nsp=false trains MLM only",
        half_width_95(chance, n)
    )
}

/// What the trainer reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// Preparing the corpus, before `Started`: how far it has got (a few a second).
    Preparing(PrepareProgress),
    Started(Box<StartInfo>),
    /// On a resume, right after `Started`: what the session logged before, so charts
    /// can show the whole run.
    History(Box<History>),
    Step(StepMetrics),
    Eval(EvalMetrics),
    /// The labelled documents and baselines of the downstream probe (after `Started`,
    /// when the corpus has labels).
    DownstreamSetup(Box<DownstreamSetup>),
    /// The linear probe on frozen features, read right after each held-out evaluation.
    Downstream(DownstreamReading),
    /// The classifier sessions fine-tuned from this session so far, one line each
    /// (`NAME: 71.2% ±2.0 (5 test folds, from `s`@2607)`), sent after `DownstreamSetup`.
    FineTunes {
        runs: Vec<String>,
    },
    EpochEnd {
        epoch: usize,
        step: u64,
        seconds: f64,
    },
    /// A change was accepted and will apply at `applies`.
    HyperQueued {
        change: Hyper,
        applies: ApplyAt,
    },
    /// A change took effect before optimizer step `step`.
    HyperApplied {
        change: Hyper,
        step: u64,
        epoch: usize,
    },
    CheckpointSaved {
        path: PathBuf,
        step: u64,
        seconds: f64,
    },
    Paused {
        step: u64,
    },
    Resumed {
        step: u64,
    },
    FillMask {
        id: u64,
        latency_ms: f64,
        result: Result<FillMaskResult, String>,
    },
    NextSentence {
        id: u64,
        latency_ms: f64,
        result: Result<NextSentenceResult, String>,
    },
    Attention {
        id: u64,
        latency_ms: f64,
        result: Result<AttentionMap, String>,
    },
    Neighbours {
        id: u64,
        latency_ms: f64,
        result: Result<Neighbours, String>,
    },
    /// The first held-out evaluation of the session whose MLM loss is at least
    /// [`ONSET_MARGIN`] below the no-context floor: the model has started to use the
    /// context (sent once per session; a resume after it does not send it again).
    ContextOnset {
        step: u64,
        /// Training seconds of the session so far.
        elapsed_s: f64,
        /// Held-out MLM loss (nats per token).
        heldout_mlm_loss: f64,
        /// The no-context floor (nats per token).
        no_context_mlm_loss: f64,
    },
    /// The session was forked at `step` as session `name` (in `dir`).
    Forked {
        name: String,
        step: u64,
        dir: PathBuf,
    },
    /// The watched probes read at `step`, in `train.watch` order.
    Watched {
        step: u64,
        /// Time the readings took on the trainer thread (training waited for them).
        seconds: f64,
        readings: Vec<WatchReading>,
    },
    /// The watched probes from `step` on (after a [`Command::Watch`] or at the start).
    Watching {
        step: u64,
        entries: Vec<String>,
    },
    Warning {
        message: String,
    },
    Error {
        message: String,
    },
    Finished(Summary),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_onset_needs_a_tenth_of_a_nat_below_a_known_floor() {
        assert!(uses_context(5.90, 6.0));
        assert!(!uses_context(5.91, 6.0));
        assert!(!uses_context(6.2, 6.0));
        assert!(!uses_context(f64::NAN, 6.0));
        assert!(!uses_context(5.0, f64::NAN));
        let line = context_onset_line(1200, 3725.4, 5.5, 6.0);
        assert!(
            line.starts_with("context onset at step 1200 (62:05 of training)"),
            "{line}"
        );
        assert!(
            line.contains("5.500 is 0.500 below the no-context floor 6.000"),
            "{line}"
        );
    }

    /// The hyperparameters the panel edits are config keys a resume may change, and
    /// each value reads back from the text it is shown as.
    #[test]
    fn every_live_hyperparameter_is_a_changeable_key_and_reads_back() {
        let config = crate::config::Config::default();
        for h in Hyper::all_from(&config) {
            let (section, name) = h.key().split_once('.').unwrap();
            let key = crate::config::keys::find(section, name).unwrap();
            assert!(!key.fixed, "{}", h.key());
            assert_eq!(h.with_text(&h.value_string()), Ok(h));
            let mut c = config.clone();
            h.apply_to(&mut c);
            assert_eq!(c, config, "{} reads the config's own value", h.key());
        }
        assert_eq!(
            Hyper::Lr(0.0).with_text("fast"),
            Err("train.lr: `fast` is not a number".to_string())
        );
    }
}
