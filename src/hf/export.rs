//! Writing a session as a HuggingFace `BertForPreTraining` folder.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use tch::{Device, Kind, Tensor};

use super::HfConfig;
use crate::config::PositionKind;
use crate::saved;
use crate::session::{write_atomic, Session, TOKENIZER_FILE, VOCAB_FILE};

const POSITIONS: &str = "bert.embeddings.position_embeddings.weight";

/// Writes `config.json`, `model.safetensors` (HF key names, float32, `format: pt`
/// metadata as transformers requires), the tokenizer files and `special_tokens_map.json`.
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
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let config = session.load_config()?;
    let loaded = saved::load(session, Device::Cpu)?;
    let bert = &loaded.model.config;
    let mut tensors: Vec<(String, Tensor)> = loaded.vs.variables().into_iter().collect();
    if bert.position == PositionKind::Sinusoidal {
        // HF has no sinusoidal option; the fixed table as a learned one gives the same
        // outputs.
        let table =
            crate::model::sinusoidal_table(bert.max_position, bert.dims.hidden, Device::Cpu);
        tensors.push((POSITIONS.into(), table));
    }
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    write_safetensors(&out.join("model.safetensors"), &tensors)?;

    let hf = HfConfig::for_bert(
        "BertForPreTraining",
        bert,
        config.model.dropout,
        loaded.tokenizer.specials.pad as usize,
    );
    let mut json = serde_json::to_value(&hf)?;
    json["torch_dtype"] = "float32".into();
    json["bertwork_session"] = session.name.clone().into();
    write_json(&out.join("config.json"), &json)?;
    write_tokenizer_files(session, out, bert.max_position)
}

/// Copies the session's `vocab.txt` and `tokenizer.json` into `out` and writes
/// `special_tokens_map.json` and `tokenizer_config.json` (BertTokenizer, lower case).
pub fn write_tokenizer_files(session: &Session, out: &Path, max_position: usize) -> Result<()> {
    for file in [VOCAB_FILE, TOKENIZER_FILE] {
        std::fs::copy(session.path(file), out.join(file))
            .with_context(|| format!("cannot copy {file} of session `{}`", session.name))?;
    }
    let specials = serde_json::json!({
        "unk_token": "[UNK]",
        "sep_token": "[SEP]",
        "pad_token": "[PAD]",
        "cls_token": "[CLS]",
        "mask_token": "[MASK]",
    });
    let casing = casing_of(&session.path(TOKENIZER_FILE));
    let mut tok_config = specials.clone();
    tok_config["tokenizer_class"] = "BertTokenizer".into();
    tok_config["do_lower_case"] = casing.lowercase.into();
    tok_config["tokenize_chinese_chars"] = true.into();
    // BertTokenizer: null follows do_lower_case; an explicit value when they differ.
    tok_config["strip_accents"] = if casing.strip_accents == casing.lowercase {
        serde_json::Value::Null
    } else {
        casing.strip_accents.into()
    };
    tok_config["model_max_length"] = max_position.into();
    write_json(&out.join("special_tokens_map.json"), &specials)?;
    write_json(&out.join("tokenizer_config.json"), &tok_config)?;
    Ok(())
}

/// Writes `value` as pretty JSON, atomically.
pub fn write_json(path: &Path, value: &serde_json::Value) -> Result<()> {
    write_atomic(path, serde_json::to_string_pretty(value)?.as_bytes())
}

/// float32 safetensors with `{"format": "pt"}` metadata.
pub fn write_safetensors(path: &Path, tensors: &[(String, Tensor)]) -> Result<()> {
    let mut data = Vec::with_capacity(tensors.len());
    for (name, t) in tensors {
        let t = t.to_device(Device::Cpu).to_kind(Kind::Float).contiguous();
        let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
        let values: Vec<f32> = Vec::try_from(t.view(-1))?;
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        data.push((name.clone(), shape, bytes));
    }
    let views = data
        .iter()
        .map(|(name, shape, bytes)| {
            let view = safetensors::tensor::TensorView::new(
                safetensors::Dtype::F32,
                shape.clone(),
                bytes,
            )?;
            Ok((name.clone(), view))
        })
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()?;
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    let bytes = safetensors::serialize(views, Some(metadata))?;
    write_atomic(path, &bytes)
}

/// The casing a saved `tokenizer.json` normalises with: its BertNormalizer's
/// `lowercase`, and whether a StripAccents step follows. BERT uncased's when the file
/// cannot be read (sessions always have one).
fn casing_of(tokenizer_json: &Path) -> crate::tokenizer::Casing {
    let Some(json) = std::fs::read(tokenizer_json)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
    else {
        return Default::default();
    };
    let steps = json["normalizer"]["normalizers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let of_type = |t: &str| steps.iter().find(|s| s["type"] == t).cloned();
    crate::tokenizer::Casing {
        lowercase: of_type("BertNormalizer").is_none_or(|b| b["lowercase"] != false),
        strip_accents: of_type("StripAccents").is_some(),
    }
}
