//! What the user's terminal can show, from the environment, and the drawn frame
//! adapted to it after the (pure, full-capability) draw functions ran:
//!
//! (Whether a full-screen UI can be drawn at all is [`crate::terminal_kind`]'s.)
//! - `NO_COLOR` set to anything non-empty (no-color.org): no colours; emphasis that a
//!   colour carried becomes an attribute (a key hint's background turns reverse
//!   video, grey text dim).
//! - `TERM=linux` (the Linux console): its 512-glyph font has no Braille patterns nor
//!   the lower eighth blocks, so chart dots become `•` and partial blocks the half
//!   and full blocks it does have.

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

/// What the terminal can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Display {
    pub colour: bool,
    /// Braille dots and eighth blocks (every terminal emulator; not the Linux console).
    pub fine_glyphs: bool,
}

impl Default for Display {
    /// A terminal emulator with colour: what the draw functions are written for.
    fn default() -> Self {
        Self {
            colour: true,
            fine_glyphs: true,
        }
    }
}

impl Display {
    /// From `TERM` and `NO_COLOR` as `var` gives them.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let term = var("TERM").unwrap_or_default();
        Self {
            colour: var("NO_COLOR").is_none_or(|v| v.is_empty()),
            fine_glyphs: term != "linux",
        }
    }

    /// [`from_vars`](Self::from_vars) over this process's environment.
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Rewrites a drawn frame for this terminal (a no-op for the default).
    pub fn adapt(&self, buffer: &mut Buffer) {
        if self.colour && self.fine_glyphs {
            return;
        }
        for cell in buffer.content.iter_mut() {
            if !self.fine_glyphs {
                if let Some(plain) = coarse_glyph(cell.symbol()) {
                    cell.set_symbol(plain);
                }
            }
            if !self.colour {
                let (fg, bg) = (cell.fg, cell.bg);
                if matches!(bg, Color::Reset | Color::Indexed(232..=255)) {
                    // No background, or the heatmap's grey ramp, whose glyphs carry
                    // the level without it.
                    if matches!(fg, Color::DarkGray) {
                        cell.modifier.insert(Modifier::DIM);
                    }
                } else {
                    cell.modifier.insert(Modifier::REVERSED);
                }
                cell.fg = Color::Reset;
                cell.bg = Color::Reset;
            }
        }
    }
}

/// The Linux console's stand-in for a Braille or eighth-block glyph, if `symbol` is
/// one.
fn coarse_glyph(symbol: &str) -> Option<&'static str> {
    let mut chars = symbol.chars();
    let c = chars.next()?;
    if chars.next().is_some() {
        return None;
    }
    Some(match c {
        '\u{2800}' => " ",
        '\u{2801}'..='\u{28ff}' => "•",
        '▁' | '▂' => " ",
        '▃' | '▅' => "▄",
        '▆' | '▇' => "█",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_environment_decides() {
        assert_eq!(
            Display::from_vars(vars(&[("TERM", "xterm-256color")])),
            Display::default()
        );
        assert!(!Display::from_vars(vars(&[("NO_COLOR", "1")])).colour);
        // no-color.org: an empty NO_COLOR does not count.
        assert!(Display::from_vars(vars(&[("NO_COLOR", "")])).colour);
        assert!(!Display::from_vars(vars(&[("TERM", "linux")])).fine_glyphs);
    }

    #[test]
    fn no_colour_keeps_emphasis_as_attributes() {
        let mut buffer = Buffer::empty(Rect::new(0, 0, 4, 1));
        buffer.set_string(0, 0, "k", Style::default().fg(Color::Black).bg(Color::Gray));
        buffer.set_string(1, 0, "d", Style::default().fg(Color::DarkGray));
        buffer.set_string(
            2,
            0,
            "▓",
            Style::default()
                .fg(Color::Indexed(250))
                .bg(Color::Indexed(240)),
        );
        buffer.set_string(3, 0, "c", Style::default().fg(Color::Cyan));
        Display {
            colour: false,
            fine_glyphs: true,
        }
        .adapt(&mut buffer);
        let cells = &buffer.content;
        assert!(cells
            .iter()
            .all(|c| c.fg == Color::Reset && c.bg == Color::Reset));
        assert!(cells[0].modifier.contains(Modifier::REVERSED));
        assert!(cells[1].modifier.contains(Modifier::DIM));
        assert!(cells[2].modifier.is_empty());
        assert_eq!(cells[2].symbol(), "▓");
        assert!(cells[3].modifier.is_empty());
    }

    #[test]
    fn the_linux_console_gets_glyphs_its_font_has() {
        let mut buffer = Buffer::empty(Rect::new(0, 0, 6, 1));
        buffer.set_string(0, 0, "\u{2800}⣿▂▅▇x", Style::default().fg(Color::Cyan));
        Display {
            colour: true,
            fine_glyphs: false,
        }
        .adapt(&mut buffer);
        let text: String = buffer.content.iter().map(|c| c.symbol()).collect();
        assert_eq!(text, " • ▄█x");
        assert_eq!(buffer.content[1].fg, Color::Cyan);
    }
}
