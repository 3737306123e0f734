//! The baselines the probe is judged against, on the same folds: the majority class
//! and TF-IDF with logistic regression.

use super::{logistic, tfidf, Downstream, TFIDF_C};
use crate::protocol::Accuracy;

impl Downstream {
    /// Always the most frequent class of the training folds.
    pub fn majority(&self) -> Accuracy {
        let classes = self.classes.len();
        self.cross_validate(|train, test| {
            let mut counts = vec![0usize; classes];
            for &i in train {
                counts[self.labels[i]] += 1;
            }
            let best = (0..classes).max_by_key(|&c| (counts[c], std::cmp::Reverse(c)));
            vec![best.unwrap_or(0); test.len()]
        })
    }

    /// TF-IDF unigrams + bigrams, L2 logistic regression, fit per fold on the
    /// training folds' documents only.
    pub fn tfidf(&self) -> Accuracy {
        let terms: Vec<Vec<String>> = crate::parallel::map_chunks(&self.texts, |part| {
            part.iter().map(|t| tfidf::terms(t)).collect::<Vec<_>>()
        })
        .into_iter()
        .flatten()
        .collect();
        let classes = self.classes.len() as i64;
        self.cross_validate(|train, test| {
            let docs = |rows: &[usize]| {
                rows.iter()
                    .map(|&i| terms[i].as_slice())
                    .collect::<Vec<_>>()
            };
            let vectoriser = tfidf::Tfidf::fit(&docs(train));
            let (x, xt) = (
                vectoriser.transform(&docs(train)),
                vectoriser.transform(&docs(test)),
            );
            let settings = logistic::Settings {
                l2: 1.0 / (TFIDF_C * train.len() as f64),
                steps: 300,
                lr: 0.1,
            };
            let fitted = logistic::fit(&x, &self.label_tensor(train), classes, settings);
            fitted.classes(&xt)
        })
    }
}
