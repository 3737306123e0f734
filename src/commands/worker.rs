//! Ranks > 0: join the group, take the run from rank 0, train without a front end and
//! write nothing to the session. Errors go to stderr with the rank's number (under
//! `--nproc`, into the rank's log file; under torchrun, to its console).

use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::config::per_rank::{self, Ignored};
use crate::config::Config;
use crate::distributed::{DataParallel, Rendezvous};
use crate::protocol::{Event, FinishReason};
use crate::session::Session;
use crate::train::run_spec::RunSpec;
use crate::train::{Start, TrainSetup, TrainerHandle};

/// What this rank's own command line asked for, to set against rank 0's config
/// ([`crate::config::per_rank`]).
pub enum OwnOptions {
    /// `train`/`tui`: the config it resolves to, and the keys it sets.
    Resolved {
        config: Box<Config>,
        explicit: Vec<String>,
    },
    /// `resume`/`fork`: `key=value` changes to the session's config.
    Sets(Vec<String>),
}

impl OwnOptions {
    /// The options of `command` (none for the workbench's default launch).
    ///
    /// Errors: a config file or `--set` that does not parse.
    pub fn of(command: Option<&super::Commands>) -> Result<Self> {
        use super::Commands;
        Ok(match command {
            Some(Commands::Train(a)) | Some(Commands::Tui(a)) => {
                let config = Box::new(a.resolve()?);
                let base = super::TrainArgs::default().resolve()?;
                let explicit = crate::config::per_rank::explicit_keys(&config, &base)?;
                Self::Resolved { config, explicit }
            }
            Some(Commands::Resume(a)) => {
                let mut sets = a.run.overrides();
                sets.extend(a.set.iter().cloned());
                Self::Sets(sets)
            }
            Some(Commands::Fork(a)) => {
                let mut sets = a.run.overrides();
                sets.extend(a.set.iter().cloned());
                Self::Sets(sets)
            }
            _ => Self::Sets(Vec::new()),
        })
    }

    /// Rank 0's `config` with this rank's own machine keys, and what was ignored.
    fn apply(&self, rank0: &Config) -> Result<(Config, Vec<Ignored>)> {
        match self {
            Self::Resolved { config, explicit } => {
                // A corpus that is not a file here (a pipe rank 0 copied into its
                // session, as under `--nproc` with `--corpus <(...)`) is rank 0's.
                let readable = config.data.corpus.as_deref().is_some_and(|p| p.is_file());
                let explicit: Vec<String> = explicit
                    .iter()
                    .filter(|k| readable || k.as_str() != "data.corpus")
                    .cloned()
                    .collect();
                per_rank::merge(rank0, config, &explicit)
            }
            Self::Sets(sets) => {
                let own = rank0.with_overrides(sets)?;
                let explicit = per_rank::explicit_keys(&own, rank0)?;
                per_rank::merge(rank0, &own, &explicit)
            }
        }
    }
}

/// Runs this process as rank `rdv.rank` (> 0) until rank 0 ends the run.
///
/// Errors: the rendezvous or rank 0's description failed.
pub fn run(rdv: Rendezvous, own: OwnOptions) -> Result<ExitCode> {
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
    let (config, ignored) = own.apply(&spec.config)?;
    check_corpus(rank, &config, scratch.path())?;
    if !ignored.is_empty() {
        let list: Vec<String> = ignored.iter().map(ToString::to_string).collect();
        eprintln!(
            "warning: rank {rank}: rank 0's session config rules every rank, so this rank's {} ignored: {}; give every rank the same options (only {} may differ)",
            if list.len() == 1 { "option is" } else { "options are" },
            crate::terminal_text::escape(&list.join(", ")),
            crate::config::per_rank::PER_RANK.join(" and ")
        );
    }
    let handle = TrainerHandle::spawn(TrainSetup {
        config,
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

/// Refuses, in words for a rank, a corpus on this machine that is not the content rank
/// 0 trains on (rank 0 sent its fingerprint into `dir`): the shards would be cut from
/// other documents.
fn check_corpus(rank: usize, config: &Config, dir: &std::path::Path) -> Result<()> {
    use crate::corpus::fingerprint::Fingerprint;
    let source =
        crate::corpus::CorpusSource::of(config.data.corpus.as_deref(), &config.data.format)?;
    let (Some(rank0), Some(here)) = (Fingerprint::recorded(dir)?, Fingerprint::of(&source)?) else {
        return Ok(());
    };
    if !rank0.same_content(&here) {
        anyhow::bail!(
            "rank {rank}: corpus {} is not the file rank 0 trains on ({} bytes here, {} at rank 0, other content): give every machine the same corpus (its path may differ: --corpus on each)",
            crate::terminal_text::escape(&here.source),
            here.bytes,
            rank0.bytes
        );
    }
    Ok(())
}
