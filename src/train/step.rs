//! One forward pass with both losses (MLM only with `model.nsp = false`), on a batch
//! moved to the device. The MLM head runs on the masked positions only (their indices
//! come from the host batch, so no device sync is needed to find them).

use tch::{Device, Kind, Reduction, Tensor};

use crate::data::masking::IGNORE;
use crate::data::HostBatch;
use crate::model::rows::RowLayout;
use crate::model::BertForPreTraining;

pub struct DeviceBatch {
    pub layout: RowLayout,
    pub input_ids: Tensor,
    pub token_type_ids: Tensor,
    pub attention_mask: Tensor,
    /// The masked positions as rows of `layout` (flat `row * seq + col` when padded).
    pub masked_index: Tensor,
    pub masked_labels: Tensor,
    pub nsp_labels: Tensor,
    pub real_tokens: usize,
    pub masked: usize,
    pub rows: usize,
}

/// How a batch's token rows are laid out on the device ([`RowLayout`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    /// Every position a row, padding included.
    Padded,
    /// Real tokens only (exact shapes: a new row count almost every batch).
    Unpadded,
    /// Real tokens only, the row count and the masked-row count rounded up to a few
    /// buckets: bf16 kernels are compiled by oneDNN per shape, and a new shape every
    /// step costs more than the spare rows (`docs/measurements.md`, "Row buckets").
    Bucketed,
}

impl Rows {
    /// The layout a training step uses: buckets where the matmuls run through oneDNN
    /// (CPU bf16 autocast), exact unpadding elsewhere (MKL's fp32 GEMMs and CUDA need
    /// no kernel per shape).
    pub fn for_training(mixed: crate::device::Autocast) -> Self {
        match mixed {
            crate::device::Autocast::CpuBf16 => Rows::Bucketed,
            _ => Rows::Unpadded,
        }
    }

    /// (token-row bucket, masked-row bucket) for a batch of `positions` = B x S; 1
    /// means exact. Sixteen token-row buckets up to B x S and a quarter of their
    /// width for the masked rows (about 15% of the tokens).
    fn buckets(self, positions: usize) -> (usize, usize) {
        match self {
            Rows::Bucketed => {
                let rows = positions.div_ceil(16).max(8);
                (rows, (rows / 4).max(8))
            }
            Rows::Padded | Rows::Unpadded => (1, 1),
        }
    }
}

impl DeviceBatch {
    /// The batch on `device`, unpadded when it has padding: the encoder then computes
    /// only its real tokens' rows outside attention ([`RowLayout`]).
    pub fn new(b: &HostBatch, device: Device) -> Self {
        Self::with_rows(b, device, Rows::Unpadded)
    }

    /// As [`new`](Self::new), every position a row whatever the padding (the baseline
    /// of `bertwork bench --without unpadding`).
    pub fn padded(b: &HostBatch, device: Device) -> Self {
        Self::with_rows(b, device, Rows::Padded)
    }

    /// The batch on `device` laid out as `rows` says. Bucketing falls back to the
    /// padded layout when the rounded row count would reach B x S.
    pub fn with_rows(b: &HostBatch, device: Device, rows: Rows) -> Self {
        let shape = [b.batch as i64, b.seq as i64];
        let t = |v: &[i64]| Tensor::from_slice(v).view(shape).to_device(device);
        let positions = b.batch * b.seq;
        let (row_bucket, masked_bucket) = rows.buckets(positions);
        let unpad = match rows {
            Rows::Padded => false,
            Rows::Unpadded => b.real_tokens < positions,
            Rows::Bucketed => b.real_tokens.div_ceil(row_bucket) * row_bucket < positions,
        };
        let (layout, row_of) = if unpad {
            let (layout, row_of) =
                RowLayout::unpadded(b.batch, b.seq, &b.attention_mask, device, row_bucket);
            (layout, Some(row_of))
        } else {
            (RowLayout::padded_on(shape[0], shape[1], device), None)
        };
        // Masked positions as rows of the layout (a masked position is never padding).
        let (index, labels): (Vec<i64>, Vec<i64>) = b
            .mlm_labels
            .iter()
            .enumerate()
            .filter(|(_, &l)| l != IGNORE)
            .map(|(i, &l)| {
                let row = row_of.as_ref().map_or(Some(i as i64), |r| r[i]);
                (row.expect("masked positions are real tokens"), l)
            })
            .unzip();
        let masked = index.len();
        // Spare masked rows read row 0 and are labelled IGNORE: the losses' means and
        // the accuracy count only the real ones, and their gradient is zero.
        let padded_to = masked.div_ceil(masked_bucket) * masked_bucket;
        let (mut index, mut labels) = (index, labels);
        index.resize(padded_to, 0);
        labels.resize(padded_to, IGNORE);
        Self {
            layout,
            input_ids: t(&b.input_ids),
            token_type_ids: t(&b.token_type_ids),
            attention_mask: t(&b.attention_mask),
            masked,
            masked_index: Tensor::from_slice(&index).to_device(device),
            masked_labels: Tensor::from_slice(&labels).to_device(device),
            nsp_labels: Tensor::from_slice(&b.nsp_labels).to_device(device),
            real_tokens: b.real_tokens,
            rows: b.batch,
        }
    }
}

pub struct LossOutput {
    /// MLM + NSP (MLM alone when NSP is off), for backward.
    pub loss: Tensor,
    /// The MLM loss alone (mean over the batch's masked tokens), as a tensor.
    pub mlm: Tensor,
    /// The NSP loss alone (mean over the batch's examples); None when NSP is off.
    pub nsp_term: Option<Tensor>,
    pub mlm_loss: f64,
    /// 0 when NSP is off (`nsp` false): nothing was computed.
    pub nsp_loss: f64,
    pub mlm_correct: i64,
    pub nsp_correct: i64,
    /// Whether the NSP head ran and its loss is part of `loss` (`model.nsp`).
    pub nsp: bool,
}

impl LossOutput {
    pub fn is_finite(&self) -> bool {
        self.mlm_loss.is_finite() && self.nsp_loss.is_finite()
    }
}

pub fn losses(model: &BertForPreTraining, batch: &DeviceBatch, train: bool) -> LossOutput {
    let out = model.encode_rows(
        &batch.input_ids,
        &batch.token_type_ids,
        &batch.attention_mask,
        &batch.layout,
        train,
    );
    let hidden = out.rows.index_select(0, &batch.masked_index);
    // Losses and accuracy read fp32 logits: under bf16 autocast one upcast serves both
    // (libtorch's argmax over bf16 is several times slower than over fp32; an exact
    // upcast leaves the argmax unchanged). A no-op in fp32.
    let mlm_logits = model.mlm_logits(&hidden).to_kind(Kind::Float);
    let ce = |logits: &Tensor, labels: &Tensor| {
        logits.cross_entropy_loss::<Tensor>(labels, None, Reduction::Mean, -100, 0.0)
    };
    let mlm = ce(&mlm_logits, &batch.masked_labels);
    let correct = |logits: &Tensor, labels: &Tensor| {
        logits
            .argmax(-1, false)
            .eq_tensor(labels)
            .sum(Kind::Int64)
            .int64_value(&[])
    };
    let mlm_loss = mlm.double_value(&[]);
    let mlm_correct = correct(&mlm_logits, &batch.masked_labels);
    if !model.config.nsp {
        // The pooler and NSP head get no gradient, so AdamW leaves them as they are.
        return LossOutput {
            mlm_loss,
            nsp_loss: 0.0,
            mlm_correct,
            nsp_correct: 0,
            nsp: false,
            loss: mlm.shallow_clone(),
            mlm,
            nsp_term: None,
        };
    }
    let nsp_logits = model.nsp_logits(&out.pooled).to_kind(Kind::Float);
    let nsp = ce(&nsp_logits, &batch.nsp_labels);
    LossOutput {
        mlm_loss,
        nsp_loss: nsp.double_value(&[]),
        mlm_correct,
        nsp_correct: correct(&nsp_logits, &batch.nsp_labels),
        nsp: true,
        loss: &mlm + &nsp,
        mlm,
        nsp_term: Some(nsp),
    }
}

#[cfg(test)]
mod tests {
    use rand::Rng;
    use tch::nn::VarStore;

    use super::*;
    use crate::config::Config;
    use crate::data::batch::collate;
    use crate::data::masking::MaskConfig;
    use crate::data::pairs::Example;
    use crate::data::rng_for;
    use crate::model::BertConfig;
    use crate::tokenizer::SpecialIds;
    use crate::train::optimizer::AdamW;

    /// `n` pairs of `len` random ids, `[CLS]` first and `[SEP]` in the middle and last
    /// (`SpecialIds::FIRST_FIVE`), half of them random-next.
    fn random_examples(rng: &mut impl Rng, vocab: usize, n: usize, len: usize) -> Vec<Example> {
        (0..n)
            .map(|_| {
                let mut ids: Vec<u32> = (0..len)
                    .map(|_| rng.random_range(5..vocab as u32))
                    .collect();
                (ids[0], ids[len / 2 - 1], ids[len - 1]) = (2, 3, 3);
                Example {
                    ids,
                    segment_a_len: len / 2,
                    random_next: rng.random_bool(0.5),
                }
            })
            .collect()
    }

    /// With `model.nsp = false` the loss is MLM alone and neither the pooler nor the
    /// NSP head gets a gradient, so the optimizer leaves their weights as they were.
    #[test]
    fn without_nsp_the_nsp_head_is_not_trained() {
        let mut c = Config::default();
        c.model.nsp = false;
        let vocab = 200;
        tch::manual_seed(0);
        let vs = VarStore::new(Device::Cpu);
        let model = BertForPreTraining::new(
            &vs.root(),
            &BertConfig::new(vocab, c.dims().unwrap(), &c.model),
        );
        let mut opt = AdamW::new(&vs);
        let mut rng = rng_for(2, "fit", 0);
        let examples = random_examples(&mut rng, vocab, 8, 16);
        let mask = MaskConfig::bert(0.15, vocab, SpecialIds::FIRST_FIVE);
        let batch = DeviceBatch::new(&collate(&examples, &mask, &mut rng), Device::Cpu);
        let head = |vs: &VarStore| -> Vec<(String, Tensor)> {
            let mut v: Vec<_> = vs
                .variables()
                .into_iter()
                .filter(|(n, _)| n.contains("pooler") || n.contains("seq_relationship"))
                .map(|(n, t)| (n, t.copy()))
                .collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        let before = head(&vs);
        assert_eq!(before.len(), 4, "pooler and NSP head, weight and bias");
        for _ in 0..3 {
            let out = losses(&model, &batch, true);
            assert!(!out.nsp && out.nsp_correct == 0);
            assert!((out.loss.double_value(&[]) - out.mlm_loss).abs() < 1e-9);
            out.loss.backward();
            opt.step(1e-2, 0.01, 1e-6).unwrap();
            opt.zero_grad().unwrap();
        }
        for ((name, a), (_, b)) in before.iter().zip(head(&vs)) {
            assert!(a.equal(&b), "{name} changed");
        }
    }

    /// Fitting one batch of random sequences needs every layer's gradient and the
    /// context (80% of masked inputs are the same `[MASK]` token, so only the other
    /// tokens tell the rows apart).
    /// Unpadding and row buckets change where the work is done, not what is computed:
    /// on a batch with padding, losses, accuracies and every gradient equal the padded
    /// computation's.
    #[test]
    fn unpadded_batches_give_the_padded_losses_and_gradients() {
        let mut c = Config::default();
        c.model.dropout = 0.0;
        let vocab = 120;
        let mask = MaskConfig::bert(0.3, vocab, SpecialIds::FIRST_FIVE);
        let mut rng = rng_for(5, "unpad", 0);
        // Lengths 32, 20, 11 and 26: three of the four rows are padded, and 23 tokens
        // are masked (30% of each row's 29, 17, 8 and 23 candidates, rounded), which is
        // not a multiple of 8, so that buckets add masked rows.
        let mut examples = Vec::new();
        for len in [32, 20, 11, 26] {
            examples.extend(random_examples(&mut rng, vocab, 1, len));
        }
        let host = collate(&examples, &mask, &mut rng);
        assert!(host.real_tokens < host.batch * host.seq);
        // One model for both (tests share libtorch's global RNG, so two inits could differ).
        let vs = VarStore::new(Device::Cpu);
        let model = BertForPreTraining::new(
            &vs.root(),
            &BertConfig::new(vocab, c.dims().unwrap(), &c.model),
        );
        let run = |batch: &DeviceBatch| {
            let out = losses(&model, batch, true);
            out.loss.backward();
            let mut grads: Vec<(String, Tensor)> = vs
                .variables()
                .into_iter()
                .map(|(n, mut v)| {
                    let g = v.grad().copy();
                    v.zero_grad();
                    (n, g)
                })
                .collect();
            grads.sort_by(|a, b| a.0.cmp(&b.0));
            (out, grads)
        };
        let unpadded = DeviceBatch::new(&host, Device::Cpu);
        assert!(unpadded.layout.is_unpadded());
        let padded = DeviceBatch::padded(&host, Device::Cpu);
        assert!(!padded.layout.is_unpadded());
        // Bucketed: 89 real tokens of 128 positions, rounded up to 96 rows (buckets of
        // 128 / 16 = 8), the masked rows to a multiple of 8 with ignored labels.
        let bucketed = DeviceBatch::with_rows(&host, Device::Cpu, Rows::Bucketed);
        assert!(bucketed.layout.is_unpadded());
        assert_eq!(host.real_tokens, 89);
        assert_eq!(bucketed.layout.row_count(), 96);
        let masked_rows = bucketed.masked_index.size()[0] as usize;
        assert_eq!(masked_rows, bucketed.masked.div_ceil(8) * 8);
        assert!(masked_rows > bucketed.masked);
        let (b, grads_b) = run(&padded);
        for batch in [&unpadded, &bucketed] {
            let (a, grads_a) = run(batch);
            assert!(
                (a.mlm_loss - b.mlm_loss).abs() < 1e-5,
                "{} vs {}",
                a.mlm_loss,
                b.mlm_loss
            );
            assert!((a.nsp_loss - b.nsp_loss).abs() < 1e-5);
            assert_eq!(
                (a.mlm_correct, a.nsp_correct),
                (b.mlm_correct, b.nsp_correct)
            );
            for ((name, x), (_, y)) in grads_a.iter().zip(&grads_b) {
                assert!(x.defined() && y.defined(), "{name} has no gradient");
                let diff = (x - y).abs().max().double_value(&[]);
                assert!(diff < 1e-5, "{name}: gradients differ by {diff}");
            }
        }
    }

    #[test]
    fn the_model_fits_a_single_batch() {
        let mut c = Config::default();
        c.model.dropout = 0.0;
        let vocab = 200;
        tch::manual_seed(0);
        let vs = VarStore::new(Device::Cpu);
        let model = BertForPreTraining::new(
            &vs.root(),
            &BertConfig::new(vocab, c.dims().unwrap(), &c.model),
        );
        let mut opt = AdamW::new(&vs);
        let specials = SpecialIds::FIRST_FIVE;
        let mut rng = rng_for(1, "fit", 0);
        let examples = random_examples(&mut rng, vocab, 16, 32);
        let mask = MaskConfig::bert(0.15, vocab, specials);
        let batch = DeviceBatch::new(&collate(&examples, &mask, &mut rng), Device::Cpu);
        let first = losses(&model, &batch, true);
        let mut last = None;
        for _ in 0..120 {
            let out = losses(&model, &batch, true);
            out.loss.backward();
            opt.clip(opt.grad_norm().unwrap(), 1.0).unwrap();
            opt.step(1e-3, 0.01, 1e-6).unwrap();
            opt.zero_grad().unwrap();
            last = Some(out);
        }
        let last = last.unwrap();
        assert!(first.mlm_loss > 4.5 && first.nsp_loss > 0.5);
        assert!(
            last.mlm_loss < 0.2,
            "MLM loss {} -> {}",
            first.mlm_loss,
            last.mlm_loss
        );
        assert!(
            last.nsp_loss < 0.05,
            "NSP loss {} -> {}",
            first.nsp_loss,
            last.nsp_loss
        );
        assert_eq!(last.mlm_correct as usize, batch.masked);
    }
}
