//! `bertwork fork NAME --at STEP --session NEW [--set key=value ...]`: a new session
//! from a checkpoint of another, trained on at once with the changes applied.

use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Args;

use super::options::RunArgs;
use crate::session::Session;

#[derive(Debug, Clone, Args)]
pub struct ForkArgs {
    /// Session to fork from (it may be training meanwhile).
    pub name: String,
    /// Step of the checkpoint to start from (default: its newest complete one).
    #[arg(long)]
    pub at: Option<u64>,
    /// Name of the new session.
    #[arg(long)]
    pub session: String,
    /// Change a config key in the fork, e.g. --set train.lr=5e-4 (repeatable; logged
    /// in its changes.csv and lineage.json).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Only make the fork; train it later with `bertwork resume NEW`.
    #[arg(long)]
    pub no_start: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

pub fn exec(args: &ForkArgs) -> Result<ExitCode> {
    if args.no_start && (!args.set.is_empty() || !args.run.overrides().is_empty()) {
        bail!(
            "--no-start makes the fork without training it, so it takes no --set or run options; pass them to `bertwork resume {}` when you train it",
            args.session
        );
    }
    // Checked before anything is copied, so a bad change leaves no half-made session.
    let parent = Session::open(&args.name)?;
    let mut sets = args.run.overrides();
    sets.extend(args.set.iter().cloned());
    let config = parent.load_config()?;
    crate::resume::check_fixed(
        &config.with_overrides(&sets)?.changed_keys(&config)?,
        "in a fork",
    )?;
    let forked = crate::train::fork::fork(&parent, args.at, &args.session, &args.set)?;
    let name = forked.session.name.clone();
    eprintln!(
        "forked `{}` at step {} as `{name}` in {}",
        parent.name,
        forked.lineage.step,
        forked.session.dir.display()
    );
    // The resume below takes the session's lock itself.
    drop(forked);
    if args.no_start {
        println!("train it with `bertwork resume {name}`");
        return Ok(ExitCode::SUCCESS);
    }
    let (setup, warnings) = match crate::resume::setup(&name, &sets) {
        Ok(found) => found,
        Err(e) => {
            // A change the checkpoint cannot take: the fork would differ from what
            // was asked, so it is not kept.
            if let Ok(session) = Session::open_to_write(&name) {
                let _ = std::fs::remove_dir_all(&session.dir);
            }
            return Err(e.context(format!("the fork `{name}` was not kept")));
        }
    };
    for w in &warnings {
        eprintln!("warning: {}", crate::terminal_text::escape_lines(w));
    }
    let mut setup = setup;
    if let crate::train::Start::Checkpoint { source, .. } = &mut setup.start {
        *source = crate::records::ChangeSource::Fork;
    }
    args.run.launch(setup)
}
