//! The help overlay, the quit popup and a failed run's error, drawn over the current
//! panel.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::theme;

pub const KEYS: &[(&str, &str)] = &[
    ("Tab / Shift-Tab", "next / previous panel"),
    ("1 .. 8", "the panels, in the order of the tab bar"),
    ("space", "pause / resume training"),
    ("s", "save a checkpoint now"),
    ("f", "fork here: a checkpoint, and a new session from it"),
    ("q", "quit (asks: stop and save / quit unsaved / cancel)"),
    ("Ctrl-C", "stop gracefully, save and quit"),
    (
        "Ctrl-Z",
        "suspend to the shell (training pauses with the process; fg returns)",
    ),
    ("?", "this help (any key closes it)"),
    ("h", "dashboard: whole run / recent window"),
    ("+ / -", "dashboard: more / less smoothing"),
    ("c", "dashboard: overlay other sessions, list differences"),
    ("x", "dashboard: x axis by step / tokens / training time"),
    ("r", "the session's report: charts, report.md, index.html"),
    (
        "Enter / i",
        "probe: focus the text box; Enter runs the probe",
    ),
    ("Up / Down", "probe: earlier probes (Enter re-runs one)"),
    ("Ctrl-T", "probe: fill-mask / sentence-pair mode (A | B)"),
    ("Esc", "leave a text box; cancel an edit"),
    ("Up / Down, j / k", "hyperparameters: select"),
    (
        "Enter / e",
        "hyperparameters: edit, then Enter to queue the change",
    ),
    ("[ / ]", "attention: previous / next layer"),
    (
        "Left / Right",
        "attention: previous / next head (outside the text box)",
    ),
    (
        "Up/Down PgUp/PgDn",
        "attention: scroll rows; < / > scroll columns",
    ),
    (
        "Enter",
        "neighbours: look up \"word [other word]\", then every 2 s",
    ),
    (
        "a / d",
        "watched: pin a probe (TEXT [MASK] | words) / unpin",
    ),
    ("q (finished)", "quit once training has finished"),
];

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
    let lines: Vec<Line> = KEYS
        .iter()
        .map(|(k, what)| Line::raw(format!(" {k:<18} {what}")))
        .collect();
    let popup = centered(area, 78, KEYS.len() as u16 + 2);
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
