//! The trainer thread: prepares data, builds the model, runs the optimisation loop and
//! talks to front ends only through [`crate::protocol`] messages.

pub mod checkpoint;
pub mod eval;
pub mod fork;
pub mod memory;
pub mod metrics;
pub mod multi_tensor;
pub mod non_finite;
pub mod optimizer;
pub mod prepare;
mod probe_worker;
pub mod run_spec;
mod runner;

pub mod step;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crossbeam_channel::{bounded, select, unbounded, Receiver, Sender};

use crate::config::Config;
use crate::protocol::{Command, Event};
use crate::session::Session;
use checkpoint::CheckpointState;

/// What a run needs: the resolved config, the session folder it writes to and where
/// it starts from.
pub struct TrainSetup {
    pub config: Config,
    pub session: Session,
    pub start: Start,
    /// A person can answer (the workbench): a recoverable non-finite step pauses for a
    /// lower learning rate instead of ending the run as failed.
    pub interactive: bool,
    /// The other ranks of a data-parallel run (torch.distributed); None for one
    /// process.
    pub data_parallel: Option<crate::distributed::DataParallel>,
}

impl TrainSetup {
    /// A new run from freshly initialised weights.
    pub fn fresh(config: Config, session: Session) -> Self {
        Self {
            config,
            session,
            start: Start::Fresh,
            interactive: false,
            data_parallel: None,
        }
    }
}

/// Where the weights and the position in the data come from.
#[derive(Debug, Clone)]
pub enum Start {
    /// Random initialisation, step 0.
    Fresh,
    /// Continue exactly from a verified checkpoint. `changes`: config keys the user
    /// changed for the resume (logged like any other change).
    Checkpoint {
        dir: PathBuf,
        state: Box<CheckpointState>,
        changes: Vec<(String, String)>,
        /// Where `changes` came from, as `changes.csv` records it.
        source: crate::records::ChangeSource,
    },
    /// Step 0 from saved weights (an imported model), fresh optimizer.
    Weights(PathBuf),
    /// A data-parallel rank > 0: weights and AdamW moments are broadcast from rank 0,
    /// the position is rank 0's checkpoint `state` (None: a fresh run).
    FromRank0 { state: Option<Box<CheckpointState>> },
}

/// The front end's side of a running trainer.
pub struct TrainerHandle {
    pub commands: Sender<Command>,
    pub events: Receiver<Event>,
    threads: Vec<JoinHandle<()>>,
}

impl TrainerHandle {
    /// Starts the trainer, its probe thread and the command router.
    pub fn spawn(setup: TrainSetup) -> Self {
        let (cmd_tx, cmd_rx) = unbounded::<Command>();
        let (ev_tx, ev_rx) = unbounded::<Event>();
        let (train_tx, train_rx) = unbounded::<Command>();
        let (probe_tx, probe_rx) = unbounded();
        let slot: probe_worker::ProbeSlot = Arc::new(Mutex::new(None));
        // Dropped when the trainer thread ends, which ends the router and probe thread.
        let (alive_tx, alive_rx) = bounded::<()>(0);
        let mut threads = Vec::new();
        // Router: probes go to the probe thread so they never queue behind a step.
        threads.push(spawn("bertwork-router", move || loop {
            let sent = select! {
                recv(cmd_rx) -> cmd => match cmd {
                    Ok(Command::Probe(req)) => probe_tx.send(req).is_ok(),
                    Ok(other) => train_tx.send(other).is_ok(),
                    Err(_) => false,
                },
                recv(alive_rx) -> _ => false,
            };
            if !sent {
                break;
            }
        }));
        let (probe_slot, probe_events) = (slot.clone(), ev_tx.clone());
        threads.push(spawn("bertwork-probe", move || {
            probe_worker::run(probe_rx, probe_slot, probe_events)
        }));
        threads.push(spawn(memory::TRAINER_THREAD, move || {
            let _alive = alive_tx;
            runner::run(setup, train_rx, ev_tx, slot)
        }));
        Self {
            commands: cmd_tx,
            events: ev_rx,
            threads,
        }
    }

    /// Waits for every thread to end (they end after `Finished`).
    pub fn join(self) {
        for t in self.threads {
            let _ = t.join();
        }
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            // libtorch's warning handler is per thread.
            crate::device::quiet_libtorch_warnings();
            f()
        })
        .expect("spawning a thread")
}
