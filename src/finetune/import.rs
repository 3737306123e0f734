//! A HuggingFace `BertForSequenceClassification` folder as a classifier session
//! (`bertwork import-hf`): fine-tuned elsewhere, so it has classes but no folds; `probe`
//! classifies with it and `export --hf` writes it back.

use anyhow::Result;
use tch::{nn::VarStore, Device};

use super::{BertForSequenceClassification, FinetuneConfig, FinetuneState, FINETUNE_CONFIG_FILE};
use crate::hf::ClassifierFolder;
use crate::session::WEIGHTS_FILE;

/// Heads a classifier folder does not carry: the pretraining heads, never used by a
/// classifier. Its pooler and `classifier.*` are required (they make the prediction).
const UNUSED_HEADS: &[&str] = &["cls.seq_relationship.", "cls.predictions."];

/// Loads the folder's encoder, pooler and classifier, and writes the session's
/// weights, `finetune.toml` (texts read up to the model's full length, its dropout)
/// and `finetune.json` (its classes, imported, no folds). Returns notes.
///
/// Errors: missing or misshapen weights, a write.
pub fn import_classifier(c: ClassifierFolder) -> Result<Vec<String>> {
    let vs = VarStore::new(Device::Cpu);
    let _model = BertForSequenceClassification::new(&vs.root(), c.bert, c.classes.len());
    let (notes, _unused) = crate::hf::load_weights(c.dir, &vs, UNUSED_HEADS)?;
    super::save_classifier(&vs, &c.session.path(WEIGHTS_FILE))?;
    // Its labels are its own, not a column of a corpus on this machine.
    c.config.data.label_column = "none".into();
    let recipe = FinetuneConfig {
        dropout: c.hf.hidden_dropout_prob,
        max_seq_len: c.hf.max_position_embeddings,
        ..FinetuneConfig::default()
    };
    crate::session::write_atomic(
        &c.session.path(FINETUNE_CONFIG_FILE),
        toml::to_string_pretty(&recipe)?.as_bytes(),
    )?;
    FinetuneState {
        source: c.dir.display().to_string(),
        source_step: None,
        from_scratch: false,
        imported: true,
        label_column: String::new(),
        classes: c.classes.to_vec(),
        folds: 0,
        done: Vec::new(),
        accuracy: None,
    }
    .write(c.session)?;
    Ok(notes)
}
