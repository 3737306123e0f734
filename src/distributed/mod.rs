//! Data-parallel training on torch.distributed (libtorch's c10d with the Gloo
//! backend): how ranks meet ([`rendezvous`]), the process group ([`process_group`])
//! and `--nproc` on one machine ([`launch`]). What rank 0 tells the others is
//! `crate::train::run_spec`; the entry point of ranks > 0 is `crate::commands::worker`.
//! Nothing here knows the trainer.
//!
//! Rank 0 owns the session (records, checkpoints, probes, the workbench); every rank
//! trains a disjoint shard of each global batch, and gradients are averaged across
//! ranks before clipping, as in PyTorch's DistributedDataParallel.

pub mod launch;
pub mod process_group;
pub mod reducer;
pub mod rendezvous;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, Result};

pub use launch::LocalWorkers;
pub use process_group::ProcessGroup;
pub use reducer::Reducer;
pub use rendezvous::Rendezvous;

/// A trainer's link to the other ranks.
pub struct DataParallel {
    pub group: ProcessGroup,
    pub rendezvous: Rendezvous,
    /// The ranks this process started (`--nproc`), to name one that exited.
    pub local_workers: Option<Arc<Mutex<LocalWorkers>>>,
}

impl DataParallel {
    /// Joins the process group `rdv` describes and checks that its collectives add up.
    ///
    /// Errors: the rendezvous failed or timed out, or the start-up all-reduce was wrong.
    pub fn join(rdv: Rendezvous, local_workers: Option<LocalWorkers>) -> Result<Self> {
        let local_workers = local_workers.map(|w| Arc::new(Mutex::new(w)));
        let group = match ProcessGroup::connect(&rdv, rdv.timeout) {
            Ok(g) => g,
            Err(e) => {
                let named = local_workers
                    .as_ref()
                    .and_then(|w| lock(w).failed_ranks(Duration::from_millis(500)));
                return Err(match named {
                    Some(who) => anyhow!("{who}: {e:#}"),
                    None => e,
                });
            }
        };
        let dp = Self {
            group,
            rendezvous: rdv,
            local_workers,
        };
        dp.group.self_check().map_err(|e| dp.failure(e, 0))?;
        Ok(dp)
    }

    /// Rank 0, which owns the session.
    pub fn is_leader(&self) -> bool {
        self.group.rank == 0
    }

    pub fn rank(&self) -> usize {
        self.group.rank
    }

    pub fn world_size(&self) -> usize {
        self.group.world_size
    }

    /// Records that this rank reached optimizer step `step`, so that a timeout can
    /// name the ranks that fell behind.
    pub fn heartbeat(&self, step: u64) -> Result<()> {
        self.group.store_set(
            &format!("alive/{}", self.rank()),
            step.to_string().as_bytes(),
        )
    }

    /// `e`, from a collective during optimizer step `step` (1-based; 0 at the start),
    /// with the ranks that caused it when they can be told: a local worker that
    /// exited, or ranks whose heartbeat stopped before `step`.
    pub fn failure(&self, e: anyhow::Error, step: u64) -> anyhow::Error {
        let me = self.rank();
        let done = step.saturating_sub(1);
        if let Some(workers) = &self.local_workers {
            if let Some(who) = lock(workers).failed_ranks(Duration::from_secs(2)) {
                return anyhow!("{who}; training stopped after step {done} ({e:#})");
            }
        }
        let quick = Duration::from_millis(500);
        let mut behind = Vec::new();
        for rank in (0..self.world_size()).filter(|&r| r != me) {
            match self.group.store_get(&format!("alive/{rank}"), quick) {
                Ok(bytes) => {
                    let last: u64 = String::from_utf8_lossy(&bytes).parse().unwrap_or(0);
                    if last < step {
                        behind.push(format!("rank {rank} (last at step {last})"));
                    }
                }
                Err(_) if rank == 0 && !self.rendezvous.agent_store => {
                    return anyhow!("rank {me}: rank 0 is gone (its store no longer answers); training stopped after step {done} ({e:#})");
                }
                Err(_) => behind.push(format!("rank {rank} (no heartbeat)")),
            }
        }
        let timeout = self.group.timeout.as_secs_f64();
        let text = format!("{e:#}");
        let timed_out = text.contains("Timed out") || text.contains("timed out");
        match (behind.is_empty(), timed_out) {
            (true, _) => anyhow!(
                "rank {me}: a collective failed during step {step}; training stopped after step {done}: {text}"
            ),
            (false, true) => anyhow!(
                "{} did not answer within {timeout:.0} s during step {step}: training stopped after step {done} ({text})",
                behind.join(", ")
            ),
            (false, false) => anyhow!(
                "{} dropped out (its connection closed) during step {step}: training stopped after step {done} ({text})",
                behind.join(", ")
            ),
        }
    }
}

/// Rank 0's side of a data-parallel run, or None for one process: with `nproc`
/// (`--nproc N`, N > 1) it starts ranks 1..N on this machine; else it follows
/// torchrun's variables, if set.
///
/// Errors: bad variables, `--nproc` under torchrun, a failed rendezvous.
pub fn join_as_rank0(nproc: Option<usize>) -> Result<Option<DataParallel>> {
    let (rdv, workers) = match nproc {
        Some(1) => return Ok(None),
        Some(n) => {
            let (rdv, workers) = launch::spawn_local(n)?;
            (rdv, Some(workers))
        }
        None => match Rendezvous::from_env()? {
            Some(rdv) => (rdv, None),
            None => return Ok(None),
        },
    };
    anyhow::ensure!(rdv.rank == 0, "rank {} cannot own a session", rdv.rank);
    DataParallel::join(rdv, workers).map(Some)
}

fn lock(w: &Mutex<LocalWorkers>) -> std::sync::MutexGuard<'_, LocalWorkers> {
    w.lock().unwrap_or_else(|p| p.into_inner())
}
