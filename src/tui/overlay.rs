//! The help overlay, the quit popup and a failed run's error, drawn over the current
//! panel.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::keymap::HELP;
use super::theme;

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    cell
}

pub fn help(frame: &mut Frame, area: Rect) {
    let lines: Vec<Line> = HELP
        .iter()
        .map(|b| Line::raw(format!(" {:<18} {}", b.key, b.what)))
        .collect();
    let popup = centered(area, 78, HELP.len() as u16 + 2);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(" Keys ")),
        popup,
    );
}

pub fn quit(frame: &mut Frame, area: Rect) {
    let lines = vec![
        Line::raw(" s / Enter  stop gracefully and save, then quit"),
        Line::raw(" d          quit without saving (saved checkpoints stay)"),
        Line::raw(" c / Esc    cancel"),
    ];
    let popup = centered(area, 62, 5);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Quit? ")
                .title_style(theme::title()),
        ),
        popup,
    );
}

/// A message in a popup titled `title`, wrapped in full; any key closes it.
pub fn note(frame: &mut Frame, area: Rect, title: &str, message: &str) {
    message_popup(
        frame,
        area,
        title,
        theme::title(),
        message,
        "any key closes this",
    );
}

/// A failed run's error, wrapped in full (the status line would cut it).
pub fn failure(frame: &mut Frame, area: Rect, message: &str) {
    message_popup(
        frame,
        area,
        " Training failed ",
        theme::title().fg(theme::ERROR),
        message,
        "any key closes this; q then quits",
    );
}

/// `message` wrapped in full in a centred popup (at most 90 columns), with a dim
/// `footer` line under it.
fn message_popup(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    title_style: Style,
    message: &str,
    footer: &str,
) {
    let width = area.width.saturating_sub(4).clamp(20, 90);
    let text_width = width.saturating_sub(2).max(1) as usize;
    let wrapped_lines = message.chars().count().div_ceil(text_width) as u16 + 1;
    let popup = centered(area, width, wrapped_lines + 4);
    let lines = vec![
        Line::raw(message.to_string()),
        Line::raw(""),
        Line::styled(footer.to_string(), theme::dim()),
    ];
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(title.to_string())
                .title_style(title_style),
        ),
        popup,
    );
}
