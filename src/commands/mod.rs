//! The command line: one file per subcommand, each with its arguments and an
//! `exec` that runs it; this module only parses and dispatches. Nothing outside
//! `commands` imports it, so the front ends (workbench, headless) stay below it.

mod bench;
mod compare;
mod export;
mod finetune;
mod fork;
mod import_hf;
mod options;
mod params;
mod probe;
mod report;
mod resume;
mod sessions;
mod train;
mod worker;

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

pub use train::TrainArgs;

#[derive(Debug, Parser)]
#[command(
    name = "bertwork",
    version,
    about = "Pretrain BERT (MLM + NSP) on a CSV corpus"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Commands>,
}

#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Train a new session (in the workbench unless --headless).
    Train(TrainArgs),
    /// Open the workbench on a new run (same options as train).
    Tui(TrainArgs),
    /// Ask a saved session's model to fill in [MASK]s (or score a sentence pair).
    Probe(probe::ProbeArgs),
    /// Print the parameter count of a model size.
    Params(params::ParamsArgs),
    /// Measure training throughput (and, as subcommands, probe latency, the
    /// workbench's and probes' costs, one speed lever in A/B).
    Bench(Box<bench::BenchArgs>),
    /// Continue a session from its last complete checkpoint.
    Resume(resume::ResumeArgs),
    /// Start a new session from a checkpoint of another, with changes (--set).
    Fork(fork::ForkArgs),
    /// Overlay sessions' curves in a read-only dashboard (a table without a terminal).
    Compare(compare::CompareArgs),
    /// List saved sessions, show one, or remove one.
    Sessions(sessions::SessionsArgs),
    /// Fine-tune a classifier on a session's labels, on the downstream probe's folds.
    Finetune(finetune::FinetuneArgs),
    /// Write a session's model in HuggingFace format (BertForPreTraining, or
    /// BertForSequenceClassification for a classifier session).
    Export(export::ExportArgs),
    /// Turn a HuggingFace BERT checkpoint folder into a session.
    ImportHf(import_hf::ImportArgs),
    /// Write a session's charts (SVG and PNG), report.md and index.html.
    Report(report::ReportArgs),
}

impl Cli {
    /// Whether the command trains (a new run, a resume or the workbench), as opposed
    /// to commands that only read sessions or print.
    pub fn trains(&self) -> bool {
        matches!(
            self.command,
            None | Some(Commands::Train(_))
                | Some(Commands::Tui(_))
                | Some(Commands::Resume(_))
                | Some(Commands::Fork(_))
                | Some(Commands::Finetune(_))
                | Some(Commands::Bench(_))
        )
    }

    /// `--nproc N` of a training command.
    pub fn nproc(&self) -> Option<usize> {
        match &self.command {
            Some(Commands::Train(a)) | Some(Commands::Tui(a)) => a.run.nproc,
            Some(Commands::Resume(a)) => a.run.nproc,
            Some(Commands::Fork(a)) => a.run.nproc,
            _ => None,
        }
    }

    /// Whether to tune the C heap for training ([`crate::heap::keep_freed_pages`]):
    /// every training command, unless a benchmark measures without it.
    pub fn tunes_heap(&self) -> bool {
        match &self.command {
            Some(Commands::Bench(b)) => !b
                .run_args()
                .options
                .without
                .contains(&crate::bench::Lever::Allocator),
            _ => self.trains(),
        }
    }
}

/// Runs the parsed command; its exit status, or the error to print as one line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    if cli.trains()
        && !matches!(
            cli.command,
            Some(Commands::Bench(_) | Commands::Finetune(_))
        )
    {
        if cli.nproc().is_some() {
            crate::distributed::launch::check_not_under_torchrun()?;
        }
        // Under torchrun (or `--nproc`), ranks > 0 take their run from rank 0.
        if let Some(rdv) = crate::distributed::Rendezvous::from_env()? {
            if rdv.rank > 0 {
                return worker::run(rdv, worker::OwnOptions::of(cli.command.as_ref())?);
            }
        }
    }
    match cli.command {
        Some(Commands::Train(args)) => train::exec(&args),
        Some(Commands::Tui(args)) => train::exec(&args),
        Some(Commands::Probe(args)) => probe::exec(&args),
        Some(Commands::Params(args)) => params::exec(&args),
        Some(Commands::Bench(args)) => bench::exec(&args),
        Some(Commands::Resume(args)) => resume::exec(&args),
        Some(Commands::Fork(args)) => fork::exec(&args),
        Some(Commands::Compare(args)) => compare::exec(&args),
        Some(Commands::Sessions(args)) => sessions::exec(&args),
        Some(Commands::Export(args)) => export::exec(&args),
        Some(Commands::Finetune(args)) => finetune::exec(&args),
        Some(Commands::ImportHf(args)) => import_hf::exec(&args),
        Some(Commands::Report(args)) => report::exec(&args),
        // No arguments: the workbench on the embedded corpus and the default preset
        // (headless output when stdout is not a terminal).
        None => train::exec(&TrainArgs::default()),
    }
}
