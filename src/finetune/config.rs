//! A fine-tune's recipe (`finetune.toml` in a classifier session): BERT's paper and HF
//! `run_glue.py` (AdamW, linear warmup then linear decay, dropout 0.1 before the
//! classifier), with a learning rate for small models.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// The file in a classifier session.
pub const FINETUNE_CONFIG_FILE: &str = "finetune.toml";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FinetuneConfig {
    /// Passes over each fold's training documents.
    pub epochs: usize,
    pub batch_size: usize,
    /// Peak learning rate (after warmup).
    pub lr: f64,
    /// Share of the steps spent warming up linearly; then linear decay to 0.
    pub warmup_ratio: f64,
    /// AdamW decay, not on LayerNorm weights or biases.
    pub weight_decay: f64,
    /// Tokens per document, `[CLS]` and `[SEP]` included (its head).
    pub max_seq_len: usize,
    /// Hidden, attention and classifier dropout while fine-tuning.
    pub dropout: f64,
    /// Global gradient-norm clipping (0 = off).
    pub clip_norm: f64,
    /// Seeds the classifier's initial weights, the batch order and dropout.
    pub seed: u64,
}

impl Default for FinetuneConfig {
    fn default() -> Self {
        Self {
            epochs: 4,
            batch_size: 32,
            lr: 1e-3,
            warmup_ratio: 0.1,
            weight_decay: 0.01,
            max_seq_len: 128,
            dropout: 0.1,
            clip_norm: 1.0,
            seed: 42,
        }
    }
}

/// The keys, for error messages.
const KEYS: &[&str] = &[
    "epochs",
    "batch_size",
    "lr",
    "warmup_ratio",
    "weight_decay",
    "max_seq_len",
    "dropout",
    "clip_norm",
    "seed",
];

impl FinetuneConfig {
    /// This recipe with `finetune.KEY=VALUE` overrides (values read as TOML).
    ///
    /// Errors: an override that is not `finetune.KEY=VALUE` with a known key, or a value
    /// out of range.
    pub fn with_overrides(&self, sets: &[String]) -> Result<Self> {
        let mut table = toml::Table::try_from(self).context("serialising the recipe")?;
        for item in sets {
            let Some((key, raw)) = item.split_once('=') else {
                bail!("--set expects finetune.KEY=VALUE, got `{item}`");
            };
            let Some(key) = key.trim().strip_prefix("finetune.") else {
                bail!(
                    "a fine-tune takes finetune.KEY=VALUE (keys: {}), got `{}`",
                    KEYS.join(", "),
                    key.trim()
                );
            };
            if !KEYS.contains(&key) {
                bail!(
                    "unknown key `finetune.{key}`; allowed: {}",
                    KEYS.iter()
                        .map(|k| format!("finetune.{k}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            table.insert(
                key.to_string(),
                crate::config::keys::parse_value(raw.trim()),
            );
        }
        let config: Self = toml::Value::Table(table)
            .try_into()
            .context("a finetune value has the wrong type")?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        let checks: [(bool, &str); 7] = [
            (self.epochs >= 1, "finetune.epochs must be at least 1"),
            (
                self.batch_size >= 1,
                "finetune.batch_size must be at least 1",
            ),
            (
                self.lr > 0.0 && self.lr.is_finite(),
                "finetune.lr must be above 0",
            ),
            (
                (0.0..1.0).contains(&self.warmup_ratio),
                "finetune.warmup_ratio must be in [0, 1)",
            ),
            (
                self.weight_decay >= 0.0,
                "finetune.weight_decay must be 0 or more",
            ),
            (
                self.max_seq_len >= 3,
                "finetune.max_seq_len must be at least 3",
            ),
            (
                (0.0..1.0).contains(&self.dropout),
                "finetune.dropout must be in [0, 1)",
            ),
        ];
        for (ok, message) in checks {
            if !ok {
                bail!("{message}");
            }
        }
        Ok(())
    }

    /// The learning rate at optimizer step `step` (1-based) of `total`: linear warmup
    /// over `warmup_ratio` of the steps, then linear decay to 0 (HF's
    /// `get_linear_schedule_with_warmup`).
    pub fn lr_at(&self, step: u64, total: u64) -> f64 {
        let warmup = (self.warmup_ratio * total as f64).round() as u64;
        if step <= warmup && warmup > 0 {
            return self.lr * step as f64 / warmup as f64;
        }
        let left = total.saturating_sub(step) as f64 / total.saturating_sub(warmup).max(1) as f64;
        self.lr * left.max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_are_checked_and_applied() {
        let c = FinetuneConfig::default()
            .with_overrides(&["finetune.lr=1e-4".into(), "finetune.epochs=2".into()])
            .unwrap();
        assert_eq!((c.lr, c.epochs), (1e-4, 2));
        let e = FinetuneConfig::default()
            .with_overrides(&["finetune.nope=1".into()])
            .unwrap_err();
        assert!(e.to_string().contains("unknown key `finetune.nope`"), "{e}");
        let e = FinetuneConfig::default()
            .with_overrides(&["train.lr=1".into()])
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("a fine-tune takes finetune.KEY=VALUE"),
            "{e}"
        );
        let e = FinetuneConfig::default()
            .with_overrides(&["finetune.dropout=1.5".into()])
            .unwrap_err();
        assert!(e.to_string().contains("finetune.dropout"), "{e}");
    }

    #[test]
    fn the_schedule_warms_up_then_decays_to_zero() {
        let c = FinetuneConfig::default();
        assert!((c.lr_at(5, 100) - c.lr * 0.5).abs() < 1e-12);
        assert!((c.lr_at(10, 100) - c.lr).abs() < 1e-12);
        assert!((c.lr_at(55, 100) - c.lr * 0.5).abs() < 1e-12);
        assert_eq!(c.lr_at(100, 100), 0.0);
    }
}
