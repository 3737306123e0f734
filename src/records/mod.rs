//! A session's records, written by the trainer as it goes: `metrics.csv` (every step
//! log and held-out evaluation), `changes.csv` (hyperparameter changes with the step
//! each took effect) and TensorBoard event files under `tensorboard/`.
//!
//! The CSV files are append-only, one `write` per row. A checkpoint records how many
//! rows each had; a resume cuts them back to that, so rows written after the
//! checkpoint (by a run that was killed) are never duplicated.

pub mod tensorboard;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::protocol::{EvalMetrics, History, StepMetrics};
use crate::session::{write_atomic, Session};

pub const METRICS_FILE: &str = "metrics.csv";
pub const CHANGES_FILE: &str = "changes.csv";
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
const CHANGES_HEADER: &[&str] = &["step", "epoch", "time", "key", "value", "source"];

/// An append-only CSV file with a header.
struct CsvLog {
    file: std::fs::File,
    path: PathBuf,
    rows: usize,
}

fn csv_line(fields: &[String]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(fields)?;
    w.into_inner().context("formatting a CSV row")
}

impl CsvLog {
    /// Opens `path` for appending, keeping its first `keep` data rows (all complete
    /// rows when `None`) and dropping a torn last line.
    fn open(path: &Path, header: &[&str], keep: Option<usize>) -> Result<Self> {
        let header_line = csv_line(&header.iter().map(|s| s.to_string()).collect::<Vec<_>>())?;
        let mut old = std::fs::read(path).unwrap_or_default();
        if !old.is_empty() && !old.starts_with(&header_line) {
            // Another layout (an older or newer bertwork): keep it beside, start anew.
            let mut n = 1;
            let aside = loop {
                let p = path.with_extension(format!("{n}.csv"));
                if !p.exists() {
                    break p;
                }
                n += 1;
            };
            std::fs::rename(path, &aside)
                .with_context(|| format!("cannot move {} aside", path.display()))?;
            old.clear();
        }
        let mut body = header_line.clone();
        let mut rows = 0;
        if old.starts_with(&header_line) {
            for line in old[header_line.len()..].split_inclusive(|&b| b == b'\n') {
                if !line.ends_with(b"\n") || keep.is_some_and(|k| rows >= k) {
                    break;
                }
                body.extend_from_slice(line);
                rows += 1;
            }
        }
        if body != old {
            write_atomic(path, &body)?;
        }
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
            rows,
        })
    }

    fn append(&mut self, fields: &[String]) -> Result<()> {
        self.file
            .write_all(&csv_line(fields)?)
            .with_context(|| format!("cannot append to {}", self.path.display()))?;
        self.rows += 1;
        Ok(())
    }
}

fn num(v: f64) -> String {
    format!("{v}")
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Row counts of the CSV files, stored in each checkpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RowCounts {
    pub metrics: usize,
    pub changes: usize,
}

pub struct Records {
    metrics: CsvLog,
    changes: CsvLog,
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
        }
    }

    pub fn step(&mut self, m: &StepMetrics) -> Result<()> {
        self.metrics.append(&[
            m.step.to_string(),
            m.epoch.to_string(),
            "train".into(),
            format!("{:.3}", m.elapsed_s),
            now(),
            num(m.mlm_loss),
            num(m.mlm_acc),
            num(m.nsp_loss),
            num(m.nsp_acc),
            String::new(),
            num(m.lr),
            num(m.grad_norm),
            num(m.tokens_per_s),
            num(m.data_wait),
        ])?;
        let mut scalars = vec![
            ("mlm_loss", m.mlm_loss),
            ("mlm_acc", m.mlm_acc),
            ("nsp_loss", m.nsp_loss),
            ("nsp_acc", m.nsp_acc),
            ("lr", m.lr),
            ("grad_norm", m.grad_norm),
            ("tokens_per_s", m.tokens_per_s),
        ];
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
            m.step.to_string(),
            m.epoch.to_string(),
            "heldout".into(),
            format!("{wall_s:.3}"),
            now(),
            num(m.mlm_loss),
            num(m.mlm_acc),
            num(m.nsp_loss),
            num(m.nsp_acc),
            num(m.perplexity),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ])?;
        let scalars = [
            ("mlm_loss", m.mlm_loss),
            ("mlm_acc", m.mlm_acc),
            ("perplexity", m.perplexity),
            ("nsp_loss", m.nsp_loss),
            ("nsp_acc", m.nsp_acc),
        ];
        self.events.scalars(m.step, &tagged("heldout", &scalars))
    }

    /// A change that takes effect at optimizer step `step`. `source`: where it came
    /// from (`command` from a front end, `resume`).
    pub fn change(
        &mut self,
        key: &str,
        value: &str,
        step: u64,
        epoch: usize,
        source: &str,
    ) -> Result<()> {
        self.changes.append(&[
            step.to_string(),
            epoch.to_string(),
            now(),
            key.into(),
            value.into(),
            source.into(),
        ])
    }

    /// Makes everything written so far durable (called before a checkpoint).
    pub fn sync(&mut self) -> Result<()> {
        self.metrics.file.sync_data()?;
        self.changes.file.sync_data()?;
        self.events.flush()
    }
}

/// Reads a session's `metrics.csv` and `changes.csv` back (rows that do not parse are
/// skipped).
pub fn read_history(session: &Session) -> History {
    let mut history = History::default();
    // The files always have these headers: another layout is moved aside on open.
    let m = |name: &str| column(METRICS_HEADER, name);
    if let Ok(mut reader) = csv::Reader::from_path(session.path(METRICS_FILE)) {
        for row in reader.records().filter_map(|r| r.ok()) {
            let f = |name: &str| {
                row.get(m(name))
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or(f64::NAN)
            };
            let (Some(step), Some(epoch)) = (
                row.get(m("step")).and_then(|v| v.parse::<u64>().ok()),
                row.get(m("epoch")).and_then(|v| v.parse::<usize>().ok()),
            ) else {
                continue;
            };
            match row.get(m("split")) {
                Some("train") => history.steps.push(StepMetrics {
                    step,
                    epoch,
                    epoch_progress: 0.0,
                    mlm_loss: f("mlm_loss"),
                    mlm_acc: f("mlm_acc"),
                    nsp_loss: f("nsp_loss"),
                    nsp_acc: f("nsp_acc"),
                    lr: f("lr"),
                    grad_norm: f("grad_norm"),
                    tokens_per_s: f("tokens_per_s"),
                    data_wait: f("data_wait"),
                    elapsed_s: f("wall_s"),
                    memory: None,
                }),
                Some("heldout") => history.evals.push(EvalMetrics {
                    step,
                    epoch,
                    mlm_loss: f("mlm_loss"),
                    mlm_acc: f("mlm_acc"),
                    perplexity: f("perplexity"),
                    nsp_loss: f("nsp_loss"),
                    nsp_acc: f("nsp_acc"),
                    seconds: 0.0,
                }),
                _ => {}
            }
        }
    }
    let c = |name: &str| column(CHANGES_HEADER, name);
    if let Ok(mut reader) = csv::Reader::from_path(session.path(CHANGES_FILE)) {
        for row in reader.records().filter_map(|r| r.ok()) {
            if let (Some(step), Some(key), Some(value)) = (
                row.get(c("step")).and_then(|v| v.parse::<u64>().ok()),
                row.get(c("key")),
                row.get(c("value")),
            ) {
                history.changes.push((step, format!("{key}={value}")));
            }
        }
    }
    history
}

fn column(header: &[&str], name: &str) -> usize {
    header
        .iter()
        .position(|h| *h == name)
        .expect("a column of bertwork's own header")
}

fn tagged(split: &str, scalars: &[(&str, f64)]) -> Vec<(String, f64)> {
    scalars
        .iter()
        .map(|(k, v)| (format!("{split}/{k}"), *v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }

    #[test]
    fn history_reads_back_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let session = Session {
            name: "h".into(),
            dir: dir.path().to_path_buf(),
        };
        let mut records = Records::open(&session, None).unwrap();
        let step = StepMetrics {
            step: 10,
            epoch: 0,
            epoch_progress: 0.0,
            mlm_loss: 7.5,
            mlm_acc: 0.25,
            nsp_loss: 0.69,
            nsp_acc: 0.5,
            lr: 1e-4,
            grad_norm: 1.5,
            tokens_per_s: 1000.0,
            data_wait: 0.0,
            elapsed_s: 2.0,
            memory: None,
        };
        records.step(&step).unwrap();
        let eval = EvalMetrics {
            step: 10,
            epoch: 0,
            mlm_loss: 7.0,
            mlm_acc: 0.3,
            perplexity: 7f64.exp(),
            nsp_loss: 0.6,
            nsp_acc: 0.7,
            seconds: 0.0,
        };
        records.eval(&eval, 2.5).unwrap();
        records
            .change("train.lr", "0.0005", 11, 0, "command")
            .unwrap();
        let h = read_history(&session);
        assert_eq!(h.steps, vec![step]);
        assert_eq!(h.evals, vec![eval]);
        assert_eq!(h.changes, vec![(11, "train.lr=0.0005".to_string())]);
    }

    #[test]
    fn a_torn_row_is_dropped_and_a_resume_cuts_back_to_the_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.csv");
        let mut log = CsvLog::open(&path, &["step", "x"], None).unwrap();
        for i in 0..5 {
            log.append(&[i.to_string(), "a,b".into()]).unwrap();
        }
        drop(log);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"5,\"tor").unwrap();
        let log = CsvLog::open(&path, &["step", "x"], None).unwrap();
        assert_eq!(log.rows, 5);
        assert_eq!(lines(&path).last().unwrap(), "4,\"a,b\"");
        let log = CsvLog::open(&path, &["step", "x"], Some(3)).unwrap();
        assert_eq!(log.rows, 3);
        assert_eq!(
            lines(&path),
            vec!["step,x", "0,\"a,b\"", "1,\"a,b\"", "2,\"a,b\""]
        );
    }
}
