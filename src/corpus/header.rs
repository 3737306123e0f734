//! The header row: which column holds the text, with errors for a header that is not
//! UTF-8, a column that is missing (and a near miss that looks like it), or a text
//! column that appears twice.

use anyhow::{bail, Result};

use crate::terminal_text::escape;

/// Index of `column` among the header's fields.
///
/// Duplicates of *other* columns are accepted silently: only the text column is read,
/// so they cannot change what is trained on.
pub fn text_column(name: &str, headers: &csv::ByteRecord, column: &str) -> Result<usize> {
    let mut names = Vec::with_capacity(headers.len());
    for (i, h) in headers.iter().enumerate() {
        let Ok(h) = std::str::from_utf8(h) else {
            bail!(
                "corpus {name}: the header row is not valid UTF-8 (column {}); re-save the file as UTF-8",
                i + 1
            );
        };
        names.push(h.trim_start_matches('\u{feff}'));
    }
    if names.is_empty() || names.iter().all(|n| n.is_empty()) {
        bail!(
            "corpus {name} is empty: it has no header row; expected a CSV with a `{column}` column"
        );
    }
    let found: Vec<usize> = (0..names.len()).filter(|&i| names[i] == column).collect();
    match found[..] {
        [index] => Ok(index),
        [] => {
            let near = names
                .iter()
                .find(|n| n.trim().eq_ignore_ascii_case(column.trim()))
                .map(|n| format!(" (`{}` differs only in case or spaces)", escape(n)))
                .unwrap_or_default();
            bail!(
                "corpus {name} has no column `{column}`{near}; columns found: {}; choose one with --text-column",
                names.iter().map(|n| escape(n)).collect::<Vec<_>>().join(", ")
            )
        }
        _ => bail!(
            "corpus {name} has the column `{column}` {} times (columns {}); rename or remove the duplicates so it is clear which one holds the text",
            found.len(),
            found
                .iter()
                .map(|i| (i + 1).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(fields: &[&[u8]]) -> csv::ByteRecord {
        csv::ByteRecord::from(fields.to_vec())
    }

    fn err(fields: &[&[u8]], column: &str) -> String {
        text_column("c.csv", &header(fields), column)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn finds_the_column_behind_a_bom_and_beside_duplicates_of_others() {
        let h = header(&[b"\xef\xbb\xbfid", b"review", b"id"]);
        assert_eq!(text_column("c.csv", &h, "review").unwrap(), 1);
        let h = header(&["\u{feff}review".as_bytes(), b"x"]);
        assert_eq!(text_column("c.csv", &h, "review").unwrap(), 0);
    }

    #[test]
    fn a_duplicated_text_column_is_an_error_naming_it() {
        let e = err(&[b"review", b"sentiment", b"review"], "review");
        assert!(
            e.contains("has the column `review` 2 times (columns 1, 3)"),
            "{e}"
        );
    }

    #[test]
    fn missing_column_lists_escaped_names_and_near_misses() {
        let e = err(&[b"Review ", b"sen\x1b[31mtiment"], "review");
        assert!(
            e.contains("no column `review` (`Review ` differs only in case or spaces)"),
            "{e}"
        );
        assert!(
            e.contains("columns found: Review , sen\\x1b[31mtiment;"),
            "{e}"
        );
        assert!(!e.contains('\u{1b}'));
    }

    #[test]
    fn a_header_that_is_not_utf8_says_so() {
        let e = err(&[b"review", b"caf\xe9"], "review");
        assert!(
            e.contains("header row is not valid UTF-8 (column 2)"),
            "{e}"
        );
    }
}
