//! Loading a saved session's tokenizer and weights for inference.

use anyhow::{Context, Result};
use tch::{nn::VarStore, Device};

use crate::model::{BertConfig, BertForPreTraining};
use crate::session::{Session, TOKENIZER_FILE, WEIGHTS_FILE};
use crate::tokenizer::WordPieceTokenizer;

pub struct SavedModel {
    pub vs: VarStore,
    pub model: BertForPreTraining,
    pub tokenizer: WordPieceTokenizer,
    pub device: Device,
}

pub fn load(session: &Session, device: Device) -> Result<SavedModel> {
    let config = session.load_config()?;
    let tokenizer = WordPieceTokenizer::load(&session.path(TOKENIZER_FILE))
        .with_context(|| format!("session `{}` has no usable tokenizer", session.name))?;
    let bert = BertConfig::new(tokenizer.vocab_size(), config.dims()?, &config.model);
    let mut vs = VarStore::new(device);
    let model = BertForPreTraining::new(&vs.root(), &bert);
    let weights = session.path(WEIGHTS_FILE);
    if !weights.exists() {
        anyhow::bail!(
            "session `{}` has no saved weights yet ({} is missing); train it first",
            session.name,
            weights.display()
        );
    }
    vs.load(&weights)
        .with_context(|| format!("cannot load weights {}", weights.display()))?;
    if let Some(name) = crate::model::first_non_finite(&vs) {
        anyhow::bail!(
            "session `{}`'s weights are broken: `{name}` holds infinite or NaN values, so its answers would be NaN; resume it from a checkpoint with finite weights, or import the model again",
            session.name
        );
    }
    Ok(SavedModel {
        vs,
        model,
        tokenizer,
        device,
    })
}
