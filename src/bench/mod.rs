//! `bertwork bench`: training throughput on synthetic batches of exact shapes
//! (forward, backward, clipping and the AdamW update; warm-up steps excluded), and
//! with `--corpus` the data pipeline's throughput; the other measurements ([`Mode`]:
//! probe latency, the workbench's and the probes' costs, lockstep A/B of a lever) are
//! `bertwork bench`'s subcommands (`crate::commands::bench`).

mod ab;
mod blocks;
mod downstream;
mod during_training;
mod mfu;
pub mod probe;
pub mod profile;
pub mod real_batches;
mod scratch_run;
mod throughput;
mod ui;
mod watch;

use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Args;
use serde::Serialize;

use crate::config::Config;

/// What to measure and on which shapes; the model's config comes separately.
#[derive(Debug, Clone, Args)]
pub struct BenchOptions {
    #[arg(long, default_value_t = 128)]
    pub seq_len: usize,
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Timed steps.
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    /// Untimed steps first.
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    #[arg(long, default_value_t = 8192)]
    pub vocab: usize,
    /// auto, cpu, cuda, cuda:N (default: the config's train.device).
    #[arg(long)]
    pub device: Option<crate::device::DeviceChoice>,
    /// CPU threads (default: the config's train.threads; 0 = all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Also measure the data pipeline on this CSV.
    #[arg(long, value_name = "CSV")]
    pub corpus: Option<std::path::PathBuf>,
    /// With `ui-overhead` / `watch-overhead` / `ab`: steps per block (`watch-overhead`
    /// rounds it to whole log intervals).
    #[arg(long, default_value_t = 20)]
    pub block: u64,
    /// With `ui-overhead` / `watch-overhead` / `ab`: blocks of each kind
    /// (`downstream-overhead`: evaluations timed).
    #[arg(long, default_value_t = 6)]
    pub blocks: usize,
    /// Train on the first N batches of the config's corpus (the embedded reviews unless
    /// `--set data.corpus=CSV`), padding included, instead of random full batches;
    /// tokens/s then counts non-padding tokens.
    #[arg(long, value_name = "N")]
    pub real_batches: Option<usize>,
    /// With --real-batches: also write them (safetensors) for
    /// `bench/hf_reference.py --batches FILE`.
    #[arg(long, value_name = "FILE", requires = "real_batches")]
    pub dump_batches: Option<std::path::PathBuf>,
    /// Turn off one of the speed levers (repeatable), to measure what it gains.
    #[arg(long, value_enum, value_name = "LEVER")]
    pub without: Vec<Lever>,
    /// Profile the timed steps: write libtorch's Chrome trace to this file and print
    /// where the time goes (op categories and step phases).
    #[arg(long, value_name = "TRACE")]
    pub profile: Option<std::path::PathBuf>,
    #[arg(long)]
    pub json: bool,
}

/// The implementation choices that make bertwork's steps faster without changing
/// what they compute; `--without` turns one off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Lever {
    /// glibc malloc keeps freed buffers for the next step (`crate::heap`).
    Allocator,
    /// libtorch's fused AdamW and multi-tensor norm, clipping and gradient reset
    /// (`crate::train::multi_tensor`) instead of per-parameter ops.
    FusedAdamw,
    /// Padding positions skipped outside attention (`crate::model::rows`); matters on
    /// --real-batches only (random batches have no padding).
    Unpadding,
    /// Unpadded row counts rounded up to a few buckets under CPU bf16 autocast, so that
    /// oneDNN reuses its kernels (`crate::train::step::Rows`); --real-batches only.
    Bucketing,
}

#[derive(Debug, Serialize)]
pub struct BenchResult {
    pub preset: String,
    pub layers: usize,
    pub hidden: usize,
    pub parameters: u64,
    pub vocab: usize,
    pub seq_len: usize,
    pub batch_size: usize,
    pub steps: usize,
    pub device: String,
    pub threads: i32,
    /// Tokens a step trains on (B x S on random batches, the mean non-padding count on
    /// real ones) / median step time.
    pub tokens_per_s: f64,
    /// With --real-batches: the share of padding positions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub padding_share: Option<f64>,
    pub step_ms_median: f64,
    pub step_ms_min: f64,
    pub step_ms_max: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<PipelineResult>,
    /// The levers turned off (`--without`).
    pub without: Vec<Lever>,
    /// Median wall time of each phase of a step, milliseconds.
    pub phases_ms: PhaseMedians,
    /// Matmul FLOPs a step does ([`mfu::train_flops`], averaged over the batches) per
    /// median step time, GFLOP/s.
    pub model_gflops: f64,
    /// A 2048³ matmul in the step's precision, measured in this process, GFLOP/s.
    pub peak_gflops: f64,
    /// `model_gflops / peak_gflops`: model FLOPs utilisation against that peak.
    pub mfu: f64,
    /// With `--profile`: self time per step by op category, milliseconds, largest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<Vec<(String, f64)>>,
}

/// Median milliseconds of a step's phases (each median taken on its own).
#[derive(Debug, Serialize)]
pub struct PhaseMedians {
    /// Forward pass, both losses and their host reads.
    pub forward: f64,
    pub backward: f64,
    /// Gradient norm, clipping, the AdamW update and clearing the gradients.
    pub optimizer: f64,
}

/// Each timed step's phases, in seconds.
#[derive(Debug, Default)]
struct Phases {
    forward: Vec<f64>,
    backward: Vec<f64>,
    optimizer: Vec<f64>,
}

impl Phases {
    fn add(&mut self, forward: f64, backward: f64, optimizer: f64) {
        self.forward.push(forward);
        self.backward.push(backward);
        self.optimizer.push(optimizer);
    }

    fn medians(&self) -> PhaseMedians {
        let median_ms = |v: &[f64]| crate::stats::median(&mut v.to_vec()) * 1e3;
        PhaseMedians {
            forward: median_ms(&self.forward),
            backward: median_ms(&self.backward),
            optimizer: median_ms(&self.optimizer),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct PipelineResult {
    pub corpus: String,
    /// CSV to tokenized corpus (reading, cleaning, splitting, WordPiece training).
    pub prepare_s: f64,
    pub tokens: usize,
    /// Pair construction + masking + collation, in tokens per second.
    pub batch_tokens_per_s: f64,
}

/// What `bertwork bench` measures besides training throughput (its subcommands).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Training tokens/s, phases and MFU (no subcommand).
    Throughput,
    /// Probe round-trip latency while a real trainer runs: N probes of a kind.
    Probes(usize, probe::ProbeKind),
    /// The workbench's cost to training tokens/s.
    UiOverhead,
    /// The watched probes' cost to training tokens/s.
    WatchOverhead,
    /// The downstream linear probe's cost.
    DownstreamOverhead,
    /// One speed lever in lockstep A/B inside one run.
    Ab(Lever),
}

/// Runs the benchmark `mode` with `config`'s model and training settings and `args`'
/// shapes, printing the result (one JSON line with `--json`).
///
/// Errors: shapes out of range (`--steps`/`--batch-size` 0, `--seq-len` below 8 or
/// above `model.max_position`), a device that is not there, a failed step.
pub fn run(config: Config, args: &BenchOptions, mode: Mode) -> Result<ExitCode> {
    if args.steps == 0 || args.batch_size == 0 || args.seq_len < 8 {
        bail!("bench needs --steps >= 1, --batch-size >= 1 and --seq-len >= 8");
    }
    if args.seq_len > config.model.max_position {
        bail!(
            "--seq-len {} is above model.max_position {}",
            args.seq_len,
            config.model.max_position
        );
    }
    match mode {
        Mode::Throughput => throughput::run(config, args, None),
        Mode::Probes(n, kind) => during_training::probe_bench(config, args, n, kind),
        Mode::UiOverhead => during_training::ui_bench(config, args),
        Mode::WatchOverhead => during_training::watch_bench(config, args),
        Mode::DownstreamOverhead => during_training::downstream_bench(config, args),
        Mode::Ab(lever) => throughput::run(config, args, Some(lever)),
    }
}
