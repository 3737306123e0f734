//! Corpora that are streams: `--corpus <(zcat reviews.csv.gz)`, a FIFO, a device.
//! Training reads the corpus more than once over a session's life (resume checks its
//! content and prepares it again; the downstream probe and fine-tuning read its
//! labels), and a stream can be read once. So a stream is copied into the session
//! folder as it is first read, and the session names the copy from then on.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The copy's name in the session folder.
pub const COPY_FILE: &str = "corpus.csv";

/// Whether `path` is something other than a regular file that can be opened: a pipe,
/// FIFO, socket or character device. A missing path or a folder is not (the corpus
/// reader reports those).
pub fn is_stream(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// When `path` is a stream, reads it to its end into `<session_dir>/corpus.csv` (or
/// `corpus-2.csv`, ... when the session already keeps one)
/// (through a temporary file renamed into place, so a failed copy leaves nothing
/// half-written) and returns the copy's path and size in bytes; None for a regular
/// file.
///
/// Errors: the stream cannot be read, or the copy cannot be written (a full disk),
/// each named with what to do.
pub fn keep_in_session(path: &Path, session_dir: &Path) -> Result<Option<(PathBuf, u64)>> {
    if !is_stream(path) {
        return Ok(None);
    }
    let shown = path.display();
    let mut input =
        std::fs::File::open(path).with_context(|| format!("cannot open corpus {shown}"))?;
    // A session keeps every copy it was given: a later stream (a resume with another
    // `data.corpus`) must not replace the content the session was trained on.
    let copy = std::iter::once(COPY_FILE.to_string())
        .chain((2..).map(|n| format!("corpus-{n}.csv")))
        .map(|name| session_dir.join(name))
        .find(|p| !p.exists())
        .expect("an unused name");
    let mut out = tempfile::NamedTempFile::new_in(session_dir)
        .with_context(|| format!("cannot create a file in {}", session_dir.display()))?;
    let bytes = std::io::copy(&mut input, &mut out).with_context(|| {
        format!(
            "cannot copy corpus {shown} into the session (it is a stream, read once, so the session keeps a copy); free some space in {}, or save the corpus to a file and pass that",
            session_dir.display()
        )
    })?;
    out.flush()?;
    out.as_file().sync_all().ok();
    out.persist(&copy)
        .with_context(|| format!("cannot write {}", copy.display()))?;
    Ok(Some((copy, bytes)))
}

/// [`keep_in_session`] for the corpus a config names: `corpus` then names the copy.
/// Returns a line telling the user, when a copy was made.
///
/// Errors: as [`keep_in_session`].
pub fn keep_named(corpus: &mut Option<PathBuf>, session_dir: &Path) -> Result<Option<String>> {
    let Some(path) = corpus.as_ref() else {
        return Ok(None);
    };
    let Some((copy, bytes)) = keep_in_session(path, session_dir)? else {
        return Ok(None);
    };
    let note = format!(
        "corpus {} is a stream, readable once: the session keeps a copy ({}, {:.1} MB) to read again on resume, probes and fine-tuning",
        path.display(),
        copy.display(),
        bytes as f64 / 1e6
    );
    *corpus = Some(copy);
    Ok(Some(note))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_copied_once_and_a_file_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain.csv");
        std::fs::write(&file, "review\nfine\n").unwrap();
        assert!(!is_stream(&file));
        assert!(keep_in_session(&file, dir.path()).unwrap().is_none());
        assert!(!is_stream(dir.path()));
        assert!(!is_stream(&dir.path().join("missing.csv")));

        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo on a path in a temporary folder.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(is_stream(&fifo));
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::write(fifo, "review\nstreamed text\n").unwrap())
        };
        let (copy, bytes) = keep_in_session(&fifo, dir.path()).unwrap().unwrap();
        writer.join().unwrap();
        assert_eq!(copy, dir.path().join(COPY_FILE));
        assert_eq!(bytes, 21);
        assert_eq!(
            std::fs::read_to_string(&copy).unwrap(),
            "review\nstreamed text\n"
        );
        // Only the copy is left: no temporary file.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
        // A second stream gets a name of its own.
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::write(fifo, "review\nother\n").unwrap())
        };
        let (second, _) = keep_in_session(&fifo, dir.path()).unwrap().unwrap();
        writer.join().unwrap();
        assert_eq!(second, dir.path().join("corpus-2.csv"));
        assert_eq!(
            std::fs::read_to_string(&copy).unwrap(),
            "review\nstreamed text\n"
        );
    }
}
