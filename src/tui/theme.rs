//! Colours and styles in one place.

use ratatui::style::{Color, Modifier, Style};

pub const RAW: Color = Color::DarkGray;
pub const MLM: Color = Color::Cyan;
pub const NSP: Color = Color::Magenta;
pub const EVAL: Color = Color::Yellow;
pub const MARKER: Color = Color::Green;
/// The context-onset marker.
pub const ONSET: Color = Color::Magenta;
/// The no-context floor on the MLM chart.
pub const FLOOR: Color = Color::LightBlue;
pub const OK: Color = Color::Green;
pub const WARN: Color = Color::Yellow;
pub const ERROR: Color = Color::Red;

pub fn title() -> Style {
    Style::default().add_modifier(Modifier::BOLD)
}

pub fn key() -> Style {
    Style::default().fg(Color::Black).bg(Color::Gray)
}

pub fn dim() -> Style {
    Style::default().fg(Color::DarkGray)
}

pub fn selected() -> Style {
    Style::default().add_modifier(Modifier::REVERSED)
}

/// Line colours for several series on one chart (watched tokens, compared sessions).
pub const SERIES: [Color; 8] = [
    Color::Cyan,
    Color::Yellow,
    Color::Magenta,
    Color::Green,
    Color::LightRed,
    Color::LightBlue,
    Color::White,
    Color::LightGreen,
];

/// Line colours of compared sessions (none is the current session's MLM/NSP colour).
pub const OVERLAYS: [Color; 5] = [
    Color::LightRed,
    Color::LightGreen,
    Color::LightBlue,
    Color::White,
    Color::LightYellow,
];
