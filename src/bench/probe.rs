//! `bertwork bench --probes N`: probe latency while a real trainer runs (the
//! workbench's case): round trip from sending a fill-mask command to its answer.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde::Serialize;

use crate::config::Config;
use crate::protocol::{Command, Event, ProbeRequest};
use crate::session::Session;
use crate::train::{TrainSetup, TrainerHandle};

#[derive(Debug, Serialize)]
pub struct ProbeLatency {
    pub probes: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
    /// Training steps taken while probing (shows training went on).
    pub steps_during: u64,
}

pub fn measure(config: &Config, probes: usize) -> Result<ProbeLatency> {
    let home = std::env::temp_dir().join(format!("bertwork-probe-bench-{}", std::process::id()));
    let session = Session::scratch("probe-bench", home.join("s"));
    std::fs::create_dir_all(&session.dir)?;
    let handle = TrainerHandle::spawn(TrainSetup::fresh(config.clone(), session));
    let mut first_step = None;
    let mut last_step = 0;
    // Wait until training runs.
    while first_step.is_none() {
        match handle.events.recv_timeout(Duration::from_secs(300))? {
            Event::Step(m) => first_step = Some(m.step),
            Event::Error { message } => bail!("{message}"),
            _ => {}
        }
    }
    let mut times = Vec::with_capacity(probes);
    for id in 0..probes as u64 {
        std::thread::sleep(Duration::from_millis(150));
        let sent = Instant::now();
        let text = "this movie was [MASK] and the acting was [MASK] .".to_string();
        handle
            .commands
            .send(Command::Probe(ProbeRequest::FillMask {
                id,
                text,
                top_k: 5,
            }))?;
        loop {
            match handle.events.recv_timeout(Duration::from_secs(60))? {
                Event::FillMask { id: got, .. } if got == id => break,
                Event::Step(m) => last_step = m.step,
                _ => {}
            }
        }
        times.push(sent.elapsed().as_secs_f64() * 1e3);
    }
    let _ = handle.commands.send(Command::Stop);
    for e in handle.events.iter() {
        if matches!(e, Event::Finished(_)) {
            break;
        }
    }
    handle.join();
    let _ = std::fs::remove_dir_all(&home);
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    Ok(ProbeLatency {
        probes,
        p50_ms: pct(0.5),
        p95_ms: pct(0.95),
        max_ms: *times.last().unwrap_or(&0.0),
        steps_during: last_step.saturating_sub(first_step.unwrap_or(0)),
    })
}
