//! Documents from the line-based formats: plain text (a document per line), BERT's
//! sentence-per-line text (a blank line between documents) and JSON Lines (a field of
//! each object, by dotted path). CSV and TSV are `super::reader`'s.

use std::io::{BufRead, BufReader, Read};

use anyhow::{bail, Result};

use super::format::{read_error, Compression, Format};
use crate::terminal_text::escape;

/// The one column of the plain-text formats.
pub const TEXT_FIELD: &str = "text";

/// Between the lines of a sentence-per-line document: Unicode's PARAGRAPH SEPARATOR,
/// which cleaning treats as a paragraph break, so each line stays a sentence boundary.
pub const LINE_BREAK: char = '\u{2029}';

/// Reads `input` in `format` (Text, Sentences or Jsonl), handing `each(row, fields)`
/// the text of `columns` for each document (rows counted from 1). Returns the rows.
///
/// Errors: a line that is not UTF-8 or (JSON Lines) not a JSON object or without a
/// requested field, with its line number; a plain-text corpus asked for a second
/// column; a read error (a truncated compressed file) in words.
pub fn for_each_line_record(
    input: Box<dyn Read>,
    format: Format,
    name: &str,
    compression: Compression,
    columns: &[&str],
    mut each: impl FnMut(u64, &[&str]) -> Result<()>,
) -> Result<u64> {
    if format != Format::Jsonl {
        if let Some(extra) = columns.get(1) {
            bail!(
                "corpus {name} is plain text ({}): it has no column `{}`; use a CSV, TSV or JSON Lines corpus for labels",
                format.name(),
                escape(extra)
            );
        }
    }
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let mut line = Vec::new();
    let (mut line_no, mut rows) = (0u64, 0u64);
    let mut document = String::new();
    let mut paths: Vec<Vec<&str>> = columns.iter().map(|c| c.split('.').collect()).collect();
    if format == Format::Jsonl && paths.is_empty() {
        paths.push(vec![TEXT_FIELD]);
    }
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| read_error(name, compression, e))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let Ok(text) = std::str::from_utf8(&line) else {
            bail!("corpus {name}: line {line_no} is not valid UTF-8; re-save the file as UTF-8");
        };
        let text = text.trim_end_matches(['\n', '\r']);
        let text = if line_no == 1 {
            text.trim_start_matches('\u{feff}')
        } else {
            text
        };
        match format {
            Format::Text => {
                if !text.trim().is_empty() {
                    rows += 1;
                    each(rows, &[text])?;
                }
            }
            Format::Sentences => {
                if text.trim().is_empty() {
                    if !document.is_empty() {
                        rows += 1;
                        each(rows, &[&document])?;
                        document.clear();
                    }
                } else {
                    if !document.is_empty() {
                        document.push(LINE_BREAK);
                    }
                    document.push_str(text);
                }
            }
            _ => {
                if text.trim().is_empty() {
                    continue;
                }
                let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
                    anyhow::anyhow!("corpus {name}: line {line_no} is not JSON ({e}); each line of a JSON Lines file holds one object")
                })?;
                let mut fields = Vec::with_capacity(paths.len());
                for (path, column) in paths.iter().zip(columns) {
                    fields.push(field(&value, path).ok_or_else(|| {
                        anyhow::anyhow!(
                            "corpus {name}: line {line_no} has no field `{}`{}; choose one with --text-column (a dotted path for a nested field)",
                            escape(column),
                            listed(&value)
                        )
                    })?);
                }
                let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
                rows += 1;
                each(rows, &refs)?;
            }
        }
    }
    if format == Format::Sentences && !document.is_empty() {
        rows += 1;
        each(rows, &[&document])?;
    }
    Ok(rows)
}

/// The text of the field at `path` of `value`: a string as it is, a number or a
/// boolean as written; None when missing, null, an array or an object.
fn field(value: &serde_json::Value, path: &[&str]) -> Option<String> {
    let mut at = value;
    for key in path {
        at = match at {
            serde_json::Value::Object(map) => map.get(*key)?,
            serde_json::Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    match at {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// ` (fields: a, b.c, ...)` of an object, for messages.
fn listed(value: &serde_json::Value) -> String {
    let names = field_paths(value);
    if names.is_empty() {
        String::new()
    } else {
        format!(
            " (fields: {})",
            names
                .iter()
                .map(|n| escape(n).into_owned())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// The dotted paths of an object's text, number and boolean fields, nested objects
/// included.
fn field_paths(value: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    if let serde_json::Value::Object(map) = value {
        for (key, v) in map {
            match v {
                serde_json::Value::Object(_) => {
                    out.extend(field_paths(v).into_iter().map(|p| format!("{key}.{p}")))
                }
                serde_json::Value::String(_)
                | serde_json::Value::Number(_)
                | serde_json::Value::Bool(_) => out.push(key.clone()),
                _ => {}
            }
        }
    }
    out
}

/// The fields of the first object of a JSON Lines file (nested ones as dotted
/// paths), as the corpus's column names.
///
/// Errors: the first line is not a JSON object, or cannot be read.
pub fn jsonl_fields(
    input: Box<dyn Read>,
    name: &str,
    compression: Compression,
) -> Result<Vec<String>> {
    let mut reader = BufReader::new(input);
    let mut line = String::new();
    let mut line_no = 0;
    loop {
        line.clear();
        if reader
            .read_line(&mut line)
            .map_err(|e| read_error(name, compression, e))?
            == 0
        {
            return Ok(Vec::new());
        }
        line_no += 1;
        if !line.trim().is_empty() {
            break;
        }
    }
    let value: serde_json::Value = serde_json::from_str(line.trim_start_matches('\u{feff}')).map_err(|e| {
        anyhow::anyhow!("corpus {name}: line {line_no} is not JSON ({e}); each line of a JSON Lines file holds one object")
    })?;
    Ok(field_paths(&value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(format: Format, text: &str, columns: &[&str]) -> Result<Vec<Vec<String>>> {
        let mut out = Vec::new();
        for_each_line_record(
            Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
            format,
            "c",
            Compression::None,
            columns,
            |_, f| {
                out.push(f.iter().map(|s| s.to_string()).collect());
                Ok(())
            },
        )?;
        Ok(out)
    }

    #[test]
    fn plain_text_is_a_document_a_line() {
        let docs = read(
            Format::Text,
            "\u{feff}first doc .\r\n\nsecond doc .\n",
            &["text"],
        )
        .unwrap();
        assert_eq!(docs, [["first doc ."], ["second doc ."]]);
        let e = read(Format::Text, "x\n", &["text", "label"])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("plain text (text): it has no column `label`"),
            "{e}"
        );
    }

    #[test]
    fn sentence_per_line_documents_end_at_blank_lines() {
        let docs = read(
            Format::Sentences,
            "a one .\na two .\n\n\nb one .\n",
            &["text"],
        )
        .unwrap();
        assert_eq!(docs, [["a one .\u{2029}a two ."], ["b one ."]]);
    }

    #[test]
    fn json_lines_fields_by_dotted_path_with_errors_naming_the_line() {
        let text = "{\"text\": \"hello\", \"meta\": {\"label\": 1, \"src\": \"x\"}}\n\n{\"text\": \"bye\", \"meta\": {\"label\": 0}}\n";
        let docs = read(Format::Jsonl, text, &["text", "meta.label"]).unwrap();
        assert_eq!(docs, [["hello", "1"], ["bye", "0"]]);
        let e = read(Format::Jsonl, text, &["body"])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 1 has no field `body` (fields: meta.label, meta.src, text)"),
            "{e}"
        );
        let e = read(Format::Jsonl, "{\"text\": \"a\"}\nnot json\n", &["text"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2 is not JSON"), "{e}");
        let fields = jsonl_fields(
            Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
            "c",
            Compression::None,
        )
        .unwrap();
        assert_eq!(fields, ["meta.label", "meta.src", "text"]);
    }
}
