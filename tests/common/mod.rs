//! Helpers shared by the integration tests that run the real binary.
// Each test crate uses a different subset.
#![allow(dead_code)]

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
