//! NSP pairs as in Google's `create_instances_from_document`: sentences are packed into
//! chunks up to a target length (shorter with `short_seq_prob`), split at a random
//! point into A and B; half the time B is replaced by text from another document.
//! Layout: `[CLS] A [SEP] B [SEP]`, segment 0 through the first `[SEP]`.

use std::sync::Arc;

use rand::seq::SliceRandom;
use rand::Rng;

use super::TokenizedCorpus;
use crate::tokenizer::SpecialIds;

/// One NSP example before masking, with its ids: `[CLS] A [SEP] B [SEP]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// `[CLS] A [SEP] B [SEP]`.
    pub ids: Vec<u32>,
    /// Tokens in segment 0: `[CLS]`, A and the first `[SEP]`.
    pub segment_a_len: usize,
    /// NSP label 1: B comes from another document (0 = IsNext).
    pub random_next: bool,
}

/// One NSP example as where its A and B are in the corpus's token store (32 bytes,
/// whatever its length); [`PairSpan::example`] reads the ids when a batch is collated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairSpan {
    a_start: u64,
    b_start: u64,
    a_len: u32,
    b_len: u32,
    /// NSP label 1: B comes from another document (0 = IsNext).
    pub random_next: bool,
}

impl PairSpan {
    /// The example's ids, read from `corpus` (the corpus, or a split side of the
    /// corpus, the span was made from).
    pub fn example(&self, corpus: &TokenizedCorpus, s: SpecialIds) -> Example {
        let a = corpus.span(self.a_start, self.a_len as usize);
        let b = corpus.span(self.b_start, self.b_len as usize);
        let mut ids = Vec::with_capacity(a.len() + b.len() + 3);
        ids.push(s.cls);
        ids.extend_from_slice(a);
        ids.push(s.sep);
        let segment_a_len = ids.len();
        ids.extend_from_slice(b);
        ids.push(s.sep);
        Example {
            ids,
            segment_a_len,
            random_next: self.random_next,
        }
    }
}

/// The examples of `spans`, with their ids.
pub fn examples(spans: &[PairSpan], corpus: &TokenizedCorpus, s: SpecialIds) -> Vec<Example> {
    spans.iter().map(|p| p.example(corpus, s)).collect()
}

#[derive(Debug, Clone, PartialEq)]
pub struct PairConfig {
    pub max_seq_len: usize,
    pub short_seq_prob: f64,
    /// Per token id: whether a word begins there (not a `##` piece, not punctuation);
    /// ids past its end count as word starts. The lone sentence of a one-sentence
    /// document is split into A and B only before such a token.
    pub word_starts: Arc<[bool]>,
}

/// Share of `examples` whose B is the true continuation (label 0, IsNext).
pub fn is_next_share(examples: &[PairSpan]) -> f64 {
    let next = examples.iter().filter(|e| !e.random_next).count();
    next as f64 / examples.len().max(1) as f64
}

/// Every example of one pass over `corpus`, shuffled, as spans of its store (the ids
/// are not copied).
pub fn epoch_examples(
    corpus: &TokenizedCorpus,
    config: PairConfig,
    rng: &mut impl Rng,
) -> Vec<PairSpan> {
    let mut out = Vec::new();
    for d in 0..corpus.num_documents() {
        document_examples(corpus, d, &config, rng, &mut out);
    }
    out.shuffle(rng);
    out
}

/// A run of consecutive store positions `[start, start + len)`.
#[derive(Debug, Clone, Copy)]
struct Run {
    start: u64,
    len: usize,
}

impl Run {
    fn between(start: u64, end: u64) -> Self {
        Self {
            start,
            len: (end - start) as usize,
        }
    }
}

fn document_examples(
    corpus: &TokenizedCorpus,
    doc: usize,
    config: &PairConfig,
    rng: &mut impl Rng,
    out: &mut Vec<PairSpan>,
) {
    let max_tokens = config.max_seq_len - 3;
    let target = if rng.random::<f64>() < config.short_seq_prob {
        rng.random_range(2..=max_tokens)
    } else {
        max_tokens
    };
    // Sentences of a document are consecutive in the store, so any run of consecutive
    // sentences (and any part of one) is one range of positions.
    let sentences: Vec<(u64, u64)> = corpus.sentence_ranges(doc).collect();
    let mut chunk: Vec<(u64, u64)> = Vec::new();
    let mut chunk_len = 0;
    let mut i = 0;
    while i < sentences.len() {
        chunk.push(sentences[i]);
        chunk_len += (sentences[i].1 - sentences[i].0) as usize;
        if i + 1 == sentences.len() || chunk_len >= target {
            let mut a_end = if chunk.len() >= 2 {
                rng.random_range(1..chunk.len())
            } else {
                1
            };
            let mut random_next = rng.random_bool(0.5);
            let mut split_at = None;
            if !random_next && chunk.len() == 1 {
                // A lone sentence has no continuation inside the chunk. Pair it with the
                // next sentence, or at the end of the document with the previous one;
                // the sentence of a one-sentence document is split at a random word
                // boundary, and only one of fewer than two words falls back to a random
                // B (Google's code falls back every time, which skews NSP towards
                // "random", entirely so on a corpus of one-sentence documents).
                if i + 1 < sentences.len() {
                    i += 1;
                    chunk.push(sentences[i]);
                } else if i > 0 {
                    chunk.insert(0, sentences[i - 1]);
                } else {
                    let (start, end) = chunk[0];
                    let ids = corpus.span(start, (end - start) as usize);
                    split_at = word_boundary(ids, &config.word_starts, rng);
                    random_next = split_at.is_none();
                }
                a_end = 1;
            }
            let (mut a, mut b) = if let Some(at) = split_at {
                let (start, end) = chunk[0];
                (
                    Run::between(start, start + at as u64),
                    Run::between(start + at as u64, end),
                )
            } else {
                let a = Run::between(chunk[0].0, chunk[a_end - 1].1);
                let b = if random_next {
                    let b_target = target.saturating_sub(a.len).max(1);
                    let taken = random_b(corpus, doc, b_target, rng);
                    // The unused part of the chunk goes back to be used next time.
                    i -= chunk.len() - a_end;
                    taken
                } else {
                    Run::between(chunk[a_end].0, chunk[chunk.len() - 1].1)
                };
                (a, b)
            };
            truncate_pair(&mut a, &mut b, max_tokens, rng);
            out.push(PairSpan {
                a_start: a.start,
                b_start: b.start,
                // Both fit in `max_seq_len`.
                a_len: a.len as u32,
                b_len: b.len as u32,
                random_next,
            });
            chunk.clear();
            chunk_len = 0;
        }
        i += 1;
    }
}

/// A random position in `sentence` where a word begins, other than its first word,
/// so that both sides hold a word; none when it has fewer than two words.
fn word_boundary(sentence: &[u32], word_starts: &[bool], rng: &mut impl Rng) -> Option<usize> {
    let words: Vec<usize> = (0..sentence.len())
        .filter(|&at| word_starts.get(sentence[at] as usize) != Some(&false))
        .collect();
    if words.len() < 2 {
        return None;
    }
    Some(words[rng.random_range(1..words.len())])
}

/// Sentences from a random position of a random *other* document, up to `target` tokens.
fn random_b(corpus: &TokenizedCorpus, doc: usize, target: usize, rng: &mut impl Rng) -> Run {
    let n = corpus.num_documents();
    let mut other = rng.random_range(0..n - 1);
    if other >= doc {
        other += 1;
    }
    let start = rng.random_range(0..corpus.document_len(other));
    let mut b: Option<Run> = None;
    for (s, e) in corpus.sentence_ranges(other).skip(start) {
        let run = b.get_or_insert(Run { start: s, len: 0 });
        run.len = (e - run.start) as usize;
        if run.len >= target {
            break;
        }
    }
    b.unwrap_or(Run { start: 0, len: 0 })
}

/// Trims the longer side, from the front or back at random, until both fit.
fn truncate_pair(a: &mut Run, b: &mut Run, max_tokens: usize, rng: &mut impl Rng) {
    while a.len + b.len > max_tokens {
        let longer = if a.len > b.len { &mut *a } else { &mut *b };
        if rng.random_bool(0.5) {
            longer.start += 1;
        }
        longer.len -= 1;
    }
}

#[cfg(test)]
mod reference;
#[cfg(test)]
mod tests;
