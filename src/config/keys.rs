//! The config's key space: which dotted keys exist, and `--set key=value` parsing.

use anyhow::{bail, Result};

/// Every key a config may hold, by section.
pub const SECTIONS: &[(&str, &[&str])] = &[
    (
        "model",
        &[
            "preset",
            "layers",
            "hidden",
            "heads",
            "intermediate",
            "max_position",
            "position",
            "dropout",
            "nsp",
            "init",
            "position_init",
        ],
    ),
    (
        "data",
        &[
            "corpus",
            "format",
            "text_column",
            "lowercase",
            "strip_accents",
            "vocab_size",
            "vocab",
            "max_seq_len",
            "heldout_fraction",
            "mask_prob",
            "mask_replace_prob",
            "random_replace_prob",
            "short_seq_prob",
            "label_column",
            "downstream_strict",
        ],
    ),
    (
        "train",
        &[
            "epochs",
            "max_steps",
            "batch_size",
            "lr",
            "warmup_steps",
            "lr_scheduler",
            "decay_ratio",
            "adam_epsilon",
            "weight_decay",
            "clip_norm",
            "grad_accum",
            "seed",
            "device",
            "precision",
            "threads",
            "log_every",
            "eval_every",
            "checkpoint_every",
            "keep_checkpoints",
            "watch",
            "watch_every",
        ],
    ),
];

/// Keys added after sessions existed, with the value that keeps an older session's
/// run as it was when its saved config lacks the key.
pub const LEGACY: &[(&str, &str, &str)] = &[
    ("model", "nsp", "true"),
    ("model", "init", "\"normal\""),
    ("model", "position_init", "\"normal\""),
    ("data", "mask_replace_prob", "0.8"),
    ("data", "random_replace_prob", "0.1"),
    ("train", "lr_scheduler", "\"linear\""),
    ("train", "adam_epsilon", "1e-6"),
    ("data", "label_column", "\"none\""),
    ("data", "downstream_strict", "false"),
];

/// Inserts each [`LEGACY`] key missing from a saved config's `table`.
pub fn fill_legacy(table: &mut toml::Table) {
    for &(section, key, value) in LEGACY {
        let entry = table
            .entry(section.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let Some(inner) = entry.as_table_mut() {
            inner
                .entry(key.to_string())
                .or_insert_with(|| parse_value(value));
        }
    }
}

/// A short description of a key, for the comments of a session's `config.toml`.
pub fn describe(section: &str, key: &str) -> Option<&'static str> {
    Some(match (section, key) {
        ("model", "preset") => {
            "tiny 2/128, mini 4/256, small 4/512, medium 8/512, base 12/768, large 24/1024"
        }
        ("model", "layers" | "hidden" | "heads" | "intermediate") => "overrides the preset",
        ("model", "max_position") => "size of the position table",
        ("model", "position") => "learned | sinusoidal",
        ("model", "dropout") => "hidden and attention dropout",
        ("model", "nsp") => "train next-sentence prediction too (false: MLM only, as RoBERTa)",
        ("model", "init") => "normal (N(0, 0.02)) | mimetic (attention starts near-diagonal)",
        ("model", "position_init") => "learned positions start normal | sinusoidal (scaled)",
        ("data", "corpus") => "corpus file, folder of shards or glob; absent = the embedded IMDB sample",
        ("data", "format") => "auto, csv, tsv, text, sentences, jsonl, parquet or arrow (gzip/zstd read as such)",
        ("data", "text_column") => "column or JSON field (dotted path) holding the text",
        ("data", "lowercase") => "lowercase before tokenizing (BERT uncased: true, cased: false)",
        ("data", "strip_accents") => "strip accents and combining marks (uncased: true; false for Indic scripts, cased models)",
        ("data", "vocab_size") => "WordPiece vocabulary learnt from the corpus",
        ("data", "vocab") => "an existing vocab.txt instead",
        ("data", "max_seq_len") => "tokens per [CLS] A [SEP] B [SEP] example",
        ("data", "heldout_fraction") => "documents held out for evaluation",
        ("data", "mask_prob") => "share of tokens selected for MLM",
        ("data", "mask_replace_prob") => "share of selected tokens that become [MASK]",
        ("data", "random_replace_prob") => "share of selected tokens that become a random one",
        ("data", "short_seq_prob") => "share of examples packed to a shorter length",
        ("data", "label_column") => "class column for the downstream probe: auto | none | NAME",
        ("data", "downstream_strict") => "keep the downstream test documents out of pretraining",
        ("train", "epochs") => "passes over the training documents",
        ("train", "max_steps") => "stop after this many optimizer steps (0 = no limit)",
        ("train", "batch_size") => "examples per micro-batch",
        ("train", "lr") => "peak learning rate (after linear warmup)",
        ("train", "lr_scheduler") => "linear | constant_with_warmup | warmup_stable_decay",
        ("train", "decay_ratio") => "share of steps decaying, for warmup_stable_decay",
        ("train", "adam_epsilon") => "AdamW epsilon",
        ("train", "warmup_steps") => "steps of linear warmup",
        ("train", "weight_decay") => "AdamW decay, not on LayerNorm weights or biases",
        ("train", "clip_norm") => "global gradient-norm clipping (0 = off)",
        ("train", "grad_accum") => "micro-batches per optimizer step",
        ("train", "seed") => "seeds split, pairs, masks, init and dropout",
        ("train", "device") => "auto | cpu | cuda | cuda:N",
        ("train", "precision") => "auto (bf16 + TF32 on CUDA; bf16 on CPUs with AMX or AVX512-BF16, fp32 on others) | fp32 | bf16",
        ("train", "threads") => "libtorch CPU threads (0 = all cores)",
        ("train", "log_every") => "steps per metric log",
        ("train", "eval_every") => "held-out evaluation every N steps (0 = epoch ends)",
        ("train", "checkpoint_every") => "extra checkpoint every N steps (0 = epoch ends only)",
        ("train", "keep_checkpoints") => "newest checkpoints kept (plus the best)",
        ("train", "watch") => "watched probes: \"TEXT [MASK] | token, token\" (at most 8)",
        ("train", "watch_every") => "read the watched probes every N steps (0 = log_every)",
        _ => return None,
    })
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

fn section_keys(section: &str) -> Result<&'static [&'static str]> {
    match SECTIONS.iter().find(|(name, _)| *name == section) {
        Some((_, keys)) => Ok(keys),
        None => bail!(
            "unknown config section `{section}`; allowed: {}",
            SECTIONS.iter().map(|s| s.0).collect::<Vec<_>>().join(", ")
        ),
    }
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
