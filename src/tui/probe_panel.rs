//! The probe panel: a text box, the trainer's answers per `[MASK]` with probability
//! bars, a sentence-pair mode, and a short history that can be re-run.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;
use tui_input::Input;

use super::theme;
use crate::probe::{FillMaskResult, NextSentenceResult};
use crate::protocol::{Command, ProbeRequest};
use crate::terminal_text::escape;

pub const HISTORY: usize = 8;
const TOP_K: usize = 5;

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Pending,
    Fill(FillMaskResult),
    Pair(NextSentenceResult),
    Error(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: u64,
    pub text: String,
    /// Training step when it was asked.
    pub step: u64,
    /// Held-out MLM loss minus the no-context floor at the last evaluation before it
    /// was asked (above 0: the model did not use context yet).
    pub above_floor: Option<f64>,
    pub latency_ms: f64,
    pub outcome: Outcome,
}

#[derive(Debug, Default)]
pub struct ProbeState {
    pub input: Input,
    pub focused: bool,
    pub pair_mode: bool,
    next_id: u64,
    /// Newest first.
    pub entries: Vec<Entry>,
    /// Position while browsing the history with Up/Down.
    browse: Option<usize>,
    pub message: Option<String>,
}

impl ProbeState {
    pub fn new() -> Self {
        Self {
            focused: true,
            next_id: 1,
            ..Self::default()
        }
    }

    /// Keys while the panel has focus; returns a command to send, if any. `step` and
    /// `above_floor` describe the model a probe is asked of.
    pub fn on_key(
        &mut self,
        key: KeyEvent,
        step: u64,
        above_floor: Option<f64>,
    ) -> Option<Command> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('t') if ctrl => {
                self.pair_mode = !self.pair_mode;
                self.message = None;
            }
            KeyCode::Enter => return self.submit(step, above_floor),
            KeyCode::Up => self.browse_by(1),
            KeyCode::Down => self.browse_by(-1),
            KeyCode::Esc => self.focused = false,
            _ => {
                super::text_box::edit(&mut self.input, key);
            }
        }
        None
    }

    fn browse_by(&mut self, delta: isize) {
        if self.entries.is_empty() {
            return;
        }
        let next = match self.browse {
            None if delta > 0 => 0,
            None => return,
            Some(i) => (i as isize + delta).clamp(-1, self.entries.len() as isize - 1),
        };
        if next < 0 {
            self.browse = None;
            self.input = Input::default();
        } else {
            self.browse = Some(next as usize);
            self.input = Input::new(self.entries[next as usize].text.clone());
        }
    }

    fn submit(&mut self, step: u64, above_floor: Option<f64>) -> Option<Command> {
        let text = self.input.value().trim().to_string();
        if text.is_empty() {
            return None;
        }
        let id = self.next_id;
        let request = if self.pair_mode {
            let Some((a, b)) = text.split_once('|') else {
                self.message = Some("pair mode: type sentence A | sentence B".into());
                return None;
            };
            ProbeRequest::NextSentence {
                id,
                a: a.trim().into(),
                b: b.trim().into(),
            }
        } else {
            if !crate::probe::normalize_masks(&text).contains("[MASK]") {
                self.message = Some("put [MASK] where a word should be predicted".into());
                return None;
            }
            ProbeRequest::FillMask {
                id,
                text: text.clone(),
                top_k: TOP_K,
            }
        };
        self.next_id += 1;
        self.message = None;
        self.browse = None;
        self.entries.insert(
            0,
            Entry {
                id,
                text,
                step,
                above_floor,
                latency_ms: 0.0,
                outcome: Outcome::Pending,
            },
        );
        self.entries.truncate(HISTORY);
        Some(Command::Probe(request))
    }

    /// Files an answer under the request it belongs to.
    pub fn answer(&mut self, id: u64, latency_ms: f64, outcome: Outcome) {
        if let Some(e) = self.entries.iter_mut().find(|e| e.id == id) {
            e.latency_ms = latency_ms;
            e.outcome = outcome;
        }
    }
}

pub fn draw(frame: &mut Frame, area: Rect, state: &ProbeState) {
    let [input_area, results_area] =
        Layout::vertical([Constraint::Length(4), Constraint::Min(0)]).areas(area);
    let mode = if state.pair_mode {
        "sentence pair: A | B"
    } else {
        "fill-mask"
    };
    let title = format!(" Probe ({mode}) ");
    let border = if state.focused {
        Style::default().fg(theme::MLM)
    } else {
        Style::default()
    };
    let hint = match (&state.message, state.input.value().is_empty(), state.pair_mode) {
        (Some(m), _, _) => Line::styled(m.clone(), Style::default().fg(theme::WARN)),
        (None, true, false) => Line::styled("type a sentence with [MASK] where a word should be predicted, e.g. this movie was [MASK] .", theme::dim()),
        (None, true, true) => Line::styled("type two sentences separated by | to see the IsNext probability", theme::dim()),
        (None, false, _) => Line::styled("Enter: run   Up/Down: history   Ctrl-T: pair mode   Esc: leave the box", theme::dim()),
    };
    let width = input_area.width.saturating_sub(2) as usize;
    let scroll = state.input.visual_scroll(width);
    let text = vec![
        Line::raw(state.input.value().chars().skip(scroll).collect::<String>()),
        hint,
    ];
    frame.render_widget(
        Paragraph::new(text).block(
            Block::default()
                .borders(Borders::ALL)
                .title(title)
                .border_style(border),
        ),
        input_area,
    );
    if state.focused {
        let x = input_area.x + 1 + (state.input.visual_cursor().saturating_sub(scroll)) as u16;
        frame.set_cursor_position((
            x.min(input_area.right().saturating_sub(2)),
            input_area.y + 1,
        ));
    }
    let mut lines = Vec::new();
    if state.entries.is_empty() {
        lines.push(Line::styled("no probes yet", theme::dim()));
    }
    for e in &state.entries {
        lines.extend(entry_lines(e, results_area.width as usize));
        lines.push(Line::raw(""));
    }
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Answers (newest first) "),
        ),
        results_area,
    );
}

fn bar(p: f64, width: usize) -> String {
    let n = (p.clamp(0.0, 1.0) * width as f64).round() as usize;
    format!("{}{}", "█".repeat(n), "·".repeat(width - n))
}

fn entry_lines(e: &Entry, width: usize) -> Vec<Line<'static>> {
    let head = Line::from(vec![
        Span::styled(format!("#{} ", e.id), theme::dim()),
        Span::styled(escape(&e.text).into_owned(), theme::title()),
        Span::styled(
            format!("  (step {}, {:.0} ms)", e.step, e.latency_ms),
            theme::dim(),
        ),
    ]);
    let mut lines = vec![head];
    let bar_width = width.saturating_sub(40).clamp(5, 30);
    match &e.outcome {
        Outcome::Pending => lines.push(Line::styled("  waiting for the model...", theme::dim())),
        Outcome::Error(m) => lines.push(Line::styled(
            format!("  {}", escape(m)),
            Style::default().fg(theme::ERROR),
        )),
        Outcome::Pair(r) => lines.push(Line::raw(format!(
            "  IsNext {:>5.1}% {}",
            r.is_next * 100.0,
            bar(r.is_next, bar_width)
        ))),
        Outcome::Fill(r) => {
            if let Some(gap) = e.above_floor.filter(|g| *g > 0.0) {
                lines.push(Line::styled(
                    format!("  not using context yet (held-out MLM loss {gap:.2} above the no-context floor): expect frequent words"),
                    Style::default().fg(theme::WARN),
                ));
            }
            for (i, preds) in r.masks.iter().enumerate() {
                if r.masks.len() > 1 {
                    lines.push(Line::styled(format!("  [MASK] {}", i + 1), theme::dim()));
                }
                if let Some(best) = preds.first() {
                    lines.push(Line::styled(
                        format!("  → {}", escape(&best.sequence)),
                        Style::default().fg(theme::OK),
                    ));
                }
                for p in preds {
                    lines.push(Line::raw(format!(
                        "  {:<14} {:>5.1}% {}",
                        escape(&p.token_str),
                        p.score * 100.0,
                        bar(p.score, bar_width)
                    )));
                }
            }
        }
    }
    lines
}
