//! `bertwork probe --attention TEXT` and `bertwork probe --neighbours WORD`: what a
//! saved session's model attends to, and which tokens its embeddings put together.

use std::process::ExitCode;

use anyhow::{bail, Result};

use super::ProbeArgs;
use crate::probe::{AttentionMap, Neighbours};
use crate::session::Session;
use crate::terminal_text::escape;

/// Neighbours listed when `--top-k` is not given.
const TOP_K: usize = 10;

pub fn exec(args: &ProbeArgs) -> Result<ExitCode> {
    let session = Session::open(&args.session)?;
    let device = crate::device::resolve(crate::device::DeviceChoice::Auto)?;
    let saved = crate::saved::load_from(&session, args.step, device)?;
    if let Some(text) = &args.attention {
        let map = crate::probe::attention_map(&saved.model, &saved.tokenizer, text, device)?;
        let (layer, head) = selection(&map, args.layer, args.head)?;
        if args.json {
            println!("{}", serde_json::to_string(&map)?);
        } else {
            print_attention(&map, layer, head);
        }
    } else if let Some(word) = &args.neighbours {
        let k = args.top_k.unwrap_or(TOP_K);
        let r = crate::probe::neighbours(
            &saved.model,
            &saved.tokenizer,
            word,
            args.to.as_deref(),
            k,
            device,
        )?;
        if args.json {
            println!("{}", serde_json::to_string(&r)?);
        } else {
            print_neighbours(&r);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `--layer` and `--head` (1-based) checked against the model, as 0-based indices.
fn selection(
    map: &AttentionMap,
    layer: Option<usize>,
    head: Option<usize>,
) -> Result<(Option<usize>, Option<usize>)> {
    let layers = map.layers.len();
    let heads = map.layers.first().map_or(0, Vec::len);
    let check = |value: Option<usize>, count: usize, what: &str| -> Result<Option<usize>> {
        match value {
            Some(v) if v == 0 || v > count => {
                bail!(
                    "--{what} {v} is out of range: the model has {count} {what}s, numbered from 1"
                )
            }
            v => Ok(v.map(|v| v - 1)),
        }
    };
    Ok((check(layer, layers, "layer")?, check(head, heads, "head")?))
}

fn print_attention(map: &AttentionMap, layer: Option<usize>, head: Option<usize>) {
    // Tokens come from the session's vocab.txt, which may be any user's file.
    let tokens: Vec<String> = map.tokens.iter().map(|t| escape(t).into_owned()).collect();
    println!("tokens: {}", tokens.join(" "));
    println!("mean share of each head's attention (over the query tokens) on:");
    println!("layer  head   prev   next   self  [CLS]  [SEP]");
    for (l, heads) in map.layers.iter().enumerate() {
        if layer.is_some_and(|x| x != l) {
            continue;
        }
        for (h, a) in heads.iter().enumerate() {
            if head.is_some_and(|x| x != h) {
                continue;
            }
            let pct = |x: f64| format!("{:>6.1}%", x * 100.0);
            println!(
                "{:>5} {:>5}{}{}{}{}{}",
                l + 1,
                h + 1,
                pct(a.previous),
                pct(a.next),
                pct(a.itself),
                pct(a.cls),
                pct(a.sep)
            );
        }
    }
    let (Some(l), Some(h)) = (layer, head) else {
        return;
    };
    println!();
    println!(
        "layer {} head {}: weight (%) of each query row on each key column",
        l + 1,
        h + 1
    );
    let width = tokens
        .iter()
        .map(|t| t.chars().count())
        .max()
        .unwrap_or(0)
        .min(12);
    let cut = |t: &str| t.chars().take(width).collect::<String>();
    print!("{:width$} ", "");
    for t in &tokens {
        print!(" {:>5}", t.chars().take(5).collect::<String>());
    }
    println!();
    for (i, row) in map.layers[l][h].weights.iter().enumerate() {
        print!("{:<width$} ", cut(&tokens[i]));
        for w in row {
            print!(" {:>5.1}", w * 100.0);
        }
        println!();
    }
}

fn print_neighbours(r: &Neighbours) {
    let word = escape(&r.word);
    if r.averaged {
        let pieces: Vec<String> = r.pieces.iter().map(|p| escape(p).into_owned()).collect();
        println!(
            "\"{word}\" is {} pieces ({}): its vector is the mean of their embedding rows",
            pieces.len(),
            pieces.join(" + ")
        );
    }
    println!("nearest to \"{word}\" by cosine similarity of the word embeddings:");
    for n in &r.neighbours {
        println!("  {:>6.3}  {}", n.similarity, escape(&n.token));
    }
    if let Some(o) = &r.other {
        println!(
            "cosine similarity of \"{word}\" and \"{}\": {:.3}",
            escape(&o.word),
            o.similarity
        );
    }
}
