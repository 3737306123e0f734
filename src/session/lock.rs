//! One writer per session: an exclusive OS file lock on `<session>/.lock`.
//!
//! The lock is `flock(2)` through [`std::fs::File::try_lock`], so the kernel releases
//! it when its process ends, however it ends (`kill -9` included): nothing goes stale.
//! The file's text names the holder (pid and command line) for the refusal message;
//! it is informative only, the lock itself is what counts.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::terminal_text::escape;

/// The lock file inside a session folder.
pub const LOCK_FILE: &str = ".lock";

/// Held while a process may write to a session; dropping it (or the process ending)
/// releases the session.
#[derive(Debug)]
pub struct SessionLock {
    _file: File,
}

impl SessionLock {
    /// Takes `dir`'s lock without waiting.
    ///
    /// Errors: the session is held by another process (the message names it and how to
    /// stop it), or the file system cannot lock files.
    pub fn acquire(dir: &Path, name: &str) -> Result<Self> {
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open the session lock {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                bail!("{}", in_use_message(name, &text));
            }
            Err(TryLockError::Error(e)) => bail!(
                "cannot lock session `{name}` ({}: {e}); keep sessions on a local file system or set BERTWORK_HOME to one",
                path.display()
            ),
        }
        // Best effort: a holder that cannot say who it is still holds the lock.
        let _ = file.set_len(0).and_then(|_| {
            file.rewind()?;
            file.write_all(holder_text().as_bytes())
        });
        Ok(Self { _file: file })
    }
}

/// `pid 1234: bertwork resume s`, this process's entry in the lock file.
fn holder_text() -> String {
    let args: Vec<String> = std::env::args().collect();
    let command = args
        .iter()
        .map(|a| escape(a).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    format!("pid {}: {command}\n", std::process::id())
}

/// The refusal, from what the holder wrote (which may be empty while it is writing).
fn in_use_message(name: &str, holder: &str) -> String {
    let holder = holder.lines().next().unwrap_or("").trim();
    let pid = holder
        .strip_prefix("pid ")
        .and_then(|r| r.split(':').next())
        .filter(|p| p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty());
    match pid {
        Some(pid) => format!(
            "session `{name}` is in use by process {pid} ({}); wait for it to finish, or stop it with `kill -TERM {pid}` (it saves first), then try again",
            escape(
                holder.split_once(": ").map_or("", |(_, c)| c)
            )
        ),
        None => format!(
            "session `{name}` is in use by another process; wait for it to finish, or stop it, then try again"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = SessionLock::acquire(dir.path(), "s").unwrap();
        let err = SessionLock::acquire(dir.path(), "s")
            .unwrap_err()
            .to_string();
        let pid = std::process::id().to_string();
        assert!(
            err.contains("session `s` is in use by process")
                && err.contains(&format!("kill -TERM {pid}")),
            "{err}"
        );
        drop(first);
        SessionLock::acquire(dir.path(), "s").unwrap();
    }

    #[test]
    fn the_message_survives_an_empty_or_hostile_holder_text() {
        assert!(in_use_message("s", "").contains("in use by another process"));
        let m = in_use_message("s", "pid 42: bertwork resume \u{1b}[2J s\n");
        assert!(m.contains("process 42 (bertwork resume \\x1b[2J s)"), "{m}");
        assert!(!m.contains('\u{1b}'));
    }
}
