//! Snapshots of every panel drawn from fixed states (`insta` + `TestBackend`).

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::app::tests::{eval, start_info, step};
use super::app::{App, Panel, Popup};
use super::draw::draw;
use super::log_panel::Level;
use super::probe_panel::Outcome;
use crate::probe::{FillMaskResult, NextSentenceResult, Prediction};
use crate::protocol::{Event, Hyper, WatchReading};

fn render(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| draw(f, app)).unwrap();
    format!("{}", terminal.backend())
}

fn training_app() -> App {
    let mut app = App::new();
    app.on_event(Event::Started(start_info()));
    for s in (10..=600).step_by(10) {
        app.on_event(Event::Step(step(s)));
        if s % 233 < 10 && s > 200 {
            app.on_event(Event::Eval(eval(s)));
        }
    }
    app.on_event(Event::HyperApplied {
        change: Hyper::Lr(5e-4),
        step: 300,
        epoch: 1,
    });
    app.memory = "RSS 420 MiB".into();
    app.log.lines.clear();
    app.log
        .push_at("09:00:00".into(), Level::Info, "session demo started");
    app.log.push_at(
        "09:01:10".into(),
        Level::Warning,
        "3 rows had no text and were skipped",
    );
    app.log.push_at(
        "09:02:00".into(),
        Level::Info,
        "train.lr=0.0005 applied from step 300",
    );
    app
}

/// A data-parallel run: the title names the ranks, the metrics each rank's tokens/s.
#[test]
fn dashboard_of_two_ranks() {
    let mut app = App::new();
    let mut info = start_info();
    info.world_size = 2;
    app.on_event(Event::Started(info));
    for s in (10..=100).step_by(10) {
        let mut m = step(s);
        m.rank_tokens_per_s = vec![m.tokens_per_s * 0.52, m.tokens_per_s * 0.48];
        m.collective_share = Some(0.04);
        app.on_event(Event::Step(m));
    }
    let screen = render(&app, 110, 30);
    assert!(screen.contains("x 2 ranks"), "{screen}");
    assert!(screen.contains("(ranks "), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn dashboard_before_the_first_step() {
    insta::assert_snapshot!(render(&App::new(), 100, 30));
}

#[test]
fn dashboard_while_training() {
    insta::assert_snapshot!(render(&training_app(), 100, 30));
}

/// The README's capture is this dashboard, line for line (trailing spaces aside).
#[test]
fn the_readme_capture_is_the_dashboard() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let after = readme
        .split_once("dashboard_while_training.snap")
        .expect("the README names the snapshot")
        .1;
    let block = after.split("```text\n").nth(1).unwrap();
    let block = block.split("```").next().unwrap();
    let drawn: Vec<String> = render(&training_app(), 100, 30)
        .lines()
        .map(|l| {
            l.trim_matches('"')
                .replace("\\\"", "\"")
                .trim_end()
                .to_string()
        })
        .collect();
    let shown: Vec<&str> = block.lines().map(str::trim_end).collect();
    assert_eq!(shown, drawn);
}

#[test]
fn probe_panel_with_answers() {
    let mut app = training_app();
    app.panel = Panel::Probe;
    app.probe.input = tui_input::Input::new("this movie was [MASK] .".into());
    let preds = [("great", 0.41), ("good", 0.22), ("bad", 0.08)]
        .iter()
        .enumerate()
        .map(|(i, (t, p))| Prediction {
            score: *p,
            token: 100 + i as u32,
            token_str: t.to_string(),
            sequence: format!("this movie was {t}."),
        })
        .collect();
    app.probe.entries = vec![
        super::probe_panel::Entry {
            id: 2,
            text: "it rained. | we stayed in.".into(),
            step: 590,
            above_floor: Some(0.52),
            latency_ms: 9.0,
            outcome: Outcome::Pair(NextSentenceResult {
                a: "it rained.".into(),
                b: "we stayed in.".into(),
                is_next: 0.83,
            }),
        },
        super::probe_panel::Entry {
            id: 1,
            text: "this movie was [MASK] .".into(),
            step: 580,
            above_floor: Some(0.52),
            latency_ms: 14.0,
            outcome: Outcome::Fill(FillMaskResult {
                text: "this movie was [MASK] .".into(),
                masks: vec![preds],
            }),
        },
    ];
    insta::assert_snapshot!(render(&app, 100, 30));
}

#[test]
fn hyperparameter_panel_editing() {
    let mut app = training_app();
    app.panel = Panel::Hyper;
    app.hyper.queued = vec![Hyper::BatchSize(16)];
    app.hyper.selected = 2;
    app.hyper.editing = Some(tui_input::Input::new("0.05".into()));
    insta::assert_snapshot!(render(&app, 100, 24));
}

/// A tall panel adds the learning-rate preview: the planned schedule, the current step
/// and, while `train.lr` is typed with 12 epochs queued, the curve that would give.
#[test]
fn learning_rate_preview_while_editing() {
    let mut app = training_app();
    app.panel = Panel::Hyper;
    app.hyper.queued = vec![Hyper::Epochs(12)];
    app.hyper.selected = 0;
    app.hyper.editing = Some(tui_input::Input::new("1e-3".into()));
    insta::assert_snapshot!(render(&app, 100, 36));
}

#[test]
fn log_panel() {
    let mut app = training_app();
    app.panel = Panel::Log;
    insta::assert_snapshot!(render(&app, 100, 12));
}

#[test]
fn help_and_quit_overlays() {
    let mut app = training_app();
    app.popup = Some(Popup::Help);
    insta::assert_snapshot!("help", render(&app, 100, 30));
    app.popup = Some(Popup::Quit);
    insta::assert_snapshot!("quit", render(&app, 100, 30));
}

/// Two watched probes read every 50 steps: the adjective's probability rises as the
/// function words' falls.
fn watching_app() -> App {
    let mut app = training_app();
    app.panel = Panel::Watch;
    let entries = vec![
        "this movie was [MASK] . | great, awful".to_string(),
        "i would [MASK] this movie .".to_string(),
    ];
    app.on_event(Event::Watching { step: 0, entries });
    for s in (50..=600).step_by(50) {
        let t = s as f64 / 600.0;
        let pair = |a: &str, p: f64| (a.to_string(), p);
        app.on_event(Event::Watched {
            step: s,
            seconds: 0.001,
            readings: vec![
                WatchReading {
                    text: "this movie was [MASK] .".into(),
                    top: vec![
                        pair("good", 0.3 * t),
                        pair("the", 0.2 * (1.0 - t)),
                        pair("bad", 0.1 * t),
                    ],
                    named: vec![pair("great", 0.15 * t), pair("awful", 0.02)],
                },
                WatchReading {
                    text: "i would [MASK] this movie .".into(),
                    top: vec![pair("recommend", 0.5 * t), pair("not", 0.1)],
                    named: Vec::new(),
                },
            ],
        });
    }
    app
}

#[test]
fn watched_panel() {
    let mut app = watching_app();
    insta::assert_snapshot!("watched", render(&app, 110, 30));
    app.watch.editing = true;
    app.watch.input = tui_input::Input::new("the plot was [MASK] . | dull".into());
    insta::assert_snapshot!("watched_adding", render(&app, 110, 30));
    insta::assert_snapshot!(
        "watched_empty",
        render(&training_app_on(Panel::Watch), 110, 16)
    );
}

/// The training app with a fork of it overlaid: a fork at step 300 with a lower lr.
fn comparing_app() -> App {
    let mut app = training_app();
    let mut config = app.info.as_ref().unwrap().config.clone();
    config.train.lr = 5e-4;
    let mut history = crate::curves::history::History::default();
    for s in (300..=500).step_by(10) {
        let mut m = step(s);
        m.mlm_loss -= 0.3 * (s - 300) as f64 / 200.0;
        m.elapsed_s = s as f64 * 0.2;
        history.steps.push(m);
    }
    history.evals.push(eval(500));
    app.compare.overlays.push(crate::curves::compare::Overlay {
        name: "demo-fork-300".into(),
        history,
        tokens_per_step: 4096.0,
        lineage: Some("demo@300".into()),
        config: Some(config),
        downstream: Vec::new(),
    });
    app
}

#[test]
fn dashboard_comparing_sessions() {
    let mut app = comparing_app();
    insta::assert_snapshot!("comparing_by_step", render(&app, 110, 30));
    app.compare.axis = crate::curves::compare::XAxis::Time;
    insta::assert_snapshot!("comparing_by_time", render(&app, 110, 30));
    app.compare
        .open_picker(vec!["demo".into(), "demo-fork-300".into(), "other".into()]);
    app.popup = Some(Popup::Compare);
    insta::assert_snapshot!("compare_picker", render(&app, 110, 30));
    // `bertwork compare`: read-only, the dashboard only.
    app.popup = None;
    app.status = super::app::Status::Viewing;
    app.info = None;
    insta::assert_snapshot!("compare_view", render(&app, 110, 30));
}

fn training_app_on(panel: Panel) -> App {
    let mut app = training_app();
    app.panel = panel;
    app
}

#[test]
fn small_terminals_do_not_panic() {
    let mut app = watching_app();
    for panel in [
        Panel::Dashboard,
        Panel::Probe,
        Panel::Hyper,
        Panel::Log,
        Panel::Watch,
    ] {
        app.panel = panel;
        for (w, h) in [(80, 24), (40, 10), (10, 3), (1, 1)] {
            render(&app, w, h);
        }
    }
}

/// A run that finished before its first log line shows where it ended, not step 0.
#[test]
fn a_run_done_before_its_first_log_line_shows_its_last_step() {
    let mut app = App::new();
    let info = start_info();
    let (total, per_epoch) = (info.total_steps.min(5), info.steps_per_epoch);
    app.on_event(Event::Started(info));
    app.on_event(Event::Finished(crate::protocol::Summary {
        reason: crate::protocol::FinishReason::Completed,
        step: total,
        epoch: 0,
        elapsed_s: 1.0,
        last_eval: None,
        session_dir: None,
        error: None,
    }));
    let screen = render(&app, 100, 30);
    let want = format!(
        "step {total}/{}   epoch 1/",
        app.info.as_ref().unwrap().total_steps
    );
    assert!(screen.contains(&want), "{want}:\n{screen}");
    let percent = format!("({:.0}%)", total as f64 / per_epoch as f64 * 100.0);
    assert!(screen.contains(&percent), "{percent}:\n{screen}");
}

#[test]
fn a_failed_run_shows_its_error_in_full() {
    let mut app = App::new();
    let message = "corpus /tmp/twelve.csv is too small: 12 documents give 0 held-out documents at data.heldout_fraction = 0.05; use a corpus of at least 40 documents or raise data.heldout_fraction";
    app.on_event(Event::Error {
        message: message.into(),
    });
    app.on_event(Event::Finished(crate::protocol::Summary {
        reason: crate::protocol::FinishReason::Failed,
        step: 0,
        epoch: 0,
        elapsed_s: 0.1,
        last_eval: None,
        session_dir: None,
        error: Some(message.into()),
    }));
    assert_eq!(app.popup, Some(Popup::Failure));
    let screen = render(&app, 100, 30);
    // Every word of the message is on the screen, however it was wrapped.
    let shown: String = screen.split_whitespace().collect::<Vec<_>>().join(" ");
    for word in message.split_whitespace() {
        assert!(shown.contains(word), "`{word}` missing:\n{screen}");
    }
    insta::assert_snapshot!(screen);
}

/// Text from a user's files (a warning quoting a column name, an error, tokens of a
/// given vocab.txt) is drawn with its control characters escaped, never raw.
#[test]
fn text_from_files_is_drawn_escaped() {
    let mut app = training_app();
    app.log
        .push_at("09:03:00".into(), Level::Warning, "column `a\u{1b}[2Jb`");
    app.log
        .push_at("09:04:00".into(), Level::Error, "bad \u{9b}31m row\u{8}");
    let preds = vec![Prediction {
        score: 0.5,
        token: 7,
        token_str: "x\u{1b}]0;t\u{7}".into(),
        sequence: "a x\u{1b}]0;t\u{7} b".into(),
    }];
    app.probe.entries = vec![super::probe_panel::Entry {
        id: 1,
        text: "a [MASK] b".into(),
        step: 1,
        above_floor: None,
        latency_ms: 1.0,
        outcome: Outcome::Fill(FillMaskResult {
            text: "a [MASK] b".into(),
            masks: vec![preds],
        }),
    }];
    for (panel, shown) in [
        (Panel::Log, &["a\\x1b[2Jb", "bad \\u{9b}31m row\\x08"][..]),
        (
            Panel::Probe,
            &["x\\x1b]0;t\\x07", "a x\\x1b]0;t\\x07 b"][..],
        ),
        (
            Panel::Dashboard,
            &["last error: bad \\u{9b}31m row\\x08"][..],
        ),
    ] {
        app.panel = panel;
        let screen = render(&app, 160, 30);
        assert!(!screen.contains(|c: char| c.is_control() && c != '\n'));
        for s in shown {
            assert!(screen.contains(s), "{panel:?}: `{s}` not in\n{screen}");
        }
    }
}

/// With `model.nsp = false` the dashboard says NSP is off instead of plotting it.
#[test]
fn dashboard_without_nsp_says_it_is_off() {
    let mut app = App::new();
    let mut info = start_info();
    info.config.model.nsp = false;
    app.on_event(Event::Started(info));
    for s in (10..=100).step_by(10) {
        let mut m = step(s);
        (m.nsp_loss, m.nsp_acc) = (None, None);
        app.on_event(Event::Step(m));
    }
    let screen = render(&app, 100, 30);
    assert!(
        screen.contains("NSP is off (model.nsp = false)"),
        "{screen}"
    );
    assert!(
        screen.contains("NSP          off (model.nsp = false)"),
        "{screen}"
    );
    assert!(!screen.contains("NSP loss"), "{screen}");
}

/// A hand-built attention map: layer `l`, head `h` looks one token back (head 0), one
/// forward (head 1), at [SEP] (head 2) or at itself (head 3), sharper in later layers.
fn attention_map(tokens: &[&str], layers: usize, heads: usize) -> crate::probe::AttentionMap {
    let n = tokens.len();
    let layers = (0..layers)
        .map(|l| {
            (0..heads)
                .map(|h| {
                    let sharp = 0.5 + 0.4 * l as f32 / layers.max(1) as f32;
                    let weights = (0..n)
                        .map(|i| {
                            let target = match h % 4 {
                                0 => i.saturating_sub(1),
                                1 => (i + 1).min(n - 1),
                                2 => n - 1,
                                _ => i,
                            };
                            (0..n)
                                .map(|j| {
                                    let rest = (1.0 - sharp) / n as f32;
                                    rest + if j == target { sharp } else { 0.0 }
                                })
                                .collect()
                        })
                        .collect();
                    crate::probe::HeadAttention::from_weights(weights)
                })
                .collect()
        })
        .collect();
    crate::probe::AttentionMap {
        text: tokens
            .get(1..n.saturating_sub(1))
            .unwrap_or_default()
            .join(" "),
        tokens: tokens.iter().map(|t| t.to_string()).collect(),
        layers,
    }
}

fn attention_app(tokens: &[&str]) -> App {
    let mut app = training_app();
    app.on_key(crossterm::event::KeyEvent::from(
        crossterm::event::KeyCode::Char('5'),
    ));
    let text = tokens[1..tokens.len() - 1].join(" ");
    app.attention.input = tui_input::Input::new(text);
    let actions = app.on_key(crossterm::event::KeyEvent::from(
        crossterm::event::KeyCode::Enter,
    ));
    assert_eq!(actions.len(), 1, "the request is sent");
    app.on_event(Event::Attention {
        id: 1,
        latency_ms: 7.0,
        result: Ok(attention_map(tokens, 2, 4)),
    });
    app
}

#[test]
fn attention_panel_with_an_answer() {
    let mut app = attention_app(&[
        "[CLS]", "this", "movie", "was", "[MASK]", "and", "the", "acting", "was", "great", ".",
        "[SEP]",
    ]);
    app.attention.layer = 1;
    app.attention.head = 2;
    insta::assert_snapshot!(render(&app, 100, 30));
}

/// A sentence longer than the screen: the rows scroll, the columns are cut to the width
/// and the legend says which are shown.
#[test]
fn attention_panel_scrolls_a_long_sentence() {
    let words: Vec<String> = (0..46).map(|i| format!("word{i}")).collect();
    let mut tokens = vec!["[CLS]"];
    tokens.extend(words.iter().map(String::as_str));
    tokens.push("[SEP]");
    let mut app = attention_app(&tokens);
    for _ in 0..3 {
        app.on_key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::PageDown,
        ));
    }
    let screen = render(&app, 100, 30);
    assert!(screen.contains("rows 31-44 of 48"), "{screen}");
    insta::assert_snapshot!(screen);
    // Narrow: the summary table moves under the heatmap.
    insta::assert_snapshot!("attention_panel_narrow", render(&app, 60, 30));
}

#[test]
fn neighbours_panel_with_an_answer() {
    use crate::probe::neighbours::{Neighbour, Neighbours, OtherWord};
    let mut app = training_app();
    app.on_key(crossterm::event::KeyEvent::from(
        crossterm::event::KeyCode::Char('6'),
    ));
    app.neighbours.input = tui_input::Input::new("movies film".into());
    app.on_key(crossterm::event::KeyEvent::from(
        crossterm::event::KeyCode::Enter,
    ));
    let neighbours = [
        ("film", 0.62),
        ("movie", 0.58),
        ("show", 0.41),
        ("book", 0.2),
        ("x\u{1b}[2J", -0.1),
    ]
    .iter()
    .enumerate()
    .map(|(i, (t, s))| Neighbour {
        token: t.to_string(),
        id: 10 + i as u32,
        similarity: *s,
    })
    .collect();
    app.on_event(Event::Neighbours {
        id: 1,
        latency_ms: 3.0,
        result: Ok(Neighbours {
            word: "movies".into(),
            pieces: vec!["movie".into(), "##s".into()],
            averaged: true,
            neighbours,
            other: Some(OtherWord {
                word: "film".into(),
                pieces: vec!["film".into()],
                similarity: 0.62,
            }),
        }),
    });
    let screen = render(&app, 100, 24);
    assert!(screen.contains("x\\x1b[2J"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn inspection_panels_fit_small_terminals() {
    let mut app = attention_app(&["[CLS]", "a", "b", "[SEP]"]);
    for (w, h) in [(80, 24), (40, 10), (20, 6), (10, 3), (1, 1)] {
        render(&app, w, h);
    }
    app.panel = Panel::Neighbours;
    for (w, h) in [(80, 24), (40, 10), (10, 3), (1, 1)] {
        render(&app, w, h);
    }
    // An empty map (no layers) draws too.
    app.panel = Panel::Attention;
    app.attention.answer.as_mut().unwrap().result = Ok(attention_map(&[], 0, 0));
    render(&app, 80, 24);
}

#[test]
fn status_line_while_preparing_a_large_corpus() {
    let mut app = App::new();
    app.on_event(Event::Preparing(crate::protocol::PrepareProgress {
        phase: crate::protocol::PreparePhase::Encoding,
        done: 312_400_000,
        total: 910_787_122,
        unit: crate::protocol::WorkUnit::Bytes,
        mb_per_s: 45.13,
    }));
    let screen = render(&app, 100, 30);
    assert!(
        screen.contains("preparing the corpus: encoding 312/911 MB (34%), 45.1 MB/s"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
    app.on_event(Event::Started(start_info()));
    assert!(
        app.preparing.is_none(),
        "the progress goes once training starts"
    );
}

fn accuracy(a: f64) -> crate::protocol::Accuracy {
    crate::protocol::Accuracy::of((a * 2000.0).round() as usize, 2000)
}

/// The Downstream panel partway through a run: probe readings rising past the
/// untrained encoder, the baselines as levels, the onset marked.
#[test]
fn downstream_panel_while_training() {
    let mut app = training_app();
    app.on_event(Event::DownstreamSetup(Box::new(
        crate::protocol::DownstreamSetup {
            label_column: "sentiment".into(),
            classes: vec![("positive".into(), 1000), ("negative".into(), 1000)],
            documents: 2000,
            folds: 5,
            strict: false,
            majority: accuracy(0.5),
            tfidf: accuracy(0.854),
            untrained: Some(accuracy(0.596)),
        },
    )));
    app.history
        .markers
        .push((240, crate::curves::ONSET_MARKER.into()));
    app.on_event(Event::FineTunes {
        runs: vec!["demo-ft: 71.2% ±2.0 (5 test folds, from `demo`@600)".into()],
    });
    for (s, mean, cls) in [
        (120, 0.58, 0.57),
        (240, 0.61, 0.6),
        (360, 0.68, 0.63),
        (480, 0.72, 0.66),
        (600, 0.745, 0.69),
    ] {
        app.on_event(Event::Downstream(crate::protocol::DownstreamReading {
            step: s,
            elapsed_s: s as f64 / 10.0,
            mean_pooled: accuracy(mean),
            cls: accuracy(cls),
            seconds: 1.6,
        }));
    }
    app.panel = Panel::Downstream;
    let screen = render(&app, 110, 30);
    assert!(screen.contains("74.5% ±1.9"), "{screen}");
    assert!(screen.contains("85.4% ±1.5"), "{screen}");
    assert!(screen.contains("below TF-IDF"), "{screen}");
    assert!(screen.contains("demo-ft: 71.2% ±2.0"), "{screen}");
    insta::assert_snapshot!(screen);
    app.panel = Panel::Dashboard;
    let screen = render(&app, 110, 30);
    assert!(
        screen.contains("downstream   74.5% ±1.9 (mean)"),
        "{screen}"
    );
}

/// Without labels the panel says why it is empty and how to give it labels.
#[test]
fn downstream_panel_without_labels() {
    let mut app = training_app();
    app.panel = Panel::Downstream;
    let screen = render(&app, 100, 20);
    assert!(screen.contains("no label column"), "{screen}");
    insta::assert_snapshot!(screen);
}
