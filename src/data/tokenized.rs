//! A tokenized corpus in one flat id buffer (4 bytes per token) with sentence and
//! document offsets, and its split into training and held-out documents.

use anyhow::{bail, Result};
use rand::seq::SliceRandom;

use crate::tokenizer::WordPieceTokenizer;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenizedCorpus {
    tokens: Vec<u32>,
    /// Start of each sentence in `tokens`, plus one final end offset.
    sentence_starts: Vec<usize>,
    /// First sentence of each document, plus one final end offset.
    doc_starts: Vec<usize>,
}

impl TokenizedCorpus {
    /// Tokenizes documents made of sentences. Sentences that tokenize to nothing are
    /// dropped; so are documents left with no sentence.
    pub fn build(documents: &[Vec<String>], tokenizer: &WordPieceTokenizer) -> Result<Self> {
        let mut corpus = Self {
            sentence_starts: vec![0],
            doc_starts: vec![0],
            ..Self::default()
        };
        for chunk in documents.chunks(512) {
            let texts: Vec<&str> = chunk.iter().flatten().map(String::as_str).collect();
            let mut encoded = tokenizer.encode_batch(texts)?.into_iter();
            for doc in chunk {
                let sentences: Vec<Vec<u32>> = encoded
                    .by_ref()
                    .take(doc.len())
                    .filter(|ids| !ids.is_empty())
                    .collect();
                corpus.push_document(sentences.iter().map(Vec::as_slice));
            }
        }
        Ok(corpus)
    }

    /// Appends a document given as its sentences' ids (empty documents are skipped).
    pub fn push_document<'a>(&mut self, sentences: impl IntoIterator<Item = &'a [u32]>) {
        if self.sentence_starts.is_empty() {
            self.sentence_starts.push(0);
            self.doc_starts.push(0);
        }
        let before = self.sentence_starts.len();
        for s in sentences.into_iter().filter(|s| !s.is_empty()) {
            self.tokens.extend_from_slice(s);
            self.sentence_starts.push(self.tokens.len());
        }
        if self.sentence_starts.len() > before {
            self.doc_starts.push(self.sentence_starts.len() - 1);
        }
    }

    /// Serialises the corpus: counts, then the ids and offsets, little-endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24 + self.tokens.len() * 4);
        for n in [
            self.tokens.len(),
            self.sentence_starts.len(),
            self.doc_starts.len(),
        ] {
            out.extend_from_slice(&(n as u64).to_le_bytes());
        }
        out.extend(self.tokens.iter().flat_map(|t| t.to_le_bytes()));
        for offsets in [&self.sentence_starts, &self.doc_starts] {
            out.extend(offsets.iter().flat_map(|&o| (o as u64).to_le_bytes()));
        }
        out
    }

    /// Reads what [`to_bytes`](Self::to_bytes) wrote, checking that the offsets fit.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let word = |at: usize| -> Result<u64> {
            let b = bytes
                .get(at..at + 8)
                .ok_or_else(|| anyhow::anyhow!("truncated corpus data"))?;
            Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
        };
        let (nt, ns, nd) = (word(0)? as usize, word(8)? as usize, word(16)? as usize);
        let need = 24usize
            .checked_add(nt.saturating_mul(4))
            .and_then(|n| n.checked_add((ns + nd).checked_mul(8)?));
        if need != Some(bytes.len()) {
            bail!("corpus data has the wrong length");
        }
        let tokens = bytes[24..24 + nt * 4]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect();
        let offsets = |from: usize, n: usize| -> Vec<usize> {
            bytes[from..from + n * 8]
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")) as usize)
                .collect()
        };
        let at = 24 + nt * 4;
        let corpus = Self {
            tokens,
            sentence_starts: offsets(at, ns),
            doc_starts: offsets(at + ns * 8, nd),
        };
        let ok = corpus.sentence_starts.windows(2).all(|w| w[0] <= w[1])
            && corpus.sentence_starts.last().is_none_or(|&e| e == nt)
            && corpus.doc_starts.windows(2).all(|w| w[0] <= w[1])
            && corpus.doc_starts.last().is_none_or(|&e| e + 1 == ns.max(1));
        if !ok {
            bail!("corpus data has inconsistent offsets");
        }
        Ok(corpus)
    }

    pub fn num_documents(&self) -> usize {
        self.doc_starts.len().saturating_sub(1)
    }

    pub fn num_sentences(&self) -> usize {
        self.sentence_starts.len().saturating_sub(1)
    }

    pub fn num_tokens(&self) -> usize {
        self.tokens.len()
    }

    /// Every token id, documents and sentences back to back.
    pub fn token_ids(&self) -> &[u32] {
        &self.tokens
    }

    /// Bytes held by the token buffer and offsets.
    pub fn heap_bytes(&self) -> usize {
        self.tokens.capacity() * 4
            + (self.sentence_starts.capacity() + self.doc_starts.capacity()) * 8
    }

    /// Sentences of document `d`, each as token ids.
    pub fn document(&self, d: usize) -> impl ExactSizeIterator<Item = &[u32]> + '_ {
        (self.doc_starts[d]..self.doc_starts[d + 1]).map(move |s| self.sentence(s))
    }

    pub fn document_len(&self, d: usize) -> usize {
        self.doc_starts[d + 1] - self.doc_starts[d]
    }

    fn sentence(&self, s: usize) -> &[u32] {
        &self.tokens[self.sentence_starts[s]..self.sentence_starts[s + 1]]
    }

    /// Splits whole documents into (training, held-out) with a seeded shuffle. Both sides
    /// need at least two documents (NSP draws its random B from another document).
    pub fn split(&self, heldout_fraction: f64, seed: u64) -> Result<(Self, Self)> {
        let n = self.num_documents();
        let held = ((n as f64) * heldout_fraction).round() as usize;
        if held < 2 || n - held < 2 {
            bail!(
                "the corpus has {n} documents: too few for a held-out split of {:.0}% (each side needs at least 2); use a larger corpus or raise data.heldout_fraction",
                heldout_fraction * 100.0
            );
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut super::rng_for(seed, "heldout-split", 0));
        let mut heldout: Vec<usize> = order[..held].to_vec();
        let mut train: Vec<usize> = order[held..].to_vec();
        heldout.sort_unstable();
        train.sort_unstable();
        Ok((self.subset(&train), self.subset(&heldout)))
    }

    fn subset(&self, docs: &[usize]) -> Self {
        let mut out = Self {
            sentence_starts: vec![0],
            doc_starts: vec![0],
            ..Self::default()
        };
        for &d in docs {
            out.push_document(self.document(d));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(docs: usize) -> TokenizedCorpus {
        let mut c = TokenizedCorpus::default();
        for d in 0..docs {
            let sentences: Vec<Vec<u32>> = (0..3)
                .map(|s| vec![10 + d as u32, 100 + s as u32])
                .collect();
            c.push_document(sentences.iter().map(Vec::as_slice));
        }
        c
    }

    #[test]
    fn offsets_address_documents_and_sentences() {
        let c = corpus(4);
        assert_eq!(
            (c.num_documents(), c.num_sentences(), c.num_tokens()),
            (4, 12, 24)
        );
        let doc2: Vec<&[u32]> = c.document(2).collect();
        assert_eq!(doc2, vec![&[12, 100][..], &[12, 101], &[12, 102]]);
    }

    #[test]
    fn split_is_by_document_disjoint_and_seeded() {
        let c = corpus(40);
        let (train, held) = c.split(0.1, 7).unwrap();
        assert_eq!((train.num_documents(), held.num_documents()), (36, 4));
        let first = |c: &TokenizedCorpus| -> Vec<u32> {
            (0..c.num_documents())
                .map(|d| c.document(d).next().unwrap()[0])
                .collect()
        };
        let (t, h) = (first(&train), first(&held));
        assert!(
            h.iter().all(|d| !t.contains(d)),
            "a document is on both sides"
        );
        assert_eq!(c.split(0.1, 7).unwrap().1, held, "same seed, same split");
        assert_ne!(
            first(&c.split(0.1, 8).unwrap().1),
            h,
            "another seed, another split"
        );
    }

    #[test]
    fn bytes_round_trip_and_damage_is_refused() {
        let c = corpus(7);
        let bytes = c.to_bytes();
        assert_eq!(TokenizedCorpus::from_bytes(&bytes).unwrap(), c);
        assert!(TokenizedCorpus::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        let mut bad = bytes.clone();
        let last = bad.len() - 8;
        bad[last] = 0xff; // final document offset
        assert!(TokenizedCorpus::from_bytes(&bad).is_err());
    }

    #[test]
    fn too_small_a_corpus_is_refused() {
        let msg = corpus(10).split(0.05, 1).unwrap_err().to_string();
        assert!(msg.contains("10 documents"), "{msg}");
    }
}
