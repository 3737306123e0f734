//! Multi-head self-attention (`attention.self`) and its output projection with the
//! residual and LayerNorm (`attention.output`).

use tch::{nn, nn::Module, Tensor};

use super::{layer_norm, linear, mimetic, BertConfig};
use crate::config::InitKind;

#[derive(Debug)]
pub struct SelfAttention {
    query: nn::Linear,
    key: nn::Linear,
    value: nn::Linear,
    output: nn::Linear,
    norm: nn::LayerNorm,
    heads: i64,
    dropout: f64,
}

impl SelfAttention {
    pub fn new(p: nn::Path, cfg: &BertConfig) -> Self {
        let h = cfg.dims.hidden;
        let s = &p / "self";
        let o = &p / "output";
        let mut attention = Self {
            query: linear(&s / "query", h, h),
            key: linear(&s / "key", h, h),
            value: linear(&s / "value", h, h),
            output: linear(&o / "dense", h, h),
            norm: layer_norm(&o / "LayerNorm", h, cfg.layer_norm_eps),
            heads: cfg.dims.heads as i64,
            dropout: cfg.dropout,
        };
        if cfg.init == InitKind::Mimetic {
            let (alpha, beta) = mimetic::QK;
            mimetic::overwrite(
                &mut attention.query.ws,
                &mut attention.key.ws,
                alpha,
                beta,
                true,
            );
            let (alpha, beta) = mimetic::VO;
            mimetic::overwrite(
                &mut attention.output.ws,
                &mut attention.value.ws,
                alpha,
                -beta,
                false,
            );
        }
        attention
    }

    /// `x`: [B, S, H]; `mask`: bool [B, 1, 1, S], true where a key may be attended.
    pub fn forward(&self, x: &Tensor, mask: &Tensor, train: bool) -> Tensor {
        let (b, s, h) = x.size3().expect("hidden states are [B, S, H]");
        let head_dim = h / self.heads;
        // One matmul for q, k and v (the three weights concatenated), then one unbind.
        let weight = Tensor::cat(&[&self.query.ws, &self.key.ws, &self.value.ws], 0);
        let bias = Tensor::cat(
            &[
                self.query.bs.as_ref().expect("query bias"),
                self.key.bs.as_ref().expect("key bias"),
                self.value.bs.as_ref().expect("value bias"),
            ],
            0,
        );
        let qkv = x
            .linear(&weight, Some(&bias))
            .view([b, s, 3, self.heads, head_dim])
            .permute([2, 0, 3, 1, 4]);
        let parts = qkv.unbind(0);
        let dropout = if train { self.dropout } else { 0.0 };
        // Scale defaults to 1/sqrt(head_dim).
        let context = Tensor::scaled_dot_product_attention(
            &parts[0],
            &parts[1],
            &parts[2],
            Some(mask),
            dropout,
            false,
            None,
            false,
        );
        let context = context.transpose(1, 2).reshape([b, s, h]);
        let out = self.output.forward(&context).dropout(self.dropout, train);
        self.norm.forward(&(out + x))
    }
}
