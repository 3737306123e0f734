//! Reading documents (one per CSV row) from a CSV file or the embedded sample, with
//! errors that say what is wrong and where.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

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
    File(PathBuf),
}

impl CorpusSource {
    pub fn from_option(path: Option<&Path>) -> Self {
        match path {
            Some(p) => Self::File(p.to_path_buf()),
            None => Self::Embedded,
        }
    }

    /// Size in bytes of the CSV; 0 when unknown (a pipe).
    pub fn size(&self) -> u64 {
        match self {
            Self::Embedded => EMBEDDED_CSV.len() as u64,
            Self::File(p) => std::fs::metadata(p).map_or(0, |m| m.len()),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Self::Embedded => EMBEDDED_NAME.to_string(),
            Self::File(p) => p.display().to_string(),
        }
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
    let mut reader = open(source)?;
    let headers = reader
        .byte_headers()
        .map_err(|e| describe_error(source, e))?
        .clone();
    let index = text_column(&source.describe(), &headers, column)?;
    for_each_record(
        source,
        &mut reader,
        &[(index, column)],
        |row, at, fields| each(row, at, fields[0]),
    )
}

/// The names of the corpus's columns (a byte-order mark dropped, bytes that are not
/// UTF-8 replaced).
pub fn column_names(source: &CorpusSource) -> Result<Vec<String>> {
    let mut reader = open(source)?;
    let headers = reader
        .byte_headers()
        .map_err(|e| describe_error(source, e))?;
    Ok(headers
        .iter()
        .map(|h| {
            String::from_utf8_lossy(h)
                .trim_start_matches('\u{feff}')
                .to_string()
        })
        .collect())
}

/// Streams the named columns of every row to `each(row_number, fields)`, `fields[i]`
/// being column `columns[i]` (found as [`for_each_text`] finds its column).
/// Returns the number of rows read.
pub fn for_each_columns(
    source: &CorpusSource,
    columns: &[&str],
    mut each: impl FnMut(u64, &[&str]) -> Result<()>,
) -> Result<u64> {
    let mut reader = open(source)?;
    let headers = reader
        .byte_headers()
        .map_err(|e| describe_error(source, e))?
        .clone();
    let name = source.describe();
    let indices = columns
        .iter()
        .map(|c| Ok((text_column(&name, &headers, c)?, *c)))
        .collect::<Result<Vec<_>>>()?;
    for_each_record(source, &mut reader, &indices, |row, _, fields| {
        each(row, fields)
    })
}

fn open(source: &CorpusSource) -> Result<csv::Reader<Box<dyn Read>>> {
    let name = source.describe();
    let input: Box<dyn Read> = match source {
        CorpusSource::Embedded => Box::new(EMBEDDED_CSV),
        CorpusSource::File(path) => match std::fs::File::open(path) {
            Ok(f) => Box::new(std::io::BufReader::with_capacity(
                1 << 20,
                super::sniff::checked(&name, f)?,
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "corpus file {} not found; pass --corpus with the path of a CSV file",
                path.display()
            ),
            Err(e) => bail!("cannot open corpus file {}: {e}", path.display()),
        },
    };
    Ok(csv::ReaderBuilder::new().flexible(false).from_reader(input))
}

/// Reads the records after the header, handing `each(row, byte_offset, fields)` the
/// UTF-8 text of the columns at `indices` (index, name).
fn for_each_record(
    source: &CorpusSource,
    reader: &mut csv::Reader<Box<dyn Read>>,
    indices: &[(usize, &str)],
    mut each: impl FnMut(u64, u64, &[&str]) -> Result<()>,
) -> Result<u64> {
    let name = source.describe();
    let mut record = csv::ByteRecord::new();
    let mut rows = 0u64;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(describe_error(source, e)),
        }
        rows += 1;
        let mut fields: Vec<&str> = Vec::with_capacity(indices.len());
        for &(index, column) in indices {
            let field = record.get(index).unwrap_or_default();
            let text = std::str::from_utf8(field).map_err(|_| {
                anyhow::anyhow!(
                    "corpus {name}: row {rows} (line {}) is not valid UTF-8 in column `{column}`; re-save the file as UTF-8",
                    line_of(source, record.position())
                )
            })?;
            fields.push(text);
        }
        each(rows, record.position().map_or(0, |p| p.byte()), &fields)?;
    }
    Ok(rows)
}

fn describe_error(source: &CorpusSource, err: csv::Error) -> anyhow::Error {
    let name = source.describe();
    match err.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => {
            let row = pos.as_ref().map_or(0, |p| p.record());
            anyhow::anyhow!(
                "corpus {name}: row {row} (line {}) is malformed: it has {len} fields but the header has {expected_len}; check its quoting",
                line_of(source, pos.as_ref())
            )
        }
        csv::ErrorKind::Io(e) => anyhow::anyhow!("cannot read corpus {name}: {e}"),
        _ => anyhow::anyhow!("corpus {name} is not a readable CSV file: {err}"),
    }
}

/// The physical line (1-based) where the record at `pos` starts. The CSV reader's own
/// line number is where it *began reading* the record, before any blank lines it then
/// skipped, so this counts the line breaks in the file up to the record's first byte.
fn line_of(source: &CorpusSource, pos: Option<&csv::Position>) -> u64 {
    let Some(pos) = pos else { return 0 };
    let counted = match source {
        CorpusSource::Embedded => super::lines::record_line(EMBEDDED_CSV, pos.byte()),
        CorpusSource::File(path) => std::fs::File::open(path)
            .map(std::io::BufReader::new)
            .and_then(|f| super::lines::record_line(f, pos.byte())),
    };
    counted.unwrap_or(pos.line())
}
