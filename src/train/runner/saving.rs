//! What the trainer writes into the session as it goes: records (metrics, changes,
//! TensorBoard) and checkpoints.

use std::time::Instant;

use anyhow::Result;

use super::super::checkpoint::{publish_weights, save_checkpoint, CheckpointState, FORMAT};
use super::Trainer;
use crate::protocol::{Event, StepMetrics};
use crate::records::ChangeSource;
use crate::session::disk::{available_bytes, human_bytes, is_disk_full};
use crate::session::CHECKPOINTS_DIR;

impl Trainer {
    /// Writes a record; a failure (disk full, ...) is reported, not fatal.
    pub(super) fn record(&mut self, result: Result<()>) {
        if let Err(e) = result {
            self.emit(Event::Warning {
                message: format!("cannot write the session's records: {e:#}"),
            });
        }
    }

    pub(super) fn record_change(&mut self, key: &str, value: &str, source: ChangeSource) {
        let r = self
            .records
            .change(key, value, self.step + 1, self.epoch, source);
        self.record(r);
    }

    pub(super) fn emit_step(&mut self, mut m: StepMetrics) {
        crate::heap::return_free_memory();
        m.memory = crate::device::memory(self.device);
        let r = self.records.step(&m);
        self.record(r);
        self.emit(Event::Step(m));
    }

    /// One line for a checkpoint that could not be written: a full disk says so, with
    /// the free space; both say where the session stands and how to go on.
    fn save_failure(&self, e: &anyhow::Error) -> String {
        let root = self.session.path(CHECKPOINTS_DIR);
        let intact = match self.last_checkpoint {
            Some(step) => format!("the session is intact at step {step}, its last checkpoint"),
            None => "no checkpoint of this run was saved".to_string(),
        };
        let resume = if self.session.has_saved_work() {
            format!("`bertwork resume {}`", self.session.name)
        } else {
            format!(
                "start it again with `bertwork train --session {}`",
                self.session.name
            )
        };
        if is_disk_full(e) {
            let free = available_bytes(&self.session.dir)
                .map_or(String::new(), |b| format!(" ({} free)", human_bytes(b)));
            format!(
                "disk full: cannot save the checkpoint of step {} in {}{free}; {intact}; free some space, then {resume}",
                self.step,
                root.display()
            )
        } else {
            format!(
                "cannot save the checkpoint of step {} in {}: {e:#}; {intact}; fix the cause, then {resume}",
                self.step,
                root.display()
            )
        }
    }

    /// Saves a checkpoint of this step (rank 0 only in a data-parallel run: the
    /// weights and moments are the same on every rank).
    pub(super) fn checkpoint(&mut self) -> Result<()> {
        if !self.owns_session() {
            return Ok(());
        }
        let start = Instant::now();
        if let Some(name) = crate::model::first_non_finite(&self.vs) {
            // Never over the last good checkpoint: a resume would start from broken
            // weights.
            anyhow::bail!(
                "weight `{name}` became infinite or NaN by step {}: not saved; the session is intact at step {}; resume it with a lower train.lr",
                self.step,
                self.last_checkpoint.map_or("0 (nothing saved)".to_string(), |s| s.to_string())
            );
        }
        let r = self.records.sync();
        self.record(r);
        let state = CheckpointState {
            format: FORMAT,
            step: self.step,
            epoch: self.epoch,
            batches_done: self.examples_done / self.config.train.batch_size.max(1),
            examples_done: Some(self.examples_done),
            epoch_pairs: Some({
                let p = self.pairs_for(self.epoch);
                (p.max_seq_len, p.short_seq_prob)
            }),
            steps_in_epoch: self.steps_in_epoch,
            elapsed_s: self.elapsed(),
            config: self.config.clone(),
            pending: self.pending.clone(),
            heldout_mlm_loss: self
                .last_eval
                .as_ref()
                .filter(|e| e.step == self.step)
                .map(|e| e.mlm_loss),
            rows: self.records.rows(),
            world_size: self.world_size(),
            precision: Some(self.mixed.describe().to_string()),
            crc32c: Vec::new(),
        };
        let path = save_checkpoint(
            &self.vs,
            &self.opt,
            &self.session,
            &state,
            self.config.train.keep_checkpoints,
        )
        .and_then(|path| {
            publish_weights(&path, &self.session)?;
            self.session.save_config(&self.config)?;
            Ok(path)
        })
        .map_err(|e| anyhow::anyhow!(self.save_failure(&e)))?;
        self.last_checkpoint = Some(self.step);
        self.checkpoint_rows = Some(state.rows);
        self.emit(Event::CheckpointSaved {
            path,
            step: self.step,
            seconds: start.elapsed().as_secs_f64(),
        });
        Ok(())
    }
}
