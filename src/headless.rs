//! The headless front end: progress lines (or JSON lines) for a training run.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};

use crate::protocol::{Command, Event, FinishReason, PrepareProgress, StartInfo};
use crate::train::{TrainSetup, TrainerHandle};
use crossbeam_channel::select;

/// Runs a prepared setup (a new run or a resume) to the end, printing progress.
///
/// Exit status: 0 when the run completed, 1 when it failed, 128 + N when signal N
/// (SIGINT, SIGTERM, SIGHUP) stopped it (after saving; a second signal quits at once).
pub fn run(setup: TrainSetup, json: bool) -> Result<ExitCode> {
    // Holds the session's lock until the process ends, after the trainer thread.
    let session = setup.session.clone();
    let signals = crate::signals::listen()?;
    let handle = TrainerHandle::spawn(setup);
    let mut out = Printer::new(json);
    let mut reason = FinishReason::Failed;
    let mut stopped_by: Option<i32> = None;
    let mut started = false;
    loop {
        select! {
            recv(signals) -> signal => {
                let Ok(signal) = signal else { continue };
                let name = crate::signals::name(signal);
                if stopped_by.is_some() {
                    out.note(&format!("{name} again: exiting without saving"));
                    crate::signals::exit_now(crate::signals::exit_status(signal));
                }
                if !started {
                    // Still reading the corpus (which can take long, or forever on a
                    // device file): nothing has been trained, so nothing to save.
                    out.note(&format!("{name} while preparing: nothing trained yet, exiting"));
                    session.discard_if_untrained();
                    crate::signals::exit_now(crate::signals::exit_status(signal));
                }
                stopped_by = Some(signal);
                out.note(&format!(
                    "{name}: finishing the current step and saving (send it again to quit at once)"
                ));
                let _ = handle.commands.send(Command::Stop);
            }
            recv(handle.events) -> event => {
                let Ok(event) = event else { break };
                started |= matches!(event, Event::Started(_));
                out.event(&event);
                if let Event::Finished(summary) = &event {
                    reason = summary.reason;
                    break;
                }
            }
        }
    }
    handle.join();
    Ok(match (reason, stopped_by) {
        (FinishReason::Failed, _) => ExitCode::FAILURE,
        (_, Some(signal)) => ExitCode::from(crate::signals::exit_status(signal)),
        _ => ExitCode::SUCCESS,
    })
}

struct Printer {
    json: bool,
    bar: Option<ProgressBar>,
    /// Preparation progress: a spinner line on a terminal (stderr).
    preparing: Option<ProgressBar>,
    /// When the last plain preparation line was printed (not on a terminal).
    last_preparing: Option<(crate::protocol::PreparePhase, std::time::Instant)>,
    /// The held-out no-context MLM loss, once started.
    floor: Option<f64>,
    /// The TF-IDF baseline, once known, that probe readings are compared with.
    tfidf: Option<crate::protocol::Accuracy>,
}

impl Printer {
    fn new(json: bool) -> Self {
        Self {
            json,
            bar: None,
            preparing: None,
            last_preparing: None,
            floor: None,
            tfidf: None,
        }
    }

    /// A line (or several) on stdout. Anything quoted from a user's file (a warning
    /// naming a column, a path) has its control characters escaped. Write errors are
    /// ignored: a closed pipe (`| head`) or a hung up terminal must not stop training
    /// before it saves.
    fn line(&self, text: String) {
        let text = crate::terminal_text::escape_lines(&text).into_owned();
        match &self.bar {
            Some(bar) => bar.println(text),
            None => {
                let mut stdout = std::io::stdout().lock();
                let _ = writeln!(stdout, "{text}").and_then(|_| stdout.flush());
            }
        }
    }

    /// A line on stderr (errors, notes about signals), errors ignored as in `line`.
    fn note(&self, text: &str) {
        let write = || {
            let _ = writeln!(std::io::stderr(), "{text}");
        };
        match &self.bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }

    fn event(&mut self, event: &Event) {
        if let Event::History(past) = event {
            // Already printed by the run that logged it.
            if !self.json {
                self.line(format!(
                    "resuming after step {} ({} earlier step logs in metrics.csv)",
                    past.steps.last().map_or(0, |m| m.step),
                    past.steps.len()
                ));
            }
            return;
        }
        if self.json {
            if let Ok(s) = serde_json::to_string(event) {
                let mut stdout = std::io::stdout().lock();
                let _ = writeln!(stdout, "{s}").and_then(|_| stdout.flush());
            }
            return;
        }
        if !matches!(event, Event::Preparing(_)) {
            if let Some(bar) = self.preparing.take() {
                bar.finish_and_clear();
            }
        }
        match event {
            Event::Preparing(p) => self.preparing(p),
            Event::Started(info) => self.started(info),
            Event::Step(m) => {
                self.line(format!(
                    "epoch {:>2} step {:>6} | mlm {:.3} acc {:.3} | {} | lr {:.2e} | grad {:.2} | {:.0} tok/s{}",
                    m.epoch + 1, m.step, m.mlm_loss, m.mlm_acc, nsp(m.nsp_loss, m.nsp_acc), m.lr, m.grad_norm, m.tokens_per_s,
                    match crate::format::rank_shares(&m.rank_tokens_per_s, m.collective_share) {
                        s if s.is_empty() => s,
                        s => format!(" ({s})"),
                    }
                ));
                if let Some(bar) = &self.bar {
                    bar.set_position(m.step);
                }
            }
            Event::Eval(m) => self.line(format!(
                "eval  step {:>6} | held-out mlm {:.3} acc {:.3} ppl {:.1} | {}{}",
                m.step,
                m.mlm_loss,
                m.mlm_acc,
                m.perplexity,
                nsp(m.nsp_loss, m.nsp_acc),
                self.floor.map_or(String::new(), |f| format!(
                    " | vs no-context {:+.3}",
                    m.mlm_loss - f
                ))
            )),
            Event::DownstreamSetup(setup) => {
                self.tfidf = Some(setup.tfidf);
                self.line(setup.describe());
            }
            Event::Downstream(r) => self.line(r.describe(self.tfidf.as_ref())),
            Event::FineTunes { runs } => {
                for run in runs {
                    self.line(format!("fine-tuned from this session: {run}"));
                }
            }
            Event::ContextOnset {
                step,
                elapsed_s,
                heldout_mlm_loss,
                no_context_mlm_loss,
            } => self.line(crate::protocol::context_onset_line(
                *step,
                *elapsed_s,
                *heldout_mlm_loss,
                *no_context_mlm_loss,
            )),
            Event::EpochEnd {
                epoch,
                step,
                seconds,
            } => self.line(format!(
                "epoch {} done at step {step} in {seconds:.1}s",
                epoch + 1
            )),
            Event::CheckpointSaved {
                path,
                step,
                seconds,
            } => self.line(format!(
                "checkpoint at step {step}: {} ({seconds:.2}s)",
                path.display()
            )),
            Event::HyperApplied { change, step, .. } => self.line(format!(
                "{} = {} from step {step}",
                change.key(),
                change.value_string()
            )),
            Event::Warning { message } => self.line(format!("warning: {message}")),
            Event::Error { message } => self.note(&format!(
                "error: {}",
                crate::terminal_text::escape_lines(message)
            )),
            Event::Finished(s) => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                if s.reason == FinishReason::Failed && s.step == 0 {
                    return; // the error line said it all
                }
                let how = match s.reason {
                    FinishReason::Completed => "finished",
                    FinishReason::Stopped => "stopped",
                    FinishReason::Failed => "failed",
                };
                let mut text = format!("{how} at step {} after {:.1}s", s.step, s.elapsed_s);
                if let Some(dir) = &s.session_dir {
                    if s.reason == FinishReason::Failed {
                        text.push_str(&format!(
                            "; the session keeps its last good checkpoint in {}",
                            dir.display()
                        ));
                    } else {
                        text.push_str(&format!("; session saved in {}", dir.display()));
                    }
                }
                self.line(text);
            }
            _ => {}
        }
    }

    /// On a terminal, one line on stderr updated in place; otherwise a plain line when a
    /// phase begins and at most every 10 s within one.
    fn preparing(&mut self, p: &PrepareProgress) {
        let text = format!("preparing the corpus: {}", p.describe());
        if live_bars() {
            let bar = self.preparing.get_or_insert_with(|| {
                let bar = ProgressBar::new_spinner();
                bar.enable_steady_tick(std::time::Duration::from_millis(200));
                bar
            });
            bar.set_message(crate::terminal_text::escape_lines(&text).into_owned());
            return;
        }
        let due = match &self.last_preparing {
            Some((phase, at)) => *phase != p.phase || at.elapsed().as_secs() >= 10,
            None => true,
        };
        if due {
            self.last_preparing = Some((p.phase, std::time::Instant::now()));
            self.line(text);
        }
    }

    fn started(&mut self, s: &StartInfo) {
        self.floor = Some(s.no_context_mlm_loss).filter(|f| f.is_finite());
        self.line(format!(
            "session {} ({})\nmodel {}L/{}H/{}A, {} parameters, device {}, {}\ncorpus {}: {} documents ({} train, {} held out), {} sentences, {} tokens, vocab {}, [UNK] {:.2}%\n{} training examples per epoch, {} steps per epoch, {} steps in all; prepared in {:.1}s{}",
            s.session, s.session_dir.display(), s.layers, s.hidden, s.heads,
            crate::format::group_thousands(s.parameters),
            if s.world_size > 1 { format!("{} x {} ranks (torch.distributed, Gloo)", s.device, s.world_size) } else { s.device.clone() },
            s.precision,
            s.corpus, s.documents,
            s.train_documents, s.heldout_documents, s.sentences, s.tokens, s.vocab_size,
            s.unk_rate * 100.0, s.train_examples, s.steps_per_epoch, s.total_steps, s.prepare_seconds,
            if s.corpus_cached { " (tokenized corpus from the cache)" } else { "" }
        ));
        if !s.config.model.nsp {
            self.line(
                "NSP off (model.nsp = false): training masked-language modelling only".into(),
            );
        }
        if let Some(f) = self.floor {
            self.line(format!(
                "no-context floor: held-out MLM loss {f:.3} (unigram + shown token); above it the model does not use context yet"
            ));
        }
        if live_bars() {
            let bar = ProgressBar::new(s.total_steps);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} steps, {elapsed} elapsed, eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            self.bar = Some(bar);
        }
    }
}

/// The NSP part of a progress line: `nsp 0.693 acc 0.500`, or `nsp off` when it is not
/// trained (`model.nsp = false`).
fn nsp(loss: Option<f64>, acc: Option<f64>) -> String {
    match (loss, acc) {
        (Some(l), Some(a)) => format!("nsp {l:.3} acc {a:.3}"),
        _ => "nsp off".into(),
    }
}

/// Whether progress may be drawn as bars updated in place: stderr is a terminal that
/// can move its cursor (not `TERM=dumb`, where each redraw would print escape codes).
fn live_bars() -> bool {
    std::io::stderr().is_terminal() && crate::terminal_kind::full_screen_here().is_ok()
}
