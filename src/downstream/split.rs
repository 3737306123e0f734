//! The stratified k-fold split of the labelled documents: every class spread evenly
//! over the folds, fixed by the seed.

use rand::seq::SliceRandom;

/// The fold (0..k) of each document: within each class, a seeded shuffle dealt round
/// the folds, so fold sizes per class differ by at most one.
pub fn stratified_folds(labels: &[usize], k: usize, seed: u64) -> Vec<usize> {
    let classes = labels.iter().max().map_or(0, |m| m + 1);
    let mut folds = vec![0; labels.len()];
    for class in 0..classes {
        let mut members: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        members.shuffle(&mut crate::data::rng_for(
            seed,
            "downstream-folds",
            class as u64,
        ));
        for (position, &i) in members.iter().enumerate() {
            folds[i] = position % k.max(1);
        }
    }
    folds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_are_stratified_balanced_and_seeded() {
        let labels: Vec<usize> = (0..103).map(|i| usize::from(i % 3 == 0)).collect();
        let folds = stratified_folds(&labels, 5, 7);
        for class in 0..2 {
            let mut sizes = [0usize; 5];
            for (i, &f) in folds.iter().enumerate() {
                if labels[i] == class {
                    sizes[f] += 1;
                }
            }
            let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            assert!(hi - lo <= 1, "{sizes:?}");
        }
        assert_eq!(folds, stratified_folds(&labels, 5, 7));
        assert_ne!(folds, stratified_folds(&labels, 5, 8));
    }
}
