//! Learning rate: linear warmup to the peak, then linear decay to zero at the last step.

/// Learning rate for optimizer step `step` (0-based) of `total`.
pub fn lr_at(peak: f64, step: u64, warmup: u64, total: u64) -> f64 {
    if step < warmup {
        return peak * (step + 1) as f64 / warmup as f64;
    }
    if total <= warmup {
        return peak;
    }
    let left = total.saturating_sub(step) as f64 / (total - warmup) as f64;
    peak * left.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warms_up_then_decays_to_zero() {
        let lr = |s| lr_at(1.0, s, 10, 110);
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
}
