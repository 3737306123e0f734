//! Held-out evaluation: a fixed set of masked examples, so numbers compare over time.

use tch::Device;

use super::metrics::Totals;
use super::step::{losses, DeviceBatch};
use crate::data::prefetch::Shard;
use crate::data::HostBatch;
use crate::model::BertForPreTraining;
use crate::protocol::EvalMetrics;

/// Sums over this rank's share of the held-out `batches` (every one when `shard` is
/// [`Shard::WHOLE`]; batch `i` belongs to rank `i % world_size`).
pub fn eval_totals(
    model: &BertForPreTraining,
    batches: &[HostBatch],
    device: Device,
    shard: Shard,
) -> Totals {
    let _guard = tch::no_grad_guard();
    let mut totals = Totals::default();
    for b in batches
        .iter()
        .skip(shard.rank)
        .step_by(shard.world_size.max(1))
    {
        let batch = DeviceBatch::new(b, device);
        totals.add(&losses(model, &batch, false), &batch);
    }
    totals
}

/// The metrics of a pass whose sums are `totals`, taking `seconds`.
pub fn eval_metrics(totals: &Totals, step: u64, epoch: usize, seconds: f64) -> EvalMetrics {
    EvalMetrics {
        step,
        epoch,
        mlm_loss: totals.mlm_loss(),
        mlm_acc: totals.mlm_acc(),
        perplexity: totals.mlm_loss().exp(),
        nsp_loss: totals.nsp_loss(),
        nsp_acc: totals.nsp_acc(),
        seconds,
    }
}
