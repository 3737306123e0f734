//! The terminal workbench: ratatui + crossterm over the trainer thread's protocol.

pub mod app;
pub mod attention_panel;
mod compare_panel;
pub mod compare_view;
mod dashboard;
pub mod display;
mod downstream_panel;
pub mod draw;
mod event_loop;
mod heatmap;
pub mod hyper_panel;
mod keymap;
mod legend;
pub mod log_panel;
mod lr_preview;
pub mod neighbours_panel;
mod overlay;
pub mod probe_panel;
mod report_key;
#[cfg(test)]
mod snapshot_tests;
mod terminal;
mod text_box;
mod theme;
pub mod watch_panel;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{bail, Result};

use crate::protocol::FinishReason;
use crate::train::{TrainSetup, TrainerHandle};

/// Opens the workbench on a prepared setup (a new run or a resume); headless output
/// when stdout is not a terminal.
pub fn open(mut setup: TrainSetup) -> Result<ExitCode> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        eprintln!("bertwork: not a terminal, so training headless (use --headless to say so)");
        return crate::headless::run(setup, false);
    }
    if let Err(why) = crate::terminal_kind::full_screen_here() {
        eprintln!("bertwork: {why}, so training headless (use --headless to say so, or set TERM, e.g. TERM=xterm-256color, for the workbench)");
        return crate::headless::run(setup, false);
    }
    // Holds the session's lock until the process ends, even after the trainer thread.
    let session = setup.session.clone();
    setup.interactive = true;
    let log_file = setup.session.path("stderr.log");
    let handle = TrainerHandle::spawn(setup);
    let mut guard = terminal::TerminalGuard::enter(&log_file)?;
    let outcome = event_loop::run(guard.terminal(), &handle);
    drop(guard);
    let outcome = outcome?;
    let signal = outcome.signal;
    let Some(summary) = outcome.summary else {
        // A run left before its first checkpoint leaves no folder behind.
        session.discard_if_untrained();
        if let Some(signal) = signal {
            say(&format!(
                "{}: quit without saving; earlier checkpoints stay in the session folder",
                crate::signals::name(signal)
            ));
            crate::signals::exit_now(crate::signals::exit_status(signal));
        }
        say("quit without saving; earlier checkpoints stay in the session folder");
        // The trainer is mid-step; leave without waiting for it.
        crate::signals::exit_now(0);
    };
    handle.join();
    if summary.reason == FinishReason::Failed {
        // The workbench showed it; the normal screen keeps it, in full.
        bail!(
            "{}",
            summary
                .error
                .as_deref()
                .unwrap_or("training failed (see the Log panel)")
        );
    }
    if let Some(dir) = &summary.session_dir {
        say(&format!("session saved in {}", dir.display()));
    }
    Ok(match signal {
        Some(signal) => ExitCode::from(crate::signals::exit_status(signal)),
        None => ExitCode::SUCCESS,
    })
}

/// A line on stdout; a terminal that has gone away (SIGHUP) is not an error.
fn say(text: &str) {
    let _ = writeln!(std::io::stdout(), "{text}");
}
