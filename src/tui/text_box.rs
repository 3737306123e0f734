//! The one-line text box of the inspection panels: its editing keys and its drawing.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;
use tui_input::{Input, InputRequest};
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

use super::theme;
use crate::terminal_text::escape;

/// Applies an editing key (a printable character, Backspace, Delete, Left, Right, Home,
/// End) to `input`; returns whether the key was one of them. Control characters (a
/// paste could carry them) are refused so they never reach the terminal when echoed.
/// Moves and deletions go by grapheme cluster (what a reader sees as one character:
/// a letter with combining marks, an emoji with its skin tone or ZWJ sequence), which
/// tui-input, working by `char`, does not.
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
    // How many chars the key spans: the whole cluster before or after the cursor.
    let at = cursor_byte(input);
    let value = input.value();
    let chars = match request {
        InputRequest::DeletePrevChar | InputRequest::GoToPrevChar => value[..at]
            .graphemes(true)
            .next_back()
            .map_or(1, |g| g.chars().count()),
        InputRequest::DeleteNextChar | InputRequest::GoToNextChar => value[at..]
            .graphemes(true)
            .next()
            .map_or(1, |g| g.chars().count()),
        _ => 1,
    };
    for _ in 0..chars {
        input.handle(request);
    }
    true
}

/// The byte offset of `input`'s cursor (tui-input counts it in chars).
fn cursor_byte(input: &Input) -> usize {
    let value = input.value();
    value
        .char_indices()
        .nth(input.cursor())
        .map_or(value.len(), |(i, _)| i)
}

/// What the box shows of `value` with the cursor at byte `cursor` in a box `width`
/// columns wide: the visible text (user text escaped, `crate::terminal_text`) and the
/// cursor's column in it. Scrolls by whole grapheme clusters so the cursor stays in
/// view; widths are unicode-width's, as ratatui lays the text out.
fn visible(value: &str, cursor: usize, width: usize) -> (String, usize) {
    let before: Vec<String> = value[..cursor]
        .graphemes(true)
        .map(|g| escape(g).into_owned())
        .collect();
    let after = escape(&value[cursor..]).into_owned();
    let mut column: usize = before.iter().map(|g| g.width()).sum();
    let mut skip = 0;
    while column >= width.max(1) && skip < before.len() {
        column -= before[skip].width();
        skip += 1;
    }
    (before[skip..].concat() + &after, column)
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
    let (shown, column) = visible(input.value(), cursor_byte(input), width);
    let text = vec![Line::raw(shown), hint];
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
        let x = area.x + 1 + column as u16;
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

    fn typed(text: &str) -> Input {
        let mut input = Input::default();
        for c in text.chars() {
            edit(
                &mut input,
                KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE),
            );
        }
        input
    }

    #[test]
    fn backspace_and_arrows_take_whole_grapheme_clusters() {
        let key = |code| KeyEvent::new(code, KeyModifiers::NONE);
        // A letter with a combining accent, an emoji with a skin tone, a ZWJ sequence.
        for cluster in ["e\u{301}", "👍🏽", "👩\u{200d}💻", "🇫🇷"] {
            let mut input = typed(&format!("a{cluster}"));
            edit(&mut input, key(KeyCode::Backspace));
            assert_eq!(input.value(), "a", "{cluster:?}");
            let mut input = typed(&format!("{cluster}b"));
            edit(&mut input, key(KeyCode::Home));
            edit(&mut input, key(KeyCode::Right));
            assert_eq!(cursor_byte(&input), cluster.len(), "{cluster:?}");
            edit(&mut input, key(KeyCode::Left));
            edit(&mut input, key(KeyCode::Delete));
            assert_eq!(input.value(), "b", "{cluster:?}");
        }
        // Right-to-left letters are ordinary characters, one at a time.
        let mut input = typed("فيلم");
        edit(&mut input, key(KeyCode::Backspace));
        assert_eq!(input.value(), "فيل");
    }

    #[test]
    fn the_cursor_sits_after_what_is_shown_before_it() {
        // Wide characters count two columns, escaped controls their escape's width.
        assert_eq!(visible("映画 a", 7, 20), ("映画 a".to_string(), 5));
        let rlo = "x\u{202e}y";
        let (shown, column) = visible(rlo, rlo.len(), 20);
        assert_eq!(shown, "x\\u{202e}y");
        assert_eq!(column, shown.width());
        // Scrolling keeps the cursor inside a narrow box, by whole clusters.
        let text = "映画映画映画映画";
        let (shown, column) = visible(text, text.len(), 5);
        assert!(column < 5, "{column}");
        assert!(text.ends_with(&shown), "{shown}");
    }
}
