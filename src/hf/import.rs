//! Turning a HuggingFace BERT folder (`config.json`, `model.safetensors`, `vocab.txt`)
//! into a bertwork session, ready to probe or to continue pretraining.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use tch::{nn::VarStore, Device, Tensor};

use super::HfConfig;
use crate::config::{Config, InitKind, LrScheduler, PRESETS};
use crate::model::{BertConfig, BertForPreTraining};
use crate::session::{Session, VOCAB_FILE, WEIGHTS_FILE};
use crate::tokenizer::WordPieceTokenizer;
use crate::train::checkpoint::save_weights;

/// Heads that may be absent (a `BertModel` or `BertForMaskedLM` checkpoint): they start
/// from a fresh initialisation, with a note.
const OPTIONAL_PREFIXES: &[&str] = &["bert.pooler.", "cls.seq_relationship.", "cls.predictions."];

pub fn read_config(dir: &Path) -> Result<HfConfig> {
    let path = dir.join("config.json");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "{} has no readable config.json; an HF model folder holds config.json, model.safetensors and vocab.txt",
            dir.display()
        )
    })?;
    let hf: HfConfig = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a BERT config", path.display()))?;
    if !hf.model_type.is_empty() && hf.model_type != "bert" {
        bail!(
            "{} is a `{}` model; bertwork imports BERT only",
            dir.display(),
            hf.model_type
        );
    }
    let unsupported = |what: &str, value: &str, want: &str| {
        anyhow::anyhow!(
            "{}: {what} is `{value}`; bertwork supports {want}",
            path.display()
        )
    };
    if hf.hidden_act != "gelu" {
        return Err(unsupported("hidden_act", &hf.hidden_act, "`gelu`"));
    }
    if hf.position_embedding_type != "absolute" {
        return Err(unsupported(
            "position_embedding_type",
            &hf.position_embedding_type,
            "`absolute`",
        ));
    }
    if hf.type_vocab_size != 2 {
        return Err(unsupported(
            "type_vocab_size",
            &hf.type_vocab_size.to_string(),
            "2",
        ));
    }
    if hf.num_attention_heads == 0 || !hf.hidden_size.is_multiple_of(hf.num_attention_heads) {
        bail!(
            "{}: hidden_size {} is not divisible by num_attention_heads {}",
            path.display(),
            hf.hidden_size,
            hf.num_attention_heads
        );
    }
    Ok(hf)
}

/// bertwork's config for an HF model: a preset's name when the sizes match one,
/// explicit sizes otherwise.
fn config_for(hf: &HfConfig, vocab: &Path) -> Result<Config> {
    let mut c = Config::default();
    let m = &mut c.model;
    match PRESETS
        .iter()
        .find(|p| p.1 == hf.num_hidden_layers && p.2 == hf.hidden_size)
    {
        Some(p) if hf.num_attention_heads == p.2 / 64 && hf.intermediate_size == 4 * p.2 => {
            m.preset = p.0.into();
        }
        _ => {
            m.layers = Some(hf.num_hidden_layers);
            m.hidden = Some(hf.hidden_size);
            m.heads = Some(hf.num_attention_heads);
            m.intermediate = Some(hf.intermediate_size);
        }
    }
    m.max_position = hf.max_position_embeddings;
    m.dropout = hf.hidden_dropout_prob;
    // A model pretrained elsewhere continues with BERT's objective and schedule, not
    // the small-data recipe of the defaults (README, "Time to quality").
    m.init = InitKind::Normal;
    c.data.mask_prob = 0.15;
    c.data.mask_replace_prob = 0.8;
    c.data.random_replace_prob = 0.1;
    c.train.lr_scheduler = LrScheduler::Linear;
    c.data.vocab = Some(vocab.to_path_buf());
    c.data.vocab_size = hf.vocab_size;
    c.data.max_seq_len = c.data.max_seq_len.min(hf.max_position_embeddings);
    c.validate()
        .context("the HF model's sizes are outside what bertwork accepts")?;
    Ok(c)
}

/// HF key as bertwork names it: `bert.` prefix for a bare `BertModel`, old TF-style
/// `gamma`/`beta` LayerNorm names.
fn normalize_key(key: &str) -> String {
    let key = key
        .replace("LayerNorm.gamma", "LayerNorm.weight")
        .replace("LayerNorm.beta", "LayerNorm.bias");
    if ["embeddings.", "encoder.", "pooler."]
        .iter()
        .any(|p| key.starts_with(p))
    {
        format!("bert.{key}")
    } else {
        key
    }
}

fn check_lowercase(dir: &Path) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(dir.join("tokenizer_config.json")) else {
        return Ok(());
    };
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    if json.get("do_lower_case") == Some(&serde_json::Value::Bool(false)) {
        bail!(
            "{} is a cased model (do_lower_case = false); bertwork's tokenizer lowercases, so use an uncased model",
            dir.display()
        );
    }
    Ok(())
}

/// Loads the weights of `dir` into a fresh model; returns notes on heads that were
/// missing or untied.
fn load_weights(dir: &Path, vs: &VarStore) -> Result<Vec<String>> {
    let path = dir.join("model.safetensors");
    if !path.exists() {
        if dir.join("pytorch_model.bin").exists() {
            bail!(
                "{} has only pytorch_model.bin; bertwork reads safetensors: convert it with transformers (model.save_pretrained(dir, safe_serialization=True))",
                dir.display()
            );
        }
        bail!("{} has no model.safetensors", dir.display());
    }
    let saved: HashMap<String, Tensor> = Tensor::read_safetensors(&path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .into_iter()
        .map(|(k, t)| (normalize_key(&k), t))
        .collect();
    let mut notes = Vec::new();
    let mut missing_required = Vec::new();
    let mut missing_optional = Vec::new();
    let _guard = tch::no_grad_guard();
    for (name, mut var) in vs.variables() {
        let found = saved.get(&name).or_else(|| {
            (name == "cls.predictions.bias")
                .then(|| saved.get("cls.predictions.decoder.bias"))
                .flatten()
        });
        match found {
            Some(t) if t.size() == var.size() => {
                if !bool::try_from(t.isfinite().all()).unwrap_or(true) {
                    bail!(
                        "{}: `{name}` holds infinite or NaN values; a model with non-finite weights can be neither trained nor probed: fix the source checkpoint",
                        path.display()
                    );
                }
                var.copy_(t)
            }
            Some(t) => bail!(
                "{}: `{name}` has shape {:?}, config.json implies {:?}",
                path.display(),
                t.size(),
                var.size()
            ),
            None if OPTIONAL_PREFIXES.iter().any(|p| name.starts_with(p)) => {
                missing_optional.push(name)
            }
            None => missing_required.push(name),
        }
    }
    if !missing_required.is_empty() {
        bail!(
            "{} lacks {} encoder weights (e.g. `{}`); is it a BERT checkpoint?",
            path.display(),
            missing_required.len(),
            missing_required[0]
        );
    }
    if !missing_optional.is_empty() {
        notes.push(format!(
            "{} head weights were not in the checkpoint and start from a fresh initialisation (e.g. `{}`)",
            missing_optional.len(),
            missing_optional[0]
        ));
    }
    if let (Some(dec), Some(word)) = (
        saved.get("cls.predictions.decoder.weight"),
        saved.get("bert.embeddings.word_embeddings.weight"),
    ) {
        if dec.size() == word.size() && !dec.equal(word) {
            notes.push(
                "the checkpoint's MLM decoder was not tied to the word embeddings; bertwork ties them (the word embeddings are used)".into(),
            );
        }
    }
    Ok(notes)
}

/// Creates session `name` from the HF folder `dir`. Returns the session and notes.
pub fn import(dir: &Path, name: &str) -> Result<(Session, Vec<String>)> {
    if !dir.is_dir() {
        bail!("{} is not a folder", dir.display());
    }
    let hf = read_config(dir)?;
    let vocab = dir.join(VOCAB_FILE);
    if !vocab.exists() {
        bail!("{} has no vocab.txt", dir.display());
    }
    check_lowercase(dir)?;
    let tokenizer = WordPieceTokenizer::from_vocab_file(&vocab)?;
    if tokenizer.vocab_size() != hf.vocab_size {
        bail!(
            "{} has {} tokens but config.json says vocab_size = {}",
            vocab.display(),
            tokenizer.vocab_size(),
            hf.vocab_size
        );
    }
    let session = Session::create(Some(name), "imported")?;
    let result = (|| {
        let config = config_for(&hf, &session.path(VOCAB_FILE))?;
        let bert = BertConfig::new(hf.vocab_size, config.dims()?, &config.model);
        let vs = VarStore::new(Device::Cpu);
        let _model = BertForPreTraining::new(&vs.root(), &bert);
        let notes = load_weights(dir, &vs)?;
        tokenizer.save(&session.dir)?;
        session.save_config(&config)?;
        save_weights(&vs, &session.path(WEIGHTS_FILE))?;
        Ok(notes)
    })();
    match result {
        Ok(notes) => Ok((session, notes)),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&session.dir);
            Err(e)
        }
    }
}
