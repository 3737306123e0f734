//! Dynamic MLM masking (Devlin et al.): 15% of the real tokens are selected, without
//! replacement and at least one per sequence; of those 80% become `[MASK]`, 10% a random
//! token and 10% stay. Labels exist only at selected positions. The rate and the two
//! replacement shares are settings (`data.mask_prob`, `data.mask_replace_prob`,
//! `data.random_replace_prob`, named as in HF's `DataCollatorForLanguageModeling`).

use rand::seq::index::sample;
use rand::Rng;

use crate::tokenizer::SpecialIds;

/// Label value at positions that carry no MLM target.
pub const IGNORE: i64 = -100;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaskConfig {
    /// Share of the selectable tokens selected for prediction.
    pub prob: f64,
    /// Share of the selected tokens replaced by `[MASK]` (BERT: 0.8).
    pub mask_replace_prob: f64,
    /// Share of the selected tokens replaced by a random token (BERT: 0.1); the rest,
    /// `1 - mask_replace_prob - random_replace_prob`, stay as they are.
    pub random_replace_prob: f64,
    pub vocab_size: usize,
    pub specials: SpecialIds,
}

impl MaskConfig {
    /// BERT's recipe (Devlin et al. 2018): `prob` selected, 80% `[MASK]`, 10% random,
    /// 10% unchanged.
    pub fn bert(prob: f64, vocab_size: usize, specials: SpecialIds) -> Self {
        Self {
            prob,
            mask_replace_prob: 0.8,
            random_replace_prob: 0.1,
            vocab_size,
            specials,
        }
    }

    /// Whether masking may select `id` (every token but `[CLS]`, `[SEP]`, `[PAD]` and
    /// `[MASK]`; `[UNK]` may be selected).
    pub fn selectable(&self, id: u32) -> bool {
        let s = self.specials;
        id != s.cls && id != s.sep && id != s.pad && id != s.mask
    }

    /// Probability that a random replacement is `id` (uniform over the non-special
    /// ids, as [`random_token`] draws them).
    pub fn random_token_prob(&self, id: u32) -> f64 {
        if id as usize >= self.vocab_size || self.specials.contains(id) {
            return 0.0;
        }
        let s = self.specials;
        let mut ids = [s.pad, s.unk, s.cls, s.sep, s.mask];
        ids.sort_unstable();
        let mut specials = 0;
        for (i, &x) in ids.iter().enumerate() {
            if (x as usize) < self.vocab_size && (i == 0 || ids[i - 1] != x) {
                specials += 1;
            }
        }
        1.0 / (self.vocab_size - specials).max(1) as f64
    }
}

/// Masks `ids` in place and returns the labels (original id at selected positions,
/// [`IGNORE`] elsewhere). `[CLS]`, `[SEP]`, `[PAD]` and `[MASK]` are never selected.
pub fn mask_in_place(ids: &mut [u32], config: &MaskConfig, rng: &mut impl Rng) -> Vec<i64> {
    let s = config.specials;
    let candidates: Vec<usize> = (0..ids.len())
        .filter(|&i| config.selectable(ids[i]))
        .collect();
    let mut labels = vec![IGNORE; ids.len()];
    if candidates.is_empty() {
        return labels;
    }
    let count =
        ((candidates.len() as f64 * config.prob).round() as usize).clamp(1, candidates.len());
    for k in sample(rng, candidates.len(), count) {
        let pos = candidates[k];
        labels[pos] = ids[pos] as i64;
        let roll: f64 = rng.random();
        if roll < config.mask_replace_prob {
            ids[pos] = s.mask;
        } else if roll < config.mask_replace_prob + config.random_replace_prob {
            ids[pos] = random_token(config, rng);
        }
    }
    labels
}

/// A uniformly drawn non-special token.
fn random_token(config: &MaskConfig, rng: &mut impl Rng) -> u32 {
    loop {
        let id = rng.random_range(0..config.vocab_size as u32);
        if !config.specials.contains(id) {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::rng_for;

    const S: SpecialIds = SpecialIds::FIRST_FIVE;

    fn config() -> MaskConfig {
        MaskConfig::bert(0.15, 1000, S)
    }

    /// `[CLS] a.. [SEP] b.. [SEP] [PAD]..` with token ids 5..
    fn sequence(len_a: usize, len_b: usize, pad: usize, rng: &mut impl Rng) -> Vec<u32> {
        let mut ids = vec![S.cls];
        ids.extend((0..len_a).map(|_| rng.random_range(5..1000)));
        ids.push(S.sep);
        ids.extend((0..len_b).map(|_| rng.random_range(5..1000)));
        ids.push(S.sep);
        ids.extend(std::iter::repeat_n(S.pad, pad));
        ids
    }

    /// Selection rate and the [MASK], random and kept shares measured over 4,000
    /// masked sequences, checking the invariants on the way.
    fn measured_shares(config: &MaskConfig, seed: u64) -> (f64, f64, f64, f64) {
        let mut rng = rng_for(seed, "mask-test", 0);
        let (mut real, mut selected, mut as_mask, mut random, mut kept) = (0, 0, 0, 0, 0);
        for _ in 0..4000 {
            let original = sequence(
                rng.random_range(5..60),
                rng.random_range(5..60),
                7,
                &mut rng,
            );
            let mut ids = original.clone();
            let labels = mask_in_place(&mut ids, config, &mut rng);
            for (i, &label) in labels.iter().enumerate() {
                let special = S.contains(original[i]);
                if !special {
                    real += 1;
                }
                if label == IGNORE {
                    assert_eq!(ids[i], original[i], "unselected positions are untouched");
                    continue;
                }
                assert!(!special, "a special token was selected");
                assert_eq!(label, original[i] as i64, "label is the original token");
                selected += 1;
                if ids[i] == S.mask {
                    as_mask += 1;
                } else if ids[i] == original[i] {
                    kept += 1;
                } else {
                    assert!(!S.contains(ids[i]), "random replacement is never special");
                    random += 1;
                }
            }
        }
        let f = |n: usize| n as f64 / selected as f64;
        (
            selected as f64 / real as f64,
            f(as_mask),
            f(random),
            f(kept),
        )
    }

    #[test]
    fn rates_match_the_recipe_over_many_sequences() {
        let (rate, mask, random, kept) = measured_shares(&config(), 1);
        assert!((rate - 0.15).abs() < 0.005, "selection rate {rate}");
        assert!((mask - 0.8).abs() < 0.01, "[MASK] share {mask}");
        // A random draw can hit the original token (1 in ~1000): counted as kept.
        assert!((random - 0.1).abs() < 0.01, "random share {random}");
        assert!((kept - 0.1).abs() < 0.01, "kept share {kept}");
    }

    #[test]
    fn other_rates_and_shares_are_followed() {
        let cases = [(0.4, 1.0, 0.0), (0.3, 0.5, 0.3), (0.15, 0.0, 0.0)];
        for (i, (prob, to_mask, to_random)) in cases.into_iter().enumerate() {
            let c = MaskConfig {
                prob,
                mask_replace_prob: to_mask,
                random_replace_prob: to_random,
                ..config()
            };
            let (rate, mask, random, kept) = measured_shares(&c, 10 + i as u64);
            let kept_expected = 1.0 - to_mask - to_random;
            assert!((rate - prob).abs() < 0.006, "{c:?}: selection rate {rate}");
            assert!((mask - to_mask).abs() < 0.01, "{c:?}: [MASK] share {mask}");
            assert!((random - to_random).abs() < 0.01, "{c:?}: random {random}");
            assert!((kept - kept_expected).abs() < 0.01, "{c:?}: kept {kept}");
        }
    }

    #[test]
    fn short_sequences_get_at_least_one_mask() {
        let mut rng = rng_for(2, "mask-test", 0);
        for len in 1..6 {
            let mut ids = sequence(len, 0, 3, &mut rng);
            ids.remove(len + 2); // drop the empty B's [SEP]
            let labels = mask_in_place(&mut ids, &config(), &mut rng);
            let n = labels.iter().filter(|&&l| l != IGNORE).count();
            assert_eq!(n, 1, "len {len}");
        }
    }

    #[test]
    fn masks_differ_between_draws_and_repeat_with_the_same_seed() {
        let base = sequence(40, 40, 0, &mut rng_for(3, "seq", 0));
        let draw = |seed| {
            let mut ids = base.clone();
            mask_in_place(&mut ids, &config(), &mut rng_for(seed, "mask", 0))
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
    }

    #[test]
    fn only_specials_means_no_labels() {
        let mut ids = vec![S.cls, S.sep, S.sep, S.pad];
        let labels = mask_in_place(&mut ids, &config(), &mut rng_for(4, "m", 0));
        assert!(labels.iter().all(|&l| l == IGNORE));
    }
}
