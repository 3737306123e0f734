use super::*;
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

fn doc_of(id: u32) -> u32 {
    id / 100_000
}

fn examples(seed: u64, max_seq_len: usize) -> Vec<Example> {
    let mut rng = rng_for(seed, "pairs-test", 0);
    let c = corpus(300, &mut rng);
    let cfg = PairConfig {
        max_seq_len,
        short_seq_prob: 0.1,
    };
    epoch_examples(&c, cfg, S, &mut rng)
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
