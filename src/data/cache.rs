//! A cache of prepared corpora under `<home>/cache/`, so that a second run on the
//! same corpus skips reading, cleaning, splitting, vocabulary learning and encoding.
//!
//! - `vocab-<key>.json`: the tokenizer learnt from a corpus (key: the corpus's identity,
//!   text column and vocabulary size).
//! - `corpus-<key>.bin`: the token store (see [`super::store_file`]; key: the corpus's
//!   identity, text column, the tokenizer's exact bytes and the store layout version),
//!   memory-mapped when used.
//!
//! A corpus file is identified by its canonical path, size and modification time. An
//! entry that fails its checks is reported and rebuilt.

use std::fs::File;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

pub use super::store_file::RowCounts;
use super::TokenizedCorpus;
use crate::corpus::CorpusSource;

/// Bumped whenever cleaning, sentence splitting or encoding changes.
const PIPELINE_VERSION: u32 = 1;
/// Bumped with the store file's layout (its magic changes too), so that entries of an
/// older layout are never opened, only left behind.
const STORE_VERSION: u32 = 2;

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
            CorpusSource::File(path, format) => {
                // Every shard's path, size and modification time, and the format asked.
                let mut identity = format!("{format:?}");
                for file in crate::corpus::shards::expand(path).ok()? {
                    let meta = std::fs::metadata(&file).ok()?;
                    let mtime = meta
                        .modified()
                        .ok()?
                        .duration_since(std::time::UNIX_EPOCH)
                        .ok()?;
                    let canonical = std::fs::canonicalize(&file).ok()?;
                    identity.push_str(&format!(
                        "|{}:{}:{}",
                        canonical.display(),
                        meta.len(),
                        mtime.as_nanos()
                    ));
                }
                identity
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

    /// Where the token store for this tokenizer is kept.
    pub fn corpus_path(&self, tokenizer_json: &[u8]) -> PathBuf {
        self.dir.join(format!(
            "corpus-{:016x}.bin",
            hash((self.source_key, tokenizer_json, STORE_VERSION))
        ))
    }

    /// The cached token store for this tokenizer, mapped: `Ok(None)` when there is none.
    ///
    /// Errors: there is one but it is damaged (what is wrong and where).
    pub fn load_corpus(
        &self,
        tokenizer_json: &[u8],
    ) -> Result<Option<(TokenizedCorpus, RowCounts)>> {
        let path = self.corpus_path(tokenizer_json);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot open {}", path.display())),
        };
        TokenizedCorpus::map(&file)
            .map(Some)
            .with_context(|| format!("cached corpus {} is damaged", path.display()))
    }

    /// A new, empty file in the cache folder, for [`keep_corpus`](Self::keep_corpus).
    ///
    /// Errors: the folder cannot be created or written.
    pub fn new_corpus_file(&self) -> Result<tempfile::NamedTempFile> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        tempfile::NamedTempFile::new_in(&self.dir)
            .with_context(|| format!("cannot write in {}", self.dir.display()))
    }

    /// Renames a finished (and synced) store file into place as this tokenizer's entry.
    /// The file stays usable (it is mapped afterwards) whether or not that succeeds.
    pub fn keep_corpus(&self, tokenizer_json: &[u8], file: tempfile::NamedTempFile) -> File {
        match file.persist(self.corpus_path(tokenizer_json)) {
            Ok(f) => {
                if let Ok(d) = File::open(&self.dir) {
                    let _ = d.sync_all();
                }
                f
            }
            // A failed cache write only costs the next run time.
            Err(e) => e.file.into_file(),
        }
    }

    pub fn store_vocab(&self, vocab_size: usize, tokenizer_json: &[u8]) -> Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        crate::session::write_atomic(&self.vocab_path(vocab_size), tokenizer_json)
    }

    /// Writes `corpus` as this tokenizer's entry (tests; prepare streams instead).
    #[cfg(test)]
    fn store_corpus(&self, tokenizer_json: &[u8], corpus: &TokenizedCorpus, rows: RowCounts) {
        let tmp = self.new_corpus_file().unwrap();
        corpus.write_store(tmp.reopen().unwrap(), rows).unwrap();
        self.keep_corpus(tokenizer_json, tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> TokenizedCorpus {
        let mut corpus = TokenizedCorpus::default();
        corpus.push_document([&[5u32, 6, 7][..], &[8, 9][..]]);
        corpus.push_document([&[10u32][..], &[11, 12, 13][..]]);
        corpus
    }

    #[test]
    fn a_stored_corpus_comes_back_mapped_and_keys_separate_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path(), &CorpusSource::Embedded, "review").unwrap();
        let rows = RowCounts {
            rows: 3,
            empty_rows: 1,
        };
        assert!(cache.load_corpus(b"tok-a").unwrap().is_none());
        cache.store_corpus(b"tok-a", &corpus(), rows);
        let (back, back_rows) = cache.load_corpus(b"tok-a").unwrap().unwrap();
        assert!(back.is_mapped());
        assert_eq!((back, back_rows), (corpus(), rows));
        assert!(
            cache.load_corpus(b"tok-b").unwrap().is_none(),
            "another tokenizer"
        );
        let other = Cache::new(dir.path(), &CorpusSource::Embedded, "text").unwrap();
        assert!(
            other.load_corpus(b"tok-a").unwrap().is_none(),
            "another column"
        );
        assert_ne!(cache.vocab_path(8192), cache.vocab_path(4096));
    }

    #[test]
    fn damaged_entries_are_refused_with_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path(), &CorpusSource::Embedded, "review").unwrap();
        cache.store_corpus(b"tok", &corpus(), RowCounts::default());
        let path = cache.corpus_path(b"tok");
        let good = std::fs::read(&path).unwrap();
        let damaged = |bytes: &[u8]| {
            std::fs::write(&path, bytes).unwrap();
            format!("{:#}", cache.load_corpus(b"tok").unwrap_err())
        };
        let mut flipped = good.clone();
        flipped[64] ^= 1; // the first token id
        let msg = damaged(&flipped);
        assert!(msg.contains("damaged") && msg.contains("checksum"), "{msg}");
        let msg = damaged(&good[..good.len() - 8]);
        assert!(msg.contains("truncated"), "{msg}");
        let msg = damaged(b"BWCORPS1 an entry of the old layout");
        assert!(msg.contains("not a token store"), "{msg}");
        std::fs::write(&path, &good).unwrap();
        assert_eq!(cache.load_corpus(b"tok").unwrap().unwrap().0, corpus());
    }

    #[test]
    fn a_changed_file_changes_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("c.csv");
        std::fs::write(&csv, "review\nhello\n").unwrap();
        let a = Cache::new(dir.path(), &CorpusSource::File(csv.clone(), None), "review").unwrap();
        std::fs::write(&csv, "review\nhello there\n").unwrap();
        let b = Cache::new(dir.path(), &CorpusSource::File(csv, None), "review").unwrap();
        assert_ne!(a.source_key, b.source_key);
    }
}
