use super::examples as with_ids;
use super::*;
use std::sync::Arc;

use crate::data::rng_for;

const S: SpecialIds = SpecialIds::FIRST_FIVE;

/// Documents whose tokens encode (document, sentence, position): id = 100000 * (d + 1)
/// + 100 * s + p, so an example tells where each of its tokens came from.
fn corpus(docs: usize, rng: &mut impl Rng) -> TokenizedCorpus {
    let mut c = TokenizedCorpus::default();
    for d in 0..docs {
        let n = rng.random_range(1..30);
        let sentences: Vec<Vec<u32>> = (0..n)
            .map(|s| {
                let len = rng.random_range(3..25);
                (0..len)
                    .map(|p| (100_000 * (d + 1) + 100 * s + p) as u32)
                    .collect()
            })
            .collect();
        c.push_document(sentences.iter().map(Vec::as_slice));
    }
    c
}

/// Share of IsNext examples.
fn next_share(ex: &[Example]) -> f64 {
    ex.iter().filter(|e| !e.random_next).count() as f64 / ex.len().max(1) as f64
}

fn doc_of(id: u32) -> u32 {
    id / 100_000
}

fn examples(seed: u64, max_seq_len: usize) -> Vec<Example> {
    let mut rng = rng_for(seed, "pairs-test", 0);
    let c = corpus(300, &mut rng);
    let cfg = PairConfig {
        max_seq_len,
        short_seq_prob: 0.1,
        word_starts: Arc::from(vec![]),
    };
    with_ids(&epoch_examples(&c, cfg, &mut rng), &c, S)
}

#[test]
fn layout_is_cls_a_sep_b_sep() {
    for ex in examples(1, 64) {
        let ids = &ex.ids;
        assert!(ids.len() <= 64);
        assert_eq!(ids[0], S.cls);
        assert_eq!(ids[ex.segment_a_len - 1], S.sep);
        assert_eq!(*ids.last().unwrap(), S.sep);
        let specials = ids.iter().filter(|&&t| S.contains(t)).count();
        assert_eq!(specials, 3, "only [CLS] and two [SEP]: {ids:?}");
        assert!(ex.segment_a_len >= 3, "A is not empty");
        assert!(ids.len() >= ex.segment_a_len + 2, "B is not empty");
    }
}

#[test]
fn nsp_labels_are_balanced() {
    let ex = examples(2, 128);
    let random = ex.iter().filter(|e| e.random_next).count() as f64 / ex.len() as f64;
    assert!(ex.len() > 500);
    assert!((random - 0.5).abs() < 0.03, "random-next share {random}");
}

#[test]
fn random_b_comes_from_another_document_and_true_b_from_the_same() {
    for ex in examples(3, 128) {
        let a = &ex.ids[1..ex.segment_a_len - 1];
        let b = &ex.ids[ex.segment_a_len..ex.ids.len() - 1];
        let doc_a = doc_of(a[0]);
        assert!(a.iter().all(|&t| doc_of(t) == doc_a), "A spans documents");
        if ex.random_next {
            assert!(
                b.iter().all(|&t| doc_of(t) != doc_a),
                "random B from A's document"
            );
        } else {
            assert!(b.iter().all(|&t| doc_of(t) == doc_a));
            // B continues A: B's first token comes after A's last in the document.
            assert!(b[0] > *a.last().unwrap(), "B does not follow A");
        }
    }
}

#[test]
fn packing_fills_sequences_and_some_are_short() {
    let ex = examples(4, 64);
    let long = ex.iter().filter(|e| e.ids.len() >= 40).count();
    assert!(
        long * 2 > ex.len(),
        "most examples are packed near max length"
    );
    assert!(ex.iter().any(|e| e.ids.len() < 20));
}

#[test]
fn same_seed_same_examples_other_seed_other_examples() {
    assert_eq!(examples(5, 64), examples(5, 64));
    assert_ne!(examples(5, 64), examples(6, 64));
}

/// Documents of one sentence each (tweets, titles), over ids 5..100 where odd ids are
/// `##` pieces, and the table that says so.
fn one_sentence_docs(docs: usize, words: std::ops::Range<usize>) -> (TokenizedCorpus, Arc<[bool]>) {
    let mut rng = rng_for(7, "one-sentence", 0);
    let mut c = TokenizedCorpus::default();
    for _ in 0..docs {
        let n = rng.random_range(words.clone());
        let mut sentence = Vec::new();
        for _ in 0..n {
            sentence.push(2 * rng.random_range(3..50)); // a word
            for _ in 0..rng.random_range(0..3) {
                sentence.push(2 * rng.random_range(3..50) + 1); // its pieces
            }
        }
        c.push_document([sentence.as_slice()]);
    }
    let starts: Vec<bool> = (0..100).map(|id| id % 2 == 0).collect();
    (c, starts.into())
}

fn pairs_of(c: &TokenizedCorpus, word_starts: Arc<[bool]>) -> Vec<Example> {
    let cfg = PairConfig {
        max_seq_len: 128,
        short_seq_prob: 0.1,
        word_starts,
    };
    with_ids(
        &epoch_examples(c, cfg, &mut rng_for(8, "one-sentence", 1)),
        c,
        S,
    )
}

#[test]
fn one_sentence_documents_are_split_at_a_word_boundary_into_balanced_pairs() {
    let (c, starts) = one_sentence_docs(2000, 2..12);
    let docs: std::collections::HashSet<Vec<u32>> = (0..c.num_documents())
        .map(|d| c.document(d).next().unwrap().to_vec())
        .collect();
    let ex = pairs_of(&c, starts);
    assert_eq!(ex.len(), 2000);
    let share = next_share(&ex);
    assert!((share - 0.5).abs() < 0.04, "IsNext share {share}");
    for e in ex.iter().filter(|e| !e.random_next) {
        let a = &e.ids[1..e.segment_a_len - 1];
        let b = &e.ids[e.segment_a_len..e.ids.len() - 1];
        assert!(!a.is_empty() && !b.is_empty());
        assert!(
            docs.contains(&[a, b].concat()),
            "A + B is one document's sentence"
        );
        assert_eq!(b[0] % 2, 0, "B starts with a word, not a ## piece: {b:?}");
    }
}

#[test]
fn sentences_of_one_word_fall_back_to_a_random_b() {
    let (c, starts) = one_sentence_docs(500, 1..2);
    let ex = pairs_of(&c, starts.clone());
    assert_eq!(next_share(&ex), 0.0);
    // Without the table every token would count as a word: pieces get split off.
    assert!(next_share(&pairs_of(&c, Arc::from(vec![]))) > 0.3);
}

/// The word table is only read for one-sentence documents: elsewhere the random
/// streams, and so the examples (and an exact resume), are what they were.
#[test]
fn multi_sentence_documents_do_not_read_the_word_table() {
    let mut rng = rng_for(9, "pairs-test", 0);
    let mut c = TokenizedCorpus::default();
    for d in 0..200u32 {
        let n = rng.random_range(2..10);
        let sentences: Vec<Vec<u32>> = (0..n)
            .map(|s| {
                (0..rng.random_range(1..20))
                    .map(|p| d * 1000 + s * 50 + p)
                    .collect()
            })
            .collect();
        c.push_document(sentences.iter().map(Vec::as_slice));
    }
    let none_start: Arc<[bool]> = vec![false; 200_000].into();
    assert_eq!(pairs_of(&c, Arc::from(vec![])), pairs_of(&c, none_start));
}

/// The spans give the examples of the owned-ids implementation they replaced, in the
/// same order and from the same random stream, on a heap corpus, on the mapped store of
/// it and on a held-out split of that (which addresses the store through an index).
#[test]
fn spans_give_the_examples_of_the_old_implementation() {
    let mut rng = rng_for(5, "pairs-golden", 0);
    let heap = corpus(150, &mut rng);
    let file = heap
        .write_store(tempfile::tempfile().unwrap(), Default::default())
        .unwrap();
    let mapped = TokenizedCorpus::map(&file).unwrap().0;
    let (train, held) = mapped.split(0.2, 3).unwrap();
    let (_, one_sentence) = one_sentence_docs(40, 1..9);
    for (c, max_seq_len) in [(&heap, 64), (&mapped, 128), (&train, 40), (&held, 512)] {
        for word_starts in [Arc::from(vec![]), one_sentence.clone()] {
            let cfg = PairConfig {
                max_seq_len,
                short_seq_prob: 0.2,
                word_starts,
            };
            let spans = epoch_examples(c, cfg.clone(), &mut rng_for(9, "pairs", 1));
            let old = super::reference::old_epoch_examples(c, cfg, S, &mut rng_for(9, "pairs", 1));
            assert!(old.len() > 20);
            assert_eq!(with_ids(&spans, c, S), old);
        }
    }
    let (one, ws) = one_sentence_docs(60, 1..9);
    let cfg = PairConfig {
        max_seq_len: 16,
        short_seq_prob: 0.0,
        word_starts: ws,
    };
    let spans = epoch_examples(&one, cfg.clone(), &mut rng_for(2, "one", 0));
    let old = super::reference::old_epoch_examples(&one, cfg, S, &mut rng_for(2, "one", 0));
    assert_eq!(with_ids(&spans, &one, S), old);
}
