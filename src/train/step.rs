//! One forward pass with both losses, on a batch moved to the device. The MLM head
//! runs on the masked positions only (their indices come from the host batch, so no
//! device sync is needed to find them).

use tch::{Device, Kind, Reduction, Tensor};

use crate::data::masking::IGNORE;
use crate::data::HostBatch;
use crate::model::BertForPreTraining;

pub struct DeviceBatch {
    pub input_ids: Tensor,
    pub token_type_ids: Tensor,
    pub attention_mask: Tensor,
    /// Flat indices (row * seq + col) of the masked positions.
    pub masked_index: Tensor,
    pub masked_labels: Tensor,
    pub nsp_labels: Tensor,
    pub real_tokens: usize,
    pub masked: usize,
    pub rows: usize,
}

impl DeviceBatch {
    pub fn new(b: &HostBatch, device: Device) -> Self {
        let shape = [b.batch as i64, b.seq as i64];
        let t = |v: &[i64]| Tensor::from_slice(v).view(shape).to_device(device);
        let (index, labels): (Vec<i64>, Vec<i64>) = b
            .mlm_labels
            .iter()
            .enumerate()
            .filter(|(_, &l)| l != IGNORE)
            .map(|(i, &l)| (i as i64, l))
            .unzip();
        Self {
            input_ids: t(&b.input_ids),
            token_type_ids: t(&b.token_type_ids),
            attention_mask: t(&b.attention_mask),
            masked: index.len(),
            masked_index: Tensor::from_slice(&index).to_device(device),
            masked_labels: Tensor::from_slice(&labels).to_device(device),
            nsp_labels: Tensor::from_slice(&b.nsp_labels).to_device(device),
            real_tokens: b.real_tokens,
            rows: b.batch,
        }
    }
}

/// Losses and the counts behind the accuracies of one batch.
pub struct LossOutput {
    /// MLM + NSP, for backward.
    pub loss: Tensor,
    pub mlm_loss: f64,
    pub nsp_loss: f64,
    pub mlm_correct: i64,
    pub nsp_correct: i64,
}

impl LossOutput {
    pub fn is_finite(&self) -> bool {
        self.mlm_loss.is_finite() && self.nsp_loss.is_finite()
    }
}

pub fn losses(model: &BertForPreTraining, batch: &DeviceBatch, train: bool) -> LossOutput {
    let out = model.encode(
        &batch.input_ids,
        &batch.token_type_ids,
        &batch.attention_mask,
        train,
    );
    let hidden = out
        .hidden
        .flatten(0, 1)
        .index_select(0, &batch.masked_index);
    let mlm_logits = model.mlm_logits(&hidden);
    let nsp_logits = model.nsp_logits(&out.pooled);
    let ce = |logits: &Tensor, labels: &Tensor| {
        logits.to_kind(Kind::Float).cross_entropy_loss::<Tensor>(
            labels,
            None,
            Reduction::Mean,
            -100,
            0.0,
        )
    };
    let mlm = ce(&mlm_logits, &batch.masked_labels);
    let nsp = ce(&nsp_logits, &batch.nsp_labels);
    let correct = |logits: &Tensor, labels: &Tensor| {
        logits
            .argmax(-1, false)
            .eq_tensor(labels)
            .sum(Kind::Int64)
            .int64_value(&[])
    };
    LossOutput {
        mlm_loss: mlm.double_value(&[]),
        nsp_loss: nsp.double_value(&[]),
        mlm_correct: correct(&mlm_logits, &batch.masked_labels),
        nsp_correct: correct(&nsp_logits, &batch.nsp_labels),
        loss: mlm + nsp,
    }
}
