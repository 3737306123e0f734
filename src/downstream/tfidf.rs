//! The bag-of-words baseline: TF-IDF of word unigrams and bigrams as scikit-learn's
//! `TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)` computes it
//! (lower-cased words of two or more word characters; smooth idf
//! ln((1 + n) / (1 + df)) + 1; tf 1 + ln(count); rows L2-normalised), as sparse
//! libtorch tensors.
//!
//! Written here because no maintained Rust crate computes scikit-learn's TF-IDF with
//! n-grams into a sparse matrix libtorch can use; it is a few lines over `regex`.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::logistic::Features;

/// The terms of one document: its words (scikit-learn's default token pattern,
/// lower-cased) and every pair of neighbouring words.
pub fn terms(text: &str) -> Vec<String> {
    static WORD: OnceLock<regex::Regex> = OnceLock::new();
    let word = WORD.get_or_init(|| regex::Regex::new(r"\b\w\w+\b").expect("a valid pattern"));
    let lower = text.to_lowercase();
    let words: Vec<&str> = word.find_iter(&lower).map(|m| m.as_str()).collect();
    let mut out: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    out.extend(words.windows(2).map(|p| format!("{} {}", p[0], p[1])));
    out
}

/// A vocabulary and idf fitted on training documents.
pub struct Tfidf {
    index: HashMap<String, usize>,
    idf: Vec<f32>,
}

impl Tfidf {
    /// Terms in at least 2 of `docs` (each given as its [`terms`]).
    pub fn fit(docs: &[&[String]]) -> Self {
        let mut df: HashMap<&str, usize> = HashMap::new();
        for doc in docs {
            let mut unique: Vec<&str> = doc.iter().map(String::as_str).collect();
            unique.sort_unstable();
            unique.dedup();
            for t in unique {
                *df.entry(t).or_default() += 1;
            }
        }
        let mut kept: Vec<(&str, usize)> = df.into_iter().filter(|&(_, c)| c >= 2).collect();
        kept.sort_unstable();
        let n = docs.len() as f64;
        let idf = kept
            .iter()
            .map(|&(_, c)| (((1.0 + n) / (1.0 + c as f64)).ln() + 1.0) as f32)
            .collect();
        let index = kept
            .iter()
            .enumerate()
            .map(|(i, &(t, _))| (t.to_string(), i))
            .collect();
        Self { index, idf }
    }

    /// Number of terms kept (columns).
    pub fn terms(&self) -> usize {
        self.idf.len()
    }

    /// The documents' rows as sparse features [docs, terms].
    pub fn transform(&self, docs: &[&[String]]) -> Features {
        let (mut rows, mut cols, mut values) = (Vec::new(), Vec::new(), Vec::new());
        for (r, doc) in docs.iter().enumerate() {
            let mut counts: HashMap<usize, u32> = HashMap::new();
            for t in doc.iter() {
                if let Some(&c) = self.index.get(t) {
                    *counts.entry(c).or_default() += 1;
                }
            }
            let mut entries: Vec<(usize, f32)> = counts
                .into_iter()
                .map(|(c, k)| (c, (1.0 + (k as f32).ln()) * self.idf[c]))
                .collect();
            entries.sort_unstable_by_key(|e| e.0);
            let norm = entries
                .iter()
                .map(|e| e.1 * e.1)
                .sum::<f32>()
                .sqrt()
                .max(1e-12);
            for (c, v) in entries {
                rows.push(r as i64);
                cols.push(c as i64);
                values.push(v / norm);
            }
        }
        Features::sparse(
            &rows,
            &cols,
            &values,
            (docs.len() as i64, self.terms().max(1) as i64),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_sklearn_words_and_bigrams() {
        assert_eq!(
            terms("A great film, GREAT acting!"),
            vec![
                "great",
                "film",
                "great",
                "acting",
                "great film",
                "film great",
                "great acting"
            ]
        );
    }

    #[test]
    fn rows_are_unit_length_with_smooth_idf_and_sublinear_tf() {
        let docs: Vec<Vec<String>> = ["good good film", "bad film", "good plot"]
            .iter()
            .map(|d| terms(d))
            .collect();
        let refs: Vec<&[String]> = docs.iter().map(Vec::as_slice).collect();
        let t = Tfidf::fit(&refs);
        // df >= 2: good (2 docs), film (2 docs)
        assert_eq!(t.terms(), 2);
        let Features::Sparse { x, .. } = t.transform(&refs) else {
            panic!("TF-IDF features are sparse")
        };
        let x = x.to_dense(None, false);
        let norms = x.square().sum_dim_intlist(1, false, tch::Kind::Float);
        let expect = [1.0f32, 1.0, 1.0];
        for (i, e) in expect.iter().enumerate() {
            assert!((norms.double_value(&[i as i64]) as f32 - e).abs() < 1e-6);
        }
        // doc 0: good tf 1 + ln 2, film tf 1; same idf ln(4/3) + 1 for both.
        let (g, f) = (x.double_value(&[0, 1]), x.double_value(&[0, 0]));
        let (good, film) = if t.index["good"] == 1 { (g, f) } else { (f, g) };
        assert!((good / film - (1.0 + 2f64.ln())).abs() < 1e-5);
    }
}
