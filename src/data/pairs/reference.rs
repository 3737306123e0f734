//! The implementation the spans replaced (examples with owned ids, built from the
//! in-memory corpus), kept verbatim for one test: the spans must give exactly its
//! examples, in its order, so that sessions made before resume on the same data.

use rand::seq::SliceRandom;
use rand::Rng;

use super::{Example, PairConfig};
use crate::data::TokenizedCorpus;
use crate::tokenizer::SpecialIds;

/// Every example of one pass over `corpus`, shuffled.
pub fn old_epoch_examples(
    corpus: &TokenizedCorpus,
    config: PairConfig,
    specials: SpecialIds,
    rng: &mut impl Rng,
) -> Vec<Example> {
    let mut out = Vec::new();
    for d in 0..corpus.num_documents() {
        document_examples(corpus, d, &config, specials, rng, &mut out);
    }
    out.shuffle(rng);
    out
}

fn document_examples(
    corpus: &TokenizedCorpus,
    doc: usize,
    config: &PairConfig,
    specials: SpecialIds,
    rng: &mut impl Rng,
    out: &mut Vec<Example>,
) {
    let max_tokens = config.max_seq_len - 3;
    let target = if rng.random::<f64>() < config.short_seq_prob {
        rng.random_range(2..=max_tokens)
    } else {
        max_tokens
    };
    let sentences: Vec<&[u32]> = corpus.document(doc).collect();
    let mut chunk: Vec<&[u32]> = Vec::new();
    let mut chunk_len = 0;
    let mut i = 0;
    while i < sentences.len() {
        chunk.push(sentences[i]);
        chunk_len += sentences[i].len();
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
                    split_at = word_boundary(chunk[0], &config.word_starts, rng);
                    random_next = split_at.is_none();
                }
                a_end = 1;
            }
            let (mut a, mut b) = if let Some(at) = split_at {
                (chunk[0][..at].to_vec(), chunk[0][at..].to_vec())
            } else {
                let a: Vec<u32> = chunk[..a_end].concat();
                let b: Vec<u32> = if random_next {
                    let b_target = target.saturating_sub(a.len()).max(1);
                    let taken = random_b(corpus, doc, b_target, rng);
                    // The unused part of the chunk goes back to be used next time.
                    i -= chunk.len() - a_end;
                    taken
                } else {
                    chunk[a_end..].concat()
                };
                (a, b)
            };
            truncate_pair(&mut a, &mut b, max_tokens, rng);
            out.push(assemble(&a, &b, random_next, specials));
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
fn random_b(corpus: &TokenizedCorpus, doc: usize, target: usize, rng: &mut impl Rng) -> Vec<u32> {
    let n = corpus.num_documents();
    let mut other = rng.random_range(0..n - 1);
    if other >= doc {
        other += 1;
    }
    let start = rng.random_range(0..corpus.document_len(other));
    let mut b = Vec::new();
    for sentence in corpus.document(other).skip(start) {
        b.extend_from_slice(sentence);
        if b.len() >= target {
            break;
        }
    }
    b
}

/// Trims the longer side, from the front or back at random, until both fit.
fn truncate_pair(a: &mut Vec<u32>, b: &mut Vec<u32>, max_tokens: usize, rng: &mut impl Rng) {
    while a.len() + b.len() > max_tokens {
        let longer = if a.len() > b.len() { &mut *a } else { &mut *b };
        if rng.random_bool(0.5) {
            longer.remove(0);
        } else {
            longer.pop();
        }
    }
}

fn assemble(a: &[u32], b: &[u32], random_next: bool, s: SpecialIds) -> Example {
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
        random_next,
    }
}
