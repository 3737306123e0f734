//! `bertwork finetune`: a classifier session made from a pretraining session's
//! weights (or, with `--from-scratch`, the same recipe from random initialisation),
//! fine-tuned and scored on the same stratified folds as the downstream probe, so its
//! accuracy sits beside the probe's and the baselines'.
//!
//! Each fold fine-tunes a fresh copy of the starting weights on the other folds and
//! is scored on its own documents; the pooled accuracy over every test document is the
//! result. A fold's result is saved when it ends: a resume (after a stop or a
//! `kill -9`) continues with the next fold and redoes an interrupted one from its start,
//! which gives the same numbers as an uninterrupted run (everything is seeded). Fold
//! 0's classifier is the session's model (`probe`, `export --hf`).

mod classifier;
pub mod config;
mod export;
mod import;
mod run;

pub use crate::session::finetune_state::{FinetuneState, FoldResult, STATE_FILE};
pub use classifier::BertForSequenceClassification;
pub use config::{FinetuneConfig, FINETUNE_CONFIG_FILE};
pub use export::export;
pub use import::import_classifier;

/// One row per logged interval and per test evaluation.
pub const RECORDS_FILE: &str = "finetune.csv";
/// The weights fine-tuning starts from (a copy of the source's checkpoint).
pub const PRETRAINED_FILE: &str = "pretrained.safetensors";

pub use run::run;

use anyhow::{bail, Context, Result};
use tch::{nn::VarStore, Device, Kind, Tensor};

use crate::model::BertConfig;
use crate::session::{Session, TOKENIZER_FILE, WEIGHTS_FILE};
use crate::tokenizer::WordPieceTokenizer;

/// A classifier session's model, for `probe` and `export`.
pub struct Classifier {
    pub vs: VarStore,
    pub model: BertForSequenceClassification,
    pub tokenizer: WordPieceTokenizer,
    pub state: FinetuneState,
    pub recipe: FinetuneConfig,
}

/// Loads a classifier session's fine-tuned model (fold 0's classifier).
///
/// Errors: not a classifier session, or its first fold has not finished yet.
pub fn load(session: &Session) -> Result<Classifier> {
    let Some(state) = FinetuneState::read(session)? else {
        bail!(
            "session `{}` is not a classifier session (make one with `bertwork finetune {}`)",
            session.name,
            session.name
        );
    };
    if !session.path(WEIGHTS_FILE).exists() {
        bail!(
            "session `{}` has no fine-tuned weights yet: its first fold has not finished; continue it with `bertwork resume {}`",
            session.name,
            session.name
        );
    }
    let config = session.load_config()?;
    let recipe = read_recipe(session)?;
    let tokenizer = WordPieceTokenizer::load(&session.path(TOKENIZER_FILE))?;
    let mut model_config = config.model.clone();
    model_config.dropout = recipe.dropout;
    let bert = BertConfig::new(tokenizer.vocab_size(), config.dims()?, &model_config);
    let mut vs = VarStore::new(Device::Cpu);
    let model = BertForSequenceClassification::new(&vs.root(), &bert, state.classes.len());
    vs.load_partial(session.path(WEIGHTS_FILE))
        .with_context(|| format!("cannot load the weights of session `{}`", session.name))?;
    Ok(Classifier {
        vs,
        model,
        tokenizer,
        state,
        recipe,
    })
}

/// The session's recipe.
///
/// Errors: a missing or damaged `finetune.toml`.
pub fn read_recipe(session: &Session) -> Result<FinetuneConfig> {
    let path = session.path(FINETUNE_CONFIG_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("{} is damaged", path.display()))
}

/// The class probabilities of `text` (softmax of the logits, in class-id order).
///
/// Errors: the tokenizer's.
pub fn classify(c: &Classifier, text: &str) -> Result<Vec<f64>> {
    let _guard = tch::no_grad_guard();
    // The text as given, as HF's pipeline tokenizes it.
    let ids = c.tokenizer.encode(text)?;
    let s = c.tokenizer.specials;
    let input = crate::downstream::with_specials(&ids, c.recipe.max_seq_len, s.cls, s.sep);
    let n = input.len() as i64;
    let ids = Tensor::from_slice(&input).view([1, n]);
    let mask = ids.ones_like();
    let probs = c.model.forward(&ids, &mask, false).softmax(-1, Kind::Float);
    Ok(Vec::<f64>::try_from(probs.view(-1).to_kind(Kind::Double))?)
}

/// Writes a classifier's weights (`bert.*`, `classifier.*`; the unused MLM and NSP heads
/// left out), sorted by name, as safetensors.
///
/// Errors: the write.
pub fn save_classifier(vs: &VarStore, path: &std::path::Path) -> Result<()> {
    let tensors: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .filter(|(n, _)| !n.starts_with("cls."))
        .collect();
    let mut tensors = tensors;
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    crate::hf::write_safetensors(path, &tensors)
}
