//! A tokenized corpus: a view of documents over a token store (one flat id buffer, 4
//! bytes per token, with sentence and document offsets; on the heap or memory-mapped,
//! see [`super::store`]), and its split into training and held-out documents, which
//! are views of the same store (a list of document indices), not copies.

use std::sync::Arc;

use anyhow::{bail, Result};
use rand::seq::SliceRandom;

use super::store::Store;
use super::store_file::{RowCounts, StoreWriter};
use crate::tokenizer::WordPieceTokenizer;

#[derive(Clone, Default)]
pub struct TokenizedCorpus {
    store: Arc<Store>,
    /// The store's documents that make up this corpus, in order; `None`: all of them.
    docs: Option<Arc<[u32]>>,
    num_tokens: usize,
    num_sentences: usize,
}

impl std::fmt::Debug for TokenizedCorpus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenizedCorpus")
            .field("documents", &self.num_documents())
            .field("sentences", &self.num_sentences)
            .field("tokens", &self.num_tokens)
            .field("mapped", &self.is_mapped())
            .finish()
    }
}

/// Same documents, sentences and ids, wherever they are stored.
impl PartialEq for TokenizedCorpus {
    fn eq(&self, other: &Self) -> bool {
        self.num_documents() == other.num_documents()
            && self.num_tokens == other.num_tokens
            && (0..self.num_documents()).all(|d| self.document(d).eq(other.document(d)))
    }
}

impl TokenizedCorpus {
    /// Tokenizes documents made of sentences, on the heap. Sentences that tokenize to
    /// nothing are dropped; so are documents left with no sentence.
    pub fn build(documents: &[Vec<String>], tokenizer: &WordPieceTokenizer) -> Result<Self> {
        let mut corpus = Self::default();
        encode_documents(documents, tokenizer, |sentences| {
            corpus.push_document(sentences.iter().map(Vec::as_slice));
            Ok(())
        })?;
        Ok(corpus)
    }

    /// Maps the store file `file` (written by [`StoreWriter`]), after checking it.
    ///
    /// Errors: what is wrong with the file (truncated, not a store, inconsistent,
    /// checksum mismatch).
    pub fn map(file: &std::fs::File) -> Result<(Self, RowCounts)> {
        let (store, rows) = super::store_file::open(file)?;
        Ok((Self::of_store(store), rows))
    }

    fn of_store(store: Store) -> Self {
        Self {
            num_tokens: store.tokens().len(),
            num_sentences: store.sentence_starts().len().saturating_sub(1),
            store: Arc::new(store),
            docs: None,
        }
    }

    /// Whether the ids live in a memory-mapped file (not on the heap).
    pub fn is_mapped(&self) -> bool {
        self.store.is_mapped()
    }

    /// Appends a document given as its sentences' ids (empty documents are skipped).
    /// A mapped corpus or a split's side is first copied to the heap.
    pub fn push_document<'a>(&mut self, sentences: impl IntoIterator<Item = &'a [u32]>) {
        if self.docs.is_some() || self.store.is_mapped() || Arc::get_mut(&mut self.store).is_none()
        {
            *self = self.to_heap();
        }
        let Some(Store::Heap {
            tokens,
            sentence_starts,
            doc_starts,
        }) = Arc::get_mut(&mut self.store)
        else {
            unreachable!("to_heap gives an unshared heap store");
        };
        let before = sentence_starts.len();
        for s in sentences.into_iter().filter(|s| !s.is_empty()) {
            tokens.extend_from_slice(s);
            sentence_starts.push(tokens.len() as u64);
        }
        if sentence_starts.len() > before {
            doc_starts.push(sentence_starts.len() as u64 - 1);
        }
        self.num_tokens = tokens.len();
        self.num_sentences = sentence_starts.len() - 1;
    }

    fn to_heap(&self) -> Self {
        let mut out = Self::default();
        for d in 0..self.num_documents() {
            out.push_document(self.document(d));
        }
        out
    }

    /// Writes the corpus as a store file (see [`super::store_file`]).
    pub fn write_store(&self, file: std::fs::File, rows: RowCounts) -> Result<std::fs::File> {
        let mut w = StoreWriter::new(file)?;
        for d in 0..self.num_documents() {
            w.push_document(self.document(d))?;
        }
        w.finish(rows)
    }

    pub fn num_documents(&self) -> usize {
        match &self.docs {
            Some(docs) => docs.len(),
            None => self.store.num_documents(),
        }
    }

    pub fn num_sentences(&self) -> usize {
        self.num_sentences
    }

    pub fn num_tokens(&self) -> usize {
        self.num_tokens
    }

    /// Every token id, documents and sentences back to back.
    pub fn tokens(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.num_documents()).flat_map(|d| self.document_tokens(d).iter().copied())
    }

    /// All of document `d`'s ids (its sentences are contiguous in the store).
    fn document_tokens(&self, d: usize) -> &[u32] {
        let (start, end) = self.document_range(d);
        self.store.span(start, (end - start) as usize)
    }

    /// Store positions `[start, end)` of document `d`'s tokens.
    fn document_range(&self, d: usize) -> (u64, u64) {
        let sentences = self.store.doc_sentences(self.store_doc(d));
        let start = self.store.sentence_range(sentences.start).0;
        (start, self.store.sentence_starts()[sentences.end])
    }

    fn store_doc(&self, d: usize) -> usize {
        match &self.docs {
            Some(docs) => docs[d] as usize,
            None => d,
        }
    }

    /// Sentences of document `d`, each as token ids.
    pub fn document(&self, d: usize) -> impl ExactSizeIterator<Item = &[u32]> + '_ {
        self.sentence_ranges(d)
            .map(move |(start, end)| self.store.span(start, (end - start) as usize))
    }

    /// Store positions `[start, end)` of each sentence of document `d`; see [`span`](Self::span).
    pub fn sentence_ranges(&self, d: usize) -> impl ExactSizeIterator<Item = (u64, u64)> + '_ {
        self.store
            .doc_sentences(self.store_doc(d))
            .map(move |s| self.store.sentence_range(s))
    }

    /// The `len` ids from store position `start` (positions from
    /// [`sentence_ranges`](Self::sentence_ranges)).
    pub fn span(&self, start: u64, len: usize) -> &[u32] {
        self.store.span(start, len)
    }

    pub fn document_len(&self, d: usize) -> usize {
        self.store.doc_sentences(self.store_doc(d)).len()
    }

    /// Splits whole documents into (training, held-out) with a seeded shuffle. Both sides
    /// need at least two documents (NSP draws its random B from another document). Both
    /// are views of this corpus's store: nothing is copied but one index per document.
    pub fn split(&self, heldout_fraction: f64, seed: u64) -> Result<(Self, Self)> {
        let n = self.num_documents();
        let held = ((n as f64) * heldout_fraction).round() as usize;
        if held < 2 || n - held < 2 {
            bail!(
                "the corpus has {n} documents: too few for a held-out split of {:.0}% (each side needs at least 2); use a larger corpus or raise data.heldout_fraction",
                heldout_fraction * 100.0
            );
        }
        if u32::try_from(self.store.num_documents()).is_err() {
            bail!("the corpus has {n} documents, more than bertwork can index (2^32)");
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut super::rng_for(seed, "heldout-split", 0));
        let mut heldout: Vec<usize> = order[..held].to_vec();
        let mut train: Vec<usize> = order[held..].to_vec();
        drop(order);
        heldout.sort_unstable();
        train.sort_unstable();
        Ok((self.subset(&train), self.subset(&heldout)))
    }

    /// Copies among documents, by their token ids (so documents that differ only in
    /// case, accents or spacing, which the tokenizer normalises away, count as copies):
    /// how many of `self`'s documents repeat an earlier one, and how many documents of
    /// `heldout` also occur here. One 64-bit hash per document; a hash collision
    /// (about 1 in 10^10 for a million documents) could only overcount by one.
    pub fn duplicates(&self, heldout: &Self) -> Duplicates {
        let hasher = ahash::RandomState::with_seeds(1, 2, 3, 4);
        let hash = |view: &Self, d: usize| {
            let (start, end) = view.document_range(d);
            hasher.hash_one(view.span(start, (end - start) as usize))
        };
        let mut seen = std::collections::HashSet::with_capacity(self.num_documents());
        let mut copies = 0;
        for d in 0..self.num_documents() {
            if !seen.insert(hash(self, d)) {
                copies += 1;
            }
        }
        let mut held = std::collections::HashSet::new();
        let (mut heldout_copies, mut heldout_in_train) = (0, 0);
        for d in 0..heldout.num_documents() {
            let h = hash(heldout, d);
            if !held.insert(h) {
                heldout_copies += 1;
            }
            if seen.contains(&h) {
                heldout_in_train += 1;
            }
        }
        Duplicates {
            train_copies: copies,
            heldout_copies,
            heldout_in_train,
            heldout_documents: heldout.num_documents(),
        }
    }

    /// This view without the documents whose index in the whole store is in
    /// `store_docs`.
    pub fn excluding(&self, store_docs: &[usize]) -> Self {
        let out: std::collections::HashSet<usize> = store_docs.iter().copied().collect();
        let keep: Vec<usize> = (0..self.num_documents())
            .filter(|&d| !out.contains(&self.store_doc(d)))
            .collect();
        let mut view = self.subset(&[]);
        view.docs = Some(keep.iter().map(|&d| self.store_doc(d) as u32).collect());
        view.recount();
        view
    }

    fn subset(&self, docs: &[usize]) -> Self {
        let docs: Arc<[u32]> = docs.iter().map(|&d| self.store_doc(d) as u32).collect();
        let mut out = Self {
            store: self.store.clone(),
            docs: Some(docs),
            num_tokens: 0,
            num_sentences: 0,
        };
        out.recount();
        out
    }

    fn recount(&mut self) {
        (self.num_tokens, self.num_sentences) = (0, 0);
        for d in 0..self.num_documents() {
            let (start, end) = self.document_range(d);
            self.num_tokens += (end - start) as usize;
            self.num_sentences += self.document_len(d);
        }
    }
}

/// Repeated documents found at preparation ([`TokenizedCorpus::duplicates`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Duplicates {
    /// Training documents that repeat an earlier training document.
    pub train_copies: usize,
    /// Held-out documents that repeat an earlier held-out document.
    pub heldout_copies: usize,
    /// Held-out documents whose exact text is also a training document: the held-out
    /// loss on them measures memory, not generalisation.
    pub heldout_in_train: usize,
    pub heldout_documents: usize,
}

impl Duplicates {
    /// The warning to show, if anything repeats.
    pub fn warning(&self) -> Option<String> {
        if self.train_copies + self.heldout_copies + self.heldout_in_train == 0 {
            return None;
        }
        Some(format!(
            "the corpus repeats documents: {} training and {} held-out documents are copies of others, and {} of the {} held-out documents also occur in training (their held-out loss measures memory, not generalisation); repeated text is a known cause of MLM loss stuck high: deduplicate the corpus",
            self.train_copies, self.heldout_copies, self.heldout_in_train, self.heldout_documents
        ))
    }
}

/// Tokenizes `documents` in chunks of 4,096 and hands each document's non-empty
/// sentences to `each` (possibly none; the store drops empty documents).
///
/// Errors: the tokenizer's, or `each`'s.
pub fn encode_documents(
    documents: &[Vec<String>],
    tokenizer: &WordPieceTokenizer,
    mut each: impl FnMut(&[Vec<u32>]) -> Result<()>,
) -> Result<()> {
    for chunk in documents.chunks(4096) {
        let texts: Vec<&str> = chunk.iter().flatten().map(String::as_str).collect();
        let mut encoded = tokenizer.encode_batch(texts)?.into_iter();
        for doc in chunk {
            let sentences: Vec<Vec<u32>> = encoded
                .by_ref()
                .take(doc.len())
                .filter(|ids| !ids.is_empty())
                .collect();
            each(&sentences)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
