//! Editing keys for the workbench's one-line text boxes (`tui_input::Input`).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_input::{Input, InputRequest};

/// Applies an editing key (a printable character, Backspace, Delete, Left, Right, Home,
/// End) to `input`; whether the key was one. Control characters (from a paste) are
/// refused, since echoing them would reach the terminal.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_edit_and_control_characters_do_not() {
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
