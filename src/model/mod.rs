//! BERT with its two pretraining heads, in tch. Variable-store paths are HF's
//! state-dict keys (`bert.encoder.layer.0.attention.self.query.weight`, ...).

mod attention;
mod bert;
mod embeddings;
mod finite;
mod heads;
mod layer;
mod mimetic;
pub mod rows;

pub use bert::BertForPreTraining;
pub use embeddings::sinusoidal_table;
pub use finite::first_non_finite;

use crate::config::{InitKind, ModelDims, PositionInit, PositionKind};

/// Everything that fixes the shapes of the model.
#[derive(Debug, Clone, PartialEq)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub dims: ModelDims,
    pub max_position: usize,
    pub type_vocab_size: usize,
    pub position: PositionKind,
    pub dropout: f64,
    pub layer_norm_eps: f64,
    /// Whether the NSP head is trained (`model.nsp`). It exists either way (same
    /// shapes, HF layout); when it is not trained its IsNext answers mean nothing.
    pub nsp: bool,
    /// How the weights start (`model.init`).
    pub init: InitKind,
    /// How a learned position table starts (`model.position_init`).
    pub position_init: PositionInit,
}

impl BertConfig {
    pub fn new(vocab_size: usize, dims: ModelDims, config: &crate::config::ModelConfig) -> Self {
        Self {
            vocab_size,
            dims,
            max_position: config.max_position,
            type_vocab_size: 2,
            position: config.position,
            dropout: config.dropout,
            layer_norm_eps: 1e-12,
            nsp: config.nsp,
            init: config.init,
            position_init: config.position_init,
        }
    }

    /// Parameters of `BertForPreTraining` with the decoder tied to the word embeddings,
    /// computed from the shapes (matches what the variable store holds).
    pub fn parameter_count(&self) -> u64 {
        let (v, h, i, l) = (
            self.vocab_size as u64,
            self.dims.hidden as u64,
            self.dims.intermediate as u64,
            self.dims.layers as u64,
        );
        let positions = match self.position {
            PositionKind::Learned => self.max_position as u64 * h,
            PositionKind::Sinusoidal => 0,
        };
        let embeddings = v * h + positions + self.type_vocab_size as u64 * h + 2 * h;
        let layer = 4 * (h * h + h) + 2 * h + (h * i + i) + (i * h + h) + 2 * h;
        let pooler = h * h + h;
        let mlm_head = (h * h + h) + 2 * h + v;
        let nsp_head = 2 * h + 2;
        embeddings + l * layer + pooler + mlm_head + nsp_head
    }
}

/// Standard deviation of [`INIT`] (HF's `initializer_range`).
pub(crate) const INIT_STD: f64 = 0.02;

/// Normal(0, 0.02) initialisation used for every weight matrix and embedding.
pub(crate) const INIT: tch::nn::Init = tch::nn::Init::Randn {
    mean: 0.0,
    stdev: INIT_STD,
};

pub(crate) fn linear(p: tch::nn::Path, input: usize, output: usize) -> tch::nn::Linear {
    let cfg = tch::nn::LinearConfig {
        ws_init: INIT,
        bs_init: Some(tch::nn::Init::Const(0.0)),
        bias: true,
    };
    tch::nn::linear(p, input as i64, output as i64, cfg)
}

pub(crate) fn layer_norm(p: tch::nn::Path, size: usize, eps: f64) -> tch::nn::LayerNorm {
    let cfg = tch::nn::LayerNormConfig {
        eps,
        ..Default::default()
    };
    tch::nn::layer_norm(p, vec![size as i64], cfg)
}

#[cfg(test)]
mod tests;
