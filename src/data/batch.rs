//! Collating masked examples into padded host-side batches (padding at the end, to the
//! longest sequence of the batch).

use rand::Rng;

use super::masking::{mask_in_place, MaskConfig, IGNORE};
use super::pairs::Example;

/// A batch in plain vectors, row-major [batch, seq]; becomes tensors on the trainer.
#[derive(Debug, Clone, PartialEq)]
pub struct HostBatch {
    pub batch: usize,
    pub seq: usize,
    pub input_ids: Vec<i64>,
    pub token_type_ids: Vec<i64>,
    /// 1 at real tokens, 0 at padding.
    pub attention_mask: Vec<i64>,
    /// Original id at masked positions, -100 elsewhere.
    pub mlm_labels: Vec<i64>,
    /// 0 = IsNext, 1 = random B.
    pub nsp_labels: Vec<i64>,
    /// Non-padding tokens.
    pub real_tokens: usize,
}

impl HostBatch {
    pub fn masked_tokens(&self) -> usize {
        self.mlm_labels.iter().filter(|&&l| l != IGNORE).count()
    }
}

/// Masks (with fresh random choices) and pads `examples` into one batch.
pub fn collate(examples: &[Example], mask: &MaskConfig, rng: &mut impl Rng) -> HostBatch {
    collate_with(examples, mask, |_, ids| mask_in_place(ids, mask, rng))
}

/// As [`collate`], each row masked from its own stream `rng_of(row)`: an example's
/// masks then depend only on the example, not on which batch or rank it lands in.
pub fn collate_each<R: Rng>(
    examples: &[Example],
    mask: &MaskConfig,
    mut rng_of: impl FnMut(usize) -> R,
) -> HostBatch {
    collate_with(examples, mask, |row, ids| {
        mask_in_place(ids, mask, &mut rng_of(row))
    })
}

/// Pads `examples` into one batch, `mask_row(row, ids)` masking each row's ids in
/// place and returning its labels.
fn collate_with(
    examples: &[Example],
    mask: &MaskConfig,
    mut mask_row: impl FnMut(usize, &mut Vec<u32>) -> Vec<i64>,
) -> HostBatch {
    let batch = examples.len();
    let seq = examples.iter().map(|e| e.ids.len()).max().unwrap_or(0);
    let pad = mask.specials.pad as i64;
    let mut out = HostBatch {
        batch,
        seq,
        input_ids: vec![pad; batch * seq],
        token_type_ids: vec![0; batch * seq],
        attention_mask: vec![0; batch * seq],
        mlm_labels: vec![IGNORE; batch * seq],
        nsp_labels: Vec::with_capacity(batch),
        real_tokens: 0,
    };
    for (row, ex) in examples.iter().enumerate() {
        let mut ids = ex.ids.clone();
        let labels = mask_row(row, &mut ids);
        let base = row * seq;
        for (j, (&id, &label)) in ids.iter().zip(&labels).enumerate() {
            out.input_ids[base + j] = id as i64;
            out.token_type_ids[base + j] = (j >= ex.segment_a_len) as i64;
            out.attention_mask[base + j] = 1;
            out.mlm_labels[base + j] = label;
        }
        out.real_tokens += ids.len();
        out.nsp_labels.push(ex.random_next as i64);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::rng_for;
    use crate::tokenizer::SpecialIds;

    const S: SpecialIds = SpecialIds::FIRST_FIVE;

    #[test]
    fn pads_at_the_end_with_segments_from_the_data() {
        let ex = vec![
            Example {
                ids: vec![2, 10, 11, 3, 12, 3],
                segment_a_len: 4,
                random_next: false,
            },
            Example {
                ids: vec![2, 13, 3, 14, 3],
                segment_a_len: 3,
                random_next: true,
            },
        ];
        let cfg = MaskConfig::bert(0.15, 100, S);
        let b = collate(&ex, &cfg, &mut rng_for(1, "t", 0));
        assert_eq!((b.batch, b.seq, b.real_tokens), (2, 6, 11));
        assert_eq!(b.token_type_ids, vec![0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0]);
        assert_eq!(b.attention_mask, vec![1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
        assert_eq!(b.input_ids[11], 0, "padding at the end");
        assert_eq!(b.mlm_labels[11], IGNORE);
        assert_eq!(b.nsp_labels, vec![0, 1]);
        assert!(b.masked_tokens() >= 2, "each row has at least one mask");
    }
}
