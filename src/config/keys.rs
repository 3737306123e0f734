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
        ],
    ),
    (
        "data",
        &[
            "corpus",
            "text_column",
            "vocab_size",
            "vocab",
            "max_seq_len",
            "heldout_fraction",
            "mask_prob",
            "short_seq_prob",
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
        ],
    ),
];

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
