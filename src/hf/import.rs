//! Turning a HuggingFace BERT folder (`config.json`, `model.safetensors`, `vocab.txt` or
//! `tokenizer.json`)
//! into a bertwork session, ready to probe or to continue pretraining.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};
use tch::{nn::VarStore, Device, Tensor};

use super::HfConfig;
use crate::config::{Config, InitKind, LrScheduler, ModelDims, Preset};
use crate::model::{BertConfig, BertForPreTraining};
use crate::session::{Session, VOCAB_FILE, WEIGHTS_FILE};
use crate::tokenizer::{Casing, WordPieceTokenizer};
use crate::train::checkpoint::save_weights;

/// Heads that may be absent from a pretraining checkpoint (a `BertModel` or
/// `BertForMaskedLM`): they start from a fresh initialisation, with a note.
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
    match Preset::with_dims(ModelDims {
        layers: hf.num_hidden_layers,
        hidden: hf.hidden_size,
        heads: hf.num_attention_heads,
        intermediate: hf.intermediate_size,
    }) {
        Some(p) => m.preset = p,
        None => {
            m.layers = Some(hf.num_hidden_layers);
            m.hidden = Some(hf.hidden_size);
            m.heads = Some(hf.num_attention_heads);
            m.intermediate = Some(hf.intermediate_size);
        }
    }
    m.max_position = hf.max_position_embeddings;
    m.dropout = hf.hidden_dropout_prob;
    // A model pretrained elsewhere continues with BERT's objective and schedule, not
    // the small-data recipe of the defaults (docs/measurements.md, "Time to quality").
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

/// The folder's `vocab.txt`, or one written to a temporary file from the WordPiece
/// vocabulary in its `tokenizer.json` (transformers 5 saves only that file); the
/// temporary file lives as long as the returned handle.
///
/// Errors: neither file, a `tokenizer.json` that is not WordPiece, or ids with gaps.
fn vocab_file(dir: &Path) -> Result<(std::path::PathBuf, Option<tempfile::NamedTempFile>)> {
    let txt = dir.join(VOCAB_FILE);
    if txt.exists() {
        return Ok((txt, None));
    }
    let path = dir.join("tokenizer.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        bail!(
            "{} has neither vocab.txt nor tokenizer.json; save the tokenizer with the model",
            dir.display()
        );
    };
    let json: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let model = &json["model"];
    if model["type"] != "WordPiece" {
        bail!(
            "{}: the tokenizer is `{}`, not BERT's WordPiece",
            path.display(),
            model["type"].as_str().unwrap_or("unknown")
        );
    }
    let map = model["vocab"]
        .as_object()
        .with_context(|| format!("{}: model.vocab is missing", path.display()))?;
    let mut tokens = vec![None; map.len()];
    for (token, id) in map {
        let id = id
            .as_u64()
            .map(|i| i as usize)
            .filter(|&i| i < tokens.len());
        match id {
            Some(i) if tokens[i].is_none() && !token.contains(['\n', '\r']) => {
                tokens[i] = Some(token.as_str())
            }
            _ => bail!(
                "{}: model.vocab's ids must run 0..{} once each, with no line breaks in tokens (at `{}`)",
                path.display(),
                tokens.len(),
                crate::terminal_text::escape_lines(token)
            ),
        }
    }
    let mut file = tempfile::NamedTempFile::new().context("cannot write a temporary file")?;
    for token in tokens.into_iter().flatten() {
        writeln!(file, "{token}").context("cannot write a temporary file")?;
    }
    file.flush()?;
    Ok((file.path().to_path_buf(), Some(file)))
}

/// How the folder's tokenizer normalises: `tokenizer_config.json`'s `do_lower_case`
/// and `strip_accents` (null: as `do_lower_case`, as BertTokenizer does), else
/// `tokenizer.json`'s BertNormalizer; BERT uncased when neither says.
fn casing_of_folder(dir: &Path) -> Casing {
    let read = |file: &str| {
        std::fs::read(dir.join(file))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
    };
    if let Some(config) = read("tokenizer_config.json").filter(|c| c.get("do_lower_case").is_some())
    {
        let lowercase = config["do_lower_case"] != false;
        let strip_accents = config["strip_accents"].as_bool().unwrap_or(lowercase);
        return Casing {
            lowercase,
            strip_accents,
        };
    }
    if let Some(json) = read("tokenizer.json") {
        let n = &json["normalizer"];
        if n["type"] == "BertNormalizer" {
            let lowercase = n["lowercase"] != false;
            let strip_accents = n["strip_accents"].as_bool().unwrap_or(lowercase);
            return Casing {
                lowercase,
                strip_accents,
            };
        }
    }
    Casing::default()
}

/// Loads the weights of `dir` into a fresh model; returns a note on an untied decoder
/// and the variables under `optional` that were missing (they keep their fresh
/// initialisation).
pub fn load_weights(
    dir: &Path,
    vs: &VarStore,
    optional: &[&str],
) -> Result<(Vec<String>, Vec<String>)> {
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
            None if optional.iter().any(|p| name.starts_with(p)) => missing_optional.push(name),
            None => missing_required.push(name),
        }
    }
    if !missing_required.is_empty() {
        bail!(
            "{} lacks {} weights the model needs (e.g. `{}`); is it a BERT checkpoint?",
            path.display(),
            missing_required.len(),
            missing_required[0]
        );
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
    Ok((notes, missing_optional))
}

/// A `BertForSequenceClassification` folder being imported, for the code that makes
/// classifier sessions (`finetune`), which this module does not depend on.
pub struct ClassifierFolder<'a> {
    pub dir: &'a Path,
    pub hf: &'a HfConfig,
    pub bert: &'a BertConfig,
    /// Class names in id order (`id2label`).
    pub classes: &'a [String],
    pub session: &'a Session,
    /// The new session's config, saved after the callback returns.
    pub config: &'a mut Config,
}

/// Creates session `name` from the HF folder `dir`: a pretraining session, or, when the
/// folder is a `BertForSequenceClassification` with `id2label`, whatever `classifier`
/// makes of it (its weights and state files; it returns notes). Returns the session
/// and notes; a failure removes the half-made session.
///
/// Errors: not a BERT folder bertwork can read (one line naming the file and field),
/// a classifier that is not single-label, a session name in use, `classifier`'s.
pub fn import(
    dir: &Path,
    name: &str,
    classifier: impl FnOnce(ClassifierFolder) -> Result<Vec<String>>,
) -> Result<(Session, Vec<String>)> {
    if !dir.is_dir() {
        bail!("{} is not a folder", dir.display());
    }
    let hf = read_config(dir)?;
    let classes = classifier_labels(dir, &hf)?;
    let casing = casing_of_folder(dir);
    let (vocab, written) = vocab_file(dir)?;
    let tokenizer = WordPieceTokenizer::from_vocab_file(&vocab, casing)?;
    if tokenizer.vocab_size() != hf.vocab_size {
        let shown = match written {
            Some(_) => dir.join("tokenizer.json"),
            None => vocab,
        };
        bail!(
            "{} has {} tokens but config.json says vocab_size = {}",
            shown.display(),
            tokenizer.vocab_size(),
            hf.vocab_size
        );
    }
    let session = Session::create(Some(name), "imported")?;
    let result = (|| {
        let mut config = config_for(&hf, &session.path(VOCAB_FILE))?;
        config.data.lowercase = casing.lowercase;
        config.data.strip_accents = casing.strip_accents;
        let bert = BertConfig::new(hf.vocab_size, config.dims()?, &config.model);
        let vs = VarStore::new(Device::Cpu);
        let notes = match &classes {
            None => {
                let _model = BertForPreTraining::new(&vs.root(), &bert);
                let (mut notes, missing) = load_weights(dir, &vs, OPTIONAL_PREFIXES)?;
                if let Some(first) = missing.first() {
                    notes.push(format!(
                        "{} head weights were not in the checkpoint and start from a fresh initialisation (e.g. `{first}`)",
                        missing.len()
                    ));
                }
                save_weights(&vs, &session.path(WEIGHTS_FILE))?;
                notes
            }
            Some(classes) => classifier(ClassifierFolder {
                dir,
                hf: &hf,
                bert: &bert,
                classes,
                session: &session,
                config: &mut config,
            })?,
        };
        tokenizer.save(&session.dir)?;
        session.save_config(&config)?;
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

/// The class names in id order of a `BertForSequenceClassification` folder, or None
/// for any other architecture.
///
/// Errors: a regression or multi-label head, `id2label` missing ids or not matching
/// `classifier.weight`'s rows.
fn classifier_labels(dir: &Path, hf: &HfConfig) -> Result<Option<Vec<String>>> {
    if !hf
        .architectures
        .iter()
        .any(|a| a == "BertForSequenceClassification")
    {
        return Ok(None);
    }
    let path = dir.join("config.json");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)
        .with_context(|| format!("{} is not JSON", path.display()))?;
    if let Some(kind) = json.get("problem_type").and_then(|p| p.as_str()) {
        if kind != "single_label_classification" {
            bail!(
                "{}: problem_type is `{kind}`; bertwork's classifiers are single-label (softmax over the classes)",
                path.display()
            );
        }
    }
    let id2label = json.get("id2label").and_then(|m| m.as_object());
    let count = id2label.map_or(0, |m| m.len());
    if count < 2 {
        bail!(
            "{}: a classifier needs id2label with at least 2 classes (regression heads are not supported)",
            path.display()
        );
    }
    let map = id2label.expect("counted above");
    let classes = (0..count)
        .map(|i| {
            map.get(&i.to_string())
                .and_then(|l| l.as_str())
                .map(str::to_string)
                .with_context(|| {
                    format!(
                        "{}: id2label has no name for class {i}; ids must run 0..{}",
                        path.display(),
                        count - 1
                    )
                })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(classes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokenizer() -> WordPieceTokenizer {
        let texts = [
            "a quiet film about the sea",
            "the sea was loud and the film long",
        ];
        WordPieceTokenizer::train(texts.iter().cycle().take(40), 200).unwrap()
    }

    #[test]
    fn a_folder_with_only_tokenizer_json_gives_the_same_vocabulary() {
        let dir = tempfile::tempdir().unwrap();
        let tok = tokenizer();
        tok.save(dir.path()).unwrap();
        std::fs::remove_file(dir.path().join(VOCAB_FILE)).unwrap();
        let (path, written) = vocab_file(dir.path()).unwrap();
        assert!(written.is_some());
        let back = WordPieceTokenizer::from_vocab_file(&path, Default::default()).unwrap();
        assert_eq!(back.vocab_in_order(), tok.vocab_in_order());
        let text = "the quiet sea was long";
        assert_eq!(back.encode(text).unwrap(), tok.encode(text).unwrap());
    }

    #[test]
    fn a_tokenizer_json_that_is_not_wordpiece_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokenizer.json");
        let cases = [
            (
                r#"{"model": {"type": "BPE", "vocab": {}}}"#,
                "not BERT's WordPiece",
            ),
            (
                r#"{"model": {"type": "WordPiece", "vocab": {"a": 0, "b": 0}}}"#,
                "once each",
            ),
            (
                r#"{"model": {"type": "WordPiece", "vocab": {"a": 0, "b": 5}}}"#,
                "once each",
            ),
        ];
        for (json, want) in cases {
            std::fs::write(&path, json).unwrap();
            let err = format!("{:#}", vocab_file(dir.path()).unwrap_err());
            assert!(err.contains(want), "{json}: {err}");
        }
        std::fs::remove_file(&path).unwrap();
        let err = format!("{:#}", vocab_file(dir.path()).unwrap_err());
        assert!(
            err.contains("neither vocab.txt nor tokenizer.json"),
            "{err}"
        );
    }
}
