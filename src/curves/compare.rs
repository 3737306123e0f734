//! Comparing sessions on the charts (the workbench's dashboard, `bertwork report`):
//! other sessions' curves overlaid (smoothed train loss and held-out points, one colour
//! per session), on a step, token or wall-time axis, and a table of the sessions with
//! their lineage and the config keys that differ. Loading reads session folders;
//! everything else is pure.

use anyhow::Result;

use super::history::{best, Better, History};
use crate::config::Config;
use crate::session::{Lineage, Session};

/// The charts' horizontal axis.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum XAxis {
    #[default]
    Step,
    /// Tokens fed so far, counted as steps x batch size x sequence length (padding
    /// included), from each session's config.
    Tokens,
    /// Training time (wall-clock seconds, carried over resumes).
    Time,
}

impl XAxis {
    pub fn next(self) -> Self {
        match self {
            XAxis::Step => XAxis::Tokens,
            XAxis::Tokens => XAxis::Time,
            XAxis::Time => XAxis::Step,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            XAxis::Step => "step",
            XAxis::Tokens => "tokens",
            XAxis::Time => "minutes",
        }
    }

    /// A position on this axis as a label: steps whole, tokens in k/M/G, minutes with
    /// one decimal.
    pub fn format(self, x: f64) -> String {
        match self {
            XAxis::Step => format!("{x:.0}"),
            XAxis::Tokens if x >= 1e9 => format!("{:.1}G", x / 1e9),
            XAxis::Tokens if x >= 1e6 => format!("{:.1}M", x / 1e6),
            XAxis::Tokens => format!("{:.0}k", x / 1e3),
            XAxis::Time => format!("{x:.1}"),
        }
    }
}

/// One session's curves and what sets it apart.
#[derive(Debug, Clone, Default)]
pub struct Overlay {
    pub name: String,
    pub history: History,
    /// Batch size x sequence length: tokens per optimizer step.
    pub tokens_per_step: f64,
    /// `parent@step` for a fork.
    pub lineage: Option<String>,
    pub config: Option<Config>,
    /// Its downstream probe readings (empty without labels).
    pub downstream: Vec<crate::protocol::DownstreamReading>,
}

impl Overlay {
    /// Reads session `name`'s records, config and lineage.
    ///
    /// Errors: no such session.
    pub fn load(name: &str) -> Result<Self> {
        let session = Session::open(name)?;
        let past = crate::records::read_history(&session);
        let config = session.load_config().ok();
        let mut history = History {
            steps: past.steps,
            evals: past.evals,
            markers: Vec::new(),
        };
        history.markers.extend(past.changes);
        Ok(Self {
            downstream: past.downstream,
            name: name.to_string(),
            history,
            tokens_per_step: config.as_ref().map_or(f64::NAN, tokens_per_step),
            lineage: Lineage::read(&session).map(|l| format!("{}@{}", l.parent, l.step)),
            config,
        })
    }
}

/// Batch size x sequence length of a config.
pub fn tokens_per_step(config: &Config) -> f64 {
    (config.train.batch_size * config.data.max_seq_len) as f64
}

/// Maps (step, value) points onto `axis`: steps times `tokens_per_step`, or the
/// training time of the nearest logged step at or after it (in minutes).
pub fn on_axis(
    points: &[(f64, f64)],
    axis: XAxis,
    history: &History,
    tokens_per_step: f64,
) -> Vec<(f64, f64)> {
    match axis {
        XAxis::Step => points.to_vec(),
        XAxis::Tokens => points
            .iter()
            .map(|&(s, v)| (s * tokens_per_step, v))
            .collect(),
        XAxis::Time => points
            .iter()
            .filter_map(|&(s, v)| {
                let i = history.steps.partition_point(|m| (m.step as f64) < s);
                let m = history.steps.get(i).or(history.steps.last())?;
                Some((m.elapsed_s / 60.0, v))
            })
            .collect(),
    }
}

/// Keys that say how long, where and how a run reports, not what it learns: listed
/// after the others among a session's differences.
const RUN_KEYS: &[&str] = &[
    "train.epochs",
    "train.max_steps",
    "train.device",
    "train.threads",
    "train.log_every",
    "train.eval_every",
    "train.checkpoint_every",
    "train.keep_checkpoints",
    "train.watch",
    "train.watch_every",
];

/// A row of the comparison table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub name: String,
    pub lineage: Option<String>,
    pub last_step: u64,
    pub last_train_mlm: Option<f64>,
    pub best_heldout_mlm: Option<(u64, f64)>,
    /// `key=value` of this session where its config differs from the first one's.
    pub differs: Vec<String>,
}

/// The table: the first session (its name, lineage, config and history), then each
/// overlay, with its config keys that differ from the first's (start configs: changes
/// made during a run are markers on the charts).
pub fn rows(
    (name, lineage, config, history): (&str, Option<&str>, Option<&Config>, &History),
    overlays: &[Overlay],
) -> Vec<Row> {
    let row = |name: &str, lineage: Option<&str>, history: &History, differs: Vec<String>| Row {
        name: name.to_string(),
        lineage: lineage.map(str::to_string),
        last_step: history.last().map_or(0, |m| m.step),
        last_train_mlm: history.last().map(|m| m.mlm_loss),
        best_heldout_mlm: best(
            history.evals.iter().map(|e| (e.step, e.mlm_loss)),
            Better::Lower,
        ),
        differs,
    };
    let mut out = vec![row(name, lineage, history, Vec::new())];
    for o in overlays {
        let mut differs: Vec<(String, String)> = match (&o.config, config) {
            (Some(a), Some(b)) => a.changed_keys(b).unwrap_or_default(),
            _ => Vec::new(),
        };
        // What changes the recipe first; how long, where and how it reports last.
        differs.sort_by_key(|(k, _)| RUN_KEYS.contains(&k.as_str()));
        let differs = differs
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        out.push(row(&o.name, o.lineage.as_deref(), &o.history, differs));
    }
    out
}

/// The table as text lines (the CLI's output and the dashboard's box).
pub fn table_lines(rows: &[Row]) -> Vec<String> {
    let mut out = vec![format!(
        "{:<24} {:<20} {:>7} {:>9} {:>17}  differs from {}",
        "SESSION",
        "FORKED FROM",
        "STEP",
        "TRAIN MLM",
        "BEST HELD-OUT",
        rows.first().map_or("", |r| r.name.as_str())
    )];
    for r in rows {
        out.push(format!(
            "{:<24} {:<20} {:>7} {:>9} {:>17}  {}",
            r.name,
            r.lineage.as_deref().unwrap_or("-"),
            r.last_step,
            r.last_train_mlm.map_or("-".into(), |v| format!("{v:.3}")),
            r.best_heldout_mlm
                .map_or("-".into(), |(s, v)| format!("{v:.3} @{s}")),
            if r.differs.is_empty() {
                "-".to_string()
            } else {
                r.differs.join(" ")
            }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::StepMetrics;

    fn step(step: u64, elapsed_s: f64, loss: f64) -> StepMetrics {
        StepMetrics {
            step,
            epoch: 0,
            epoch_progress: 0.0,
            mlm_loss: loss,
            mlm_acc: 0.0,
            nsp_loss: None,
            nsp_acc: None,
            lr: 0.0,
            grad_norm: 0.0,
            tokens_per_s: 0.0,
            data_wait: 0.0,
            elapsed_s,
            memory: None,
            rank_tokens_per_s: Vec::new(),
            collective_share: None,
        }
    }

    #[test]
    fn points_map_onto_tokens_and_time() {
        let history = History {
            steps: vec![step(10, 60.0, 7.0), step(20, 120.0, 6.0)],
            ..History::default()
        };
        let pts = [(10.0, 7.0), (15.0, 6.5), (20.0, 6.0)];
        assert_eq!(on_axis(&pts, XAxis::Step, &history, 4096.0), pts.to_vec());
        assert_eq!(
            on_axis(&pts, XAxis::Tokens, &history, 4096.0)[2],
            (20.0 * 4096.0, 6.0)
        );
        // A held-out point between logs takes the time of the next log.
        let t = on_axis(&pts, XAxis::Time, &history, 4096.0);
        assert_eq!(t, vec![(1.0, 7.0), (2.0, 6.5), (2.0, 6.0)]);
        assert_eq!(XAxis::Step.next().next().next(), XAxis::Step);
    }

    #[test]
    fn rows_list_the_keys_that_differ_from_the_first_session() {
        let base = Config::load(None, &[]).unwrap();
        let other = base
            .with_overrides(&["train.checkpoint_every=50".into(), "train.lr=0.0005".into()])
            .unwrap();
        let first = Overlay {
            name: "a".into(),
            history: History {
                steps: vec![step(10, 1.0, 7.0)],
                ..History::default()
            },
            config: Some(base),
            ..Overlay::default()
        };
        let fork = Overlay {
            name: "b".into(),
            lineage: Some("a@10".into()),
            config: Some(other),
            ..Overlay::default()
        };
        let rows = rows(
            (&first.name, None, first.config.as_ref(), &first.history),
            &[fork],
        );
        assert_eq!(rows[0].differs, Vec::<String>::new());
        // The recipe's change first, the bookkeeping after it.
        assert_eq!(
            rows[1].differs,
            vec![
                "train.lr=0.0005".to_string(),
                "train.checkpoint_every=50".to_string()
            ]
        );
        let lines = table_lines(&rows);
        assert!(
            lines[2].starts_with("b ") && lines[2].contains("a@10"),
            "{}",
            lines[2]
        );
        assert!(
            lines[2].ends_with("train.lr=0.0005 train.checkpoint_every=50"),
            "{}",
            lines[2]
        );
    }
}
