//! Sums over a logging interval (or an evaluation pass), turned into averages.

use std::time::Instant;

use super::step::{DeviceBatch, LossOutput};
use crate::protocol::StepMetrics;

/// Token- and example-weighted sums, so that averages over uneven batches are exact.
#[derive(Debug, Default, Clone)]
pub struct Totals {
    pub mlm_loss_sum: f64,
    pub mlm_correct: i64,
    pub masked: i64,
    pub nsp_loss_sum: f64,
    pub nsp_correct: i64,
    /// Examples NSP was computed on (none when it is off).
    pub rows: i64,
    pub tokens: u64,
}

impl Totals {
    pub fn add(&mut self, out: &LossOutput, batch: &DeviceBatch) {
        self.mlm_loss_sum += out.mlm_loss * batch.masked as f64;
        self.mlm_correct += out.mlm_correct;
        self.masked += batch.masked as i64;
        if out.nsp {
            self.nsp_loss_sum += out.nsp_loss * batch.rows as f64;
            self.nsp_correct += out.nsp_correct;
            self.rows += batch.rows as i64;
        }
        self.tokens += batch.real_tokens as u64;
    }

    /// Adds sums gathered elsewhere (other ranks' included).
    pub fn add_totals(&mut self, other: &Totals) {
        self.mlm_loss_sum += other.mlm_loss_sum;
        self.mlm_correct += other.mlm_correct;
        self.masked += other.masked;
        self.nsp_loss_sum += other.nsp_loss_sum;
        self.nsp_correct += other.nsp_correct;
        self.rows += other.rows;
        self.tokens += other.tokens;
    }

    pub fn mlm_loss(&self) -> f64 {
        self.mlm_loss_sum / self.masked.max(1) as f64
    }

    pub fn mlm_acc(&self) -> f64 {
        self.mlm_correct as f64 / self.masked.max(1) as f64
    }

    /// None when NSP was not computed (`model.nsp = false`).
    pub fn nsp_loss(&self) -> Option<f64> {
        (self.rows > 0).then(|| self.nsp_loss_sum / self.rows as f64)
    }

    pub fn nsp_acc(&self) -> Option<f64> {
        (self.rows > 0).then(|| self.nsp_correct as f64 / self.rows as f64)
    }
}

/// Metrics gathered between two step logs.
pub struct Interval {
    totals: Totals,
    started: Instant,
    /// Seconds spent waiting for the next batch.
    pub wait_s: f64,
    lr: f64,
    grad_norm_sum: f64,
    steps: u64,
    /// Tokens this process trained on (its own share in a data-parallel run; the
    /// totals count every rank's).
    pub local_tokens: u64,
    /// Seconds in collectives (data-parallel runs).
    pub collective_s: f64,
}

impl Default for Interval {
    fn default() -> Self {
        Self::new()
    }
}

impl Interval {
    pub fn new() -> Self {
        Self {
            totals: Totals::default(),
            started: Instant::now(),
            wait_s: 0.0,
            lr: 0.0,
            grad_norm_sum: 0.0,
            steps: 0,
            local_tokens: 0,
            collective_s: 0.0,
        }
    }

    pub fn add(&mut self, step: &Totals, lr: f64, grad_norm: f64) {
        self.totals.add_totals(step);
        self.lr = lr;
        self.grad_norm_sum += grad_norm;
        self.steps += 1;
    }

    /// Leaves `idle` (time paused) out of the interval's tokens/s.
    pub fn exclude(&mut self, idle: std::time::Duration) {
        self.started += idle;
    }

    /// This process's tokens per second so far in the interval.
    pub fn local_tokens_per_s(&self) -> f64 {
        self.local_tokens as f64 / self.started.elapsed().as_secs_f64().max(1e-9)
    }

    /// Averages since the last log, then starts a new interval.
    pub fn finish(
        &mut self,
        step: u64,
        epoch: usize,
        epoch_progress: f64,
        elapsed_s: f64,
    ) -> StepMetrics {
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let t = &self.totals;
        let m = StepMetrics {
            step,
            epoch,
            epoch_progress,
            mlm_loss: t.mlm_loss(),
            mlm_acc: t.mlm_acc(),
            nsp_loss: t.nsp_loss(),
            nsp_acc: t.nsp_acc(),
            lr: self.lr,
            grad_norm: self.grad_norm_sum / self.steps.max(1) as f64,
            tokens_per_s: t.tokens as f64 / secs,
            data_wait: self.wait_s / secs,
            elapsed_s,
            memory: None,
            rank_tokens_per_s: Vec::new(),
            collective_share: (self.collective_s > 0.0).then(|| self.collective_s / secs),
        };
        *self = Self::new();
        m
    }
}
