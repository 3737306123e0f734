//! The report's series and tables on a small session folder written by hand through
//! the trainer's own writers.

use std::path::Path;

use super::document::{document, Block, Table};
use super::run::Run;
use super::series::{charts, Chart, View, CHANGE_MARKER, MILESTONE_MARKER};
use crate::config::Config;
use crate::curves::compare::XAxis;
use crate::curves::ONSET_MARKER;
use crate::protocol::{EvalMetrics, StepMetrics, WatchReading};
use crate::records::Records;
use crate::session::Session;

fn step(step: u64, elapsed_s: f64, loss: f64) -> StepMetrics {
    StepMetrics {
        step,
        epoch: 0,
        epoch_progress: 0.0,
        mlm_loss: loss,
        mlm_acc: 0.1,
        nsp_loss: Some(0.69),
        nsp_acc: Some(0.5),
        lr: 1e-3,
        grad_norm: 1.0,
        tokens_per_s: 1000.0,
        data_wait: 0.0,
        elapsed_s,
        memory: None,
        rank_tokens_per_s: Vec::new(),
        collective_share: None,
    }
}

fn eval(step: u64, loss: f64, acc: f64) -> EvalMetrics {
    EvalMetrics {
        step,
        epoch: 0,
        mlm_loss: loss,
        mlm_acc: acc,
        perplexity: loss.exp(),
        nsp_loss: Some(0.7),
        nsp_acc: Some(0.5),
        seconds: 0.0,
    }
}

fn watched(text: &str, top: &[&str]) -> WatchReading {
    WatchReading {
        text: text.into(),
        top: top.iter().map(|t| (t.to_string(), 0.2)).collect(),
        named: Vec::new(),
    }
}

/// A session `name` in `dir`: steps every 10 (a minute apart), evaluations at 20, 40,
/// 60 and 80 (held-out MLM loss 6.5, 6.3, 6.2, 6.25), floor 6.4 (so the onset is at
/// 40, the first 0.1 below it), lr changed at 31 and two keys at 51, and the
/// milestone probes read at 40 (not passing) and 60 (passing).
fn session(dir: &Path, name: &str, lr: f64) -> Session {
    let session = Session::scratch(name, dir.join(name));
    std::fs::create_dir_all(&session.dir).unwrap();
    let config = Config::default()
        .with_overrides(&[format!("train.lr={lr}")])
        .unwrap();
    session.save_config(&config).unwrap();
    crate::data::floor::save(&session.dir, 6.4).unwrap();
    let mut records = Records::open(&session, None).unwrap();
    for i in 1..=8u64 {
        records
            .step(&step(10 * i, 60.0 * i as f64, 7.0 - 0.1 * i as f64))
            .unwrap();
        if i % 2 == 0 {
            let loss = [6.5, 6.3, 6.2, 6.25][(i / 2 - 1) as usize];
            let acc = [0.05, 0.08, 0.12, 0.11][(i / 2 - 1) as usize];
            records
                .eval(&eval(10 * i, loss, acc), 60.0 * i as f64)
                .unwrap();
        }
    }
    records
        .change(
            "train.lr",
            "0.002",
            31,
            0,
            crate::records::ChangeSource::Command,
        )
        .unwrap();
    records
        .change(
            "train.clip_norm",
            "0.5",
            51,
            0,
            crate::records::ChangeSource::Resume,
        )
        .unwrap();
    records
        .change(
            "train.max_steps",
            "80",
            51,
            0,
            crate::records::ChangeSource::Resume,
        )
        .unwrap();
    let [a, b] = ["this movie was [MASK] .", "the acting was [MASK] ."];
    records
        .watched(
            40,
            &[watched(a, &["the", "good"]), watched(b, &["good", "bad"])],
        )
        .unwrap();
    records
        .watched(
            60,
            &[watched(a, &["great", "good"]), watched(b, &["bad", "good"])],
        )
        .unwrap();
    records.sync().unwrap();
    session
}

fn chart<'a>(charts: &'a [Chart], stem: &str) -> &'a Chart {
    charts
        .iter()
        .find(|c| c.stem == stem)
        .unwrap_or_else(|| panic!("no chart {stem}"))
}

const STEP: View = View {
    axis: XAxis::Step,
    smoothing: 0.8,
};

#[test]
fn the_loss_chart_marks_the_best_held_out_value_the_floor_the_onset_and_the_changes() {
    let dir = tempfile::tempdir().unwrap();
    let run = Run::from_session(&session(dir.path(), "a", 0.001)).unwrap();
    assert_eq!(run.onset().map(|e| e.step), Some(40));
    let all = charts(std::slice::from_ref(&run), STEP);
    let mlm = chart(&all, "mlm_loss");
    let held = mlm.lines.iter().find(|l| l.label == "held-out").unwrap();
    assert_eq!(
        held.points,
        vec![(20.0, 6.5), (40.0, 6.3), (60.0, 6.2), (80.0, 6.25)]
    );
    let best = held.best.as_ref().unwrap();
    assert_eq!((best.step, best.x, best.value), (60, 60.0, 6.2));
    assert_eq!(best.text, "best 6.200 @ 60");
    assert_eq!(mlm.levels.len(), 1);
    assert_eq!(mlm.levels[0].y, 6.4);
    let onset: Vec<f64> = mlm
        .markers
        .iter()
        .filter(|m| m.label.starts_with(ONSET_MARKER))
        .map(|m| m.x)
        .collect();
    assert_eq!(onset, [40.0]);
    // Two keys that changed at one step share a marker.
    let changes: Vec<(f64, &str)> = mlm
        .markers
        .iter()
        .filter(|m| m.label == CHANGE_MARKER)
        .map(|m| (m.x, m.note.as_str()))
        .collect();
    assert_eq!(
        changes,
        [
            (31.0, "train.lr=0.002"),
            (51.0, "train.clip_norm=0.5, train.max_steps=80")
        ]
    );
    let milestone: Vec<f64> = mlm
        .markers
        .iter()
        .filter(|m| m.label.starts_with(MILESTONE_MARKER))
        .map(|m| m.x)
        .collect();
    assert_eq!(milestone, [60.0]);
    // The accuracy's best is its highest held-out value; the learning rate has the
    // changes only.
    let acc = chart(&all, "accuracy");
    let mlm_acc = acc
        .lines
        .iter()
        .find(|l| l.label == "MLM held-out")
        .unwrap();
    assert_eq!(mlm_acc.best.as_ref().map(|b| b.step), Some(60));
    let lr = chart(&all, "learning_rate");
    assert!(lr.markers.iter().all(|m| m.label == CHANGE_MARKER));
    assert_eq!(lr.markers.len(), 2);
    // Both watched probes have a chart; no downstream readings, no downstream chart.
    assert!(all.iter().any(|c| c.stem == "watched_2"));
    assert!(!all.iter().any(|c| c.stem == "downstream"));
}

#[test]
fn the_axes_place_points_as_the_workbench_does() {
    let dir = tempfile::tempdir().unwrap();
    let run = Run::from_session(&session(dir.path(), "a", 0.001)).unwrap();
    let time = View {
        axis: XAxis::Time,
        ..STEP
    };
    let all = charts(std::slice::from_ref(&run), time);
    let held = chart(&all, "mlm_loss")
        .lines
        .iter()
        .find(|l| l.label == "held-out")
        .unwrap();
    // Minutes of training at the logged step: step 60 was logged after 6 minutes.
    assert_eq!(held.best.as_ref().unwrap().x, 6.0);
    // A change at step 31 sits at the time of the next logged step (40: 4 minutes).
    let change = chart(&all, "mlm_loss")
        .markers
        .iter()
        .find(|m| m.note == "train.lr=0.002")
        .unwrap();
    assert_eq!(change.x, 4.0);
    let tokens = View {
        axis: XAxis::Tokens,
        ..STEP
    };
    let per_step = (run.config.train.batch_size * run.config.data.max_seq_len) as f64;
    let all = charts(std::slice::from_ref(&run), tokens);
    let best = chart(&all, "mlm_loss")
        .lines
        .iter()
        .find_map(|l| l.best.clone())
        .unwrap();
    assert_eq!(best.x, 60.0 * per_step);
}

fn table<'a>(doc: &'a super::document::Document, heading: &str) -> &'a Table {
    doc.sections
        .iter()
        .find(|s| s.heading.starts_with(heading))
        .and_then(|s| {
            s.blocks.iter().find_map(|b| match b {
                Block::Table(t) => Some(t),
                _ => None,
            })
        })
        .unwrap_or_else(|| panic!("no table under {heading}"))
}

#[test]
fn the_document_writes_the_best_values_the_onset_and_the_keys_that_differ() {
    let dir = tempfile::tempdir().unwrap();
    let a = Run::from_session(&session(dir.path(), "a", 0.001)).unwrap();
    let b = Run::from_session(&session(dir.path(), "b", 0.003)).unwrap();
    let runs = [a, b];
    let all = charts(&runs, STEP);
    let doc = document(&runs, &all, STEP, ("bertwork report a --compare b", false));
    let bests = table(&doc, "Best held-out values");
    assert!(bests.rows.contains(&vec![
        "a".to_string(),
        "held-out MLM loss".into(),
        "6.200".into(),
        "60".into(),
        format!(
            "6:00 of training, {} tokens",
            XAxis::Tokens.format(60.0 * runs[0].tokens_per_step)
        ),
    ]));
    let summary = table(&doc, "Summary");
    let onset = summary
        .rows
        .iter()
        .find(|r| r[0] == "context onset")
        .unwrap();
    assert!(
        onset[1].starts_with("step 40 (4:00 of training"),
        "{onset:?}"
    );
    let milestone = summary
        .rows
        .iter()
        .find(|r| r[0] == "probe milestone")
        .unwrap();
    assert!(milestone[1].starts_with("step 60 "), "{milestone:?}");
    let differs = table(&doc, "Config keys that differ");
    assert_eq!(
        differs.rows,
        vec![vec!["train.lr".to_string(), "0.001".into(), "0.003".into()]]
    );
    // Each session's lines are on the same charts.
    let mlm = chart(&all, "mlm_loss");
    assert!(mlm.lines.iter().any(|l| l.label == "a held-out"));
    assert!(mlm.lines.iter().any(|l| l.label == "b held-out"));
    let config = table(&doc, "Configuration of");
    assert!(config
        .rows
        .contains(&vec!["train.lr".into(), "0.001".into()]));
}

#[test]
fn a_session_without_metrics_or_with_foreign_ones_is_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let session = Session::scratch("x", dir.path().join("x"));
    std::fs::create_dir_all(&session.dir).unwrap();
    session.save_config(&Config::default()).unwrap();
    let err = format!("{:#}", Run::from_session(&session).unwrap_err());
    assert!(err.contains("session `x` has no metrics yet"), "{err}");
    std::fs::write(session.path("metrics.csv"), "a,b,c\n1,2,3\n").unwrap();
    let err = format!("{:#}", Run::from_session(&session).unwrap_err());
    assert!(err.contains("is not a bertwork metrics file"), "{err}");
    assert!(!err.contains('\n'), "{err}");
    let header = "step,epoch,split,wall_s,time,mlm_loss,mlm_acc,nsp_loss,nsp_acc,perplexity,lr,grad_norm,tokens_per_s,data_wait\n";
    std::fs::write(session.path("metrics.csv"), format!("{header}x,y\n")).unwrap();
    let err = format!("{:#}", Run::from_session(&session).unwrap_err());
    assert!(
        err.contains("has no training step, and 1 rows that cannot be read"),
        "{err}"
    );
}

#[test]
fn every_file_is_written_and_the_charts_render() {
    let dir = tempfile::tempdir().unwrap();
    let run = Run::from_session(&session(dir.path(), "a", 0.001)).unwrap();
    let (charts, files) = super::files(&[run], STEP, ("test", false)).unwrap();
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(charts * 2 + 2, names.len());
    for stem in [
        "mlm_loss",
        "nsp_loss",
        "accuracy",
        "learning_rate",
        "watched_1",
    ] {
        assert!(names.contains(&format!("{stem}.svg").as_str()), "{names:?}");
        assert!(names.contains(&format!("{stem}.png").as_str()), "{names:?}");
    }
    let svg = &files.iter().find(|(n, _)| n == "mlm_loss.svg").unwrap().1;
    let svg = std::str::from_utf8(svg).unwrap();
    assert!(svg.contains("best 6.200 @ 60") && svg.contains("no-context floor 6.400"));
    let png = &files.iter().find(|(n, _)| n == "mlm_loss.png").unwrap().1;
    assert_eq!(&png[1..4], b"PNG");
}

/// The workbench writes the report on its UI thread: a long run's report must take
/// well under a second there. 3,000 logged steps, 120 evaluations and downstream
/// readings, 8 watched probes (the figure is in `tui::report_key`).
#[test]
fn a_long_runs_report_is_quick() {
    let dir = tempfile::tempdir().unwrap();
    let session = Session::scratch("long", dir.path().join("long"));
    std::fs::create_dir_all(&session.dir).unwrap();
    session.save_config(&Config::default()).unwrap();
    crate::data::floor::save(&session.dir, 6.4).unwrap();
    let mut records = Records::open(&session, None).unwrap();
    let texts: Vec<String> = (0..8).map(|i| format!("probe {i} was [MASK] .")).collect();
    for i in 1..=3000u64 {
        let loss = 8.0 - (i as f64).ln() / 2.0;
        records.step(&step(i, i as f64 * 0.1, loss)).unwrap();
        if i % 25 == 0 {
            records
                .eval(&eval(i, loss + 0.05, 0.1), i as f64 * 0.1)
                .unwrap();
            let readings: Vec<WatchReading> = texts
                .iter()
                .map(|t| watched(t, &["good", "bad", "the", "a", "it"]))
                .collect();
            records.watched(i, &readings).unwrap();
        }
    }
    records.sync().unwrap();
    let run = Run::from_session(&session).unwrap();
    let start = std::time::Instant::now();
    let (charts, _) = super::files(&[run], STEP, ("test", false)).unwrap();
    let took = start.elapsed().as_secs_f64();
    eprintln!("{charts} charts of 3,000 steps in {took:.3}s");
    assert_eq!(charts, 4 + 8);
    // A generous bound for slow debug builds; the measurement above is the figure.
    assert!(took < 5.0, "{took:.3}s");
}

#[test]
fn text_from_the_session_is_escaped_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let session = session(dir.path(), "a", 0.001);
    let all = crate::records::RowCounts {
        metrics: usize::MAX,
        changes: usize::MAX,
        watched: usize::MAX,
        downstream: usize::MAX,
    };
    let mut records = Records::open(&session, Some((80, all))).unwrap();
    let odd = "a <b> & \u{1b}[31m [MASK] | x";
    records.watched(80, &[watched(odd, &["<i>", "|"])]).unwrap();
    records.sync().unwrap();
    let run = Run::from_session(&session).unwrap();
    let (_, files) = super::files(&[run], STEP, ("test", false)).unwrap();
    let file = |name: &str| {
        let bytes = &files.iter().find(|(n, _)| n == name).unwrap().1;
        String::from_utf8(bytes.clone()).unwrap()
    };
    let svg = file("watched_3.svg");
    let doc = roxmltree::Document::parse(&svg).expect("the SVG parses");
    let texts: Vec<&str> = doc
        .descendants()
        .filter_map(|n| n.text())
        .map(str::trim)
        .collect();
    assert!(
        texts.contains(&"P(token) at [MASK]: a <b> & \\x1b[31m [MASK] | x"),
        "{texts:?}"
    );
    assert!(texts.contains(&"\"<i>\""), "{texts:?}");
    let md = file("report.md");
    let row = "| a | a &lt;b&gt; &amp; \\\\x1b\\[31m \\[MASK\\] \\| x | 80 | &lt;i&gt; 0.200, \\| 0.200 | - |";
    assert!(md.contains(row), "no {row} in {md}");
    let html = file("index.html");
    assert!(
        html.contains("<td>a &lt;b&gt; &amp; \\x1b[31m [MASK] | x</td>"),
        "{html}"
    );
    for text in [&svg, &md, &html] {
        assert!(!text.contains('\u{1b}'));
    }
}
