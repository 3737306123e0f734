//! Asking the model: fill-mask top-k per `[MASK]` in HF's shape, and the IsNext
//! probability of a sentence pair (here); a sentence's attention maps
//! ([`attention_map`]) and a word's nearest embeddings ([`neighbours`]). Eval mode (no
//! dropout), no gradients.

mod attention;
pub mod milestone;
pub(crate) mod neighbours;

pub use attention::{attention_map, AttentionMap, HeadAttention};
pub use neighbours::{neighbours, Neighbours};

use anyhow::{bail, Result};
use serde::Serialize;
use tch::{Device, Kind, Tensor};

use crate::model::BertForPreTraining;
use crate::tokenizer::WordPieceTokenizer;

/// One candidate for one `[MASK]`, as HF's fill-mask pipeline reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    pub score: f64,
    pub token: u32,
    pub token_str: String,
    /// The input with this mask filled in (other masks stay `[MASK]`).
    pub sequence: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FillMaskResult {
    pub text: String,
    /// Top-k per `[MASK]`, in order of appearance.
    pub masks: Vec<Vec<Prediction>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NextSentenceResult {
    pub a: String,
    pub b: String,
    /// Probability that B follows A (NSP class 0).
    pub is_next: f64,
}

/// One watched probe's answer at its first `[MASK]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WatchReading {
    /// The probe's text as watched.
    pub text: String,
    /// The most probable tokens, most probable first, with their probabilities.
    pub top: Vec<(String, f64)>,
    /// The tokens the user named, in their order, with their probabilities.
    pub named: Vec<(String, f64)>,
}

/// Error text for a probe without a mask (shared by the CLI and the workbench).
pub const NO_MASK: &str =
    "the probe has no [MASK]: put [MASK] where a word should be predicted, e.g. \"this movie was [MASK] .\"";

/// One sequence as model inputs: ids, token types (0 before `segment_a`, 1 from it)
/// and an all-ones mask, each int64 [1, S] on `device`.
fn inputs(ids: &[u32], segment_a: usize, device: Device) -> (Tensor, Tensor, Tensor) {
    let n = ids.len() as i64;
    let input = Tensor::from_slice(&ids.iter().map(|&i| i as i64).collect::<Vec<_>>())
        .view([1, n])
        .to_device(device);
    let types: Vec<i64> = (0..ids.len()).map(|i| (i >= segment_a) as i64).collect();
    let types = Tensor::from_slice(&types).view([1, n]).to_device(device);
    let mask = Tensor::ones([1, n], (Kind::Int64, device));
    (input, types, mask)
}

fn run_encoder(
    model: &BertForPreTraining,
    ids: &[u32],
    segment_a: usize,
    device: Device,
) -> (Tensor, Tensor) {
    let (input, types, mask) = inputs(ids, segment_a, device);
    let out = model.encode(&input, &types, &mask, false);
    (out.hidden, out.pooled)
}

fn check_length(model: &BertForPreTraining, len: usize) -> Result<()> {
    let max = model.config.max_position;
    if len > max {
        bail!("the probe is {len} tokens long with [CLS] and [SEP]; the model takes at most {max}");
    }
    Ok(())
}

/// The vocabulary distribution at every `[MASK]` of one sentence.
struct MaskDistribution {
    /// The sentence's ids, without [CLS] and [SEP].
    ids: Vec<u32>,
    /// Positions of the masks in `ids`.
    mask_at: Vec<usize>,
    /// [M, V] probabilities, one row per mask.
    probs: Tensor,
}

/// `[CLS] ids [SEP]`: one sentence as the model reads it.
pub(crate) fn single_sentence(tokenizer: &WordPieceTokenizer, ids: &[u32]) -> Vec<u32> {
    let s = tokenizer.specials;
    let mut full = Vec::with_capacity(ids.len() + 2);
    full.push(s.cls);
    full.extend_from_slice(ids);
    full.push(s.sep);
    full
}

/// Runs `text` (normalized, with at least one `[MASK]`) through the model.
fn mask_distribution(
    model: &BertForPreTraining,
    tokenizer: &WordPieceTokenizer,
    text: &str,
    device: Device,
) -> Result<MaskDistribution> {
    let s = tokenizer.specials;
    let ids = tokenizer.encode(text)?;
    let mask_at: Vec<usize> = ids
        .iter()
        .enumerate()
        .filter(|(_, &t)| t == s.mask)
        .map(|(i, _)| i)
        .collect();
    if mask_at.is_empty() {
        bail!(NO_MASK);
    }
    let full = single_sentence(tokenizer, &ids);
    check_length(model, full.len())?;
    let _guard = tch::no_grad_guard();
    let (hidden, _) = run_encoder(model, &full, full.len(), device);
    let rows: Vec<i64> = mask_at.iter().map(|&i| i as i64 + 1).collect();
    let rows = Tensor::from_slice(&rows).to_device(device);
    let logits = model.mlm_logits(&hidden.select(0, 0).index_select(0, &rows));
    let probs = logits.to_kind(Kind::Float).softmax(-1, Kind::Float);
    Ok(MaskDistribution {
        ids,
        mask_at,
        probs,
    })
}

/// A watched probe's reading: the `top_k` most probable tokens at its first `[MASK]`
/// and the probabilities of `named` (token ids with their text) there.
///
/// Errors: as [`fill_mask`].
pub fn watch_reading(
    model: &BertForPreTraining,
    tokenizer: &WordPieceTokenizer,
    text: &str,
    named: &[(String, u32)],
    top_k: usize,
    device: Device,
) -> Result<WatchReading> {
    let d = mask_distribution(model, tokenizer, &normalize_masks(text), device)?;
    let first: Vec<f32> = Vec::try_from(d.probs.get(0).to_device(Device::Cpu))?;
    let mut order: Vec<usize> = (0..first.len()).collect();
    let k = top_k.clamp(1, first.len());
    order.select_nth_unstable_by(k - 1, |&a, &b| first[b].total_cmp(&first[a]));
    order.truncate(k);
    order.sort_by(|&a, &b| first[b].total_cmp(&first[a]));
    Ok(WatchReading {
        text: text.to_string(),
        top: order
            .iter()
            .map(|&i| (tokenizer.token(i as u32), first[i] as f64))
            .collect(),
        named: named
            .iter()
            .map(|(t, id)| (t.clone(), first[*id as usize] as f64))
            .collect(),
    })
}

/// Top-`top_k` predictions for every `[MASK]` in `text`.
pub fn fill_mask(
    model: &BertForPreTraining,
    tokenizer: &WordPieceTokenizer,
    text: &str,
    top_k: usize,
    device: Device,
) -> Result<FillMaskResult> {
    let text = &normalize_masks(text);
    let MaskDistribution {
        ids,
        mask_at,
        probs,
    } = mask_distribution(model, tokenizer, text, device)?;
    let k = top_k.clamp(1, tokenizer.vocab_size()) as i64;
    let (scores, indices) = probs.topk(k, -1, true, true);
    let scores: Vec<Vec<f32>> = Vec::try_from(scores.to_device(Device::Cpu))?;
    let indices: Vec<Vec<i64>> = Vec::try_from(indices.to_device(Device::Cpu))?;
    let masks = mask_at
        .iter()
        .zip(scores.iter().zip(&indices))
        .map(|(&pos, (sc, ix))| {
            sc.iter()
                .zip(ix)
                .map(|(&score, &token)| {
                    let mut filled = ids.clone();
                    filled[pos] = token as u32;
                    Prediction {
                        score: score as f64,
                        token: token as u32,
                        token_str: tokenizer.token(token as u32),
                        sequence: tokenizer.decode(&filled, false),
                    }
                })
                .collect()
        })
        .collect();
    Ok(FillMaskResult {
        text: text.to_string(),
        masks,
    })
}

/// The answer to a sentence-pair probe of a model trained without NSP.
pub const NSP_OFF: &str = "this model was trained without NSP (model.nsp = false): its IsNext head is untrained, so there is no IsNext probability to give; probe it with [MASK] instead";

/// Probability that `b` is the sentence that follows `a`.
pub fn next_sentence(
    model: &BertForPreTraining,
    tokenizer: &WordPieceTokenizer,
    a: &str,
    b: &str,
    device: Device,
) -> Result<NextSentenceResult> {
    if !model.config.nsp {
        bail!(NSP_OFF);
    }
    let s = tokenizer.specials;
    let (ids_a, ids_b) = (tokenizer.encode(a)?, tokenizer.encode(b)?);
    if ids_a.is_empty() || ids_b.is_empty() {
        bail!("a sentence-pair probe needs two non-empty sentences");
    }
    let mut full = vec![s.cls];
    full.extend_from_slice(&ids_a);
    full.push(s.sep);
    let segment_a = full.len();
    full.extend_from_slice(&ids_b);
    full.push(s.sep);
    check_length(model, full.len())?;
    let _guard = tch::no_grad_guard();
    let (_, pooled) = run_encoder(model, &full, segment_a, device);
    let probs = model
        .nsp_logits(&pooled)
        .to_kind(Kind::Float)
        .softmax(-1, Kind::Float);
    let is_next = probs.double_value(&[0, 0]);
    Ok(NextSentenceResult {
        a: a.to_string(),
        b: b.to_string(),
        is_next,
    })
}

/// Accepts `[mask]` in any letter case as the `[MASK]` token.
pub fn normalize_masks(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.to_ascii_lowercase().find("[mask]") {
        out.push_str(&rest[..i]);
        out.push_str("[MASK]");
        rest = &rest[i + 6..];
    }
    out.push_str(rest);
    out
}
