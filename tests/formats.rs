//! Corpus formats written by their own ecosystems' tools (`scripts/make_format_fixtures.py`:
//! Python's csv, json and gzip; the zstd command line) train with the same documents,
//! sentences and tokens as the equivalent CSV; bad files get one line that says where.

mod common;

use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/formats")
        .join(name)
}

/// `bertwork train --headless` for one step on `corpus`, QUICK_MODEL, then `extra`.
fn train(home: &Path, session: &str, corpus: &Path, extra: &[&str]) -> std::process::Output {
    let corpus = corpus.to_str().unwrap();
    let mut args = vec![
        "train",
        "--headless",
        "--session",
        session,
        "--max-steps",
        "1",
    ];
    args.extend(["--corpus", corpus]);
    args.extend(common::QUICK_MODEL);
    args.extend(extra);
    common::bertwork(home, &args)
}

/// Runs one step on `corpus` with `extra` options; returns the `started` event and the
/// `downstream_setup` event (if any), or stderr on failure.
fn start(
    home: &Path,
    session: &str,
    corpus: &Path,
    extra: &[&str],
) -> Result<(serde_json::Value, Option<serde_json::Value>), String> {
    let mut with = vec!["--json", "--set", "data.heldout_fraction=0.2"];
    with.extend(extra);
    let out = train(home, session, corpus, &with);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    if !out.status.success() {
        return Err(stderr);
    }
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let find = |name: &str| events.iter().find(|e| e["event"] == name).cloned();
    Ok((
        find("started").expect("a started event"),
        find("downstream_setup"),
    ))
}

/// What must match between a format and its equivalent CSV.
fn counts(started: &serde_json::Value) -> [u64; 4] {
    ["documents", "sentences", "tokens", "train_examples"].map(|k| {
        started[k]
            .as_u64()
            .unwrap_or_else(|| panic!("no {k} in {started}"))
    })
}

#[test]
fn every_format_trains_the_documents_of_its_equivalent_csv() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let (csv, labels) = start(home, "csv", &fixture("reviews.csv"), &[]).unwrap();
    let want = counts(&csv);
    assert_eq!(want[0], 120);
    assert_eq!(labels.unwrap()["documents"], 120);
    let cases: [(&str, &str, &[&str]); 10] = [
        ("tsv", "reviews.tsv", &[]),
        ("txt", "reviews.txt", &[]),
        ("zst", "reviews.csv.zst", &[]),
        (
            "jsonl-gz",
            "reviews.jsonl.gz",
            &["--text-column", "text", "--label-column", "meta.label"],
        ),
        ("shards", "shards", &["--text-column", "text"]),
        // Written by pyarrow: snappy pages in row groups of 50, zstd pages, and an
        // Arrow IPC file gzipped whole; the label is a field of a struct column.
        (
            "parquet",
            "reviews.parquet",
            &["--label-column", "meta.label"],
        ),
        ("parquet-zstd", "reviews-zstd.parquet", &[]),
        (
            "arrow-gz",
            "reviews.arrow.gz",
            &["--label-column", "meta.label"],
        ),
        // Written by `datasets`: save_to_disk's folder (two Arrow stream shards and
        // its state.json) and to_parquet, each with a ClassLabel label column.
        ("saved", "saved", &["--text-column", "text"]),
        ("hub", "hub.parquet", &["--text-column", "text"]),
    ];
    for (session, file, extra) in cases {
        let (started, labels) =
            start(home, session, &fixture(file), extra).unwrap_or_else(|e| panic!("{file}: {e}"));
        if session == "shards" {
            // 3 shards of 40: the same 120 documents, the same tokens.
            assert!(
                started["corpus"].as_str().unwrap().contains("3 shards"),
                "{started}"
            );
        }
        assert_eq!(counts(&started), want, "{file}: {started}");
        if ["saved", "hub", "parquet", "arrow-gz"].contains(&session) {
            // ClassLabel integers are named as `datasets` named them; the struct
            // field holds the names themselves: the same classes as the CSV's.
            let labels = labels
                .as_ref()
                .unwrap_or_else(|| panic!("{file}: no labels found"));
            assert_eq!(
                labels["classes"],
                serde_json::json!([["positive", 61], ["negative", 59]]),
                "{file}: {labels}"
            );
        }
        if session == "jsonl-gz" {
            let labels = labels.expect("labels from meta.label");
            assert_eq!(labels["documents"], 120, "{labels}");
            assert!(
                started["corpus"]
                    .as_str()
                    .unwrap()
                    .contains("(jsonl, gzip)"),
                "{started}"
            );
        }
    }
    // A glob of the same shards, quoted so the shell leaves it to bertwork.
    let glob = fixture("shards").join("part-*.jsonl");
    let (started, _) = start(home, "glob", &glob, &["--text-column", "text"]).unwrap();
    assert_eq!(counts(&started), want);
    // BERT's sentence-per-line layout keeps each line a sentence, as paragraph breaks
    // in the equivalent CSV do.
    let (lines, _) = start(home, "sentences", &fixture("sentences.txt"), &[]).unwrap();
    let (joined, _) = start(home, "sentences-csv", &fixture("sentences.csv"), &[]).unwrap();
    assert_eq!(counts(&lines), counts(&joined));
    assert!(
        lines["corpus"].as_str().unwrap().contains("(sentences)"),
        "{lines}"
    );
    // --format overrides what the extension says.
    let renamed = dir.path().join("reviews.data");
    std::fs::copy(fixture("reviews.txt"), &renamed).unwrap();
    let (text, _) = start(home, "forced", &renamed, &["--format", "text"]).unwrap();
    assert_eq!(counts(&text), want);
    let config = std::fs::read_to_string(home.join("sessions/forced/config.toml")).unwrap();
    assert!(config.contains("format = \"text\""), "{config}");
}

/// Runs `train` on `corpus` as a person would (no --json); returns stderr, which
/// must be a failure's.
fn fail(home: &Path, session: &str, corpus: &Path, extra: &[&str]) -> String {
    let out = train(home, session, corpus, extra);
    assert!(!out.status.success(), "{} should fail", corpus.display());
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    // The error line, after any progress lines (which name phases, not errors).
    stderr
        .lines()
        .filter(|l| !l.starts_with("preparing the corpus"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn bad_files_say_where_in_one_line_and_leave_no_session() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let gz = std::fs::read(fixture("reviews.jsonl.gz")).unwrap();
    let parquet = std::fs::read(fixture("reviews.parquet")).unwrap();
    let arrow = std::fs::read(fixture("reviews.arrow.gz")).unwrap();
    let cases: Vec<(PathBuf, Vec<&str>, &str)> = vec![
        (
            write("cut.jsonl.gz", &gz[..gz.len() / 2]),
            vec!["--text-column", "text"],
            "is truncated or damaged (gzip stream",
        ),
        (
            write("bad.jsonl", b"{\"text\": \"fine\"}\n{\"text\": oops}\n"),
            vec!["--text-column", "text"],
            "line 2 is not JSON",
        ),
        (
            write(
                "nofield.jsonl",
                b"{\"text\": \"fine\"}\n{\"body\": \"x\"}\n",
            ),
            vec!["--text-column", "text"],
            "line 2 has no field `text` (fields: body)",
        ),
        (
            fixture("hub.parquet"),
            vec![],
            "hub.parquet has no column `review`; columns found: text, label",
        ),
        (
            write("cut.parquet", &parquet[..parquet.len() / 2]),
            vec![],
            "cut.parquet is not a readable parquet file",
        ),
        (
            write("csv.parquet", b"review\nnot parquet at all\n"),
            vec![],
            "csv.parquet is not a readable parquet file",
        ),
        (
            write("cut.arrow.gz", &arrow[..arrow.len() / 2]),
            vec![],
            "cut.arrow.gz is truncated or damaged (gzip stream",
        ),
        (
            write("fake.csv.gz", b"\x1f\x8bnot really gzip at all"),
            vec![],
            "is truncated or damaged",
        ),
        (
            write("binary.txt", &[0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 1, 2]),
            vec![],
            "byte 4 is NUL",
        ),
        (
            dir.path().join("nothing-*.jsonl"),
            vec![],
            "matches no file",
        ),
        (
            write("mixed/a.csv", b"review\nfine text here\n")
                .parent()
                .unwrap()
                .to_path_buf(),
            vec![],
            "",
        ),
    ];
    // A folder whose shards have different columns: the second lacks the text column.
    write("mixed/b.csv", b"body\nother text\n");
    std::fs::create_dir_all(dir.path().join("empty")).unwrap();
    let mut cases = cases;
    cases.last_mut().unwrap().2 = "mixed/b.csv has no column `review`";
    cases.push((dir.path().join("empty"), vec![], "has no files"));
    for (i, (path, extra, want)) in cases.iter().enumerate() {
        let session = format!("bad-{i}");
        let err = fail(&home, &session, path, extra);
        assert!(
            err.contains(want),
            "{}: want `{want}` in:\n{err}",
            path.display()
        );
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(
            !home.join("sessions").join(&session).exists(),
            "{session} left behind"
        );
    }
}

/// A session trained on a folder of shards resumes exactly while the shards stay, and
/// refuses, in one line, when a shard was added, removed or changed.
#[test]
fn a_changed_set_of_shards_is_caught_on_resume() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let shards = dir.path().join("shards");
    std::fs::create_dir_all(&shards).unwrap();
    for entry in std::fs::read_dir(fixture("shards")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), shards.join(entry.file_name())).unwrap();
    }
    start(&home, "sharded", &shards, &["--text-column", "text"]).unwrap();
    let resume = || {
        let out = common::bertwork(
            &home,
            &["resume", "sharded", "--headless", "--max-steps", "2"],
        );
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let extra = shards.join("part-003.jsonl");
    std::fs::write(&extra, "{\"text\": \"one more review , added later .\"}\n").unwrap();
    let (ok, err) = resume();
    assert!(
        !ok && err.contains("has changed since session `sharded`"),
        "{err}"
    );
    std::fs::remove_file(&extra).unwrap();
    let (ok, err) = resume();
    assert!(ok, "{err}");
}
