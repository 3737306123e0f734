//! Sums over a logging interval (or an evaluation pass), turned into averages.

use super::step::{DeviceBatch, LossOutput};

/// Token- and example-weighted sums, so that averages over uneven batches are exact.
#[derive(Debug, Default, Clone)]
pub struct Totals {
    pub mlm_loss_sum: f64,
    pub mlm_correct: i64,
    pub masked: i64,
    pub nsp_loss_sum: f64,
    pub nsp_correct: i64,
    pub rows: i64,
    pub tokens: u64,
}

impl Totals {
    pub fn add(&mut self, out: &LossOutput, batch: &DeviceBatch) {
        self.mlm_loss_sum += out.mlm_loss * batch.masked as f64;
        self.mlm_correct += out.mlm_correct;
        self.masked += batch.masked as i64;
        self.nsp_loss_sum += out.nsp_loss * batch.rows as f64;
        self.nsp_correct += out.nsp_correct;
        self.rows += batch.rows as i64;
        self.tokens += batch.real_tokens as u64;
    }

    pub fn mlm_loss(&self) -> f64 {
        self.mlm_loss_sum / self.masked.max(1) as f64
    }

    pub fn mlm_acc(&self) -> f64 {
        self.mlm_correct as f64 / self.masked.max(1) as f64
    }

    pub fn nsp_loss(&self) -> f64 {
        self.nsp_loss_sum / self.rows.max(1) as f64
    }

    pub fn nsp_acc(&self) -> f64 {
        self.nsp_correct as f64 / self.rows.max(1) as f64
    }
}
