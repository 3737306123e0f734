//! What rank 0 tells the other ranks before training: the session's config, the
//! session files the data is built from, and the checkpoint position a resume
//! continues from. It travels through the process group's store as JSON (the files
//! under keys of their own).

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::checkpoint::CheckpointState;
use crate::config::Config;
use crate::distributed::ProcessGroup;

/// The session files another rank needs to build the same data as rank 0: the
/// tokenizer, the held-out recipe and the corpus fingerprint.
pub const SESSION_FILES: [&str; 3] = [
    crate::session::TOKENIZER_FILE,
    crate::data::heldout::HELDOUT_FILE,
    crate::corpus::fingerprint::CORPUS_FILE,
];

const SPEC_KEY: &str = "run";

/// How long the other ranks wait for rank 0 to prepare the data and send this: a
/// cold preparation of a large corpus takes minutes. A rank 0 that dies meanwhile
/// ends the wait at once (its store or torchrun goes with it).
pub const STARTUP_WAIT: Duration = Duration::from_secs(6 * 3600);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSpec {
    /// The session's name (for messages only: other ranks write nothing to it).
    pub session: String,
    pub config: Config,
    /// The session files present on rank 0 (of [`SESSION_FILES`]).
    pub files: Vec<String>,
    /// The checkpoint a resume continues from; weights and moments are broadcast.
    pub resume: Option<CheckpointState>,
    /// A person drives rank 0's workbench (see `TrainSetup::interactive`).
    pub interactive: bool,
}

impl RunSpec {
    /// Rank 0: publishes the spec and the files of `session_dir` it names.
    pub fn publish(&self, group: &ProcessGroup, session_dir: &Path) -> Result<()> {
        for name in &self.files {
            let bytes = std::fs::read(session_dir.join(name))
                .with_context(|| format!("cannot read {} to send it to the other ranks", name))?;
            group.store_set(&format!("file/{name}"), &bytes)?;
        }
        group.store_set(SPEC_KEY, &serde_json::to_vec(self)?)
    }

    /// Ranks > 0: waits for rank 0's spec and writes its files into `dir`.
    pub fn receive(group: &ProcessGroup, dir: &Path) -> Result<Self> {
        let bytes = group.store_get(SPEC_KEY, STARTUP_WAIT)?;
        let spec: Self =
            serde_json::from_slice(&bytes).context("rank 0 sent a run description this build cannot read: run the same bertwork on every rank")?;
        for name in &spec.files {
            anyhow::ensure!(
                SESSION_FILES.contains(&name.as_str()),
                "rank 0 sent an unexpected file {name:?}"
            );
            let bytes = group.store_get(&format!("file/{name}"), group.timeout)?;
            std::fs::write(dir.join(name), bytes)
                .with_context(|| format!("cannot write {}", dir.join(name).display()))?;
        }
        Ok(spec)
    }
}
