//! Termination signals, handled by both front ends like Ctrl-C: the first one stops
//! training gracefully (finish the step, checkpoint, exit), a second one exits at once.
//!
//! Job schedulers, `docker stop`, systemd and `timeout` send SIGTERM; closing a
//! terminal or losing an SSH connection sends SIGHUP. signal-hook's iterator turns each
//! delivery into a message on a channel, so no work happens in the signal handler.

use anyhow::{Context, Result};
use crossbeam_channel::{unbounded, Receiver};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// The signals treated as "stop and save".
pub const TERMINATION: [i32; 3] = [SIGINT, SIGTERM, SIGHUP];

/// Starts listening: each termination signal delivered to the process arrives as its
/// number. Installing the handlers replaces the default action (dying at once).
///
/// Errors: the handlers cannot be registered.
pub fn listen() -> Result<Receiver<i32>> {
    forward(&TERMINATION, "bertwork-signals")
}

/// Each delivery of one of `signals` as its number on a channel, from a thread `name`.
fn forward(signals: &[i32], name: &str) -> Result<Receiver<i32>> {
    let mut signals = Signals::new(signals).context("cannot install signal handlers")?;
    let (tx, rx) = unbounded();
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            for signal in signals.forever() {
                if tx.send(signal).is_err() {
                    return;
                }
            }
        })
        .context("cannot start the signal thread")?;
    Ok(rx)
}

/// Starts listening for job control in the workbench: SIGTSTP (a stop asked for from
/// outside, `kill -TSTP`; Ctrl-Z itself arrives as a key in raw mode) and SIGCONT (the
/// process was continued). Handling SIGTSTP replaces its default action, so the
/// workbench can give the terminal back before it stops itself.
///
/// Errors: the handlers cannot be registered.
pub fn listen_job_control() -> Result<Receiver<i32>> {
    forward(
        &[signal_hook::consts::SIGTSTP, signal_hook::consts::SIGCONT],
        "bertwork-jobctl",
    )
}

/// A run ended by a termination signal before it trained: an error that says so in
/// `message` and makes `main` exit with [`exit_status`]`(signal)` instead of 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    pub signal: i32,
    pub message: String,
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Stopped {}

/// `SIGTERM` for 15, ...
pub fn name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}

/// The exit status of a run stopped by `signal`: 128 + its number, the shell's
/// convention (130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP), whether it saved first
/// or was stopped at once by a second signal.
pub fn exit_status(signal: i32) -> u8 {
    (128 + signal).clamp(0, 255) as u8
}

/// Ends the process at once with `status`, for "quit without saving": stdout and
/// stderr are flushed, then `_exit` skips the exit-time destructors, which would tear
/// libtorch down under a trainer thread that is mid-step (and make it report a crash).
pub fn exit_now(status: u8) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: _exit ends the process without running anything else.
    unsafe { libc::_exit(status.into()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_statuses_follow_the_shell_convention() {
        assert_eq!(exit_status(SIGINT), 130);
        assert_eq!(exit_status(SIGTERM), 143);
        assert_eq!(exit_status(SIGHUP), 129);
        assert_eq!(name(SIGHUP), "SIGHUP");
    }
}
