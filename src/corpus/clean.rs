//! Turning one raw IMDB review (HTML-ish text) into clean plain-text paragraphs.
//!
//! Rules, applied in a single left-to-right pass (so decoded entities are never
//! re-interpreted as markup: `&lt;i&gt;` becomes the literal text `<i>`):
//!
//! * `<br>` in any form (`<br/>`, `<BR />`, `<br    />`, …) ends a paragraph;
//!   several in a row are one boundary because empty paragraphs are dropped.
//! * Any other tag — `<`, an optional `/`, an ASCII letter, then everything up
//!   to the next `>` (with no `<` in between) — is removed. Inline formatting
//!   tags (`<i>`, `<b>`, `<a href=…>`, `<span>`, …) vanish without a trace, so
//!   `<i>Titanic</i>'s` becomes `Titanic's`; every other tag (`<p>`, `<hr>`,
//!   `<div>`, unknown tags, …) is replaced by a space so the words on either
//!   side are never glued together.
//! * A `<` that does not start a tag (`a < b`, `<3`, an unclosed `<b`) is kept.
//! * Entities `&amp; &lt; &gt; &quot; &apos; &nbsp;` and numeric `&#NNN;` /
//!   `&#xHH;` are decoded; unknown or invalid ones (`&foo;`, `&#xZZ;`,
//!   `&#0;`, surrogates, missing `;`) are left untouched.
//! * Each run of Unicode whitespace (including the decoded `&nbsp;`) becomes a
//!   single space, paragraphs are trimmed, and empty paragraphs are dropped.

/// Tags that only change inline formatting; they are removed without leaving
/// a space behind.
const INLINE_TAGS: &[&str] = &[
    "a", "abbr", "b", "big", "cite", "code", "del", "em", "font", "i", "ins", "mark", "q", "s",
    "small", "span", "strike", "strong", "sub", "sup", "tt", "u",
];

/// The longest entity body (between `&` and `;`) we try to decode.
const MAX_ENTITY_LEN: usize = 10;

/// What a recognised tag does to the text.
#[derive(Debug, PartialEq, Eq)]
enum Tag {
    /// `<br>` and friends: a paragraph boundary.
    Break,
    /// Inline formatting: removed without a trace.
    Inline,
    /// Anything else: acts like whitespace.
    Other,
}

/// Cleans one raw review into its non-empty, whitespace-normalised paragraphs.
///
/// See the module documentation for the exact rules.
pub fn clean_document(raw: &str) -> Vec<String> {
    let mut paragraphs = Vec::new();
    let mut current = String::new();
    let mut rest = raw;
    while let Some(c) = rest.chars().next() {
        let consumed = match c {
            '<' => match parse_tag(rest) {
                Some((tag, len)) => {
                    match tag {
                        Tag::Break => flush(&mut current, &mut paragraphs),
                        Tag::Inline => {}
                        Tag::Other => current.push(' '),
                    }
                    len
                }
                None => {
                    current.push('<');
                    1
                }
            },
            // A paragraph separator (how sentence-per-line documents join their lines).
            '\u{2029}' => {
                flush(&mut current, &mut paragraphs);
                c.len_utf8()
            }
            '&' => match parse_entity(rest) {
                Some((decoded, len)) => {
                    current.push(decoded);
                    len
                }
                None => {
                    current.push('&');
                    1
                }
            },
            _ => {
                current.push(c);
                c.len_utf8()
            }
        };
        rest = &rest[consumed..];
    }
    flush(&mut current, &mut paragraphs);
    paragraphs
}

/// Normalises `current` into a paragraph (if non-empty) and clears it.
fn flush(current: &mut String, paragraphs: &mut Vec<String>) {
    let paragraph = current.split_whitespace().collect::<Vec<_>>().join(" ");
    if !paragraph.is_empty() {
        paragraphs.push(paragraph);
    }
    current.clear();
}

/// Parses a tag at the start of `s` (which starts with `<`), returning its
/// kind and its length in bytes, or `None` if `s` does not start with a tag.
fn parse_tag(s: &str) -> Option<(Tag, usize)> {
    let body = s.strip_prefix('<')?;
    let name_start = body.strip_prefix('/').unwrap_or(body);
    if !name_start.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let end = body.find(['<', '>'])?;
    if !body[end..].starts_with('>') {
        return None;
    }
    let name: String = name_start
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let tag = if name == "br" {
        Tag::Break
    } else if INLINE_TAGS.contains(&name.as_str()) {
        Tag::Inline
    } else {
        Tag::Other
    };
    // `<` + body up to and including `>` (both ASCII, one byte each).
    Some((tag, end + 2))
}

/// Parses an entity at the start of `s` (which starts with `&`), returning the
/// decoded character and the entity's length in bytes.
fn parse_entity(s: &str) -> Option<(char, usize)> {
    let body = s.strip_prefix('&')?;
    let (semi, _) = body
        .char_indices()
        .take(MAX_ENTITY_LEN + 1)
        .find(|&(_, c)| c == ';')?;
    let decoded = match &body[..semi] {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        name => decode_numeric(name)?,
    };
    Some((decoded, semi + 2))
}

/// Decodes the body of a numeric entity (`#65` or `#x41`), rejecting anything
/// that is not a valid, non-NUL, non-control (except whitespace) character.
fn decode_numeric(name: &str) -> Option<char> {
    let number = name.strip_prefix('#')?;
    let (digits, radix) = match number.strip_prefix(['x', 'X']) {
        Some(hex) => (hex, 16),
        None => (number, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let c = char::from_u32(u32::from_str_radix(digits, radix).ok()?)?;
    (!c.is_control() || c.is_whitespace()).then_some(c)
}

#[cfg(test)]
mod tests {
    use super::clean_document;

    fn clean(raw: &str) -> Vec<String> {
        clean_document(raw)
    }

    #[test]
    fn plain_text_is_one_paragraph() {
        assert_eq!(clean("A fine film."), ["A fine film."]);
    }

    #[test]
    fn br_variants_split_paragraphs() {
        let raw = "one<br>two<br/>three<BR />four<br    />five<Br\t/>six";
        assert_eq!(clean(raw), ["one", "two", "three", "four", "five", "six"]);
    }

    #[test]
    fn consecutive_breaks_are_one_boundary() {
        assert_eq!(clean("First.<br /><br />Second."), ["First.", "Second."]);
        assert_eq!(
            clean("<br /><br />a<br /> <br />  <br />b<br />"),
            ["a", "b"]
        );
    }

    #[test]
    fn inline_tags_vanish() {
        assert_eq!(
            clean("I loved <i>Titanic</i>'s ending."),
            ["I loved Titanic's ending."]
        );
        assert_eq!(clean("<i>word</i>"), ["word"]);
        assert_eq!(
            clean(r#"see <a href="http://imdb.com/x?a=1&b=2">this</a> page"#),
            ["see this page"]
        );
        assert_eq!(clean("<B>bold</B> <em>move</em>"), ["bold move"]);
    }

    #[test]
    fn block_tags_act_like_whitespace() {
        assert_eq!(clean("end<p>start"), ["end start"]);
        assert_eq!(
            clean("one<hr>two</p>three<div class=\"x\">four"),
            ["one two three four"]
        );
        assert_eq!(clean("<brick>wall"), ["wall"]);
    }

    #[test]
    fn stray_angle_brackets_are_kept() {
        assert_eq!(clean("a < b and c > d"), ["a < b and c > d"]);
        assert_eq!(clean("I <3 this film"), ["I <3 this film"]);
        assert_eq!(clean("unclosed <b tag"), ["unclosed <b tag"]);
        assert_eq!(clean("x <a <i>y</i>"), ["x <a y"]);
        assert_eq!(clean("< / p>"), ["< / p>"]);
    }

    #[test]
    fn named_entities_are_decoded() {
        assert_eq!(
            clean("Tom &amp; Jerry &lt;3 &quot;hi&quot; it&#39;s it&apos;s a&gt;b"),
            ["Tom & Jerry <3 \"hi\" it's it's a>b"]
        );
    }

    #[test]
    fn decoded_entities_are_not_markup() {
        assert_eq!(clean("&lt;i&gt;not a tag&lt;/i&gt;"), ["<i>not a tag</i>"]);
        assert_eq!(clean("&lt;br /&gt;"), ["<br />"]);
        assert_eq!(clean("&amp;amp;"), ["&amp;"]);
    }

    #[test]
    fn numeric_entities_are_decoded() {
        assert_eq!(
            clean("&#65;&#x42;&#X43; caf&#233; &#x1F600;"),
            ["ABC café 😀"]
        );
    }

    #[test]
    fn invalid_entities_are_kept() {
        for raw in [
            "&foo;",
            "&amp",
            "&#;",
            "&#x;",
            "&#xZZ;",
            "&#12a;",
            "&#+65;",
            "&#0;",
            "&#xD800;",
            "&#99999999999;",
            "& amp;",
            "AT&T",
            "&#x110000;",
        ] {
            assert_eq!(clean(raw), [raw], "input {raw:?}");
        }
    }

    #[test]
    fn nbsp_and_unicode_whitespace_are_normalised() {
        assert_eq!(
            clean("  a&nbsp;&nbsp;b \t\n c\u{2003}\u{a0}d  "),
            ["a b c d"]
        );
    }

    #[test]
    fn empty_and_blank_documents_give_no_paragraphs() {
        assert!(clean("").is_empty());
        assert!(clean("   \n\t ").is_empty());
        assert!(clean("<br /><br /><i></i>&nbsp;<p>").is_empty());
    }

    #[test]
    fn non_ascii_text_survives() {
        assert_eq!(
            clean("“Amélie” — 5★ ’twas <b>großartig</b><br />日本語 🎬"),
            ["“Amélie” — 5★ ’twas großartig", "日本語 🎬"]
        );
        assert_eq!(clean("é<é>&é;<"), ["é<é>&é;<"]);
    }
}
