//! One optimizer step: accumulating micro-batches, the non-finite checks and what
//! follows them (a pause or a failure naming the broken tensor), and refreshing the
//! probe thread's weights.

use std::time::Instant;

use anyhow::Result;

use super::super::metrics::{Interval, Totals};
use super::super::non_finite::diagnose;
use super::super::step::{losses, DeviceBatch};
use super::{step_seed, Trainer};
use crate::config::schedule::lr_at;
use crate::data::prefetch::Prefetch;
use crate::protocol::Event;

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
        tch::manual_seed(step_seed(t.seed, self.step));
        for _ in 0..accum {
            let wait = Instant::now();
            let Ok(host) = prefetch.batches.recv() else {
                break;
            };
            interval.wait_s += wait.elapsed().as_secs_f64();
            self.examples_done += host.batch;
            let batch = DeviceBatch::new(&host, self.device);
            let out = crate::device::autocast(self.mixed, || losses(&self.model, &batch, true));
            if !out.is_finite() {
                bad = Some(if self.config.model.nsp {
                    format!("MLM loss {} / NSP loss {}", out.mlm_loss, out.nsp_loss)
                } else {
                    format!("MLM loss {}", out.mlm_loss)
                });
                break;
            }
            (&out.loss / accum as f64).backward();
            step_totals.add(&out, &batch);
            micro += 1;
        }
        if micro == 0 && bad.is_none() {
            return Ok(StepResult::EndOfEpoch);
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
                    "{}. The step was skipped and the weights of step {} kept; training is paused: lower lr in the Hyperparameters panel, then press space",
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
        self.failure = Some((d.message, d.recoverable));
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

pub(super) enum StepResult {
    Done,
    Skipped,
    EndOfEpoch,
    /// Non-finite values the run cannot continue from (`Trainer::failure` says why).
    Failed,
}
