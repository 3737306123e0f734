//! The workbench's state and how keys and trainer events change it. No drawing and no
//! I/O here: keys and events in, state changes and [`Action`]s out.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::attention_panel::AttentionState;
use super::compare_panel::{CompareState, Pick};
use super::downstream_panel::DownstreamState;
use super::hyper_panel::HyperState;
use super::log_panel::{Level, LogState};
use super::neighbours_panel::NeighboursState;
use super::probe_panel::ProbeState;
use super::watch_panel::WatchState;
use crate::curves::history::{History, Window};
use crate::curves::{DEFAULT_SMOOTHING, ONSET_MARKER};
use crate::protocol::{
    context_onset, Command, Event, FinishReason, PrepareProgress, StartInfo, Summary,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    Dashboard,
    Probe,
    Hyper,
    Log,
    Attention,
    Neighbours,
    Watch,
    Downstream,
}

pub const PANELS: [(Panel, &str); 8] = [
    (Panel::Dashboard, "Dashboard"),
    (Panel::Probe, "Probe"),
    (Panel::Hyper, "HParams"),
    (Panel::Log, "Log"),
    (Panel::Attention, "Attention"),
    (Panel::Neighbours, "Neighbours"),
    (Panel::Watch, "Watched"),
    (Panel::Downstream, "Downstream"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Preparing,
    WarmingUp,
    Training,
    Paused,
    Saving,
    Finished(FinishReason),
    /// `bertwork compare`: saved sessions, read-only.
    Viewing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Popup {
    Help,
    Quit,
    /// The run failed: its error in full (`summary.error`).
    Failure,
    /// Choosing sessions to overlay (`compare.picker`).
    Compare,
    /// Where the report of `r` was written, or why it was not (`report_note`).
    Report,
}

/// What the event loop must do after an update.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Send(Command),
    /// List the sessions for the compare picker (the event loop reads the folder).
    PickSessions,
    /// Read this session and overlay it on the charts.
    LoadOverlay(String),
    /// Leave now (after a graceful stop has finished, or without saving).
    Exit,
    /// Give the terminal back and stop the process (Ctrl-Z, job control); `fg` returns.
    Suspend,
    /// Write the report of the session on screen (with the overlaid sessions) from its
    /// saved files ([`super::report_key`]).
    WriteReport,
}

#[derive(Debug)]
pub struct App {
    pub panel: Panel,
    pub status: Status,
    pub info: Option<Box<StartInfo>>,
    pub history: History,
    pub window: Window,
    /// EMA factor of the smoothed lines.
    pub smoothing: f64,
    pub probe: ProbeState,
    pub attention: AttentionState,
    pub neighbours: NeighboursState,
    pub hyper: HyperState,
    pub log: LogState,
    pub watch: WatchState,
    pub downstream: DownstreamState,
    pub compare: CompareState,
    pub popup: Option<Popup>,
    pub summary: Option<Summary>,
    /// Set once the user chose "stop and save": exit when the trainer has finished.
    exit_when_finished: bool,
    /// Process memory line, refreshed on ticks.
    pub memory: String,
    /// How far preparing the corpus has got (until `Started`).
    pub preparing: Option<PrepareProgress>,
    /// What the terminal can show (`NO_COLOR`, the Linux console).
    pub display: super::display::Display,
    /// The outcome of the last `r`: where the report went, or why it did not.
    pub report_note: Option<String>,
}

impl Default for App {
    fn default() -> Self {
        Self::new()
    }
}

impl App {
    pub fn new() -> Self {
        Self {
            panel: Panel::Dashboard,
            status: Status::Preparing,
            info: None,
            history: History::default(),
            window: Window::All,
            smoothing: DEFAULT_SMOOTHING,
            probe: ProbeState::new(),
            attention: AttentionState::new(),
            neighbours: NeighboursState::new(),
            hyper: HyperState::default(),
            log: LogState::default(),
            watch: WatchState::default(),
            downstream: DownstreamState::default(),
            compare: CompareState::default(),
            popup: None,
            summary: None,
            exit_when_finished: false,
            memory: String::new(),
            preparing: None,
            display: super::display::Display::default(),
            report_note: None,
        }
    }

    pub fn step(&self) -> u64 {
        self.history.last().map_or(0, |m| m.step)
    }

    /// The step of the context onset, once it happened.
    pub fn onset_step(&self) -> Option<u64> {
        self.history
            .markers
            .iter()
            .find(|(_, label)| label == ONSET_MARKER)
            .map(|(step, _)| *step)
    }

    /// The last held-out MLM loss minus the no-context floor.
    pub fn above_floor(&self) -> Option<f64> {
        let floor = self.info.as_ref()?.no_context_mlm_loss;
        let gap = self.history.last_eval()?.mlm_loss - floor;
        gap.is_finite().then_some(gap)
    }

    pub(super) fn finished(&self) -> bool {
        matches!(self.status, Status::Finished(_))
    }

    /// Whether typed characters belong to a text box (so global keys stay out).
    fn typing(&self) -> bool {
        (self.panel == Panel::Probe && self.probe.focused)
            || (self.panel == Panel::Hyper && self.hyper.is_editing())
            || (self.panel == Panel::Attention && self.attention.focused)
            || (self.panel == Panel::Neighbours && self.neighbours.focused)
            || (self.panel == Panel::Watch && self.watch.editing)
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Action> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && key.code == KeyCode::Char('c') {
            return self.stop_and_save();
        }
        if ctrl && key.code == KeyCode::Char('z') {
            return vec![Action::Suspend];
        }
        if let Some(popup) = self.popup {
            return self.on_popup_key(popup, key);
        }
        match key.code {
            KeyCode::Tab => return self.switch((self.panel_index() + 1) % PANELS.len()),
            KeyCode::BackTab => {
                return self.switch((self.panel_index() + PANELS.len() - 1) % PANELS.len())
            }
            _ => {}
        }
        if self.typing() {
            match self.panel {
                Panel::Hyper => {
                    let config = self.info.as_ref().map(|i| &i.config);
                    return self
                        .hyper
                        .on_key(key, config)
                        .map(Action::Send)
                        .into_iter()
                        .collect();
                }
                Panel::Watch => {
                    return self
                        .watch
                        .on_key(key, None)
                        .map(Action::Send)
                        .into_iter()
                        .collect()
                }
                _ => return self.on_probe_key(key),
            }
        }
        match key.code {
            KeyCode::Char('q') => {
                if self.finished() {
                    return vec![Action::Exit];
                }
                self.popup = Some(Popup::Quit);
            }
            KeyCode::Char('?') => self.popup = Some(Popup::Help),
            KeyCode::Char(' ') => return self.toggle_pause(),
            KeyCode::Char('f') if !self.finished() => {
                self.log.push(
                    Level::Info,
                    "fork requested: saving a checkpoint to fork from",
                );
                return vec![Action::Send(Command::Fork)];
            }
            KeyCode::Char('r') => return vec![Action::WriteReport],
            KeyCode::Char('s') if !self.finished() => {
                self.log.push(Level::Info, "checkpoint requested");
                return vec![Action::Send(Command::SaveCheckpoint)];
            }
            KeyCode::Char(c @ '1'..='9') if (c as usize - '1' as usize) < PANELS.len() => {
                return self.switch(c as usize - '1' as usize)
            }
            _ => return self.on_panel_key(key),
        }
        Vec::new()
    }

    fn on_panel_key(&mut self, key: KeyEvent) -> Vec<Action> {
        match self.panel {
            Panel::Dashboard => match key.code {
                KeyCode::Char('x') => self.compare.axis = self.compare.axis.next(),
                KeyCode::Char('c') => return vec![Action::PickSessions],
                KeyCode::Char('h') => {
                    self.window = match self.window {
                        Window::All => Window::Recent,
                        Window::Recent => Window::All,
                    }
                }
                KeyCode::Char('+') | KeyCode::Char('=') => {
                    self.smoothing = (self.smoothing + 0.05).min(0.99)
                }
                KeyCode::Char('-') => self.smoothing = (self.smoothing - 0.05).max(0.0),
                _ => {}
            },
            Panel::Downstream => {
                if key.code == KeyCode::Char('x') {
                    self.compare.axis = self.compare.axis.next();
                }
            }
            Panel::Probe => {
                if matches!(key.code, KeyCode::Enter | KeyCode::Char('i')) {
                    self.probe.focused = true;
                }
            }
            Panel::Hyper => {
                return self
                    .hyper
                    .on_key(key, self.info.as_ref().map(|i| &i.config))
                    .map(Action::Send)
                    .into_iter()
                    .collect()
            }
            Panel::Attention | Panel::Neighbours => return self.on_probe_key(key),
            Panel::Log => {}
            Panel::Watch => {
                let last = self.probe.entries.first().map(|e| e.text.as_str());
                return self
                    .watch
                    .on_key(key, last)
                    .map(Action::Send)
                    .into_iter()
                    .collect();
            }
        }
        Vec::new()
    }

    fn on_popup_key(&mut self, popup: Popup, key: KeyEvent) -> Vec<Action> {
        match popup {
            Popup::Help | Popup::Report => self.popup = None,
            Popup::Failure => {
                self.popup = None;
                // The run is over: `q` quits at once, as it does without the popup.
                if key.code == KeyCode::Char('q') && self.finished() {
                    return vec![Action::Exit];
                }
            }
            Popup::Compare => match self.compare.on_picker_key(key) {
                Pick::Nothing => {}
                Pick::Load(name) => return vec![Action::LoadOverlay(name)],
                Pick::Close => self.popup = None,
            },
            Popup::Quit => match key.code {
                KeyCode::Char('s') | KeyCode::Enter => {
                    self.popup = None;
                    return self.stop_and_save();
                }
                KeyCode::Char('d') => return vec![Action::Exit],
                KeyCode::Char('c') | KeyCode::Esc | KeyCode::Char('q') => self.popup = None,
                _ => {}
            },
        }
        Vec::new()
    }

    /// A termination signal (SIGTERM, SIGHUP, SIGINT): stop gracefully, save and leave,
    /// as Ctrl-C does.
    pub fn on_signal(&mut self, name: &str) -> Vec<Action> {
        self.popup = None;
        self.log.push(
            Level::Warning,
            format!("{name} received: send it again to quit at once without saving"),
        );
        self.stop_and_save()
    }

    pub fn stop_and_save(&mut self) -> Vec<Action> {
        if self.finished() || self.status == Status::Preparing {
            // Nothing trained yet (or already saved): nothing to wait for.
            return vec![Action::Exit];
        }
        self.exit_when_finished = true;
        self.status = Status::Saving;
        self.log
            .push(Level::Info, "stopping: finishing the step and saving");
        vec![Action::Send(Command::Stop)]
    }

    fn toggle_pause(&mut self) -> Vec<Action> {
        match self.status {
            Status::Paused => vec![Action::Send(Command::Resume)],
            Status::Finished(_) | Status::Saving => Vec::new(),
            _ => vec![Action::Send(Command::Pause)],
        }
    }

    fn panel_index(&self) -> usize {
        PANELS
            .iter()
            .position(|(p, _)| *p == self.panel)
            .unwrap_or(0)
    }

    fn switch(&mut self, index: usize) -> Vec<Action> {
        self.panel = PANELS[index].0;
        self.on_switch();
        Vec::new()
    }

    pub fn on_event(&mut self, event: Event) -> Vec<Action> {
        match event {
            Event::Preparing(progress) => self.preparing = Some(progress),
            Event::Started(info) => {
                self.preparing = None;
                self.log.push(
                    Level::Info,
                    format!(
                        "session {} started: {} parameters on {}, {} steps planned",
                        info.session,
                        crate::format::group_thousands(info.parameters),
                        info.device,
                        info.total_steps
                    ),
                );
                self.compare.main = Some(info.session.clone());
                self.compare.main_config = Some(info.config.clone());
                self.compare.main_tokens_per_step =
                    crate::curves::compare::tokens_per_step(&info.config) * info.world_size as f64;
                self.info = Some(info);
                self.status = Status::WarmingUp;
            }
            Event::Step(m) => {
                if !matches!(self.status, Status::Paused | Status::Saving) {
                    let warm = self
                        .info
                        .as_ref()
                        .is_some_and(|i| m.step <= i.config.train.warmup_steps);
                    self.status = if warm {
                        Status::WarmingUp
                    } else {
                        Status::Training
                    };
                }
                if let Some(mem) = &m.memory {
                    self.memory = crate::device::format_memory(mem);
                }
                self.history.steps.push(m);
            }
            Event::Eval(e) => self.history.evals.push(e),
            Event::DownstreamSetup(setup) => {
                self.log.push(Level::Info, setup.describe());
                self.downstream.setup = Some(*setup);
            }
            Event::Downstream(r) => self.downstream.readings.push(r),
            Event::FineTunes { runs } => self.downstream.fine_tunes = runs,
            Event::History(past) => {
                let last = past.steps.last().map_or(0, |m| m.step);
                self.log.push(
                    Level::Info,
                    format!(
                        "resumed after step {last}: {} earlier step logs and {} evaluations loaded",
                        past.steps.len(),
                        past.evals.len()
                    ),
                );
                let floor = self
                    .info
                    .as_ref()
                    .map_or(f64::NAN, |i| i.no_context_mlm_loss);
                if let Some(e) = context_onset(&past.evals, floor) {
                    self.history.markers.push((e.step, ONSET_MARKER.into()));
                }
                self.history.steps.extend(past.steps);
                self.history.evals.extend(past.evals);
                self.hyper.applied.extend(past.changes.iter().cloned());
                self.history.markers.extend(past.changes);
                for (step, readings) in &past.watched {
                    self.watch.readings(*step, readings);
                }
                self.downstream.readings.extend(past.downstream);
            }
            Event::EpochEnd {
                epoch,
                step,
                seconds,
            } => self.log.push(
                Level::Info,
                format!("epoch {} ended at step {step} ({seconds:.1}s)", epoch + 1),
            ),
            Event::HyperQueued { .. } => {}
            Event::HyperApplied { change, step, .. } => {
                if let Some(info) = &mut self.info {
                    change.apply_to(&mut info.config);
                }
                self.hyper.applied(&change, step);
                let text = format!("{}={}", change.key(), change.value_string());
                self.log
                    .push(Level::Info, format!("{text} applied from step {step}"));
                self.history.markers.push((step, text));
            }
            Event::CheckpointSaved {
                path,
                step,
                seconds,
            } => self.log.push(
                Level::Info,
                format!(
                    "checkpoint at step {step} saved to {} ({seconds:.2}s)",
                    path.display()
                ),
            ),
            Event::Paused { step } => {
                self.status = Status::Paused;
                self.log.push(Level::Info, format!("paused at step {step}"));
            }
            Event::Resumed { step } => {
                self.status = Status::Training;
                self.log
                    .push(Level::Info, format!("resumed at step {step}"));
            }
            e @ (Event::FillMask { .. }
            | Event::NextSentence { .. }
            | Event::Attention { .. }
            | Event::Neighbours { .. }) => self.on_probe_event(e),
            Event::ContextOnset {
                step,
                elapsed_s,
                heldout_mlm_loss,
                no_context_mlm_loss,
            } => {
                self.log.push(
                    Level::Info,
                    crate::protocol::context_onset_line(
                        step,
                        elapsed_s,
                        heldout_mlm_loss,
                        no_context_mlm_loss,
                    ),
                );
                self.history.markers.push((step, ONSET_MARKER.into()));
            }
            Event::Watched { step, readings, .. } => self.watch.readings(step, &readings),
            Event::Watching { entries, .. } => self.watch.entries = entries,
            Event::Forked { name, step, .. } => {
                let parent = self.info.as_ref().map_or("", |i| i.session.as_str());
                self.log.push(
                    Level::Info,
                    format!(
                        "forked at step {step} as `{name}`: train it with `bertwork resume {name} [--set key=value]`, compare with `bertwork compare {parent} {name}`"
                    ),
                );
            }
            Event::Warning { message } => self.log.push(Level::Warning, message),
            Event::Error { message } => self.log.push(Level::Error, message),
            Event::Finished(summary) => {
                self.status = Status::Finished(summary.reason);
                let text = match &summary.session_dir {
                    Some(dir) if summary.reason != FinishReason::Failed => {
                        format!(
                            "finished ({:?}) at step {} after {:.1}s; saved in {}",
                            summary.reason,
                            summary.step,
                            summary.elapsed_s,
                            dir.display()
                        )
                    }
                    _ => format!("finished ({:?}) at step {}", summary.reason, summary.step),
                };
                self.log.push(Level::Info, text);
                if summary.reason == FinishReason::Failed {
                    self.popup = Some(Popup::Failure);
                }
                self.summary = Some(summary);
                if self.exit_when_finished {
                    return vec![Action::Exit];
                }
            }
        }
        Vec::new()
    }
}

mod probes;
#[cfg(test)]
pub(crate) mod tests;
