//! `BertForPreTraining`: encoder, pooler and both heads.

use tch::{nn, nn::Module, Kind, Tensor};

use super::embeddings::Embeddings;
use super::heads::{MlmHead, NspHead};
use super::layer::EncoderLayer;
use super::{linear, BertConfig};

#[derive(Debug)]
pub struct BertForPreTraining {
    pub config: BertConfig,
    embeddings: Embeddings,
    layers: Vec<EncoderLayer>,
    pooler: nn::Linear,
    mlm: MlmHead,
    nsp: NspHead,
}

/// Encoder outputs: the last hidden states and the pooled `[CLS]` vector.
pub struct PreTrainingOutput {
    /// [B, S, H]
    pub hidden: Tensor,
    /// [B, H]
    pub pooled: Tensor,
}

impl BertForPreTraining {
    pub fn new(root: &nn::Path, config: &BertConfig) -> Self {
        let bert = root / "bert";
        let cls = root / "cls";
        let encoder = &bert / "encoder" / "layer";
        Self {
            config: config.clone(),
            embeddings: Embeddings::new(&bert / "embeddings", config),
            layers: (0..config.dims.layers)
                .map(|i| EncoderLayer::new(&encoder / i, config))
                .collect(),
            pooler: linear(
                &bert / "pooler" / "dense",
                config.dims.hidden,
                config.dims.hidden,
            ),
            mlm: MlmHead::new(&cls / "predictions", config),
            nsp: NspHead::new(cls.clone(), config),
        }
    }

    /// `attention_mask`: [B, S], nonzero at real tokens.
    pub fn encode(
        &self,
        input_ids: &Tensor,
        token_type_ids: &Tensor,
        attention_mask: &Tensor,
        train: bool,
    ) -> PreTrainingOutput {
        let (b, s) = input_ids.size2().expect("input ids are [B, S]");
        let mask = attention_mask.to_kind(Kind::Bool).view([b, 1, 1, s]);
        let mut hidden = self.embeddings.forward(input_ids, token_type_ids, train);
        for layer in &self.layers {
            hidden = layer.forward(&hidden, &mask, train);
        }
        let pooled = self.pooler.forward(&hidden.select(1, 0)).tanh();
        PreTrainingOutput { hidden, pooled }
    }

    /// Every layer's attention probabilities in eval mode (no dropout, no gradients
    /// needed): one float tensor [B, heads, S, S] per layer, first layer first (query
    /// row, key column; rows sum to 1, keys where `attention_mask` is 0 get 0).
    /// Shapes as for [`encode`](Self::encode).
    pub fn attentions(
        &self,
        input_ids: &Tensor,
        token_type_ids: &Tensor,
        attention_mask: &Tensor,
    ) -> Vec<Tensor> {
        let (b, s) = input_ids.size2().expect("input ids are [B, S]");
        let mask = attention_mask.to_kind(Kind::Bool).view([b, 1, 1, s]);
        let mut hidden = self.embeddings.forward(input_ids, token_type_ids, false);
        let mut out = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let (next, probs) = layer.forward_with_probabilities(&hidden, &mask);
            out.push(probs);
            hidden = next;
        }
        out
    }

    /// The word-embedding table `bert.embeddings.word_embeddings.weight`, [V, H]
    /// (shared with the MLM decoder).
    pub fn word_embeddings(&self) -> &Tensor {
        &self.embeddings.word.ws
    }

    /// MLM logits for the given rows of hidden states ([N, H] -> [N, V]).
    pub fn mlm_logits(&self, hidden: &Tensor) -> Tensor {
        self.mlm.forward(hidden, &self.embeddings.word.ws)
    }

    /// NSP logits ([B, H] -> [B, 2]); class 0 = IsNext.
    pub fn nsp_logits(&self, pooled: &Tensor) -> Tensor {
        self.nsp.forward(pooled)
    }
}
