//! Downstream quality on the corpus's own labels: the labelled documents, their
//! stratified folds, the linear probe on frozen features read at every held-out
//! evaluation, and the baselines it is judged against (majority class, TF-IDF logistic
//! regression, the untrained encoder).
//!
//! The probe never changes training: it runs in eval mode without gradients and draws
//! no random numbers.

mod baselines;
mod features;
pub mod labels;
pub mod logistic;
mod split;
pub mod tfidf;

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use tch::{Device, Tensor};

use crate::config::Config;
use crate::corpus::sentences::document_sentences;
use crate::corpus::CorpusSource;
use crate::data::TokenizedCorpus;
use crate::model::BertForPreTraining;
use crate::protocol::{Accuracy, DownstreamReading, DownstreamSetup};
use crate::tokenizer::WordPieceTokenizer;
use labels::Labelled;

/// The session file with the label column, classes, split and baselines.
pub const SETUP_FILE: &str = "downstream.json";
/// The session file listing each scored document's corpus row, class and fold.
pub const SPLIT_FILE: &str = "downstream_split.csv";
/// Folds of the stratified split.
pub const FOLDS: usize = 5;
/// Labelled documents scored at most (a seeded sample beyond that), so that a reading
/// costs the same on a corpus of any size.
pub const MAX_DOCUMENTS: usize = 2000;

/// The probe's classifier: scikit-learn's default C = 1 on standardised features.
const PROBE_C: f64 = 1.0;
/// Adam steps of each probe fit: 60 at lr 0.2 reads within 0.5 points of 300 at 0.05
/// (the default run's readings) at a fifth of the cost.
const PROBE_STEPS: usize = 60;
/// Tokens of each document the probe reads (its head, `[CLS]` and `[SEP]` included;
/// at most `data.max_seq_len`). Measured on the default run's 11 readings: 96 tokens
/// read 1.2 points below 128 on average (inside the ±2.2 interval at every reading) for
/// 75% of the feature time, which keeps a reading under 5% of an epoch; 64 lost 2.5.
pub const PROBE_TOKENS: usize = 96;

/// The TF-IDF baseline's classifier: C = 10, the better of 1 and 10 on the embedded
/// sample.
const TFIDF_C: f64 = 10.0;

/// The labelled documents of a session, ready to be scored.
pub struct Downstream {
    pub column: String,
    pub classes: Vec<String>,
    /// Labelled rows of the whole corpus per class.
    pub counts: Vec<usize>,
    /// Corpus row (1-based) of each scored document.
    pub rows: Vec<u64>,
    pub labels: Vec<usize>,
    pub folds: Vec<usize>,
    /// Only fold 0 is tested, and its documents are kept out of pretraining.
    pub strict: bool,
    /// Cleaned text of each document (the text pretraining sees), for TF-IDF.
    texts: Vec<String>,
    /// `[CLS] tokens [SEP]`, the head of each document up to [`PROBE_TOKENS`].
    inputs: Vec<Vec<i64>>,
    /// Every token of each document (no specials), for fine-tuning at other lengths.
    ids: Vec<Vec<u32>>,
    cls: u32,
    sep: u32,
    /// Sentences of each document as pretraining tokenizes them (strict mode's match).
    sentences: Vec<Vec<String>>,
    pad: i64,
}

impl Downstream {
    /// The session's labelled documents: the column recorded in `dir`'s
    /// [`SETUP_FILE`], else the one `data.label_column` names or detects. None when
    /// the corpus has no labels or they are turned off.
    ///
    /// Errors: a named column that is missing or does not hold classes, too few
    /// labelled documents for the split, an unreadable corpus or setup file.
    pub fn prepare(
        config: &Config,
        dir: &Path,
        source: &CorpusSource,
        tokenizer: &WordPieceTokenizer,
    ) -> Result<Option<Self>> {
        let data = &config.data;
        if data.label_column == "none" {
            return Ok(None);
        }
        let column = match load_setup(dir)? {
            Some(setup) => Some(setup.label_column),
            None => labels::resolve_column(source, &data.text_column, &data.label_column)?,
        };
        let Some(column) = column else {
            return Ok(None);
        };
        let seed = config.train.seed;
        let l = labels::read_labelled(
            source,
            &data.text_column,
            &column,
            FOLDS,
            MAX_DOCUMENTS,
            seed,
        )?;
        Ok(Some(Self::from_labelled(
            l,
            tokenizer,
            data.max_seq_len,
            data.downstream_strict,
            seed,
        )?))
    }

    fn from_labelled(
        l: Labelled,
        tokenizer: &WordPieceTokenizer,
        max_seq_len: usize,
        strict: bool,
        seed: u64,
    ) -> Result<Self> {
        let s = tokenizer.specials;
        let (mut rows, mut labels, mut texts, mut sentences) = (vec![], vec![], vec![], vec![]);
        for ((row, label), raw) in l.rows.iter().zip(&l.labels).zip(&l.texts) {
            let doc = document_sentences(raw);
            if doc.is_empty() {
                continue;
            }
            rows.push(*row);
            labels.push(*label);
            texts.push(doc.join(" "));
            sentences.push(doc);
        }
        let encoded = tokenizer.encode_batch(texts.iter().map(String::as_str).collect())?;
        let keep = max_seq_len.clamp(3, PROBE_TOKENS.max(3));
        let inputs = encoded
            .iter()
            .map(|ids| with_specials(ids, keep, s.cls, s.sep))
            .collect();
        let folds = split::stratified_folds(&labels, FOLDS, seed);
        Ok(Self {
            column: l.column,
            classes: l.classes,
            counts: l.counts,
            rows,
            labels,
            folds,
            strict,
            texts,
            inputs,
            ids: encoded,
            cls: s.cls,
            sep: s.sep,
            sentences,
            pad: s.pad as i64,
        })
    }

    /// `[CLS]` + the head of each document + `[SEP]`, at most `max_len` tokens.
    pub fn inputs(&self, max_len: usize) -> Vec<Vec<i64>> {
        self.ids
            .iter()
            .map(|ids| with_specials(ids, max_len, self.cls, self.sep))
            .collect()
    }

    /// The folds that are tested in turn, in order.
    pub fn test_fold_list(&self) -> Vec<usize> {
        self.test_folds().collect()
    }

    /// The folds that are tested in turn.
    fn test_folds(&self) -> std::ops::Range<usize> {
        if self.strict {
            0..1
        } else {
            0..FOLDS
        }
    }

    /// Documents scored in each reading (the test folds' documents).
    pub fn tested(&self) -> usize {
        let folds = self.test_folds();
        self.folds.iter().filter(|f| folds.contains(f)).count()
    }

    /// Accuracy over the test folds of a classifier fit on the other folds by `fit`,
    /// which gets (train rows, test rows) and returns the test predictions.
    fn cross_validate(&self, mut fit: impl FnMut(&[usize], &[usize]) -> Vec<usize>) -> Accuracy {
        let (mut correct, mut total) = (0, 0);
        for f in self.test_folds() {
            let (test, train): (Vec<usize>, Vec<usize>) =
                (0..self.labels.len()).partition(|&i| self.folds[i] == f);
            let predicted = fit(&train, &test);
            correct += test
                .iter()
                .zip(&predicted)
                .filter(|(&i, &p)| self.labels[i] == p)
                .count();
            total += test.len();
        }
        Accuracy::of(correct, total)
    }

    fn label_tensor(&self, rows: &[usize]) -> Tensor {
        Tensor::from_slice(
            &rows
                .iter()
                .map(|&i| self.labels[i] as i64)
                .collect::<Vec<_>>(),
        )
    }

    /// The linear probe on `features` ([N, D], the documents' order).
    fn probe(&self, features: &Tensor) -> Accuracy {
        let classes = self.classes.len() as i64;
        self.cross_validate(|train, test| {
            let pick = |rows: &[usize]| {
                features.index_select(
                    0,
                    &Tensor::from_slice(&rows.iter().map(|&i| i as i64).collect::<Vec<_>>()),
                )
            };
            let (x, xt) = logistic::standardise(&pick(train), &pick(test));
            let settings = logistic::Settings {
                l2: 1.0 / (PROBE_C * train.len() as f64),
                steps: PROBE_STEPS,
                lr: 0.2,
            };
            let (x, xt) = (logistic::Features::Dense(x), logistic::Features::Dense(xt));
            let fitted = logistic::fit(&x, &self.label_tensor(train), classes, settings);
            fitted.classes(&xt)
        })
    }

    /// Reads the probe on `model` (frozen: eval mode, no gradients, no random draws).
    pub fn read(
        &self,
        model: &BertForPreTraining,
        device: Device,
        step: u64,
        elapsed_s: f64,
    ) -> DownstreamReading {
        let start = Instant::now();
        let (mean, cls) = features::encoder_features(model, &self.inputs, self.pad, device);
        let (mean_pooled, cls_acc) = (self.probe(&mean), self.probe(&cls));
        DownstreamReading {
            step,
            elapsed_s,
            mean_pooled,
            cls: cls_acc,
            seconds: start.elapsed().as_secs_f64(),
        }
    }

    /// The setup a front end shows, with the baselines computed now and `untrained`.
    pub fn setup(&self, untrained: Option<Accuracy>) -> DownstreamSetup {
        DownstreamSetup {
            label_column: self.column.clone(),
            classes: self
                .classes
                .iter()
                .cloned()
                .zip(self.counts.iter().copied())
                .collect(),
            documents: self.labels.len(),
            folds: FOLDS,
            strict: self.strict,
            majority: self.majority(),
            tfidf: self.tfidf(),
            untrained,
        }
    }

    /// Writes [`SPLIT_FILE`]: `row,label,fold,tested` for every scored document, so that
    /// anyone can recompute a baseline on exactly these rows.
    pub fn write_split(&self, dir: &Path) -> Result<()> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["row", "label", "fold", "tested"])?;
        let tested = self.test_folds();
        for i in 0..self.rows.len() {
            w.write_record([
                self.rows[i].to_string(),
                self.classes[self.labels[i]].clone(),
                self.folds[i].to_string(),
                tested.contains(&self.folds[i]).to_string(),
            ])?;
        }
        let bytes = w.into_inner().context("formatting the downstream split")?;
        crate::session::write_atomic(&dir.join(SPLIT_FILE), &bytes)
    }

    /// Strict mode: the indices in `all` (the whole token store, in row order) of the
    /// test documents, found by their tokens. Empty unless strict.
    ///
    /// Errors: a test document that is not in the store (the corpus changed).
    pub fn store_documents(
        &self,
        all: &TokenizedCorpus,
        tokenizer: &WordPieceTokenizer,
    ) -> Result<Vec<usize>> {
        if !self.strict {
            return Ok(Vec::new());
        }
        let tested: Vec<usize> = (0..self.rows.len())
            .filter(|&i| self.folds[i] == 0)
            .collect();
        let docs: Vec<Vec<String>> = tested.iter().map(|&i| self.sentences[i].clone()).collect();
        let mut found = Vec::with_capacity(tested.len());
        let mut encoded: Vec<Vec<u32>> = Vec::new();
        crate::data::tokenized::encode_documents(&docs, tokenizer, |sentences| {
            encoded.push(sentences.concat());
            Ok(())
        })?;
        let n = all.num_documents();
        for (k, &i) in tested.iter().enumerate() {
            // A document's index is its row's, less the rows before it without text.
            let guess = (self.rows[i] as usize)
                .saturating_sub(1)
                .min(n.saturating_sub(1));
            let hit = (0..=guess.min(4096)).map(|back| guess - back).find(|&d| {
                all.document(d)
                    .flatten()
                    .copied()
                    .eq(encoded[k].iter().copied())
            });
            match hit {
                Some(d) => found.push(d),
                None => bail!(
                    "downstream: row {} of the corpus is not among the documents read for pretraining; the corpus changed while it was read, run again",
                    self.rows[i]
                ),
            }
        }
        Ok(found)
    }
}

/// `[CLS]` + the head of `ids` + `[SEP]`, at most `max_len` (>= 2) tokens.
pub fn with_specials(ids: &[u32], max_len: usize, cls: u32, sep: u32) -> Vec<i64> {
    let keep = max_len.saturating_sub(2);
    let mut v = Vec::with_capacity(keep.min(ids.len()) + 2);
    v.push(cls as i64);
    v.extend(ids.iter().take(keep).map(|&t| t as i64));
    v.push(sep as i64);
    v
}

/// The setup recorded in `dir`, if any.
///
/// Errors: a damaged file.
pub fn load_setup(dir: &Path) -> Result<Option<DownstreamSetup>> {
    let path = dir.join(SETUP_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).with_context(|| {
            format!(
                "{} is damaged; delete it to compute it again",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Writes `setup` as `dir`'s [`SETUP_FILE`].
pub fn save_setup(dir: &Path, setup: &DownstreamSetup) -> Result<()> {
    let json = serde_json::to_vec_pretty(setup)?;
    crate::session::write_atomic(&dir.join(SETUP_FILE), &json)
}

#[cfg(test)]
mod tests;
