//! Building the trainer: device, data, model and optimizer, the checkpoint a resume
//! continues from, and the `Started` event (plus the earlier history on a resume).

use std::time::Instant;

use anyhow::{Context, Result};
use crossbeam_channel::{Receiver, Sender};
use tch::nn::VarStore;

use super::super::checkpoint::{CheckpointState, OPTIMIZER_FILE};
use super::super::optimizer::AdamW;
use super::super::prepare::{pair_config, prepare_reporting};
use super::super::probe_worker::{ProbeModel, ProbeSlot};
use super::super::{Start, TrainSetup};
use super::Trainer;
use crate::data::pairs::is_next_share;
use crate::model::{BertConfig, BertForPreTraining};
use crate::protocol::{context_onset, Command, Event, StartInfo};
use crate::records::Records;
use crate::session::WEIGHTS_FILE;

impl Trainer {
    pub(super) fn new(
        setup: TrainSetup,
        commands: Receiver<Command>,
        events: Sender<Event>,
        slot: ProbeSlot,
        start: Instant,
    ) -> Result<Self> {
        let TrainSetup {
            config,
            session,
            start: from,
            interactive,
            data_parallel: dp,
        } = setup;
        let mut device = crate::device::resolve(config.train.device)?;
        let mut threads = config.train.threads;
        if let Some(dp) = &dp {
            // One GPU per local rank; CPU cores shared evenly among local ranks.
            // (Ranks share GPUs when there are fewer than local ranks.)
            if let tch::Device::Cuda(_) = device {
                let gpus = tch::Cuda::device_count().max(1) as usize;
                device = tch::Device::Cuda(dp.rendezvous.local_rank % gpus);
            }
            if threads == 0 {
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                threads = (cores / dp.rendezvous.local_world_size.max(1)).max(1);
            }
        }
        crate::cpu_threads::use_threads(threads);
        let data = prepare_reporting(&config, &session, &mut |event| {
            let _ = events.send(event);
        })?;
        // Only once the data checks passed: a refused resume leaves the config as it was.
        if dp.as_ref().is_none_or(|dp| dp.is_leader()) {
            session.save_config(&config)?;
            crate::data::floor::save(&session.dir, data.stats.no_context_mlm_loss)?;
        }
        if let Some(message) = data.stats.duplicates.warning() {
            let _ = events.send(Event::Warning { message });
        }
        if data.stats.empty_rows > 0 {
            let _ = events.send(Event::Warning {
                message: format!(
                    "{} rows had no text and were skipped",
                    data.stats.empty_rows
                ),
            });
        }
        tch::manual_seed(config.train.seed as i64);
        let bert_config =
            BertConfig::new(data.tokenizer.vocab_size(), config.dims()?, &config.model);
        let mut vs = VarStore::new(device);
        let model = BertForPreTraining::new(&vs.root(), &bert_config);
        let mut opt = AdamW::new(&vs);
        let mut resumed: Option<CheckpointState> = None;
        match &from {
            Start::Fresh => {}
            Start::FromRank0 { state } => resumed = state.as_deref().cloned(),
            Start::Weights(path) => {
                vs.load(path)
                    .with_context(|| format!("cannot load weights from {}", path.display()))?;
            }
            Start::Checkpoint { dir, state, .. } => {
                vs.load(dir.join(WEIGHTS_FILE))
                    .with_context(|| format!("cannot load {}", dir.display()))?;
                opt.load(&dir.join(OPTIMIZER_FILE), state.step)?;
                resumed = Some((**state).clone());
            }
        }
        // A rank > 0 keeps throwaway records in its scratch folder, from nothing.
        let kept = match &from {
            Start::FromRank0 { .. } => None,
            _ => resumed.as_ref().map(|s| (s.step, s.rows)),
        };
        let records = Records::open(&session, kept)?;
        // Only the process that owns the session answers probes.
        if dp.as_ref().is_none_or(|dp| dp.is_leader()) {
            let mut probe = ProbeModel::new(&bert_config, data.tokenizer.clone(), device);
            probe.refresh(&vs);
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(probe);
        }
        let mixed = crate::device::setup_precision(device, config.train.precision);
        if let Some(before) = resumed.as_ref().and_then(|s| s.precision.as_deref()) {
            if before != mixed.describe() {
                let _ = events.send(Event::Warning {
                    message: format!(
                        "the session trained in {before} and continues in {} (train.precision = {} on this machine): it goes on, but not bit-exactly as it would have; --set train.precision=... picks one",
                        mixed.describe(),
                        config.train.precision
                    ),
                });
            }
        }
        Self {
            config,
            session,
            data,
            vs,
            model,
            opt,
            device,
            commands,
            events,
            slot,
            step: 0,
            epoch: 0,
            total_steps: 0,
            paused: false,
            pending: Vec::new(),
            last_eval: None,
            onset: None,
            last_snapshot: Instant::now(),
            start,
            elapsed_before: 0.0,
            examples_done: 0,
            steps_in_epoch: 0,
            resume_cursor: None,
            resumed_pairs: None,
            last_checkpoint: None,
            checkpoint_rows: None,
            records,
            mixed,
            interactive,
            loaded: !matches!(from, Start::Fresh),
            first_step: 0,
            watched: Vec::new(),
            failure: None,
            paused_for: std::time::Duration::ZERO,
            dp,
            reducer: None,
            config_sent: String::new(),
            config_version: 0,
            evals_run: 0,
        }
        .shared(resumed, from)
    }

    /// With other ranks: shares rank 0's run, weights and moments with them (see
    /// [`Trainer::share_start`]); then takes up the checkpoint's position.
    fn shared(mut self, mut resumed: Option<CheckpointState>, from: Start) -> Result<Self> {
        self.share_start(&mut resumed)?;
        if let Some(state) = &resumed {
            let (then, now) = (state.world_size, self.world_size());
            if then != now && state.examples_done() > 0 {
                let _ = self.events.send(Event::Warning {
                    message: format!(
                        "this checkpoint was trained by {then} process(es), the run goes on with {now}: the rest of epoch {} is re-sharded (each remaining example once; the global batch is now {} x {now})",
                        state.epoch + 1,
                        self.config.train.batch_size
                    ),
                });
            }
        }
        Ok(self.resumed_from(resumed, from))
    }

    /// Picks up the position of a checkpoint and logs the changes made for the resume.
    pub(super) fn resumed_from(mut self, state: Option<CheckpointState>, from: Start) -> Self {
        if let Some(state) = state {
            self.step = state.step;
            self.first_step = state.step;
            self.epoch = state.epoch;
            let examples_done = state.examples_done();
            self.pending = state.pending;
            self.elapsed_before = state.elapsed_s;
            self.resume_cursor = Some((examples_done, state.steps_in_epoch));
            self.last_checkpoint = Some(state.step);
            self.checkpoint_rows = Some(state.rows);
            let tokenizer = &self.data.tokenizer;
            let mut then = pair_config(&state.config, tokenizer);
            if let Some((max_seq_len, short_seq_prob)) = state.epoch_pairs {
                (then.max_seq_len, then.short_seq_prob) = (max_seq_len, short_seq_prob);
            }
            let now = pair_config(&self.config, tokenizer);
            if examples_done > 0 && then != now {
                let _ = self.events.send(Event::Warning {
                    message: format!(
                        "data.max_seq_len / data.short_seq_prob apply from epoch {}: epoch {} resumes mid-way with the examples it began with ({} / {})",
                        state.epoch + 2,
                        state.epoch + 1,
                        then.max_seq_len,
                        then.short_seq_prob
                    ),
                });
                self.resumed_pairs = Some((state.epoch, then));
            }
        }
        if let Start::Checkpoint {
            changes, source, ..
        } = from
        {
            for (key, value) in changes {
                self.record_change(&key, &value, source);
            }
        }
        self
    }

    pub(super) fn started(&mut self) -> Result<()> {
        let epoch_examples = self.epoch_examples(self.epoch);
        let examples = epoch_examples.len();
        let is_next = is_next_share(&epoch_examples);
        let steps = self.steps_in(examples);
        let skip = self.resume_cursor.map_or(0, |c| c.0);
        self.plan_total(self.steps_in(examples.saturating_sub(skip)), steps);
        let dims = self.config.dims()?;
        let s = &self.data.stats;
        let info = StartInfo {
            session: self.session.name.clone(),
            world_size: self.world_size(),
            session_dir: self.session.dir.clone(),
            config: self.config.clone(),
            layers: dims.layers,
            hidden: dims.hidden,
            heads: dims.heads,
            intermediate: dims.intermediate,
            parameters: self.model.config.parameter_count(),
            device: crate::device::describe(self.device),
            precision: self.mixed.describe().to_string(),
            corpus: s.corpus.clone(),
            documents: s.documents,
            train_documents: self.data.train.num_documents(),
            heldout_documents: self.data.heldout.num_documents(),
            sentences: s.sentences,
            tokens: s.tokens,
            vocab_size: self.data.tokenizer.vocab_size(),
            unk_rate: s.unk_rate,
            train_examples: examples,
            heldout_examples: s.heldout_examples,
            heldout_random_next: s.heldout_random_next,
            no_context_mlm_loss: s.no_context_mlm_loss,
            heldout_tokens_per_word: s.heldout_tokens_per_word,
            steps_per_epoch: steps,
            total_steps: self.total_steps,
            prepare_seconds: s.seconds,
            corpus_cached: s.cached,
        };
        self.emit(Event::Started(Box::new(info)));
        if self.config.model.nsp {
            if let Some(message) = nsp_balance_warning(is_next) {
                self.emit(Event::Warning { message });
            }
        }
        if self.step > 0 {
            let history = crate::records::read_history(&self.session);
            let floor = self.data.stats.no_context_mlm_loss;
            self.onset = context_onset(&history.evals, floor).map(|e| e.step);
            self.emit(Event::History(Box::new(history)));
        }
        self.downstream_started()?;
        let watch = self.config.train.watch.clone();
        if !watch.is_empty() {
            self.set_watched(&watch);
        }
        Ok(())
    }
}

/// Below this share of IsNext examples NSP mostly learns the label's prior.
const MIN_IS_NEXT: f64 = 0.4;

/// A warning when NSP's labels cannot be balanced: documents of one sentence too short
/// to split (a word or two, as in many tweets) only make random-B examples.
fn nsp_balance_warning(is_next: f64) -> Option<String> {
    (is_next < MIN_IS_NEXT).then(|| {
        format!(
            "only {:.0}% of the training examples are IsNext pairs (not 50%): documents of one sentence too short to split can only be paired with a random B, so NSP learns little beyond always answering \"random\"; consider --set model.nsp=false",
            is_next * 100.0
        )
    })
}
