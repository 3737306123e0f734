//! The pretraining heads: `cls.predictions` (transform, LayerNorm, decoder tied to the
//! word embeddings, own bias) and `cls.seq_relationship` (NSP, 2 classes).

use tch::{nn, nn::Module, Tensor};

use super::{layer_norm, linear, BertConfig};

#[derive(Debug)]
pub struct MlmHead {
    dense: nn::Linear,
    norm: nn::LayerNorm,
    bias: Tensor,
}

impl MlmHead {
    pub fn new(p: nn::Path, cfg: &BertConfig) -> Self {
        let h = cfg.dims.hidden;
        let t = &p / "transform";
        Self {
            dense: linear(&t / "dense", h, h),
            norm: layer_norm(&t / "LayerNorm", h, cfg.layer_norm_eps),
            bias: p.zeros("bias", &[cfg.vocab_size as i64]),
        }
    }

    /// `hidden`: [N, H] (the selected positions only); returns [N, V] logits.
    pub fn forward(&self, hidden: &Tensor, word_embeddings: &Tensor) -> Tensor {
        let x = self.norm.forward(&self.dense.forward(hidden).gelu("none"));
        x.linear(word_embeddings, Some(&self.bias))
    }
}

#[derive(Debug)]
pub struct NspHead {
    dense: nn::Linear,
}

impl NspHead {
    pub fn new(p: nn::Path, cfg: &BertConfig) -> Self {
        Self {
            dense: linear(&p / "seq_relationship", cfg.dims.hidden, 2),
        }
    }

    /// `pooled`: [B, H]; returns [B, 2] logits (0 = IsNext, 1 = random).
    pub fn forward(&self, pooled: &Tensor) -> Tensor {
        self.dense.forward(pooled)
    }
}
