//! Learning rate: linear warmup to the peak, then the `train.lr_scheduler` shape:
//! linear decay to zero at the last step (BERT), the peak throughout
//! (`constant_with_warmup`), or warmup-stable-decay (Hu et al. 2024): the peak until the
//! last `train.decay_ratio` of the steps, then linear decay to zero.

use super::{LrScheduler, TrainConfig};

/// Learning rate for optimizer step `step` (0-based) of `total`, from `train.lr`,
/// `train.warmup_steps`, `train.lr_scheduler` and `train.decay_ratio`.
pub fn lr_at(train: &TrainConfig, step: u64, total: u64) -> f64 {
    let (peak, warmup) = (train.lr, train.warmup_steps);
    if step < warmup {
        return peak * (step + 1) as f64 / warmup as f64;
    }
    let decay_start = match train.lr_scheduler {
        LrScheduler::ConstantWithWarmup => return peak,
        LrScheduler::Linear => warmup,
        LrScheduler::WarmupStableDecay => {
            let decay = (total as f64 * train.decay_ratio).round() as u64;
            total.saturating_sub(decay).max(warmup)
        }
    };
    if step < decay_start || total <= decay_start {
        return peak;
    }
    let left = total.saturating_sub(step) as f64 / (total - decay_start) as f64;
    peak * left.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn train(kind: LrScheduler) -> TrainConfig {
        TrainConfig {
            lr: 1.0,
            warmup_steps: 10,
            lr_scheduler: kind,
            decay_ratio: 0.2,
            ..TrainConfig::default()
        }
    }

    #[test]
    fn linear_warms_up_then_decays_to_zero() {
        let t = train(LrScheduler::Linear);
        let lr = |s| lr_at(&t, s, 110);
        assert!((lr(0) - 0.1).abs() < 1e-12);
        assert!((lr(9) - 1.0).abs() < 1e-12);
        assert!((lr(10) - 1.0).abs() < 1e-12);
        assert!((lr(60) - 0.5).abs() < 1e-12);
        assert_eq!(lr(110), 0.0);
        assert_eq!(lr(500), 0.0);
        let all: Vec<f64> = (10..110).map(lr).collect();
        assert!(
            all.windows(2).all(|w| w[1] < w[0]),
            "strictly decreasing after warmup"
        );
    }

    #[test]
    fn constant_holds_the_peak_after_warmup() {
        let t = train(LrScheduler::ConstantWithWarmup);
        assert!((lr_at(&t, 4, 100) - 0.5).abs() < 1e-12);
        for s in [10, 50, 99, 100, 1000] {
            assert_eq!(lr_at(&t, s, 100), 1.0, "step {s}");
        }
    }

    #[test]
    fn warmup_stable_decay_holds_then_decays_over_the_last_share() {
        let t = train(LrScheduler::WarmupStableDecay);
        let lr = |s| lr_at(&t, s, 110);
        assert!((lr(0) - 0.1).abs() < 1e-12, "same warmup");
        // 22 decay steps: the peak through step 88, then linear to zero at 110.
        for s in 10..=88 {
            assert_eq!(lr(s), 1.0, "step {s}");
        }
        assert!((lr(99) - 0.5).abs() < 1e-12);
        assert_eq!(lr(110), 0.0);
        let decay: Vec<f64> = (88..=110).map(lr).collect();
        assert!(decay.windows(2).all(|w| w[1] < w[0]));
        // A plan shorter than the warmup never decays below the warmup's end.
        assert!((lr_at(&t, 9, 5) - 1.0).abs() < 1e-12);
    }
}
