//! HF's `config.json` for BERT: the fields bertwork writes and the ones it checks when
//! importing.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HfConfig {
    #[serde(default)]
    pub architectures: Vec<String>,
    #[serde(default)]
    pub model_type: String,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "gelu")]
    pub hidden_act: String,
    #[serde(default = "dropout")]
    pub hidden_dropout_prob: f64,
    #[serde(default = "dropout")]
    pub attention_probs_dropout_prob: f64,
    pub max_position_embeddings: usize,
    #[serde(default = "two")]
    pub type_vocab_size: usize,
    #[serde(default = "init_range")]
    pub initializer_range: f64,
    #[serde(default = "eps")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub pad_token_id: usize,
    #[serde(default = "absolute")]
    pub position_embedding_type: String,
    #[serde(default = "yes")]
    pub tie_word_embeddings: bool,
}

impl HfConfig {
    /// The config of a bertwork model of shape `bert` as HF `architecture`, with
    /// `dropout` for hidden states and attention and `pad` as the padding id.
    pub fn for_bert(
        architecture: &str,
        bert: &crate::model::BertConfig,
        dropout: f64,
        pad: usize,
    ) -> Self {
        Self {
            architectures: vec![architecture.into()],
            model_type: "bert".into(),
            vocab_size: bert.vocab_size,
            hidden_size: bert.dims.hidden,
            num_hidden_layers: bert.dims.layers,
            num_attention_heads: bert.dims.heads,
            intermediate_size: bert.dims.intermediate,
            hidden_act: "gelu".into(),
            hidden_dropout_prob: dropout,
            attention_probs_dropout_prob: dropout,
            max_position_embeddings: bert.max_position,
            type_vocab_size: bert.type_vocab_size,
            initializer_range: 0.02,
            layer_norm_eps: bert.layer_norm_eps,
            pad_token_id: pad,
            position_embedding_type: "absolute".into(),
            tie_word_embeddings: true,
        }
    }
}

fn gelu() -> String {
    "gelu".into()
}
fn dropout() -> f64 {
    0.1
}
fn two() -> usize {
    2
}
fn init_range() -> f64 {
    0.02
}
fn eps() -> f64 {
    1e-12
}
fn absolute() -> String {
    "absolute".into()
}
fn yes() -> bool {
    true
}
