//! Command-line interface: `train`, `tui`, `probe`, `params`, `bench`, `resume`,
//! `sessions`, `export`, `import-hf`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::{Args, Parser, Subcommand};

use crate::config::Config;

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
    Probe(ProbeArgs),
    /// Print the parameter count of a model size.
    Params(ParamsArgs),
    /// Measure training throughput on synthetic batches.
    Bench(crate::bench::BenchArgs),
    /// Continue a session from its last complete checkpoint.
    Resume(ResumeArgs),
    /// List saved sessions, show one, or remove one.
    Sessions(crate::sessions_cmd::SessionsArgs),
    /// Write a session's model in HuggingFace format (BertForPreTraining).
    Export(crate::hf::ExportArgs),
    /// Turn a HuggingFace BERT checkpoint folder into a session.
    ImportHf(crate::hf::ImportArgs),
}

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

impl ResumeArgs {
    /// The flags as `key=value` overrides, --set last.
    pub fn overrides(&self) -> Vec<String> {
        let mut sets = self.run.overrides();
        sets.extend(self.set.iter().cloned());
        sets
    }
}

/// How long and where a run trains, and how it reports: shared by `train` and
/// `resume`.
#[derive(Debug, Clone, Args, Default)]
pub struct RunArgs {
    /// Train to this many epochs in all.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Stop at this optimizer step in all (0 = no limit).
    #[arg(long)]
    pub max_steps: Option<u64>,
    /// auto (CUDA when available), cpu, cuda or cuda:N.
    #[arg(long)]
    pub device: Option<String>,
    /// CPU threads for libtorch (0 = all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Train without the workbench, printing progress.
    #[arg(long)]
    pub headless: bool,
    /// With --headless: one JSON object per line.
    #[arg(long)]
    pub json: bool,
}

impl RunArgs {
    /// The flags as `key=value` overrides.
    pub fn overrides(&self) -> Vec<String> {
        let mut sets = Vec::new();
        if let Some(e) = self.epochs {
            sets.push(format!("train.epochs={e}"));
        }
        if let Some(s) = self.max_steps {
            sets.push(format!("train.max_steps={s}"));
        }
        if let Some(d) = &self.device {
            sets.push(format!("train.device={}", quote(d)));
        }
        if let Some(t) = self.threads {
            sets.push(format!("train.threads={t}"));
        }
        sets
    }
}

/// Options shared by everything that resolves a config.
#[derive(Debug, Clone, Args, Default)]
pub struct ConfigArgs {
    /// TOML config file with [model], [data] and [train] sections.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Model size: tiny, mini, small, medium, base, large.
    #[arg(long)]
    pub preset: Option<String>,
    /// Override a config key, e.g. --set train.lr=5e-4 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

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
        if let Some(p) = &self.config.preset {
            sets.push(format!("model.preset={}", quote(p)));
        }
        if let Some(c) = &self.corpus {
            sets.push(format!("data.corpus={}", quote(&c.to_string_lossy())));
        }
        if let Some(c) = &self.text_column {
            sets.push(format!("data.text_column={}", quote(c)));
        }
        if let Some(v) = &self.vocab {
            sets.push(format!("data.vocab={}", quote(&v.to_string_lossy())));
        }
        sets.extend(self.run.overrides());
        sets.extend(self.config.set.iter().cloned());
        let mut config = Config::load(self.config.config.as_deref(), &sets)?;
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

/// A TOML string literal.
fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Saved session to load.
    #[arg(long)]
    pub session: String,
    /// Predictions per [MASK].
    #[arg(long, default_value_t = 5)]
    pub top_k: usize,
    /// Score "TEXT" followed by this sentence (IsNext probability) instead.
    #[arg(long, value_name = "SENTENCE")]
    pub next: Option<String>,
    #[arg(long)]
    pub json: bool,
    /// Use the checkpoint of this step instead of the latest weights.
    #[arg(long)]
    pub step: Option<u64>,
    /// Text with one or more [MASK]; several texts are answered in order (with --json,
    /// one line each).
    #[arg(required = true, num_args = 1..)]
    pub texts: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ParamsArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Vocabulary size.
    #[arg(long, default_value_t = 8192)]
    pub vocab: usize,
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
                | Some(Commands::Bench(_))
        )
    }
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Some(Commands::Train(args)) if args.run.headless => crate::headless::train(&args),
        Some(Commands::Train(args)) | Some(Commands::Tui(args)) => crate::tui::run(&args),
        Some(Commands::Probe(args)) => crate::headless::probe(&args),
        Some(Commands::Params(args)) => params(&args),
        Some(Commands::Bench(args)) => crate::bench::run(&args),
        Some(Commands::Resume(args)) => crate::resume::run(&args),
        Some(Commands::Sessions(args)) => crate::sessions_cmd::run(&args),
        Some(Commands::Export(args)) => crate::hf::export_cmd(&args),
        Some(Commands::ImportHf(args)) => crate::hf::import_cmd(&args),
        // No arguments: the workbench on the embedded corpus and the default preset
        // (headless output when stdout is not a terminal).
        None => crate::tui::run(&TrainArgs::default()),
    }
}

fn params(args: &ParamsArgs) -> Result<ExitCode> {
    let mut sets = Vec::new();
    if let Some(p) = &args.config.preset {
        sets.push(format!("model.preset={}", quote(p)));
    }
    sets.extend(args.config.set.iter().cloned());
    let config = Config::load(args.config.config.as_deref(), &sets)?;
    if args.vocab < 10 {
        bail!("--vocab must be at least 10");
    }
    let dims = config.dims()?;
    let model = crate::model::BertConfig::new(args.vocab, dims, &config.model);
    println!("{}", group_thousands(model.parameter_count()));
    Ok(ExitCode::SUCCESS)
}

pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
