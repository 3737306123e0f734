//! Routing for the panels that ask the live model (Probe, Attention, Neighbours): their
//! keys, their answers, the neighbours' periodic refresh and what to say once the run
//! (and its probe thread) has ended.

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent};

use super::{Action, App, Panel, Status};
use crate::protocol::Event;
use crate::tui::probe_panel::Outcome;

impl App {
    /// Why the live model cannot be asked any more (the probe thread ends with the
    /// trainer), naming the command that asks the saved one; `None` while it can.
    fn ended_message(&self, how: &str) -> Option<String> {
        if !self.finished() {
            return None;
        }
        let name = self.info.as_ref().map_or("NAME", |i| i.session.as_str());
        Some(format!(
            "training has ended and its live model with it: probe the saved one with `bertwork probe --session {name} {how}`"
        ))
    }

    /// Keys for the current probing panel (the Probe panel's text box, or the Attention
    /// or Neighbours panel).
    pub(super) fn on_probe_key(&mut self, key: KeyEvent) -> Vec<Action> {
        let step = self.step();
        let command = match self.panel {
            Panel::Probe if key.code == KeyCode::Enter && self.finished() => {
                self.probe.message = self.ended_message("\"...\"");
                None
            }
            Panel::Probe => self.probe.on_key(key, step, self.above_floor()),
            Panel::Attention => {
                let ended = self.ended_message("--attention \"...\"");
                self.attention.on_key(key, step, ended.as_deref())
            }
            Panel::Neighbours => {
                let ended = self.ended_message("--neighbours WORD");
                self.neighbours.on_key(key, step, ended.as_deref())
            }
            _ => None,
        };
        command.map(Action::Send).into_iter().collect()
    }

    /// After switching panels: focus the text box of a probing panel; the Attention
    /// panel starts from the Probe panel's last sentence.
    pub(super) fn on_switch(&mut self) {
        match self.panel {
            Panel::Probe => self.probe.focused = true,
            Panel::Attention => {
                if let Some(last) = self.probe.entries.first() {
                    let text = last.text.split('|').next().unwrap_or_default();
                    self.attention.offer(text);
                }
                if self.attention.answer.is_none() {
                    self.attention.focused = true;
                }
            }
            Panel::Neighbours => self.neighbours.focused = true,
            _ => {}
        }
    }

    /// Files a probe's answer with the panel that asked.
    pub(super) fn on_probe_event(&mut self, event: Event) {
        match event {
            Event::FillMask {
                id,
                latency_ms,
                result,
            } => {
                let outcome = result.map_or_else(Outcome::Error, Outcome::Fill);
                self.probe.answer(id, latency_ms, outcome);
            }
            Event::NextSentence {
                id,
                latency_ms,
                result,
            } => {
                let outcome = result.map_or_else(Outcome::Error, Outcome::Pair);
                self.probe.answer(id, latency_ms, outcome);
            }
            Event::Attention {
                id,
                latency_ms,
                result,
            } => self.attention.answer(id, latency_ms, result),
            Event::Neighbours {
                id,
                latency_ms,
                result,
            } => self.neighbours.answer(id, latency_ms, result),
            _ => {}
        }
    }

    /// The workbench's tick: while the Neighbours panel is shown and the run trains,
    /// its question is asked again every few seconds.
    pub fn on_tick(&mut self, now: Instant) -> Vec<Action> {
        let training = matches!(self.status, Status::Training | Status::WarmingUp);
        if self.panel != Panel::Neighbours || !training {
            return Vec::new();
        }
        let step = self.step();
        self.neighbours
            .on_tick(now, step)
            .map(Action::Send)
            .into_iter()
            .collect()
    }
}
