//! Everything the charts plot: step metrics, held-out evaluations, markers where
//! hyperparameters changed, debiased exponential smoothing and the best value of a
//! series.

use crate::protocol::{EvalMetrics, StepMetrics};

#[derive(Debug, Clone, Default)]
pub struct History {
    pub steps: Vec<StepMetrics>,
    pub evals: Vec<EvalMetrics>,
    /// (step, text) where a change took effect.
    pub markers: Vec<(u64, String)>,
}

/// Which part of the run the charts show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Every point since the start.
    All,
    /// The last `RECENT` logged points.
    Recent,
}

pub const RECENT: usize = 100;

impl History {
    pub fn last(&self) -> Option<&StepMetrics> {
        self.steps.last()
    }

    pub fn last_eval(&self) -> Option<&EvalMetrics> {
        self.evals.last()
    }

    /// The logged points inside `window`.
    pub fn visible(&self, window: Window) -> &[StepMetrics] {
        match window {
            Window::All => &self.steps,
            Window::Recent => &self.steps[self.steps.len().saturating_sub(RECENT)..],
        }
    }

    /// (step, value) pairs of one metric.
    pub fn series(&self, window: Window, f: impl Fn(&StepMetrics) -> f64) -> Vec<(f64, f64)> {
        self.visible(window)
            .iter()
            .map(|m| (m.step as f64, f(m)))
            .collect()
    }

    /// Held-out points at or after the first visible step.
    pub fn eval_series(&self, window: Window, f: impl Fn(&EvalMetrics) -> f64) -> Vec<(f64, f64)> {
        let from = self.visible(window).first().map_or(0, |m| m.step);
        self.evals
            .iter()
            .filter(|e| e.step >= from)
            .map(|e| (e.step as f64, f(e)))
            .collect()
    }
}

/// Which way a metric improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Losses.
    Lower,
    /// Accuracies.
    Higher,
}

/// The best finite value among (step, value) points, with its step; the earliest on
/// ties. None when no value is finite.
pub fn best(points: impl IntoIterator<Item = (u64, f64)>, better: Better) -> Option<(u64, f64)> {
    points
        .into_iter()
        .filter(|(_, v)| v.is_finite())
        .fold(None, |found, (step, v)| match found {
            Some((_, b)) if !improves(v, b, better) => found,
            _ => Some((step, v)),
        })
}

fn improves(v: f64, than: f64, better: Better) -> bool {
    match better {
        Better::Lower => v < than,
        Better::Higher => v > than,
    }
}

/// Exponential moving average with bias correction (as in Adam / TensorBoard):
/// s_t = a s_{t-1} + (1 - a) x_t, reported as s_t / (1 - a^t), so early points are not
/// dragged towards zero.
pub fn debiased_ema(points: &[(f64, f64)], alpha: f64) -> Vec<(f64, f64)> {
    let mut s = 0.0;
    let mut weight = 1.0;
    points
        .iter()
        .map(|&(x, y)| {
            s = alpha * s + (1.0 - alpha) * y;
            weight *= alpha;
            (x, s / (1.0 - weight))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ema_of_a_constant_is_the_constant_from_the_first_point() {
        let pts: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 5.0)).collect();
        for (_, y) in debiased_ema(&pts, 0.9) {
            assert!((y - 5.0).abs() < 1e-12);
        }
    }

    #[test]
    fn the_best_value_is_the_first_of_the_lowest_or_highest_finite_ones() {
        let pts = [(10, f64::NAN), (20, 3.0), (30, 2.0), (40, 2.0), (50, 4.0)];
        assert_eq!(best(pts, Better::Lower), Some((30, 2.0)));
        assert_eq!(best(pts, Better::Higher), Some((50, 4.0)));
        assert_eq!(best([(1, f64::NAN)], Better::Lower), None);
    }

    #[test]
    fn ema_follows_a_step_change_gradually() {
        let pts: Vec<(f64, f64)> = (0..50)
            .map(|i| (i as f64, if i < 25 { 0.0 } else { 1.0 }))
            .collect();
        let s = debiased_ema(&pts, 0.8);
        assert!(s[25].1 > 0.0 && s[25].1 < 0.5);
        assert!(s[49].1 > 0.99);
        assert!(s.windows(2).skip(25).all(|w| w[1].1 >= w[0].1));
        assert_eq!(debiased_ema(&pts, 0.0), pts, "alpha 0 is no smoothing");
    }
}
