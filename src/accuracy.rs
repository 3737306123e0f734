//! A classification accuracy with its 95% interval: the unit every downstream score
//! (probe, baselines, fine-tunes) is reported in.

use serde::{Deserialize, Serialize};

/// The 95% half-width of an accuracy `p` measured on `n` documents, by the normal
/// approximation to the binomial: 1.96 sqrt(p (1 - p) / n). 0 when `n` is 0.
pub fn half_width_95(p: f64, n: usize) -> f64 {
    if n == 0 {
        return 0.0;
    }
    1.96 * (p * (1.0 - p) / n as f64).max(0.0).sqrt()
}

/// An accuracy with its 95% interval, on `documents` scored documents.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Accuracy {
    /// Share of documents classified correctly, 0..1.
    pub accuracy: f64,
    /// 95% half-width ([`half_width_95`]), same unit.
    pub half_width: f64,
    pub documents: usize,
}

impl Accuracy {
    /// `correct` of `documents`, with its interval.
    pub fn of(correct: usize, documents: usize) -> Self {
        let accuracy = correct as f64 / documents.max(1) as f64;
        Self {
            accuracy,
            half_width: half_width_95(accuracy, documents),
            documents,
        }
    }

    /// `86.6% ±1.5`.
    pub fn describe(&self) -> String {
        format!(
            "{:.1}% ±{:.1}",
            100.0 * self.accuracy,
            100.0 * self.half_width
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_is_the_normal_approximation() {
        // 1.96 sqrt(0.8 * 0.2 / 400) = 0.0392
        assert!((half_width_95(0.8, 400) - 0.0392).abs() < 1e-9);
        assert_eq!(half_width_95(0.5, 0), 0.0);
        let a = Accuracy::of(1732, 2000);
        assert!((a.accuracy - 0.866).abs() < 1e-12);
        assert_eq!(a.describe(), "86.6% ±1.5");
    }
}
