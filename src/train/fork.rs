//! Forking: a new session that starts from one checkpoint of another, with the same
//! weights, AdamW moments, data cursor, tokenizer, held-out split and records up to
//! that step, and its lineage (parent and step) recorded.

use std::path::Path;

use anyhow::{bail, Context, Result};

use super::checkpoint::{list, note_heldout, publish_weights, verify, CheckpointState, Unusable};
use crate::records::Records;
use crate::session::{Lineage, Session, CHECKPOINTS_DIR, LOCK_FILE, WEIGHTS_FILE};

/// Files of a session folder that a fork does not take: the lock, the checkpoints
/// (only the one forked from is copied), the latest weights (made from that
/// checkpoint), the log of the parent's process, the parent's own lineage and its
/// report (charts of the parent's run).
const NOT_COPIED: &[&str] = &[
    LOCK_FILE,
    CHECKPOINTS_DIR,
    WEIGHTS_FILE,
    "stderr.log",
    crate::session::LINEAGE_FILE,
    crate::session::REPORT_DIR,
];

/// What a fork was made from.
#[derive(Debug, Clone, PartialEq)]
pub struct Forked {
    pub session: Session,
    pub lineage: Lineage,
}

/// Makes session `new_name` from `parent`'s checkpoint at step `at` (its newest
/// complete checkpoint when `None`). `sets`: the changes the fork will start with,
/// recorded in its lineage (they are applied by the resume that trains it).
///
/// The new session is locked while it is made (the returned one holds the lock) and
/// removed again when anything fails, so a fork is either complete or absent. The
/// checkpoint's files are hard-linked where the file system allows, else copied.
///
/// Errors: `new_name` taken or bad, no checkpoint at `at` (the message lists the
/// steps there are), a damaged checkpoint, a full disk.
pub fn fork(parent: &Session, at: Option<u64>, new_name: &str, sets: &[String]) -> Result<Forked> {
    if parent.name == new_name {
        bail!("a fork needs a new name: `{new_name}` is the session forked from");
    }
    let (checkpoint, state) = pick_checkpoint(parent, at)?;
    let session = Session::create(Some(new_name), state.config.model.preset.name())?;
    let lineage = Lineage {
        parent: parent.name.clone(),
        step: state.step,
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        sets: sets.to_vec(),
    };
    match fill(parent, &checkpoint, &state, &session, &lineage) {
        Ok(()) => Ok(Forked { session, lineage }),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&session.dir);
            Err(e.context(format!(
                "forking `{}` as `{new_name}` failed; nothing was kept",
                parent.name
            )))
        }
    }
}

/// The checkpoint at step `at` (or the newest good one), verified.
fn pick_checkpoint(
    parent: &Session,
    at: Option<u64>,
) -> Result<(std::path::PathBuf, CheckpointState)> {
    let found = list(&parent.path(CHECKPOINTS_DIR));
    let steps = || {
        let s: Vec<String> = found.iter().map(|(s, _)| s.to_string()).collect();
        if s.is_empty() {
            "none".to_string()
        } else {
            s.join(", ")
        }
    };
    let Some(at) = at else {
        let (good, _) = super::checkpoint::latest_good(parent)?;
        return good.with_context(|| {
            format!(
                "session `{}` has no complete checkpoint to fork from; train it first",
                parent.name
            )
        });
    };
    let Some((_, dir)) = found.iter().find(|(s, _)| *s == at) else {
        bail!(
            "session `{}` has no checkpoint at step {at}; its checkpoints are at steps: {}",
            parent.name,
            steps()
        );
    };
    match verify(dir) {
        Ok(state) => Ok((dir.clone(), state)),
        Err(Unusable::Damaged(e) | Unusable::Newer(e)) => Err(e.context(format!(
            "the checkpoint at step {at} of `{}` cannot be forked; its checkpoints are at steps: {}",
            parent.name,
            steps()
        ))),
    }
}

fn fill(
    parent: &Session,
    checkpoint: &Path,
    state: &CheckpointState,
    session: &Session,
    lineage: &Lineage,
) -> Result<()> {
    for entry in std::fs::read_dir(&parent.dir)
        .with_context(|| format!("cannot read {}", parent.dir.display()))?
    {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if NOT_COPIED.contains(&name.as_ref()) || name.starts_with(".tmp-") {
            continue;
        }
        // Copied, never linked: the CSV and TensorBoard files grow by appends.
        copy_tree(&entry.path(), &session.path(&name), false)?;
    }
    // The config of the step forked from, not the parent's latest.
    session.save_config(&state.config)?;
    // The records as they stood at the checkpoint: rows after it are cut, and a
    // TensorBoard reader drops the parent's points after it.
    Records::open(session, Some((state.step, state.rows)))?.sync()?;
    lineage.write(session)?;
    let root = session.path(CHECKPOINTS_DIR);
    std::fs::create_dir_all(&root)?;
    let name = checkpoint.file_name().context("checkpoint folder name")?;
    let partial = root.join(format!("{}.partial", name.to_string_lossy()));
    copy_tree(checkpoint, &partial, true)?;
    let dest = root.join(name);
    std::fs::rename(&partial, &dest).with_context(|| format!("cannot write {}", dest.display()))?;
    publish_weights(&dest, session)?;
    if let Some(loss) = state.heldout_mlm_loss {
        note_heldout(session, state.step, loss)?;
    }
    Ok(())
}

/// Copies `from` (a file, or a folder recursively) to `to`; with `link`, hard-links
/// the files instead where the file system allows (for files that are only ever
/// replaced by rename, like a checkpoint's).
fn copy_tree(from: &Path, to: &Path, link: bool) -> Result<()> {
    if from.is_dir() {
        std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            copy_tree(&entry.path(), &to.join(entry.file_name()), link)?;
        }
        return Ok(());
    }
    if !(link && std::fs::hard_link(from, to).is_ok()) {
        std::fs::copy(from, to)
            .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    }
    Ok(())
}
