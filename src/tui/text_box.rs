//! The one-line text box of the inspection panels: its editing keys and its drawing.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;
use tui_input::{Input, InputRequest};

use super::theme;
use crate::terminal_text::escape;

/// Applies an editing key (a printable character, Backspace, Delete, Left, Right, Home,
/// End) to `input`; returns whether the key was one of them. Control characters (a
/// paste could carry them) are refused so they never reach the terminal when echoed.
pub fn edit(input: &mut Input, key: KeyEvent) -> bool {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let request = match key.code {
        KeyCode::Char(c) if !ctrl && !c.is_control() => InputRequest::InsertChar(c),
        KeyCode::Backspace => InputRequest::DeletePrevChar,
        KeyCode::Delete => InputRequest::DeleteNextChar,
        KeyCode::Left => InputRequest::GoToPrevChar,
        KeyCode::Right => InputRequest::GoToNextChar,
        KeyCode::Home => InputRequest::GoToStart,
        KeyCode::End => InputRequest::GoToEnd,
        _ => return false,
    };
    input.handle(request);
    true
}

/// A bordered one-line text box titled `title` with `hint` under the text; the cursor
/// is placed in it when `focused`.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    input: &Input,
    focused: bool,
    title: &str,
    hint: Line<'static>,
) {
    let border = if focused {
        Style::default().fg(theme::MLM)
    } else {
        Style::default()
    };
    let width = area.width.saturating_sub(2) as usize;
    let scroll = input.visual_scroll(width);
    let text = vec![
        Line::raw(escape(&input.value().chars().skip(scroll).collect::<String>()).into_owned()),
        hint,
    ];
    frame.render_widget(
        Paragraph::new(text).block(
            Block::default()
                .borders(Borders::ALL)
                .title(title.to_string())
                .border_style(border),
        ),
        area,
    );
    if focused && area.width > 2 && area.height > 2 {
        let x = area.x + 1 + (input.visual_cursor().saturating_sub(scroll)) as u16;
        frame.set_cursor_position((x.min(area.right().saturating_sub(2)), area.y + 1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editing_keys_edit_and_control_characters_do_not() {
        let mut input = Input::default();
        let key = |code| KeyEvent::new(code, KeyModifiers::NONE);
        for c in "abc".chars() {
            assert!(edit(&mut input, key(KeyCode::Char(c))));
        }
        assert!(edit(&mut input, key(KeyCode::Left)));
        assert!(edit(&mut input, key(KeyCode::Backspace)));
        assert_eq!(input.value(), "ac");
        assert!(!edit(&mut input, key(KeyCode::Char('\u{1b}'))));
        assert_eq!(input.value(), "ac", "ESC is not inserted");
        assert!(!edit(&mut input, key(KeyCode::Enter)));
    }
}
