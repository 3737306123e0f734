//! Commands from the front end, handled between optimizer steps: pause and resume,
//! stop, checkpoints and hyperparameter changes.

use anyhow::Result;
use crossbeam_channel::{RecvTimeoutError, TryRecvError};

use super::data_parallel::KEEPALIVE;
use super::{Flow, Trainer};
use crate::protocol::{ApplyAt, Command, Event, Hyper};

impl Trainer {
    /// Handles queued commands; while paused, blocks until resumed or stopped (in a
    /// data-parallel run, for at most [`KEEPALIVE`], then says [`Flow::Wait`]). Ranks
    /// other than 0 have no front end: they follow rank 0 ([`Trainer::agree`]).
    pub(super) fn poll_commands(&mut self) -> Result<Flow> {
        if !self.owns_session() {
            return Ok(Flow::Continue);
        }
        loop {
            let cmd = if self.paused && self.dp.is_some() {
                match self.commands.recv_timeout(KEEPALIVE) {
                    Ok(c) => c,
                    Err(RecvTimeoutError::Timeout) => return Ok(Flow::Wait),
                    Err(RecvTimeoutError::Disconnected) => return Ok(Flow::Stop),
                }
            } else if self.paused {
                let blocked = std::time::Instant::now();
                let cmd = self.commands.recv();
                self.paused_for += blocked.elapsed();
                match cmd {
                    Ok(c) => c,
                    Err(_) => return Ok(Flow::Stop),
                }
            } else {
                match self.commands.try_recv() {
                    Ok(c) => c,
                    Err(TryRecvError::Empty) => return Ok(Flow::Continue),
                    Err(TryRecvError::Disconnected) => return Ok(Flow::Stop),
                }
            };
            match cmd {
                Command::Pause if !self.paused => {
                    self.paused = true;
                    self.emit(Event::Paused { step: self.step });
                }
                Command::Resume if self.paused => {
                    self.paused = false;
                    self.emit(Event::Resumed { step: self.step });
                }
                Command::Pause | Command::Resume => {}
                Command::Stop => return Ok(Flow::Stop),
                Command::SaveCheckpoint => self.checkpoint()?,
                Command::SetHyper(change) => self.set_hyper(change),
                Command::Probe(_) => {} // routed to the probe thread
                Command::Watch(entries) => self.change_watched(entries),
                Command::Fork => {
                    self.checkpoint()?;
                    self.fork_here();
                }
            }
        }
    }

    /// Forks the session at the checkpoint just written, as `<name>-fork-<step>` (with
    /// `-2`, `-3`, ... when taken); the run goes on here. A fork that cannot be made
    /// is a warning.
    fn fork_here(&mut self) {
        let base = format!("{}-fork-{}", self.session.name, self.step);
        let names = crate::session::list_names().unwrap_or_default();
        let name = (1..)
            .map(|n| {
                if n == 1 {
                    base.clone()
                } else {
                    format!("{base}-{n}")
                }
            })
            .find(|n| !names.contains(n))
            .expect("an unused name");
        match crate::train::fork::fork(&self.session, Some(self.step), &name, &[]) {
            Ok(forked) => self.emit(Event::Forked {
                name: forked.session.name.clone(),
                step: self.step,
                dir: forked.session.dir.clone(),
            }),
            Err(e) => self.emit(Event::Warning {
                message: format!("fork at step {} failed: {e:#}", self.step),
            }),
        }
    }

    fn set_hyper(&mut self, change: Hyper) {
        let mut trial = self.config.clone();
        change.apply_to(&mut trial);
        if let Err(e) = trial.validate() {
            self.emit(Event::Warning {
                message: format!("change refused: {e}"),
            });
            return;
        }
        match change.applies_at() {
            ApplyAt::NextStep => {
                self.config = trial;
                self.record_change(
                    change.key(),
                    &change.value_string(),
                    crate::records::ChangeSource::Command,
                );
                self.emit(Event::HyperApplied {
                    change,
                    step: self.step + 1,
                    epoch: self.epoch,
                });
            }
            ApplyAt::NextEpoch => {
                self.pending.retain(|p| p.key() != change.key());
                self.pending.push(change);
                self.emit(Event::HyperQueued {
                    change,
                    applies: ApplyAt::NextEpoch,
                });
            }
        }
    }

    pub(super) fn apply_pending(&mut self) {
        for change in std::mem::take(&mut self.pending) {
            change.apply_to(&mut self.config);
            self.record_change(
                change.key(),
                &change.value_string(),
                crate::records::ChangeSource::Command,
            );
            self.emit(Event::HyperApplied {
                change,
                step: self.step + 1,
                epoch: self.epoch,
            });
        }
    }
}
