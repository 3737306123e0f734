//! `BertForPreTraining`: encoder, pooler and both heads.

use tch::{nn, nn::Module, Kind, Tensor};

use super::embeddings::Embeddings;
use super::heads::{MlmHead, NspHead};
use super::layer::EncoderLayer;
use super::rows::RowLayout;
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
/// [`BertForPreTraining::encode_rows`]'s output.
pub struct RowsOutput {
    /// Last layer's hidden states, one row per token of the layout, `[N, H]`.
    pub rows: Tensor,
    /// Pooled [CLS] states (dense + tanh), `[B, H]`.
    pub pooled: Tensor,
}

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
        let layout = RowLayout::padded_on(b, s, input_ids.device());
        let out = self.encode_rows(input_ids, token_type_ids, attention_mask, &layout, train);
        PreTrainingOutput {
            hidden: out.rows.view([b, s, -1]),
            pooled: out.pooled,
        }
    }

    /// As [`encode`](Self::encode), with the hidden states as token rows `[N, H]`
    /// laid out by `layout` (N = B x S when padded, the real tokens when unpadded).
    pub fn encode_rows(
        &self,
        input_ids: &Tensor,
        token_type_ids: &Tensor,
        attention_mask: &Tensor,
        layout: &RowLayout,
        train: bool,
    ) -> RowsOutput {
        let (b, s) = input_ids.size2().expect("input ids are [B, S]");
        let mask = attention_mask.to_kind(Kind::Bool).view([b, 1, 1, s]);
        let embedded = self.embeddings.forward(input_ids, token_type_ids, train);
        let mut rows = layout.rows(&embedded);
        for layer in &self.layers {
            rows = layer.forward(&rows, &mask, layout, train);
        }
        let pooled = self.pooler.forward(&layout.first_of_each(&rows)).tanh();
        RowsOutput { rows, pooled }
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
        let layout = RowLayout::padded_on(b, s, input_ids.device());
        let mut hidden = layout.rows(&self.embeddings.forward(input_ids, token_type_ids, false));
        let mut out = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let (next, probs) = layer.forward_with_probabilities(&hidden, &mask, &layout);
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
