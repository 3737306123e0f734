//! `bertwork bench`: training throughput on synthetic batches of exact shapes
//! (forward, backward, clipping and the AdamW update; warm-up steps excluded), and
//! with `--corpus` the data pipeline's throughput; `--probes N` measures probe latency
//! while training.

mod ab;
mod blocks;
mod downstream;
mod mfu;
pub mod probe;
pub mod profile;
pub mod real_batches;
mod scratch_run;
mod ui;
mod watch;

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use rand::Rng;
use serde::Serialize;
use tch::nn::VarStore;

use crate::config::Config;
use crate::data::batch::collate;
use crate::data::masking::MaskConfig;
use crate::data::pairs::Example;
use crate::data::rng_for;
use crate::model::{BertConfig, BertForPreTraining};
use crate::tokenizer::SpecialIds;
use crate::train::optimizer::{AdamW, Kernels};
use crate::train::step::{losses, DeviceBatch, Rows};

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
    pub device: Option<String>,
    /// CPU threads (default: the config's train.threads; 0 = all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Also measure the data pipeline on this CSV.
    #[arg(long, value_name = "CSV")]
    pub corpus: Option<std::path::PathBuf>,
    /// Instead: probe latency while a real trainer runs on the embedded corpus.
    #[arg(long, value_name = "N")]
    pub probes: Option<usize>,
    /// With --probes: what to ask (attention: a 128-token sentence with [CLS] and
    /// [SEP]; neighbours: the 10 nearest tokens to a word and its similarity to another).
    #[arg(long, value_enum, default_value_t = probe::ProbeKind::FillMask)]
    pub probe_kind: probe::ProbeKind,
    /// Instead: the workbench's cost to training tokens/s, drawing the dashboard in
    /// alternate blocks of steps of one real run on the embedded corpus.
    #[arg(long)]
    pub ui_overhead: bool,
    /// Instead: the watched probes' cost to training tokens/s (8 probes read every
    /// log interval, their default), in alternate blocks of one real run.
    #[arg(long)]
    pub watch_overhead: bool,
    /// Instead: the downstream linear probe's cost, timed in one real run of the config
    /// at its evaluation cadence over --blocks evaluations (after the first).
    #[arg(long)]
    pub downstream_overhead: bool,
    /// With --ui-overhead / --watch-overhead / --ab: steps per block (--watch-overhead
    /// rounds it to whole log intervals).
    #[arg(long, default_value_t = 20)]
    pub block: u64,
    /// With --ui-overhead / --watch-overhead / --ab: blocks of each kind.
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
    /// Instead: lockstep A/B of one lever in one process, alternate blocks of steps
    /// with and without it (fused-adamw, or unpadding with --real-batches).
    #[arg(long, value_enum, value_name = "LEVER")]
    pub ab: Option<Lever>,
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

/// Runs the benchmark `args` asks for with `config`'s model and training settings,
/// printing the result (one JSON line with `--json`).
///
/// Errors: shapes out of range (`--steps`/`--batch-size` 0, `--seq-len` below 8 or
/// above `model.max_position`), a device that is not there, a failed step.
pub fn run(config: Config, args: &BenchOptions) -> Result<ExitCode> {
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
    if let Some(n) = args.probes {
        return probe_bench(config, args, n);
    }
    if args.ui_overhead {
        return ui_bench(config, args);
    }
    if args.watch_overhead {
        return watch_bench(config, args);
    }
    if args.downstream_overhead {
        return downstream_bench(config, args);
    }
    let device_name = args
        .device
        .clone()
        .unwrap_or_else(|| config.train.device.clone());
    let device = crate::device::resolve(crate::device::parse(&device_name)?)?;
    crate::cpu_threads::use_threads(args.threads.unwrap_or(config.train.threads));
    tch::manual_seed(config.train.seed as i64);

    let real = match args.real_batches {
        Some(0) => bail!("--real-batches must be at least 1"),
        Some(n) => {
            let mut config = config.clone();
            apply_shape(&mut config, args);
            let (batches, vocab) = real_batches::first_batches(&config, n)?;
            if let Some(path) = &args.dump_batches {
                real_batches::dump(&batches, path)?;
            }
            Some((batches, vocab))
        }
        None => None,
    };
    let vocab = real.as_ref().map_or(args.vocab, |r| r.1);
    let dims = config.dims()?;
    let bert = BertConfig::new(vocab, dims, &config.model);
    let vs = VarStore::new(device);
    let model = BertForPreTraining::new(&vs.root(), &bert);
    let kernels = if args.without.contains(&Lever::FusedAdamw) {
        Kernels::PerTensor
    } else {
        Kernels::MultiTensor
    };
    let mut opt = AdamW::with_kernels(&vs, kernels);
    let mixed = crate::device::setup_precision(device, &config.train.precision);
    let rows = if args.without.contains(&Lever::Unpadding) {
        Rows::Padded
    } else if args.without.contains(&Lever::Bucketing) {
        Rows::Unpadded
    } else {
        Rows::for_training(mixed)
    };
    let batches: Vec<DeviceBatch> = match &real {
        Some((host, _)) => host
            .iter()
            .map(|b| DeviceBatch::with_rows(b, device, rows))
            .collect(),
        None => (0..4).map(|i| synthetic(args, i, device)).collect(),
    };
    // Tokens a step trains on: B x S on random batches, non-padding ones on real ones.
    let tokens_per_step = match &real {
        Some((host, _)) => {
            host.iter().map(|b| b.real_tokens).sum::<usize>() as f64 / host.len() as f64
        }
        None => (args.batch_size * args.seq_len) as f64,
    };

    if let Some(trace) = &args.profile {
        // Fail before training, not after: libtorch does not report a failed write.
        std::fs::File::create(trace)
            .with_context(|| format!("cannot write the trace {}", trace.display()))?;
    }
    if let Some(lever) = args.ab {
        // The same batches without the lever: padded for unpadding, exactly unpadded
        // for bucketing.
        let baseline_rows = match lever {
            Lever::Bucketing => Rows::Unpadded,
            _ => Rows::Padded,
        };
        let baseline: Vec<DeviceBatch> = match &real {
            Some((host, _)) => host
                .iter()
                .map(|b| DeviceBatch::with_rows(b, device, baseline_rows))
                .collect(),
            None => Vec::new(),
        };
        let ab = ab::AbRun {
            lever,
            batches: &batches,
            baseline: &baseline,
            tokens_per_step,
            mixed,
            device,
        };
        return ab.run(&model, &mut opt, &config, args);
    }
    let mut times = Vec::with_capacity(args.steps);
    let mut phases = Phases::default();
    let sync = || {
        if let tch::Device::Cuda(n) = device {
            tch::Cuda::synchronize(n as i64);
        }
    };
    for i in 0..args.warmup + args.steps {
        if i == args.warmup && args.profile.is_some() {
            profile::start()?;
        }
        let start = Instant::now();
        let out =
            crate::device::autocast(mixed, || losses(&model, &batches[i % batches.len()], true));
        sync();
        let forward = start.elapsed().as_secs_f64();
        out.loss.backward();
        sync();
        let backward = start.elapsed().as_secs_f64();
        let norm = opt.grad_norm()?;
        opt.clip(norm, config.train.clip_norm)?;
        opt.step(1e-4, config.train.weight_decay, config.train.adam_epsilon)?;
        opt.zero_grad()?;
        sync();
        let total = start.elapsed().as_secs_f64();
        if i >= args.warmup {
            times.push(total);
            phases.add(forward, backward - forward, total - backward);
        }
    }
    if let Some(trace) = &args.profile {
        profile::stop(trace)?;
    }
    // `median` sorts `times`, which the minimum and maximum below rely on.
    let median = crate::stats::median(&mut times);
    let flops_per_step = batches
        .iter()
        .map(|b| mfu::train_flops(&dims, vocab, b, args.seq_len))
        .sum::<f64>()
        / batches.len() as f64;
    let peak = mfu::matmul_peak(mfu::matmul_kind(mixed), device);
    let ops = match &args.profile {
        Some(trace) => Some(profile::op_times(trace, args.steps)?),
        None => None,
    };
    let pipeline = match &args.corpus {
        Some(path) => Some(pipeline(&config, path, args)?),
        None => None,
    };
    let result = BenchResult {
        preset: config.model.preset.clone(),
        layers: dims.layers,
        hidden: dims.hidden,
        parameters: bert.parameter_count(),
        vocab,
        seq_len: args.seq_len,
        batch_size: args.batch_size,
        steps: args.steps,
        device: crate::device::describe(device),
        threads: tch::get_num_threads(),
        tokens_per_s: tokens_per_step / median,
        padding_share: real
            .as_ref()
            .map(|(host, _)| real_batches::padding_share(host)),
        step_ms_median: median * 1e3,
        step_ms_min: times[0] * 1e3,
        step_ms_max: times[times.len() - 1] * 1e3,
        pipeline,
        without: args.without.clone(),
        phases_ms: phases.medians(),
        model_gflops: flops_per_step / median / 1e9,
        peak_gflops: peak / 1e9,
        mfu: flops_per_step / median / peak,
        profile: ops.as_ref().map(|ops| {
            profile::by_category(ops)
                .into_iter()
                .map(|(c, ms)| (c.to_string(), ms))
                .collect()
        }),
    };
    if args.json {
        println!("{}", serde_json::to_string(&result)?);
    } else {
        println!(
            "{} ({}L/{}H, {} params) on {}: seq {} x batch {}, {} steps: {:.0} tokens/s (median step {:.1} ms, min {:.1}, max {:.1})",
            result.preset, result.layers, result.hidden, crate::format::group_thousands(result.parameters),
            result.device, result.seq_len, result.batch_size, result.steps, result.tokens_per_s,
            result.step_ms_median, result.step_ms_min, result.step_ms_max
        );
        let ph = &result.phases_ms;
        println!(
            "median phases: forward {:.1} ms, backward {:.1} ms, optimizer {:.1} ms",
            ph.forward, ph.backward, ph.optimizer
        );
        println!(
            "MFU {:.0}%: {:.0} GFLOP/s of matmul work against a {} 2048^3 matmul peak of {:.0} GFLOP/s measured now",
            100.0 * result.mfu,
            result.model_gflops,
            if mfu::matmul_kind(mixed) == tch::Kind::Float { "fp32" } else { "bf16" },
            result.peak_gflops
        );
        if let (Some(ops), Some(trace)) = (&ops, &args.profile) {
            let mean_ms = 1e3 * times.iter().sum::<f64>() / times.len() as f64;
            print_profile(ops, mean_ms, trace);
        }
        if let Some(p) = &result.pipeline {
            println!(
                "pipeline on {}: prepared {} tokens in {:.2}s; batches at {:.0} tokens/s",
                p.corpus, p.tokens, p.prepare_s, p.batch_tokens_per_s
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The profile as a table: op categories, then the 12 largest ops, each with its
/// self time per step and its share of the mean profiled step (`step_ms`).
fn print_profile(ops: &[profile::OpTime], step_ms: f64, trace: &std::path::Path) {
    let share = |ms: f64| 100.0 * ms / step_ms;
    let profiled: f64 = ops.iter().map(|o| o.ms_per_step).sum();
    println!(
        "self time per step by category (profiler on; trace in {}):",
        trace.display()
    );
    for (category, ms) in profile::by_category(ops) {
        println!("  {category:<32} {ms:8.1} ms {:5.1}%", share(ms));
    }
    println!(
        "  {:<32} {:8.1} ms {:5.1}%",
        "outside profiled ops",
        step_ms - profiled,
        share(step_ms - profiled)
    );
    println!("largest ops:");
    for op in ops.iter().take(12) {
        println!(
            "  {:<56} {:8.2} ms {:5.1}% {:6.1} calls",
            op.name,
            op.ms_per_step,
            share(op.ms_per_step),
            op.calls_per_step
        );
    }
}

fn probe_bench(mut config: Config, args: &BenchOptions, probes: usize) -> Result<ExitCode> {
    if probes == 0 {
        bail!("--probes must be at least 1");
    }
    apply_shape(&mut config, args);
    config.train.log_every = 1;
    let r = probe::measure(&config, probes, args.probe_kind)?;
    if args.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!(
            "{} {} probes{} while training {} ({} steps meanwhile): p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
            r.probes,
            r.kind,
            r.tokens.map_or(String::new(), |t| format!(" of {t} tokens")),
            config.model.preset,
            r.steps_during,
            r.p50_ms,
            r.p95_ms,
            r.max_ms
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The bench flags that also apply to a real run: device, threads, batch and length.
fn apply_shape(config: &mut Config, args: &BenchOptions) {
    if let Some(d) = &args.device {
        config.train.device = d.clone();
    }
    if let Some(t) = args.threads {
        config.train.threads = t;
    }
    config.train.batch_size = args.batch_size;
    config.data.max_seq_len = args.seq_len;
}

fn ui_bench(mut config: Config, args: &BenchOptions) -> Result<ExitCode> {
    apply_shape(&mut config, args);
    let r = ui::measure(&config, args.block, args.blocks)?;
    if args.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!(
            "workbench drawn every step vs not, {} blocks of {} steps each: {:.0} vs {:.0} tokens/s, ratio {:.3} (paired median {:.3}), {} redraws",
            r.blocks_each,
            r.block_steps,
            r.workbench_tokens_per_s,
            r.headless_tokens_per_s,
            r.ratio,
            r.paired_ratio,
            r.redraws
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn downstream_bench(config: Config, args: &BenchOptions) -> Result<ExitCode> {
    let r = downstream::measure(config, args.blocks)?;
    if args.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!(
            "downstream probe on {} documents: one reading {:.2}s against {:.1}s of training between evaluations (median of {}) = {:.1}% direct cost; baselines once per session {:.1}s",
            r.documents,
            r.reading_s,
            r.interval_s,
            r.readings,
            r.direct_cost * 100.0,
            r.baselines_s
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn watch_bench(mut config: Config, args: &BenchOptions) -> Result<ExitCode> {
    apply_shape(&mut config, args);
    let intervals = (args.block / config.train.log_every.max(1)).max(1) as usize;
    let r = watch::measure(&config, intervals, args.blocks)?;
    if args.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!(
            "{} watched probes read every {} steps vs none, {} blocks of {} intervals each: {:.0} vs {:.0} tokens/s, paired median ratio {:.4}; one reading {:.1} ms against {:.0} ms of training per interval = {:.2}% direct cost",
            r.probes,
            r.interval_steps,
            r.blocks_each,
            r.block_intervals,
            r.watching_tokens_per_s,
            r.plain_tokens_per_s,
            r.paired_ratio,
            r.reading_ms,
            r.interval_ms,
            r.direct_cost * 100.0
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A full batch of `[CLS] A [SEP] B [SEP]` sequences of exactly `seq_len` tokens.
fn synthetic(args: &BenchOptions, index: u64, device: tch::Device) -> DeviceBatch {
    let specials = SpecialIds::FIRST_FIVE;
    let mut rng = rng_for(7, "bench", index);
    let half = args.seq_len / 2;
    let examples: Vec<Example> = (0..args.batch_size)
        .map(|_| {
            let mut ids: Vec<u32> = (0..args.seq_len)
                .map(|_| rng.random_range(5..args.vocab as u32))
                .collect();
            ids[0] = specials.cls;
            ids[half - 1] = specials.sep;
            ids[args.seq_len - 1] = specials.sep;
            Example {
                ids,
                segment_a_len: half,
                random_next: rng.random_bool(0.5),
            }
        })
        .collect();
    let mask = MaskConfig::bert(0.15, args.vocab, specials);
    DeviceBatch::new(&collate(&examples, &mask, &mut rng), device)
}

fn pipeline(
    config: &Config,
    path: &std::path::Path,
    args: &BenchOptions,
) -> Result<PipelineResult> {
    // Removed as it drops, on every way out of this function.
    let home = tempfile::Builder::new()
        .prefix("bertwork-bench-")
        .tempdir()
        .context("cannot create a temporary folder for the bench")?;
    let session = crate::session::Session::scratch("bench", home.path().to_path_buf());
    let mut config = config.clone();
    config.data.corpus = Some(path.to_path_buf());
    config.train.batch_size = args.batch_size;
    let start = Instant::now();
    let data = crate::train::prepare::prepare(&config, &session)?;
    let prepare_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut rng = rng_for(1, "bench-pipeline", 0);
    let examples = crate::data::pairs::epoch_examples(
        &data.train,
        crate::train::prepare::pair_config(&config, &data.tokenizer),
        &mut rng,
    );
    let mask = crate::train::prepare::mask_config(&config, &data.tokenizer);
    let mut tokens = 0;
    for chunk in examples.chunks(args.batch_size) {
        let chunk = crate::data::pairs::examples(chunk, &data.train, data.tokenizer.specials);
        tokens += collate(&chunk, &mask, &mut rng).real_tokens;
    }
    let secs = start.elapsed().as_secs_f64();
    Ok(PipelineResult {
        corpus: path.display().to_string(),
        prepare_s,
        tokens: data.stats.tokens,
        batch_tokens_per_s: tokens as f64 / secs,
    })
}
