use rand::Rng;

use super::*;
use crate::data::masking::mask_in_place;
use crate::data::rng_for;
use crate::tokenizer::SpecialIds;

const S: SpecialIds = SpecialIds::FIRST_FIVE;
const VOCAB: usize = 300;

fn config() -> MaskConfig {
    MaskConfig::bert(0.15, VOCAB, S)
}

/// `config()` with other replacement shares.
fn shares(to_mask: f64, to_random: f64) -> MaskConfig {
    MaskConfig {
        mask_replace_prob: to_mask,
        random_replace_prob: to_random,
        ..config()
    }
}

/// A Zipf-like unigram over ids 5..VOCAB (the true distribution of the test data).
fn zipf() -> Vec<f64> {
    let mut p = vec![0.0; VOCAB];
    for (rank, id) in (5..VOCAB).enumerate() {
        p[id] = 1.0 / (rank as f64 + 2.0);
    }
    let total: f64 = p.iter().sum();
    p.iter().map(|x| x / total).collect()
}

fn draw(p: &[f64], rng: &mut impl Rng) -> u32 {
    let mut u: f64 = rng.random();
    for (id, &x) in p.iter().enumerate() {
        if u < x {
            return id as u32;
        }
        u -= x;
    }
    (VOCAB - 1) as u32
}

/// Documents of independent tokens: context carries no information, so the no-context
/// predictor is the best possible one here.
fn iid_corpus(p: &[f64], tokens: usize, seed: u64) -> TokenizedCorpus {
    let mut rng = rng_for(seed, "floor-test", 0);
    let mut c = TokenizedCorpus::default();
    for _ in 0..tokens / 100 {
        let sentences: Vec<Vec<u32>> = (0..4)
            .map(|_| (0..25).map(|_| draw(p, &mut rng)).collect())
            .collect();
        c.push_document(sentences.iter().map(Vec::as_slice));
    }
    c
}

/// (shown, label) at every scored position of `n` masked i.i.d. sequences.
fn scored_positions(p: &[f64], n: usize, mask: &MaskConfig) -> Vec<(i64, i64)> {
    let mut rng = rng_for(2, "floor-test", 1);
    let mut out = Vec::new();
    for _ in 0..n {
        let mut ids: Vec<u32> = std::iter::once(S.cls)
            .chain((0..60).map(|_| draw(p, &mut rng)))
            .chain(std::iter::once(S.sep))
            .collect();
        let labels = mask_in_place(&mut ids, mask, &mut rng);
        for (i, &label) in labels.iter().enumerate() {
            if label != IGNORE {
                out.push((ids[i] as i64, label));
            }
        }
    }
    out
}

/// Mean of `loss(shown, label)` over the positions.
fn mean_over(positions: &[(i64, i64)], loss: impl Fn(i64, i64) -> f64) -> f64 {
    positions.iter().map(|&(s, t)| loss(s, t)).sum::<f64>() / positions.len() as f64
}

/// The posterior with the kept branch weighted `w` times the random one (1 = the rule
/// for BERT's equal kept and random shares).
fn weighted_loss(u: &Unigram, mask: &MaskConfig, shown: i64, label: i64, w: f64) -> f64 {
    if shown == mask.specials.mask as i64 {
        return -u.p(label).ln();
    }
    let r = random_draw(shown, mask);
    let same = if shown == label { w } else { 0.0 };
    -(u.p(label) * (same + r) / (w * u.p(shown) + r)).ln()
}

/// Context-free data with a known unigram, a unigram fitted on a training sample of
/// it, and the scored positions of other masked sequences.
struct Fixture {
    p: Vec<f64>,
    mask: MaskConfig,
    unigram: Unigram,
    positions: Vec<(i64, i64)>,
}

fn fixture_with(mask: MaskConfig) -> Fixture {
    let p = zipf();
    let unigram = Unigram::fit(&iid_corpus(&p, 300_000, 1), &mask);
    let positions = scored_positions(&p, 8000, &mask);
    Fixture {
        p,
        mask,
        unigram,
        positions,
    }
}

fn fixture() -> Fixture {
    fixture_with(config())
}

#[test]
fn matches_the_closed_form_expectation_of_the_masking_rule() {
    // BERT's 80/10/10, another split, and [MASK] only (the held-out yardstick).
    for (to_mask, to_random) in [(0.8, 0.1), (0.5, 0.3), (1.0, 0.0)] {
        let Fixture {
            p,
            mask,
            unigram,
            positions,
        } = fixture_with(shares(to_mask, to_random));
        let mc = mean_over(&positions, |s, t| position_loss(&unigram, &mask, s, t));
        // Random replacements are uniform over the non-specials; the answer is ~ p.
        let r = 1.0 / (VOCAB - 5) as f64;
        let mut expected = 0.0;
        for t in 5..VOCAB as i64 {
            let pt = p[t as usize];
            let masked = position_loss(&unigram, &mask, S.mask as i64, t);
            let kept = position_loss(&unigram, &mask, t, t);
            let random: f64 = (5..VOCAB as i64)
                .map(|s| r * position_loss(&unigram, &mask, s, t))
                .sum();
            let kept_share = 1.0 - to_mask - to_random;
            expected += pt * (to_mask * masked + kept_share * kept + to_random * random);
        }
        assert!(
            (mc - expected).abs() < 0.03,
            "{to_mask}/{to_random}: Monte Carlo {mc} vs closed form {expected} over {} positions",
            positions.len()
        );
    }
}

#[test]
fn with_mask_only_scoring_the_floor_is_the_unigram_surprise() {
    let Fixture {
        mask,
        unigram,
        positions,
        ..
    } = fixture_with(shares(1.0, 0.0));
    assert!(positions.iter().all(|&(s, _)| s == S.mask as i64));
    let floor = mean_over(&positions, |s, t| position_loss(&unigram, &mask, s, t));
    let unigram_only = mean_over(&positions, |_, t| -unigram.p(t).ln());
    assert!((floor - unigram_only).abs() < 1e-12);
}

#[test]
fn no_other_use_of_the_shown_token_does_better_on_context_free_data() {
    let Fixture {
        mask,
        unigram,
        positions,
        ..
    } = fixture();
    let mean = |w: f64| mean_over(&positions, |s, t| weighted_loss(&unigram, &mask, s, t, w));
    let floor = mean(1.0);
    let rule = mean_over(&positions, |s, t| position_loss(&unigram, &mask, s, t));
    assert!((floor - rule).abs() < 1e-12);
    // Plain unigram everywhere (ignores the shown token entirely).
    let unigram_only = mean_over(&positions, |_, t| -unigram.p(t).ln());
    assert!(
        unigram_only > floor + 0.05,
        "unigram {unigram_only} vs floor {floor}"
    );
    for w in [0.25, 0.5, 2.0, 4.0] {
        assert!(mean(w) > floor, "weight {w}: {} <= {floor}", mean(w));
    }
}

#[test]
fn a_mask_costs_the_unigram_surprise_and_a_shown_unk_is_certain() {
    let mask = config();
    let mut c = TokenizedCorpus::default();
    c.push_document([[5u32, 5, 5, 6].as_slice()]);
    let u = Unigram::fit(&c, &mask);
    // Add-one over the 296 selectable ids (5..300 plus [UNK]): 4 tokens + 296.
    let p5: f64 = 4.0 / 300.0;
    assert!((position_loss(&u, &mask, S.mask as i64, 5) + p5.ln()).abs() < 1e-12);
    // [UNK] is never a random replacement: seen at a scored position, it was kept.
    assert!(position_loss(&u, &mask, S.unk as i64, S.unk as i64).abs() < 1e-12);
    // A token shown but answered with another one can only be a random replacement.
    let r: f64 = 1.0 / 295.0;
    let q = (2.0 / 300.0) * r / (p5 + r);
    assert!((position_loss(&u, &mask, 5, 6) + q.ln()).abs() < 1e-12);
}

#[test]
fn mean_over_held_out_batches_counts_only_scored_positions() {
    let mask = config();
    let mut c = TokenizedCorpus::default();
    c.push_document([[5u32, 6].as_slice()]);
    let u = Unigram::fit(&c, &mask);
    let batch = HostBatch {
        batch: 1,
        seq: 4,
        input_ids: vec![S.cls as i64, S.mask as i64, 6, S.sep as i64],
        token_type_ids: vec![0; 4],
        attention_mask: vec![1; 4],
        mlm_labels: vec![IGNORE, 5, IGNORE, IGNORE],
        nsp_labels: vec![0],
        real_tokens: 4,
    };
    let expected = position_loss(&u, &mask, S.mask as i64, 5);
    assert!((no_context_loss(&u, &mask, &[batch]) - expected).abs() < 1e-12);
    assert!(no_context_loss(&u, &mask, &[]).is_nan());
}

#[test]
fn the_recorded_floor_reads_back_and_a_missing_one_is_none() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(load(dir.path()).unwrap(), None);
    save(dir.path(), f64::NAN).unwrap();
    assert!(!dir.path().join(FLOOR_FILE).exists(), "no floor, no file");
    save(dir.path(), 6.384).unwrap();
    assert_eq!(load(dir.path()).unwrap(), Some(6.384));
    std::fs::write(dir.path().join(FLOOR_FILE), "{").unwrap();
    let err = format!("{:#}", load(dir.path()).unwrap_err());
    assert!(err.contains("floor.json is damaged"), "{err}");
}
