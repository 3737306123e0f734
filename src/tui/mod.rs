//! The terminal workbench: ratatui + crossterm over the trainer thread's protocol.

pub mod app;
mod dashboard;
pub mod draw;
mod event_loop;
pub mod history;
pub mod hyper_panel;
pub mod log_panel;
mod overlay;
pub mod probe_panel;
#[cfg(test)]
mod snapshot_tests;
mod terminal;
mod theme;

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::TrainArgs;
use crate::session::Session;
use crate::train::{TrainSetup, TrainerHandle};

/// Opens the workbench on a new training run; falls back to headless output when
/// stdout is not a terminal.
pub fn run(args: &TrainArgs) -> Result<ExitCode> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        eprintln!("bertwork: not a terminal, so training headless (use --headless to say so)");
        return crate::headless::train(args);
    }
    let config = args.resolve()?;
    let session = Session::create(args.session.as_deref(), &config.model.preset)?;
    open(TrainSetup::fresh(config, session))
}

/// Opens the workbench on a prepared setup (a new run or a resume); headless output
/// when stdout is not a terminal.
pub fn open(setup: TrainSetup) -> Result<ExitCode> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        eprintln!("bertwork: not a terminal, so training headless (use --headless to say so)");
        return crate::headless::run(setup, false);
    }
    let log_file = setup.session.path("stderr.log");
    let handle = TrainerHandle::spawn(setup);
    let mut guard = terminal::TerminalGuard::enter(&log_file)?;
    let outcome = event_loop::run(guard.terminal(), &handle);
    drop(guard);
    let summary = outcome?;
    match summary {
        Some(s) => {
            if let Some(dir) = &s.session_dir {
                println!("session saved in {}", dir.display());
            }
            handle.join();
            Ok(ExitCode::SUCCESS)
        }
        None => {
            println!("quit without saving; earlier checkpoints stay in the session folder");
            // The trainer is mid-step; leave without waiting for it.
            std::process::exit(0);
        }
    }
}
