//! The downstream linear probe, run as a user runs it: labels found in the embedded
//! sample, the split written down, readings that do not change training, resume, the
//! strict split, and bad label columns refused in one line.

mod common;

use std::path::Path;

use common::{bertwork, metrics, QUICK_MODEL};

fn train(home: &Path, session: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["train", "--headless", "--session", session];
    args.extend_from_slice(QUICK_MODEL);
    args.extend_from_slice(extra);
    bertwork(home, &args)
}

fn rows(path: &Path) -> Vec<csv::StringRecord> {
    csv::Reader::from_path(path)
        .unwrap()
        .records()
        .map(|r| r.unwrap())
        .collect()
}

/// The embedded sample's sentiment per row (1-based).
fn corpus_labels() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/imdb_sample.csv");
    rows(&path).iter().map(|r| r[1].to_string()).collect()
}

#[test]
fn the_probe_reads_the_embedded_labels_without_changing_training() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let steps = ["--max-steps", "24", "--set", "train.eval_every=8"];
    let on = train(h, "on", &steps);
    assert!(
        on.status.success(),
        "{}",
        String::from_utf8_lossy(&on.stderr)
    );
    let off = train(
        h,
        "off",
        &[&steps[..], &["--label-column", "none"]].concat(),
    );
    assert!(
        off.status.success(),
        "{}",
        String::from_utf8_lossy(&off.stderr)
    );
    assert_eq!(metrics(h, "on"), metrics(h, "off"));
    let out = String::from_utf8_lossy(&on.stdout);
    assert!(
        out.contains("downstream probe on `sentiment` (2 classes: positive 1,000, negative 1,000), 2,000 documents, 5-fold"),
        "{out}"
    );
    assert!(out.contains("probe step      8 | mean-pooled"), "{out}");
    assert!(!String::from_utf8_lossy(&off.stdout).contains("probe step"));

    let dir = h.join("sessions/on");
    let split = rows(&dir.join("downstream_split.csv"));
    assert_eq!(split.len(), 2000);
    let labels = corpus_labels();
    for r in &split {
        let row: usize = r[0].parse().unwrap();
        assert_eq!(labels[row - 1], &r[1], "row {row}");
        assert!(r[2].parse::<usize>().unwrap() < 5);
        assert_eq!(&r[3], "true");
    }
    let readings = rows(&dir.join("downstream.csv"));
    let steps: Vec<&str> = readings.iter().map(|r| &r[0]).collect::<Vec<_>>();
    assert_eq!(steps, ["8", "16", "24"]);
    for r in &readings {
        let acc: f64 = r[3].parse().unwrap();
        assert!((0.3..=1.0).contains(&acc), "{acc}");
        assert_eq!(&r[7], "2000");
    }
    let setup: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("downstream.json")).unwrap()).unwrap();
    assert_eq!(setup["majority"]["accuracy"], 0.5);
    assert!(setup["tfidf"]["accuracy"].as_f64().unwrap() > 0.8);
    assert!(setup["untrained"]["accuracy"].as_f64().is_some());
}

#[test]
fn a_resume_continues_the_readings_and_keeps_the_baselines() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let first = train(
        h,
        "r",
        &["--max-steps", "16", "--set", "train.eval_every=8"],
    );
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let dir = h.join("sessions/r");
    let setup = std::fs::read(dir.join("downstream.json")).unwrap();
    let again = bertwork(h, &["resume", "r", "--headless", "--max-steps", "32"]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(std::fs::read(dir.join("downstream.json")).unwrap(), setup);
    let steps: Vec<String> = rows(&dir.join("downstream.csv"))
        .iter()
        .map(|r| r[0].to_string())
        .collect();
    assert_eq!(steps, ["8", "16", "24", "32"]);
    let refused = bertwork(
        h,
        &[
            "resume",
            "r",
            "--headless",
            "--set",
            "data.label_column=none",
        ],
    );
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("data.label_column"), "{err}");
}

#[test]
fn the_strict_split_keeps_the_test_fold_out_of_pretraining() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let out = train(
        h,
        "strict",
        &[
            "--max-steps",
            "8",
            "--json",
            "--set",
            "data.downstream_strict=true",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let started = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "started")
        .unwrap();
    let train_docs = started["train_documents"].as_u64().unwrap();
    let split = rows(&h.join("sessions/strict/downstream_split.csv"));
    let tested = split.iter().filter(|r| &r[3] == "true").count();
    assert_eq!(tested, 400);
    assert!(split
        .iter()
        .filter(|r| &r[3] == "true")
        .all(|r| &r[2] == "0"));
    // 1,900 documents outside the held-out split, less the test fold's outside it.
    assert!(train_docs < 1900 - 300, "{train_docs}");
    assert!(train_docs >= 1900 - 400, "{train_docs}");
}

fn corpus(dir: &Path, name: &str, rows: &[(String, String)]) -> String {
    let mut w = csv::Writer::from_path(dir.join(name)).unwrap();
    w.write_record(["text", "label"]).unwrap();
    for (t, l) in rows {
        w.write_record([t, l]).unwrap();
    }
    w.flush().unwrap();
    dir.join(name).to_string_lossy().into_owned()
}

#[test]
fn bad_label_columns_are_refused_in_one_line_and_leave_no_session() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let text = |i: usize| format!("Sentence number {i} is here. And another one follows it.");
    let many: Vec<_> = (0..300).map(|i| (text(i), format!("v{i}"))).collect();
    let one: Vec<_> = (0..300).map(|i| (text(i), "x".to_string())).collect();
    let few: Vec<_> = (0..300)
        .map(|i| (text(i), if i < 3 { "rare" } else { "common" }.to_string()))
        .collect();
    let cases = [
        (
            corpus(h, "many.csv", &many),
            "label",
            "more than 50 distinct values",
        ),
        (corpus(h, "one.csv", &one), "label", "has 1 class:"),
        (
            corpus(h, "few.csv", &few),
            "label",
            "class `rare` of column `label` has 3 labelled documents",
        ),
        (corpus(h, "one.csv", &one), "nope", "has no column `nope`"),
        (corpus(h, "one.csv", &one), "text", "is the text column"),
    ];
    for (i, (path, column, expected)) in cases.iter().enumerate() {
        let name = format!("bad{i}");
        let out = train(
            h,
            &name,
            &[
                "--corpus",
                path,
                "--text-column",
                "text",
                "--label-column",
                column,
            ],
        );
        assert_eq!(out.status.code(), Some(1), "{expected}");
        let err = String::from_utf8_lossy(&out.stderr);
        let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{err}");
        assert!(errors[0].contains(expected), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            !h.join("sessions").join(&name).exists(),
            "{name} was left behind"
        );
    }
    // Detection finds no class column in these: training goes on without a probe.
    let out = train(
        h,
        "auto",
        &[
            "--corpus",
            &cases[0].0,
            "--text-column",
            "text",
            "--max-steps",
            "2",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("downstream probe"));
}
