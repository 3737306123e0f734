//! `bertwork bench`: training throughput (no subcommand), and as subcommands probe
//! latency, the workbench's, the watched probes' and the downstream probe's costs,
//! and one speed lever in lockstep A/B.

use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};

use super::options::ConfigArgs;
use crate::bench::probe::ProbeKind;
use crate::bench::{BenchOptions, Lever, Mode};

#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub mode: Option<BenchMode>,
    #[command(flatten)]
    pub run: BenchRun,
}

/// The model (config) and the shapes and steps of a benchmark.
#[derive(Debug, Clone, Args)]
pub struct BenchRun {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub options: BenchOptions,
}

#[derive(Debug, Clone, Subcommand)]
pub enum BenchMode {
    /// Probe round-trip latency (p50/p95/max) while a real trainer runs on the
    /// embedded corpus.
    Probes {
        /// How many probes to time.
        n: usize,
        /// What to ask (attention: a 128-token sentence with [CLS] and [SEP];
        /// neighbours: the 10 nearest tokens to a word and its similarity to another).
        #[arg(long, value_enum, default_value_t = ProbeKind::FillMask)]
        kind: ProbeKind,
        #[command(flatten)]
        run: BenchRun,
    },
    /// The workbench's cost to training tokens/s: the dashboard drawn in alternate
    /// blocks of steps of one real run on the embedded corpus.
    UiOverhead {
        #[command(flatten)]
        run: BenchRun,
    },
    /// The watched probes' cost to training tokens/s (8 probes read every log
    /// interval) in alternate blocks of one real run.
    WatchOverhead {
        #[command(flatten)]
        run: BenchRun,
    },
    /// The downstream linear probe's cost, timed in one real run of the config at its
    /// evaluation cadence over --blocks evaluations (after the first).
    DownstreamOverhead {
        #[command(flatten)]
        run: BenchRun,
    },
    /// Lockstep A/B of one speed lever in one process: alternate blocks of steps with
    /// and without it (unpadding and bucketing need --real-batches).
    Ab {
        #[arg(value_enum)]
        lever: Lever,
        #[command(flatten)]
        run: BenchRun,
    },
}

impl BenchArgs {
    /// The config and options of the chosen mode.
    pub fn run_args(&self) -> &BenchRun {
        match &self.mode {
            None => &self.run,
            Some(
                BenchMode::Probes { run, .. }
                | BenchMode::UiOverhead { run }
                | BenchMode::WatchOverhead { run }
                | BenchMode::DownstreamOverhead { run }
                | BenchMode::Ab { run, .. },
            ) => run,
        }
    }

    fn mode(&self) -> Mode {
        match &self.mode {
            None => Mode::Throughput,
            Some(BenchMode::Probes { n, kind, .. }) => Mode::Probes(*n, *kind),
            Some(BenchMode::UiOverhead { .. }) => Mode::UiOverhead,
            Some(BenchMode::WatchOverhead { .. }) => Mode::WatchOverhead,
            Some(BenchMode::DownstreamOverhead { .. }) => Mode::DownstreamOverhead,
            Some(BenchMode::Ab { lever, .. }) => Mode::Ab(*lever),
        }
    }
}

pub fn exec(args: &BenchArgs) -> Result<ExitCode> {
    let run = args.run_args();
    crate::bench::run(run.config.resolve(&[])?, &run.options, args.mode())
}
