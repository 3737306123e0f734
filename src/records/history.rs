//! Reading a session's records back: the step logs, evaluations and changes a resumed
//! workbench replays on its charts.

use super::{
    CHANGES_FILE, CHANGES_HEADER, DOWNSTREAM_FILE, DOWNSTREAM_HEADER, METRICS_FILE, METRICS_HEADER,
    WATCHED_FILE, WATCHED_HEADER,
};
use crate::protocol::{
    Accuracy, DownstreamReading, EvalMetrics, History, StepMetrics, WatchReading,
};
use crate::session::Session;
use anyhow::{anyhow, bail, Result};

/// Reads a session's `downstream.csv` back (rows that do not parse are skipped).
pub fn read_downstream(session: &Session) -> Vec<DownstreamReading> {
    let c = |name: &str| column(DOWNSTREAM_HEADER, name);
    let Ok(mut reader) = csv::Reader::from_path(session.path(DOWNSTREAM_FILE)) else {
        return Vec::new();
    };
    reader
        .records()
        .filter_map(|r| r.ok())
        .filter_map(|row| {
            let f = |name: &str| row.get(c(name)).and_then(|v| v.parse::<f64>().ok());
            let documents = row.get(c("documents"))?.parse::<usize>().ok()?;
            let acc = |a: &str, h: &str| {
                Some(Accuracy {
                    accuracy: f(a)?,
                    half_width: f(h)?,
                    documents,
                })
            };
            Some(DownstreamReading {
                step: row.get(c("step"))?.parse().ok()?,
                elapsed_s: f("wall_s")?,
                mean_pooled: acc("mean_acc", "mean_half_width")?,
                cls: acc("cls_acc", "cls_half_width")?,
                seconds: f("seconds").unwrap_or(0.0),
            })
        })
        .collect()
}

/// What `metrics.csv` holds: every step log and held-out evaluation, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    pub steps: Vec<StepMetrics>,
    pub evals: Vec<EvalMetrics>,
    /// Rows that did not parse (a torn last line after a `kill -9`, damage) and were
    /// skipped.
    pub unreadable_rows: usize,
}

/// Reads a session's `metrics.csv`; None when the session has none yet.
///
/// Errors: the file cannot be read, or its header is not bertwork's.
pub fn read_metrics(session: &Session) -> Result<Option<Metrics>> {
    let path = session.path(METRICS_FILE);
    let mut reader = match csv::Reader::from_path(&path) {
        Ok(r) => r,
        Err(e) => match e.kind() {
            csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            _ => return Err(anyhow!("cannot read {}: {e}", path.display())),
        },
    };
    let header = reader
        .headers()
        .map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
    if header.iter().ne(METRICS_HEADER.iter().copied()) {
        let first: Vec<&str> = header.iter().take(4).collect();
        bail!(
            "{} is not a bertwork metrics file (its header starts `{}`, not `{}`)",
            path.display(),
            first.join(","),
            METRICS_HEADER[..4].join(",")
        );
    }
    let mut out = Metrics::default();
    let m = |name: &str| column(METRICS_HEADER, name);
    for row in reader.records() {
        let Ok(row) = row else {
            out.unreadable_rows += 1;
            continue;
        };
        let f = |name: &str| {
            row.get(m(name))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(f64::NAN)
        };
        // An empty cell: not computed (NSP with `model.nsp = false`).
        let o = |name: &str| row.get(m(name)).and_then(|v| v.parse::<f64>().ok());
        let (Some(step), Some(epoch)) = (
            row.get(m("step")).and_then(|v| v.parse::<u64>().ok()),
            row.get(m("epoch")).and_then(|v| v.parse::<usize>().ok()),
        ) else {
            out.unreadable_rows += 1;
            continue;
        };
        match row.get(m("split")) {
            Some("train") => out.steps.push(StepMetrics {
                step,
                epoch,
                epoch_progress: 0.0,
                mlm_loss: f("mlm_loss"),
                mlm_acc: f("mlm_acc"),
                nsp_loss: o("nsp_loss"),
                nsp_acc: o("nsp_acc"),
                lr: f("lr"),
                grad_norm: f("grad_norm"),
                tokens_per_s: f("tokens_per_s"),
                data_wait: f("data_wait"),
                elapsed_s: f("wall_s"),
                memory: None,
                rank_tokens_per_s: Vec::new(),
                collective_share: None,
            }),
            Some("heldout") => out.evals.push(EvalMetrics {
                step,
                epoch,
                mlm_loss: f("mlm_loss"),
                mlm_acc: f("mlm_acc"),
                perplexity: f("perplexity"),
                nsp_loss: o("nsp_loss"),
                nsp_acc: o("nsp_acc"),
                seconds: 0.0,
            }),
            _ => out.unreadable_rows += 1,
        }
    }
    Ok(Some(out))
}

/// A row of `changes.csv`: a hyperparameter change and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The optimizer step it took effect at.
    pub step: u64,
    pub epoch: usize,
    /// When it was recorded (RFC 3339, UTC).
    pub time: String,
    /// The dotted config key (`train.lr`).
    pub key: String,
    pub value: String,
    /// `command` (the workbench), `resume` (`--set` on resume) or `fork`.
    pub source: String,
}

/// Reads a session's `changes.csv` (rows that do not parse are skipped; none when
/// there is no file).
pub fn read_changes(session: &Session) -> Vec<Change> {
    let c = |name: &str| column(CHANGES_HEADER, name);
    let Ok(mut reader) = csv::Reader::from_path(session.path(CHANGES_FILE)) else {
        return Vec::new();
    };
    reader
        .records()
        .filter_map(|r| r.ok())
        .filter_map(|row| {
            let text = |name: &str| row.get(c(name)).map(str::to_string);
            Some(Change {
                step: row.get(c("step"))?.parse().ok()?,
                epoch: row.get(c("epoch"))?.parse().unwrap_or(0),
                time: text("time").unwrap_or_default(),
                key: text("key")?,
                value: text("value")?,
                source: text("source").unwrap_or_default(),
            })
        })
        .collect()
}

/// Reads a session's `metrics.csv` and `changes.csv` back (rows that do not parse are
/// skipped; a file that is missing or not bertwork's reads as empty).
pub fn read_history(session: &Session) -> History {
    // The trainer's files always have these headers: another layout is moved aside
    // on open.
    let metrics = read_metrics(session).ok().flatten().unwrap_or_default();
    History {
        steps: metrics.steps,
        evals: metrics.evals,
        changes: read_changes(session)
            .into_iter()
            .map(|c| (c.step, format!("{}={}", c.key, c.value)))
            .collect(),
        watched: read_watched(session),
        downstream: read_downstream(session),
    }
}

/// The watched probes' readings in `watched.csv`, by step, each step's probes in the
/// order they were written (rows that do not parse are skipped).
pub fn read_watched(session: &Session) -> Vec<(u64, Vec<WatchReading>)> {
    let mut out: Vec<(u64, Vec<WatchReading>)> = Vec::new();
    let w = |name: &str| column(WATCHED_HEADER, name);
    let Ok(mut reader) = csv::Reader::from_path(session.path(WATCHED_FILE)) else {
        return out;
    };
    for row in reader.records().filter_map(|r| r.ok()) {
        let (Some(step), Some(probe), Some(token), Some(p)) = (
            row.get(w("step")).and_then(|v| v.parse::<u64>().ok()),
            row.get(w("probe")),
            row.get(w("token")),
            row.get(w("probability"))
                .and_then(|v| v.parse::<f64>().ok()),
        ) else {
            continue;
        };
        if out.last().is_none_or(|(s, _)| *s != step) {
            out.push((step, Vec::new()));
        }
        let readings = &mut out.last_mut().expect("pushed above").1;
        let reading = match readings.iter_mut().position(|r| r.text == probe) {
            Some(i) => &mut readings[i],
            None => {
                readings.push(WatchReading {
                    text: probe.to_string(),
                    top: Vec::new(),
                    named: Vec::new(),
                });
                readings.last_mut().expect("pushed above")
            }
        };
        let ranked = row.get(w("rank")).is_some_and(|r| !r.is_empty());
        if ranked {
            reading.top.push((token.to_string(), p));
        }
        if row.get(w("named")) == Some("true") {
            reading.named.push((token.to_string(), p));
        }
    }
    out
}

fn column(header: &[&str], name: &str) -> usize {
    header
        .iter()
        .position(|h| *h == name)
        .expect("a column of bertwork's own header")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::Records;

    #[test]
    fn history_reads_back_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let session = Session::scratch("h", dir.path().to_path_buf());
        let mut records = Records::open(&session, None).unwrap();
        let step = StepMetrics {
            step: 10,
            epoch: 0,
            epoch_progress: 0.0,
            mlm_loss: 7.5,
            mlm_acc: 0.25,
            nsp_loss: Some(0.69),
            nsp_acc: Some(0.5),
            lr: 1e-4,
            grad_norm: 1.5,
            tokens_per_s: 1000.0,
            data_wait: 0.0,
            elapsed_s: 2.0,
            memory: None,
            rank_tokens_per_s: Vec::new(),
            collective_share: None,
        };
        records.step(&step).unwrap();
        // With model.nsp = false the NSP cells are empty and read back as absent.
        let mlm_only = StepMetrics {
            step: 20,
            nsp_loss: None,
            nsp_acc: None,
            ..step.clone()
        };
        records.step(&mlm_only).unwrap();
        let eval = EvalMetrics {
            step: 10,
            epoch: 0,
            mlm_loss: 7.0,
            mlm_acc: 0.3,
            perplexity: 7f64.exp(),
            nsp_loss: Some(0.6),
            nsp_acc: Some(0.7),
            seconds: 0.0,
        };
        records.eval(&eval, 2.5).unwrap();
        records
            .change(
                "train.lr",
                "0.0005",
                11,
                0,
                crate::records::ChangeSource::Command,
            )
            .unwrap();
        let h = read_history(&session);
        assert_eq!(h.steps, vec![step, mlm_only]);
        assert_eq!(h.evals, vec![eval]);
        assert_eq!(h.changes, vec![(11, "train.lr=0.0005".to_string())]);
        assert!(h.watched.is_empty());
    }

    #[test]
    fn watched_readings_read_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let session = Session::scratch("w", dir.path().to_path_buf());
        let mut records = Records::open(&session, None).unwrap();
        let reading = |text: &str, top: &[(&str, f64)], named: &[(&str, f64)]| WatchReading {
            text: text.into(),
            top: top.iter().map(|(t, p)| (t.to_string(), *p)).collect(),
            named: named.iter().map(|(t, p)| (t.to_string(), *p)).collect(),
        };
        let at_10 = vec![
            reading(
                "a [MASK] .",
                &[("good", 0.5), ("bad", 0.25)],
                &[("bad", 0.25), ("awful", 0.01)],
            ),
            reading("b, c [MASK]", &[("x", 0.75)], &[]),
        ];
        let at_20 = vec![reading(
            "a [MASK] .",
            &[("bad", 0.5), ("good", 0.125)],
            &[("bad", 0.5), ("awful", 0.03)],
        )];
        records.watched(10, &at_10).unwrap();
        records.watched(20, &at_20).unwrap();
        assert_eq!(records.rows().watched, 3 + 1 + 3);
        let back = read_watched(&session);
        assert_eq!(back, vec![(10, at_10), (20, at_20)]);
    }
}
