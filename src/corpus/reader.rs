//! Reading documents (one per CSV row) from a CSV file or the embedded sample, with
//! errors that say what is wrong and where.

use std::cell::Cell;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use anyhow::{bail, Result};

use super::format::{decompressed, read_error, Compression, Format};
use super::header::text_column;

/// The IMDB sample shipped inside the binary (see assets/ATTRIBUTION.md).
pub const EMBEDDED_CSV: &[u8] = include_bytes!("../../assets/imdb_sample.csv");

/// The watched probes (`train.watch`) a new session on the embedded sample starts
/// with, so that the Watched panel of the default run shows a review's verdict and its
/// subject taking shape; a session that sets `train.watch` (even to `[]`) keeps its own.
pub const EMBEDDED_WATCH: [&str; 2] = [
    "this movie was [MASK] . | great, bad",
    "the [MASK] was terrible . | acting, film, plot",
];
pub const EMBEDDED_NAME: &str = "embedded IMDB sample (2,000 reviews)";

/// Where documents come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorpusSource {
    Embedded,
    /// A file, a folder of shards or a glob of them (`super::shards`), in `format`
    /// (`None`: recognised per file, [`Format::detect`]).
    File(PathBuf, Option<Format>),
}

impl CorpusSource {
    /// A file (its format recognised) at `path`, or the embedded sample.
    pub fn from_option(path: Option<&Path>) -> Self {
        Self::with_format(path, None)
    }

    /// The corpus `path` in `format` (`None`: recognised per file).
    pub fn with_format(path: Option<&Path>, format: Option<Format>) -> Self {
        match path {
            Some(p) => Self::File(p.to_path_buf(), format),
            None => Self::Embedded,
        }
    }

    /// The corpus `data.corpus` and `data.format` name.
    ///
    /// Errors: an unknown format name.
    pub fn of(corpus: Option<&Path>, format: &str) -> Result<Self> {
        Ok(Self::with_format(corpus, Format::parse(format)?))
    }

    /// Size in bytes of the corpus files (as stored, compressed or not); 0 when
    /// unknown (a pipe).
    pub fn size(&self) -> u64 {
        match self {
            Self::Embedded => EMBEDDED_CSV.len() as u64,
            Self::File(p, _) => super::shards::expand(p)
                .map(|files| {
                    files
                        .iter()
                        .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
                        .sum()
                })
                .unwrap_or(0),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Self::Embedded => EMBEDDED_NAME.to_string(),
            Self::File(p, _) => p.display().to_string(),
        }
    }

    /// [`describe`](Self::describe) with the format read, its compression and the
    /// number of shards: `data/train (jsonl, gzip; 3 shards)`.
    pub fn summary(&self) -> String {
        let Self::File(..) = self else {
            return self.describe();
        };
        let Ok(found) = formats(self) else {
            return self.describe();
        };
        let mut kinds: Vec<String> = found
            .iter()
            .map(|(_, f, c)| match c {
                Compression::None => f.name().to_string(),
                c => format!("{}, {}", f.name(), c.name()),
            })
            .collect();
        kinds.dedup();
        let shards = if found.len() > 1 {
            format!("; {} shards", found.len())
        } else {
            String::new()
        };
        format!("{} ({}{shards})", self.describe(), kinds.join(" + "))
    }
}

/// Streams the text column of every row to `each(row_number, text)`.
/// Returns the number of rows read. Empty texts are passed on too.
pub fn for_each_text(
    source: &CorpusSource,
    column: &str,
    mut each: impl FnMut(u64, &str) -> Result<()>,
) -> Result<u64> {
    for_each_text_at(source, column, |row, _, text| each(row, text))
}

/// Like [`for_each_text`], also passing the byte offset in the file where each row
/// starts: `each(row_number, byte_offset, text)`.
pub fn for_each_text_at(
    source: &CorpusSource,
    column: &str,
    mut each: impl FnMut(u64, u64, &str) -> Result<()>,
) -> Result<u64> {
    for_each_row(source, &[column], |row, at, fields| {
        each(row, at, fields[0])
    })
}

/// The names of the corpus's columns (a byte-order mark dropped, bytes that are not
/// UTF-8 replaced).
pub fn column_names(source: &CorpusSource) -> Result<Vec<String>> {
    let Some(first) = parts(source)?.into_iter().next() else {
        return Ok(Vec::new());
    };
    let opened = first.open()?;
    match opened.format {
        Format::Csv | Format::Tsv => {
            let compression = opened.compression;
            let mut reader = csv_reader(opened.reader, opened.format);
            let headers = reader
                .byte_headers()
                .map_err(|e| describe_csv_error(&first, compression, e))?;
            Ok(headers
                .iter()
                .map(|h| {
                    String::from_utf8_lossy(h)
                        .trim_start_matches('\u{feff}')
                        .to_string()
                })
                .collect())
        }
        Format::Jsonl => {
            super::records::jsonl_fields(opened.reader, &first.name, opened.compression)
        }
        Format::Text | Format::Sentences => Ok(vec![super::records::TEXT_FIELD.to_string()]),
        Format::Parquet | Format::Arrow => super::columnar::fields(first.columnar(opened)),
    }
}

/// Streams the named columns of every row to `each(row_number, fields)`, `fields[i]`
/// being column `columns[i]` (found as [`for_each_text`] finds its column).
/// Returns the number of rows read.
pub fn for_each_columns(
    source: &CorpusSource,
    columns: &[&str],
    mut each: impl FnMut(u64, &[&str]) -> Result<()>,
) -> Result<u64> {
    for_each_row(source, columns, |row, _, fields| each(row, fields))
}

/// One file of a corpus, as read: the embedded sample or a shard.
struct Part {
    /// The file, or None for the embedded sample.
    path: Option<PathBuf>,
    /// How the file is named in messages (the shard's own path, for shards).
    name: String,
    format: Option<Format>,
}

/// A part opened: its decompressed, text-checked content and its format.
struct Opened {
    reader: Box<dyn Read>,
    format: Format,
    compression: Compression,
    /// Bytes of the stored file read so far (compressed bytes for a compressed file).
    consumed: Rc<Cell<u64>>,
}

impl Part {
    fn open(&self) -> Result<Opened> {
        let consumed = Rc::new(Cell::new(0u64));
        let Some(path) = &self.path else {
            return Ok(Opened {
                reader: Box::new(EMBEDDED_CSV),
                format: Format::Csv,
                compression: Compression::None,
                consumed,
            });
        };
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "corpus file {} not found; pass --corpus with the path of a corpus file or folder",
                path.display()
            ),
            Err(e) => bail!("cannot open corpus file {}: {e}", path.display()),
        };
        let counted = Counted {
            inner: file,
            consumed: consumed.clone(),
        };
        let (raw, compression) = decompressed(counted)
            .map_err(|e| anyhow::anyhow!("corpus {} is truncated or damaged: {e:#}", self.name))?;
        let mut raw = std::io::BufReader::with_capacity(1 << 20, raw);
        let format = match self.format {
            Some(f) => f,
            None => {
                let head = raw
                    .fill_buf()
                    .map_err(|e| read_error(&self.name, compression, e))?;
                Format::detect(path, head)
            }
        };
        // Binary formats are checked by their own readers; text is checked for NULs.
        let reader: Box<dyn Read> = if format.is_columnar() {
            Box::new(raw)
        } else {
            let checked =
                super::sniff::checked(&self.name, raw, |e| read_error(&self.name, compression, e))?;
            Box::new(std::io::BufReader::with_capacity(1 << 20, checked))
        };
        Ok(Opened {
            reader,
            format,
            compression,
            consumed,
        })
    }
}

impl Part {
    /// An opened columnar part, readable in place when it is not compressed.
    fn columnar(&self, opened: Opened) -> super::columnar::ColumnarPart<'_> {
        super::columnar::ColumnarPart {
            reader: opened.reader,
            in_place: self
                .path
                .as_deref()
                .filter(|_| opened.compression == Compression::None),
            format: opened.format,
            name: &self.name,
            compression: opened.compression,
            consumed: opened.consumed,
        }
    }
}

/// Counts the bytes read from a file, for progress through compressed files.
struct Counted<R> {
    inner: R,
    consumed: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed.set(self.consumed.get() + n as u64);
        Ok(n)
    }
}

/// The parts of `source`: the embedded sample, or each shard a path names.
fn parts(source: &CorpusSource) -> Result<Vec<Part>> {
    Ok(match source {
        CorpusSource::Embedded => vec![Part {
            path: None,
            name: EMBEDDED_NAME.to_string(),
            format: Some(Format::Csv),
        }],
        CorpusSource::File(path, format) => super::shards::expand(path)?
            .into_iter()
            .map(|p| Part {
                name: p.display().to_string(),
                path: Some(p),
                format: *format,
            })
            .collect(),
    })
}

/// The format of each part of `source`, as read (recognised or given), in order.
///
/// Errors: a part cannot be opened.
pub fn formats(source: &CorpusSource) -> Result<Vec<(String, Format, Compression)>> {
    parts(source)?
        .into_iter()
        .map(|p| p.open().map(|o| (p.name.clone(), o.format, o.compression)))
        .collect()
}

/// Reads every row of every part, handing `each(row, bytes_read, fields)` the text of
/// `columns` (rows numbered across shards; bytes counted through the stored files).
fn for_each_row(
    source: &CorpusSource,
    columns: &[&str],
    mut each: impl FnMut(u64, u64, &[&str]) -> Result<()>,
) -> Result<u64> {
    let mut rows = 0u64;
    let mut done_bytes = 0u64;
    for part in parts(source)? {
        let opened = part.open()?;
        let consumed = opened.consumed.clone();
        let compression = opened.compression;
        let read = match opened.format {
            Format::Csv | Format::Tsv => {
                let mut reader = csv_reader(opened.reader, opened.format);
                let headers = reader
                    .byte_headers()
                    .map_err(|e| describe_csv_error(&part, compression, e))?
                    .clone();
                let indices = columns
                    .iter()
                    .map(|c| Ok((text_column(&part.name, &headers, c)?, *c)))
                    .collect::<Result<Vec<_>>>()?;
                let embedded = part.path.is_none();
                for_each_record(
                    &part,
                    compression,
                    &mut reader,
                    &indices,
                    |row, at, fields| {
                        let at = if embedded { at } else { consumed.get() };
                        each(rows + row, done_bytes + at, fields)
                    },
                )?
            }
            format if format.is_columnar() => {
                super::columnar::for_each_record(part.columnar(opened), columns, |row, fields| {
                    each(rows + row, done_bytes + consumed.get(), fields)
                })?
            }
            format => super::records::for_each_line_record(
                opened.reader,
                format,
                &part.name,
                compression,
                columns,
                |row, fields| each(rows + row, done_bytes + consumed.get(), fields),
            )?,
        };
        rows += read;
        done_bytes += if part.path.is_none() {
            EMBEDDED_CSV.len() as u64
        } else {
            consumed.get()
        };
    }
    Ok(rows)
}

fn csv_reader(input: Box<dyn Read>, format: Format) -> csv::Reader<Box<dyn Read>> {
    csv::ReaderBuilder::new()
        .flexible(false)
        .delimiter(if format == Format::Tsv { b'\t' } else { b',' })
        .from_reader(input)
}

/// Reads the records after the header, handing `each(row, byte_offset, fields)` the
/// UTF-8 text of the columns at `indices` (index, name).
fn for_each_record(
    part: &Part,
    compression: Compression,
    reader: &mut csv::Reader<Box<dyn Read>>,
    indices: &[(usize, &str)],
    mut each: impl FnMut(u64, u64, &[&str]) -> Result<()>,
) -> Result<u64> {
    let name = &part.name;
    let mut record = csv::ByteRecord::new();
    let mut rows = 0u64;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(describe_csv_error(part, compression, e)),
        }
        rows += 1;
        let mut fields: Vec<&str> = Vec::with_capacity(indices.len());
        for &(index, column) in indices {
            let field = record.get(index).unwrap_or_default();
            let text = std::str::from_utf8(field).map_err(|_| {
                anyhow::anyhow!(
                    "corpus {name}: row {rows} (line {}) is not valid UTF-8 in column `{column}`; re-save the file as UTF-8",
                    line_of(part, compression, record.position())
                )
            })?;
            fields.push(text);
        }
        each(rows, record.position().map_or(0, |p| p.byte()), &fields)?;
    }
    Ok(rows)
}

fn describe_csv_error(part: &Part, compression: Compression, err: csv::Error) -> anyhow::Error {
    let name = &part.name;
    if let csv::ErrorKind::UnequalLengths {
        pos,
        expected_len,
        len,
    } = err.kind()
    {
        let row = pos.as_ref().map_or(0, |p| p.record());
        return anyhow::anyhow!(
            "corpus {name}: row {row} (line {}) is malformed: it has {len} fields but the header has {expected_len}; check its quoting",
            line_of(part, compression, pos.as_ref())
        );
    }
    if !err.is_io_error() {
        return anyhow::anyhow!("corpus {name} is not a readable CSV file: {err}");
    }
    match err.into_kind() {
        csv::ErrorKind::Io(e) => read_error(name, compression, e),
        other => anyhow::anyhow!("corpus {name} is not a readable CSV file: {other:?}"),
    }
}

/// The physical line (1-based) where the record at `pos` starts. The CSV reader's own
/// line number is where it *began reading* the record, before any blank lines it then
/// skipped, so this counts the line breaks in the file up to the record's first byte.
fn line_of(part: &Part, compression: Compression, pos: Option<&csv::Position>) -> u64 {
    let Some(pos) = pos else { return 0 };
    let counted = match (&part.path, compression) {
        (None, _) => super::lines::record_line(EMBEDDED_CSV, pos.byte()),
        (Some(path), Compression::None) => std::fs::File::open(path)
            .map(std::io::BufReader::new)
            .and_then(|f| super::lines::record_line(f, pos.byte())),
        // Counting lines again would mean decompressing again: the reader's count.
        (Some(_), _) => return pos.line(),
    };
    counted.unwrap_or(pos.line())
}
