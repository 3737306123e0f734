//! `bertwork resume NAME`: continue a session from its last complete checkpoint.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use super::options::RunArgs;

#[derive(Debug, Clone, Args)]
pub struct ResumeArgs {
    /// Session to continue.
    pub name: String,
    /// Change a config key for the rest of the run, e.g. --set train.lr=5e-4
    /// (repeatable; logged in changes.csv).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

pub fn exec(args: &ResumeArgs) -> Result<ExitCode> {
    let session = crate::session::Session::open(&args.name)?;
    if let Some(state) = crate::finetune::FinetuneState::read(&session)? {
        if state.imported {
            anyhow::bail!(
                "session `{}` is a classifier imported from {}: it was fine-tuned elsewhere and has nothing to continue here; probe it (`bertwork probe --session {} \"text\"`) or export it",
                session.name,
                state.source,
                session.name
            );
        }
        // A classifier session continues its fine-tune; pretraining options mean nothing
        // to it.
        if !args.set.is_empty() || !args.run.overrides().is_empty() {
            anyhow::bail!(
                "session `{}` is a classifier session: `bertwork resume {}` continues its fine-tune and takes no --set or training options (its recipe is in finetune.toml)",
                session.name,
                session.name
            );
        }
        let session = crate::session::Session::open_to_write(&args.name)?;
        return super::finetune::continue_finetune(&session);
    }
    // The flags as overrides, --set last.
    let mut sets = args.run.overrides();
    sets.extend(args.set.iter().cloned());
    let (setup, warnings) = crate::resume::setup(&args.name, &sets)?;
    for w in &warnings {
        eprintln!("warning: {}", crate::terminal_text::escape_lines(w));
    }
    args.run.launch(setup)
}
