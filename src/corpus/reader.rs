//! Reading documents (one per CSV row) from a CSV file or the embedded sample, with
//! errors that say what is wrong and where.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// The IMDB sample shipped inside the binary (see assets/ATTRIBUTION.md).
pub const EMBEDDED_CSV: &[u8] = include_bytes!("../../assets/imdb_sample.csv");
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
    let name = source.describe();
    let input: Box<dyn Read> = match source {
        CorpusSource::Embedded => Box::new(EMBEDDED_CSV),
        CorpusSource::File(path) => match std::fs::File::open(path) {
            Ok(f) => Box::new(std::io::BufReader::with_capacity(1 << 20, f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "corpus file {} not found; pass --corpus with the path of a CSV file",
                path.display()
            ),
            Err(e) => bail!("cannot open corpus file {}: {e}", path.display()),
        },
    };
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
    let headers = reader
        .byte_headers()
        .map_err(|e| describe_error(&name, e))?
        .clone();
    let names: Vec<String> = headers
        .iter()
        .map(|h| {
            String::from_utf8_lossy(h)
                .trim_start_matches('\u{feff}')
                .to_string()
        })
        .collect();
    if names.is_empty() || names.iter().all(|n| n.is_empty()) {
        bail!(
            "corpus {name} is empty: it has no header row; expected a CSV with a `{column}` column"
        );
    }
    let Some(index) = names.iter().position(|n| n == column) else {
        bail!(
            "corpus {name} has no column `{column}`; columns found: {}; choose one with --text-column",
            names.join(", ")
        );
    };
    let mut record = csv::ByteRecord::new();
    let mut rows = 0u64;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(describe_error(&name, e)),
        }
        rows += 1;
        let field = record.get(index).unwrap_or_default();
        let text = std::str::from_utf8(field).map_err(|_| {
            anyhow::anyhow!(
                "corpus {name}: row {rows} (line {}) is not valid UTF-8 in column `{column}`; re-save the file as UTF-8",
                record.position().map_or(0, |p| p.line())
            )
        })?;
        each(rows, text)?;
    }
    Ok(rows)
}

fn describe_error(name: &str, err: csv::Error) -> anyhow::Error {
    match err.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => {
            let (row, line) = pos.as_ref().map_or((0, 0), |p| (p.record(), p.line()));
            anyhow::anyhow!(
                "corpus {name}: row {row} (line {line}) is malformed: it has {len} fields but the header has {expected_len}; check its quoting"
            )
        }
        csv::ErrorKind::Io(e) => anyhow::anyhow!("cannot read corpus {name}: {e}"),
        _ => anyhow::anyhow!("corpus {name} is not a readable CSV file: {err}"),
    }
}
