//! From a CSV of raw reviews to documents made of clean sentences.

pub mod clean;
pub mod fingerprint;
mod header;
mod lines;
mod reader;
pub mod sentences;
mod sniff;

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

/// Reads and sentence-splits every row of the corpus. Rows are cleaned and split in
/// batches on all cores; documents keep the order of their rows.
pub fn load_text(source: &CorpusSource, column: &str) -> Result<TextCorpus> {
    const BATCH: usize = 4096;
    let mut corpus = TextCorpus::default();
    let mut pending: Vec<String> = Vec::with_capacity(BATCH);
    corpus.rows = for_each_text(source, column, |_, text| {
        pending.push(text.to_string());
        if pending.len() == BATCH {
            split_batch(&mut corpus, std::mem::take(&mut pending));
        }
        Ok(())
    })?;
    split_batch(&mut corpus, pending);
    if corpus.documents.is_empty() {
        bail!(
            "corpus {} is empty: no row has text in column `{column}`",
            source.describe()
        );
    }
    Ok(corpus)
}

fn split_batch(corpus: &mut TextCorpus, texts: Vec<String>) {
    let parts = crate::parallel::map_chunks(&texts, |part| {
        part.iter()
            .map(|t| sentences::document_sentences(t))
            .collect::<Vec<_>>()
    });
    for sentences in parts.into_iter().flatten() {
        if sentences.is_empty() {
            corpus.empty_rows += 1;
        } else {
            corpus.documents.push(sentences);
        }
    }
}
