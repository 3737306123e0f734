//! Lockstep A/B on one run: steps cut into blocks, alternately with and without the
//! thing measured (A B B A A B B A ..., so neither side always comes first), compared
//! by the median of per-block medians and by the median of neighbouring pairs' ratios.
//! Both sides see the same machine noise.

use crate::stats::median;

/// Whether block `i` has the thing measured: A B B A A B B A ...
pub fn treated(i: u64) -> bool {
    matches!(i % 4, 1 | 2)
}

/// The comparison of per-block samples (tokens/s), block `i` treated per [`treated`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    /// Median over treated blocks of each block's median.
    pub treated: f64,
    /// The same over untreated blocks.
    pub plain: f64,
    /// Median of the ratios treated / plain of neighbouring block pairs (0-1, 2-3, ...).
    pub paired_ratio: f64,
}

pub fn compare(per_block: &mut [Vec<f64>]) -> Comparison {
    let rates: Vec<f64> = per_block.iter_mut().map(|v| median(v)).collect();
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for (i, r) in rates.iter().enumerate() {
        if treated(i as u64) {
            on.push(*r);
        } else {
            off.push(*r);
        }
    }
    let mut pairs: Vec<f64> = rates
        .chunks(2)
        .enumerate()
        .filter(|(_, c)| c.len() == 2)
        .map(|(k, c)| {
            if treated(2 * k as u64) {
                c[0] / c[1]
            } else {
                c[1] / c[0]
            }
        })
        .collect();
    Comparison {
        treated: median(&mut on),
        plain: median(&mut off),
        paired_ratio: median(&mut pairs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_compare_treated_over_plain() {
        // Blocks: plain 100, treated 90, treated 80, plain 100.
        let mut blocks = vec![
            vec![100.0, 99.0, 101.0],
            vec![90.0],
            vec![80.0],
            vec![100.0],
        ];
        let c = compare(&mut blocks);
        assert_eq!((c.treated, c.plain), (90.0, 100.0));
        // Pairs: 90/100 and 80/100; the upper middle of two is 0.9.
        assert!((c.paired_ratio - 0.9).abs() < 1e-12);
    }
}
