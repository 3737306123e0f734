//! One post-LN encoder layer: attention block, then the GELU feed-forward
//! (`intermediate` H -> 4H, `output` 4H -> H) with residual and LayerNorm.

use tch::{nn, nn::Module, Tensor};

use super::attention::SelfAttention;
use super::rows::RowLayout;
use super::{layer_norm, linear, BertConfig};

#[derive(Debug)]
pub struct EncoderLayer {
    attention: SelfAttention,
    intermediate: nn::Linear,
    output: nn::Linear,
    norm: nn::LayerNorm,
    dropout: f64,
}

impl EncoderLayer {
    pub fn new(p: nn::Path, cfg: &BertConfig) -> Self {
        let (h, i) = (cfg.dims.hidden, cfg.dims.intermediate);
        Self {
            attention: SelfAttention::new(&p / "attention", cfg),
            intermediate: linear(&p / "intermediate" / "dense", h, i),
            output: linear(&p / "output" / "dense", i, h),
            norm: layer_norm(&p / "output" / "LayerNorm", h, cfg.layer_norm_eps),
            dropout: cfg.dropout,
        }
    }

    /// Eval-mode forward that also returns this layer's attention probabilities
    /// [B, heads, S, S]: see `SelfAttention::forward_with_probabilities`.
    pub fn forward_with_probabilities(
        &self,
        x: &Tensor,
        mask: &Tensor,
        layout: &RowLayout,
    ) -> (Tensor, Tensor) {
        let (attended, probs) = self.attention.forward_with_probabilities(x, mask, layout);
        let inner = self.intermediate.forward(&attended).gelu("none");
        let out = self.output.forward(&inner);
        (self.norm.forward(&(out + attended)), probs)
    }

    /// Token rows `[N, H]` to token rows: only attention sees the sequences (through
    /// `layout`); the projections and the feed-forward work on the rows alone.
    pub fn forward(&self, x: &Tensor, mask: &Tensor, layout: &RowLayout, train: bool) -> Tensor {
        let attended = self.attention.forward(x, mask, layout, train);
        let inner = self.intermediate.forward(&attended).gelu("none");
        let out = self.output.forward(&inner).dropout(self.dropout, train);
        self.norm.forward(&(out + attended))
    }
}
