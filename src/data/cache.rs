//! A cache of prepared corpora under `<home>/cache/`, so that a second run on the
//! same corpus skips reading, cleaning, splitting, vocabulary learning and encoding.
//!
//! - `vocab-<key>.json`: the tokenizer learnt from a corpus (key: the corpus's identity,
//!   text column and vocabulary size).
//! - `corpus-<key>.bin`: the tokenized corpus and its row counts (key: the corpus's
//!   identity, text column and the tokenizer's exact bytes), with a CRC-32C.
//!
//! A corpus file is identified by its canonical path, size and modification time. Any
//! entry that fails its checks is ignored and rebuilt.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::TokenizedCorpus;
use crate::corpus::CorpusSource;

/// Bumped whenever cleaning, sentence splitting or encoding changes.
const PIPELINE_VERSION: u32 = 1;
const MAGIC: &[u8; 8] = b"BWCORPS1";

/// The rows behind a cached corpus, for the start-up report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowCounts {
    pub rows: u64,
    pub empty_rows: u64,
}

pub struct Cache {
    dir: PathBuf,
    /// Hash of the corpus's identity, text column and pipeline version.
    source_key: u64,
}

fn hash(parts: impl Hash) -> u64 {
    // SipHash with fixed keys: stable for a given toolchain, which is all a cache needs.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut h);
    h.finish()
}

impl Cache {
    /// `None` when the corpus file cannot be identified (then nothing is cached).
    pub fn new(home: &Path, source: &CorpusSource, column: &str) -> Option<Self> {
        let identity = match source {
            CorpusSource::Embedded => format!("embedded:{}", crate::corpus::EMBEDDED_CSV.len()),
            CorpusSource::File(path) => {
                let meta = std::fs::metadata(path).ok()?;
                let mtime = meta
                    .modified()
                    .ok()?
                    .duration_since(std::time::UNIX_EPOCH)
                    .ok()?;
                let canonical = std::fs::canonicalize(path).ok()?;
                format!(
                    "{}:{}:{}",
                    canonical.display(),
                    meta.len(),
                    mtime.as_nanos()
                )
            }
        };
        Some(Self {
            dir: home.join("cache"),
            source_key: hash((identity, column, PIPELINE_VERSION)),
        })
    }

    pub fn vocab_path(&self, vocab_size: usize) -> PathBuf {
        self.dir.join(format!(
            "vocab-{:016x}.json",
            hash((self.source_key, vocab_size))
        ))
    }

    fn corpus_path(&self, tokenizer_json: &[u8]) -> PathBuf {
        self.dir.join(format!(
            "corpus-{:016x}.bin",
            hash((self.source_key, tokenizer_json))
        ))
    }

    /// The cached tokenized corpus for this tokenizer, if there is a sound one.
    pub fn load_corpus(&self, tokenizer_json: &[u8]) -> Option<(TokenizedCorpus, RowCounts)> {
        let bytes = std::fs::read(self.corpus_path(tokenizer_json)).ok()?;
        decode(&bytes).ok()
    }

    pub fn store_corpus(
        &self,
        tokenizer_json: &[u8],
        corpus: &TokenizedCorpus,
        rows: RowCounts,
    ) -> Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&rows.rows.to_le_bytes());
        out.extend_from_slice(&rows.empty_rows.to_le_bytes());
        out.extend_from_slice(&corpus.to_bytes());
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        crate::session::write_atomic(&self.corpus_path(tokenizer_json), &out)
    }

    pub fn store_vocab(&self, vocab_size: usize, tokenizer_json: &[u8]) -> Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        crate::session::write_atomic(&self.vocab_path(vocab_size), tokenizer_json)
    }
}

fn decode(bytes: &[u8]) -> Result<(TokenizedCorpus, RowCounts)> {
    if bytes.len() < MAGIC.len() + 20 || !bytes.starts_with(MAGIC) {
        bail!("not a corpus cache file");
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    if crc32c::crc32c(body).to_le_bytes() != crc {
        bail!("corpus cache checksum mismatch");
    }
    let word = |at: usize| u64::from_le_bytes(body[at..at + 8].try_into().expect("8 bytes"));
    let rows = RowCounts {
        rows: word(8),
        empty_rows: word(16),
    };
    Ok((TokenizedCorpus::from_bytes(&body[24..])?, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_corpus_comes_back_and_keys_separate_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path(), &CorpusSource::Embedded, "review").unwrap();
        let mut corpus = TokenizedCorpus::default();
        corpus.push_document([&[5u32, 6, 7][..], &[8, 9][..]]);
        let rows = RowCounts {
            rows: 3,
            empty_rows: 1,
        };
        assert!(cache.load_corpus(b"tok-a").is_none());
        cache.store_corpus(b"tok-a", &corpus, rows).unwrap();
        assert_eq!(cache.load_corpus(b"tok-a"), Some((corpus.clone(), rows)));
        assert!(cache.load_corpus(b"tok-b").is_none(), "another tokenizer");
        let other = Cache::new(dir.path(), &CorpusSource::Embedded, "text").unwrap();
        assert!(other.load_corpus(b"tok-a").is_none(), "another column");
        assert_ne!(cache.vocab_path(8192), cache.vocab_path(4096));

        // A damaged file is ignored.
        let path = cache.corpus_path(b"tok-a");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[30] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(cache.load_corpus(b"tok-a").is_none());
    }

    #[test]
    fn a_changed_file_changes_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("c.csv");
        std::fs::write(&csv, "review\nhello\n").unwrap();
        let a = Cache::new(dir.path(), &CorpusSource::File(csv.clone()), "review").unwrap();
        std::fs::write(&csv, "review\nhello there\n").unwrap();
        let b = Cache::new(dir.path(), &CorpusSource::File(csv), "review").unwrap();
        assert_ne!(a.source_key, b.source_key);
    }
}
