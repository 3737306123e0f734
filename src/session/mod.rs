//! Session folders on disk: where they live, their names, and atomic writes.
//!
//! ```text
//! <home>/sessions/<name>/
//!   config.toml          resolved configuration
//!   vocab.txt            WordPiece vocabulary (line index = id)
//!   tokenizer.json       the same tokenizer for HF / `tokenizers`
//!   model.safetensors    latest weights (HF state-dict key names)
//!   checkpoints/step-N/  periodic checkpoints (the last `train.keep_checkpoints`)
//!   lineage.json         a fork's parent and step (`lineage.rs`)
//!   elastic.json         the torchrun job that created it (`elastic.rs`)
//!   .lock                held by the one process writing to the session (`lock.rs`)
//! ```

pub mod disk;
pub mod elastic;
pub mod finetune_state;
mod lineage;
mod lock;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};

use crate::config::Config;

pub use lineage::{Lineage, LINEAGE_FILE};
pub use lock::{SessionLock, LOCK_FILE};

pub const CONFIG_FILE: &str = "config.toml";
pub const WEIGHTS_FILE: &str = "model.safetensors";
pub const TOKENIZER_FILE: &str = "tokenizer.json";
pub const VOCAB_FILE: &str = "vocab.txt";
pub const CHECKPOINTS_DIR: &str = "checkpoints";
/// The folder `bertwork report` writes into by default: the session's charts, not its
/// data (nothing else reads it, and a fork does not copy it).
pub const REPORT_DIR: &str = "report";

/// bertwork's data folder: `$BERTWORK_HOME`, else the platform data dir.
pub fn home() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("BERTWORK_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "bertwork")
        .map(|d| d.data_dir().to_path_buf())
        .context("cannot find a home folder for sessions; set BERTWORK_HOME to a writable folder")
}

pub fn sessions_root() -> Result<PathBuf> {
    Ok(home()?.join("sessions"))
}

/// Names of the sessions that exist, sorted.
pub fn list_names() -> Result<Vec<String>> {
    let root = sessions_root()?;
    let mut names: Vec<String> = match std::fs::read_dir(&root) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join(CONFIG_FILE).exists())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    Ok(names)
}

/// Session names: letters, digits, `-`, `_`, `.`; not starting with `.`.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !ok {
        bail!("bad session name `{name}`: use letters, digits, '-', '_' and '.' (not first)");
    }
    Ok(())
}

/// A session folder. Sessions opened to write ([`Session::create`],
/// [`Session::open_to_write`]) hold its lock for as long as any clone lives.
#[derive(Debug, Clone)]
pub struct Session {
    pub name: String,
    pub dir: PathBuf,
    lock: Option<Arc<SessionLock>>,
}

impl PartialEq for Session {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.dir == other.dir
    }
}

impl Eq for Session {}

impl Session {
    /// Creates (or reuses) the folder for a new training run and locks it. Without a
    /// name, one is made from the time and preset.
    ///
    /// Errors: a bad name, a session that already has weights, or one in use by another
    /// process.
    pub fn create(name: Option<&str>, preset: &str) -> Result<Self> {
        let name = match name {
            Some(n) => n.to_string(),
            None => format!("{}-{preset}", chrono::Local::now().format("%Y%m%d-%H%M%S")),
        };
        check_name(&name)?;
        let dir = sessions_root()?.join(&name);
        let exists = |name: &str, dir: &Path| {
            bail!(
                "session `{name}` already exists in {}; resume it with `bertwork resume {name}`, or choose another --session name",
                dir.display()
            )
        };
        if dir.join(WEIGHTS_FILE).exists() || dir.join(CHECKPOINTS_DIR).exists() {
            return exists(&name, &dir);
        }
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create session folder {}", dir.display()))?;
        let lock = SessionLock::acquire(&dir, &name)?;
        let session = Self {
            name,
            dir,
            lock: Some(Arc::new(lock)),
        };
        // Checked again under the lock: another process may have finished creating it.
        if session.has_saved_work() {
            return exists(&session.name, &session.dir);
        }
        session.clear_leftovers()?;
        Ok(session)
    }

    /// Removes what a run that saved nothing left behind (it was killed before its
    /// first checkpoint): its tokenizer and held-out recipe must not leak into a new
    /// run with other settings. Only called under the lock, on a folder without saved
    /// work.
    fn clear_leftovers(&self) -> Result<()> {
        let entries = std::fs::read_dir(&self.dir)
            .with_context(|| format!("cannot read {}", self.dir.display()))?;
        for entry in entries.filter_map(|e| e.ok()) {
            if entry.file_name() == LOCK_FILE {
                continue;
            }
            let path = entry.path();
            let removed = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            removed.with_context(|| format!("cannot remove the leftover {}", path.display()))?;
        }
        Ok(())
    }

    /// Opens an existing session to write to it (resume, remove, ...): locks it.
    ///
    /// Errors: as [`Session::open`], or the session is in use by another process.
    pub fn open_to_write(name: &str) -> Result<Self> {
        let mut session = Self::open(name)?;
        session.lock = Some(Arc::new(SessionLock::acquire(&session.dir, name)?));
        Ok(session)
    }

    /// Opens an existing session to read it (no lock: readers see the atomically
    /// replaced files of a session in use); the error lists the sessions that exist.
    pub fn open(name: &str) -> Result<Self> {
        check_name(name)?;
        let dir = sessions_root()?.join(name);
        if !dir.join(CONFIG_FILE).exists() {
            let names = list_names()?;
            let known = if names.is_empty() {
                "none yet".to_string()
            } else {
                names.join(", ")
            };
            bail!(
                "no session named `{name}` in {}; sessions: {known}",
                sessions_root()?.display()
            );
        }
        Ok(Self {
            name: name.to_string(),
            dir,
            lock: None,
        })
    }

    /// A session in `dir` that nothing else knows about (benches' scratch folders,
    /// tests): no lock is taken.
    pub fn scratch(name: &str, dir: PathBuf) -> Self {
        Self {
            name: name.to_string(),
            dir,
            lock: None,
        }
    }

    /// Whether the folder holds weights or checkpoints (work a failure must not lose).
    pub fn has_saved_work(&self) -> bool {
        self.path(WEIGHTS_FILE).exists() || self.path(CHECKPOINTS_DIR).exists()
    }

    /// Removes the folder of a run that failed before saving any weights.
    pub fn discard_if_untrained(&self) {
        if !self.has_saved_work() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// The JSON record `file` of the session; None when it is absent or cannot be
    /// read (for records whose loss only costs a label or a convenience).
    pub fn read_json<T: serde::de::DeserializeOwned>(&self, file: &str) -> Option<T> {
        let bytes = std::fs::read(self.path(file)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Writes `value` as the session's JSON record `file`, atomically.
    ///
    /// Errors: it cannot be serialised or written.
    pub fn write_json<T: serde::Serialize>(&self, file: &str, value: &T) -> Result<()> {
        let body =
            serde_json::to_vec_pretty(value).with_context(|| format!("serialising {file}"))?;
        write_atomic(&self.path(file), &body)
    }

    pub fn save_config(&self, config: &Config) -> Result<()> {
        let body = toml::to_string_pretty(config).context("serialising the config")?;
        let body = crate::config::keys::annotate(&body);
        let text = format!(
            "# bertwork session `{}`: the resolved configuration of this run.\n# Keys and allowed values: see docs/configuration.md in bertwork's repository.\n\n{body}",
            self.name
        );
        write_atomic(&self.path(CONFIG_FILE), text.as_bytes())
    }

    pub fn load_config(&self) -> Result<Config> {
        Config::load_saved(&self.path(CONFIG_FILE))
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, fsync,
/// rename over the target, fsync of the folder. Readers see the old or the new file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |tmp| {
        let mut f = std::fs::File::create(tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })
}

/// Like [`write_atomic`] for writers that want a path (e.g. a safetensors save). The
/// temporary name keeps the target's extension.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&Path) -> std::io::Result<()>,
) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = dir.join(format!(".tmp-{}-{file}", std::process::id()));
    let result = write(&tmp).and_then(|_| std::fs::File::open(&tmp)?.sync_all());
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("run-1_a.b").is_ok());
        for bad in ["", ".hidden", "a/b", "x y", "../up"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
