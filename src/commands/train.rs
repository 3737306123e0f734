//! `bertwork train` (and `tui`, and no command at all): a new session.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use super::options::{quote, ConfigArgs, RunArgs};
use crate::config::Config;
use crate::session::Session;
use crate::train::TrainSetup;

#[derive(Debug, Clone, Args, Default)]
pub struct TrainArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// CSV corpus (default: the embedded IMDB sample).
    #[arg(long, value_name = "CSV")]
    pub corpus: Option<PathBuf>,
    /// Column holding the text.
    #[arg(long, value_name = "NAME")]
    pub text_column: Option<String>,
    /// Column holding each document's class, for the downstream probe: auto (detect),
    /// none (off) or a column name.
    #[arg(long, value_name = "NAME")]
    pub label_column: Option<String>,
    /// Existing WordPiece vocab.txt instead of training one.
    #[arg(long, value_name = "FILE")]
    pub vocab: Option<PathBuf>,
    /// Session name (default: date-time-preset).
    #[arg(long)]
    pub session: Option<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

impl TrainArgs {
    /// The config from file, flags and --set, in that order of precedence (last wins).
    pub fn resolve(&self) -> Result<Config> {
        let mut sets = Vec::new();
        if let Some(c) = &self.corpus {
            sets.push(format!("data.corpus={}", quote(&c.to_string_lossy())));
        }
        if let Some(c) = &self.text_column {
            sets.push(format!("data.text_column={}", quote(c)));
        }
        if let Some(c) = &self.label_column {
            sets.push(format!("data.label_column={}", quote(c)));
        }
        if let Some(v) = &self.vocab {
            sets.push(format!("data.vocab={}", quote(&v.to_string_lossy())));
        }
        sets.extend(self.run.overrides());
        let mut config = self.config.resolve(&sets)?;
        // The session keeps absolute paths, so that a resume from another folder finds
        // the same files.
        for path in [&mut config.data.corpus, &mut config.data.vocab]
            .into_iter()
            .flatten()
        {
            if let Ok(absolute) = std::path::absolute(&*path) {
                *path = absolute;
            }
        }
        Ok(config)
    }
}

/// Creates the session and trains it in the workbench, or headless with --headless
/// (or when stdout is not a terminal).
pub fn exec(args: &TrainArgs) -> Result<ExitCode> {
    let config = args.resolve()?;
    let session = Session::create(args.session.as_deref(), &config.model.preset)?;
    args.run.launch(TrainSetup::fresh(config, session))
}
