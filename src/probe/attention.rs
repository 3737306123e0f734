//! What each attention head of each layer looks at for one sentence, with the share of
//! its attention that goes to the neighbouring tokens, to itself and to `[CLS]`/`[SEP]`.

use anyhow::{bail, Result};
use serde::Serialize;
use tch::{Device, Kind};

use super::{check_length, inputs, normalize_masks};
use crate::model::BertForPreTraining;
use crate::tokenizer::WordPieceTokenizer;

/// One sentence's attention maps: `[CLS] text [SEP]`, every layer and head.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttentionMap {
    pub text: String,
    /// The sequence's tokens with `[CLS]` first and `[SEP]` last (S of them).
    pub tokens: Vec<String>,
    /// `layers[l][h]`: layer `l` (first layer first), head `h`.
    pub layers: Vec<Vec<HeadAttention>>,
}

/// One head's attention over the sentence, and where it goes on average.
///
/// Each share is the mean over all S query positions `i` of the attention weight that
/// row `i` puts on one key: `previous` on key `i - 1`, `next` on key `i + 1`, `itself`
/// on key `i`, `cls` on key 0 (`[CLS]`), `sep` on key S - 1 (`[SEP]`). A query without
/// a previous (the first) or next (the last) token counts as 0 for that share, so a
/// head that always looks one back scores (S - 1) / S. The shares overlap (the query
/// at `[CLS]` counts its weight on itself in both `itself` and `cls`), so they need not
/// sum to 1 or less. All in [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeadAttention {
    /// [S][S]: `weights[query][key]`, each row sums to 1.
    pub weights: Vec<Vec<f32>>,
    pub previous: f64,
    pub next: f64,
    pub itself: f64,
    pub cls: f64,
    pub sep: f64,
}

impl HeadAttention {
    /// The shares of a square weight matrix (`weights[query][key]`), `[CLS]` taken to
    /// be the first position and `[SEP]` the last. An empty matrix has all shares 0.
    pub fn from_weights(weights: Vec<Vec<f32>>) -> Self {
        let n = weights.len();
        let at = |i: usize, j: Option<usize>| -> f64 {
            j.and_then(|j| weights[i].get(j)).map_or(0.0, |&w| w as f64)
        };
        let mean = |f: &dyn Fn(usize) -> f64| -> f64 {
            if n == 0 {
                0.0
            } else {
                (0..n).map(f).sum::<f64>() / n as f64
            }
        };
        let previous = mean(&|i| at(i, i.checked_sub(1)));
        let next = mean(&|i| at(i, Some(i + 1).filter(|&j| j < n)));
        let itself = mean(&|i| at(i, Some(i)));
        let cls = mean(&|i| at(i, Some(0)));
        let sep = mean(&|i| at(i, n.checked_sub(1)));
        Self {
            weights,
            previous,
            next,
            itself,
            cls,
            sep,
        }
    }
}

/// Every layer's and head's attention for `[CLS] text [SEP]` (a single sentence,
/// token type 0; `[mask]` in any case is the `[MASK]` token), in eval mode.
///
/// Errors: empty text, text longer than the model's `max_position` with the two
/// specials, a tokenizer failure.
pub fn attention_map(
    model: &BertForPreTraining,
    tokenizer: &WordPieceTokenizer,
    text: &str,
    device: Device,
) -> Result<AttentionMap> {
    let text = normalize_masks(text.trim());
    let ids = tokenizer.encode(&text)?;
    if ids.is_empty() {
        bail!("the attention view needs a sentence: type some words");
    }
    let full = super::single_sentence(tokenizer, &ids);
    check_length(model, full.len())?;
    let _guard = tch::no_grad_guard();
    let (input, types, mask) = inputs(&full, full.len(), device);
    let layers = model
        .attentions(&input, &types, &mask)
        .into_iter()
        .map(|probs| {
            // [1, heads, S, S] -> [heads][S][S]
            let probs = probs
                .select(0, 0)
                .to_kind(Kind::Float)
                .to_device(Device::Cpu);
            let heads: Vec<Vec<Vec<f32>>> = Vec::try_from(probs)?;
            Ok(heads.into_iter().map(HeadAttention::from_weights).collect())
        })
        .collect::<Result<Vec<Vec<HeadAttention>>>>()?;
    Ok(AttentionMap {
        text,
        tokens: full.iter().map(|&id| tokenizer.token(id)).collect(),
        layers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn shares_of_a_hand_built_matrix() {
        // 4 tokens: [CLS] a b [SEP]. Rows: query, columns: key.
        let w = vec![
            vec![1.0, 0.0, 0.0, 0.0],
            vec![0.5, 0.0, 0.5, 0.0],
            vec![0.0, 1.0, 0.0, 0.0],
            vec![0.25, 0.25, 0.25, 0.25],
        ];
        let h = HeadAttention::from_weights(w);
        // previous: row1 key0 0.5, row2 key1 1.0, row3 key2 0.25; row0 has none.
        assert!(close(h.previous, (0.0 + 0.5 + 1.0 + 0.25) / 4.0), "{h:?}");
        // next: row0 key1 0, row1 key2 0.5, row2 key3 0; row3 has none.
        assert!(close(h.next, 0.5 / 4.0), "{h:?}");
        // itself: 1.0 + 0 + 0 + 0.25
        assert!(close(h.itself, 1.25 / 4.0), "{h:?}");
        // [CLS] (key 0): 1.0 + 0.5 + 0 + 0.25
        assert!(close(h.cls, 1.75 / 4.0), "{h:?}");
        // [SEP] (key 3): 0 + 0 + 0 + 0.25
        assert!(close(h.sep, 0.25 / 4.0), "{h:?}");
    }

    #[test]
    fn a_head_that_always_looks_one_back_scores_all_but_the_first_row() {
        let n = 5;
        let w = (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| {
                        if j + 1 == i || (i == 0 && j == 0) {
                            1.0
                        } else {
                            0.0
                        }
                    })
                    .collect()
            })
            .collect();
        let h = HeadAttention::from_weights(w);
        assert!(close(h.previous, 4.0 / 5.0));
        assert!(close(h.next, 0.0));
        assert_eq!(HeadAttention::from_weights(Vec::new()).previous, 0.0);
    }
}
