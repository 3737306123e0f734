//! What `report.md` and `index.html` say, as plain data: sections of paragraphs,
//! tables and charts, made from the sessions and their charts. [`super::markdown`] and
//! [`super::html`] write it out, each escaping text its own way, so the two files
//! always say the same.

use crate::config::keys::KEYS;
use crate::config::Config;
use crate::curves::compare::{rows, XAxis};
use crate::probe::milestone::{self, Milestone};

use super::run::Run;
use super::series::{axis_title, held_out, Chart, View};

/// A piece of running text.
#[derive(Debug, Clone, PartialEq)]
pub enum Span {
    Plain(String),
    /// A command, key, file name or value, set as code.
    Code(String),
}

/// A table: a header row and rows of plain-text cells.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Paragraph(Vec<Span>),
    Table(Table),
    /// A chart: its file stem (`.svg` and `.png` beside the report) and title.
    Chart {
        stem: String,
        title: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub heading: String,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub title: String,
    /// The lines under the title: how the report was made.
    pub intro: Vec<Span>,
    pub sections: Vec<Section>,
}

fn plain(s: impl Into<String>) -> Span {
    Span::Plain(s.into())
}

fn code(s: impl Into<String>) -> Span {
    Span::Code(s.into())
}

/// Training time in seconds as `h:mm:ss` or `m:ss`.
pub fn clock(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "-".into();
    }
    let s = seconds.round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// Training time and tokens at optimizer step `step` of `run`: `2:01 of training,
/// 1.2M tokens`.
fn when(run: &Run, step: u64) -> String {
    let minutes = run.x(step, XAxis::Time);
    let tokens = run.x(step, XAxis::Tokens);
    format!(
        "{} of training, {} tokens",
        minutes.map_or("-".into(), |m| clock(m * 60.0)),
        tokens.map_or("-".into(), |t| XAxis::Tokens.format(t))
    )
}

fn onset_text(run: &Run) -> String {
    let Some(floor) = run.floor else {
        return "unknown: the session has no recorded no-context floor (sessions record it from this version on; resuming it records it)".into();
    };
    match run.onset() {
        Some(e) => format!(
            "step {} ({}): held-out MLM loss {:.3}, {:.3} below the floor",
            e.step,
            when(run, e.step),
            e.mlm_loss,
            floor - e.mlm_loss
        ),
        None => format!(
            "not yet by step {}: no held-out MLM loss {:.2} below the floor",
            run.last_step(),
            crate::protocol::ONSET_MARGIN
        ),
    }
}

fn milestone_text(run: &Run) -> String {
    match run.milestone() {
        Milestone::Reached { step } => format!("step {step} ({})", when(run, step)),
        Milestone::NotYet { last_step } => {
            format!("not yet by the reading of step {last_step}")
        }
        Milestone::NotWatched { missing } => format!(
            "not measured: the session does not watch {} (add it to train.watch to measure it)",
            missing
                .iter()
                .map(|p| format!("\"{p}\""))
                .collect::<Vec<_>>()
                .join(" and ")
        ),
    }
}

/// The summary table: one column per session.
fn summary(runs: &[Run]) -> Table {
    let mut header = vec![String::new()];
    header.extend(runs.iter().map(|r| r.name.clone()));
    let row = |label: &str, f: &dyn Fn(&Run) -> String| {
        let mut cells = vec![label.to_string()];
        cells.extend(runs.iter().map(f));
        cells
    };
    let rows = vec![
        row("forked from", &|r| {
            r.lineage
                .as_ref()
                .map_or("-".into(), |l| format!("{}@{}", l.parent, l.step))
        }),
        row("model", &|r| match r.config.dims() {
            Ok(d) => format!(
                "{} ({} layers, hidden {}, {} heads)",
                r.config.model.preset, d.layers, d.hidden, d.heads
            ),
            Err(_) => r.config.model.preset.to_string(),
        }),
        row("last logged step", &|r| {
            let m = r.history.last();
            m.map_or("-".into(), |m| {
                format!("{} (epoch {})", m.step, m.epoch + 1)
            })
        }),
        row("training time", &|r| {
            r.history.last().map_or("-".into(), |m| clock(m.elapsed_s))
        }),
        row("tokens seen (padding included)", &|r| {
            r.x(r.last_step(), XAxis::Tokens)
                .map_or("-".into(), |t| XAxis::Tokens.format(t))
        }),
        row("last train MLM loss", &|r| {
            r.history
                .last()
                .map_or("-".into(), |m| format!("{:.3}", m.mlm_loss))
        }),
        row("no-context floor", &|r| {
            r.floor.map_or("not recorded".into(), |f| format!("{f:.3}"))
        }),
        row("context onset", &onset_text),
        row("probe milestone", &milestone_text),
    ];
    Table { header, rows }
}

/// Every held-out series' best value, per session.
fn bests(runs: &[Run]) -> Table {
    let mut table = Table {
        header: ["session", "series", "best", "step", "when"]
            .map(String::from)
            .to_vec(),
        rows: Vec::new(),
    };
    for run in runs {
        for series in held_out(run) {
            let Some((step, value)) = series.best() else {
                continue;
            };
            table.rows.push(vec![
                run.name.clone(),
                series.name.to_string(),
                format!("{value:.prec$}", prec = series.decimals),
                step.to_string(),
                when(run, step),
            ]);
        }
    }
    table
}

/// Every key of `config`, in the order of `config.toml`: (`section.key`, value).
pub fn config_values(config: &Config) -> Vec<(String, String)> {
    let Ok(table) = toml::Table::try_from(config) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for key in KEYS {
        let Some(values) = table.get(key.section).and_then(|v| v.as_table()) else {
            continue;
        };
        let shown = match values.get(key.name) {
            None => "(not set)".to_string(),
            Some(toml::Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
        };
        out.push((key.dotted(), shown));
    }
    out
}

fn config_table(config: &Config) -> Table {
    Table {
        header: vec!["key".into(), "value".into()],
        rows: config_values(config)
            .into_iter()
            .map(|(k, v)| vec![k, v])
            .collect(),
    }
}

/// The keys whose values differ between the sessions (each set against the first, as
/// `bertwork compare` does), with every session's value.
fn differences(runs: &[Run]) -> Table {
    let first = &runs[0];
    let table = rows(
        (&first.name, None, Some(&first.config), &first.history),
        &runs[1..].iter().map(Run::overlay).collect::<Vec<_>>(),
    );
    let mut keys: Vec<String> = Vec::new();
    for row in &table {
        for d in &row.differs {
            let key = d.split_once('=').map_or(d.as_str(), |(k, _)| k);
            if !keys.iter().any(|k| k == key) {
                keys.push(key.to_string());
            }
        }
    }
    let values: Vec<Vec<(String, String)>> =
        runs.iter().map(|r| config_values(&r.config)).collect();
    let mut header = vec!["key".to_string()];
    header.extend(runs.iter().map(|r| r.name.clone()));
    Table {
        header,
        rows: keys
            .iter()
            .map(|key| {
                let mut cells = vec![key.clone()];
                cells.extend(values.iter().map(|vs| {
                    vs.iter()
                        .find(|(k, _)| k == key)
                        .map_or("(default)".into(), |(_, v)| v.clone())
                }));
                cells
            })
            .collect(),
    }
}

fn changes(runs: &[Run]) -> Table {
    let mut table = Table {
        header: [
            "session", "step", "epoch", "key", "value", "source", "recorded",
        ]
        .map(String::from)
        .to_vec(),
        rows: Vec::new(),
    };
    for run in runs {
        for c in &run.changes {
            table.rows.push(vec![
                run.name.clone(),
                c.step.to_string(),
                (c.epoch + 1).to_string(),
                c.key.clone(),
                c.value.clone(),
                c.source.clone(),
                c.time.clone(),
            ]);
        }
    }
    table
}

fn probes(runs: &[Run]) -> Table {
    let mut table = Table {
        header: ["session", "probe", "step", "top tokens", "named tokens"]
            .map(String::from)
            .to_vec(),
        rows: Vec::new(),
    };
    let listed = |tokens: &[(String, f64)]| {
        if tokens.is_empty() {
            return "-".to_string();
        }
        tokens
            .iter()
            .map(|(t, p)| format!("{t} {p:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for run in runs {
        for probe in crate::curves::watched::probe_series(&run.watched) {
            let Some((step, r)) = &probe.latest else {
                continue;
            };
            table.rows.push(vec![
                run.name.clone(),
                probe.text.clone(),
                step.to_string(),
                listed(&r.top),
                listed(&r.named),
            ]);
        }
    }
    table
}

fn downstream(runs: &[Run]) -> Option<Table> {
    let mut table = Table {
        header: [
            "session",
            "what",
            "accuracy (95% interval)",
            "step",
            "documents",
        ]
        .map(String::from)
        .to_vec(),
        rows: Vec::new(),
    };
    for run in runs {
        let Some(setup) = &run.downstream_setup else {
            continue;
        };
        let mut row = |what: String, a: &crate::protocol::Accuracy, step: String| {
            table.rows.push(vec![
                run.name.clone(),
                what,
                a.describe(),
                step,
                a.documents.to_string(),
            ]);
        };
        if let Some(last) = run.downstream.last() {
            row(
                "probe, mean-pooled (last)".into(),
                &last.mean_pooled,
                last.step.to_string(),
            );
            row(
                "probe, [CLS] (last)".into(),
                &last.cls,
                last.step.to_string(),
            );
        }
        row(
            "TF-IDF + logistic regression".into(),
            &setup.tfidf,
            "-".into(),
        );
        row("majority class".into(), &setup.majority, "-".into());
        if let Some(u) = &setup.untrained {
            row("untrained encoder".into(), u, "0".into());
        }
    }
    (!table.rows.is_empty()).then_some(table)
}

/// The report on `runs` (its session first, then the compared ones) with `charts`.
/// `command`: the command line that writes it, and whether the workbench's `r` did.
pub fn document(
    runs: &[Run],
    charts: &[Chart],
    view: View,
    (command, workbench): (&str, bool),
) -> Document {
    let names: Vec<String> = runs.iter().map(|r| r.name.clone()).collect();
    let title = match names.split_first() {
        Some((first, [])) => format!("bertwork report: session {first}"),
        Some((first, rest)) => format!(
            "bertwork report: session {first} compared with {}",
            rest.join(", ")
        ),
        None => "bertwork report".into(),
    };
    let now = chrono::Local::now().format("%Y-%m-%d %H:%M");
    let mut intro = vec![
        plain(if workbench {
            "Written from the workbench (key r; the same as "
        } else {
            "Written by "
        }),
        code(command),
        plain(if workbench { ")" } else { "" }),
        plain(format!(
            " on {now}, from the session folder{} ",
            if runs.len() > 1 { "s" } else { "" }
        )),
    ];
    for (i, run) in runs.iter().enumerate() {
        if i > 0 {
            intro.push(plain(", "));
        }
        intro.push(code(run.dir.display().to_string()));
    }
    intro.push(plain(format!(
        ". Charts against {}; train lines smoothed with a debiased EMA of {:.2}. Each chart is an SVG with a PNG beside it.",
        axis_title(view.axis),
        view.smoothing
    )));
    let mut sections = vec![Section {
        heading: "Summary".into(),
        blocks: vec![
            Block::Table(summary(runs)),
            Block::Paragraph({
                let mut p = vec![plain(format!(
                    "The context onset is the first held-out evaluation {:.2} nats or more below the no-context floor (the held-out MLM loss of the best predictor that ignores the sentence). The probe milestone is the first reading at which both ",
                    crate::protocol::ONSET_MARGIN
                ))];
                for (i, probe) in milestone::probes().into_iter().enumerate() {
                    if i > 0 {
                        p.push(plain(" and "));
                    }
                    p.push(code(probe));
                }
                p.extend([
                    plain(format!(
                        " rank at least {} evaluative adjectives in their top {} (",
                        milestone::NEEDED,
                        milestone::TOP
                    )),
                    code("bench/probes.txt"),
                    plain(", "),
                    code("bench/evaluative.txt"),
                    plain("), read from the session's watched probes."),
                ]);
                p
            }),
        ],
    }];
    if runs.len() > 1 {
        let table = differences(runs);
        let blocks = if table.rows.is_empty() {
            vec![Block::Paragraph(vec![plain(
                "None: the sessions started with the same configuration.",
            )])]
        } else {
            vec![Block::Table(table)]
        };
        sections.push(Section {
            heading: format!("Config keys that differ from {}", runs[0].name),
            blocks,
        });
    }
    sections.push(Section {
        heading: "Best held-out values".into(),
        blocks: vec![Block::Table(bests(runs))],
    });
    sections.push(Section {
        heading: "Charts".into(),
        blocks: charts
            .iter()
            .map(|c| Block::Chart {
                stem: c.stem.clone(),
                title: c.title.clone(),
            })
            .collect(),
    });
    let changed = changes(runs);
    sections.push(Section {
        heading: "Hyperparameter changes".into(),
        blocks: vec![if changed.rows.is_empty() {
            Block::Paragraph(vec![plain("None: the configuration stayed as it started.")])
        } else {
            Block::Table(changed)
        }],
    });
    let watched = probes(runs);
    sections.push(Section {
        heading: "Watched probes, last readings".into(),
        blocks: vec![if watched.rows.is_empty() {
            Block::Paragraph(vec![
                plain("No watched probes: pin some in the workbench (tab 7) or with "),
                code("--set 'train.watch=[\"this movie was [MASK] . | great, awful\"]'"),
                plain("."),
            ])
        } else {
            Block::Table(watched)
        }],
    });
    if let Some(table) = downstream(runs) {
        let mut blocks = Vec::new();
        if let Some(setup) = &runs[0].downstream_setup {
            blocks.push(Block::Paragraph(vec![plain(setup.describe())]));
        }
        blocks.push(Block::Table(table));
        sections.push(Section {
            heading: "Downstream".into(),
            blocks,
        });
    }
    sections.push(Section {
        heading: format!("Configuration of {}", runs[0].name),
        blocks: vec![Block::Table(config_table(&runs[0].config))],
    });
    let skipped: Vec<String> = runs
        .iter()
        .filter(|r| r.unreadable_rows > 0)
        .map(|r| format!("{} ({} rows)", r.name, r.unreadable_rows))
        .collect();
    if !skipped.is_empty() {
        sections.push(Section {
            heading: "Notes".into(),
            blocks: vec![Block::Paragraph(vec![plain(format!(
                "Rows of metrics.csv that could not be read were left out: {}.",
                skipped.join(", ")
            ))])],
        });
    }
    Document {
        title,
        intro,
        sections,
    }
}
