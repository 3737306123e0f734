//! A corpus split into shards: `--corpus` naming a folder (every visible file in it)
//! or a glob (`data/train-*.jsonl.gz`), read in name order as one corpus.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// Whether `path` is a glob pattern rather than a file name.
pub fn is_pattern(path: &Path) -> bool {
    let s = path.to_string_lossy();
    !path.exists() && s.contains(['*', '?', '['])
}

/// The files `path` names, in order: itself when a file (or a stream), the data files
/// of a folder written by `datasets.save_to_disk` (see [`saved_dataset`]), the visible
/// files of any other folder sorted by name, or a glob's matches sorted by name.
///
/// Errors: an empty folder, a glob that matches nothing, a bad glob, an unreadable
/// folder; each says which.
pub fn expand(path: &Path) -> Result<Vec<PathBuf>> {
    if is_pattern(path) {
        let pattern = path.to_string_lossy();
        let mut files: Vec<PathBuf> = glob::glob(&pattern)
            .with_context(|| format!("corpus pattern {pattern} is not a valid glob"))?
            .filter_map(|p| p.ok())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        if files.is_empty() {
            bail!("corpus pattern {pattern} matches no file; check the folder and the pattern (quote it so the shell leaves it to bertwork)");
        }
        return Ok(files);
    }
    if path.is_dir() {
        if let Some(files) = saved_dataset(path)? {
            return Ok(files);
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot read corpus folder {}", path.display()))?
            .filter_map(|e| e.ok())
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        if files.is_empty() {
            bail!(
                "corpus folder {} has no files; put the corpus shards in it, or pass a file",
                path.display()
            );
        }
        return Ok(files);
    }
    Ok(vec![path.to_path_buf()])
}

/// The Arrow files of a folder written by Hugging Face `datasets`' `save_to_disk`, in
/// the order its `state.json` lists them (`_data_files`); None for any other folder.
/// (`dataset_info.json` and `state.json` sit beside the data and are not corpus text.)
///
/// Errors: `state.json` is unreadable, or names a file that is missing.
fn saved_dataset(folder: &Path) -> Result<Option<Vec<PathBuf>>> {
    let state = folder.join("state.json");
    if !state.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&state)
        .with_context(|| format!("cannot read {}", state.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not JSON; a folder from datasets' save_to_disk has a state.json listing its data files",
            state.display()
        )
    })?;
    let Some(listed) = value["_data_files"].as_array() else {
        return Ok(None);
    };
    let mut files = Vec::with_capacity(listed.len());
    for entry in listed {
        let Some(name) = entry["filename"].as_str() else {
            bail!("{} lists a data file without a filename", state.display());
        };
        let file = folder.join(name);
        if !file.is_file() {
            bail!(
                "{} lists {name}, which is not in the folder; save the dataset again",
                state.display()
            );
        }
        files.push(file);
    }
    if files.is_empty() {
        bail!(
            "{} lists no data files: the dataset is empty",
            state.display()
        );
    }
    Ok(Some(files))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_and_globs_expand_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.jsonl", "a.jsonl", ".hidden", "c.txt"] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let names = |v: Vec<PathBuf>| -> Vec<String> {
            v.iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into())
                .collect()
        };
        assert_eq!(
            names(expand(dir.path()).unwrap()),
            ["a.jsonl", "b.jsonl", "c.txt"]
        );
        assert_eq!(
            names(expand(&dir.path().join("*.jsonl")).unwrap()),
            ["a.jsonl", "b.jsonl"]
        );
        let e = expand(&dir.path().join("*.parquet"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("matches no file"), "{e}");
        let empty = dir.path().join("sub");
        let e = expand(&empty).unwrap_err().to_string();
        assert!(e.contains("has no files"), "{e}");
        let one = dir.path().join("c.txt");
        assert_eq!(expand(&one).unwrap(), vec![one]);
    }
}
