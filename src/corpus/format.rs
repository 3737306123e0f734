//! The layouts a corpus file comes in (`data.format`), how a file is recognised
//! (extension first, then content), and its compression (gzip or zstd, recognised by
//! the stream's magic bytes whatever the file is called).

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// How the documents are laid out in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma-separated values with a header row; the text is one column.
    Csv,
    /// Tab-separated values with a header row.
    Tsv,
    /// Plain text, one document per line.
    Text,
    /// Plain text as BERT's `create_pretraining_data.py` takes it: one sentence per
    /// line, a blank line between documents.
    Sentences,
    /// JSON Lines: one JSON object per line; the text is a field (a dotted path for a
    /// nested one, e.g. `meta.body`).
    Jsonl,
    /// Apache Parquet (what the Hugging Face Hub serves): the text is a column, a
    /// dotted path for a field of a struct column.
    Parquet,
    /// Arrow IPC, as a stream (the `data-*.arrow` files of `datasets.save_to_disk`) or
    /// as a file (Feather v2).
    Arrow,
}

/// Every format, with the name `data.format` and `--format` use.
pub const FORMATS: [(Format, &str); 7] = [
    (Format::Csv, "csv"),
    (Format::Tsv, "tsv"),
    (Format::Text, "text"),
    (Format::Sentences, "sentences"),
    (Format::Jsonl, "jsonl"),
    (Format::Parquet, "parquet"),
    (Format::Arrow, "arrow"),
];

impl Format {
    pub fn name(self) -> &'static str {
        FORMATS
            .iter()
            .find(|(f, _)| *f == self)
            .map_or("csv", |(_, n)| n)
    }

    /// The format named `name`, or `None` for `auto`.
    ///
    /// Errors: an unknown name, listing the known ones.
    pub fn parse(name: &str) -> Result<Option<Self>> {
        if name == "auto" {
            return Ok(None);
        }
        match FORMATS.iter().find(|(_, n)| *n == name) {
            Some((f, _)) => Ok(Some(*f)),
            None => bail!(
                "unknown corpus format `{name}`; use auto or one of {}",
                FORMATS.map(|(_, n)| n).join(", ")
            ),
        }
    }

    /// Whether the format has named columns or fields (a text column to choose, a
    /// label column for the downstream probe).
    pub fn has_columns(self) -> bool {
        matches!(
            self,
            Self::Csv | Self::Tsv | Self::Jsonl | Self::Parquet | Self::Arrow
        )
    }

    /// Whether the format is binary and column-oriented (Parquet, Arrow): not checked
    /// as text, read a record batch at a time.
    pub fn is_columnar(self) -> bool {
        matches!(self, Self::Parquet | Self::Arrow)
    }

    /// Recognises the format of a file named `path` whose decompressed content starts
    /// with `head`: by extension (under any `.gz`/`.zst`), else by content (Parquet's
    /// `PAR1`, Arrow's `ARROW1` or a stream's `FF FF FF FF` continuation marker; `{`
    /// first: JSON Lines; a tab in the first line and no comma: TSV; otherwise CSV,
    /// the format bertwork always read). A `.txt` file with a blank line between lines of
    /// text is BERT's sentence-per-line layout, else one document per line.
    pub fn detect(path: &Path, head: &[u8]) -> Self {
        let name = path
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().to_lowercase());
        let name = name
            .strip_suffix(".gz")
            .or_else(|| name.strip_suffix(".zst"))
            .or_else(|| name.strip_suffix(".zstd"))
            .unwrap_or(&name);
        let extension = name.rsplit_once('.').map_or("", |(_, e)| e);
        match extension {
            "csv" => return Self::Csv,
            "tsv" | "tab" => return Self::Tsv,
            "jsonl" | "ndjson" | "json" => return Self::Jsonl,
            "parquet" | "pq" => return Self::Parquet,
            "arrow" | "arrows" | "feather" | "ipc" => return Self::Arrow,
            "txt" | "text" => {
                return if has_blank_line_between_text(head) {
                    Self::Sentences
                } else {
                    Self::Text
                }
            }
            _ => {}
        }
        if head.starts_with(b"PAR1") {
            return Self::Parquet;
        }
        if head.starts_with(b"ARROW1") || head.starts_with(&[0xff; 4]) {
            return Self::Arrow;
        }
        let text = String::from_utf8_lossy(head);
        let first = text.trim_start_matches('\u{feff}').trim_start();
        if first.starts_with('{') {
            return Self::Jsonl;
        }
        let line = first.lines().next().unwrap_or("");
        if line.contains('\t') && !line.contains(',') {
            return Self::Tsv;
        }
        Self::Csv
    }
}

/// Whether a blank line separates lines of text within `head` (documents of BERT's
/// sentence-per-line layout).
fn has_blank_line_between_text(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    lines
        .windows(3)
        .any(|w| !w[0].is_empty() && w[1].is_empty() && !w[2].is_empty())
}

/// How a file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// From the first bytes of a file: gzip's `1f 8b`, zstd's `28 b5 2f fd`.
    pub fn of(magic: &[u8]) -> Self {
        if magic.starts_with(&[0x1f, 0x8b]) {
            Self::Gzip
        } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Self::Zstd
        } else {
            Self::None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::None => "",
            Self::Gzip => "gzip",
            Self::Zstd => "zstd",
        }
    }
}

/// `input` decompressed as its magic bytes say (gzip members concatenated, as `cat a.gz
/// b.gz` makes, are read as one stream), and the compression found.
///
/// Errors: a zstd stream whose header is damaged.
pub fn decompressed(input: impl Read + 'static) -> Result<(Box<dyn Read>, Compression)> {
    let mut buffered = BufReader::with_capacity(1 << 16, input);
    let magic = buffered.fill_buf()?.to_vec();
    let compression = Compression::of(&magic);
    let reader: Box<dyn Read> = match compression {
        Compression::None => Box::new(buffered),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(buffered)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buffered)?),
    };
    Ok((reader, compression))
}

/// A read error in words: a compressed file that ends early or is damaged says so.
pub fn read_error(name: &str, compression: Compression, e: std::io::Error) -> anyhow::Error {
    match compression {
        Compression::None => anyhow::anyhow!("cannot read corpus {name}: {e}"),
        c => anyhow::anyhow!(
            "corpus {name} is truncated or damaged ({} stream: {e}); download or compress it again",
            c.name()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn extensions_then_content_decide() {
        let d = |name: &str, head: &str| Format::detect(Path::new(name), head.as_bytes());
        assert_eq!(d("a.csv", "{"), Format::Csv);
        assert_eq!(d("a.CSV.gz", ""), Format::Csv);
        assert_eq!(d("a.tsv.zst", ""), Format::Tsv);
        assert_eq!(d("shard-0001.jsonl.gz", ""), Format::Jsonl);
        assert_eq!(d("a.txt", "one doc\nanother doc\n"), Format::Text);
        assert_eq!(
            d("a.txt", "first sentence .\nsecond .\n\nnext doc .\n"),
            Format::Sentences
        );
        assert_eq!(d("data", "{\"text\": \"x\"}\n"), Format::Jsonl);
        assert_eq!(d("data", "text\tlabel\nx\t1\n"), Format::Tsv);
        assert_eq!(d("data", "review,sentiment\n"), Format::Csv);
        assert_eq!(Format::parse("auto").unwrap(), None);
        assert_eq!(Format::parse("jsonl").unwrap(), Some(Format::Jsonl));
        assert_eq!(d("train-00000-of-00002.parquet", ""), Format::Parquet);
        assert_eq!(d("data-00000-of-00001.arrow", ""), Format::Arrow);
        assert_eq!(d("data", "PAR1\x15\x04"), Format::Parquet);
        assert_eq!(d("data.gz", "ARROW1\0\0"), Format::Arrow);
        let e = Format::parse("feather").unwrap_err().to_string();
        assert!(
            e.contains("csv, tsv, text, sentences, jsonl, parquet, arrow"),
            "{e}"
        );
        for (f, n) in FORMATS {
            assert_eq!(f.name(), n);
        }
    }

    #[test]
    fn gzip_and_zstd_are_read_through_and_plain_text_untouched() {
        let text = b"review\nsome text\n".to_vec();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&text).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::stream::encode_all(&text[..], 3).unwrap();
        for (bytes, want) in [
            (text.clone(), Compression::None),
            (gz, Compression::Gzip),
            (zst, Compression::Zstd),
        ] {
            let (mut r, found) = decompressed(std::io::Cursor::new(bytes)).unwrap();
            assert_eq!(found, want);
            let mut out = Vec::new();
            r.read_to_end(&mut out).unwrap();
            assert_eq!(out, text);
        }
    }
}
