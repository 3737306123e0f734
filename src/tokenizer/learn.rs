//! Deterministic WordPiece vocabulary learning.
//!
//! A replacement for the vocabulary step of `tokenizers`' `WordPieceTrainer`, which
//! breaks merge ties by hash-seeded ids and so differs between processes. The
//! algorithm is the same BPE-style one: words are split into characters (`movie` ->
//! `m ##o ##v ##i ##e`), and the most frequent adjacent pair (by summed word count)
//! is merged repeatedly (`a` + `##b` -> `ab`, `##a` + `##b` -> `##ab`).
//!
//! Determinism: ties between pairs of equal count go to the lexicographically
//! smaller `(left, right)` token strings; input is deduplicated and sorted first.
//! Hash maps are only used where their iteration order cannot reach the result.
//!
//! Alphabet: every character seen (or, with `limit_alphabet = Some(n)`, the `n` most
//! frequent, ties by smaller char) gets a plain token, sorted by char, followed by the
//! `##` forms of those occurring inside a word, sorted by char. Words containing a
//! dropped character are skipped entirely: WordPiece encodes such a word as `[UNK]`
//! anyway, so pieces learnt from it would be wasted.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet};
use std::rc::Rc;

type Pair = (u32, u32);
/// Heap order: the higher count first, then the smaller `(left, right)` strings.
type Candidate = (u64, Reverse<(Rc<str>, Rc<str>)>, Pair);

#[derive(Default)]
struct Vocab {
    tokens: Vec<Rc<str>>,
    ids: HashMap<Rc<str>, u32>,
}

impl Vocab {
    /// The id of `token`, appending it if it is new.
    fn id(&mut self, token: &str) -> u32 {
        if let Some(&id) = self.ids.get(token) {
            return id;
        }
        let token: Rc<str> = token.into();
        let id = self.tokens.len() as u32;
        self.tokens.push(token.clone());
        self.ids.insert(token, id);
        id
    }

    fn candidate(&self, (a, b): Pair, count: u64) -> Candidate {
        let token = |id: u32| self.tokens[id as usize].clone();
        (count, Reverse((token(a), token(b))), (a, b))
    }
}

/// `c` as a word-initial piece, or with the `##` continuation prefix.
fn piece(c: char, initial: bool) -> String {
    if initial {
        c.to_string()
    } else {
        format!("##{c}")
    }
}

/// Learns a WordPiece vocabulary (in id order) from pre-tokenised, normalised words.
///
/// Specials come first (duplicates dropped), then the alphabet, then merged pieces in
/// merge order, until there are `vocab_size` entries or no pair occurs at least
/// `min_frequency` times. The result never exceeds `vocab_size` entries (the alphabet
/// is cut if it does not fit), except that all specials are always kept.
pub fn learn_vocab(
    word_counts: &[(String, u64)],
    vocab_size: usize,
    min_frequency: u64,
    special_tokens: &[&str],
    limit_alphabet: Option<usize>,
) -> Vec<String> {
    let mut merged_counts: BTreeMap<&str, u64> = BTreeMap::new();
    for (word, count) in word_counts.iter().filter(|(w, c)| !w.is_empty() && *c > 0) {
        *merged_counts.entry(word).or_default() += count;
    }
    let mut char_counts: BTreeMap<char, u64> = BTreeMap::new();
    for (word, count) in &merged_counts {
        for c in word.chars() {
            *char_counts.entry(c).or_default() += count;
        }
    }
    let mut ranked: Vec<(char, u64)> = char_counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.truncate(limit_alphabet.unwrap_or(usize::MAX));
    let alphabet: BTreeSet<char> = ranked.into_iter().map(|(c, _)| c).collect();
    let (kept, counts): (Vec<&str>, Vec<u64>) = merged_counts
        .into_iter()
        .filter(|(w, _)| w.chars().all(|c| alphabet.contains(&c)))
        .unzip();
    let inner: BTreeSet<char> = kept.iter().flat_map(|w| w.chars().skip(1)).collect();

    let mut vocab = Vocab::default();
    for special in special_tokens {
        vocab.id(special);
    }
    let max_len = vocab_size.max(vocab.tokens.len());
    let plain = alphabet.iter().map(|&c| piece(c, true));
    for token in plain.chain(inner.iter().map(|&c| piece(c, false))) {
        vocab.id(&token);
    }
    let mut words: Vec<Vec<u32>> = kept
        .iter()
        .map(|w| {
            w.chars()
                .enumerate()
                .map(|(i, c)| vocab.id(&piece(c, i == 0)))
                .collect()
        })
        .collect();

    let mut pair_counts: HashMap<Pair, u64> = HashMap::new();
    let mut occurrences: HashMap<Pair, HashSet<usize>> = HashMap::new();
    for (i, word) in words.iter().enumerate() {
        for p in word.windows(2) {
            *pair_counts.entry((p[0], p[1])).or_default() += counts[i];
            occurrences.entry((p[0], p[1])).or_default().insert(i);
        }
    }
    // Invariant: every pair with a positive count has a heap entry with at least that
    // count, so a popped entry whose count is current is the true maximum.
    let mut heap: BinaryHeap<Candidate> = pair_counts
        .iter()
        .map(|(&p, &c)| vocab.candidate(p, c))
        .collect();
    while vocab.tokens.len() < max_len {
        let Some((count, strings, pair)) = heap.pop() else {
            break;
        };
        let current = pair_counts.get(&pair).copied().unwrap_or(0);
        if current != count {
            if current > 0 {
                heap.push((current, strings, pair));
            }
            continue;
        }
        if current < min_frequency {
            break;
        }
        let Reverse((left, right)) = strings;
        let new_id = vocab.id(&format!(
            "{left}{}",
            right.strip_prefix("##").unwrap_or(&right)
        ));
        let mut delta: HashMap<Pair, i64> = HashMap::new();
        for i in occurrences.remove(&pair).unwrap_or_default() {
            let merged = merge_word(&words[i], pair, new_id);
            if merged.len() == words[i].len() {
                continue;
            }
            let count = counts[i] as i64;
            for p in words[i].windows(2) {
                *delta.entry((p[0], p[1])).or_default() -= count;
            }
            for p in merged.windows(2) {
                *delta.entry((p[0], p[1])).or_default() += count;
                if p.contains(&new_id) {
                    occurrences.entry((p[0], p[1])).or_default().insert(i);
                }
            }
            words[i] = merged;
        }
        // Only pairs touching the new token can grow; those need a fresh heap entry.
        for (pair, d) in delta.into_iter().filter(|&(_, d)| d != 0) {
            let count = pair_counts.entry(pair).or_default();
            *count = (*count as i64 + d) as u64;
            if d > 0 {
                heap.push(vocab.candidate(pair, *count));
            }
        }
    }
    vocab.tokens.truncate(max_len);
    vocab.tokens.iter().map(|t| t.to_string()).collect()
}

/// `word` with every non-overlapping `pair`, left to right, replaced by `new`.
fn merge_word(word: &[u32], pair: Pair, new: u32) -> Vec<u32> {
    let mut out = Vec::with_capacity(word.len());
    let mut i = 0;
    while i < word.len() {
        if i + 1 < word.len() && (word[i], word[i + 1]) == pair {
            out.push(new);
            i += 2;
        } else {
            out.push(word[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Knuth's MMIX LCG; deterministic and crate-free.
    struct Lcg(u64);
    impl Lcg {
        fn below(&mut self, n: u64) -> u64 {
            let (a, c) = (6364136223846793005, 1442695040888963407);
            self.0 = self.0.wrapping_mul(a).wrapping_add(c);
            (self.0 >> 33) % n
        }
    }

    /// `n` distinct words of skewed letters with Zipf-like counts.
    fn random_words(n: usize, seed: u64) -> Vec<(String, u64)> {
        let letters: Vec<char> = "eeeeetttaaaoooiinnsshhrrdlucmfwypvbgkjqxzé"
            .chars()
            .collect();
        let (mut rng, mut seen) = (Lcg(seed), BTreeSet::new());
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let len = 1 + rng.below(6) + rng.below(6);
            let word: String = (0..len)
                .map(|_| letters[rng.below(letters.len() as u64) as usize])
                .collect();
            if seen.insert(word.clone()) {
                out.push((word, 1 + 1_000_000 / (out.len() as u64 + 1)));
            }
        }
        out
    }

    const SPECIALS: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

    fn words(list: &[(&str, u64)]) -> Vec<(String, u64)> {
        list.iter().map(|&(w, c)| (w.to_string(), c)).collect()
    }

    const ALPHABET: [&str; 18] = [
        "d", "e", "i", "l", "n", "o", "r", "s", "t", "w", //
        "##d", "##e", "##i", "##o", "##r", "##s", "##t", "##w",
    ];
    const MERGES: [&str; 10] = [
        "##es", "##est", "##ow", "low", "##ew", "##ewest", "newest", "##dest", "##idest", "widest",
    ];

    fn classic() -> Vec<(String, u64)> {
        words(&[("low", 5), ("lower", 2), ("newest", 6), ("widest", 3)])
    }

    #[test]
    fn hand_checked_merges_and_min_frequency() {
        // Counts 9,9,7,7,6,6,6,3,3,3 with ties by (left, right); "##er" (2) is below 3.
        let vocab = learn_vocab(&classic(), 1000, 3, &[], None);
        let expected: Vec<&str> = ALPHABET.iter().chain(&MERGES).copied().collect();
        assert_eq!(vocab, expected);
        let all = learn_vocab(&classic(), 1000, 2, &[], None);
        assert_eq!(&all[28..], ["##er", "lower"]);
    }

    #[test]
    fn respects_vocab_size_and_keeps_specials_first() {
        let specials = SPECIALS;
        let vocab = learn_vocab(&classic(), 5 + 18 + 4, 1, &specials, None);
        assert_eq!(vocab.len(), 27);
        assert_eq!(&vocab[..5], specials);
        assert_eq!(&vocab[23..], &MERGES[..4]);
        assert_eq!(learn_vocab(&classic(), 10, 1, &specials, None).len(), 10);
        assert_eq!(learn_vocab(&classic(), 2, 1, &specials, None), specials);
    }

    #[test]
    fn every_character_is_in_the_alphabet() {
        let input = words(&[("café", 3), ("x", 1), (",", 9), ("éa", 1)]);
        let vocab = learn_vocab(&input, 100, 1000, &["[UNK]"], None);
        let expected = ["[UNK]", ",", "a", "c", "f", "x", "é", "##a", "##f", "##é"];
        assert_eq!(vocab, expected);
    }

    #[test]
    fn limited_alphabet_skips_words_with_dropped_chars() {
        let input = words(&[("aab", 5), ("abq", 1), ("zz", 2), ("ba", 4)]);
        let vocab = learn_vocab(&input, 100, 1, &[], Some(2));
        // a: 15, b: 10, z: 4, q: 1; "abq" and "zz" are skipped. Ties by (left, right).
        assert_eq!(vocab, ["a", "b", "##a", "##b", "##ab", "aab", "ba"]);
    }

    #[test]
    fn input_order_does_not_matter() {
        let input = random_words(3000, 7);
        let mut shuffled = input.clone();
        let mut rng = Lcg(99);
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let vocab = learn_vocab(&input, 800, 2, &SPECIALS, None);
        assert_eq!(vocab, learn_vocab(&shuffled, 800, 2, &SPECIALS, None));
        assert_eq!(vocab.len(), 800);
        for (word, _) in &input {
            for (i, c) in word.chars().enumerate() {
                assert!(
                    vocab.contains(&piece(c, i == 0)),
                    "{c} of {word} is missing"
                );
            }
        }
    }

    #[test]
    fn merged_tokens_are_unique_concatenations_of_earlier_ones() {
        let vocab = learn_vocab(&random_words(5000, 3), 1500, 2, &SPECIALS, Some(20));
        assert_eq!(vocab.len(), 1500);
        let distinct: BTreeSet<&String> = vocab.iter().collect();
        assert_eq!(distinct.len(), vocab.len(), "duplicates");
        let is_char = |t: &String| t.trim_start_matches("##").chars().count() == 1;
        let first_merge = 5 + vocab[5..].iter().position(|t| !is_char(t)).unwrap();
        assert_eq!(
            first_merge,
            5 + 20 + 20,
            "20 plain chars and their ## forms"
        );
        for (n, token) in vocab.iter().enumerate().skip(first_merge) {
            let (prefix, body) = token
                .strip_prefix("##")
                .map_or(("", token.as_str()), |b| ("##", b));
            let earlier = &vocab[..n];
            let ok = body.char_indices().skip(1).any(|(i, _)| {
                earlier.contains(&format!("{prefix}{}", &body[..i]))
                    && earlier.contains(&format!("##{}", &body[i..]))
            });
            assert!(ok, "{token} is not a merge of earlier tokens");
        }
    }

    /// Run by hand: `cargo test --release -- --ignored --nocapture timing`.
    #[test]
    #[ignore]
    fn timing_100k_words_8192_vocab() {
        let input = random_words(100_000, 1);
        let start = std::time::Instant::now();
        let vocab = learn_vocab(&input, 8192, 2, &SPECIALS, None);
        let elapsed = start.elapsed();
        let fnv = vocab
            .join("\n")
            .bytes()
            .fold(0xcbf29ce484222325u64, |h, b| {
                (h ^ b as u64).wrapping_mul(0x100000001b3)
            });
        println!(
            "100k words -> {} tokens in {elapsed:?}, fnv {fnv:016x}",
            vocab.len()
        );
    }
}
