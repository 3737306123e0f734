//! The config's enumerated values: where positions come from and how they start, how
//! the weights start, and the learning-rate schedule (the device and the precision
//! are `crate::device`'s).

use serde::{Deserialize, Serialize};

/// Where the position embeddings come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PositionKind {
    /// Trained table, as in BERT.
    Learned,
    /// Fixed sin/cos table (Vaswani et al.), not trained.
    Sinusoidal,
}

/// How a learned position table starts (`model.position_init`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PositionInit {
    Normal,
    Sinusoidal,
}

/// How a new model's weights are drawn (`model.init`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InitKind {
    /// N(0, 0.02) for every matrix and embedding (Devlin et al.; HF's
    /// `initializer_range`).
    Normal,
    /// Attention starts near what trained attention looks like: `W_q^T W_k` near
    /// a positive multiple of the identity plus noise (a token attends to similar
    /// tokens), `W_o W_v` near a negative one (Trockman & Kolter 2023).
    Mimetic,
}

/// How the learning rate moves after warmup (`train.lr_scheduler`; HF's
/// `lr_scheduler_type` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LrScheduler {
    /// Linear decay from the peak to zero at the last step (BERT).
    Linear,
    /// The peak until the last step.
    ConstantWithWarmup,
    /// Warmup-stable-decay (Hu et al. 2024, MiniCPM): the peak until the last
    /// `train.decay_ratio` of the steps, then linear decay to zero.
    WarmupStableDecay,
}
