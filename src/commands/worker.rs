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
    // group, torchrun passing a signal on) must not kill a rank before that, so once
    // joined a signal only starts a wait for rank 0's stop, bounded by the group's
    // timeout; a second signal ends the rank at once. While joining there is nothing
    // to wait for: a signal ends the join (`ProcessGroup::connect`). A rank 0 that dies
    // ends the others through their connections (and, under `--nproc`, the kernel's
    // parent-death signal).
    let dp = DataParallel::join(rdv, None)?;
    honour_signals(rank, dp.group.timeout)?;
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

/// Watches termination signals once the rank trains: the first one gives rank 0
/// `grace` to stop the run (it saw the signal too, or will hear of it), then ends this
/// rank; a second one ends it at once. Either way with one line and 128 + the signal.
fn honour_signals(rank: usize, grace: std::time::Duration) -> Result<()> {
    let signals = crate::signals::listen()?;
    std::thread::Builder::new()
        .name("bertwork-rank-signals".into())
        .spawn(move || {
            let Ok(first) = signals.recv() else { return };
            let name = crate::signals::name(first);
            let (signal, how) = match signals.recv_timeout(grace) {
                Ok(second) => (second, "a second signal"),
                Err(_) => (first, "rank 0 did not stop the run in time"),
            };
            eprintln!(
                "error: rank {rank}: stopped by {name} ({how}; rank 0 keeps the session's last checkpoint)"
            );
            crate::signals::exit_now(crate::signals::exit_status(signal));
        })
        .context("cannot start the signal thread")?;
    Ok(())
}
