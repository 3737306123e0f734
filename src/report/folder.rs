//! Putting a report's files in place whole: they are written into a fresh folder
//! beside the destination, which then takes the destination's name by rename. A
//! folder that an earlier report wrote is replaced the same way; any other folder
//! with something in it is left alone and refused.

use std::path::Path;

use anyhow::{bail, Context, Result};

use super::html::is_report_page;

/// The page that marks a folder as a report.
pub const INDEX: &str = "index.html";

/// Whether the existing folder `dir` may be replaced: it is empty, or an earlier
/// report (its `index.html` says so).
fn replaceable(dir: &Path) -> Result<bool> {
    let mut entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    if entries.next().is_none() {
        return Ok(true);
    }
    Ok(std::fs::read_to_string(dir.join(INDEX)).is_ok_and(|page| is_report_page(&page)))
}

/// Writes `files` (name, bytes) as the folder `out`: all of them or, on any failure,
/// none (what was at `out` before stays).
///
/// Errors: `out` is a file, or a folder with other things than an earlier report in
/// it; its parent cannot be created or written to.
pub fn publish(out: &Path, files: &[(String, Vec<u8>)]) -> Result<()> {
    let cannot = |what: &str| {
        format!(
            "cannot write the report to {}: {what}; choose a folder you can write to with --out",
            out.display()
        )
    };
    if out.is_file() {
        bail!(
            "cannot write the report to {}: it is a file; choose a folder with --out",
            out.display()
        );
    }
    if out.is_dir() && !replaceable(out)? {
        bail!(
            "{} already holds files that are not a bertwork report (no {INDEX} written by one); choose a new or empty folder with --out",
            out.display()
        );
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).with_context(|| cannot("its parent cannot be created"))?;
    // `.tmp-` names are what a fork skips when it copies a session folder.
    let fresh = tempfile::Builder::new()
        .prefix(".tmp-report-")
        .tempdir_in(&parent)
        .with_context(|| cannot("no new folder can be made beside it"))?;
    for (name, bytes) in files {
        let path = fresh.path().join(name);
        std::fs::write(&path, bytes)
            .with_context(|| cannot(&format!("{name} cannot be written")))?;
    }
    {
        use std::os::unix::fs::PermissionsExt;
        // A temporary folder is private (0700); a report is for reading (0755).
        std::fs::set_permissions(fresh.path(), std::fs::Permissions::from_mode(0o755))
            .with_context(|| cannot("its permissions cannot be set"))?;
    }
    if let Ok(f) = std::fs::File::open(fresh.path()) {
        let _ = f.sync_all();
    }
    let fresh = fresh.keep();
    let swap = || -> Result<()> {
        if out.is_dir() {
            // The earlier report moves aside, the new one takes its name, the earlier
            // one goes.
            let old = tempfile::Builder::new()
                .prefix(".tmp-report-old-")
                .tempdir_in(&parent)?
                .keep();
            std::fs::rename(out, old.join("report"))?;
            if let Err(e) = std::fs::rename(&fresh, out) {
                let _ = std::fs::rename(old.join("report"), out);
                let _ = std::fs::remove_dir_all(&old);
                return Err(e.into());
            }
            let _ = std::fs::remove_dir_all(&old);
        } else {
            std::fs::rename(&fresh, out)?;
        }
        Ok(())
    };
    if let Err(e) = swap() {
        let _ = std::fs::remove_dir_all(&fresh);
        return Err(e).with_context(|| cannot("the finished folder cannot be moved into place"));
    }
    if let Ok(f) = std::fs::File::open(&parent) {
        let _ = f.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Vec<u8> {
        format!(
            "<meta name=\"generator\" content=\"{}\">",
            super::super::html::GENERATOR
        )
        .into_bytes()
    }

    #[test]
    fn a_report_replaces_an_earlier_one_whole_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a/report");
        publish(
            &out,
            &[(INDEX.into(), page()), ("old.svg".into(), b"1".to_vec())],
        )
        .unwrap();
        publish(
            &out,
            &[(INDEX.into(), page()), ("new.svg".into(), b"2".to_vec())],
        )
        .unwrap();
        let mut names: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["index.html", "new.svg"], "the earlier files went");
        // Nothing left beside it.
        let beside: Vec<_> = std::fs::read_dir(dir.path().join("a")).unwrap().collect();
        assert_eq!(beside.len(), 1);

        // A folder of other files is refused and untouched.
        let other = dir.path().join("mine");
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join("notes.txt"), "keep").unwrap();
        let err = format!(
            "{:#}",
            publish(&other, &[(INDEX.into(), page())]).unwrap_err()
        );
        assert!(err.contains("not a bertwork report"), "{err}");
        assert_eq!(
            std::fs::read_to_string(other.join("notes.txt")).unwrap(),
            "keep"
        );
        assert!(!other.join(INDEX).exists());

        // A file is refused.
        let file = dir.path().join("f");
        std::fs::write(&file, "x").unwrap();
        assert!(publish(&file, &[]).is_err());
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
    }
}
