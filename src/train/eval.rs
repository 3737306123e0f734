//! Held-out evaluation: a fixed set of masked examples, so numbers compare over time.

use std::time::Instant;

use tch::Device;

use super::metrics::Totals;
use super::step::{losses, DeviceBatch};
use crate::data::HostBatch;
use crate::model::BertForPreTraining;
use crate::protocol::EvalMetrics;

pub fn evaluate(
    model: &BertForPreTraining,
    batches: &[HostBatch],
    device: Device,
    step: u64,
    epoch: usize,
) -> EvalMetrics {
    let start = Instant::now();
    let _guard = tch::no_grad_guard();
    let mut totals = Totals::default();
    for b in batches {
        let batch = DeviceBatch::new(b, device);
        totals.add(&losses(model, &batch, false), &batch);
    }
    EvalMetrics {
        step,
        epoch,
        mlm_loss: totals.mlm_loss(),
        mlm_acc: totals.mlm_acc(),
        perplexity: totals.mlm_loss().exp(),
        nsp_loss: totals.nsp_loss(),
        nsp_acc: totals.nsp_acc(),
        seconds: start.elapsed().as_secs_f64(),
    }
}
