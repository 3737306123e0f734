//! From a CSV of raw reviews to documents made of clean sentences.

pub mod clean;
mod reader;
pub mod sentences;

pub use reader::{for_each_text, CorpusSource, EMBEDDED_CSV, EMBEDDED_NAME};

use anyhow::{bail, Result};

/// A corpus as text: one entry per document, each a list of sentences.
#[derive(Debug, Default)]
pub struct TextCorpus {
    pub documents: Vec<Vec<String>>,
    /// Rows whose text column was empty after cleaning (skipped).
    pub empty_rows: u64,
    pub rows: u64,
}

/// Reads and sentence-splits every row of the corpus.
pub fn load_text(source: &CorpusSource, column: &str) -> Result<TextCorpus> {
    let mut corpus = TextCorpus::default();
    corpus.rows = for_each_text(source, column, |_, text| {
        let sentences = sentences::document_sentences(text);
        if sentences.is_empty() {
            corpus.empty_rows += 1;
        } else {
            corpus.documents.push(sentences);
        }
        Ok(())
    })?;
    if corpus.documents.is_empty() {
        bail!(
            "corpus {} is empty: no row has text in column `{column}`",
            source.describe()
        );
    }
    Ok(corpus)
}
