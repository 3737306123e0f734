//! `report.md`: the [`Document`] as GitHub-flavoured Markdown, charts as images (the
//! SVG, with a link to the PNG). Text from the sessions (probe texts, tokens, names,
//! paths) is escaped so that it reads as written and cannot break a table.

use super::document::{Block, Document, Span, Table};
use crate::terminal_text::escape;

/// `text` as literal Markdown text: control characters written out visibly, the
/// characters Markdown or a table would act on backslash-escaped, and `<`, `>` and `&`
/// as entities (Markdown passes HTML through).
pub fn text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in escape(text).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '!' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// `text` as a code span: fenced with more backticks than it holds in a row, `|`
/// escaped (a table would split on it even in code).
fn code(text: &str) -> String {
    let text = escape(text).replace('|', "\\|");
    let mut run = 0;
    let mut longest = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

fn spans(spans: &[Span]) -> String {
    spans
        .iter()
        .map(|s| match s {
            Span::Plain(t) => text(t),
            Span::Code(t) => code(t),
        })
        .collect()
}

fn table(t: &Table, out: &mut String) {
    let row = |cells: &[String]| {
        let cells: Vec<String> = cells.iter().map(|c| text(c)).collect();
        format!("| {} |\n", cells.join(" | "))
    };
    out.push_str(&row(&t.header));
    out.push_str(&format!("|{}\n", "---|".repeat(t.header.len())));
    for r in &t.rows {
        out.push_str(&row(r));
    }
}

/// The whole file.
pub fn render(doc: &Document) -> String {
    let mut out = format!("# {}\n\n{}\n", text(&doc.title), spans(&doc.intro));
    for section in &doc.sections {
        out.push_str(&format!("\n## {}\n", text(&section.heading)));
        for block in &section.blocks {
            out.push('\n');
            match block {
                Block::Paragraph(p) => {
                    out.push_str(&spans(p));
                    out.push('\n');
                }
                Block::Table(t) => table(t, &mut out),
                Block::Chart { stem, title } => out.push_str(&format!(
                    "![{}]({stem}.svg)\n\n{} as PNG: [{stem}.png]({stem}.png)\n",
                    text(title),
                    text(title),
                )),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_files_cannot_make_markup_or_break_a_table() {
        assert_eq!(
            text("a [MASK] | <b>*x*</b>\u{1b}"),
            "a \\[MASK\\] \\| &lt;b&gt;\\*x\\*&lt;/b&gt;\\\\x1b"
        );
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("x `y` z"), "``x `y` z``");
    }

    #[test]
    fn a_table_has_a_separator_row_of_its_width() {
        let mut out = String::new();
        table(
            &Table {
                header: vec!["key".into(), "value".into()],
                rows: vec![vec!["train.lr".into(), "0.001".into()]],
            },
            &mut out,
        );
        assert_eq!(out, "| key | value |\n|---|---|\n| train.lr | 0.001 |\n");
    }
}
