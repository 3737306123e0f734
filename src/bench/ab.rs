//! `bertwork bench ab LEVER`: one speed lever measured in lockstep inside one run.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Result};

use super::{blocks, BenchOptions, Lever};
use crate::config::Config;
use crate::model::BertForPreTraining;
use crate::train::optimizer::{AdamW, Kernels};
use crate::train::step::{losses, DeviceBatch};

/// `ab LEVER`: blocks of `--block` steps alternately with and without the lever
/// (A B B A ..., `blocks::treated`), `--blocks` of each, after `--warmup` steps.
pub(super) struct AbRun<'a> {
    pub lever: Lever,
    pub batches: &'a [DeviceBatch],
    /// The same batches without the lever (padded for unpadding, exactly unpadded for
    /// bucketing); empty without --real-batches.
    pub baseline: &'a [DeviceBatch],
    pub tokens_per_step: f64,
    pub mixed: crate::device::Autocast,
    pub device: tch::Device,
}

impl AbRun<'_> {
    pub fn run(
        &self,
        model: &BertForPreTraining,
        opt: &mut AdamW,
        config: &Config,
        args: &BenchOptions,
    ) -> Result<ExitCode> {
        match self.lever {
            Lever::Allocator => bail!(
                "the allocator cannot be switched inside a process: compare runs with and without `--without allocator` (bench/levers.py)"
            ),
            Lever::Unpadding | Lever::Bucketing if self.baseline.is_empty() => {
                bail!("bench ab unpadding and bench ab bucketing need --real-batches N (random batches have no padding)")
            }
            _ => {}
        }
        let blocks = 2 * args.blocks.max(1);
        let block = args.block.max(1) as usize;
        let mut per_block: Vec<Vec<f64>> = vec![Vec::new(); blocks];
        for i in 0..args.warmup + blocks * block {
            let k = i.saturating_sub(args.warmup) / block;
            let on = i < args.warmup || blocks::treated(k as u64);
            let batches = match self.lever {
                Lever::Unpadding | Lever::Bucketing if !on => self.baseline,
                _ => self.batches,
            };
            opt.set_kernels(match self.lever {
                Lever::FusedAdamw if !on => Kernels::PerTensor,
                _ => Kernels::MultiTensor,
            });
            let start = Instant::now();
            let out = crate::device::autocast(self.mixed, || {
                losses(model, &batches[i % batches.len()], true)
            });
            out.loss.backward();
            let norm = opt.grad_norm()?;
            opt.clip(norm, config.train.clip_norm)?;
            opt.step(1e-4, config.train.weight_decay, config.train.adam_epsilon)?;
            opt.zero_grad()?;
            if let tch::Device::Cuda(n) = self.device {
                tch::Cuda::synchronize(n as i64);
            }
            if i >= args.warmup {
                per_block[k].push(self.tokens_per_step / start.elapsed().as_secs_f64());
            }
        }
        let c = blocks::compare(&mut per_block);
        let name = clap::ValueEnum::to_possible_value(&self.lever)
            .map_or_else(|| format!("{:?}", self.lever), |v| v.get_name().to_string());
        if args.json {
            println!(
                "{}",
                serde_json::json!({
                    "ab": self.lever, "block_steps": block, "blocks_each": args.blocks,
                    "with_tokens_per_s": c.treated, "without_tokens_per_s": c.plain,
                    "paired_ratio": c.paired_ratio,
                })
            );
        } else {
            println!(
                "{name}: {} blocks of {block} steps each way: {:.0} tokens/s with it, {:.0} without, paired median ratio {:.3}",
                args.blocks, c.treated, c.plain, c.paired_ratio
            );
        }
        Ok(ExitCode::SUCCESS)
    }
}
