//! A session's records, written by the trainer as it goes: `metrics.csv` (every step
//! log and held-out evaluation), `changes.csv` (hyperparameter changes with the step
//! each took effect) and TensorBoard event files under `tensorboard/`.
//!
//! The CSV files are append-only, one `write` per row. A checkpoint records how many
//! rows each had; a resume cuts them back to that, so rows written after the
//! checkpoint (by a run that was killed) are never duplicated.

mod csv_log;
mod history;
pub mod tensorboard;

pub use history::{
    read_changes, read_downstream, read_history, read_metrics, read_watched, Change, Metrics,
};

use anyhow::Result;

use crate::protocol::{DownstreamReading, EvalMetrics, StepMetrics, WatchReading};
use crate::session::Session;
use csv_log::CsvLog;

pub const METRICS_FILE: &str = "metrics.csv";
pub const CHANGES_FILE: &str = "changes.csv";
pub const WATCHED_FILE: &str = "watched.csv";
pub const DOWNSTREAM_FILE: &str = "downstream.csv";
pub const TENSORBOARD_DIR: &str = "tensorboard";

const METRICS_HEADER: &[&str] = &[
    "step",
    "epoch",
    "split",
    "wall_s",
    "time",
    "mlm_loss",
    "mlm_acc",
    "nsp_loss",
    "nsp_acc",
    "perplexity",
    "lr",
    "grad_norm",
    "tokens_per_s",
    "data_wait",
];
/// Where a change in `changes.csv` came from (its `source` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeSource {
    /// A front end's command during training (the hyperparameter panel, the watched
    /// probes).
    Command,
    /// `--set` on `bertwork resume`.
    Resume,
    /// `--set` on `bertwork fork`.
    Fork,
}

impl ChangeSource {
    /// The `source` column's text.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeSource::Command => "command",
            ChangeSource::Resume => "resume",
            ChangeSource::Fork => "fork",
        }
    }
}

const CHANGES_HEADER: &[&str] = &["step", "epoch", "time", "key", "value", "source"];
/// One row per token per watched probe per reading: `rank` is its place among the top
/// tokens (empty when it is only named), `named` whether the user named it.
const WATCHED_HEADER: &[&str] = &["step", "probe", "token", "probability", "rank", "named"];
/// One row per reading of the downstream linear probe: accuracies (0..1) with their
/// 95% half-widths on `documents` test documents, for mean-pooled and `[CLS]` features.
const DOWNSTREAM_HEADER: &[&str] = &[
    "step",
    "wall_s",
    "time",
    "mean_acc",
    "mean_half_width",
    "cls_acc",
    "cls_half_width",
    "documents",
    "seconds",
];

fn num(v: f64) -> String {
    format!("{v}")
}

/// An empty cell for a metric that was not computed (NSP with `model.nsp = false`).
fn opt(v: Option<f64>) -> String {
    v.map(num).unwrap_or_default()
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Row counts of the CSV files, stored in each checkpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RowCounts {
    pub metrics: usize,
    pub changes: usize,
    /// Rows of `watched.csv` (0 in checkpoints written before it existed).
    #[serde(default)]
    pub watched: usize,
    /// Rows of `downstream.csv` (0 in checkpoints written before it existed).
    #[serde(default)]
    pub downstream: usize,
}

pub struct Records {
    metrics: CsvLog,
    changes: CsvLog,
    watched: CsvLog,
    downstream: CsvLog,
    events: tensorboard::EventWriter,
}

impl Records {
    /// Opens the session's records. `resume`: the step a resumed run continues after
    /// and the row counts of its checkpoint; `None` starts them afresh.
    pub fn open(session: &Session, resume: Option<(u64, RowCounts)>) -> Result<Self> {
        let keep = resume.map(|(_, r)| r).unwrap_or_default();
        Ok(Self {
            metrics: CsvLog::open(
                &session.path(METRICS_FILE),
                METRICS_HEADER,
                Some(keep.metrics),
            )?,
            changes: CsvLog::open(
                &session.path(CHANGES_FILE),
                CHANGES_HEADER,
                Some(keep.changes),
            )?,
            watched: CsvLog::open(
                &session.path(WATCHED_FILE),
                WATCHED_HEADER,
                Some(keep.watched),
            )?,
            downstream: CsvLog::open(
                &session.path(DOWNSTREAM_FILE),
                DOWNSTREAM_HEADER,
                Some(keep.downstream),
            )?,
            events: tensorboard::EventWriter::create(
                &session.path(TENSORBOARD_DIR),
                resume.map(|(step, _)| step + 1),
            )?,
        })
    }

    pub fn rows(&self) -> RowCounts {
        RowCounts {
            metrics: self.metrics.rows,
            changes: self.changes.rows,
            watched: self.watched.rows,
            downstream: self.downstream.rows,
        }
    }

    pub fn step(&mut self, m: &StepMetrics) -> Result<()> {
        self.metrics.append(&[
            ("step", m.step.to_string()),
            ("epoch", m.epoch.to_string()),
            ("split", "train".into()),
            ("wall_s", format!("{:.3}", m.elapsed_s)),
            ("time", now()),
            ("mlm_loss", num(m.mlm_loss)),
            ("mlm_acc", num(m.mlm_acc)),
            ("nsp_loss", opt(m.nsp_loss)),
            ("nsp_acc", opt(m.nsp_acc)),
            ("perplexity", String::new()),
            ("lr", num(m.lr)),
            ("grad_norm", num(m.grad_norm)),
            ("tokens_per_s", num(m.tokens_per_s)),
            ("data_wait", num(m.data_wait)),
        ])?;
        let mut scalars = vec![("mlm_loss", m.mlm_loss), ("mlm_acc", m.mlm_acc)];
        scalars.extend(nsp_scalars(m.nsp_loss, m.nsp_acc));
        scalars.extend([
            ("lr", m.lr),
            ("grad_norm", m.grad_norm),
            ("tokens_per_s", m.tokens_per_s),
        ]);
        if let Some(mem) = &m.memory {
            let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
            scalars.extend([
                ("gpu_allocated_gib", gib(mem.allocated)),
                ("gpu_allocated_peak_gib", gib(mem.allocated_peak)),
                ("gpu_reserved_gib", gib(mem.reserved)),
                ("gpu_device_used_gib", gib(mem.device_used)),
            ]);
        }
        self.events.scalars(m.step, &tagged("train", &scalars))
    }

    pub fn eval(&mut self, m: &EvalMetrics, wall_s: f64) -> Result<()> {
        self.metrics.append(&[
            ("step", m.step.to_string()),
            ("epoch", m.epoch.to_string()),
            ("split", "heldout".into()),
            ("wall_s", format!("{wall_s:.3}")),
            ("time", now()),
            ("mlm_loss", num(m.mlm_loss)),
            ("mlm_acc", num(m.mlm_acc)),
            ("nsp_loss", opt(m.nsp_loss)),
            ("nsp_acc", opt(m.nsp_acc)),
            ("perplexity", num(m.perplexity)),
            ("lr", String::new()),
            ("grad_norm", String::new()),
            ("tokens_per_s", String::new()),
            ("data_wait", String::new()),
        ])?;
        let mut scalars = vec![
            ("mlm_loss", m.mlm_loss),
            ("mlm_acc", m.mlm_acc),
            ("perplexity", m.perplexity),
        ];
        scalars.extend(nsp_scalars(m.nsp_loss, m.nsp_acc));
        self.events.scalars(m.step, &tagged("heldout", &scalars))
    }

    /// A reading of the downstream linear probe.
    pub fn downstream(&mut self, r: &DownstreamReading) -> Result<()> {
        self.downstream.append(&[
            ("step", r.step.to_string()),
            ("wall_s", format!("{:.3}", r.elapsed_s)),
            ("time", now()),
            ("mean_acc", num(r.mean_pooled.accuracy)),
            ("mean_half_width", num(r.mean_pooled.half_width)),
            ("cls_acc", num(r.cls.accuracy)),
            ("cls_half_width", num(r.cls.half_width)),
            ("documents", r.mean_pooled.documents.to_string()),
            ("seconds", format!("{:.3}", r.seconds)),
        ])?;
        let scalars = [
            ("probe_mean_acc", r.mean_pooled.accuracy),
            ("probe_cls_acc", r.cls.accuracy),
        ];
        self.events.scalars(r.step, &tagged("downstream", &scalars))
    }

    /// A change that takes effect at optimizer step `step`, and where it came from.
    pub fn change(
        &mut self,
        key: &str,
        value: &str,
        step: u64,
        epoch: usize,
        source: ChangeSource,
    ) -> Result<()> {
        self.changes.append(&[
            ("step", step.to_string()),
            ("epoch", epoch.to_string()),
            ("time", now()),
            ("key", key.into()),
            ("value", value.into()),
            ("source", source.as_str().into()),
        ])
    }

    /// The watched probes' readings at `step`: their top tokens and named tokens (a
    /// token both ranked and named is one row).
    pub fn watched(&mut self, step: u64, readings: &[WatchReading]) -> Result<()> {
        for r in readings {
            for (rank, (token, p)) in r.top.iter().enumerate() {
                let named = r.named.iter().any(|(t, _)| t == token);
                self.watched.append(&[
                    ("step", step.to_string()),
                    ("probe", r.text.clone()),
                    ("token", token.clone()),
                    ("probability", num(*p)),
                    ("rank", (rank + 1).to_string()),
                    ("named", named.to_string()),
                ])?;
            }
            for (token, p) in &r.named {
                if !r.top.iter().any(|(t, _)| t == token) {
                    self.watched.append(&[
                        ("step", step.to_string()),
                        ("probe", r.text.clone()),
                        ("token", token.clone()),
                        ("probability", num(*p)),
                        ("rank", String::new()),
                        ("named", "true".into()),
                    ])?;
                }
            }
        }
        Ok(())
    }

    /// Makes everything written so far durable (called before a checkpoint).
    pub fn sync(&mut self) -> Result<()> {
        self.metrics.file.sync_data()?;
        self.changes.file.sync_data()?;
        self.watched.file.sync_data()?;
        self.downstream.file.sync_data()?;
        self.events.flush()
    }
}

/// The NSP scalars that were computed (none with `model.nsp = false`).
fn nsp_scalars(loss: Option<f64>, acc: Option<f64>) -> Vec<(&'static str, f64)> {
    [("nsp_loss", loss), ("nsp_acc", acc)]
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect()
}

fn tagged(split: &str, scalars: &[(&str, f64)]) -> Vec<(String, f64)> {
    scalars
        .iter()
        .map(|(k, v)| (format!("{split}/{k}"), *v))
        .collect()
}
