//! A session as the report reads it: every record its charts and tables need, read
//! once from the session folder. Nothing is written and nothing is locked (the session
//! may be training: its files are appended or replaced atomically).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use crate::config::Config;
use crate::curves::compare::{on_axis, tokens_per_step, Overlay, XAxis};
use crate::curves::history::History;
use crate::probe::milestone::{self, Milestone};
use crate::protocol::{
    context_onset, DownstreamReading, DownstreamSetup, EvalMetrics, WatchReading,
};
use crate::records::Change;
use crate::session::{Lineage, Session};

/// One session's records.
#[derive(Debug, Clone)]
pub struct Run {
    pub name: String,
    pub dir: PathBuf,
    pub config: Config,
    /// The parent and step of a fork.
    pub lineage: Option<Lineage>,
    /// Step logs and held-out evaluations (`metrics.csv`); the markers are the
    /// changes (`key=value` at the step each took effect).
    pub history: History,
    /// `changes.csv`, every column.
    pub changes: Vec<Change>,
    /// Tokens per optimizer step (batch size x sequence length, padding included), for
    /// the token axis.
    pub tokens_per_step: f64,
    /// The no-context floor in nats per masked token (`floor.json`); None for a
    /// session made before it was recorded and not resumed since.
    pub floor: Option<f64>,
    /// The watched probes' readings, by step (`watched.csv`).
    pub watched: Vec<(u64, Vec<WatchReading>)>,
    /// The downstream probe's labels and baselines (`downstream.json`), if any.
    pub downstream_setup: Option<DownstreamSetup>,
    /// The downstream probe's readings (`downstream.csv`).
    pub downstream: Vec<DownstreamReading>,
    /// Rows of `metrics.csv` that could not be read and were left out.
    pub unreadable_rows: usize,
}

impl Run {
    /// Reads session `name` of the sessions folder.
    ///
    /// Errors: no such session, or one the report cannot be made from (see
    /// [`Run::from_session`]).
    pub fn load(name: &str) -> Result<Self> {
        Self::from_session(&Session::open(name)?)
    }

    /// Reads `session`'s folder.
    ///
    /// Errors: no metrics yet (no `metrics.csv`, or no training step in it), a
    /// `metrics.csv` that cannot be read or is not bertwork's, an unreadable
    /// `config.toml`, or a damaged `floor.json` or `downstream.json`.
    pub fn from_session(session: &Session) -> Result<Self> {
        let name = &session.name;
        let metrics = crate::records::read_metrics(session)
            .with_context(|| format!("cannot read the metrics of session `{name}`"))?;
        let Some(metrics) = metrics else {
            bail!(
                "session `{name}` has no metrics yet (no {} in {}): train it first (`bertwork resume {name}`), then write its report",
                crate::records::METRICS_FILE,
                session.dir.display()
            );
        };
        if metrics.steps.is_empty() {
            let unreadable = match metrics.unreadable_rows {
                0 => String::new(),
                n => format!(", and {n} rows that cannot be read"),
            };
            bail!(
                "session `{name}` has no metrics yet: its {} has no training step{unreadable}; train it first (`bertwork resume {name}`), then write its report",
                crate::records::METRICS_FILE
            );
        }
        let config = session
            .load_config()
            .with_context(|| format!("cannot read the config of session `{name}`"))?;
        let floor = crate::data::floor::load(&session.dir)?;
        let downstream_setup = crate::downstream::load_setup(&session.dir)?;
        let changes = crate::records::read_changes(session);
        let history = History {
            steps: metrics.steps,
            evals: metrics.evals,
            markers: changes
                .iter()
                .map(|c| (c.step, format!("{}={}", c.key, c.value)))
                .collect(),
        };
        Ok(Self {
            name: name.clone(),
            dir: session.dir.clone(),
            lineage: Lineage::read(session),
            history,
            changes,
            tokens_per_step: tokens_per_step(&config),
            config,
            floor,
            watched: crate::records::read_watched(session),
            downstream_setup,
            downstream: crate::records::read_downstream(session),
            unreadable_rows: metrics.unreadable_rows,
        })
    }

    /// The held-out evaluation of the context onset ([`context_onset`]), when the
    /// floor is known and the run got there.
    pub fn onset(&self) -> Option<&EvalMetrics> {
        context_onset(&self.history.evals, self.floor?)
    }

    /// Where the run stands on the probe milestone (from its watched probes).
    pub fn milestone(&self) -> Milestone {
        milestone::from_watched(&self.watched)
    }

    /// Whether the run trains NSP and logged any of it.
    pub fn nsp(&self) -> bool {
        self.config.model.nsp && self.history.steps.iter().any(|m| m.nsp_loss.is_some())
    }

    /// The last logged training step.
    pub fn last_step(&self) -> u64 {
        self.history.last().map_or(0, |m| m.step)
    }

    /// `points` (step, value) placed on `axis` ([`on_axis`]), non-finite values left
    /// out.
    pub fn on(&self, points: &[(f64, f64)], axis: XAxis) -> Vec<(f64, f64)> {
        let finite: Vec<(f64, f64)> = points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        on_axis(&finite, axis, &self.history, self.tokens_per_step)
    }

    /// Where optimizer step `step` sits on `axis`.
    pub fn x(&self, step: u64, axis: XAxis) -> Option<f64> {
        self.on(&[(step as f64, 0.0)], axis).first().map(|p| p.0)
    }

    /// The session as the comparison table reads it.
    pub fn overlay(&self) -> Overlay {
        Overlay {
            name: self.name.clone(),
            history: self.history.clone(),
            tokens_per_step: self.tokens_per_step,
            lineage: self
                .lineage
                .as_ref()
                .map(|l| format!("{}@{}", l.parent, l.step)),
            config: Some(self.config.clone()),
            downstream: self.downstream.clone(),
        }
    }
}
