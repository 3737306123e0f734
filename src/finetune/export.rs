//! A classifier session as a HuggingFace `BertForSequenceClassification` folder, with
//! `id2label` / `label2id`, that `pipeline("text-classification")` loads.

use std::path::Path;

use anyhow::{bail, Context, Result};
use tch::Device;

use crate::config::PositionKind;
use crate::hf::{write_json, write_safetensors, write_tokenizer_files, HfConfig};
use crate::session::Session;

/// Writes `config.json`, `model.safetensors` (`bert.*` and `classifier.*`, float32)
/// and the tokenizer files into `out` (new or empty).
///
/// Errors: not a classifier session or not fine-tuned yet, `out` not empty, a write.
pub fn export(session: &Session, out: &Path) -> Result<()> {
    if out.exists()
        && std::fs::read_dir(out)
            .with_context(|| format!("{} is not a readable folder", out.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{} already exists and is not empty; pass --hf with a new folder",
            out.display()
        );
    }
    let c = super::load(session)?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let bert = &c.model.bert.config;
    let mut tensors: Vec<_> =
        c.vs.variables()
            .into_iter()
            .filter(|(n, _)| !n.starts_with("cls."))
            .collect();
    if bert.position == PositionKind::Sinusoidal {
        let table =
            crate::model::sinusoidal_table(bert.max_position, bert.dims.hidden, Device::Cpu);
        tensors.push(("bert.embeddings.position_embeddings.weight".into(), table));
    }
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    write_safetensors(&out.join("model.safetensors"), &tensors)?;
    let hf = HfConfig::for_bert(
        "BertForSequenceClassification",
        bert,
        c.recipe.dropout,
        c.tokenizer.specials.pad as usize,
    );
    let mut json = serde_json::to_value(&hf)?;
    json["torch_dtype"] = "float32".into();
    json["problem_type"] = "single_label_classification".into();
    json["bertwork_session"] = session.name.clone().into();
    let classes = &c.state.classes;
    json["id2label"] = classes
        .iter()
        .enumerate()
        .map(|(i, l)| (i.to_string(), serde_json::Value::from(l.as_str())))
        .collect::<serde_json::Map<_, _>>()
        .into();
    json["label2id"] = classes
        .iter()
        .enumerate()
        .map(|(i, l)| (l.clone(), serde_json::Value::from(i)))
        .collect::<serde_json::Map<_, _>>()
        .into();
    write_json(&out.join("config.json"), &json)?;
    write_tokenizer_files(session, out, bert.max_position)
}
