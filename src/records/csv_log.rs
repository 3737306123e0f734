//! An append-only CSV file with a header: one `write` per row, cut back to a given
//! number of rows on open (a resume), a torn last line dropped, another layout moved
//! aside.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::session::write_atomic;

/// An append-only CSV file with a header.
pub(super) struct CsvLog {
    pub(super) file: std::fs::File,
    path: PathBuf,
    /// The columns, as the header names them; every row names its fields the same.
    header: Vec<&'static str>,
    pub(super) rows: usize,
}

fn csv_line(fields: &[String]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(fields)?;
    w.into_inner().context("formatting a CSV row")
}

impl CsvLog {
    /// Opens `path` for appending, keeping its first `keep` data rows (all complete
    /// rows when `None`) and dropping a torn last line.
    pub(super) fn open(path: &Path, header: &[&'static str], keep: Option<usize>) -> Result<Self> {
        let header_line = csv_line(&header.iter().map(|s| s.to_string()).collect::<Vec<_>>())?;
        let mut old = std::fs::read(path).unwrap_or_default();
        if !old.is_empty() && !old.starts_with(&header_line) {
            // Another layout (an older or newer bertwork): keep it beside, start anew.
            let mut n = 1;
            let aside = loop {
                let p = path.with_extension(format!("{n}.csv"));
                if !p.exists() {
                    break p;
                }
                n += 1;
            };
            std::fs::rename(path, &aside)
                .with_context(|| format!("cannot move {} aside", path.display()))?;
            old.clear();
        }
        let mut body = header_line.clone();
        let mut rows = 0;
        if old.starts_with(&header_line) {
            for line in old[header_line.len()..].split_inclusive(|&b| b == b'\n') {
                if !line.ends_with(b"\n") || keep.is_some_and(|k| rows >= k) {
                    break;
                }
                body.extend_from_slice(line);
                rows += 1;
            }
        }
        if body != old {
            write_atomic(path, &body)?;
        }
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
            header: header.to_vec(),
            rows,
        })
    }

    /// Appends one row of `(column, value)` fields, which must name the header's
    /// columns in its order: the header is the one definition of the file's columns.
    pub(super) fn append(&mut self, fields: &[(&str, String)]) -> Result<()> {
        let names = fields.iter().map(|f| f.0);
        anyhow::ensure!(
            names.clone().eq(self.header.iter().copied()),
            "bertwork bug: a row for {} names the columns {:?}, not its header's {:?}",
            self.path.display(),
            names.collect::<Vec<_>>(),
            self.header
        );
        let values: Vec<String> = fields.iter().map(|f| f.1.clone()).collect();
        self.file
            .write_all(&csv_line(&values)?)
            .with_context(|| format!("cannot append to {}", self.path.display()))?;
        self.rows += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }

    #[test]
    fn a_torn_row_is_dropped_and_a_resume_cuts_back_to_the_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.csv");
        let mut log = CsvLog::open(&path, &["step", "x"], None).unwrap();
        for i in 0..5 {
            log.append(&[("step", i.to_string()), ("x", "a,b".into())])
                .unwrap();
        }
        // A row that names other columns, or leaves one out, is refused.
        let err = log.append(&[("x", "1".into()), ("step", "5".into())]);
        assert!(err.unwrap_err().to_string().contains("not its header's"));
        assert!(log.append(&[("step", "5".into())]).is_err());
        drop(log);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"5,\"tor").unwrap();
        let log = CsvLog::open(&path, &["step", "x"], None).unwrap();
        assert_eq!(log.rows, 5);
        assert_eq!(lines(&path).last().unwrap(), "4,\"a,b\"");
        let log = CsvLog::open(&path, &["step", "x"], Some(3)).unwrap();
        assert_eq!(log.rows, 3);
        assert_eq!(
            lines(&path),
            vec!["step,x", "0,\"a,b\"", "1,\"a,b\"", "2,\"a,b\""]
        );
    }
}
