//! Update tests: keys and trainer events in, state and commands out.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::config::Config;
use crate::probe::{FillMaskResult, Prediction};
use crate::protocol::{EvalMetrics, Hyper, ProbeRequest, StepMetrics};
use crate::tui::probe_panel::Outcome;

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ch(c: char) -> KeyEvent {
    key(KeyCode::Char(c))
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        app.on_key(ch(c));
    }
}

pub fn start_info() -> Box<StartInfo> {
    Box::new(StartInfo {
        world_size: 1,
        precision: "fp32".into(),
        session: "demo".into(),
        session_dir: PathBuf::from("/tmp/demo"),
        config: Config::default(),
        layers: 2,
        hidden: 128,
        heads: 2,
        intermediate: 512,
        parameters: 1_552_898,
        device: "cpu (2 threads)".into(),
        corpus: "embedded".into(),
        documents: 2000,
        train_documents: 1900,
        heldout_documents: 100,
        sentences: 24665,
        tokens: 608632,
        vocab_size: 8192,
        unk_rate: 0.0,
        train_examples: 7451,
        heldout_examples: 457,
        heldout_random_next: 0.508,
        no_context_mlm_loss: 6.08,
        heldout_tokens_per_word: 1.2,
        steps_per_epoch: 233,
        total_steps: 2330,
        prepare_seconds: 1.6,
        corpus_cached: false,
    })
}

pub fn step(step: u64) -> StepMetrics {
    let t = step as f64;
    StepMetrics {
        step,
        epoch: (step / 233) as usize,
        epoch_progress: (step % 233) as f64 / 233.0,
        mlm_loss: 9.0 - 2.5 * (1.0 - (-t / 300.0).exp()),
        mlm_acc: 0.1 * (1.0 - (-t / 300.0).exp()),
        nsp_loss: Some(0.693 - 0.05 * (1.0 - (-t / 800.0).exp())),
        nsp_acc: Some(0.5 + 0.1 * (1.0 - (-t / 800.0).exp())),
        lr: 1e-3,
        grad_norm: 1.2,
        tokens_per_s: 18000.0,
        data_wait: 0.001,
        elapsed_s: t * 0.2,
        memory: None,
        rank_tokens_per_s: Vec::new(),
        collective_share: None,
    }
}

pub fn eval(step: u64) -> EvalMetrics {
    EvalMetrics {
        step,
        epoch: (step / 233) as usize,
        mlm_loss: 6.6,
        mlm_acc: 0.064,
        perplexity: 735.1,
        nsp_loss: Some(0.687),
        nsp_acc: Some(0.556),
        seconds: 0.5,
    }
}

#[test]
fn every_key_works_before_the_first_metric() {
    let mut app = App::new();
    for k in [
        key(KeyCode::Tab),
        key(KeyCode::BackTab),
        ch('1'),
        ch('h'),
        ch('+'),
        ch('-'),
        ch(' '),
        ch('s'),
        ch('?'),
        ch('x'),
        ch('3'),
        key(KeyCode::Enter),
        key(KeyCode::Enter),
        key(KeyCode::Esc),
        ch('4'),
        ch('2'),
        key(KeyCode::Enter),
        key(KeyCode::Up),
        key(KeyCode::Esc),
        ch('q'),
        key(KeyCode::Esc),
    ] {
        app.on_key(k);
    }
    assert_eq!(app.status, Status::Preparing);
}

#[test]
fn space_pauses_and_resumes_through_the_trainer() {
    let mut app = App::new();
    app.on_event(Event::Started(start_info()));
    assert_eq!(app.on_key(ch(' ')), vec![Action::Send(Command::Pause)]);
    app.on_event(Event::Paused { step: 5 });
    assert_eq!(app.status, Status::Paused);
    assert_eq!(app.on_key(ch(' ')), vec![Action::Send(Command::Resume)]);
    app.on_event(Event::Resumed { step: 5 });
    assert_eq!(app.status, Status::Training);
}

#[test]
fn status_follows_warmup_then_training() {
    let mut app = App::new();
    app.on_event(Event::Started(start_info()));
    app.on_event(Event::Step(step(10)));
    assert_eq!(app.status, Status::WarmingUp);
    app.on_event(Event::Step(step(110)));
    assert_eq!(app.status, Status::Training);
    app.on_event(Event::Eval(eval(110)));
    assert_eq!(app.history.evals.len(), 1);
}

#[test]
fn a_probe_is_sent_and_its_answer_filed() {
    let mut app = App::new();
    app.on_key(ch('2'));
    assert!(app.probe.focused);
    typed(&mut app, "no mask here");
    assert!(
        app.on_key(key(KeyCode::Enter)).is_empty(),
        "refused without [MASK]"
    );
    assert!(app.probe.message.as_deref().unwrap().contains("[MASK]"));
    app.probe.input = tui_input::Input::new("a q s [mask] film".into());
    let actions = app.on_key(key(KeyCode::Enter));
    assert_eq!(
        actions,
        vec![Action::Send(Command::Probe(ProbeRequest::FillMask {
            id: 1,
            text: "a q s [mask] film".into(),
            top_k: 5
        }))]
    );
    assert!(
        app.popup.is_none(),
        "q typed into the box does not open the quit popup"
    );
    let result = FillMaskResult {
        text: "a q s [MASK] film".into(),
        masks: vec![vec![Prediction {
            score: 0.5,
            token: 9,
            token_str: "good".into(),
            sequence: "a q s good film".into(),
        }]],
    };
    app.on_event(Event::FillMask {
        id: 1,
        latency_ms: 12.0,
        result: Ok(result.clone()),
    });
    assert_eq!(app.probe.entries[0].outcome, Outcome::Fill(result));
    // Up recalls the earlier probe; Enter re-runs it with a new id.
    app.probe.input = tui_input::Input::default();
    app.on_key(key(KeyCode::Up));
    assert_eq!(app.probe.input.value(), "a q s [mask] film");
    let again = app.on_key(key(KeyCode::Enter));
    assert!(matches!(
        &again[0],
        Action::Send(Command::Probe(ProbeRequest::FillMask { id: 2, .. }))
    ));
}

#[test]
fn a_probe_records_where_the_model_stood_against_the_no_context_floor() {
    let mut app = App::new();
    app.on_key(ch('2'));
    let ask = |app: &mut App| {
        app.probe.input = tui_input::Input::new("this movie was [MASK] .".into());
        app.on_key(key(KeyCode::Enter));
        app.probe.entries[0].above_floor
    };
    assert_eq!(ask(&mut app), None, "nothing known before the start");
    app.on_event(Event::Started(start_info()));
    app.on_event(Event::Step(step(10)));
    assert_eq!(ask(&mut app), None, "no evaluation yet");
    app.on_event(Event::Eval(eval(233)));
    let gap = ask(&mut app).unwrap();
    assert!((gap - (6.6 - 6.08)).abs() < 1e-9, "{gap}");
    app.on_event(Event::Eval(EvalMetrics {
        mlm_loss: 5.5,
        ..eval(466)
    }));
    assert!(ask(&mut app).unwrap() < 0.0);
}

#[test]
fn pair_mode_sends_two_sentences() {
    let mut app = App::new();
    app.on_key(ch('2'));
    app.on_key(KeyEvent::new(KeyCode::Char('t'), KeyModifiers::CONTROL));
    typed(&mut app, "it rained. | we stayed in.");
    let actions = app.on_key(key(KeyCode::Enter));
    assert_eq!(
        actions,
        vec![Action::Send(Command::Probe(ProbeRequest::NextSentence {
            id: 1,
            a: "it rained.".into(),
            b: "we stayed in.".into()
        }))]
    );
}

#[test]
fn hyperparameter_edits_are_validated_queued_and_marked_when_applied() {
    let mut app = App::new();
    app.on_event(Event::Started(start_info()));
    app.on_key(ch('3'));
    app.on_key(key(KeyCode::Down));
    app.on_key(key(KeyCode::Down));
    app.on_key(key(KeyCode::Down)); // train.batch_size
    app.on_key(key(KeyCode::Enter));
    for _ in 0..5 {
        app.on_key(key(KeyCode::Backspace));
    }
    typed(&mut app, "0");
    assert!(app.on_key(key(KeyCode::Enter)).is_empty());
    let (is_err, msg) = app.hyper.message.clone().unwrap();
    assert!(is_err && msg.contains("train.batch_size"), "{msg}");
    app.on_key(key(KeyCode::Backspace));
    typed(&mut app, "16");
    assert_eq!(
        app.on_key(key(KeyCode::Enter)),
        vec![Action::Send(Command::SetHyper(Hyper::BatchSize(16)))]
    );
    assert_eq!(app.hyper.queued, vec![Hyper::BatchSize(16)]);
    app.on_event(Event::HyperApplied {
        change: Hyper::BatchSize(16),
        step: 234,
        epoch: 1,
    });
    assert!(app.hyper.queued.is_empty());
    assert_eq!(app.info.as_ref().unwrap().config.train.batch_size, 16);
    assert_eq!(
        app.history.markers,
        vec![(234, "train.batch_size=16".to_string())]
    );
}

#[test]
fn quit_popup_choices() {
    let mut app = App::new();
    app.on_event(Event::Started(start_info()));
    app.on_key(ch('q'));
    assert_eq!(app.popup, Some(Popup::Quit));
    app.on_key(key(KeyCode::Esc));
    assert_eq!(app.popup, None);
    app.on_key(ch('q'));
    assert_eq!(app.on_key(ch('d')), vec![Action::Exit]);

    let mut app = App::new();
    app.on_event(Event::Started(start_info()));
    app.on_key(ch('q'));
    assert_eq!(app.on_key(ch('s')), vec![Action::Send(Command::Stop)]);
    assert_eq!(app.status, Status::Saving);
    let summary = Summary {
        reason: FinishReason::Stopped,
        step: 3,
        epoch: 0,
        elapsed_s: 1.0,
        last_eval: None,
        error: None,
        session_dir: Some("/tmp/x".into()),
    };
    assert_eq!(
        app.on_event(Event::Finished(summary)),
        vec![Action::Exit],
        "exits once saved"
    );
}

#[test]
fn finished_run_stays_open_until_q() {
    let mut app = App::new();
    let summary = Summary {
        reason: FinishReason::Completed,
        step: 9,
        epoch: 1,
        elapsed_s: 1.0,
        last_eval: None,
        session_dir: None,
        error: None,
    };
    assert!(app.on_event(Event::Finished(summary)).is_empty());
    assert_eq!(app.status, Status::Finished(FinishReason::Completed));
    assert!(app.on_key(ch(' ')).is_empty());
    assert_eq!(app.on_key(ch('q')), vec![Action::Exit]);
}

#[test]
fn ctrl_c_stops_gracefully() {
    let mut app = App::new();
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    // While the corpus is prepared nothing is trained: leave at once.
    assert_eq!(app.on_key(ctrl_c), vec![Action::Exit]);
    app.on_event(Event::Started(start_info()));
    app.on_key(ch('2'));
    assert_eq!(app.on_key(ctrl_c), vec![Action::Send(Command::Stop)]);
}

#[test]
fn a_resumed_session_shows_its_earlier_history() {
    let mut app = App::new();
    app.on_event(Event::Started(start_info()));
    let past = crate::protocol::History {
        downstream: vec![],
        steps: vec![step(10), step(20)],
        evals: vec![eval(20)],
        changes: vec![(15, "train.lr=0.0005".into())],
        watched: vec![(
            20,
            vec![crate::protocol::WatchReading {
                text: "a [MASK] .".into(),
                top: vec![("good".into(), 0.5)],
                named: vec![],
            }],
        )],
    };
    app.on_event(Event::History(Box::new(past)));
    app.on_event(Event::Step(step(30)));
    // The earlier changes are listed with their steps in the Hyperparameters panel.
    assert_eq!(app.hyper.applied, vec![(15, "train.lr=0.0005".to_string())]);
    // The watched probes' earlier readings are on their chart.
    assert_eq!(app.watch.series[0].points["good"], vec![(20.0, 0.5)]);
    let steps: Vec<u64> = app.history.steps.iter().map(|m| m.step).collect();
    assert_eq!(steps, vec![10, 20, 30]);
    assert_eq!(app.history.evals.len(), 1);
    assert_eq!(
        app.history.markers,
        vec![(15, "train.lr=0.0005".to_string())]
    );
    assert_eq!(app.step(), 30);
}

#[test]
fn a_probe_after_the_run_has_ended_says_where_to_probe() {
    let mut app = App::new();
    app.on_event(Event::Started(start_info()));
    app.on_event(Event::Finished(Summary {
        reason: FinishReason::Completed,
        step: 9,
        epoch: 1,
        elapsed_s: 1.0,
        last_eval: None,
        session_dir: None,
        error: None,
    }));
    app.on_key(ch('2'));
    for c in "a [MASK] .".chars() {
        app.on_key(ch(c));
    }
    assert!(app.on_key(key(KeyCode::Enter)).is_empty(), "no probe sent");
    let message = app.probe.message.clone().unwrap_or_default();
    assert!(message.contains("bertwork probe --session"), "{message}");
    assert!(app.probe.entries.is_empty(), "no answer left pending");
}

/// The context onset (sent once by the trainer) is logged and marked on the charts; a
/// resumed session marks an onset found among its earlier evaluations.
#[test]
fn the_context_onset_is_logged_and_marked() {
    let mut app = App::new();
    app.on_event(Event::Started(start_info()));
    app.on_event(Event::ContextOnset {
        step: 700,
        elapsed_s: 151.0,
        heldout_mlm_loss: 5.95,
        no_context_mlm_loss: 6.08,
    });
    assert_eq!(app.history.markers, vec![(700, ONSET_MARKER.to_string())]);
    let last = &app.log.lines.last().unwrap().text;
    assert!(
        last.contains("context onset at step 700 (2:31 of training)")
            && last.contains("0.130 below the no-context floor 6.080"),
        "{last}"
    );

    let mut resumed = App::new();
    resumed.on_event(Event::Started(start_info()));
    let below = |s: u64, loss: f64| EvalMetrics {
        mlm_loss: loss,
        ..eval(s)
    };
    // 6.00 is only 0.08 below the floor (6.08): the onset is the next one.
    let past = crate::protocol::History {
        downstream: vec![],
        steps: vec![step(100)],
        evals: vec![
            below(100, 6.2),
            below(200, 6.0),
            below(300, 5.9),
            below(400, 5.5),
        ],
        changes: vec![],
        watched: vec![],
    };
    resumed.on_event(Event::History(Box::new(past)));
    assert_eq!(
        resumed.history.markers,
        vec![(300, ONSET_MARKER.to_string())]
    );
}

#[test]
fn the_attention_tab_offers_the_last_probe_and_routes_keys_and_answers() {
    let mut app = App::new();
    app.on_event(Event::Started(start_info()));
    app.on_event(Event::Step(step(10)));
    app.on_key(ch('2'));
    typed(&mut app, "a [MASK] b");
    app.on_key(key(KeyCode::Enter));
    app.on_key(key(KeyCode::Esc));
    app.on_key(ch('5'));
    assert_eq!(app.panel, Panel::Attention);
    assert_eq!(app.attention.input.value(), "a [MASK] b");
    assert!(app.attention.focused);
    // While typing, digits and `q` are text; typing replaces the offered sentence.
    typed(&mut app, " q5");
    assert_eq!(app.panel, Panel::Attention);
    let actions = app.on_key(key(KeyCode::Enter));
    assert_eq!(
        actions,
        vec![Action::Send(Command::Probe(ProbeRequest::Attention {
            id: 1,
            text: "q5".into()
        }))]
    );
    let map = crate::probe::AttentionMap {
        text: "x".into(),
        tokens: vec!["[CLS]".into(), "x".into(), "[SEP]".into()],
        layers: vec![
            vec![
                crate::probe::HeadAttention::from_weights(vec![vec![1.0, 0.0, 0.0]; 3]);
                2
            ];
            2
        ],
    };
    app.on_event(Event::Attention {
        id: 1,
        latency_ms: 3.0,
        result: Ok(map),
    });
    assert!(app.attention.answer.is_some());
    // Out of the box, `]` and Right move through layers and heads; `q` is global again.
    app.on_key(ch(']'));
    app.on_key(key(KeyCode::Right));
    assert_eq!((app.attention.layer, app.attention.head), (1, 1));
    app.on_key(ch('q'));
    assert_eq!(app.popup, Some(Popup::Quit));
}

#[test]
fn the_neighbours_tab_refreshes_only_while_shown_and_training() {
    use std::time::{Duration, Instant};
    let mut app = App::new();
    app.on_event(Event::Started(start_info()));
    app.on_event(Event::Step(step(500)));
    app.on_key(ch('6'));
    typed(&mut app, "good great");
    let actions = app.on_key(key(KeyCode::Enter));
    assert!(matches!(
        &actions[..],
        [Action::Send(Command::Probe(ProbeRequest::Neighbours {
            id: 1,
            ..
        }))]
    ));
    app.on_event(Event::Neighbours {
        id: 1,
        latency_ms: 2.0,
        result: Err("\"good\" is not in the vocabulary (it becomes [UNK])".into()),
    });
    let t0 = Instant::now();
    let later = t0 + Duration::from_secs(3);
    assert!(app.on_tick(t0).is_empty());
    app.on_key(key(KeyCode::Tab));
    assert!(
        app.on_tick(later).is_empty(),
        "not while another tab is shown"
    );
    app.on_key(key(KeyCode::BackTab));
    assert_eq!(app.panel, Panel::Neighbours);
    app.on_event(Event::Paused { step: 500 });
    assert!(app.on_tick(later).is_empty(), "not while paused");
    app.on_event(Event::Resumed { step: 500 });
    assert_eq!(app.on_tick(later).len(), 1);
}

#[test]
fn the_inspection_tabs_after_the_run_has_ended_say_where_to_ask() {
    let mut app = App::new();
    app.on_event(Event::Started(start_info()));
    app.on_event(Event::Finished(crate::protocol::Summary {
        reason: FinishReason::Completed,
        step: 10,
        epoch: 1,
        elapsed_s: 1.0,
        last_eval: None,
        session_dir: None,
        error: None,
    }));
    app.on_key(ch('5'));
    typed(&mut app, "a b");
    assert!(app.on_key(key(KeyCode::Enter)).is_empty());
    let m = app.attention.message.clone().unwrap_or_default();
    assert!(
        m.contains("bertwork probe --session demo --attention"),
        "{m}"
    );
    app.on_key(key(KeyCode::Tab));
    typed(&mut app, "good");
    assert!(app.on_key(key(KeyCode::Enter)).is_empty());
    let m = app.neighbours.message.clone().unwrap_or_default();
    assert!(m.contains("--neighbours WORD"), "{m}");
}

#[test]
fn r_asks_for_the_report_and_its_note_closes_with_any_key() {
    let mut app = App::new();
    assert_eq!(app.on_key(ch('r')), vec![Action::WriteReport]);
    app.popup = Some(Popup::Report);
    assert_eq!(app.on_key(ch('x')), vec![]);
    assert_eq!(app.popup, None);
    // In a text box, r is a letter.
    app.panel = Panel::Probe;
    app.probe.focused = true;
    assert_eq!(app.on_key(ch('r')), vec![]);
}
