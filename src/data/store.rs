//! The token store: token ids with sentence and document offsets, either on the heap
//! (built in memory, as tests do) or memory-mapped from a store file (see
//! [`super::store_file`]), so that a corpus larger than memory costs only the pages in
//! use, and processes on one machine share them.

use memmap2::Mmap;

/// Where a store's arrays live.
pub(super) enum Store {
    Heap {
        tokens: Vec<u32>,
        /// Start of each sentence in `tokens`, plus one final end offset.
        sentence_starts: Vec<u64>,
        /// First sentence of each document, plus one final end offset.
        doc_starts: Vec<u64>,
    },
    /// A store file, checked when opened (see [`super::store_file::open`]).
    Mapped(MappedStore),
}

/// A mapped store file and where its arrays are in it (byte ranges, aligned).
pub(super) struct MappedStore {
    pub map: Mmap,
    pub tokens: std::ops::Range<usize>,
    pub sentence_starts: std::ops::Range<usize>,
    pub doc_starts: std::ops::Range<usize>,
}

impl MappedStore {
    /// The arrays as slices; `None` when a range is misaligned or out of the map (which
    /// [`super::store_file::open`] has ruled out).
    pub fn arrays(&self) -> Option<(&[u32], &[u64], &[u64])> {
        let at = |r: &std::ops::Range<usize>| self.map.get(r.clone());
        Some((
            bytemuck::try_cast_slice(at(&self.tokens)?).ok()?,
            bytemuck::try_cast_slice(at(&self.sentence_starts)?).ok()?,
            bytemuck::try_cast_slice(at(&self.doc_starts)?).ok()?,
        ))
    }
}

impl Default for Store {
    fn default() -> Self {
        Store::Heap {
            tokens: Vec::new(),
            sentence_starts: vec![0],
            doc_starts: vec![0],
        }
    }
}

impl Store {
    pub fn tokens(&self) -> &[u32] {
        self.arrays().0
    }

    pub fn sentence_starts(&self) -> &[u64] {
        self.arrays().1
    }

    pub fn doc_starts(&self) -> &[u64] {
        self.arrays().2
    }

    fn arrays(&self) -> (&[u32], &[u64], &[u64]) {
        match self {
            Store::Heap {
                tokens,
                sentence_starts,
                doc_starts,
            } => (tokens, sentence_starts, doc_starts),
            // `open` checked the alignment and bounds of every range once.
            Store::Mapped(m) => m.arrays().unwrap_or((&[], &[0], &[0])),
        }
    }

    pub fn is_mapped(&self) -> bool {
        matches!(self, Store::Mapped(_))
    }

    pub fn num_documents(&self) -> usize {
        self.doc_starts().len().saturating_sub(1)
    }

    /// Token range `[start, end)` of sentence `s`.
    pub fn sentence_range(&self, s: usize) -> (u64, u64) {
        let starts = self.sentence_starts();
        (starts[s], starts[s + 1])
    }

    /// Sentence range `[first, end)` of document `d`.
    pub fn doc_sentences(&self, d: usize) -> std::ops::Range<usize> {
        let starts = self.doc_starts();
        starts[d] as usize..starts[d + 1] as usize
    }

    /// Tokens `[start, start + len)`.
    pub fn span(&self, start: u64, len: usize) -> &[u32] {
        let start = start as usize;
        &self.tokens()[start..start + len]
    }
}
