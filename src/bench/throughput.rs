//! `bertwork bench` without a subcommand: training steps on random or real batches,
//! timed by phase, with MFU against a peak measured in the same process, a profile on
//! request, and the data pipeline's throughput with `--corpus`; also the lockstep A/B
//! of one lever (`bertwork bench ab`).

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use rand::Rng;
use tch::nn::VarStore;

use super::during_training::apply_shape;
use super::{
    ab, mfu, profile, real_batches, BenchOptions, BenchResult, Lever, Phases, PipelineResult,
};
use crate::config::Config;
use crate::data::batch::collate;
use crate::data::masking::MaskConfig;
use crate::data::pairs::Example;
use crate::data::rng_for;
use crate::model::{BertConfig, BertForPreTraining};
use crate::tokenizer::SpecialIds;
use crate::train::optimizer::{AdamW, Kernels};
use crate::train::step::{losses, DeviceBatch, Rows};

/// Training throughput on `config`'s model; with `ab`, that lever in lockstep A/B.
pub(super) fn run(config: Config, args: &BenchOptions, ab: Option<Lever>) -> Result<ExitCode> {
    let device = crate::device::resolve(args.device.unwrap_or(config.train.device))?;
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
    let mixed = crate::device::setup_precision(device, config.train.precision);
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
    if let Some(lever) = ab {
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
        preset: config.model.preset.to_string(),
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
