//! The class column of a corpus: detecting it (`data.label_column = auto`), reading the
//! labelled documents, and the checks that make a split possible.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use rand::seq::SliceRandom;

use crate::corpus::{column_names, for_each_columns, CorpusSource};
use crate::terminal_text::escape;

/// Most classes a label column may have.
pub const MAX_CLASSES: usize = 50;
/// Longest label value (characters) auto-detection accepts as a class name.
const MAX_LABEL_CHARS: usize = 40;
/// Rows auto-detection looks at.
const DETECT_ROWS: u64 = 20_000;
/// Column names auto-detection prefers, in order.
const PREFERRED: &[&str] = &[
    "label",
    "labels",
    "sentiment",
    "class",
    "category",
    "target",
];

/// Ends a read early once detection has seen enough rows.
#[derive(Debug)]
struct Enough;

impl std::fmt::Display for Enough {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("enough rows read")
    }
}

impl std::error::Error for Enough {}

/// The labelled documents scored downstream: a seeded sample of at most `max` of the
/// corpus's rows that have both text and a label, in row order.
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    pub column: String,
    /// Class names (escaped for the terminal), most frequent first.
    pub classes: Vec<String>,
    /// Labelled rows of the whole corpus per class (same order as `classes`).
    pub counts: Vec<usize>,
    /// Corpus row numbers (1-based, as error messages count them) of the sample.
    pub rows: Vec<u64>,
    /// Class index of each sampled row.
    pub labels: Vec<usize>,
    /// Raw text of each sampled row.
    pub texts: Vec<String>,
}

/// The label column `setting` names: `none` gives None, `auto` the detected column (None
/// when no column looks like classes), any other value that column.
///
/// Errors: the corpus cannot be read.
pub fn resolve_column(
    source: &CorpusSource,
    text_column: &str,
    setting: &str,
) -> Result<Option<String>> {
    match setting {
        "none" => Ok(None),
        "auto" => detect(source, text_column),
        name => Ok(Some(name.to_string())),
    }
}

/// The first column besides the text that holds 2 to [`MAX_CLASSES`] short distinct
/// values on most of the first rows, preferring the usual names (`label`, `sentiment`,
/// ...).
fn detect(source: &CorpusSource, text_column: &str) -> Result<Option<String>> {
    let names = column_names(source)?;
    let candidates: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| *n != text_column && !n.is_empty())
        .filter(|n| names.iter().filter(|m| m == n).count() == 1)
        .collect();
    if candidates.is_empty() {
        return Ok(None);
    }
    let mut seen: Vec<BTreeMap<String, usize>> = vec![BTreeMap::new(); candidates.len()];
    let mut usable = vec![true; candidates.len()];
    let mut rows = 0u64;
    let read = for_each_columns(source, &candidates, |row, fields| {
        rows = row;
        for (i, value) in fields.iter().enumerate() {
            let value = value.trim();
            if !usable[i] || value.is_empty() {
                continue;
            }
            if value.chars().count() > MAX_LABEL_CHARS {
                usable[i] = false;
                continue;
            }
            *seen[i].entry(value.to_string()).or_default() += 1;
            if seen[i].len() > MAX_CLASSES {
                usable[i] = false;
            }
        }
        if row >= DETECT_ROWS {
            return Err(Enough.into());
        }
        Ok(())
    });
    if let Err(e) = read {
        if e.downcast_ref::<Enough>().is_none() {
            return Err(e);
        }
    }
    let fits = |i: usize| {
        let filled: usize = seen[i].values().sum();
        usable[i]
            && seen[i].len() >= 2
            && filled as u64 * 2 >= rows
            && seen[i].values().all(|&c| c >= 2)
    };
    let by_name = PREFERRED.iter().find_map(|p| {
        (0..candidates.len()).find(|&i| candidates[i].eq_ignore_ascii_case(p) && fits(i))
    });
    let chosen = by_name.or_else(|| (0..candidates.len()).find(|&i| fits(i)));
    Ok(chosen.map(|i| candidates[i].to_string()))
}

/// Reads the rows of `column` that have text and a label, checks that they can be split
/// into `folds` stratified folds, and keeps a sample of at most `max` of them (seeded).
///
/// Errors: the column does not exist; it has more than [`MAX_CLASSES`] values or only
/// one; a class has fewer than `folds` documents.
pub fn read_labelled(
    source: &CorpusSource,
    text_column: &str,
    column: &str,
    folds: usize,
    max: usize,
    seed: u64,
) -> Result<Labelled> {
    let shown = escape(column).into_owned();
    if column == text_column {
        bail!(
            "data.label_column `{shown}` is the text column; name the column that holds the classes, or use --label-column none"
        );
    }
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut names: Vec<String> = Vec::new();
    let mut rows: Vec<(u64, usize)> = Vec::new();
    for_each_columns(source, &[text_column, column], |row, fields| {
        let (text, label) = (fields[0], fields[1].trim());
        if label.is_empty() || text.trim().is_empty() {
            return Ok(());
        }
        let next = names.len();
        let class = *index.entry(label.to_string()).or_insert(next);
        if class == next {
            if next == MAX_CLASSES {
                bail!(
                    "column `{shown}` has more than {MAX_CLASSES} distinct values, too many to be classes; choose the class column with --label-column NAME, or turn the downstream probe off with --label-column none"
                );
            }
            names.push(escape(label).into_owned());
        }
        rows.push((row, class));
        Ok(())
    })?;
    let mut counts = vec![0usize; names.len()];
    for &(_, c) in &rows {
        counts[c] += 1;
    }
    if names.len() < 2 {
        bail!(
            "column `{shown}` has {} class{}: the downstream probe needs at least 2; choose another column with --label-column NAME, or turn it off with --label-column none",
            names.len(),
            if names.len() == 1 { "" } else { "es" }
        );
    }
    if let Some(c) = (0..names.len()).find(|&c| counts[c] < folds) {
        bail!(
            "class `{}` of column `{shown}` has {} labelled document{}: a {folds}-fold split needs at least {folds} per class; label more documents, or turn the downstream probe off with --label-column none",
            names[c],
            counts[c],
            if counts[c] == 1 { "" } else { "s" }
        );
    }
    if rows.len() > max {
        rows.shuffle(&mut crate::data::rng_for(seed, "downstream-sample", 0));
        rows.truncate(max);
        rows.sort_unstable();
    }
    // Most frequent class first (ties: first seen), for stable display and ids.
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by_key(|&c| std::cmp::Reverse(counts[c]));
    let mut rank = vec![0; names.len()];
    for (r, &c) in order.iter().enumerate() {
        rank[c] = r;
    }
    let wanted: std::collections::HashSet<u64> = rows.iter().map(|r| r.0).collect();
    let mut texts = Vec::with_capacity(rows.len());
    for_each_columns(source, &[text_column], |row, fields| {
        if wanted.contains(&row) {
            texts.push(fields[0].to_string());
        }
        Ok(())
    })?;
    Ok(Labelled {
        column: column.to_string(),
        classes: order.iter().map(|&c| names[c].clone()).collect(),
        counts: order.iter().map(|&c| counts[c]).collect(),
        rows: rows.iter().map(|r| r.0).collect(),
        labels: rows.iter().map(|r| rank[r.1]).collect(),
        texts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv_file(text: &str) -> (tempfile::TempDir, CorpusSource) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.csv");
        std::fs::write(&path, text).unwrap();
        (dir, CorpusSource::File(path, None))
    }

    #[test]
    fn the_embedded_sample_has_sentiment_with_1000_each() {
        let source = CorpusSource::Embedded;
        let column = resolve_column(&source, "review", "auto").unwrap();
        assert_eq!(column.as_deref(), Some("sentiment"));
        let l = read_labelled(&source, "review", "sentiment", 5, 2000, 42).unwrap();
        assert_eq!(l.counts, vec![1000, 1000]);
        assert_eq!(l.rows.len(), 2000);
        assert_eq!(l.texts.len(), 2000);
        let mut sorted = l.classes.clone();
        sorted.sort();
        assert_eq!(sorted, vec!["negative", "positive"]);
        // A sample keeps the first row's text with its label.
        assert!(l.rows.windows(2).all(|w| w[0] < w[1]));
        let small = read_labelled(&source, "review", "sentiment", 5, 300, 42).unwrap();
        assert_eq!(small.rows.len(), 300);
        assert_eq!(small.counts, vec![1000, 1000]);
    }

    #[test]
    fn detection_prefers_known_names_and_skips_ids_and_free_text() {
        let mut text = String::from("id,text,note,label\n");
        for i in 0..40 {
            text.push_str(&format!(
                "{i},doc {i},free text {i},{}\n",
                ["a", "b"][i % 2]
            ));
        }
        let (_d, source) = csv_file(&text);
        let found = resolve_column(&source, "text", "auto").unwrap();
        assert_eq!(found.as_deref(), Some("label"));
        let (_d, source) = csv_file("text,id\nx,1\ny,2\nz,3\n");
        assert_eq!(resolve_column(&source, "text", "auto").unwrap(), None);
        assert_eq!(resolve_column(&source, "text", "none").unwrap(), None);
    }

    #[test]
    fn bad_label_columns_get_one_line_each() {
        let mut many = String::from("text,label\n");
        for i in 0..200 {
            many.push_str(&format!("doc {i},v{i}\n"));
        }
        let (_d, source) = csv_file(&many);
        let e = read_labelled(&source, "text", "label", 5, 2000, 1).unwrap_err();
        assert!(
            e.to_string().contains("more than 50 distinct values"),
            "{e}"
        );
        let (_d, source) = csv_file("text,label\na,x\nb,x\nc,x\n");
        let e = read_labelled(&source, "text", "label", 5, 2000, 1).unwrap_err();
        assert!(e.to_string().contains("has 1 class:"), "{e}");
        let (_d, source) = csv_file("text,label\na,x\nb,y\nc,x\nd,x\ne,x\nf,x\n");
        let e = read_labelled(&source, "text", "label", 5, 2000, 1).unwrap_err();
        assert!(
            e.to_string()
                .contains("class `y` of column `label` has 1 labelled document:"),
            "{e}"
        );
        let e = read_labelled(&source, "text", "nope", 5, 2000, 1).unwrap_err();
        assert!(e.to_string().contains("has no column `nope`"), "{e}");
    }

    #[test]
    fn rows_without_a_label_are_allowed_and_skipped() {
        let mut text = String::from("text,label\n");
        for i in 0..30 {
            let label = match i % 3 {
                0 => "",
                1 => "p",
                _ => "n",
            };
            text.push_str(&format!("doc {i},{label}\n"));
        }
        let (_d, source) = csv_file(&text);
        let l = read_labelled(&source, "text", "label", 5, 2000, 1).unwrap();
        assert_eq!(l.rows.len(), 20);
        assert_eq!(l.counts, vec![10, 10]);
        assert!(l.rows.iter().all(|r| (r - 1) % 3 != 0));
        assert_eq!(l.texts[0], "doc 1");
    }
}
