//! `bertwork bench ui-overhead`: the workbench's cost to training, measured on one
//! run. A real trainer runs on the embedded corpus, logging every step; the steps are
//! cut into blocks, and in alternate blocks (A B B A ...) the real dashboard is drawn
//! for every burst of events and every 500 ms tick, as the event loop does, through
//! crossterm into `/dev/null`. Otherwise the events are only read. Tokens/s of the
//! drawing blocks over the reading blocks is the overhead; both see the same machine
//! noise. The terminal emulator's own work (another process) is not included.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use crossbeam_channel::{select, tick};
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use serde::Serialize;

use super::blocks::{compare, treated};
use super::scratch_run::ScratchRun;
use crate::config::Config;
use crate::protocol::{Command, Event};
use crate::tui::app::App;
use crate::tui::draw::draw;

#[derive(Debug, Serialize)]
pub struct UiOverhead {
    pub block_steps: u64,
    pub blocks_each: usize,
    /// Median over blocks of the median per-step tokens/s.
    pub headless_tokens_per_s: f64,
    pub workbench_tokens_per_s: f64,
    /// workbench / headless (1.0 = no cost).
    pub ratio: f64,
    /// Median of the ratios of neighbouring block pairs.
    pub paired_ratio: f64,
    pub redraws: u64,
}

pub fn measure(config: &Config, block: u64, blocks_each: usize) -> Result<UiOverhead> {
    if block < 5 || blocks_each == 0 {
        bail!("--block must be at least 5 steps and --blocks at least 1");
    }
    let warm = 10;
    let total_blocks = 2 * blocks_each as u64;
    let mut config = config.clone();
    config.train.log_every = 1;
    config.train.eval_every = 0;
    config.train.max_steps = warm + block * total_blocks;
    config.train.epochs = 1000;
    let run = ScratchRun::start(config, "ui")?;
    let handle = &run.handle;
    let sink = std::fs::OpenOptions::new().write(true).open("/dev/null")?;
    let mut terminal = Terminal::with_options(
        CrosstermBackend::new(sink),
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, 120, 40)),
        },
    )?;
    let mut app = App::new();
    let ticker = tick(Duration::from_millis(500));
    let mut per_block: Vec<Vec<f64>> = vec![Vec::new(); total_blocks as usize];
    let mut redraws = 0u64;
    let mut finished = false;
    let started = Instant::now();
    while !finished {
        let step = app.step();
        let drawing = step >= warm && treated((step - warm) / block);
        let mut events = Vec::new();
        select! {
            recv(handle.events) -> ev => match ev {
                Ok(ev) => {
                    events.push(ev);
                    while let Ok(ev) = handle.events.try_recv() {
                        events.push(ev);
                    }
                }
                Err(_) => finished = true,
            },
            recv(ticker) -> _ => {
                if drawing {
                    app.memory = crate::device::rss_line();
                }
            },
        }
        for ev in events {
            match &ev {
                Event::Step(m) if m.step > warm => {
                    let b = ((m.step - warm - 1) / block) as usize;
                    if let Some(v) = per_block.get_mut(b) {
                        v.push(m.tokens_per_s);
                    }
                }
                Event::Error { message } => bail!("{message}"),
                Event::Finished(_) => finished = true,
                _ => {}
            }
            app.on_event(ev);
        }
        if drawing {
            terminal.draw(|f| draw(f, &app))?;
            redraws += 1;
        }
        if started.elapsed() > Duration::from_secs(3600) {
            let _ = handle.commands.send(Command::Stop);
        }
    }
    run.finish();
    let c = compare(&mut per_block);
    Ok(UiOverhead {
        block_steps: block,
        blocks_each,
        headless_tokens_per_s: c.plain,
        workbench_tokens_per_s: c.treated,
        ratio: c.treated / c.plain,
        paired_ratio: c.paired_ratio,
        redraws,
    })
}
