//! What each chart of a report shows, as plain data: the same series the workbench
//! draws (raw and smoothed train lines, held-out points, the no-context floor, the
//! context onset, change markers, the downstream baselines, the watched tokens) placed
//! on the chosen axis, with the best value of each held-out series. Pure: sessions in,
//! [`Chart`]s out; [`super::chart`] draws them.

use crate::curves::compare::XAxis;
use crate::curves::history::{best, debiased_ema, Better};
use crate::curves::watched::probe_series;
use crate::curves::ONSET_MARKER;
use crate::probe::milestone::Milestone;
use crate::protocol::{EvalMetrics, StepMetrics};

use super::run::Run;

/// How the report places and smooths the series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    pub axis: XAxis,
    /// EMA factor of the smoothed train lines ([`debiased_ema`]), 0 (none) to < 1.
    pub smoothing: f64,
}

/// A colour role; [`super::chart`] maps it to a colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// The n-th compared session (0: the report's own session).
    Session(usize),
    /// The n-th of several series of one session.
    Series(usize),
    /// Raw (unsmoothed) train values.
    Raw,
    /// The no-context floor and the majority-class baseline.
    Floor,
    /// The context onset.
    Onset,
    /// The probe milestone.
    Milestone,
    /// Hyperparameter changes.
    Change,
    /// A baseline level (TF-IDF, untrained encoder).
    Baseline(usize),
}

/// How a line is stroked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stroke {
    Solid,
    /// Thin and pale: raw values under their smoothed line.
    Thin,
    Dashed,
    Dotted,
}

/// The best value of a held-out series: where it is and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct BestMark {
    pub step: u64,
    /// Its position on the chart's axis.
    pub x: f64,
    pub value: f64,
    /// Written beside the mark, e.g. `best 4.129 @ 2607`.
    pub text: String,
}

/// One plotted series.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The legend's label.
    pub label: String,
    /// (x on the chart's axis, value), finite, in order.
    pub points: Vec<(f64, f64)>,
    pub tone: Tone,
    pub stroke: Stroke,
    /// Each point drawn as a dot too (held-out evaluations, probe readings).
    pub dots: bool,
    pub best: Option<BestMark>,
}

/// A horizontal reference level across the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    pub label: String,
    pub y: f64,
    pub tone: Tone,
}

/// A vertical marker at one x position.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// The legend's label (markers of one kind share it).
    pub label: String,
    /// Written at the top of the line (e.g. the change, `train.lr=0.003`); may be
    /// empty.
    pub note: String,
    pub x: f64,
    pub tone: Tone,
}

/// How values on the vertical axis are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YFormat {
    /// With this many decimals.
    Decimals(usize),
    /// `1.0e-3`: learning rates.
    Scientific,
}

/// One chart: a title, its axes and what it plots.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// File name without extension (`mlm_loss` -> `mlm_loss.svg`, `mlm_loss.png`).
    pub stem: String,
    pub title: String,
    pub axis: XAxis,
    pub y_label: String,
    pub y_format: YFormat,
    /// Whether the vertical axis starts at zero (learning rates, probabilities).
    pub y_from_zero: bool,
    pub lines: Vec<Line>,
    pub levels: Vec<Level>,
    pub markers: Vec<Marker>,
}

impl Chart {
    /// Whether anything would be drawn.
    pub fn is_empty(&self) -> bool {
        self.lines.iter().all(|l| l.points.is_empty())
    }

    /// The x label of the chart's axis ([`axis_title`]).
    pub fn x_label(&self) -> &'static str {
        axis_title(self.axis)
    }
}

/// What an axis measures, as its label says: `step`, `tokens (padding included)` or
/// `training time (minutes)`.
pub fn axis_title(axis: XAxis) -> &'static str {
    match axis {
        XAxis::Step => "step",
        XAxis::Tokens => "tokens (padding included)",
        XAxis::Time => "training time (minutes)",
    }
}

/// The label of the workbench's change markers, in the legend.
pub const CHANGE_MARKER: &str = "hyperparameter change";

/// The label of the probe milestone's marker.
pub const MILESTONE_MARKER: &str = "probe milestone";

/// One held-out series of a run, as the report writes its best value.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldOut {
    /// `held-out MLM loss`, `downstream probe, mean-pooled (%)`, ...
    pub name: &'static str,
    pub better: Better,
    /// Decimals the value is written with.
    pub decimals: usize,
    /// (step, value) of every reading.
    pub points: Vec<(u64, f64)>,
}

impl HeldOut {
    /// The best value and its step ([`best`]).
    pub fn best(&self) -> Option<(u64, f64)> {
        best(self.points.iter().copied(), self.better)
    }
}

fn evals(run: &Run, f: impl Fn(&EvalMetrics) -> Option<f64>) -> Vec<(u64, f64)> {
    run.history
        .evals
        .iter()
        .filter_map(|e| Some((e.step, f(e)?)))
        .filter(|(_, v)| v.is_finite())
        .collect()
}

/// Every held-out series of `run` that has a reading: MLM and NSP loss and accuracy
/// on the held-out documents, and the downstream probe's accuracies on its test folds.
pub fn held_out(run: &Run) -> Vec<HeldOut> {
    let series = [
        HeldOut {
            name: "held-out MLM loss",
            better: Better::Lower,
            decimals: 3,
            points: evals(run, |e| Some(e.mlm_loss)),
        },
        HeldOut {
            name: "held-out NSP loss",
            better: Better::Lower,
            decimals: 3,
            points: evals(run, |e| e.nsp_loss),
        },
        HeldOut {
            name: "held-out MLM accuracy",
            better: Better::Higher,
            decimals: 3,
            points: evals(run, |e| Some(e.mlm_acc)),
        },
        HeldOut {
            name: "held-out NSP accuracy",
            better: Better::Higher,
            decimals: 3,
            points: evals(run, |e| e.nsp_acc),
        },
        HeldOut {
            name: "downstream probe, mean-pooled (%)",
            better: Better::Higher,
            decimals: 1,
            points: run
                .downstream
                .iter()
                .map(|r| (r.step, 100.0 * r.mean_pooled.accuracy))
                .collect(),
        },
        HeldOut {
            name: "downstream probe, [CLS] (%)",
            better: Better::Higher,
            decimals: 1,
            points: run
                .downstream
                .iter()
                .map(|r| (r.step, 100.0 * r.cls.accuracy))
                .collect(),
        },
    ];
    series
        .into_iter()
        .filter(|s| !s.points.is_empty())
        .collect()
}

/// The held-out series `name` of `run` as a line, with its best value marked.
fn held_out_line(
    run: &Run,
    view: View,
    name: &str,
    (label, tone, stroke): (String, Tone, Stroke),
) -> Option<Line> {
    let series = held_out(run).into_iter().find(|s| s.name == name)?;
    let raw: Vec<(f64, f64)> = series.points.iter().map(|&(s, v)| (s as f64, v)).collect();
    let best = series.best().and_then(|(step, value)| {
        Some(BestMark {
            step,
            x: run.x(step, view.axis)?,
            value,
            text: format!("best {value:.prec$} @ {step}", prec = series.decimals),
        })
    });
    Some(Line {
        label,
        points: run.on(&raw, view.axis),
        tone,
        stroke,
        dots: true,
        best,
    })
}

/// (x, y) points of a line.
type Points = Vec<(f64, f64)>;

/// A train metric as raw and smoothed (step, value) points, non-finite values left
/// out before smoothing.
fn train_points(
    run: &Run,
    view: View,
    f: impl Fn(&StepMetrics) -> Option<f64>,
) -> (Points, Points) {
    let raw: Vec<(f64, f64)> = run
        .history
        .steps
        .iter()
        .filter_map(|m| Some((m.step as f64, f(m)?)))
        .filter(|(_, v)| v.is_finite())
        .collect();
    let smooth = debiased_ema(&raw, view.smoothing);
    (run.on(&raw, view.axis), run.on(&smooth, view.axis))
}

/// A session's label in a chart: its name when several are compared, else `own`.
fn who(runs: &[Run], i: usize, own: &str) -> String {
    if runs.len() > 1 {
        format!("{} {own}", runs[i].name)
    } else {
        own.to_string()
    }
}

/// The change markers, the context onset and the milestone of each run. `milestone`:
/// whether this chart marks the milestone too.
fn run_markers(runs: &[Run], view: View, milestone: bool) -> Vec<Marker> {
    let several = runs.len() > 1;
    let mut out = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        let tone = |own: Tone| if several { Tone::Session(i) } else { own };
        let prefix = if several {
            format!("{}: ", run.name)
        } else {
            String::new()
        };
        // Changes that took effect at the same step share a marker.
        let mut steps: Vec<u64> = run.changes.iter().map(|c| c.step).collect();
        steps.dedup();
        for step in steps {
            let Some(x) = run.x(step, view.axis) else {
                continue;
            };
            let what: Vec<String> = run
                .changes
                .iter()
                .filter(|c| c.step == step)
                .map(|c| format!("{}={}", c.key, c.value))
                .collect();
            out.push(Marker {
                label: format!("{prefix}{CHANGE_MARKER}"),
                note: what.join(", "),
                x,
                tone: tone(Tone::Change),
            });
        }
        if let Some(e) = run.onset() {
            if let Some(x) = run.x(e.step, view.axis) {
                out.push(Marker {
                    label: format!("{prefix}{ONSET_MARKER} (step {})", e.step),
                    note: String::new(),
                    x,
                    tone: tone(Tone::Onset),
                });
            }
        }
        if let (true, Milestone::Reached { step }) = (milestone, run.milestone()) {
            if let Some(x) = run.x(step, view.axis) {
                out.push(Marker {
                    label: format!("{prefix}{MILESTONE_MARKER} (step {step})"),
                    note: String::new(),
                    x,
                    tone: tone(Tone::Milestone),
                });
            }
        }
    }
    out
}

type TrainField = fn(&StepMetrics) -> Option<f64>;

/// A loss chart: train (raw alone, smoothed), held-out with its best value, and for
/// MLM the no-context floor.
fn loss_chart(runs: &[Run], view: View, nsp: bool) -> Chart {
    let several = runs.len() > 1;
    let (stem, title, name, f): (&str, &str, &str, TrainField) = if nsp {
        ("nsp_loss", "NSP loss", "held-out NSP loss", |m| m.nsp_loss)
    } else {
        ("mlm_loss", "MLM loss", "held-out MLM loss", |m| {
            Some(m.mlm_loss)
        })
    };
    let mut lines = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        let (raw, smooth) = train_points(run, view, f);
        let tone = if several {
            Tone::Session(i)
        } else {
            Tone::Series(0)
        };
        if !several {
            lines.push(Line {
                label: "train (raw)".into(),
                points: raw,
                tone: Tone::Raw,
                stroke: Stroke::Thin,
                dots: false,
                best: None,
            });
        }
        lines.push(Line {
            label: who(runs, i, &format!("train (smoothed {:.2})", view.smoothing)),
            points: smooth,
            tone,
            stroke: Stroke::Solid,
            dots: false,
            best: None,
        });
        let held = if several { tone } else { Tone::Series(1) };
        lines.extend(held_out_line(
            run,
            view,
            name,
            (who(runs, i, "held-out"), held, Stroke::Dashed),
        ));
    }
    let mut levels = Vec::new();
    if !nsp {
        // One level per distinct floor (sessions of one corpus and recipe share it).
        for (i, run) in runs.iter().enumerate() {
            let Some(floor) = run.floor else { continue };
            if levels.iter().any(|l: &Level| (l.y - floor).abs() < 1e-9) {
                continue;
            }
            let distinct = runs
                .iter()
                .filter_map(|r| r.floor)
                .any(|f| (f - floor).abs() >= 1e-9);
            levels.push(Level {
                label: if distinct {
                    format!("{}: no-context floor {floor:.3}", run.name)
                } else {
                    format!("no-context floor {floor:.3}")
                },
                y: floor,
                tone: if distinct {
                    Tone::Session(i)
                } else {
                    Tone::Floor
                },
            });
        }
    }
    Chart {
        stem: stem.into(),
        title: format!("{title}, train and held-out"),
        axis: view.axis,
        y_label: if nsp {
            "loss (nats per sentence pair)".into()
        } else {
            "loss (nats per masked token)".into()
        },
        y_format: YFormat::Decimals(2),
        y_from_zero: false,
        lines,
        levels,
        markers: run_markers(runs, view, !nsp),
    }
}

/// MLM and NSP accuracy: smoothed train lines and held-out points (alone), held-out
/// only when sessions are compared (colour: the session; stroke: the metric).
fn accuracy_chart(runs: &[Run], view: View) -> Chart {
    let several = runs.len() > 1;
    let mut lines = Vec::new();
    let metrics: [(&str, &str, TrainField); 2] = [
        ("MLM", "held-out MLM accuracy", |m| Some(m.mlm_acc)),
        ("NSP", "held-out NSP accuracy", |m| m.nsp_acc),
    ];
    for (i, run) in runs.iter().enumerate() {
        for (k, (metric, name, f)) in metrics.iter().enumerate() {
            if *metric == "NSP" && !run.nsp() {
                continue;
            }
            if several {
                let stroke = if k == 0 {
                    Stroke::Solid
                } else {
                    Stroke::Dashed
                };
                lines.extend(held_out_line(
                    run,
                    view,
                    name,
                    (
                        format!("{} held-out {metric}", run.name),
                        Tone::Session(i),
                        stroke,
                    ),
                ));
            } else {
                let (_, smooth) = train_points(run, view, f);
                lines.push(Line {
                    label: format!("{metric} train (smoothed {:.2})", view.smoothing),
                    points: smooth,
                    tone: Tone::Series(2 * k),
                    stroke: Stroke::Solid,
                    dots: false,
                    best: None,
                });
                lines.extend(held_out_line(
                    run,
                    view,
                    name,
                    (
                        format!("{metric} held-out"),
                        Tone::Series(2 * k + 1),
                        Stroke::Dashed,
                    ),
                ));
            }
        }
    }
    Chart {
        stem: "accuracy".into(),
        title: "MLM and NSP accuracy".into(),
        axis: view.axis,
        y_label: "accuracy (share correct)".into(),
        y_format: YFormat::Decimals(2),
        y_from_zero: false,
        lines,
        levels: Vec::new(),
        markers: run_markers(runs, view, false),
    }
}

/// The learning rate of every logged step, with the changes marked.
fn lr_chart(runs: &[Run], view: View) -> Chart {
    let several = runs.len() > 1;
    let lines = runs
        .iter()
        .enumerate()
        .map(|(i, run)| {
            let raw: Vec<(f64, f64)> = run
                .history
                .steps
                .iter()
                .map(|m| (m.step as f64, m.lr))
                .collect();
            Line {
                label: who(runs, i, "learning rate"),
                points: run.on(&raw, view.axis),
                tone: if several {
                    Tone::Session(i)
                } else {
                    Tone::Series(0)
                },
                stroke: Stroke::Solid,
                dots: false,
                best: None,
            }
        })
        .collect();
    let markers = run_markers(runs, view, false)
        .into_iter()
        .filter(|m| m.label.ends_with(CHANGE_MARKER))
        .collect();
    Chart {
        stem: "learning_rate".into(),
        title: "Learning rate".into(),
        axis: view.axis,
        y_label: "learning rate".into(),
        y_format: YFormat::Scientific,
        y_from_zero: true,
        lines,
        levels: Vec::new(),
        markers,
    }
}

/// The downstream probe's accuracies (%) with the report's session's baselines as
/// levels; None when no session has downstream readings.
fn downstream_chart(runs: &[Run], view: View) -> Option<Chart> {
    if runs.iter().all(|r| r.downstream.is_empty()) {
        return None;
    }
    let several = runs.len() > 1;
    let mut lines = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        let kinds = [
            ("downstream probe, mean-pooled (%)", "probe, mean-pooled"),
            ("downstream probe, [CLS] (%)", "probe, [CLS]"),
        ];
        for (k, (name, label)) in kinds.iter().enumerate() {
            let (tone, stroke) = match (several, k) {
                (true, 0) => (Tone::Session(i), Stroke::Solid),
                (true, _) => (Tone::Session(i), Stroke::Dashed),
                (false, _) => (Tone::Series(k), Stroke::Solid),
            };
            lines.extend(held_out_line(
                run,
                view,
                name,
                (who(runs, i, label), tone, stroke),
            ));
        }
    }
    let mut levels = Vec::new();
    if let Some(setup) = &runs[0].downstream_setup {
        let prefix = if several {
            format!("{}: ", runs[0].name)
        } else {
            String::new()
        };
        levels.push(Level {
            label: format!("{prefix}TF-IDF {}", setup.tfidf.describe()),
            y: 100.0 * setup.tfidf.accuracy,
            tone: Tone::Baseline(0),
        });
        levels.push(Level {
            label: format!("{prefix}majority class {}", setup.majority.describe()),
            y: 100.0 * setup.majority.accuracy,
            tone: Tone::Floor,
        });
        if let Some(u) = &setup.untrained {
            levels.push(Level {
                label: format!("{prefix}untrained encoder {}", u.describe()),
                y: 100.0 * u.accuracy,
                tone: Tone::Baseline(1),
            });
        }
    }
    let label = runs[0]
        .downstream_setup
        .as_ref()
        .map_or(String::new(), |s| {
            format!(" on the {} labels", s.label_column)
        });
    Some(Chart {
        stem: "downstream".into(),
        title: format!("Downstream accuracy{label}, linear probe on frozen features"),
        axis: view.axis,
        y_label: "accuracy (%)".into(),
        y_format: YFormat::Decimals(0),
        y_from_zero: false,
        lines,
        levels,
        markers: run_markers(runs, view, false)
            .into_iter()
            .filter(|m| !m.label.ends_with(CHANGE_MARKER))
            .collect(),
    })
}

/// One chart per probe the report's session watched: the probability of each of its
/// chart tokens (named first, then the newest top ones) over training; a compared
/// session that watched the same probe adds its lines for the same tokens, dashed.
fn watched_charts(runs: &[Run], view: View) -> Vec<Chart> {
    let series: Vec<_> = runs.iter().map(|r| probe_series(&r.watched)).collect();
    let strokes = [Stroke::Solid, Stroke::Dashed, Stroke::Dotted];
    let mut charts = Vec::new();
    for (n, probe) in series[0].iter().enumerate() {
        let tokens = probe.chart_tokens();
        let mut lines = Vec::new();
        for (i, run) in runs.iter().enumerate() {
            let Some(theirs) = series[i].iter().find(|s| s.text == probe.text) else {
                continue;
            };
            for (k, token) in tokens.iter().enumerate() {
                let Some(points) = theirs.points.get(token) else {
                    continue;
                };
                // A token is charted at the readings that ranked or named it: the
                // dots show which.
                lines.push(Line {
                    label: who(runs, i, &format!("\"{token}\"")),
                    points: run.on(points, view.axis),
                    tone: Tone::Series(k),
                    stroke: strokes[i % strokes.len()],
                    dots: true,
                    best: None,
                });
            }
        }
        let markers = run_markers(&runs[..1], view, true)
            .into_iter()
            .filter(|m| !m.label.ends_with(CHANGE_MARKER))
            .collect();
        charts.push(Chart {
            stem: format!("watched_{}", n + 1),
            title: format!("P(token) at [MASK]: {}", probe.text),
            axis: view.axis,
            y_label: "probability".into(),
            y_format: YFormat::Decimals(2),
            y_from_zero: true,
            lines,
            levels: Vec::new(),
            markers,
        });
    }
    charts
}

/// Every chart of a report on `runs` (the report's session first, then the compared
/// ones), empty ones left out.
pub fn charts(runs: &[Run], view: View) -> Vec<Chart> {
    if runs.is_empty() {
        return Vec::new();
    }
    let mut out = vec![loss_chart(runs, view, false)];
    if runs.iter().any(Run::nsp) {
        out.push(loss_chart(runs, view, true));
    }
    out.push(accuracy_chart(runs, view));
    out.push(lr_chart(runs, view));
    out.extend(downstream_chart(runs, view));
    out.extend(watched_charts(runs, view));
    out.retain(|c| !c.is_empty());
    out
}
