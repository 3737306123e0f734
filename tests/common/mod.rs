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
