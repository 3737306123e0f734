//! Word + position + token-type embeddings, summed, then LayerNorm and dropout.

use tch::{nn, nn::Module, Kind, Tensor};

use super::{layer_norm, BertConfig, INIT, INIT_STD};
use crate::config::{PositionInit, PositionKind};

#[derive(Debug)]
pub struct Embeddings {
    pub word: nn::Embedding,
    positions: Positions,
    token_type: nn::Embedding,
    norm: nn::LayerNorm,
    dropout: f64,
}

#[derive(Debug)]
enum Positions {
    Learned(nn::Embedding),
    /// Fixed table [max_position, hidden]; not a parameter.
    Sinusoidal(Tensor),
}

fn embedding(p: nn::Path, count: usize, dim: usize) -> nn::Embedding {
    let cfg = nn::EmbeddingConfig {
        ws_init: INIT,
        ..Default::default()
    };
    nn::embedding(p, count as i64, dim as i64, cfg)
}

/// pe[pos, 2i] = sin(pos / 10000^(2i/d)), pe[pos, 2i+1] = cos(pos / 10000^(2i/d)).
pub fn sinusoidal_table(positions: usize, dim: usize, device: tch::Device) -> Tensor {
    let mut data = vec![0f32; positions * dim];
    for pos in 0..positions {
        for d in 0..dim {
            let pair = (d / 2) * 2;
            let angle = pos as f64 / 10000f64.powf(pair as f64 / dim as f64);
            data[pos * dim + d] = if d % 2 == 0 { angle.sin() } else { angle.cos() } as f32;
        }
    }
    Tensor::from_slice(&data)
        .view([positions as i64, dim as i64])
        .to_device(device)
}

impl Embeddings {
    pub fn new(p: nn::Path, cfg: &BertConfig) -> Self {
        let h = cfg.dims.hidden;
        let positions = match cfg.position {
            PositionKind::Learned => {
                let mut table = embedding(&p / "position_embeddings", cfg.max_position, h);
                if cfg.position_init == PositionInit::Sinusoidal {
                    // sin/cos entries have standard deviation 1/sqrt(2): scale to INIT's.
                    let start = sinusoidal_table(cfg.max_position, h, p.device())
                        * (INIT_STD * std::f64::consts::SQRT_2);
                    let _guard = tch::no_grad_guard();
                    table.ws.copy_(&start);
                }
                Positions::Learned(table)
            }
            PositionKind::Sinusoidal => {
                Positions::Sinusoidal(sinusoidal_table(cfg.max_position, h, p.device()))
            }
        };
        Self {
            word: embedding(&p / "word_embeddings", cfg.vocab_size, h),
            positions,
            token_type: embedding(&p / "token_type_embeddings", cfg.type_vocab_size, h),
            norm: layer_norm(&p / "LayerNorm", h, cfg.layer_norm_eps),
            dropout: cfg.dropout,
        }
    }

    /// `input_ids`, `token_type_ids`: [B, S] int64. Returns [B, S, H].
    pub fn forward(&self, input_ids: &Tensor, token_type_ids: &Tensor, train: bool) -> Tensor {
        let seq_len = input_ids.size()[1];
        let pos_ids = Tensor::arange(seq_len, (Kind::Int64, input_ids.device()));
        let positions = match &self.positions {
            Positions::Learned(table) => table.forward(&pos_ids),
            Positions::Sinusoidal(table) => table.narrow(0, 0, seq_len),
        };
        let x = self.word.forward(input_ids)
            + positions.unsqueeze(0)
            + self.token_type.forward(token_type_ids);
        self.norm.forward(&x).dropout(self.dropout, train)
    }
}
