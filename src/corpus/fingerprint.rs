//! What a session was made from: the corpus's size and a CRC-32C of its bytes, kept in
//! `corpus.json`, so that a resume on different content (rows appended, a file
//! replaced) is refused instead of silently moving the held-out split.

use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::{CorpusSource, EMBEDDED_CSV};

/// The session file holding the fingerprint.
pub const CORPUS_FILE: &str = "corpus.json";

/// A corpus's identity by content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// The corpus as the user named it (a path, or the embedded sample).
    pub source: String,
    /// Size in bytes.
    pub bytes: u64,
    /// CRC-32C (Castagnoli) of every byte.
    pub crc32c: u32,
    /// Data rows read when the session was made.
    #[serde(default)]
    pub rows: Option<u64>,
}

impl Fingerprint {
    /// Reads the whole corpus once (about 1 GB/s). `None` when the file cannot be
    /// opened (the corpus reader reports that with its own message) or is not a regular
    /// file (a pipe or a device has no content to check again later).
    pub fn of(source: &CorpusSource) -> Result<Option<Self>> {
        let (bytes, crc) = match source {
            CorpusSource::Embedded => (EMBEDDED_CSV.len() as u64, crc32c::crc32c(EMBEDDED_CSV)),
            CorpusSource::File(path, _) => {
                let single = std::fs::metadata(path).is_ok_and(|m| m.is_file());
                if !single && !path.is_dir() && !super::shards::is_pattern(path) {
                    return Ok(None);
                }
                let Ok(files) = super::shards::expand(path) else {
                    return Ok(None);
                };
                let mut buf = vec![0u8; 1 << 20];
                let (mut bytes, mut crc) = (0u64, 0u32);
                for file in &files {
                    // Shards: each one's name counts too, so a renamed, added or
                    // removed shard is a change. One file: its bytes only (as
                    // sessions recorded before shards existed).
                    if !single {
                        let name = file.file_name().unwrap_or_default().to_string_lossy();
                        crc = crc32c::crc32c_append(crc, name.as_bytes());
                    }
                    let Ok(mut f) = std::fs::File::open(file) else {
                        return Ok(None);
                    };
                    loop {
                        let n = f
                            .read(&mut buf)
                            .with_context(|| format!("cannot read corpus {}", file.display()))?;
                        if n == 0 {
                            break;
                        }
                        crc = crc32c::crc32c_append(crc, &buf[..n]);
                        bytes += n as u64;
                    }
                }
                (bytes, crc)
            }
        };
        Ok(Some(Self {
            source: source.describe(),
            bytes,
            crc32c: crc,
            rows: None,
        }))
    }

    /// The fingerprint a session recorded, if it has one.
    ///
    /// Errors: the file exists but is unreadable or damaged.
    pub fn recorded(dir: &Path) -> Result<Option<Self>> {
        let path = dir.join(CORPUS_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .with_context(|| format!("{} is damaged; restore it or remove it", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Records this fingerprint in session folder `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        crate::session::write_atomic(&dir.join(CORPUS_FILE), &serde_json::to_vec_pretty(self)?)
    }

    /// Whether `other` has this content (size and CRC-32C).
    pub fn same_content(&self, other: &Self) -> bool {
        self.bytes == other.bytes && self.crc32c == other.crc32c
    }

    /// Refuses `now` when it is not the content session `name` was made from.
    pub fn check_same(&self, now: &Self, name: &str) -> Result<()> {
        if self.same_content(now) {
            return Ok(());
        }
        let rows = self.rows.map_or(String::new(), |r| format!(", {r} rows"));
        let size = if self.bytes == now.bytes {
            format!("same size ({} bytes), different content", now.bytes)
        } else {
            format!("{} bytes{rows} then, {} bytes now", self.bytes, now.bytes)
        };
        bail!(
            "corpus {} has changed since session `{name}` was made from it ({size}): resuming would move the held-out split and let held-out text into training; put the original file back, or start a new session with `bertwork train --corpus ...`",
            now.source
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_file_is_told_apart_and_the_same_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("c.csv");
        std::fs::write(&csv, "review\n\"a b.\"\n").unwrap();
        let source = CorpusSource::File(csv.clone(), None);
        let mut first = Fingerprint::of(&source).unwrap().unwrap();
        first.rows = Some(1);
        first.save(dir.path()).unwrap();
        let recorded = Fingerprint::recorded(dir.path()).unwrap().unwrap();
        assert_eq!(recorded, first);
        // Rewritten with the same bytes (a new mtime): still the same corpus.
        std::fs::write(&csv, "review\n\"a b.\"\n").unwrap();
        let now = Fingerprint::of(&source).unwrap().unwrap();
        recorded.check_same(&now, "s").unwrap();
        // One byte changed, same size.
        std::fs::write(&csv, "review\n\"a c.\"\n").unwrap();
        let now = Fingerprint::of(&source).unwrap().unwrap();
        let err = recorded.check_same(&now, "s").unwrap_err().to_string();
        assert!(
            err.contains("same size (14 bytes), different content"),
            "{err}"
        );
        // Rows appended.
        std::fs::write(&csv, "review\n\"a b.\"\n\"c d.\"\n").unwrap();
        let now = Fingerprint::of(&source).unwrap().unwrap();
        let err = recorded.check_same(&now, "s").unwrap_err().to_string();
        assert!(err.contains("14 bytes, 1 rows then, 21 bytes now"), "{err}");
        assert!(
            err.contains("session `s`") && err.contains("bertwork train"),
            "{err}"
        );
        assert!(
            Fingerprint::of(&CorpusSource::File(dir.path().join("none.csv"), None))
                .unwrap()
                .is_none()
        );
    }
}
