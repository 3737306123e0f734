//! The comparison's state in the workbench and its drawing: which sessions are
//! overlaid, on which axis, the session picker (key `c`), and the table of compared
//! sessions that takes the place of the metrics box while any are overlaid.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::theme;
use crate::config::Config;
use crate::curves::compare::{rows, table_lines, Overlay, XAxis};
use crate::curves::history::History;
use crate::terminal_text::escape;

/// The session picker: every other session, overlaid ones marked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Picker {
    pub names: Vec<String>,
    pub cursor: usize,
}

/// What a key in the picker asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Pick {
    Nothing,
    /// Read this session from disk and overlay it.
    Load(String),
    Close,
}

#[derive(Debug, Default)]
pub struct CompareState {
    pub overlays: Vec<Overlay>,
    pub axis: XAxis,
    /// The session the dashboard belongs to (its curves are `App::history`).
    pub main: Option<String>,
    pub main_config: Option<Config>,
    pub main_lineage: Option<String>,
    /// Batch size x sequence length of the main session.
    pub main_tokens_per_step: f64,
    pub picker: Option<Picker>,
}

impl CompareState {
    pub fn main_name(&self) -> &str {
        self.main.as_deref().unwrap_or("this run")
    }

    /// Opens the picker on `names` (the session's own name left out).
    pub fn open_picker(&mut self, mut names: Vec<String>) {
        names.retain(|n| Some(n) != self.main.as_ref());
        self.picker = Some(Picker { names, cursor: 0 });
    }

    pub fn on_picker_key(&mut self, key: KeyEvent) -> Pick {
        let Some(p) = self.picker.as_mut() else {
            return Pick::Close;
        };
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => p.cursor = p.cursor.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => {
                p.cursor = (p.cursor + 1).min(p.names.len().saturating_sub(1))
            }
            KeyCode::Enter | KeyCode::Char(' ') => {
                let Some(name) = p.names.get(p.cursor).cloned() else {
                    return Pick::Nothing;
                };
                if let Some(i) = self.overlays.iter().position(|o| o.name == name) {
                    self.overlays.remove(i);
                } else {
                    return Pick::Load(name);
                }
            }
            KeyCode::Esc | KeyCode::Char('c') | KeyCode::Char('q') => {
                self.picker = None;
                return Pick::Close;
            }
            _ => {}
        }
        Pick::Nothing
    }
}

/// The compared sessions, one line each, in place of the metrics box.
pub fn draw_table(frame: &mut Frame, area: Rect, state: &CompareState, history: &History) {
    let rows = rows(
        (
            state.main_name(),
            state.main_lineage.as_deref(),
            state.main_config.as_ref(),
            history,
        ),
        &state.overlays,
    );
    let lines: Vec<Line> = table_lines(&rows)
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let style = match i {
                0 => theme::dim(),
                1 => ratatui::style::Style::default(),
                n => ratatui::style::Style::default()
                    .fg(theme::OVERLAYS[(n - 2) % theme::OVERLAYS.len()]),
            };
            Line::styled(escape(&l).into_owned(), style)
        })
        .collect();
    let title = format!(
        " compared sessions (x: {} axis; c: choose) ",
        state.axis.label()
    );
    frame.render_widget(
        // Wrapped: the differences can be longer than a line, and none may be lost.
        Paragraph::new(lines)
            .wrap(ratatui::widgets::Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}

/// The picker over the current panel.
pub fn draw_picker(frame: &mut Frame, area: Rect, state: &CompareState) {
    let Some(p) = &state.picker else { return };
    let height = (p.names.len() as u16 + 4).min(area.height);
    let [mid] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(60.min(area.width))])
        .flex(Flex::Center)
        .areas(mid);
    let mut lines: Vec<Line> = Vec::new();
    if p.names.is_empty() {
        lines.push(Line::styled("no other sessions yet", theme::dim()));
    }
    for (i, name) in p.names.iter().enumerate() {
        let on = state.overlays.iter().any(|o| &o.name == name);
        let text = format!("[{}] {}", if on { "x" } else { " " }, escape(name));
        let style = if i == p.cursor {
            theme::selected()
        } else {
            ratatui::style::Style::default()
        };
        lines.push(Line::styled(text, style));
    }
    lines.push(Line::styled(
        "Enter/space: overlay or remove   Esc: close",
        theme::dim(),
    ));
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" overlay sessions on the charts "),
        ),
        popup,
    );
}
