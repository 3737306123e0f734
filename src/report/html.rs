//! `index.html`: the [`Document`] as one static page that shows the SVG charts (each
//! linked to its PNG) and the tables. No scripts, no network, its style inline. Text
//! from the sessions is escaped as HTML.

use super::chart::{HEIGHT, WIDTH};
use super::document::{Block, Document, Span, Table};
use crate::terminal_text::escape;

/// The `generator` of every page the report writes: how a folder is recognised as a
/// report (which a new report may replace).
pub const GENERATOR: &str = "bertwork report";

/// `text` as HTML text or attribute value: control characters written out visibly,
/// `& < > " '` as entities.
pub fn text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in escape(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn spans(spans: &[Span]) -> String {
    spans
        .iter()
        .map(|s| match s {
            Span::Plain(t) => text(t),
            Span::Code(t) => format!("<code>{}</code>", text(t)),
        })
        .collect()
}

fn table(t: &Table, out: &mut String) {
    out.push_str("<table>\n<thead><tr>");
    for h in &t.header {
        out.push_str(&format!("<th>{}</th>", text(h)));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for r in &t.rows {
        out.push_str("<tr>");
        for c in r {
            out.push_str(&format!("<td>{}</td>", text(c)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em auto;max-width:1240px;padding:0 1em;color:#222;line-height:1.45}\
table{border-collapse:collapse;margin:1em 0}\
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}\
th{background:#f3f3f3}\
figure{margin:1.5em 0}\
img{max-width:100%;height:auto;border:1px solid #ddd}\
code{background:#f3f3f3;padding:0 .2em}";

/// The whole page.
pub fn render(doc: &Document) -> String {
    let title = text(&doc.title);
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"generator\" content=\"{GENERATOR}\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n<p>{}</p>\n",
        spans(&doc.intro)
    );
    for section in &doc.sections {
        out.push_str(&format!("<h2>{}</h2>\n", text(&section.heading)));
        for block in &section.blocks {
            match block {
                Block::Paragraph(p) => out.push_str(&format!("<p>{}</p>\n", spans(p))),
                Block::Table(t) => table(t, &mut out),
                Block::Chart { stem, title } => {
                    let title = text(title);
                    out.push_str(&format!(
                        "<figure>\n<img src=\"{stem}.svg\" alt=\"{title}\" width=\"{WIDTH}\" height=\"{HEIGHT}\">\n<figcaption>{title} (<a href=\"{stem}.png\">PNG</a>, <a href=\"{stem}.svg\">SVG</a>)</figcaption>\n</figure>\n"
                    ));
                }
            }
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// Whether `page` is an `index.html` the report wrote.
pub fn is_report_page(page: &str) -> bool {
    page.contains(&format!(
        "<meta name=\"generator\" content=\"{GENERATOR}\">"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_files_is_escaped() {
        assert_eq!(
            text("<script>alert('x')</script> & \u{202e}"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; \\u{202e}"
        );
    }
}
