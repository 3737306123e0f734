//! Bad input gets one clear error line and a non-zero exit, never a panic.

use std::path::Path;

mod common;
use common::bertwork;

/// Runs a command that must fail; returns its stderr after checking the basics.
fn fails(home: &Path, args: &[&str], expect: &[&str]) -> String {
    let out = bertwork(home, args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "{args:?} succeeded:\n{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{args:?} panicked:\n{stderr}"
    );
    assert!(
        stderr.contains("error: "),
        "{args:?}: no error line:\n{stderr}"
    );
    for e in expect {
        assert!(stderr.contains(e), "{args:?}: expected `{e}` in:\n{stderr}");
    }
    stderr
}

fn train_on(home: &Path, csv: &Path, extra: &[&str], expect: &[&str]) -> String {
    let corpus = csv.to_str().unwrap();
    let mut args = vec![
        "train",
        "--headless",
        "--corpus",
        corpus,
        "--max-steps",
        "1",
        "--session",
        "t",
    ];
    args.extend_from_slice(extra);
    let err = fails(home, &args, expect);
    assert!(
        !home.join("sessions/t").exists(),
        "a failed run left a session folder behind"
    );
    err
}

#[test]
fn corpus_problems() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let d = dir.path();

    train_on(
        &home,
        &d.join("nope.csv"),
        &[],
        &["nope.csv not found", "--corpus"],
    );

    let csv = d.join("cols.csv");
    std::fs::write(&csv, "text,label\n\"a b c.\",1\n").unwrap();
    train_on(
        &home,
        &csv,
        &[],
        &[
            "no column `review`",
            "columns found: text, label",
            "--text-column",
        ],
    );

    let csv = d.join("empty.csv");
    std::fs::write(&csv, "").unwrap();
    train_on(&home, &csv, &[], &["empty"]);

    let csv = d.join("header_only.csv");
    std::fs::write(&csv, "review,sentiment\n").unwrap();
    train_on(&home, &csv, &[], &["empty", "no row has text"]);

    let csv = d.join("latin1.csv");
    std::fs::write(
        &csv,
        b"review,sentiment\n\"fine.\",positive\n\"caf\xe9 au lait.\",negative\n",
    )
    .unwrap();
    train_on(&home, &csv, &[], &["row 2", "not valid UTF-8"]);

    let csv = d.join("ragged.csv");
    std::fs::write(
        &csv,
        "review,sentiment\n\"ok.\",positive\n\"broken\",negative,extra\n",
    )
    .unwrap();
    train_on(&home, &csv, &[], &["row 2", "3 fields", "header has 2"]);

    let csv = d.join("small.csv");
    let rows: String = (0..12)
        .map(|i| format!("\"Review {i} is here. It has two sentences.\",positive\n"))
        .collect();
    std::fs::write(&csv, format!("review,sentiment\n{rows}")).unwrap();
    train_on(&home, &csv, &[], &["12 documents", "held-out"]);
}

#[test]
fn config_problems() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    fails(
        home,
        &["train", "--headless", "--set", "train.lrr=1"],
        &["train.lrr", "allowed in [train]"],
    );
    fails(
        home,
        &["train", "--headless", "--set", "train.lr=-3"],
        &["train.lr", "must be"],
    );
    fails(
        home,
        &["train", "--headless", "--set", "train.batch_size=lots"],
        &["train.batch_size"],
    );
    fails(
        home,
        &["train", "--headless", "--preset", "huge"],
        &["huge", "tiny, mini"],
    );
    fails(
        home,
        &["train", "--headless", "--config", "/no/such.toml"],
        &["/no/such.toml"],
    );
    let bad = home.join("bad.toml");
    std::fs::write(&bad, "[data]\nmask_prob = 2.0\n").unwrap();
    fails(
        home,
        &["train", "--headless", "--config", bad.to_str().unwrap()],
        &["data.mask_prob", "(0, 1)"],
    );
    assert!(
        !home.join("sessions").exists()
            || std::fs::read_dir(home.join("sessions")).unwrap().count() == 0
    );
}

#[test]
fn probe_problems() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    fails(
        home,
        &["probe", "--session", "x", "no mask here"],
        &["no [MASK]"],
    );
    fails(
        home,
        &["probe", "--session", "ghost", "a [MASK] b"],
        &["no session named `ghost`", "sessions: none yet"],
    );
}

#[test]
fn params_of_bert_base() {
    let dir = tempfile::tempdir().unwrap();
    let out = bertwork(
        dir.path(),
        &["params", "--preset", "base", "--vocab", "30522"],
    );
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "110,106,428");
}
