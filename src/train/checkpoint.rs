//! Checkpoints: `checkpoints/step-N/` folders holding the weights, AdamW's moments and
//! `state.json` (where training stood, the effective config, the queued changes and a
//! CRC-32C of every file). A folder is written as `step-N.partial` and renamed when
//! complete, so a checkpoint is either whole or absent. The newest `keep` are kept,
//! plus the best by held-out MLM loss (`best.json` names it).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use tch::nn::VarStore;

use super::optimizer::AdamW;
use crate::config::Config;
use crate::protocol::Hyper;
use crate::session::{write_atomic, write_atomic_with, Session, CHECKPOINTS_DIR, WEIGHTS_FILE};

/// Bumped when the checkpoint layout changes incompatibly.
pub const FORMAT: u32 = 1;
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";
pub const STATE_FILE: &str = "state.json";
const BEST_FILE: &str = "best.json";

/// Where training stood when a checkpoint was written: enough to continue exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointState {
    pub format: u32,
    /// Optimizer steps taken.
    pub step: u64,
    /// The epoch in progress (0-based).
    pub epoch: usize,
    /// Batches of `epoch` already trained on, at the batch size of the time (kept for
    /// checkpoints written before `examples_done`).
    #[serde(default)]
    pub batches_done: usize,
    /// Examples of `epoch` already trained on: the data cursor, which stays right when
    /// the batch size changes between stops.
    #[serde(default)]
    pub examples_done: Option<usize>,
    /// Optimizer steps taken in `epoch`.
    #[serde(default)]
    pub steps_in_epoch: u64,
    /// `data.max_seq_len` and `data.short_seq_prob` the epoch in progress was built with
    /// (a resume mid-epoch rebuilds it with them, whatever the config says now).
    #[serde(default)]
    pub epoch_pairs: Option<(usize, f64)>,
    /// Training time so far, carried over by a resume.
    #[serde(default)]
    pub elapsed_s: f64,
    /// The configuration in effect (changes applied so far included).
    pub config: Config,
    /// Changes queued for the next epoch boundary.
    #[serde(default)]
    pub pending: Vec<Hyper>,
    /// Rows of `metrics.csv` and `changes.csv` written up to this checkpoint.
    #[serde(default)]
    pub rows: crate::records::RowCounts,
    /// Held-out MLM loss evaluated at this step, if one was.
    #[serde(default)]
    pub heldout_mlm_loss: Option<f64>,
    /// Processes that trained it (torch.distributed's world size; 1 for older
    /// checkpoints). A resume with another world size re-shards the rest of the epoch:
    /// the data cursor counts examples, and masks depend only on the example.
    #[serde(default = "one")]
    pub world_size: usize,
    /// The precision the steps ran in (`fp32`, `bf16 autocast`, ...; None for older
    /// checkpoints): a resume in another one is not bit-exact and says so.
    #[serde(default)]
    pub precision: Option<String>,
    /// CRC-32C of each file in the folder, checked before a resume trusts it.
    #[serde(default)]
    pub crc32c: Vec<(String, u32)>,
}

fn one() -> usize {
    1
}

impl CheckpointState {
    /// Examples of the current epoch already trained on; older checkpoints count batches
    /// of `config.train.batch_size` (constant within an epoch).
    pub fn examples_done(&self) -> usize {
        self.examples_done
            .unwrap_or(self.batches_done * self.config.train.batch_size)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Best {
    step: u64,
    heldout_mlm_loss: f64,
}

/// Saves the weights atomically to `path` (safetensors, HF key names).
pub fn save_weights(vs: &VarStore, path: &Path) -> Result<()> {
    write_atomic_with(path, |tmp| vs.save(tmp).map_err(std::io::Error::other))
}

/// Makes `checkpoint`'s weights the session's latest `model.safetensors` without
/// writing them again: a hard link renamed into place (atomic), or a copy where the
/// file system has no hard links.
pub fn publish_weights(checkpoint: &Path, session: &Session) -> Result<()> {
    let from = checkpoint.join(WEIGHTS_FILE);
    let to = session.path(WEIGHTS_FILE);
    let tmp = session.path(&format!(".tmp-{}-link-{WEIGHTS_FILE}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    if std::fs::hard_link(&from, &tmp).is_err() {
        std::fs::copy(&from, &tmp).with_context(|| format!("cannot copy {}", from.display()))?;
    }
    std::fs::rename(&tmp, &to).with_context(|| format!("cannot write {}", to.display()))?;
    sync_dir(&session.dir);
    Ok(())
}

fn step_dir_name(step: u64) -> String {
    format!("step-{step:08}")
}

fn file_crc(path: &Path) -> Result<u32> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(crc32c::crc32c(&bytes))
}

/// Writes `checkpoints/step-<step>/`, records it as the best if its held-out loss is
/// the lowest so far, and prunes to the newest `keep` (plus the best).
pub fn save_checkpoint(
    vs: &VarStore,
    opt: &AdamW,
    session: &Session,
    state: &CheckpointState,
    keep: usize,
) -> Result<PathBuf> {
    let root = session.path(CHECKPOINTS_DIR);
    let name = step_dir_name(state.step);
    let partial = root.join(format!("{name}.partial"));
    if partial.exists() {
        std::fs::remove_dir_all(&partial)?;
    }
    let written = (|| {
        std::fs::create_dir_all(&partial)
            .with_context(|| format!("cannot create {}", partial.display()))?;
        save_weights(vs, &partial.join(WEIGHTS_FILE))?;
        let opt_path = partial.join(OPTIMIZER_FILE);
        write_atomic_with(&opt_path, |tmp| {
            opt.save(tmp).map_err(std::io::Error::other)
        })?;
        let mut state = state.clone();
        state.crc32c = [WEIGHTS_FILE, OPTIMIZER_FILE]
            .iter()
            .map(|f| Ok((f.to_string(), file_crc(&partial.join(f))?)))
            .collect::<Result<_>>()?;
        write_atomic(
            &partial.join(STATE_FILE),
            &serde_json::to_vec_pretty(&state)?,
        )?;
        Ok(state)
    })();
    let state = match written {
        Ok(state) => state,
        Err(e) => {
            // A half-written folder is of no use, and it holds space a full disk needs.
            let _ = std::fs::remove_dir_all(&partial);
            return Err(e);
        }
    };
    let dir = root.join(&name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?; // saved twice at one step: the newer wins
    }
    std::fs::rename(&partial, &dir).with_context(|| format!("cannot write {}", dir.display()))?;
    sync_dir(&root);
    if let Some(loss) = state.heldout_mlm_loss {
        note_heldout(session, state.step, loss)?;
    }
    prune(&root, keep)?;
    Ok(dir)
}

/// Records the held-out MLM loss of the checkpoint of `step` in `best.json` when it is
/// the lowest so far (also for an evaluation made after the checkpoint was written, at
/// the same step, as at the end of a run).
pub fn note_heldout(session: &Session, step: u64, loss: f64) -> Result<()> {
    let root = session.path(CHECKPOINTS_DIR);
    if !root.join(step_dir_name(step)).exists() {
        return Ok(());
    }
    let best = read_best(&root);
    if best.is_none_or(|b| loss < b.heldout_mlm_loss) {
        let record = Best {
            step,
            heldout_mlm_loss: loss,
        };
        write_atomic(&root.join(BEST_FILE), &serde_json::to_vec_pretty(&record)?)?;
    }
    Ok(())
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

fn read_best(root: &Path) -> Option<Best> {
    let bytes = std::fs::read(root.join(BEST_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The step of the best checkpoint (lowest held-out MLM loss) and its loss.
pub fn best(session: &Session) -> Option<(u64, f64)> {
    read_best(&session.path(CHECKPOINTS_DIR)).map(|b| (b.step, b.heldout_mlm_loss))
}

/// Complete checkpoint folders, oldest first, with their steps.
pub fn list(root: &Path) -> Vec<(u64, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut dirs: Vec<(u64, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let step = name.strip_prefix("step-")?.parse().ok()?;
            Some((step, e.path()))
        })
        .collect();
    dirs.sort();
    dirs
}

fn prune(root: &Path, keep: usize) -> Result<()> {
    let best = read_best(root).map(|b| b.step);
    let dirs = list(root);
    let excess = dirs.len().saturating_sub(keep.max(1));
    for (step, old) in &dirs[..excess] {
        if Some(*step) == best {
            continue;
        }
        std::fs::remove_dir_all(old).with_context(|| format!("cannot remove {}", old.display()))?;
    }
    // Leftovers of a write that was interrupted.
    if let Ok(entries) = std::fs::read_dir(root) {
        for e in entries.filter_map(|e| e.ok()) {
            if e.file_name().to_string_lossy().ends_with(".partial") {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    Ok(())
}

/// Why a checkpoint cannot be used.
#[derive(Debug)]
pub enum Unusable {
    /// Missing, torn or corrupt: an older checkpoint may stand in.
    Damaged(anyhow::Error),
    /// Written by a newer bertwork: using an older one would silently lose work.
    Newer(anyhow::Error),
}

/// Reads and checks one checkpoint folder: state, format, and the files' CRCs.
pub fn verify(dir: &Path) -> std::result::Result<CheckpointState, Unusable> {
    let path = dir.join(STATE_FILE);
    let damaged = |e: anyhow::Error| Unusable::Damaged(e);
    let bytes = std::fs::read(&path)
        .with_context(|| format!("{} is missing", path.display()))
        .map_err(damaged)?;
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not valid JSON", path.display()))
        .map_err(damaged)?;
    let format = value.get("format").and_then(|f| f.as_u64()).unwrap_or(0);
    if format > u64::from(FORMAT) {
        return Err(Unusable::Newer(anyhow::anyhow!(
            "{} was written by a newer bertwork (checkpoint format {format} > {FORMAT}); upgrade bertwork to resume it",
            dir.display()
        )));
    }
    // Valid JSON that does not fit: fields this version does not know.
    let state: CheckpointState = serde_json::from_value(value).map_err(|e| {
        Unusable::Newer(anyhow::anyhow!(
            "{} does not fit this bertwork ({e}); was it written by a newer version? Upgrade bertwork to resume it",
            path.display()
        ))
    })?;
    if state.crc32c.is_empty() {
        return Err(damaged(anyhow::anyhow!(
            "{} lists no file checksums",
            path.display()
        )));
    }
    for (file, expected) in &state.crc32c {
        let got = file_crc(&dir.join(file)).map_err(damaged)?;
        if got != *expected {
            return Err(damaged(anyhow::anyhow!(
                "{} is damaged (checksum mismatch)",
                dir.join(file).display()
            )));
        }
    }
    Ok(state)
}

/// Checkpoint folders found and messages about the ones skipped.
pub type Found = (Option<(PathBuf, CheckpointState)>, Vec<String>);

/// The newest checkpoint that verifies, with a message for each damaged newer one; an
/// error when the newest usable-looking one comes from a newer bertwork.
pub fn latest_good(session: &Session) -> Result<Found> {
    let mut skipped = Vec::new();
    for (_, dir) in list(&session.path(CHECKPOINTS_DIR)).into_iter().rev() {
        match verify(&dir) {
            Ok(state) => return Ok((Some((dir, state)), skipped)),
            Err(Unusable::Newer(e)) => return Err(e),
            Err(Unusable::Damaged(e)) => skipped.push(format!(
                "checkpoint {} is unusable ({e:#}); falling back to the one before",
                dir.display()
            )),
        }
    }
    Ok((None, skipped))
}
