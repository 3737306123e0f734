//! The attention panel: a sentence box, the heatmap of one layer's and head's attention
//! with the tokens on both axes, and where each head of that layer looks on average.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;
use tui_input::Input;

use super::{heatmap, text_box, theme};
use crate::probe::{AttentionMap, HeadAttention};
use crate::protocol::{Command, ProbeRequest};
use crate::terminal_text::escape;

/// Rows and columns moved by PgUp/PgDn.
const PAGE: usize = 10;

/// An answer and the model it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// Training step when it was asked.
    pub step: u64,
    pub latency_ms: f64,
    pub result: Result<AttentionMap, String>,
}

#[derive(Debug, Default)]
pub struct AttentionState {
    pub input: Input,
    /// The box holds an offered text that the first typed character replaces.
    offered: bool,
    pub focused: bool,
    next_id: u64,
    /// The request in flight: (id, step when asked).
    pending: Option<(u64, u64)>,
    pub answer: Option<Answer>,
    /// Selected layer and head (0-based).
    pub layer: usize,
    pub head: usize,
    /// First query row and first key column shown.
    pub row: usize,
    pub column: usize,
    pub message: Option<String>,
}

impl AttentionState {
    pub fn new() -> Self {
        Self {
            focused: true,
            next_id: 1,
            ..Self::default()
        }
    }

    /// Puts `text` in the box if it is empty (the Probe panel's last sentence), as an
    /// offer: Enter asks it as it is, an editing or moving key keeps it for editing,
    /// and typing a character replaces it.
    pub fn offer(&mut self, text: &str) {
        if self.input.value().is_empty() && !text.trim().is_empty() {
            self.input = Input::new(text.trim().to_string());
            self.offered = true;
        }
    }

    #[cfg(test)]
    fn is_pending(&self) -> bool {
        self.pending.is_some()
    }

    fn map(&self) -> Option<&AttentionMap> {
        self.answer.as_ref().and_then(|a| a.result.as_ref().ok())
    }

    /// Keys on this panel; returns a command to send, if any. In the box: editing keys,
    /// Enter asks (and leaves the box), Esc leaves it. Outside: `[`/`]` layer,
    /// Left/Right head, Up/Down and PgUp/PgDn rows, `<`/`>` columns, Enter or `i` back
    /// into the box. `ended` is why the model cannot be asked any more, if it cannot.
    pub fn on_key(&mut self, key: KeyEvent, step: u64, ended: Option<&str>) -> Option<Command> {
        let offered = std::mem::take(&mut self.offered);
        let typed = matches!(key.code, KeyCode::Char(_))
            && !key
                .modifiers
                .contains(crossterm::event::KeyModifiers::CONTROL);
        if self.focused && offered && typed {
            self.input = Input::default();
        }
        match key.code {
            KeyCode::Up => self.row = self.row.saturating_sub(1),
            KeyCode::Down => self.row += 1,
            KeyCode::PageUp => self.row = self.row.saturating_sub(PAGE),
            KeyCode::PageDown => self.row += PAGE,
            KeyCode::Enter if self.focused => return self.submit(step, ended),
            KeyCode::Esc if self.focused => self.focused = false,
            _ if self.focused => {
                text_box::edit(&mut self.input, key);
            }
            KeyCode::Enter | KeyCode::Char('i') => self.focused = true,
            KeyCode::Char('[') => self.layer = self.layer.saturating_sub(1),
            KeyCode::Char(']') => self.layer += 1,
            KeyCode::Left => self.head = self.head.saturating_sub(1),
            KeyCode::Right => self.head += 1,
            KeyCode::Char('<') => self.column = self.column.saturating_sub(PAGE),
            KeyCode::Char('>') => self.column += PAGE,
            KeyCode::Home => (self.row, self.column) = (0, 0),
            _ => {}
        }
        self.clamp();
        None
    }

    /// Keeps the selection inside the answer's layers, heads and tokens.
    fn clamp(&mut self) {
        let Some(map) = self.map() else { return };
        let layers = map.layers.len();
        let heads = map.layers.first().map_or(0, Vec::len);
        let tokens = map.tokens.len();
        self.layer = self.layer.min(layers.saturating_sub(1));
        self.head = self.head.min(heads.saturating_sub(1));
        self.row = self.row.min(tokens.saturating_sub(1));
        self.column = self.column.min(tokens.saturating_sub(1));
    }

    fn submit(&mut self, step: u64, ended: Option<&str>) -> Option<Command> {
        let text = self.input.value().trim().to_string();
        if text.is_empty() {
            self.message = Some("type a sentence to see what each head attends to".into());
            return None;
        }
        if let Some(why) = ended {
            self.message = Some(why.to_string());
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.pending = Some((id, step));
        self.message = None;
        self.focused = false;
        Some(Command::Probe(ProbeRequest::Attention { id, text }))
    }

    /// Files the answer to the request in flight (older answers are dropped).
    pub fn answer(&mut self, id: u64, latency_ms: f64, result: Result<AttentionMap, String>) {
        let Some((pending, step)) = self.pending else {
            return;
        };
        if pending != id {
            return;
        }
        self.pending = None;
        self.answer = Some(Answer {
            step,
            latency_ms,
            result,
        });
        (self.row, self.column) = (0, 0);
        self.clamp();
    }
}

/// The panel, drawn from `state` alone.
pub fn draw(frame: &mut Frame, area: Rect, state: &AttentionState) {
    let [input_area, body] =
        Layout::vertical([Constraint::Length(4), Constraint::Min(0)]).areas(area);
    let hint = match (&state.message, state.focused) {
        (Some(m), _) => Line::styled(escape(m).into_owned(), Style::default().fg(theme::WARN)),
        (None, true) => Line::styled(
            "Enter: show the attention of every head for this sentence   Esc: leave the box",
            theme::dim(),
        ),
        (None, false) => Line::styled(
            "[ ]: layer   Left/Right: head   Up/Down PgUp/PgDn: rows   < >: columns   i: edit",
            theme::dim(),
        ),
    };
    text_box::draw(
        frame,
        input_area,
        &state.input,
        state.focused,
        " Attention (one sentence; [CLS] and [SEP] are added) ",
        hint,
    );
    let waiting = state.pending.is_some();
    let map = match &state.answer {
        Some(Answer {
            result: Ok(map), ..
        }) if !map.layers.is_empty() => map,
        other => {
            let line = match (other, waiting) {
                (_, true) => Line::styled("waiting for the model...", theme::dim()),
                (Some(Answer { result: Err(e), .. }), _) => {
                    Line::styled(escape(e).into_owned(), Style::default().fg(theme::ERROR))
                }
                _ => Line::styled(
                    "no attention map yet: type a sentence and press Enter",
                    theme::dim(),
                ),
            };
            frame.render_widget(
                Paragraph::new(line)
                    .wrap(Wrap { trim: false })
                    .block(Block::default().borders(Borders::ALL)),
                body,
            );
            return;
        }
    };
    let answer = state.answer.as_ref().expect("matched above");
    let layer = state.layer.min(map.layers.len() - 1);
    let heads = &map.layers[layer];
    let head = state.head.min(heads.len().saturating_sub(1));
    let table_width = 38;
    let [heat_area, table_area] = if body.width >= 80 {
        Layout::horizontal([Constraint::Min(0), Constraint::Length(table_width)]).areas(body)
    } else {
        Layout::vertical([
            Constraint::Min(0),
            Constraint::Length(heads.len() as u16 + 3),
        ])
        .areas(body)
    };
    let title = format!(
        " Layer {}/{} head {}/{}  (step {}, {:.0} ms{}) ",
        layer + 1,
        map.layers.len(),
        head + 1,
        heads.len(),
        answer.step,
        answer.latency_ms,
        if waiting { ", asking again..." } else { "" }
    );
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner = block.inner(heat_area);
    frame.render_widget(block, heat_area);
    if let Some(h) = heads.get(head) {
        let lines = heatmap::lines(&map.tokens, h, state.row, state.column, inner);
        frame.render_widget(Paragraph::new(lines), inner);
    }
    draw_table(frame, table_area, heads, layer, head);
}

/// Where each head of the layer looks on average (shares in percent).
fn draw_table(frame: &mut Frame, area: Rect, heads: &[HeadAttention], layer: usize, head: usize) {
    let mut lines = vec![Line::styled(
        "head  prev  next  self [CLS] [SEP]",
        theme::title(),
    )];
    for (i, h) in heads.iter().enumerate() {
        let pct = |x: f64| format!("{:>5.0}%", x * 100.0);
        let text = format!(
            "{:>4}{}{}{}{}{}",
            i + 1,
            pct(h.previous),
            pct(h.next),
            pct(h.itself),
            pct(h.cls),
            pct(h.sep)
        );
        let style = if i == head {
            theme::selected()
        } else {
            Style::default()
        };
        lines.push(Line::styled(text, style));
    }
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!(" Layer {}: mean share ", layer + 1)),
        ),
        area,
    );
}

#[cfg(test)]
mod tests {
    use crossterm::event::KeyModifiers;

    use super::*;
    use crate::probe::AttentionMap;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn map(tokens: usize, layers: usize, heads: usize) -> AttentionMap {
        let uniform = vec![vec![1.0 / tokens as f32; tokens]; tokens];
        AttentionMap {
            text: "t".into(),
            tokens: (0..tokens).map(|i| format!("t{i}")).collect(),
            layers: vec![vec![HeadAttention::from_weights(uniform); heads]; layers],
        }
    }

    fn sent(state: &mut AttentionState, text: &str, step: u64) -> Option<Command> {
        state.focused = true;
        state.input = Input::default();
        for c in text.chars() {
            state.on_key(key(KeyCode::Char(c)), step, None);
        }
        state.on_key(key(KeyCode::Enter), step, None)
    }

    #[test]
    fn enter_asks_and_leaves_the_box_for_the_navigation_keys() {
        let mut s = AttentionState::new();
        assert_eq!(s.on_key(key(KeyCode::Enter), 0, None), None);
        assert!(s.message.is_some(), "an empty box says what to type");
        // `[` and `]` are text while typing.
        let command = sent(&mut s, "a [MASK] b", 40);
        assert_eq!(
            command,
            Some(Command::Probe(ProbeRequest::Attention {
                id: 1,
                text: "a [MASK] b".into()
            }))
        );
        assert!(!s.focused && s.is_pending());
        s.answer(1, 5.0, Ok(map(20, 3, 4)));
        assert_eq!(s.answer.as_ref().unwrap().step, 40);
        for (code, layer, head) in [
            (KeyCode::Char(']'), 1, 0),
            (KeyCode::Char(']'), 2, 0),
            (KeyCode::Char(']'), 2, 0),
            (KeyCode::Right, 2, 1),
            (KeyCode::Right, 2, 2),
            (KeyCode::Right, 2, 3),
            (KeyCode::Right, 2, 3),
            (KeyCode::Char('['), 1, 3),
            (KeyCode::Left, 1, 2),
        ] {
            s.on_key(key(code), 41, None);
            assert_eq!((s.layer, s.head), (layer, head), "after {code:?}");
        }
        s.on_key(key(KeyCode::PageDown), 41, None);
        assert_eq!(s.row, 10);
        s.on_key(key(KeyCode::PageDown), 41, None);
        assert_eq!(s.row, 19, "clamped to the last token");
        s.on_key(key(KeyCode::Up), 41, None);
        assert_eq!(s.row, 18);
        s.on_key(key(KeyCode::Char('>')), 41, None);
        assert_eq!(s.column, 10);
        s.on_key(key(KeyCode::Home), 41, None);
        assert_eq!((s.row, s.column), (0, 0));
        s.on_key(key(KeyCode::Char('i')), 41, None);
        assert!(s.focused);
    }

    #[test]
    fn only_the_answer_to_the_last_request_is_kept() {
        let mut s = AttentionState::new();
        sent(&mut s, "first", 1);
        sent(&mut s, "second", 2);
        s.answer(1, 5.0, Ok(map(3, 1, 1)));
        assert!(s.answer.is_none() && s.is_pending());
        s.answer(2, 6.0, Err("too long".into()));
        assert_eq!(s.answer.as_ref().unwrap().result, Err("too long".into()));
        assert!(!s.is_pending());
    }

    #[test]
    fn an_ended_run_is_not_asked() {
        let mut s = AttentionState::new();
        s.input = Input::new("a b".into());
        assert_eq!(s.on_key(key(KeyCode::Enter), 9, Some("ended")), None);
        assert_eq!(s.message.as_deref(), Some("ended"));
    }

    #[test]
    fn typing_replaces_an_offered_text_and_editing_keeps_it() {
        let mut s = AttentionState::new();
        s.offer("this movie was [MASK] .");
        for c in "the acting".chars() {
            s.on_key(key(KeyCode::Char(c)), 1, None);
        }
        assert_eq!(s.input.value(), "the acting");
        let mut s = AttentionState::new();
        s.offer("a fine film");
        s.on_key(key(KeyCode::Backspace), 1, None);
        s.on_key(key(KeyCode::Char('s')), 1, None);
        assert_eq!(s.input.value(), "a fine fils");
        let mut s = AttentionState::new();
        s.offer("a fine film");
        assert!(s.on_key(key(KeyCode::Enter), 1, None).is_some());
    }

    #[test]
    fn the_probe_text_is_offered_only_to_an_empty_box() {
        let mut s = AttentionState::new();
        s.offer("  this movie was [MASK] . ");
        assert_eq!(s.input.value(), "this movie was [MASK] .");
        s.offer("other");
        assert_eq!(s.input.value(), "this movie was [MASK] .");
    }
}
