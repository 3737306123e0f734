//! The module graph has no circles: no top-level module of the crate reaches itself
//! through `crate::` paths, and no file inside a folder reaches itself through its
//! siblings. A circle means two concerns cannot be read, tested or changed apart (the
//! CLI once both defined the front ends' argument types and called those front ends).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file under `src/`: `src/tui/app/tests.rs` -> `[tui, app, tests]`,
/// `src/tui/mod.rs` -> `[tui]`, `src/lib.rs` -> `[]`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The module paths a source text names after `prefix` (`crate::` or `super::`),
/// up to `depth` segments: `crate::tui::app::App` at depth 2 -> `[tui, app]`.
fn named_paths(text: &str, prefix: &str, depth: usize) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices(prefix) {
        let rest = &text[at + prefix.len()..];
        let mut segments = Vec::new();
        let mut cursor = rest;
        while segments.len() < depth {
            let len = cursor
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(cursor.len());
            if len == 0 {
                break;
            }
            segments.push(cursor[..len].to_string());
            match cursor[len..].strip_prefix("::") {
                Some(next) => cursor = next,
                None => break,
            }
        }
        if !segments.is_empty() {
            out.push(segments);
        }
    }
    out
}

/// A circle in `edges`, as the list of nodes along it, if there is one.
fn find_circle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut circle = path[start..].to_vec();
            circle.push(node.to_string());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        if let Some(c) = visit(node, edges, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

/// Every source file's module path and code, comments left out: a doc link to a
/// sibling (`[`super::x`]`) names it without depending on it.
fn sources() -> Vec<(Vec<String>, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            let code: Vec<&str> = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect();
            (module_path(&src, f), code.join("\n"))
        })
        .collect()
}

#[test]
fn top_level_modules_form_no_circle() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, text) in sources() {
        let Some(me) = path.first() else { continue };
        for named in named_paths(&text, "crate::", 1) {
            if &named[0] != me {
                edges
                    .entry(me.clone())
                    .or_default()
                    .insert(named[0].clone());
            }
        }
    }
    assert!(edges.contains_key("commands"), "the graph was not read");
    assert_eq!(
        find_circle(&edges),
        None,
        "top-level modules import in a circle"
    );
    // The command line sits on top: nothing below it names it.
    for (from, to) in &edges {
        assert!(
            !to.contains("commands"),
            "`{from}` imports the command line"
        );
    }
}

#[test]
fn files_within_a_folder_form_no_circle() {
    let sources = sources();
    let folders: BTreeSet<Vec<String>> = sources
        .iter()
        .filter(|(p, _)| p.len() >= 2)
        .map(|(p, _)| p[..p.len() - 1].to_vec())
        .collect();
    for folder in folders {
        let children: BTreeSet<String> = sources
            .iter()
            .filter(|(p, _)| p.len() > folder.len() && p.starts_with(&folder))
            .map(|(p, _)| p[folder.len()].clone())
            .collect();
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (path, text) in &sources {
            if path.len() <= folder.len() || !path.starts_with(&folder) {
                continue;
            }
            let me = &path[folder.len()];
            let mut named: Vec<String> = named_paths(text, "crate::", folder.len() + 1)
                .into_iter()
                .filter(|n| n.len() == folder.len() + 1 && n.starts_with(&folder))
                .map(|n| n[folder.len()].clone())
                .collect();
            if path.len() == folder.len() + 1 {
                named.extend(
                    named_paths(text, "super::", 1)
                        .into_iter()
                        .map(|n| n[0].clone()),
                );
            }
            for n in named {
                if &n != me && children.contains(&n) {
                    edges.entry(me.clone()).or_default().insert(n);
                }
            }
        }
        assert_eq!(
            find_circle(&edges),
            None,
            "files in src/{} import in a circle",
            folder.join("/")
        );
    }
}

#[test]
fn a_circle_is_found_when_there_is_one() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.entry("a".into()).or_default().insert("b".into());
    edges.entry("b".into()).or_default().insert("c".into());
    assert_eq!(find_circle(&edges), None);
    edges.entry("c".into()).or_default().insert("a".into());
    assert_eq!(
        find_circle(&edges),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    assert_eq!(
        named_paths("use crate::tui::app::App; super::x", "crate::", 2),
        vec![vec!["tui".to_string(), "app".to_string()]]
    );
}
