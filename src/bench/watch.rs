//! `bertwork bench watch-overhead`: the cost of watched probes to training tokens/s,
//! on one real run on the embedded corpus at the config's `train.log_every` (readings
//! every log interval, their default). Blocks of logged intervals alternate between
//! [`MAX_WATCHED`] watched probes and none ([`super::blocks`]); the switch is a
//! [`Command::Watch`], and an interval counts only once the trainer has confirmed the
//! state it ran under (its `Watching` event came before the interval began).

use std::time::Duration;

use anyhow::{bail, Result};
use serde::Serialize;

use super::blocks::{compare, treated};
use super::scratch_run::ScratchRun;
use crate::config::watch::MAX_WATCHED;
use crate::config::Config;
use crate::protocol::{Command, Event};
use crate::stats::median;

#[derive(Debug, Serialize)]
pub struct WatchOverhead {
    pub probes: usize,
    /// Steps between readings (the log interval).
    pub interval_steps: u64,
    /// Logged intervals per block, and blocks of each kind.
    pub block_intervals: usize,
    pub blocks_each: usize,
    pub plain_tokens_per_s: f64,
    pub watching_tokens_per_s: f64,
    /// Median of neighbouring pairs' watching / plain ratios (1.0 = no cost).
    pub paired_ratio: f64,
    /// Median time of one reading of all the probes, on the trainer thread.
    pub reading_ms: f64,
    /// Median wall time of one plain log interval (its steps, from the step logs).
    pub interval_ms: f64,
    /// reading_ms / interval_ms: the share of training time the readings take.
    pub direct_cost: f64,
}

/// Probes like a user's: evaluative adjectives and a few other slots.
fn probes() -> Vec<String> {
    [
        "this movie was [MASK] . | great, awful",
        "the acting was [MASK] . | good, bad",
        "one of the [MASK] movies i have ever seen . | best, worst",
        "the special [MASK] were great . | effects",
        "i would [MASK] this movie to anyone . | recommend",
        "this is the worst movie i have ever [MASK] . | seen",
        "the plot was [MASK] and the ending was [MASK] . | good",
        "not as good [MASK] the book . | as",
    ]
    .iter()
    .take(MAX_WATCHED)
    .map(|s| s.to_string())
    .collect()
}

pub fn measure(config: &Config, block: usize, blocks_each: usize) -> Result<WatchOverhead> {
    if block == 0 || blocks_each == 0 {
        bail!("--block and --blocks must be at least 1");
    }
    let mut config = config.clone();
    config.train.watch = Vec::new();
    config.train.watch_every = 0;
    config.train.eval_every = 0;
    config.train.epochs = 1000;
    let interval = config.train.log_every.max(1);
    let total_blocks = 2 * blocks_each;
    // Warm-up, and slack for the switches between blocks.
    config.train.max_steps = interval * ((block + 2) * total_blocks + 5) as u64;
    let run = ScratchRun::start(config, "watch")?;
    let handle = &run.handle;
    let mut per_block: Vec<Vec<f64>> = vec![Vec::new(); total_blocks];
    let (mut current, mut watching, mut since) = (0usize, false, None::<u64>);
    let mut warm = 3;
    let (mut reading_ms, mut interval_ms) = (Vec::new(), Vec::new());
    let mut last_elapsed = None;
    loop {
        match handle.events.recv_timeout(Duration::from_secs(600))? {
            Event::Step(m) => {
                if warm > 0 {
                    warm -= 1;
                    if warm == 0 {
                        // Block 0 is plain: start it now.
                        since = Some(m.step);
                    }
                    continue;
                }
                let began = m.step.saturating_sub(interval);
                let settled = since.is_some_and(|s| began >= s);
                if settled && watching == treated(current as u64) {
                    per_block[current].push(m.tokens_per_s);
                    if let (false, Some(before)) = (watching, last_elapsed) {
                        interval_ms.push((m.elapsed_s - before) * 1e3);
                    }
                }
                last_elapsed = Some(m.elapsed_s);
                if per_block[current].len() >= block {
                    current += 1;
                    if current == total_blocks {
                        break;
                    }
                    let want = treated(current as u64);
                    if want != watching {
                        since = None;
                        let list = if want { probes() } else { Vec::new() };
                        handle.commands.send(Command::Watch(list))?;
                    }
                }
            }
            Event::Watched { seconds, .. } => reading_ms.push(seconds * 1e3),
            Event::Watching { step, entries } => {
                watching = !entries.is_empty();
                since = Some(step);
            }
            Event::Error { message } => bail!("{message}"),
            Event::Finished(_) => bail!("the run ended before the blocks were complete"),
            _ => {}
        }
    }
    run.finish();
    let c = compare(&mut per_block);
    let (reading_ms, interval_ms) = (median(&mut reading_ms), median(&mut interval_ms));
    Ok(WatchOverhead {
        probes: probes().len(),
        interval_steps: interval,
        block_intervals: block,
        blocks_each,
        plain_tokens_per_s: c.plain,
        watching_tokens_per_s: c.treated,
        paired_ratio: c.paired_ratio,
        reading_ms,
        interval_ms,
        direct_cost: reading_ms / interval_ms,
    })
}
