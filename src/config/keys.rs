//! The config's key space: one [`Key`] per dotted key, from which the allowed keys,
//! the comments of a session's `config.toml`, the keys a resume may not change and
//! the values of keys older sessions lack are all derived; `--set key=value` parsing.
//! Tests hold the structs, `docs/configuration.md` and `sessions/*.toml` to it.

use anyhow::{bail, Result};

/// One config key: everything bertwork knows about it besides its type and default
/// (which are the structs' in `config/mod.rs`).
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// `model`, `data` or `train`.
    pub section: &'static str,
    pub name: &'static str,
    /// A short description, for the comments of a session's `config.toml`.
    pub meaning: &'static str,
    /// The checkpoint fixes it: a resume or fork may not change it.
    pub fixed: bool,
    /// For keys added after sessions existed: the value (TOML) that keeps an older
    /// session's run as it was when its saved config lacks the key.
    pub legacy: Option<&'static str>,
}

/// A key that a resume may change and that every session's config names.
const fn key(section: &'static str, name: &'static str, meaning: &'static str) -> Key {
    Key {
        section,
        name,
        meaning,
        fixed: false,
        legacy: None,
    }
}

impl Key {
    /// The checkpoint fixes it.
    const fn fixed(self) -> Key {
        Key {
            fixed: true,
            ..self
        }
    }

    /// Added after sessions existed: `value` (TOML) keeps older sessions' runs.
    const fn legacy(self, value: &'static str) -> Key {
        Key {
            legacy: Some(value),
            ..self
        }
    }

    /// `section.name`.
    pub fn dotted(&self) -> String {
        format!("{}.{}", self.section, self.name)
    }
}

/// Every key a config may hold, in the order of the sections and of `config.toml`.
pub const KEYS: &[Key] = &[
    key("model", "preset", "tiny 2/128, mini 4/256, small 4/512, medium 8/512, base 12/768, large 24/1024").fixed(),
    key("model", "layers", "overrides the preset").fixed(),
    key("model", "hidden", "overrides the preset").fixed(),
    key("model", "heads", "overrides the preset").fixed(),
    key("model", "intermediate", "overrides the preset").fixed(),
    key("model", "max_position", "size of the position table").fixed(),
    key("model", "position", "learned | sinusoidal").fixed(),
    key("model", "dropout", "hidden and attention dropout"),
    key("model", "nsp", "train next-sentence prediction too (false: MLM only, as RoBERTa)").fixed().legacy("true"),
    key("model", "init", "normal (N(0, 0.02)) | mimetic (attention starts near-diagonal)").legacy("\"normal\""),
    key("model", "position_init", "learned positions start normal | sinusoidal (scaled)").legacy("\"normal\""),
    key("data", "corpus", "corpus file, folder of shards or glob; absent = the embedded IMDB sample"),
    key("data", "format", "auto, csv, tsv, text, sentences, jsonl, parquet or arrow (gzip/zstd read as such)").fixed(),
    key("data", "text_column", "column or JSON field (dotted path) holding the text").fixed(),
    key("data", "lowercase", "lowercase before tokenizing (BERT uncased: true, cased: false)").fixed(),
    key("data", "strip_accents", "strip accents and combining marks (uncased: true; false for Indic scripts, cased models)").fixed(),
    key("data", "vocab_size", "WordPiece vocabulary learnt from the corpus").fixed(),
    key("data", "vocab", "an existing vocab.txt instead").fixed(),
    key("data", "max_seq_len", "tokens per [CLS] A [SEP] B [SEP] example"),
    key("data", "heldout_fraction", "documents held out for evaluation").fixed(),
    key("data", "mask_prob", "share of tokens selected for MLM"),
    key("data", "mask_replace_prob", "share of selected tokens that become [MASK]").legacy("0.8"),
    key("data", "random_replace_prob", "share of selected tokens that become a random one").legacy("0.1"),
    key("data", "short_seq_prob", "share of examples packed to a shorter length"),
    key("data", "label_column", "class column for the downstream probe: auto | none | NAME").fixed().legacy("\"none\""),
    key("data", "downstream_strict", "keep the downstream test documents out of pretraining").fixed().legacy("false"),
    key("train", "epochs", "passes over the training documents"),
    key("train", "max_steps", "stop after this many optimizer steps (0 = no limit)"),
    key("train", "batch_size", "examples per micro-batch"),
    key("train", "lr", "peak learning rate (after linear warmup)"),
    key("train", "warmup_steps", "steps of linear warmup"),
    key("train", "lr_scheduler", "linear | constant_with_warmup | warmup_stable_decay").legacy("\"linear\""),
    key("train", "decay_ratio", "share of steps decaying, for warmup_stable_decay"),
    key("train", "adam_epsilon", "AdamW epsilon").legacy("1e-6"),
    key("train", "weight_decay", "AdamW decay, not on LayerNorm weights or biases"),
    key("train", "clip_norm", "global gradient-norm clipping (0 = off)"),
    key("train", "grad_accum", "micro-batches per optimizer step"),
    key("train", "seed", "seeds split, pairs, masks, init and dropout").fixed(),
    key("train", "device", "auto | cpu | cuda | cuda:N"),
    key("train", "precision", "auto (bf16 + TF32 on CUDA; bf16 on CPUs with AMX or AVX512-BF16, fp32 on others) | fp32 | bf16"),
    key("train", "threads", "libtorch CPU threads (0 = all cores)"),
    key("train", "log_every", "steps per metric log"),
    key("train", "eval_every", "held-out evaluation every N steps (0 = epoch ends)"),
    key("train", "checkpoint_every", "extra checkpoint every N steps (0 = epoch ends only)"),
    key("train", "keep_checkpoints", "newest checkpoints kept (plus the best)"),
    key("train", "watch", "watched probes: \"TEXT [MASK] | token, token\" (at most 8)"),
    key("train", "watch_every", "read the watched probes every N steps (0 = log_every)"),
];

/// The sections, in order.
pub const SECTION_NAMES: [&str; 3] = ["model", "data", "train"];

/// The keys of `section`, in order.
pub fn section_key_names(section: &str) -> Vec<&'static str> {
    KEYS.iter()
        .filter(|k| k.section == section)
        .map(|k| k.name)
        .collect()
}

/// The key `section.name`, if there is one.
pub fn find(section: &str, name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.section == section && k.name == name)
}

/// Whether a resume may not change the dotted key `key` (the checkpoint fixes it).
pub fn is_fixed(key: &str) -> bool {
    key.split_once('.')
        .and_then(|(section, name)| find(section, name))
        .is_some_and(|k| k.fixed)
}

/// Inserts the legacy value of each key with one ([`Key::legacy`]) that a saved
/// config's `table` lacks.
pub fn fill_legacy(table: &mut toml::Table) {
    for key in KEYS {
        let Some(value) = key.legacy else { continue };
        let entry = table
            .entry(key.section.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let Some(inner) = entry.as_table_mut() {
            inner
                .entry(key.name.to_string())
                .or_insert_with(|| parse_value(value));
        }
    }
}

/// A short description of a key, for the comments of a session's `config.toml`.
pub fn describe(section: &str, key: &str) -> Option<&'static str> {
    find(section, key).map(|k| k.meaning)
}

/// `text` (TOML as `toml` writes it) with each known key's description appended.
pub fn annotate(text: &str) -> String {
    let mut section = String::new();
    let mut out = String::with_capacity(text.len() * 2);
    for line in text.lines() {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
        }
        out.push_str(line);
        let key = line.split_once(" = ").map(|(k, _)| k.trim());
        if let Some(note) = key.and_then(|k| describe(&section, k)) {
            out.push_str("  # ");
            out.push_str(note);
        }
        out.push('\n');
    }
    out
}

fn section_keys(section: &str) -> Result<Vec<&'static str>> {
    if !SECTION_NAMES.contains(&section) {
        bail!(
            "unknown config section `{section}`; allowed: {}",
            SECTION_NAMES.join(", ")
        );
    }
    Ok(section_key_names(section))
}

fn check_key(section: &str, key: &str) -> Result<()> {
    let keys = section_keys(section)?;
    if !keys.contains(&key) {
        bail!(
            "unknown config key `{section}.{key}`; allowed in [{section}]: {}",
            keys.join(", ")
        );
    }
    Ok(())
}

/// Rejects unknown sections and keys, naming what is allowed.
pub fn check_table(table: &toml::Table) -> Result<()> {
    for (section, value) in table {
        section_keys(section)?;
        let Some(inner) = value.as_table() else {
            bail!("`{section}` must be a section ([{section}]), not a single value");
        };
        for key in inner.keys() {
            check_key(section, key)?;
        }
    }
    Ok(())
}

/// Applies one `section.key=value` override. The value is read as TOML (numbers,
/// booleans, quoted strings), falling back to a bare string (`train.device=cpu`).
pub fn apply_override(table: &mut toml::Table, item: &str) -> Result<()> {
    let Some((path, raw)) = item.split_once('=') else {
        bail!("--set expects section.key=value, got `{item}`");
    };
    let (path, raw) = (path.trim(), raw.trim());
    let Some((section, key)) = path.split_once('.') else {
        bail!("--set expects a dotted key like train.lr=1e-4, got `{path}`");
    };
    check_key(section, key)?;
    let value = parse_value(raw);
    let entry = table
        .entry(section.to_string())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    match entry.as_table_mut() {
        Some(inner) => {
            inner.insert(key.to_string(), value);
        }
        None => bail!("`{section}` must be a section"),
    }
    Ok(())
}

/// Reads a value the way TOML would, or as a plain string when it is not TOML.
pub fn parse_value(raw: &str) -> toml::Value {
    let doc = format!("v = {raw}");
    match toml::from_str::<toml::Table>(&doc) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.to_string())),
        Err(_) => toml::Value::String(raw.to_string()),
    }
}
