//! The `bertwork bench` subcommands that time a real trainer on the embedded corpus
//! (or the config's): probe latency and the workbench's, the watched probes' and the
//! downstream probe's costs to training.

use std::process::ExitCode;

use anyhow::{bail, Result};

use super::{downstream, probe, ui, watch, BenchOptions};
use crate::config::Config;

pub(super) fn probe_bench(
    mut config: Config,
    args: &BenchOptions,
    probes: usize,
    kind: probe::ProbeKind,
) -> Result<ExitCode> {
    if probes == 0 {
        bail!("bench probes N needs N >= 1");
    }
    apply_shape(&mut config, args);
    config.train.log_every = 1;
    let r = probe::measure(&config, probes, kind)?;
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
pub(super) fn apply_shape(config: &mut Config, args: &BenchOptions) {
    if let Some(d) = args.device {
        config.train.device = d;
    }
    if let Some(t) = args.threads {
        config.train.threads = t;
    }
    config.train.batch_size = args.batch_size;
    config.data.max_seq_len = args.seq_len;
}

pub(super) fn ui_bench(mut config: Config, args: &BenchOptions) -> Result<ExitCode> {
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

pub(super) fn downstream_bench(config: Config, args: &BenchOptions) -> Result<ExitCode> {
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

pub(super) fn watch_bench(mut config: Config, args: &BenchOptions) -> Result<ExitCode> {
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
