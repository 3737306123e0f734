//! Multi-head self-attention (`attention.self`) and its output projection with the
//! residual and LayerNorm (`attention.output`).

use tch::{nn, nn::Module, Device, Kind, Tensor};

use super::rows::RowLayout;
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

    /// q, k and v as `[B, heads, S, head_dim]` each, from token rows `x` (`[N, H]`)
    /// laid out by `layout`.
    fn qkv(&self, x: &Tensor, layout: &RowLayout) -> Vec<Tensor> {
        let (b, s) = (layout.batch, layout.seq);
        let h = x.size().last().copied().expect("rows are [N, H]");
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
        layout
            .pad(&x.linear(&weight, Some(&bias)))
            .view([b, s, 3, self.heads, head_dim])
            .permute([2, 0, 3, 1, 4])
            .unbind(0)
    }

    /// As [`forward`](Self::forward) in eval mode, also returning the attention
    /// probabilities `[B, heads, S, S]` (softmax(QKᵀ/√d) with masked keys at 0).
    pub fn forward_with_probabilities(
        &self,
        x: &Tensor,
        mask: &Tensor,
        layout: &RowLayout,
    ) -> (Tensor, Tensor) {
        let parts = self.qkv(x, layout);
        let probs = explicit_probabilities(&parts[0], &parts[1], mask);
        let context = probs.to_kind(parts[2].kind()).matmul(&parts[2]);
        let out = self.output.forward(&layout.unpad(&context));
        (self.norm.forward(&(out + x)), probs)
    }

    /// Token rows `x` (`[N, H]`, laid out by `layout`) to the block's output rows
    /// (`[N, H]`): attention over each sequence's keys where `mask` (`[B, 1, 1, S]`,
    /// bool) is true, projection, residual, LayerNorm.
    pub fn forward(&self, x: &Tensor, mask: &Tensor, layout: &RowLayout, train: bool) -> Tensor {
        let parts = self.qkv(x, layout);
        let dropout = if train { self.dropout } else { 0.0 };
        let context = if parts[0].kind() == Kind::BFloat16 && parts[0].device() == Device::Cpu {
            bf16_cpu_attention(&parts[0], &parts[1], &parts[2], mask, dropout)
        } else {
            // Scale defaults to 1/sqrt(head_dim).
            Tensor::scaled_dot_product_attention(
                &parts[0],
                &parts[1],
                &parts[2],
                Some(mask),
                dropout,
                false,
                None,
                false,
            )
        };
        let out = self
            .output
            .forward(&layout.unpad(&context))
            .dropout(self.dropout, train);
        self.norm.forward(&(out + x))
    }
}

/// Attention written out (QKᵀ/√d, masked softmax, dropout, ·V) for bf16 on CPU, where it
/// beats libtorch's flash kernel: that kernel's bf16 backward is slower than its fp32
/// one, while the written-out form runs its two batched matmuls on the bf16 units
/// (`bertwork bench --preset mini --set train.precision=bf16 --profile` shows the
/// split; docs/measurements.md, "bf16 on CPU", has the figures). The softmax stays in bf16 storage with
/// fp32 accumulation inside libtorch's kernel; a float32 softmax plus casts costs more
/// than the flash path it replaces.
fn bf16_cpu_attention(q: &Tensor, k: &Tensor, v: &Tensor, mask: &Tensor, dropout: f64) -> Tensor {
    let head_dim = *q.size().last().expect("q has a head dimension");
    let scores = q.matmul(&k.transpose(-2, -1)) * (1.0 / (head_dim as f64).sqrt());
    let probs = scores
        .masked_fill(&mask.logical_not(), f64::NEG_INFINITY)
        .softmax(-1, Kind::BFloat16);
    let probs = if dropout > 0.0 {
        probs.dropout(dropout, true)
    } else {
        probs
    };
    probs.matmul(v)
}

fn explicit_probabilities(q: &Tensor, k: &Tensor, mask: &Tensor) -> Tensor {
    let head_dim = *q.size().last().expect("q has a head dimension");
    let q = q.to_kind(Kind::Float);
    let k = k.to_kind(Kind::Float);
    let scores = q.matmul(&k.transpose(-2, -1)) / (head_dim as f64).sqrt();
    let scores = scores.masked_fill(&mask.logical_not(), f64::NEG_INFINITY);
    scores.softmax(-1, Kind::Float)
}

#[cfg(test)]
mod tests {
    use tch::{nn::VarStore, Device, Kind, Tensor};

    use super::*;
    use crate::config::Config;

    #[test]
    fn explicit_probabilities_match_scaled_dot_product_attention() {
        tch::manual_seed(7);
        let mut c = Config::default();
        c.model.preset = crate::config::Preset::Tiny;
        let cfg = BertConfig::new(50, c.dims().unwrap(), &c.model);
        let vs = VarStore::new(Device::Cpu);
        let attention = SelfAttention::new(vs.root() / "attention", &cfg);
        let (b, s, h) = (2, 6, cfg.dims.hidden as i64);
        let x = Tensor::randn([b, s, h], (Kind::Float, Device::Cpu));
        // The second sequence has two padding positions at the end.
        let keep = Tensor::from_slice(&[1i64, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0])
            .view([b, s])
            .to_kind(Kind::Bool);
        let mask = keep.view([b, 1, 1, s]);
        let _guard = tch::no_grad_guard();
        let layout = RowLayout::padded(b, s);
        let x = x.view([b * s, h]);
        let (out, probs) = attention.forward_with_probabilities(&x, &mask, &layout);
        assert_eq!(probs.size(), [b, cfg.dims.heads as i64, s, s]);
        let sums = probs.sum_dim_intlist(-1, false, Kind::Float);
        let worst = (sums - 1.0).abs().max().double_value(&[]);
        assert!(worst < 1e-5, "rows sum to 1 within {worst}");
        let masked = probs.narrow(0, 1, 1).narrow(3, 4, 2).abs().max();
        assert_eq!(masked.double_value(&[]), 0.0, "masked keys get nothing");
        let parts = attention.qkv(&x, &layout);
        let explicit = probs.matmul(&parts[2]);
        let fused = Tensor::scaled_dot_product_attention(
            &parts[0],
            &parts[1],
            &parts[2],
            Some(&mask),
            0.0,
            false,
            None,
            false,
        );
        let diff = (explicit - fused).abs().max().double_value(&[]);
        assert!(
            diff < 1e-5,
            "probs @ V differs from the fused context by {diff}"
        );
        let fused = attention.forward(&x, &mask, &layout, false);
        let diff = (out - fused).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "the explicit forward differs by {diff}");
    }

    #[test]
    fn bf16_cpu_attention_matches_the_fp32_kernel_in_values_and_gradients() {
        tch::manual_seed(3);
        let (b, heads, s, d) = (3, 2, 16, 32);
        let opts = (Kind::Float, Device::Cpu);
        let q = Tensor::randn([b, heads, s, d], opts);
        let k = Tensor::randn([b, heads, s, d], opts);
        let v = Tensor::randn([b, heads, s, d], opts);
        // The last sequence pads its last 5 keys.
        let keep: Vec<i64> = (0..b * s).map(|i| i64::from(i < 2 * s + 11)).collect();
        let mask = Tensor::from_slice(&keep)
            .view([b, 1, 1, s])
            .to_kind(Kind::Bool);
        let run = |bf16: bool| {
            let leaf = |t: &Tensor| {
                let t = if bf16 {
                    t.to_kind(Kind::BFloat16)
                } else {
                    t.copy()
                };
                t.set_requires_grad(true)
            };
            let (q, k, v) = (leaf(&q), leaf(&k), leaf(&v));
            let out = if bf16 {
                bf16_cpu_attention(&q, &k, &v, &mask, 0.0)
            } else {
                Tensor::scaled_dot_product_attention(
                    &q,
                    &k,
                    &v,
                    Some(&mask),
                    0.0,
                    false,
                    None,
                    false,
                )
            };
            // A loss that weighs every output element differently.
            let weights =
                Tensor::linspace(-1.0, 1.0, b * heads * s * d, opts).view([b, heads, s, d]);
            (out.to_kind(Kind::Float) * &weights)
                .sum(Kind::Float)
                .backward();
            let f = |t: &Tensor| t.to_kind(Kind::Float);
            [f(&out), f(&q.grad()), f(&k.grad()), f(&v.grad())]
        };
        let (low, reference) = (run(true), run(false));
        for (name, (a, r)) in ["output", "dq", "dk", "dv"]
            .iter()
            .zip(low.iter().zip(&reference))
        {
            let scale = r.abs().max().double_value(&[]);
            let worst = (a - r).abs().max().double_value(&[]);
            // bf16 keeps 8 bits of mantissa: a few parts in a hundred of the largest value.
            assert!(
                worst <= 0.03 * scale,
                "{name}: off by {worst} (largest {scale})"
            );
        }
        // Padded keys get no gradient.
        let dk_padded = low[2]
            .narrow(0, 2, 1)
            .narrow(2, 11, 5)
            .abs()
            .max()
            .double_value(&[]);
        assert_eq!(dk_padded, 0.0);
    }
}
