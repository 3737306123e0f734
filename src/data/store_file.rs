//! The token store file, written once in a stream and then memory-mapped.
//!
//! Layout, little-endian, every array aligned to its element:
//!
//! | bytes | content |
//! |---|---|
//! | 0..8 | magic `BWSTORE2` (the version: a new layout gets a new magic) |
//! | 8..48 | rows, empty rows, tokens `nt`, sentence offsets `ns`, document offsets `nd` (u64 each) |
//! | 48..52 | CRC-32C of everything from byte 64 on |
//! | 52..64 | zero |
//! | 64.. | `nt` token ids (u32), zero padding to 8 bytes, `ns` sentence starts (u64), `nd` document starts (u64) |
//!
//! Opening checks the magic, that the length is exactly what the counts say, and that
//! the offsets are ordered and end where they must (so no access can go out of range);
//! the CRC of the body is checked only for files up to [`VERIFY_CRC_UP_TO`]. A
//! multi-GB store would otherwise be read in full on every start (seconds cold, and all
//! its pages pulled in); it is written atomically (temporary file, fsync, rename) with
//! the CRC computed as it is written, so what remains unchecked in a large file is bit
//! rot after it was written, which could at worst change some token ids, never crash.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};

use anyhow::{bail, Context, Result};

use super::store::{MappedStore, Store};

pub const MAGIC: &[u8; 8] = b"BWSTORE2";
const HEADER: usize = 64;
/// Stores up to this size (256 MiB, about 64M tokens) have their CRC checked on open:
/// about 0.1 s at memory speed.
pub const VERIFY_CRC_UP_TO: u64 = 256 << 20;

/// Rows behind a store, for the start-up report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowCounts {
    pub rows: u64,
    pub empty_rows: u64,
}

/// Writes a store file in one pass: tokens go straight to the file, offsets to two
/// anonymous spill files that are appended at the end, so memory stays bounded.
pub struct StoreWriter {
    out: BufWriter<File>,
    sentences: BufWriter<File>,
    docs: BufWriter<File>,
    crc: u32,
    nt: u64,
    ns: u64,
    nd: u64,
}

impl StoreWriter {
    /// Starts writing into `file` (empty, readable and writable).
    ///
    /// Errors: the spill files cannot be created or the header cannot be written.
    pub fn new(file: File) -> Result<Self> {
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.write_all(&[0u8; HEADER])?;
        let spill = || -> Result<BufWriter<File>> {
            let f = tempfile::tempfile().context("cannot create a temporary file")?;
            Ok(BufWriter::with_capacity(1 << 16, f))
        };
        let mut w = Self {
            out,
            sentences: spill()?,
            docs: spill()?,
            crc: 0,
            nt: 0,
            ns: 0,
            nd: 0,
        };
        w.sentences.write_all(&0u64.to_le_bytes())?;
        w.docs.write_all(&0u64.to_le_bytes())?;
        (w.ns, w.nd) = (1, 1);
        Ok(w)
    }

    /// Appends a document given as its sentences' ids. Empty sentences are dropped, and
    /// so is a document left with none.
    pub fn push_document<'a>(
        &mut self,
        sentences: impl IntoIterator<Item = &'a [u32]>,
    ) -> Result<()> {
        let before = self.ns;
        for s in sentences.into_iter().filter(|s| !s.is_empty()) {
            let bytes: &[u8] = bytemuck::cast_slice(s);
            self.crc = crc32c::crc32c_append(self.crc, bytes);
            self.out.write_all(bytes)?;
            self.nt += s.len() as u64;
            self.sentences.write_all(&self.nt.to_le_bytes())?;
            self.ns += 1;
        }
        if self.ns > before {
            self.docs.write_all(&(self.ns - 1).to_le_bytes())?;
            self.nd += 1;
        }
        Ok(())
    }

    /// Appends the offsets, writes the header and syncs; returns the file, ready to map.
    pub fn finish(mut self, rows: RowCounts) -> Result<File> {
        if self.nt % 2 == 1 {
            self.crc = crc32c::crc32c_append(self.crc, &[0; 4]);
            self.out.write_all(&[0; 4])?;
        }
        for spill in [self.sentences, self.docs] {
            let mut f = spill.into_inner().map_err(|e| e.into_error())?;
            f.seek(SeekFrom::Start(0))?;
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = f.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                self.crc = crc32c::crc32c_append(self.crc, &buf[..n]);
                self.out.write_all(&buf[..n])?;
            }
        }
        let mut file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&header(rows, [self.nt, self.ns, self.nd], self.crc))?;
        file.sync_all()?;
        Ok(file)
    }
}

fn header(rows: RowCounts, [nt, ns, nd]: [u64; 3], crc: u32) -> [u8; HEADER] {
    let mut h = [0u8; HEADER];
    h[..8].copy_from_slice(MAGIC);
    for (i, v) in [rows.rows, rows.empty_rows, nt, ns, nd]
        .into_iter()
        .enumerate()
    {
        h[8 + 8 * i..16 + 8 * i].copy_from_slice(&v.to_le_bytes());
    }
    h[48..52].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Maps a store file and checks it (see the module documentation for what is checked).
///
/// Errors: say what is wrong (not a store, truncated, inconsistent, checksum).
pub(super) fn open(file: &File) -> Result<(Store, RowCounts)> {
    if cfg!(target_endian = "big") {
        bail!("token stores are little-endian and this machine is not");
    }
    // SAFETY: the file is a private cache entry that bertwork replaces only by renaming
    // a new file over it; a mapping keeps the old inode, so it never changes under us.
    let map = unsafe { memmap2::Mmap::map(file) }.context("cannot map the token store")?;
    if map.len() < HEADER || &map[..8] != MAGIC {
        bail!("not a token store of this version");
    }
    let word =
        |i: usize| u64::from_le_bytes(map[8 + 8 * i..16 + 8 * i].try_into().unwrap_or_default());
    let rows = RowCounts {
        rows: word(0),
        empty_rows: word(1),
    };
    let (nt, ns, nd) = (word(2), word(3), word(4));
    let tokens_end = (HEADER as u64).checked_add(nt.saturating_mul(4));
    let expected = tokens_end
        .map(|e| e.next_multiple_of(8))
        .and_then(|e| e.checked_add(ns.checked_add(nd)?.checked_mul(8)?));
    if expected != Some(map.len() as u64) {
        bail!(
            "truncated or overlong: {} bytes where its header implies {}",
            map.len(),
            expected.map_or("an impossible size".into(), |e| e.to_string())
        );
    }
    let tokens_end = HEADER + nt as usize * 4;
    let s_start = tokens_end.next_multiple_of(8);
    let d_start = s_start + ns as usize * 8;
    let mapped = MappedStore {
        tokens: HEADER..tokens_end,
        sentence_starts: s_start..d_start,
        doc_starts: d_start..map.len(),
        map,
    };
    if mapped.map.len() as u64 <= VERIFY_CRC_UP_TO {
        let crc = u32::from_le_bytes(mapped.map[48..52].try_into().unwrap_or_default());
        if crc32c::crc32c(&mapped.map[HEADER..]) != crc {
            bail!("checksum mismatch");
        }
    }
    let Some((_, sentences, docs)) = mapped.arrays() else {
        bail!("misaligned arrays");
    };
    let ordered = |v: &[u64], last: u64| {
        v.first() == Some(&0) && v.windows(2).all(|w| w[0] <= w[1]) && v.last() == Some(&last)
    };
    if !ordered(sentences, nt) || !ordered(docs, ns.saturating_sub(1)) {
        bail!("inconsistent offsets");
    }
    Ok((Store::Mapped(mapped), rows))
}
