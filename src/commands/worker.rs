//! Ranks > 0: join the group, take the run from rank 0, train without a front end and
//! write nothing to the session. Errors go to stderr with the rank's number (under
//! `--nproc`, into the rank's log file; under torchrun, to its console).

use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::distributed::{DataParallel, Rendezvous};
use crate::protocol::{Event, FinishReason};
use crate::session::Session;
use crate::train::run_spec::RunSpec;
use crate::train::{Start, TrainSetup, TrainerHandle};

/// Runs this process as rank `rdv.rank` (> 0) until rank 0 ends the run.
///
/// Errors: the rendezvous or rank 0's description failed.
pub fn run(rdv: Rendezvous) -> Result<ExitCode> {
    let rank = rdv.rank;
    // Stopping is rank 0's decision: it finishes the step, saves and tells every rank
    // to stop. A Ctrl-C or SIGTERM sent to all ranks at once (a terminal's process
    // group, torchrun passing a signal on) must not kill a rank before that. A rank 0
    // that dies ends the others through their connections (and, under `--nproc`,
    // the kernel's parent-death signal).
    // SAFETY: setting dispositions to SIG_IGN before any thread starts.
    unsafe {
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::signal(signal, libc::SIG_IGN);
        }
    }
    let dp = DataParallel::join(rdv, None)?;
    // The session files rank 0 sends live in a folder of this rank's own.
    let scratch = tempfile::Builder::new()
        .prefix(&format!("bertwork-rank-{rank}-"))
        .tempdir()
        .context("cannot create a temporary folder for the session files")?;
    let spec = RunSpec::receive(&dp.group, scratch.path()).map_err(|e| dp.failure(e, 0))?;
    let session = Session::scratch(&spec.session, scratch.path().to_path_buf());
    let handle = TrainerHandle::spawn(TrainSetup {
        config: spec.config,
        session,
        start: Start::FromRank0 {
            state: spec.resume.map(Box::new),
        },
        interactive: spec.interactive,
        data_parallel: Some(dp),
    });
    let mut code = ExitCode::FAILURE;
    for event in handle.events.iter() {
        match event {
            Event::Error { message } => {
                eprintln!(
                    "error: rank {rank}: {}",
                    crate::terminal_text::escape_lines(&message)
                );
            }
            Event::Finished(summary) if summary.reason != FinishReason::Failed => {
                code = ExitCode::SUCCESS;
            }
            _ => {}
        }
    }
    handle.join();
    Ok(code)
}
