//! The training loop on the trainer thread: epochs of optimizer steps, metrics and
//! evaluation. Building the trainer is in `start.rs`, one optimizer step in
//! `optimizer_step.rs`, commands between steps in `control.rs`, records and
//! checkpoints in `saving.rs`.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use crossbeam_channel::{Receiver, Sender};
use tch::{nn::VarStore, Device};

use super::eval::{eval_metrics, eval_totals};
use super::metrics::Interval;
use super::optimizer::AdamW;
use super::prepare::{mask_config, pair_config, Prepared};
use super::probe_worker::ProbeSlot;
use super::TrainSetup;
use crate::data::pairs::PairConfig;
use optimizer_step::StepResult;

mod control;
mod data_parallel;
mod downstream;
mod optimizer_step;
mod saving;
mod start;
mod watching;
use crate::config::Config;
use crate::data::pairs::{epoch_examples, PairSpan};
use crate::data::prefetch::Prefetch;
use crate::data::rng_for;
use crate::model::BertForPreTraining;
use crate::protocol::{
    nsp_at_chance, nsp_chance_line, uses_context, Command, EvalMetrics, Event, FinishReason, Hyper,
    Summary, NSP_CHANCE_EVALS,
};
use crate::records::Records;
use crate::session::Session;

/// Thread entry: runs, then always reports how it ended.
pub fn run(setup: TrainSetup, commands: Receiver<Command>, events: Sender<Event>, slot: ProbeSlot) {
    let start = Instant::now();
    let session = setup.session.clone();
    let config = setup.config.clone();
    let built = std::sync::atomic::AtomicBool::new(false);
    // A libtorch failure inside tch's panicking calls (an allocation that fails while
    // the model is built, ...) ends this run with one error line, as an `Err` does.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        match Trainer::new(setup, commands, events.clone(), slot, start) {
            Ok(mut trainer) => {
                built.store(true, std::sync::atomic::Ordering::Relaxed);
                trainer.train()
            }
            Err(e) => Err(e),
        }
    }));
    let built = built.load(std::sync::atomic::Ordering::Relaxed);
    let summary = outcome
        .unwrap_or_else(|payload| {
            Err(anyhow::anyhow!(
                "the trainer stopped: {}",
                crate::train::memory::panic_text(payload.as_ref())
            ))
        })
        .map_err(|e| {
            if !built {
                // Nothing was trained: do not leave a half-made session behind.
                session.discard_if_untrained();
            }
            let doing = if built {
                "training"
            } else {
                "building the model"
            };
            let parameters = config
                .dims()
                .map(|d| crate::model::BertConfig::new(config.data.vocab_size, d, &config.model))
                .map_or(0, |b| b.parameter_count());
            match crate::train::memory::explain(&format!("{e:#}"), doing, &config, parameters) {
                Some(line) => anyhow::anyhow!(line),
                None => e,
            }
        });
    let summary = summary.unwrap_or_else(|e| {
        let message = format!("{e:#}");
        let _ = events.send(Event::Error {
            message: message.clone(),
        });
        Summary {
            reason: FinishReason::Failed,
            step: 0,
            epoch: 0,
            elapsed_s: start.elapsed().as_secs_f64(),
            last_eval: None,
            // Only a folder that still holds saved work is worth pointing at.
            session_dir: session.has_saved_work().then(|| session.dir.clone()),
            error: Some(message),
        }
    });
    let _ = events.send(Event::Finished(summary));
}

enum Flow {
    Continue,
    Stop,
    /// Paused: nothing to do yet (data-parallel rank 0 says so to the other ranks
    /// every [`data_parallel::KEEPALIVE`]).
    Wait,
}

/// Why a run ends as failed.
#[derive(Debug)]
struct Failure {
    /// The `error:` line.
    message: String,
    /// Whether the final checkpoint is still written: the weights are finite and
    /// the disk took the last write.
    save: bool,
}

struct Trainer {
    config: Config,
    session: Session,
    data: Prepared,
    vs: VarStore,
    model: BertForPreTraining,
    opt: AdamW,
    device: Device,
    commands: Receiver<Command>,
    events: Sender<Event>,
    slot: ProbeSlot,
    step: u64,
    epoch: usize,
    total_steps: u64,
    paused: bool,
    /// Changes waiting for the next epoch boundary.
    pending: Vec<Hyper>,
    last_eval: Option<EvalMetrics>,
    /// The step of the session's context onset, once it has happened.
    onset: Option<u64>,
    last_snapshot: Instant,
    start: Instant,
    /// Training time of the runs this one resumes.
    elapsed_before: f64,
    /// Examples of the current epoch already trained on, and optimizer steps in it.
    examples_done: usize,
    steps_in_epoch: u64,
    /// Where the first epoch of this run picks up (a resume mid-epoch).
    resume_cursor: Option<(usize, u64)>,
    /// The pair settings of the epoch a resume picks up mid-way (epoch, settings).
    resumed_pairs: Option<(usize, PairConfig)>,
    last_checkpoint: Option<u64>,
    /// The record rows the last checkpoint counted: a row written after it at the same
    /// step (the end-of-run evaluation) makes the final save write the checkpoint again.
    checkpoint_rows: Option<crate::records::RowCounts>,
    records: Records,
    /// Forward passes under bf16 autocast (CUDA only).
    mixed: crate::device::Autocast,
    /// See [`TrainSetup::interactive`].
    interactive: bool,
    /// The weights came from a file (a resume or an import), at step `first_step`.
    loaded: bool,
    first_step: u64,
    /// The watched probes (`train.watch`), read every `train.watch_interval()` steps.
    watched: Vec<watching::Watched>,
    /// Why the run must end as failed, if it must.
    failure: Option<Failure>,
    /// Time blocked in a pause since the trainer last looked (see `poll_commands`).
    paused_for: std::time::Duration,
    /// The other ranks of a data-parallel run (torch.distributed).
    dp: Option<crate::distributed::DataParallel>,
    /// DDP's reducer, averaging gradients during backward (see
    /// `crate::distributed::reducer`); None: averaged after backward, or one process.
    reducer: Option<crate::distributed::Reducer>,
    /// Data-parallel: the config as last sent to (rank 0) or received from (others)
    /// the other ranks, and its version.
    config_sent: String,
    config_version: u64,
    /// Held-out evaluations in this run (for the NSP-at-chance note).
    evals_run: usize,
}

/// The dropout seed of optimizer step `step` on rank `rank`: each step's random stream
/// depends only on (seed, rank, step), so a resumed run draws exactly what the
/// uninterrupted run drew, and data-parallel ranks draw different dropout masks.
fn step_seed(seed: u64, rank: usize, step: u64) -> i64 {
    let seed = seed ^ (rank as u64).wrapping_mul(0xd6e8_feb8_6659_fd93);
    let mut x = seed ^ step.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^= x >> 31;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    (x >> 1) as i64
}

impl Trainer {
    fn elapsed(&self) -> f64 {
        self.elapsed_before + self.start.elapsed().as_secs_f64()
    }

    fn emit(&self, event: Event) {
        let _ = self.events.send(event);
    }

    fn steps_in(&self, examples: usize) -> u64 {
        let t = &self.config.train;
        // A global batch is `batch_size` examples on each rank.
        let batches = examples.div_ceil(t.batch_size * self.world_size());
        batches.div_ceil(t.grad_accum) as u64
    }

    /// Total optimizer steps: done so far + what is left of this epoch + the later
    /// epochs at `steps_per_epoch`, capped by max_steps.
    fn plan_total(&mut self, left_this_epoch: u64, steps_per_epoch: u64) {
        let t = &self.config.train;
        let epochs_after = t.epochs.saturating_sub(self.epoch + 1) as u64;
        let total = self.step + left_this_epoch + steps_per_epoch * epochs_after;
        self.total_steps = if t.max_steps > 0 {
            total.min(t.max_steps)
        } else {
            total
        };
    }

    /// The examples of `epoch`: a resumed epoch is rebuilt as it began (its cursor
    /// counts those examples); new pair settings apply from the next one.
    fn epoch_examples(&self, epoch: usize) -> Vec<PairSpan> {
        let mut rng = rng_for(self.config.train.seed, "pairs", epoch as u64);
        epoch_examples(&self.data.train, self.pairs_for(epoch), &mut rng)
    }

    /// The pair settings `epoch` is built with.
    fn pairs_for(&self, epoch: usize) -> PairConfig {
        match &self.resumed_pairs {
            Some((e, pairs)) if *e == epoch => pairs.clone(),
            _ => pair_config(&self.config, &self.data.tokenizer),
        }
    }

    fn train(&mut self) -> Result<Summary> {
        self.started()?;
        let reason = match self.epochs() {
            Ok(reason) => reason,
            Err(e) => {
                let message = format!("{e:#}");
                self.emit(Event::Error {
                    message: message.clone(),
                });
                // Saving again after a failed save (a full disk) would only fail again.
                self.failure = Some(Failure {
                    message,
                    save: false,
                });
                FinishReason::Failed
            }
        };
        self.finish(reason)
    }

    /// The epochs of the run, until done, stopped or failed.
    fn epochs(&mut self) -> Result<FinishReason> {
        let mut reason = FinishReason::Completed;
        'epochs: while self.epoch < self.config.train.epochs {
            let (skip, done) = self.resume_cursor.take().unwrap_or_default();
            if skip == 0 {
                self.apply_pending();
            }
            // Every rank builds the epoch from rank 0's config.
            if let Flow::Stop = self.agree(Flow::Continue)? {
                reason = FinishReason::Stopped;
                break 'epochs;
            }
            let epoch_start = Instant::now();
            let examples = Arc::new(self.epoch_examples(self.epoch));
            let skip = skip.min(examples.len());
            (self.examples_done, self.steps_in_epoch) = (skip, done);
            let steps_this_epoch = self.steps_in(examples.len());
            self.plan_total(self.steps_in(examples.len() - skip), steps_this_epoch);
            let epoch_size = examples.len().max(1) as f64;
            let t = &self.config.train;
            let prefetch = Prefetch::spawn(
                examples,
                self.data.train.clone(),
                self.data.tokenizer.specials,
                t.batch_size,
                mask_config(&self.config, &self.data.tokenizer),
                t.seed,
                self.epoch as u64,
                skip,
                self.shard(),
            );
            let mut interval = Interval::new();
            loop {
                let polled = Instant::now();
                let mut waited = false;
                let flow = loop {
                    let flow = self.poll_commands()?;
                    match self.agree(flow)? {
                        Flow::Wait => waited = true,
                        flow => break flow,
                    }
                };
                // Time paused is not training time.
                let paused = std::mem::take(&mut self.paused_for);
                interval.exclude(if waited { polled.elapsed() } else { paused });
                if let Flow::Stop = flow {
                    reason = FinishReason::Stopped;
                    break 'epochs;
                }
                match self.optimizer_step(&prefetch, &mut interval)? {
                    StepResult::EndOfEpoch => break,
                    StepResult::Failed => {
                        reason = FinishReason::Failed;
                        break 'epochs;
                    }
                    StepResult::Skipped => continue,
                    StepResult::Done => {}
                }
                self.steps_in_epoch += 1;
                let t = self.config.train.clone();
                if self.step.is_multiple_of(t.log_every) {
                    let progress = self.examples_done as f64 / epoch_size;
                    let elapsed = self.elapsed();
                    let local = interval.local_tokens_per_s();
                    let mut m = interval.finish(self.step, self.epoch, progress, elapsed);
                    m.rank_tokens_per_s = self.rank_throughput(local)?;
                    self.emit_step(m);
                }
                if self.step.is_multiple_of(t.watch_interval()) {
                    self.read_watched();
                }
                if t.eval_every > 0 && self.step.is_multiple_of(t.eval_every) {
                    self.eval()?;
                }
                if t.checkpoint_every > 0 && self.step.is_multiple_of(t.checkpoint_every) {
                    self.checkpoint()?;
                }
                if t.max_steps > 0 && self.step >= t.max_steps {
                    self.end_epoch(epoch_start)?;
                    break 'epochs;
                }
            }
            self.end_epoch(epoch_start)?;
            self.epoch += 1;
            (self.examples_done, self.steps_in_epoch) = (0, 0);
            // Every epoch boundary is a point a resume can continue from.
            self.checkpoint()?;
        }
        Ok(reason)
    }

    fn end_epoch(&mut self, epoch_start: Instant) -> Result<()> {
        self.eval()?;
        self.emit(Event::EpochEnd {
            epoch: self.epoch,
            step: self.step,
            seconds: epoch_start.elapsed().as_secs_f64(),
        });
        Ok(())
    }

    fn finish(&mut self, reason: FinishReason) -> Result<Summary> {
        let (error, save) = match self.failure.take() {
            Some(Failure { message, save }) => (Some(message), save),
            None => (None, true),
        };
        let (reason, error) = match save.then(|| self.save_final()) {
            Some(Err(e)) => {
                let message = format!("{e:#}");
                self.emit(Event::Error {
                    message: message.clone(),
                });
                (FinishReason::Failed, Some(message))
            }
            _ => (reason, error),
        };
        Ok(Summary {
            reason,
            step: self.step,
            epoch: self.epoch,
            elapsed_s: self.elapsed(),
            last_eval: self.last_eval.clone(),
            session_dir: self
                .session
                .has_saved_work()
                .then(|| self.session.dir.clone()),
            error,
        })
    }

    fn save_final(&mut self) -> Result<()> {
        if !self.owns_session() {
            return Ok(());
        }
        if self.last_checkpoint != Some(self.step)
            || self.checkpoint_rows != Some(self.records.rows())
        {
            self.checkpoint()?;
        }
        self.session.save_config(&self.config)
    }

    /// Evaluates the held-out set (each rank its share of the batches, summed over
    /// the ranks), records it and tells the front end.
    fn eval(&mut self) -> Result<()> {
        if self.last_eval.as_ref().is_some_and(|e| e.step == self.step) {
            return Ok(()); // already evaluated at this step (eval_every and an epoch end)
        }
        let start = std::time::Instant::now();
        let local = eval_totals(
            &self.model,
            &self.data.eval_batches,
            self.device,
            self.shard(),
        );
        let totals = self.global_totals(&local)?;
        let m = eval_metrics(
            &totals,
            self.step,
            self.epoch,
            start.elapsed().as_secs_f64(),
        );
        self.last_eval = Some(m.clone());
        let r = self.records.eval(&m, self.elapsed());
        self.record(r);
        if self.last_checkpoint == Some(self.step) && self.owns_session() {
            // The checkpoint of this step came first (checkpoint_every, then the end of
            // the run): it may still be the best.
            let r = super::checkpoint::note_heldout(&self.session, self.step, m.mlm_loss);
            self.record(r);
        }
        let floor = self.data.stats.no_context_mlm_loss;
        let onset = self.onset.is_none() && uses_context(m.mlm_loss, floor);
        let heldout = m.mlm_loss;
        let nsp_acc = m.nsp_acc;
        self.emit(Event::Eval(m));
        self.read_downstream();
        self.evals_run += 1;
        let s = &self.data.stats;
        match nsp_acc {
            Some(acc)
                if self.evals_run == NSP_CHANCE_EVALS
                    && nsp_at_chance(acc, s.heldout_random_next, s.heldout_examples) =>
            {
                let message =
                    nsp_chance_line(self.step, acc, s.heldout_random_next, s.heldout_examples);
                self.emit(Event::Warning { message });
            }
            _ => {}
        }
        if onset {
            self.onset = Some(self.step);
            self.emit(Event::ContextOnset {
                step: self.step,
                elapsed_s: self.elapsed(),
                heldout_mlm_loss: heldout,
                no_context_mlm_loss: floor,
            });
        }
        Ok(())
    }
}
