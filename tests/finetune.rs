//! `bertwork finetune` as a user runs it: a classifier session from a pretraining
//! session, scored on the probe's folds, resumed after `kill -9` with the same result,
//! probed and exported; bad requests refused in one line.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{bertwork, command, QUICK_MODEL, QUICK_RECIPE};

fn pretrain(home: &Path, name: &str, extra: &[&str]) {
    let mut args = vec![
        "train",
        "--headless",
        "--session",
        name,
        "--max-steps",
        "10",
    ];
    args.extend_from_slice(QUICK_MODEL);
    args.extend_from_slice(extra);
    let out = bertwork(home, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn state(home: &Path, name: &str) -> serde_json::Value {
    let path = home.join("sessions").join(name).join("finetune.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn finetune(home: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["finetune"];
    all.extend_from_slice(args);
    all.extend_from_slice(QUICK_RECIPE);
    bertwork(home, &all)
}

#[test]
fn a_fine_tune_resumed_after_kill_gives_the_uninterrupted_result() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    pretrain(h, "p", &[]);
    let whole = finetune(h, &["p", "--session", "whole", "--folds", "3"]);
    assert!(
        whole.status.success(),
        "{}",
        String::from_utf8_lossy(&whole.stderr)
    );
    let out = String::from_utf8_lossy(&whole.stdout);
    assert!(out.contains("fine-tuned accuracy"), "{out}");
    assert!(out.contains("against TF-IDF"), "{out}");
    let done = state(h, "whole");
    assert_eq!(done["done"].as_array().unwrap().len(), 3);
    assert_eq!(done["accuracy"]["documents"], 1200);

    // The same fine-tune, killed once its first fold is saved, then resumed.
    let mut args = vec!["finetune", "p", "--session", "killed", "--folds", "3"];
    args.extend_from_slice(QUICK_RECIPE);
    let mut child = command(h)
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let path = h.join("sessions/killed/finetune.json");
    let started = Instant::now();
    loop {
        let folds = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .map_or(0, |v| v["done"].as_array().map_or(0, Vec::len));
        if folds >= 1 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no fold finished"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let resumed = bertwork(h, &["resume", "killed"]);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let killed = state(h, "killed");
    let correct = |v: &serde_json::Value| -> Vec<u64> {
        v["done"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["correct"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(correct(&killed), correct(&done));
    assert_eq!(killed["accuracy"], done["accuracy"]);

    // The classifier answers with probabilities over the corpus's classes.
    let probe = bertwork(
        h,
        &["probe", "--session", "whole", "--json", "a wonderful film"],
    );
    assert!(
        probe.status.success(),
        "{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&probe.stdout).unwrap();
    let scores: Vec<f64> = answer
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["score"].as_f64().unwrap())
        .collect();
    assert_eq!(scores.len(), 2);
    assert!((scores.iter().sum::<f64>() - 1.0).abs() < 1e-6);

    // Exported as HF's BertForSequenceClassification with the labels.
    let dir = h.join("hf");
    let export = bertwork(h, &["export", "whole", "--hf", dir.to_str().unwrap()]);
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["architectures"][0], "BertForSequenceClassification");
    let labels: Vec<&str> = ["0", "1"]
        .iter()
        .map(|i| config["id2label"][i].as_str().unwrap())
        .collect();
    let mut sorted = labels.clone();
    sorted.sort();
    assert_eq!(sorted, ["negative", "positive"]);
    for file in [
        "model.safetensors",
        "vocab.txt",
        "tokenizer.json",
        "tokenizer_config.json",
    ] {
        assert!(dir.join(file).exists(), "{file}");
    }

    // The exported folder imports as a classifier session that answers the same.
    let import = bertwork(
        h,
        &["import-hf", dir.to_str().unwrap(), "--session", "back"],
    );
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    assert!(String::from_utf8_lossy(&import.stdout).contains("a classifier of 2 classes"));
    let scores_of = |name: &str| -> Vec<(String, f64)> {
        let out = bertwork(
            h,
            &["probe", "--session", name, "--json", "a wonderful film"],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut s: Vec<(String, f64)> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["label"].as_str().unwrap().to_string(),
                    p["score"].as_f64().unwrap(),
                )
            })
            .collect();
        s.sort_by(|a, b| a.0.cmp(&b.0));
        s
    };
    let (original, imported) = (scores_of("whole"), scores_of("back"));
    for (a, b) in original.iter().zip(&imported) {
        assert_eq!(a.0, b.0);
        assert!((a.1 - b.1).abs() < 1e-6, "{original:?} vs {imported:?}");
    }
    // Nothing to continue or fine-tune in it: one line each.
    for args in [vec!["resume", "back"], vec!["finetune", "back"]] {
        let out = bertwork(h, &args);
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains("imported from"), "{err}");
    }
}

#[test]
fn bad_fine_tunes_are_refused_in_one_line() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    pretrain(h, "nolabels", &["--label-column", "none"]);
    pretrain(h, "p", &[]);
    let ft = finetune(h, &["p", "--session", "c", "--folds", "1"]);
    assert!(
        ft.status.success(),
        "{}",
        String::from_utf8_lossy(&ft.stderr)
    );
    let cases: [(&[&str], &str); 6] = [
        (&["finetune", "nolabels"], "has no labels to fine-tune on"),
        (&["finetune", "c"], "is a classifier session"),
        (
            &["finetune", "p", "--set", "train.lr=1"],
            "a fine-tune takes finetune.KEY=VALUE",
        ),
        (
            &["finetune", "p", "--at", "7"],
            "has no checkpoint of step 7",
        ),
        (&["finetune", "p", "--session", "c"], "already exists"),
        (
            &["resume", "c", "--set", "train.lr=1e-4"],
            "is a classifier session",
        ),
    ];
    for (args, expected) in cases {
        let out = bertwork(h, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(lines.len(), 1, "{err}");
        assert!(lines[0].contains(expected), "{args:?}: {err}");
    }
    assert!(!h.join("sessions/nolabels-ft").exists());
}
