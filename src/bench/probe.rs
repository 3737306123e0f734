//! `bertwork bench probes N [--kind K]`: probe latency while a real trainer
//! runs (the workbench's case): round trip from sending a probe command (fill-mask,
//! a 128-token attention map, or embedding neighbours) to its answer.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde::Serialize;

use super::scratch_run::ScratchRun;
use crate::config::Config;
use crate::protocol::{Command, Event, ProbeRequest};
use crate::tokenizer::WordPieceTokenizer;

/// What the probe bench asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeKind {
    FillMask,
    Attention,
    Neighbours,
}

impl std::fmt::Display for ProbeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProbeKind::FillMask => "fill-mask",
            ProbeKind::Attention => "attention",
            ProbeKind::Neighbours => "neighbours",
        })
    }
}

/// Tokens of the attention probe's sequence, `[CLS]` and `[SEP]` included.
pub const ATTENTION_TOKENS: usize = 128;

/// Words the attention sentence is built from (repeated as needed).
const PROSE: &str = "this movie was one of the best films i have seen in a long time . the story is simple but the acting is good and the music fits every scene . i would watch it again with my family , and i think most people will like it as much as we did .";

/// A sentence of exactly `tokens - 2` WordPiece tokens for `tokenizer` (so `tokens`
/// with `[CLS]` and `[SEP]`), made of whole words from [`PROSE`].
fn sentence_of(tokenizer: &WordPieceTokenizer, tokens: usize) -> Result<String> {
    let target = tokens.saturating_sub(2);
    let mut words = Vec::new();
    let mut count = 0;
    for word in PROSE.split_whitespace().cycle().take(20 * target) {
        let n = tokenizer.encode(word)?.len();
        if n > 0 && count + n <= target {
            words.push(word);
            count += n;
        }
        if count == target {
            return Ok(words.join(" "));
        }
    }
    bail!("could not build a sentence of {target} tokens from the bench's words")
}

#[derive(Debug, Serialize)]
pub struct ProbeLatency {
    pub kind: ProbeKind,
    /// Tokens of the attention probe's sequence (with [CLS] and [SEP]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens: Option<usize>,
    pub probes: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
    /// Training steps taken while probing (shows training went on).
    pub steps_during: u64,
}

/// Sends `probes` requests of `kind`, one every 150 ms after the previous answer, to a
/// trainer training `config` on the embedded corpus, and times each round trip.
///
/// Errors: the trainer fails or does not start within 5 minutes, an answer takes over
/// a minute, or (attention) the answer is an error.
pub fn measure(config: &Config, probes: usize, kind: ProbeKind) -> Result<ProbeLatency> {
    let run = ScratchRun::start(config.clone(), "probe")?;
    let handle = &run.handle;
    let tokenizer_file = run.path(crate::session::TOKENIZER_FILE);
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
    // The trainer saved its tokenizer before the first step.
    let long = match kind {
        ProbeKind::Attention => {
            let tokenizer = WordPieceTokenizer::load(&tokenizer_file)?;
            sentence_of(&tokenizer, ATTENTION_TOKENS)?
        }
        _ => String::new(),
    };
    let mut times = Vec::with_capacity(probes);
    let mut tokens = None;
    for id in 0..probes as u64 {
        std::thread::sleep(Duration::from_millis(150));
        let request = match kind {
            ProbeKind::FillMask => ProbeRequest::FillMask {
                id,
                text: "this movie was [MASK] and the acting was [MASK] .".into(),
                top_k: 5,
            },
            ProbeKind::Attention => ProbeRequest::Attention {
                id,
                text: long.clone(),
            },
            ProbeKind::Neighbours => ProbeRequest::Neighbours {
                id,
                word: "good".into(),
                other: Some("great".into()),
                k: 10,
            },
        };
        let sent = Instant::now();
        handle.commands.send(Command::Probe(request))?;
        loop {
            match handle.events.recv_timeout(Duration::from_secs(60))? {
                Event::FillMask { id: got, .. } | Event::Neighbours { id: got, .. }
                    if got == id =>
                {
                    break
                }
                Event::Attention {
                    id: got, result, ..
                } if got == id => {
                    tokens = Some(result.map_err(anyhow::Error::msg)?.tokens.len());
                    break;
                }
                Event::Step(m) => last_step = m.step,
                _ => {}
            }
        }
        times.push(sent.elapsed().as_secs_f64() * 1e3);
    }
    run.finish();
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    Ok(ProbeLatency {
        kind,
        tokens,
        probes,
        p50_ms: pct(0.5),
        p95_ms: pct(0.95),
        max_ms: *times.last().unwrap_or(&0.0),
        steps_during: last_step.saturating_sub(first_step.unwrap_or(0)),
    })
}
