//! Writing weights into the session: `model.safetensors` (latest) and
//! `checkpoints/step-N/` folders, of which the last `keep` are kept.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use tch::nn::VarStore;

use crate::session::{write_atomic, write_atomic_with, Session, CHECKPOINTS_DIR, WEIGHTS_FILE};

/// Where training stood when a checkpoint was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointState {
    pub step: u64,
    pub epoch: usize,
}

/// Saves the weights atomically to `path` (safetensors, HF key names).
pub fn save_weights(vs: &VarStore, path: &Path) -> Result<()> {
    write_atomic_with(path, |tmp| vs.save(tmp).map_err(std::io::Error::other))
}

/// Writes `checkpoints/step-<step>/` (weights, then state.json last, so a folder with a
/// state file is complete) and prunes to the newest `keep`.
pub fn save_checkpoint(
    vs: &VarStore,
    session: &Session,
    state: &CheckpointState,
    keep: usize,
) -> Result<PathBuf> {
    let root = session.path(CHECKPOINTS_DIR);
    let dir = root.join(format!("step-{:08}", state.step));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    save_weights(vs, &dir.join(WEIGHTS_FILE))?;
    let json = serde_json::to_vec_pretty(state)?;
    write_atomic(&dir.join("state.json"), &json)?;
    prune(&root, keep)?;
    Ok(dir)
}

fn prune(root: &Path, keep: usize) -> Result<()> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("step-"))
        })
        .collect();
    dirs.sort();
    let excess = dirs.len().saturating_sub(keep);
    for old in &dirs[..excess] {
        std::fs::remove_dir_all(old).with_context(|| format!("cannot remove {}", old.display()))?;
    }
    Ok(())
}
