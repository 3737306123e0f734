//! Small statistics shared by the benchmarks.

/// The median of `values`, which it sorts in place: the upper of the two middle values
/// for an even count (no averaging, so the result is always one of the samples), and 0
/// for none. NaNs sort last (`f64::total_cmp`).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_is_the_middle_sample_the_upper_one_for_even_counts() {
        assert_eq!(median(&mut []), 0.0);
        assert_eq!(median(&mut [4.0]), 4.0);
        let mut odd = [5.0, 1.0, 3.0];
        assert_eq!(median(&mut odd), 3.0);
        assert_eq!(odd, [1.0, 3.0, 5.0], "sorted in place");
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 3.0);
        assert_eq!(median(&mut [2.0, f64::NAN, 1.0]), 2.0);
    }
}
