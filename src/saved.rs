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

/// The session's latest weights (`model.safetensors`).
pub fn load(session: &Session, device: Device) -> Result<SavedModel> {
    load_from(session, None, device)
}

/// The session's latest weights, or with `step` those of its checkpoint of that step.
///
/// Errors: no such checkpoint (the message lists the steps kept), missing or broken
/// weights, an unreadable tokenizer or config.
pub fn load_from(session: &Session, step: Option<u64>, device: Device) -> Result<SavedModel> {
    let config = session.load_config()?;
    let tokenizer = WordPieceTokenizer::load(&session.path(TOKENIZER_FILE))
        .with_context(|| format!("session `{}` has no usable tokenizer", session.name))?;
    let bert = BertConfig::new(tokenizer.vocab_size(), config.dims()?, &config.model);
    let mut vs = VarStore::new(device);
    let model = BertForPreTraining::new(&vs.root(), &bert);
    let weights = match step {
        None => session.path(WEIGHTS_FILE),
        Some(step) => checkpoint_weights(session, step)?,
    };
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

/// The weights file of `session`'s checkpoint of `step`.
///
/// Errors: no such checkpoint (the message lists the steps kept).
pub fn checkpoint_weights(session: &Session, step: u64) -> Result<std::path::PathBuf> {
    let kept = crate::train::checkpoint::list(&session.path(crate::session::CHECKPOINTS_DIR));
    match kept.iter().find(|(s, _)| *s == step) {
        Some((_, dir)) => Ok(dir.join(WEIGHTS_FILE)),
        None => {
            let steps: Vec<String> = kept.iter().map(|(s, _)| s.to_string()).collect();
            anyhow::bail!(
                "session `{}` has no checkpoint of step {step}; it keeps steps: {}",
                session.name,
                if steps.is_empty() {
                    "none".into()
                } else {
                    steps.join(", ")
                }
            )
        }
    }
}
