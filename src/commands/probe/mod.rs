//! `bertwork probe`: ask a saved session's model to fill in [MASK]s, score a sentence
//! pair, show a sentence's attention (`--attention`) or a word's nearest embeddings
//! (`--neighbours`; both in [`inspect`]).

mod inspect;

use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Args;

use crate::session::Session;
use crate::terminal_text::escape;

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Saved session to load.
    #[arg(long)]
    pub session: String,
    /// Predictions per [MASK] (default 5), or neighbours with --neighbours (default 10).
    #[arg(long)]
    pub top_k: Option<usize>,
    /// Score "TEXT" followed by this sentence (IsNext probability) instead.
    #[arg(long, value_name = "SENTENCE")]
    pub next: Option<String>,
    #[arg(long)]
    pub json: bool,
    /// Use the checkpoint of this step instead of the latest weights.
    #[arg(long)]
    pub step: Option<u64>,
    /// Instead: print the watched probes' readings over training (`watched.csv`).
    #[arg(long, conflicts_with_all = ["next", "step", "texts", "attention", "neighbours"])]
    pub history: bool,
    /// Instead: every layer's and head's attention for this sentence (the share of
    /// each head's attention on the previous and next token, itself, [CLS] and [SEP];
    /// with --json the whole map).
    #[arg(long, value_name = "TEXT", conflicts_with_all = ["next", "neighbours"])]
    pub attention: Option<String>,
    /// With --attention: only this layer (1-based).
    #[arg(long, requires = "attention")]
    pub layer: Option<usize>,
    /// With --attention: only this head (1-based); with --layer, also its weights.
    #[arg(long, requires = "attention")]
    pub head: Option<usize>,
    /// Instead: the tokens nearest to WORD in the word-embedding table (cosine).
    #[arg(long, value_name = "WORD", conflicts_with = "next")]
    pub neighbours: Option<String>,
    /// With --neighbours: also the cosine similarity of WORD to OTHER.
    #[arg(long, value_name = "OTHER", requires = "neighbours")]
    pub to: Option<String>,
    /// Text with one or more [MASK]; several texts are answered in order (with --json,
    /// one line each). Not needed with --attention or --neighbours.
    #[arg(num_args = 1..)]
    pub texts: Vec<String>,
}

/// A classifier session: each text's class probabilities.
fn classify(session: &Session, args: &ProbeArgs) -> Result<ExitCode> {
    if args.texts.is_empty() {
        bail!("give a TEXT to classify");
    }
    if args.next.is_some() || args.attention.is_some() || args.neighbours.is_some() {
        bail!(
            "session `{}` is a classifier: it takes only TEXT to classify",
            session.name
        );
    }
    let c = crate::finetune::load(session)?;
    for text in &args.texts {
        let probs = crate::finetune::classify(&c, text)?;
        let mut pairs: Vec<(&String, f64)> = c.state.classes.iter().zip(probs).collect();
        if args.json {
            // HF's text-classification pipeline shape with top_k=None.
            let list: Vec<serde_json::Value> = pairs
                .iter()
                .map(|(l, p)| serde_json::json!({"label": l, "score": p}))
                .collect();
            println!("{}", serde_json::Value::Array(list));
            continue;
        }
        pairs.sort_by(|a, b| b.1.total_cmp(&a.1));
        if args.texts.len() > 1 {
            println!("{}", escape(text));
        }
        for (label, p) in pairs {
            println!("  {:>6.2}%  {}", 100.0 * p, escape(label));
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn exec(args: &ProbeArgs) -> Result<ExitCode> {
    if args.history {
        return history(&args.session, args.json);
    }
    if args.top_k == Some(0) {
        bail!("--top-k must be at least 1");
    }
    // A classifier session takes plain texts; anything else is checked as below,
    // before the session is opened.
    if let Ok(session) = Session::open(&args.session) {
        if crate::finetune::FinetuneState::read(&session)?.is_some() {
            return classify(&session, args);
        }
    }
    if args.attention.is_some() || args.neighbours.is_some() {
        if !args.texts.is_empty() {
            bail!(
                "--attention and --neighbours take no other TEXT: put it in quotes after the flag"
            );
        }
        return inspect::exec(args);
    }
    if args.texts.is_empty() {
        bail!("give a TEXT with [MASK] (or --attention \"TEXT\", or --neighbours WORD)");
    }
    let top_k = args.top_k.unwrap_or(5);
    let texts: Vec<String> = args
        .texts
        .iter()
        .map(|t| crate::probe::normalize_masks(t))
        .collect();
    if args.next.is_some() && texts.len() > 1 {
        bail!("--next scores one sentence pair: pass one TEXT with it");
    }
    if args.next.is_none() && texts.iter().any(|t| !t.contains("[MASK]")) {
        bail!(crate::probe::NO_MASK);
    }
    let session = Session::open(&args.session)?;
    let device = crate::device::resolve(crate::device::DeviceChoice::Auto)?;
    let saved = crate::saved::load_from(&session, args.step, device)?;
    if let Some(b) = &args.next {
        let r =
            crate::probe::next_sentence(&saved.model, &saved.tokenizer, &args.texts[0], b, device)?;
        if args.json {
            println!("{}", serde_json::to_string(&r)?);
        } else {
            println!("IsNext probability: {:.4}", r.is_next);
        }
        return Ok(ExitCode::SUCCESS);
    }
    for text in &texts {
        let r = crate::probe::fill_mask(&saved.model, &saved.tokenizer, text, top_k, device)?;
        if args.json {
            // HF's shape: a list for one mask, a list of lists for several.
            let json = if r.masks.len() == 1 {
                serde_json::to_string(&r.masks[0])?
            } else {
                serde_json::to_string(&r.masks)?
            };
            println!("{json}");
            continue;
        }
        if texts.len() > 1 {
            println!("{}", escape(text));
        }
        for (i, preds) in r.masks.iter().enumerate() {
            println!("[MASK] #{}", i + 1);
            for p in preds {
                // Tokens come from the session's vocab.txt, which may be any user's file.
                println!(
                    "  {:>6.2}%  {:<14} {}",
                    p.score * 100.0,
                    escape(&p.token_str),
                    escape(&p.sequence)
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints a session's watched-probe readings: per probe, a table of steps with the
/// probabilities of the named tokens and the top tokens of each reading.
fn history(name: &str, json: bool) -> Result<ExitCode> {
    let session = Session::open(name)?;
    let readings = crate::records::read_watched(&session);
    if readings.is_empty() {
        bail!(
            "session `{name}` has no watched-probe readings; watch probes with --set 'train.watch=[\"this movie was [MASK] . | great, awful\"]' or in the workbench's Watched panel"
        );
    }
    if json {
        for (step, rs) in &readings {
            for r in rs {
                let line = serde_json::json!({"step": step, "text": r.text, "top": r.top, "named": r.named});
                println!("{line}");
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut texts: Vec<&str> = Vec::new();
    for (_, rs) in &readings {
        for r in rs {
            if !texts.contains(&r.text.as_str()) {
                texts.push(&r.text);
            }
        }
    }
    for (i, text) in texts.iter().enumerate() {
        if i > 0 {
            println!();
        }
        println!("{}", escape(text));
        let rows: Vec<(u64, &crate::protocol::WatchReading)> = readings
            .iter()
            .filter_map(|(step, rs)| Some((*step, rs.iter().find(|r| r.text == *text)?)))
            .collect();
        let named: Vec<String> = rows
            .last()
            .map(|(_, r)| r.named.iter().map(|(t, _)| t.clone()).collect())
            .unwrap_or_default();
        let mut header = format!("{:>8}", "step");
        for t in &named {
            header.push_str(&format!("  {:>8}", escape(t)));
        }
        println!("{header}  top tokens");
        for (step, r) in rows {
            let mut line = format!("{step:>8}");
            for t in &named {
                let p = r.named.iter().find(|(n, _)| n == t).map(|(_, p)| *p);
                line.push_str(&p.map_or(format!("  {:>8}", "-"), |p| format!("  {p:>8.4}")));
            }
            let top: Vec<String> = r
                .top
                .iter()
                .map(|(t, p)| format!("{} {p:.3}", escape(t)))
                .collect();
            println!("{line}  {}", top.join(", "));
        }
    }
    Ok(ExitCode::SUCCESS)
}
