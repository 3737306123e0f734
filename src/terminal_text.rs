//! Text from a user's files (column names, reviews, vocabulary tokens, paths) made safe
//! to show on a terminal: control characters are written out visibly instead of being
//! sent raw, so a file cannot move the cursor, recolour or retitle the user's terminal
//! (ESC sequences), erase what was printed (backspace, CR) or ring the bell, and bidi
//! controls are written out too, so a file cannot reorder what the user reads
//! ("Trojan Source", CVE-2021-42574).

use std::borrow::Cow;

/// Whether `c` is a C0 or C1 control character, DEL, or a bidi control.
pub fn is_control(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// The explicit bidirectional formatting characters of Unicode's UAX #9 (embeddings,
/// overrides, isolates and the marks ALM, LRM, RLM): invisible, they reorder the text
/// around them. Right-to-left letters themselves are not controls and are kept.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every control character escaped visibly: `\n`, `\r`, `\t`, `\0` by
/// name, other C0 controls and DEL as `\x1b`, C1 and bidi controls as `\u{9b}`. Text without
/// control characters is returned as it is.
pub fn escape(text: &str) -> Cow<'_, str> {
    escape_except(text, None)
}

/// Like [`escape`] but keeps line breaks (`\n`), for messages of several lines.
pub fn escape_lines(text: &str) -> Cow<'_, str> {
    escape_except(text, Some('\n'))
}

fn escape_except(text: &str, keep: Option<char>) -> Cow<'_, str> {
    if !text.chars().any(|c| is_control(c) && Some(c) != keep) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !is_control(c) || Some(c) == keep {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let s = "café, naïve — 映画 [MASK] ##ing";
        assert!(matches!(escape(s), Cow::Borrowed(t) if t == s));
    }

    #[test]
    fn c0_c1_and_del_are_escaped_visibly() {
        let s = "a\u{1b}[2Jb\u{8}c\0d\u{7f}e\u{9b}31mf\u{85}g\th\r\ni";
        let e = escape(s);
        assert_eq!(
            e,
            "a\\x1b[2Jb\\x08c\\0d\\x7fe\\u{9b}31mf\\u{85}g\\th\\r\\ni"
        );
        assert!(!e.chars().any(is_control));
    }

    #[test]
    fn escape_lines_keeps_line_breaks_only() {
        assert_eq!(
            escape_lines("one\u{1b}]0;title\u{7}\ntwo\r"),
            "one\\x1b]0;title\\x07\ntwo\\r"
        );
    }

    #[test]
    fn bidi_controls_are_escaped_and_right_to_left_text_is_kept() {
        // Trojan Source: an override that would show "access granted" reversed.
        let s = "if admin \u{202e}detnarg ssecca\u{2066} x \u{2069}\u{202c} fi";
        let e = escape(s);
        assert_eq!(
            e,
            "if admin \\u{202e}detnarg ssecca\\u{2066} x \\u{2069}\\u{202c} fi"
        );
        for c in [
            '\u{61c}', '\u{200e}', '\u{200f}', '\u{202a}', '\u{2067}', '\u{2068}',
        ] {
            assert!(is_control(c), "{c:?}");
        }
        // Arabic and Hebrew letters, combining marks, emoji with ZWJ and skin tones:
        // ordinary text.
        let plain = "فيلم رائع סרט טוב e\u{301} 👩\u{200d}💻 👍🏽";
        assert!(matches!(escape(plain), Cow::Borrowed(_)));
    }
}
