//! Session configuration: the `[model]`, `[data]` and `[train]` sections of a TOML file,
//! `--set section.key=value` overrides, presets and validation.

pub mod keys;
pub mod per_rank;
mod presets;
pub mod schedule;
pub mod watch;

mod choices;

pub use crate::device::{DeviceChoice, Precision};
pub use choices::{InitKind, LrScheduler, PositionInit, PositionKind};
pub use presets::{ModelDims, Preset};

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// The named size; the sizes below override it.
    pub preset: Preset,
    pub layers: Option<usize>,
    pub hidden: Option<usize>,
    pub heads: Option<usize>,
    pub intermediate: Option<usize>,
    pub max_position: usize,
    pub position: PositionKind,
    pub dropout: f64,
    /// Train next-sentence prediction besides MLM. `false` trains MLM only (as
    /// RoBERTa does); the NSP head is kept, untrained, so the weights keep HF's
    /// `BertForPreTraining` layout. Older configs without the key load as `true`.
    pub nsp: bool,
    /// How the weights start: `normal` (N(0, 0.02) everywhere, as BERT) or `mimetic`
    /// (the same, except each layer's query/key and value/output weights, which start
    /// as in Trockman & Kolter 2023, "Mimetic Initialization of Self-Attention
    /// Layers"). Older configs without the key load as `normal`.
    pub init: InitKind,
    /// How a learned position table starts: `normal` (N(0, 0.02), BERT) or
    /// `sinusoidal` (the sin/cos table of Vaswani et al., scaled to the same standard
    /// deviation, so neighbouring positions start similar; still trained). Older configs
    /// without the key load as `normal`.
    pub position_init: PositionInit,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            preset: Preset::Tiny,
            layers: None,
            hidden: None,
            heads: None,
            intermediate: None,
            max_position: 512,
            position: PositionKind::Learned,
            dropout: 0.0,
            nsp: true,
            init: InitKind::Mimetic,
            position_init: PositionInit::Sinusoidal,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// The corpus: a file, a folder of shards or a glob; absent = the embedded IMDB
    /// sample.
    pub corpus: Option<PathBuf>,
    /// How the corpus is laid out: `auto` (recognised per file by extension, then
    /// content) or a format's name (the corpus module's `FORMATS`, which checks it). Older configs without the
    /// key load as `auto`, which reads their CSV as before.
    pub format: String,
    /// The column (CSV/TSV) or field (JSON Lines, dotted for nested) holding the text;
    /// plain-text formats have only the text.
    pub text_column: String,
    /// Lowercase the text before tokenizing (BERT uncased: true; cased: false).
    /// Fixed when a session is made. Older configs without the key load as true.
    pub lowercase: bool,
    /// Strip accents and other combining marks (BERT uncased: true; cased: false).
    /// Also removes the vowel signs of Indic scripts, which are combining marks: turn
    /// it off for such corpora. Fixed when a session is made. Older configs load true.
    pub strip_accents: bool,
    pub vocab_size: usize,
    /// An existing WordPiece `vocab.txt` instead of training one.
    pub vocab: Option<PathBuf>,
    pub max_seq_len: usize,
    pub heldout_fraction: f64,
    pub mask_prob: f64,
    /// Share of the selected tokens replaced by `[MASK]` (BERT: 0.8). Older configs
    /// without the key load as 0.8.
    pub mask_replace_prob: f64,
    /// Share of the selected tokens replaced by a random token (BERT: 0.1); the rest
    /// stay unchanged. Older configs without the key load as 0.1.
    pub random_replace_prob: f64,
    pub short_seq_prob: f64,
    /// The column (CSV) holding each document's class, for the downstream linear probe
    /// and fine-tuning: `auto` (a column of 2 to 50 short distinct values beside the
    /// text, such as IMDB's `sentiment`; none found = off), `none`, or a column name.
    /// Older configs without the key load as `none`.
    pub label_column: String,
    /// Keep the downstream test documents out of pretraining (one held-out fold
    /// instead of k-fold over every labelled document). Fixed when a session is made.
    /// Older configs without the key load as `false`.
    pub downstream_strict: bool,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            corpus: None,
            format: "auto".into(),
            text_column: "review".into(),
            lowercase: true,
            strip_accents: true,
            vocab_size: 2048,
            vocab: None,
            max_seq_len: 128,
            heldout_fraction: 0.05,
            mask_prob: 0.3,
            mask_replace_prob: 1.0,
            random_replace_prob: 0.0,
            short_seq_prob: 0.1,
            label_column: "auto".into(),
            downstream_strict: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    pub epochs: usize,
    /// Stop after this many optimizer steps (0 = no limit).
    pub max_steps: u64,
    pub batch_size: usize,
    pub lr: f64,
    pub warmup_steps: u64,
    /// The schedule after warmup. Older configs without the key load as `linear`.
    pub lr_scheduler: LrScheduler,
    /// Share of the planned steps spent decaying, for `warmup_stable_decay`.
    pub decay_ratio: f64,
    /// AdamW's epsilon (added to the root of the second moment). Older configs
    /// without the key load as 1e-6.
    pub adam_epsilon: f64,
    pub weight_decay: f64,
    /// Global gradient-norm clipping threshold (0 = off).
    pub clip_norm: f64,
    pub grad_accum: usize,
    pub seed: u64,
    pub device: DeviceChoice,
    pub precision: Precision,
    /// CPU threads for libtorch (0 = all cores).
    pub threads: usize,
    pub log_every: u64,
    /// Evaluate on the held-out split every N steps (0 = at epoch ends only).
    pub eval_every: u64,
    /// Also save a checkpoint every N steps (0 = at epoch ends and the end only).
    pub checkpoint_every: u64,
    pub keep_checkpoints: usize,
    /// Watched probes, `TEXT` or `TEXT | token, token` each (at most
    /// [`watch::MAX_WATCHED`]); see [`watch::WatchSpec`].
    pub watch: Vec<String>,
    /// Read the watched probes every N steps (0 = every `log_every`).
    pub watch_every: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 10,
            max_steps: 0,
            batch_size: 32,
            lr: 1e-3,
            warmup_steps: 100,
            lr_scheduler: LrScheduler::WarmupStableDecay,
            decay_ratio: 0.2,
            adam_epsilon: 1e-6,
            weight_decay: 0.01,
            clip_norm: 1.0,
            grad_accum: 1,
            seed: 42,
            device: DeviceChoice::Auto,
            precision: Precision::Auto,
            threads: 0,
            log_every: 10,
            eval_every: 0,
            checkpoint_every: 0,
            keep_checkpoints: 3,
            watch: Vec::new(),
            watch_every: 0,
        }
    }
}

impl TrainConfig {
    /// Steps between readings of the watched probes.
    pub fn watch_interval(&self) -> u64 {
        if self.watch_every == 0 {
            self.log_every
        } else {
            self.watch_every
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub model: ModelConfig,
    pub data: DataConfig,
    pub train: TrainConfig,
}

impl Config {
    /// Reads a TOML config file and applies `key=value` overrides on top.
    pub fn load(file: Option<&Path>, overrides: &[String]) -> Result<Self> {
        let mut table = match file {
            Some(path) => read_table(path)?,
            None => toml::Table::new(),
        };
        for item in overrides {
            keys::apply_override(&mut table, item)?;
        }
        Self::from_table(table)
    }

    /// A session's saved `config.toml`. Keys added after the session was made get the
    /// value that keeps its run as it was ([`keys::Key::legacy`]), not today's default.
    ///
    /// Errors: as [`Config::load`].
    pub fn load_saved(path: &Path) -> Result<Self> {
        let mut table = read_table(path)?;
        keys::fill_legacy(&mut table);
        Self::from_table(table)
    }

    /// This config with `key=value` overrides applied (validated).
    pub fn with_overrides(&self, overrides: &[String]) -> Result<Self> {
        let mut table = toml::Table::try_from(self).context("serialising the config")?;
        for item in overrides {
            keys::apply_override(&mut table, item)?;
        }
        Self::from_table(table)
    }

    /// The dotted keys whose values differ from `other`, with this config's values.
    pub fn changed_keys(&self, other: &Config) -> Result<Vec<(String, String)>> {
        let (a, b) = (toml::Table::try_from(self)?, toml::Table::try_from(other)?);
        let mut out = Vec::new();
        for (section, values) in &a {
            let (Some(values), theirs) =
                (values.as_table(), b.get(section).and_then(|v| v.as_table()))
            else {
                continue;
            };
            for (key, value) in values {
                if theirs.and_then(|t| t.get(key)) != Some(value) {
                    let shown = match value {
                        toml::Value::String(s) => s.clone(),
                        v => v.to_string(),
                    };
                    out.push((format!("{section}.{key}"), shown));
                }
            }
            if let Some(theirs) = theirs {
                for key in theirs.keys().filter(|k| !values.contains_key(*k)) {
                    out.push((format!("{section}.{key}"), "(default)".into()));
                }
            }
        }
        Ok(out)
    }

    /// Builds a config from an already key-checked table.
    pub fn from_table(table: toml::Table) -> Result<Self> {
        let config: Config =
            serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
                let msg = e
                    .inner()
                    .message()
                    .replace("usize", "a non-negative integer")
                    .replace("u64", "a non-negative integer")
                    .replace("f64", "a number");
                anyhow::anyhow!("bad value for {}: {msg}", e.path())
            })?;
        config.validate()?;
        Ok(config)
    }

    /// The sizes of the model: the preset's, overridden by explicit values.
    pub fn dims(&self) -> Result<ModelDims> {
        let m = &self.model;
        let base = m.preset.dims();
        let hidden = m.hidden.unwrap_or(base.hidden);
        let heads = m.heads.unwrap_or(if m.hidden.is_some() {
            (hidden / 64).max(1)
        } else {
            base.heads
        });
        let dims = ModelDims {
            layers: m.layers.unwrap_or(base.layers),
            hidden,
            heads,
            intermediate: m.intermediate.unwrap_or(4 * hidden),
        };
        if dims.layers == 0 || dims.hidden == 0 || dims.heads == 0 || dims.intermediate == 0 {
            bail!("model sizes must be positive (layers, hidden, heads, intermediate)");
        }
        if !dims.hidden.is_multiple_of(dims.heads) {
            bail!(
                "model.hidden ({}) must be divisible by model.heads ({})",
                dims.hidden,
                dims.heads
            );
        }
        Ok(dims)
    }

    /// Checks every value; the message names the key and what is allowed.
    pub fn validate(&self) -> Result<()> {
        let (m, d, t) = (&self.model, &self.data, &self.train);
        self.dims()?;
        check(m.max_position >= 8, "model.max_position", "an integer >= 8")?;
        check(
            (0.0..1.0).contains(&m.dropout),
            "model.dropout",
            "a number in [0, 1)",
        )?;
        // With data.vocab the vocabulary is given and vocab_size only records its size.
        check(
            d.vocab.is_some() || d.vocab_size >= 100,
            "data.vocab_size",
            "an integer >= 100",
        )?;
        check(
            (8..=m.max_position).contains(&d.max_seq_len),
            "data.max_seq_len",
            &format!(
                "an integer from 8 to model.max_position ({})",
                m.max_position
            ),
        )?;
        check(
            d.heldout_fraction > 0.0 && d.heldout_fraction < 0.5,
            "data.heldout_fraction",
            "a number in (0, 0.5)",
        )?;
        check(
            d.mask_prob > 0.0 && d.mask_prob < 1.0,
            "data.mask_prob",
            "a number in (0, 1)",
        )?;
        check(
            (0.0..=1.0).contains(&d.mask_replace_prob),
            "data.mask_replace_prob",
            "a number in [0, 1]",
        )?;
        check(
            (0.0..=1.0).contains(&d.random_replace_prob)
                && d.mask_replace_prob + d.random_replace_prob <= 1.0 + 1e-9,
            "data.random_replace_prob",
            "a number in [0, 1] with data.mask_replace_prob + data.random_replace_prob <= 1",
        )?;
        check(
            (0.0..=1.0).contains(&d.short_seq_prob),
            "data.short_seq_prob",
            "a number in [0, 1]",
        )?;
        check(
            !d.text_column.is_empty(),
            "data.text_column",
            "a non-empty column name",
        )?;
        watch::parse_all(&t.watch)?;
        check(t.epochs >= 1, "train.epochs", "an integer >= 1")?;
        check(t.batch_size >= 1, "train.batch_size", "an integer >= 1")?;
        check(t.lr > 0.0 && t.lr < 1.0, "train.lr", "a number in (0, 1)")?;
        check(
            t.decay_ratio > 0.0 && t.decay_ratio <= 1.0,
            "train.decay_ratio",
            "a number in (0, 1]",
        )?;
        check(
            t.adam_epsilon > 0.0 && t.adam_epsilon < 1.0,
            "train.adam_epsilon",
            "a number in (0, 1)",
        )?;
        check(
            (0.0..1.0).contains(&t.weight_decay),
            "train.weight_decay",
            "a number in [0, 1)",
        )?;
        check(
            t.clip_norm >= 0.0 && t.clip_norm.is_finite(),
            "train.clip_norm",
            "a number >= 0 (0 = off)",
        )?;
        check(t.grad_accum >= 1, "train.grad_accum", "an integer >= 1")?;
        check(t.log_every >= 1, "train.log_every", "an integer >= 1")?;
        check(
            t.keep_checkpoints >= 1,
            "train.keep_checkpoints",
            "an integer >= 1",
        )?;
        Ok(())
    }
}

/// A config file's table, its keys checked. Errors name the file: unreadable, not
/// TOML, or an unknown section or key.
fn read_table(path: &Path) -> Result<toml::Table> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "config file {} is not valid TOML: {}",
            path.display(),
            e.message()
        )
    })?;
    keys::check_table(&table).with_context(|| format!("in config file {}", path.display()))?;
    Ok(table)
}

fn check(ok: bool, key: &str, allowed: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        bail!("bad value for {key}: must be {allowed}")
    }
}

#[cfg(test)]
mod tests;
