//! Helpers shared by the integration tests that run the real binary.
// Each test crate uses a different subset.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

/// `bertwork` with its sessions under `home`.
pub fn command(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bertwork"));
    c.env("BERTWORK_HOME", home);
    c
}

/// Runs `bertwork args...` to the end.
pub fn bertwork(home: &Path, args: &[&str]) -> Output {
    command(home).args(args).output().expect("running bertwork")
}

/// A small, quick model (1 layer, 64 wide, sequences of 48, vocabulary of 1,000) on
/// one CPU thread, logging every step.
/// A fine-tuning recipe small enough for the suite: short documents, one epoch.
pub const QUICK_RECIPE: &[&str] = &[
    "--set",
    "finetune.epochs=1",
    "--set",
    "finetune.max_seq_len=32",
    "--set",
    "finetune.batch_size=64",
];

pub const QUICK_MODEL: &[&str] = &[
    "--set",
    "model.layers=1",
    "--set",
    "model.hidden=64",
    "--set",
    "model.heads=2",
    "--set",
    "data.max_seq_len=48",
    "--set",
    "train.batch_size=16",
    "--set",
    "train.log_every=1",
    "--set",
    "train.threads=1",
    "--set",
    "train.device=\"cpu\"",
    "--set",
    "data.vocab_size=1000",
];

/// (split, step) -> the metric columns, from metrics.csv; fails on duplicates.
pub fn metrics(home: &Path, session: &str) -> BTreeMap<(String, u64), Vec<String>> {
    let path = home.join("sessions").join(session).join("metrics.csv");
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let keep = [
        "mlm_loss",
        "mlm_acc",
        "nsp_loss",
        "nsp_acc",
        "lr",
        "grad_norm",
    ];
    let cols: Vec<usize> = keep
        .iter()
        .map(|k| headers.iter().position(|h| h == *k).unwrap())
        .collect();
    let mut out = BTreeMap::new();
    for row in reader.records() {
        let row = row.expect("no torn rows");
        let key = (row[2].to_string(), row[0].parse().unwrap());
        let values = cols.iter().map(|&c| row[c].to_string()).collect();
        assert!(
            out.insert(key.clone(), values).is_none(),
            "duplicated row {key:?} in {}",
            path.display()
        );
    }
    out
}
