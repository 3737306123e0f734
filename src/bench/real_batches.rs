//! `bertwork bench --real-batches N`: the first N training batches of a real corpus
//! (the embedded reviews, or `--corpus CSV`), prepared, paired and masked as a run
//! with this config would make them, padding included; and `--dump-batches FILE`,
//! which writes them for `bench/hf_reference.py --batches FILE`.

use std::path::Path;

use anyhow::{bail, Context, Result};
use tch::Tensor;

use crate::config::Config;
use crate::data::batch::{collate, HostBatch};
use crate::data::pairs::examples;
use crate::data::rng_for;
use crate::session::Session;
use crate::train::prepare::{mask_config, pair_config, prepare};

/// The first `n` batches of epoch 0 and the tokenizer's vocabulary size.
///
/// Errors: a corpus that cannot be prepared, or one with fewer than `n` batches.
pub fn first_batches(config: &Config, n: usize) -> Result<(Vec<HostBatch>, usize)> {
    let home = tempfile::Builder::new()
        .prefix("bertwork-bench-real-")
        .tempdir()
        .context("cannot create a temporary folder for the bench")?;
    let session = Session::scratch("bench", home.path().to_path_buf());
    let prepared = prepare(config, &session);
    drop(home);
    let data = prepared?;
    let mut rng = rng_for(config.train.seed, "bench-real-batches", 0);
    let spans = crate::data::pairs::epoch_examples(
        &data.train,
        pair_config(config, &data.tokenizer),
        &mut rng,
    );
    let mask = mask_config(config, &data.tokenizer);
    let batches: Vec<HostBatch> = spans
        .chunks_exact(config.train.batch_size)
        .take(n)
        .map(|chunk| {
            let examples = examples(chunk, &data.train, data.tokenizer.specials);
            collate(&examples, &mask, &mut rng)
        })
        .collect();
    if batches.len() < n {
        bail!(
            "the corpus gives only {} full batches of {}; ask for fewer with --real-batches",
            batches.len(),
            config.train.batch_size
        );
    }
    Ok((batches, data.tokenizer.vocab_size()))
}

/// Share of padding positions in `batches` (0 to 1).
pub fn padding_share(batches: &[HostBatch]) -> f64 {
    let positions: usize = batches.iter().map(|b| b.batch * b.seq).sum();
    let real: usize = batches.iter().map(|b| b.real_tokens).sum();
    1.0 - real as f64 / positions.max(1) as f64
}

/// Writes `batches` as safetensors, `batch.<i>.<field>` with HF's field names
/// (`input_ids`, `token_type_ids`, `attention_mask`, `labels`, `next_sentence_label`),
/// all int64.
///
/// Errors: the file cannot be written.
pub fn dump(batches: &[HostBatch], path: &Path) -> Result<()> {
    let mut named: Vec<(String, Tensor)> = Vec::new();
    for (i, b) in batches.iter().enumerate() {
        let shape = [b.batch as i64, b.seq as i64];
        for (field, values) in [
            ("input_ids", &b.input_ids),
            ("token_type_ids", &b.token_type_ids),
            ("attention_mask", &b.attention_mask),
            ("labels", &b.mlm_labels),
        ] {
            named.push((
                format!("batch.{i}.{field}"),
                Tensor::from_slice(values).view(shape),
            ));
        }
        named.push((
            format!("batch.{i}.next_sentence_label"),
            Tensor::from_slice(&b.nsp_labels),
        ));
    }
    let refs: Vec<(&str, &Tensor)> = named.iter().map(|(n, t)| (n.as_str(), t)).collect();
    Tensor::write_safetensors(&refs, path)
        .with_context(|| format!("cannot write the batches to {}", path.display()))
}
