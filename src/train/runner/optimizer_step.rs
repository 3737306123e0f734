//! One optimizer step: accumulating micro-batches, the non-finite checks and what
//! follows them (a pause or a failure naming the broken tensor), and refreshing the
//! probe thread's weights.

use std::time::Instant;

use anyhow::Result;

use super::super::metrics::{Interval, Totals};
use super::super::non_finite::diagnose;
use super::super::step::{losses, DeviceBatch, LossOutput, Rows};
use super::{step_seed, Trainer};
use crate::config::schedule::lr_at;
use crate::data::prefetch::Prefetch;
use crate::protocol::Event;
use tch::Tensor;

impl Trainer {
    /// Accumulates `grad_accum` micro-batches and takes one optimizer step.
    pub(super) fn optimizer_step(
        &mut self,
        prefetch: &Prefetch,
        interval: &mut Interval,
    ) -> Result<StepResult> {
        let t = &self.config.train;
        let (accum, clip, wd) = (t.grad_accum, t.clip_norm, t.weight_decay);
        let mut micro = 0;
        let mut bad = None;
        let mut step_totals = Totals::default();
        let mut synced = false;
        let rank = self.shard().rank;
        tch::manual_seed(step_seed(t.seed, rank, self.step));
        for _ in 0..accum {
            let wait = Instant::now();
            let Ok(shard) = prefetch.batches.recv() else {
                break;
            };
            interval.wait_s += wait.elapsed().as_secs_f64();
            self.examples_done += shard.global_examples;
            let batch =
                DeviceBatch::with_rows(&shard.host, self.device, Rows::for_training(self.mixed));
            let out = crate::device::autocast(self.mixed, || losses(&self.model, &batch, true));
            let mut local = Totals::default();
            if shard.counts {
                local.add(&out, &batch);
                interval.local_tokens += batch.real_tokens as u64;
            }
            let loss = if self.dp.is_some() {
                // Every rank's losses, so that all of them see the same values and
                // take the same decisions (a non-finite loss on one rank stops all).
                let waited = Instant::now();
                let global = self.global_totals(&local)?;
                interval.collective_s += waited.elapsed().as_secs_f64();
                let is_finite =
                    global.mlm_loss().is_finite() && global.nsp_loss().is_none_or(f64::is_finite);
                if !is_finite {
                    bad = Some(describe_losses(
                        global.mlm_loss(),
                        global.nsp_loss(),
                        self.config.model.nsp,
                    ));
                    break;
                }
                let loss = global_mean_loss(&out, &local, &global, self.world_size());
                step_totals.add_totals(&global);
                loss
            } else {
                if !out.is_finite() {
                    bad = Some(describe_losses(
                        out.mlm_loss,
                        Some(out.nsp_loss),
                        self.config.model.nsp,
                    ));
                    break;
                }
                step_totals.add(&out, &batch);
                out.loss.shallow_clone()
            };
            // The last micro-batch of the step: its backward averages the gradients.
            let sync = micro + 1 == accum;
            self.backward(&(&loss / accum as f64), sync)?;
            synced = sync && self.reducer.is_some();
            micro += 1;
        }
        if micro == 0 && bad.is_none() {
            return Ok(StepResult::EndOfEpoch);
        }
        if bad.is_none() && self.dp.is_some() {
            let waited = Instant::now();
            // An epoch's last step may have fewer micro-batches: averaged here then.
            self.average_gradients(synced)?;
            interval.collective_s += waited.elapsed().as_secs_f64();
        }
        let norm = self.opt.grad_norm()?;
        if bad.is_none() && !norm.is_finite() {
            bad = Some(format!("gradient norm {norm}"));
        }
        if let Some(what) = bad {
            return self.non_finite(&what);
        }
        self.opt.clip(norm, clip)?;
        let lr = lr_at(&self.config.train, self.step, self.total_steps);
        self.opt.step(lr, wd, self.config.train.adam_epsilon)?;
        self.opt.zero_grad()?;
        self.step += 1;
        interval.add(&step_totals, lr, norm);
        self.refresh_probe();
        Ok(StepResult::Done)
    }

    /// A step whose loss or gradient norm (`what`) was not finite: the step is skipped
    /// and the weights of the step before kept; the run pauses for a lower learning rate
    /// (workbench, when the weights are fine) or ends as failed, naming the broken
    /// tensor.
    fn non_finite(&mut self, what: &str) -> Result<StepResult> {
        let found = self.opt.first_non_finite();
        self.opt.zero_grad()?;
        let lr = lr_at(&self.config.train, self.step, self.total_steps);
        let loaded = self.loaded && self.step == self.first_step;
        let d = diagnose(what, self.step + 1, loaded, found.as_ref(), lr);
        if d.recoverable && self.interactive {
            self.emit(Event::Error {
                message: format!(
                    "{}. The step was skipped and the weights of step {} kept; training is paused: lower lr in the HParams panel, then press space",
                    d.message, self.step
                ),
            });
            self.paused = true;
            self.emit(Event::Paused { step: self.step });
            return Ok(StepResult::Skipped);
        }
        self.emit(Event::Error {
            message: d.message.clone(),
        });
        self.failure = Some(super::Failure {
            message: d.message,
            save: d.recoverable,
        });
        Ok(StepResult::Failed)
    }

    /// Copies the weights to the probe thread's model, at most twice a second, and
    /// never waiting for a probe in progress.
    fn refresh_probe(&mut self) {
        if self.last_snapshot.elapsed().as_secs_f64() < 0.5 {
            return;
        }
        if let Ok(mut guard) = self.slot.try_lock() {
            if let Some(p) = guard.as_mut() {
                p.refresh(&self.vs);
            }
            self.last_snapshot = Instant::now();
        }
    }
}

/// "MLM loss x / NSP loss y" (MLM alone when NSP is off).
fn describe_losses(mlm: f64, nsp: Option<f64>, with_nsp: bool) -> String {
    match nsp {
        Some(nsp) if with_nsp => format!("MLM loss {mlm} / NSP loss {nsp}"),
        _ => format!("MLM loss {mlm}"),
    }
}

/// This rank's part of the global batch's loss, for backward: each mean is rescaled
/// from this rank's count to the global count, times the world size because the
/// gradients are then averaged over the ranks. Summed over the ranks and divided by
/// the world size, the gradient is the one of the whole batch's mean losses (the
/// scheme behind DDP's `loss * world_size / global_tokens` when shards are uneven).
fn global_mean_loss(out: &LossOutput, local: &Totals, global: &Totals, world: usize) -> Tensor {
    let share = |mine: i64, all: i64| mine as f64 * world as f64 / all.max(1) as f64;
    let mut loss = &out.mlm * share(local.masked, global.masked);
    if let Some(nsp) = &out.nsp_term {
        loss += nsp * share(local.rows, global.rows);
    }
    loss
}

pub(super) enum StepResult {
    Done,
    Skipped,
    EndOfEpoch,
    /// Non-finite values the run cannot continue from (`Trainer::failure` says why).
    Failed,
}
