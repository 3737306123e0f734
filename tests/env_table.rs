//! docs/environment.md against the sources: every `BERTWORK_` environment variable the
//! code, build, tests and scripts name has a row in the table, and every `BERTWORK_`
//! row names one that is still used.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use regex::Regex;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The source files under `dir` (recursively) that can name an environment variable.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        // Links lead out of the tree (.libtorch); this file names made-up variables.
        if path.is_symlink() || path.ends_with("tests/env_table.rs") {
            continue;
        }
        if path.is_dir() {
            if !path.ends_with("tests/fixtures") {
                sources(&path, out);
            }
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| ["rs", "cpp", "h", "sh", "py"].contains(&e))
        {
            out.push(path);
        }
    }
}

/// `BERTWORK_` names in the sources, less the C macros `csrc/` defines
/// (`BERTWORK_PROTECT`), which are not environment variables.
fn names_in_sources() -> BTreeSet<String> {
    let mut files = Vec::new();
    for dir in ["src", "csrc", "tests", "scripts", "bench"] {
        sources(&root().join(dir), &mut files);
    }
    for file in ["build.rs", "Makefile", ".ci/run", ".cargo/config.toml"] {
        files.push(root().join(file));
    }
    let name = Regex::new(r"BERTWORK_[A-Z0-9_]+").unwrap();
    let define = Regex::new(r"#define\s+(BERTWORK_[A-Z0-9_]+)").unwrap();
    let (mut names, mut macros) = (BTreeSet::new(), BTreeSet::new());
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        names.extend(name.find_iter(&text).map(|m| m.as_str().to_string()));
        macros.extend(define.captures_iter(&text).map(|c| c[1].to_string()));
    }
    names.difference(&macros).cloned().collect()
}

/// The names in backquotes in the first column of the table's rows.
fn names_in_table(markdown: &str) -> BTreeSet<String> {
    let quoted = Regex::new(r"`([A-Z][A-Z0-9_]*)`").unwrap();
    markdown
        .lines()
        .filter_map(|line| line.strip_prefix('|'))
        .filter_map(|row| row.split('|').next())
        .flat_map(|cell| {
            quoted
                .captures_iter(cell)
                .map(|c| c[1].to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn every_bertwork_variable_has_a_row_in_docs_environment() {
    let table =
        names_in_table(&std::fs::read_to_string(root().join("docs/environment.md")).unwrap());
    let used = names_in_sources();
    assert!(
        used.contains("BERTWORK_HOME") && used.contains("BERTWORK_DIST_TIMEOUT"),
        "the source scan found too little: {used:?}"
    );
    let missing: Vec<_> = used.difference(&table).collect();
    assert!(
        missing.is_empty(),
        "docs/environment.md has no row for {missing:?}: add one (name, who reads or sets it, default, meaning)"
    );
    let stale: Vec<_> = table
        .iter()
        .filter(|n| n.starts_with("BERTWORK_") && !used.contains(*n))
        .collect();
    assert!(
        stale.is_empty(),
        "docs/environment.md lists {stale:?}, which no source names any more"
    );
}

#[test]
fn the_table_parser_reads_first_cells_only() {
    let markdown = "text `BERTWORK_PROSE`\n| variable | who |\n|---|---|\n| `BERTWORK_A`, `B_C` | `BERTWORK_SECOND_COLUMN` |\n";
    let names = names_in_table(markdown);
    assert_eq!(names.into_iter().collect::<Vec<_>>(), ["BERTWORK_A", "B_C"]);
}
