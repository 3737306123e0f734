//! The log: warnings, errors, checkpoints and applied changes, with timestamps.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

use super::theme;
use crate::terminal_text::escape;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub time: String,
    pub level: Level,
    pub text: String,
}

#[derive(Debug, Default)]
pub struct LogState {
    pub lines: Vec<LogLine>,
}

impl LogState {
    pub fn push(&mut self, level: Level, text: impl Into<String>) {
        let time = chrono::Local::now().format("%H:%M:%S").to_string();
        self.push_at(time, level, text);
    }

    pub fn push_at(&mut self, time: String, level: Level, text: impl Into<String>) {
        self.lines.push(LogLine {
            time,
            level,
            text: text.into(),
        });
    }
}

pub fn draw(frame: &mut Frame, area: Rect, state: &LogState) {
    let height = area.height.saturating_sub(2) as usize;
    let start = state.lines.len().saturating_sub(height);
    let lines: Vec<Line> = state.lines[start..]
        .iter()
        .map(|l| {
            let (tag, color) = match l.level {
                Level::Info => ("info ", theme::OK),
                Level::Warning => ("warn ", theme::WARN),
                Level::Error => ("error", theme::ERROR),
            };
            Line::from(vec![
                Span::styled(format!("{} ", l.time), theme::dim()),
                Span::styled(format!("{tag} "), Style::default().fg(color)),
                Span::raw(escape(&l.text).into_owned()),
            ])
        })
        .collect();
    let body = if lines.is_empty() {
        vec![Line::styled("nothing logged yet", theme::dim())]
    } else {
        lines
    };
    frame.render_widget(
        Paragraph::new(body)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(" Log ")),
        area,
    );
}
