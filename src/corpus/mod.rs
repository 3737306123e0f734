//! From a CSV of raw reviews to documents made of clean sentences.

pub mod clean;
mod columnar;
pub mod fingerprint;
pub mod format;
mod header;
mod lines;
pub mod pipe;
mod reader;
mod records;
mod sample;
pub mod sentences;
pub mod shards;
mod sniff;

pub use reader::{
    column_names, for_each_columns, for_each_text, for_each_text_at, CorpusSource, EMBEDDED_CSV,
    EMBEDDED_WATCH,
};
pub use sample::first_texts;

use anyhow::{bail, Result};

/// Reads the corpus in batches of 4,096 rows, cleaned and sentence-split on all cores,
/// handing each batch's documents (rows with text, in order) to
/// `each(documents, bytes_read)`; returns (rows, rows with no text). The file is read
/// (parsed, decompressed) on a thread of its own while the previous batch is
/// processed; memory holds at most four batches.
///
/// Errors: the corpus cannot be read, or has no text at all; `each`'s.
pub fn stream_documents(
    source: &CorpusSource,
    column: &str,
    mut each: impl FnMut(Vec<Vec<String>>, u64) -> Result<()>,
) -> Result<(u64, u64)> {
    const BATCH: usize = 4096;
    let (mut empty, mut documents) = (0u64, 0u64);
    let (batches, received) = crossbeam_channel::bounded::<(Vec<String>, u64)>(2);
    let (read, handled) = std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut pending: Vec<String> = Vec::with_capacity(BATCH);
            let rows = for_each_text_at(source, column, |_, at, text| {
                pending.push(text.to_string());
                if pending.len() == BATCH
                    && batches.send((std::mem::take(&mut pending), at)).is_err()
                {
                    // The consumer stopped (its error is the one reported).
                    bail!("corpus reading stopped");
                }
                Ok(())
            })?;
            let _ = batches.send((pending, source.size()));
            Ok::<u64, anyhow::Error>(rows)
        });
        let mut handled = Ok(());
        for (texts, at) in received.iter() {
            let docs = split_batch(texts);
            empty += docs.1;
            documents += docs.0.len() as u64;
            handled = each(docs.0, at);
            if handled.is_err() {
                break;
            }
        }
        drop(received);
        let read = reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (read, handled)
    });
    handled?;
    let rows = read?;
    if documents == 0 {
        bail!(
            "corpus {} is empty: no row has text in column `{column}`",
            source.describe()
        );
    }
    Ok((rows, empty))
}

/// The documents of `texts` that have a sentence, and how many had none.
fn split_batch(texts: Vec<String>) -> (Vec<Vec<String>>, u64) {
    let parts = crate::parallel::map_chunks(&texts, |part| {
        part.iter()
            .map(|t| sentences::document_sentences(t))
            .collect::<Vec<_>>()
    });
    let mut out = Vec::with_capacity(texts.len());
    let mut empty = 0;
    for sentences in parts.into_iter().flatten() {
        if sentences.is_empty() {
            empty += 1;
        } else {
            out.push(sentences);
        }
    }
    (out, empty)
}
