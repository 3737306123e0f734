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
