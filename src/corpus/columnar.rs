//! Parquet files and Arrow IPC files and streams, read a record batch at a time: the
//! layouts of the Hugging Face ecosystem (the Hub serves Parquet; `save_to_disk`
//! writes Arrow IPC streams). The `parquet` and `arrow` crates do the decoding; this
//! file only finds the requested columns (dotted paths into struct columns), turns
//! their cells into text, and names the class of an integer `ClassLabel` column with
//! the names `datasets` stores in the schema's `huggingface` metadata.

use std::cell::Cell;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek};
use std::path::Path;
use std::rc::Rc;

use anyhow::{anyhow, bail, Result};
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_cast::cast::{can_cast_types, cast};
use arrow_schema::{ArrowError, DataType, Fields, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use super::format::{read_error, Compression, Format};
use crate::terminal_text::escape;

/// Rows per record batch asked of the Parquet reader (Arrow files keep their own).
const BATCH_ROWS: usize = 4096;

/// One columnar part to read.
pub struct ColumnarPart<'a> {
    /// The decompressed content.
    pub reader: Box<dyn Read>,
    /// The stored file, when it can be read in place (not compressed); Parquet and
    /// Arrow's file format need to seek, so a compressed one is first decompressed
    /// into an unnamed temporary file.
    pub in_place: Option<&'a Path>,
    pub format: Format,
    /// How the part is named in messages.
    pub name: &'a str,
    pub compression: Compression,
    /// Bytes of the stored file read so far, for progress: set from the share of
    /// rows read when the file is read in place.
    pub consumed: Rc<Cell<u64>>,
}

/// A record batch source with its schema and a progress estimate.
struct Batches {
    schema: std::sync::Arc<Schema>,
    batches: Box<dyn Iterator<Item = std::result::Result<RecordBatch, ArrowError>>>,
    /// (total rows or batches, stored bytes) when progress is estimated by share.
    share_of: Option<(u64, u64)>,
    /// Whether `share_of` counts batches (Arrow file) rather than rows (Parquet).
    by_batch: bool,
}

impl ColumnarPart<'_> {
    fn damaged(&self, e: impl std::fmt::Display) -> anyhow::Error {
        anyhow!(
            "corpus {} is not a readable {} file ({e}); check that it was written completely",
            self.name,
            self.format.name()
        )
    }

    /// A seekable file: the stored one, or the content spooled to a temporary file.
    fn seekable(&mut self, mut reader: impl Read) -> Result<(File, u64)> {
        if let Some(path) = self.in_place {
            let file = File::open(path)
                .map_err(|e| anyhow!("cannot open corpus file {}: {e}", path.display()))?;
            let size = file.metadata().map_or(0, |m| m.len());
            return Ok((file, size));
        }
        let mut file = tempfile::tempfile().map_err(|e| {
            anyhow!(
                "cannot decompress corpus {}: no temporary file: {e}",
                self.name
            )
        })?;
        std::io::copy(&mut reader, &mut file).map_err(|e| {
            if e.kind() == std::io::ErrorKind::WriteZero || e.raw_os_error() == Some(libc::ENOSPC) {
                anyhow!("cannot decompress corpus {} into the temporary folder: {e}; free space there or set TMPDIR", self.name)
            } else {
                read_error(self.name, self.compression, e)
            }
        })?;
        file.rewind()?;
        Ok((file, 0))
    }

    /// Opens the record batches, reading only the top-level columns `columns` need.
    fn batches(&mut self, columns: &[&str]) -> Result<Batches> {
        let reader = std::mem::replace(&mut self.reader, Box::new(std::io::empty()));
        match self.format {
            Format::Parquet => {
                let (file, size) = self.seekable(reader)?;
                let builder =
                    ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| self.damaged(e))?;
                let schema = builder.schema().clone();
                let roots = root_indices(&schema, columns);
                let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
                let rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
                let batches = builder
                    .with_projection(mask)
                    .with_batch_size(BATCH_ROWS)
                    .build()
                    .map_err(|e| self.damaged(e))?;
                Ok(Batches {
                    schema,
                    batches: Box::new(batches),
                    share_of: (size > 0).then_some((rows, size)),
                    by_batch: false,
                })
            }
            _ => {
                let mut buffered = BufReader::new(reader);
                let head = buffered
                    .fill_buf()
                    .map_err(|e| read_error(self.name, self.compression, e))?;
                if head.starts_with(b"ARROW1") {
                    let (file, size) = self.seekable(buffered)?;
                    let reader = arrow_ipc::reader::FileReader::try_new(file, None)
                        .map_err(|e| self.damaged(e))?;
                    let blocks = reader.num_batches() as u64;
                    Ok(Batches {
                        schema: reader.schema(),
                        batches: Box::new(reader),
                        share_of: (size > 0).then_some((blocks, size)),
                        by_batch: true,
                    })
                } else {
                    let reader = arrow_ipc::reader::StreamReader::try_new(buffered, None)
                        .map_err(|e| self.damaged(e))?;
                    Ok(Batches {
                        schema: reader.schema(),
                        batches: Box::new(reader),
                        share_of: None,
                        by_batch: false,
                    })
                }
            }
        }
    }
}

/// The top-level columns that the (possibly dotted) paths `columns` start from.
fn root_indices(schema: &Schema, columns: &[&str]) -> Vec<usize> {
    columns
        .iter()
        .filter_map(|c| {
            schema
                .index_of(c)
                .ok()
                .or_else(|| schema.index_of(c.split('.').next().unwrap_or(c)).ok())
        })
        .collect()
}

/// Every column's path: top-level names, and the fields of struct columns as dotted
/// paths (`meta.label`), as JSON Lines fields are named.
fn field_paths(fields: &Fields, prefix: &str, out: &mut Vec<String>) {
    for field in fields {
        let path = format!("{prefix}{}", field.name());
        match field.data_type() {
            DataType::Struct(children) => field_paths(children, &format!("{path}."), out),
            _ => out.push(path),
        }
    }
}

/// The class names of each `ClassLabel` column, from the `huggingface` schema
/// metadata that `datasets` writes (`{"info": {"features": {col: {"_type":
/// "ClassLabel", "names": [...]}}}}`). Empty when there is none or it is unreadable.
fn class_names(schema: &Schema) -> HashMap<String, Vec<String>> {
    let Some(json) = schema.metadata().get("huggingface") else {
        return HashMap::new();
    };
    let Ok(value) = serde_json::from_str::<serde_json::Value>(json) else {
        return HashMap::new();
    };
    let Some(features) = value["info"]["features"].as_object() else {
        return HashMap::new();
    };
    features
        .iter()
        .filter(|(_, f)| f["_type"] == "ClassLabel")
        .filter_map(|(col, f)| {
            let names = f["names"].as_array()?;
            let names = names
                .iter()
                .map(|n| n.as_str().map(String::from))
                .collect::<Option<Vec<_>>>()?;
            Some((col.clone(), names))
        })
        .collect()
}

/// The array at `path` in `batch`: a top-level column of that exact name, else a
/// dotted path through struct columns.
fn column_at(batch: &RecordBatch, path: &str) -> Option<ArrayRef> {
    if let Some(column) = batch.column_by_name(path) {
        return Some(column.clone());
    }
    let mut parts = path.split('.');
    let mut array = batch.column_by_name(parts.next()?)?.clone();
    for part in parts {
        array = array.as_struct_opt()?.column_by_name(part)?.clone();
    }
    Some(array)
}

/// The cells of `array` as text: strings as they are, numbers and booleans as they
/// print, a `ClassLabel`'s integers as its class names (-1, "no label", as empty).
///
/// Errors: a column of a type that has no text form (lists, structs, maps).
fn as_text(
    array: &ArrayRef,
    names: Option<&Vec<String>>,
    column: &str,
    part: &str,
) -> Result<StringArray> {
    if let (Some(names), true) = (names, array.data_type().is_integer()) {
        let ids = cast(array, &DataType::Int64)?;
        return Ok(ids
            .as_primitive::<arrow_array::types::Int64Type>()
            .iter()
            .map(|id| {
                id.and_then(|i| usize::try_from(i).ok())
                    .and_then(|i| names.get(i).cloned())
            })
            .collect());
    }
    if !can_cast_types(array.data_type(), &DataType::Utf8) {
        bail!(
            "corpus {part}: column `{column}` holds {}, not text; choose a text column with --text-column",
            array.data_type()
        );
    }
    let text = cast(array, &DataType::Utf8).map_err(|e| {
        anyhow!("corpus {part}: column `{column}` cannot be read as UTF-8 text ({e}); re-save it as UTF-8")
    })?;
    Ok(text.as_string::<i32>().clone())
}

/// Reads every row of `part`, handing `each(row, fields)` the text of `columns` (row
/// numbers from 1; a null cell is empty text). Memory holds one record batch.
///
/// Errors: the file is not the format or is damaged, a column is missing (the columns
/// found are listed) or is not text, `each`'s.
pub fn for_each_record(
    mut part: ColumnarPart<'_>,
    columns: &[&str],
    mut each: impl FnMut(u64, &[&str]) -> Result<()>,
) -> Result<u64> {
    let Batches {
        schema,
        batches,
        share_of,
        by_batch,
    } = part.batches(columns)?;
    let mut known = Vec::new();
    field_paths(schema.fields(), "", &mut known);
    for column in columns {
        if !known.iter().any(|k| k == column) && schema.field_with_name(column).is_err() {
            bail!(
                "corpus {} has no column `{column}`; columns found: {}; choose one with --text-column (a dotted path for a field of a struct column)",
                part.name,
                known.iter().map(|k| escape(k)).collect::<Vec<_>>().join(", ")
            );
        }
    }
    let names = class_names(&schema);
    let mut rows = 0u64;
    for (done, batch) in batches.enumerate() {
        let batch = batch.map_err(|e| part.damaged(e))?;
        let cells = columns
            .iter()
            .map(|c| {
                let array = column_at(&batch, c).ok_or_else(|| {
                    anyhow!(
                        "corpus {}: column `{c}` is missing from a record batch",
                        part.name
                    )
                })?;
                as_text(&array, names.get(*c), c, part.name)
            })
            .collect::<Result<Vec<_>>>()?;
        let mut fields: Vec<&str> = Vec::with_capacity(columns.len());
        for i in 0..batch.num_rows() {
            rows += 1;
            fields.clear();
            fields.extend(
                cells
                    .iter()
                    .map(|a| if a.is_null(i) { "" } else { a.value(i) }),
            );
            each(rows, &fields)?;
        }
        if let Some((total, size)) = share_of {
            let read = if by_batch { done as u64 + 1 } else { rows };
            part.consumed.set(size * read.min(total) / total.max(1));
        }
    }
    Ok(rows)
}

/// The column paths of a columnar part (struct fields as dotted paths).
///
/// Errors: the file is not the format or is damaged.
pub fn fields(mut part: ColumnarPart<'_>) -> Result<Vec<String>> {
    let schema = part.batches(&[])?.schema;
    let mut out = Vec::new();
    field_paths(schema.fields(), "", &mut out);
    Ok(out)
}
