//! `bertwork bench downstream-overhead`: what the downstream linear probe costs a
//! real run of the config on its corpus (the embedded reviews by default), at the
//! config's evaluation cadence (epoch ends unless `train.eval_every`). Each reading's
//! time (features and fits, training waits for it) is set against the training time
//! since the reading before; the one-time baselines (TF-IDF, majority, the untrained
//! encoder) are timed apart.

use std::time::Instant;

use anyhow::{bail, Result};
use serde::Serialize;

use super::scratch_run::ScratchRun;
use crate::config::Config;
use crate::protocol::Event;
use crate::stats::median;

#[derive(Debug, Serialize)]
pub struct DownstreamOverhead {
    /// Readings measured (the first, whose interval includes start-up, is left out).
    pub readings: usize,
    /// Documents scored per reading.
    pub documents: usize,
    /// Median seconds of one reading.
    pub reading_s: f64,
    /// Median training seconds between two readings (evaluations and readings
    /// excluded).
    pub interval_s: f64,
    /// reading_s / interval_s: the share the probe adds to training time.
    pub direct_cost: f64,
    /// Seconds from `Started` to the baselines (TF-IDF folds, majority, untrained
    /// encoder), once per session.
    pub baselines_s: f64,
}

/// Trains `config` for `evaluations` held-out evaluations after the first and times
/// the probe's readings.
///
/// Errors: the corpus has no labels, or the run fails.
pub fn measure(mut config: Config, evaluations: usize) -> Result<DownstreamOverhead> {
    if evaluations == 0 {
        bail!("--blocks must be at least 1");
    }
    config.train.checkpoint_every = 0;
    let run = ScratchRun::start(config, "downstream")?;
    let (mut started, mut baselines_s, mut documents) = (None, 0.0, 0);
    let mut readings: Vec<(f64, f64)> = Vec::new();
    let mut eval_s: Vec<f64> = Vec::new();
    let mut failure = None;
    for event in run.handle.events.iter() {
        match event {
            Event::Started(_) => started = Some(Instant::now()),
            Event::DownstreamSetup(s) => {
                baselines_s = started.map_or(0.0, |t| t.elapsed().as_secs_f64());
                documents = s.documents;
            }
            Event::Eval(e) => eval_s.push(e.seconds),
            Event::Downstream(r) => {
                readings.push((r.elapsed_s, r.seconds));
                if readings.len() > evaluations {
                    break;
                }
            }
            Event::Error { message } => failure = Some(message),
            Event::Finished(_) => break,
            _ => {}
        }
    }
    run.finish();
    if let Some(message) = failure {
        bail!("the run failed: {message}");
    }
    if documents == 0 {
        bail!("the corpus has no labels, so there is no downstream probe to measure (see data.label_column)");
    }
    if readings.len() < 2 {
        bail!(
            "the run ended after {} reading(s); raise train.epochs or lower train.eval_every",
            readings.len()
        );
    }
    let mut reading: Vec<f64> = readings[1..].iter().map(|r| r.1).collect();
    let mut interval: Vec<f64> = readings
        .windows(2)
        .enumerate()
        .map(|(i, w)| w[1].0 - w[0].0 - w[0].1 - eval_s.get(i + 1).copied().unwrap_or(0.0))
        .collect();
    let (reading_s, interval_s) = (median(&mut reading), median(&mut interval));
    Ok(DownstreamOverhead {
        readings: reading.len(),
        documents,
        reading_s,
        interval_s,
        direct_cost: reading_s / interval_s.max(1e-9),
        baselines_s,
    })
}
