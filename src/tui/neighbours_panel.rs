//! The neighbours panel: a word's nearest tokens in the word-embedding table with
//! similarity bars, and its similarity to a second word, asked again every few seconds
//! while the run trains so the list follows what the model learns.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;
use tui_input::Input;

use super::{text_box, theme};
use crate::probe::Neighbours;
use crate::protocol::{Command, ProbeRequest};
use crate::terminal_text::escape;

/// Neighbours asked for.
pub const TOP_K: usize = 12;
/// How often the question is asked again while the run trains and the panel is shown.
pub const REFRESH: Duration = Duration::from_secs(2);

/// An answer and the model it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// Training step when it was asked.
    pub step: u64,
    pub latency_ms: f64,
    pub result: Result<Neighbours, String>,
}

#[derive(Debug, Default)]
pub struct NeighboursState {
    pub input: Input,
    pub focused: bool,
    next_id: u64,
    /// The word and the other word last asked about.
    query: Option<(String, Option<String>)>,
    /// The request in flight: (id, step when asked).
    pending: Option<(u64, u64)>,
    /// When the last request was sent (set on the first tick after a submit).
    last_sent: Option<Instant>,
    pub answer: Option<Answer>,
    pub message: Option<String>,
}

impl NeighboursState {
    pub fn new() -> Self {
        Self {
            focused: true,
            next_id: 1,
            ..Self::default()
        }
    }

    /// Keys while the panel has focus: editing keys, Enter asks about "word [other]",
    /// Esc leaves the box; outside it Enter or `i` comes back. `ended` is why the model
    /// cannot be asked any more, if it cannot.
    pub fn on_key(&mut self, key: KeyEvent, step: u64, ended: Option<&str>) -> Option<Command> {
        match key.code {
            KeyCode::Enter if self.focused => return self.submit(step, ended),
            KeyCode::Esc if self.focused => self.focused = false,
            _ if self.focused => {
                text_box::edit(&mut self.input, key);
            }
            KeyCode::Enter | KeyCode::Char('i') => self.focused = true,
            _ => {}
        }
        None
    }

    fn submit(&mut self, step: u64, ended: Option<&str>) -> Option<Command> {
        let value = self.input.value().to_string();
        let words: Vec<&str> = value.split_whitespace().collect();
        let (word, other) = match words[..] {
            [] => {
                self.message = Some("type a word, or two words to compare them".into());
                return None;
            }
            [w] => (w.to_string(), None),
            [w, o] => (w.to_string(), Some(o.to_string())),
            _ => {
                self.message = Some("one word, or two to compare them: word [other word]".into());
                return None;
            }
        };
        if let Some(why) = ended {
            self.message = Some(why.to_string());
            return None;
        }
        self.message = None;
        self.query = Some((word, other));
        self.last_sent = None;
        self.request(step)
    }

    fn request(&mut self, step: u64) -> Option<Command> {
        let (word, other) = self.query.clone()?;
        let id = self.next_id;
        self.next_id += 1;
        self.pending = Some((id, step));
        Some(Command::Probe(ProbeRequest::Neighbours {
            id,
            word,
            other,
            k: TOP_K,
        }))
    }

    /// Called on the workbench's ticks while this panel is shown and the run trains:
    /// asks the last question again once [`REFRESH`] has passed since it was last
    /// asked and its answer is in.
    pub fn on_tick(&mut self, now: Instant, step: u64) -> Option<Command> {
        if self.pending.is_some() || self.query.is_none() {
            return None;
        }
        match self.last_sent {
            None => {
                self.last_sent = Some(now);
                None
            }
            Some(t) if now.duration_since(t) >= REFRESH => {
                self.last_sent = Some(now);
                self.request(step)
            }
            Some(_) => None,
        }
    }

    /// Files the answer to the request in flight (older answers are dropped).
    pub fn answer(&mut self, id: u64, latency_ms: f64, result: Result<Neighbours, String>) {
        match self.pending {
            Some((pending, step)) if pending == id => {
                self.pending = None;
                self.answer = Some(Answer {
                    step,
                    latency_ms,
                    result,
                });
            }
            _ => {}
        }
    }
}

/// The panel, drawn from `state` alone.
pub fn draw(frame: &mut Frame, area: Rect, state: &NeighboursState) {
    let [input_area, body] =
        Layout::vertical([Constraint::Length(4), Constraint::Min(0)]).areas(area);
    let hint = match (&state.message, state.focused) {
        (Some(m), _) => Line::styled(escape(m).into_owned(), Style::default().fg(theme::WARN)),
        (None, true) => Line::styled(
            "Enter: nearest tokens by cosine similarity (asked again every 2 s while training)   Esc: leave",
            theme::dim(),
        ),
        (None, false) => Line::styled("i: edit the words", theme::dim()),
    };
    text_box::draw(
        frame,
        input_area,
        &state.input,
        state.focused,
        " Neighbours (word [other word]) ",
        hint,
    );
    let (title, lines) = match &state.answer {
        None if state.pending.is_some() => (
            String::from(" Nearest tokens "),
            vec![Line::styled("waiting for the model...", theme::dim())],
        ),
        None => (
            String::from(" Nearest tokens "),
            vec![Line::styled(
                "no answer yet: type a word (and another to compare it with) and press Enter",
                theme::dim(),
            )],
        ),
        Some(a) => {
            let word = a
                .result
                .as_ref()
                .map_or(String::new(), |r| format!("to \"{}\" ", escape(&r.word)));
            let title = format!(
                " Nearest tokens {word}(step {}, {:.0} ms) ",
                a.step, a.latency_ms
            );
            let lines = match &a.result {
                Ok(r) => answer_lines(r, body.width as usize),
                Err(e) => vec![Line::styled(
                    escape(e).into_owned(),
                    Style::default().fg(theme::ERROR),
                )],
            };
            (title, lines)
        }
    };
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(title)),
        body,
    );
}

/// `similarity` (-1..1) as a bar of `width` cells; below 0 it is empty.
fn bar(similarity: f64, width: usize) -> String {
    let n = (similarity.clamp(0.0, 1.0) * width as f64).round() as usize;
    format!("{}{}", "█".repeat(n), "·".repeat(width - n))
}

fn answer_lines(r: &Neighbours, width: usize) -> Vec<Line<'static>> {
    let bar_width = width.saturating_sub(34).clamp(5, 40);
    let word = escape(&r.word).into_owned();
    let mut lines = Vec::new();
    if r.averaged {
        let pieces: Vec<String> = r.pieces.iter().map(|p| escape(p).into_owned()).collect();
        lines.push(Line::styled(
            format!(
                "\"{word}\" is {} pieces ({}): its vector is the mean of their rows",
                pieces.len(),
                pieces.join(" + ")
            ),
            theme::dim(),
        ));
    }
    lines.push(Line::styled(
        format!("  {:<16} {:>6}", "token", "cosine"),
        theme::title(),
    ));
    if r.neighbours.is_empty() {
        lines.push(Line::styled(
            "(the vocabulary has no other tokens)",
            theme::dim(),
        ));
    }
    for n in &r.neighbours {
        lines.push(Line::raw(format!(
            "  {:<16} {:>6.3} {}",
            escape(&n.token),
            n.similarity,
            bar(n.similarity, bar_width)
        )));
    }
    if let Some(o) = &r.other {
        lines.push(Line::raw(""));
        lines.push(Line::from(vec![
            Span::styled(
                format!("\"{word}\" and \"{}\": ", escape(&o.word)),
                theme::title(),
            ),
            Span::styled(
                format!("{:.3} {}", o.similarity, bar(o.similarity, bar_width)),
                Style::default().fg(theme::OK),
            ),
        ]));
    }
    lines
}

#[cfg(test)]
mod tests {
    use crossterm::event::KeyModifiers;

    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn ask(s: &mut NeighboursState, text: &str, step: u64) -> Option<Command> {
        s.input = Input::new(text.into());
        s.on_key(key(KeyCode::Enter), step, None)
    }

    fn result(word: &str) -> Result<Neighbours, String> {
        Ok(Neighbours {
            word: word.into(),
            pieces: vec![word.into()],
            averaged: false,
            neighbours: Vec::new(),
            other: None,
        })
    }

    #[test]
    fn one_or_two_words_are_asked() {
        let mut s = NeighboursState::new();
        assert_eq!(ask(&mut s, "  ", 0), None);
        assert!(s.message.is_some());
        assert_eq!(ask(&mut s, "a b c", 0), None);
        assert!(s.message.as_deref().unwrap().contains("two"));
        assert_eq!(
            ask(&mut s, " good  great ", 5),
            Some(Command::Probe(ProbeRequest::Neighbours {
                id: 1,
                word: "good".into(),
                other: Some("great".into()),
                k: TOP_K
            }))
        );
        assert!(s.message.is_none() && s.focused);
        assert_eq!(
            ask(&mut s, "good", 6),
            Some(Command::Probe(ProbeRequest::Neighbours {
                id: 2,
                word: "good".into(),
                other: None,
                k: TOP_K
            }))
        );
    }

    #[test]
    fn the_question_is_asked_again_every_two_seconds_once_answered() {
        let mut s = NeighboursState::new();
        let t0 = Instant::now();
        assert_eq!(s.on_tick(t0, 1), None, "nothing asked yet");
        assert!(ask(&mut s, "good", 10).is_some());
        assert_eq!(s.on_tick(t0, 11), None, "waiting for the answer");
        s.answer(1, 4.0, result("good"));
        assert_eq!(s.answer.as_ref().unwrap().step, 10);
        assert_eq!(s.on_tick(t0, 12), None, "the clock starts");
        assert_eq!(s.on_tick(t0 + Duration::from_millis(1500), 13), None);
        let again = s.on_tick(t0 + REFRESH, 14);
        assert!(
            matches!(
                again,
                Some(Command::Probe(ProbeRequest::Neighbours { id: 2, .. }))
            ),
            "{again:?}"
        );
        // A stale answer is dropped; the refreshed one carries its own step.
        s.answer(1, 4.0, result("stale"));
        s.answer(2, 5.0, result("good"));
        assert_eq!(s.answer.as_ref().unwrap().step, 14);
    }

    #[test]
    fn an_ended_run_is_not_asked() {
        let mut s = NeighboursState::new();
        s.input = Input::new("good".into());
        assert_eq!(s.on_key(key(KeyCode::Enter), 9, Some("ended")), None);
        assert_eq!(s.message.as_deref(), Some("ended"));
        assert_eq!(s.on_tick(Instant::now(), 9), None);
    }
}
