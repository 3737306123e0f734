//! Everything the trainer needs before its first step: documents, tokenizer, the
//! held-out split and the fixed evaluation batches.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;

use crate::config::Config;
use crate::corpus::{self, CorpusSource};
use crate::data::batch::collate;
use crate::data::masking::MaskConfig;
use crate::data::pairs::{epoch_examples, PairConfig};
use crate::data::{rng_for, HostBatch, TokenizedCorpus};
use crate::session::{Session, TOKENIZER_FILE};
use crate::tokenizer::WordPieceTokenizer;

pub struct Prepared {
    pub tokenizer: Arc<WordPieceTokenizer>,
    pub train: Arc<TokenizedCorpus>,
    pub heldout: TokenizedCorpus,
    pub eval_batches: Vec<HostBatch>,
    pub stats: CorpusStats,
}

#[derive(Debug, Clone, Default)]
pub struct CorpusStats {
    pub corpus: String,
    pub rows: u64,
    pub empty_rows: u64,
    pub documents: usize,
    pub sentences: usize,
    pub tokens: usize,
    pub unk_rate: f64,
    pub heldout_examples: usize,
    pub heldout_random_next: f64,
    pub seconds: f64,
}

pub fn pair_config(config: &Config) -> PairConfig {
    PairConfig {
        max_seq_len: config.data.max_seq_len,
        short_seq_prob: config.data.short_seq_prob,
    }
}

pub fn mask_config(config: &Config, tokenizer: &WordPieceTokenizer) -> MaskConfig {
    MaskConfig {
        prob: config.data.mask_prob,
        vocab_size: tokenizer.vocab_size(),
        specials: tokenizer.specials,
    }
}

/// The session's tokenizer if it has one, else `data.vocab`, else one trained on the
/// documents.
fn tokenizer_for(
    config: &Config,
    session: &Session,
    documents: &[Vec<String>],
) -> Result<WordPieceTokenizer> {
    let saved = session.path(TOKENIZER_FILE);
    if saved.exists() {
        return WordPieceTokenizer::load(&saved);
    }
    let tokenizer = match &config.data.vocab {
        Some(path) => WordPieceTokenizer::from_vocab_file(path)?,
        None => WordPieceTokenizer::train(documents.iter().flatten(), config.data.vocab_size)?,
    };
    tokenizer.save(&session.dir)?;
    Ok(tokenizer)
}

pub fn prepare(config: &Config, session: &Session) -> Result<Prepared> {
    let start = Instant::now();
    let source = CorpusSource::from_option(config.data.corpus.as_deref());
    let text = corpus::load_text(&source, &config.data.text_column)?;
    let tokenizer = tokenizer_for(config, session, &text.documents)?;
    let all = TokenizedCorpus::build(&text.documents, &tokenizer)?;
    drop(text.documents);
    let (train, heldout) = all.split(config.data.heldout_fraction, config.train.seed)?;
    let unk = tokenizer.specials.unk;
    let unk_count = (0..all.num_documents())
        .flat_map(|d| all.document(d))
        .flatten()
        .filter(|&&t| t == unk)
        .count();
    let seed = config.train.seed;
    let heldout_examples = epoch_examples(
        &heldout,
        pair_config(config),
        tokenizer.specials,
        &mut rng_for(seed, "eval-pairs", 0),
    );
    let mask = mask_config(config, &tokenizer);
    let eval_batches: Vec<HostBatch> = heldout_examples
        .chunks(config.train.batch_size.max(1))
        .enumerate()
        .map(|(i, chunk)| collate(chunk, &mask, &mut rng_for(seed, "eval-mask", i as u64)))
        .collect();
    let random = heldout_examples.iter().filter(|e| e.random_next).count();
    let stats = CorpusStats {
        corpus: source.describe(),
        rows: text.rows,
        empty_rows: text.empty_rows,
        documents: all.num_documents(),
        sentences: all.num_sentences(),
        tokens: all.num_tokens(),
        unk_rate: unk_count as f64 / all.num_tokens().max(1) as f64,
        heldout_examples: heldout_examples.len(),
        heldout_random_next: random as f64 / heldout_examples.len().max(1) as f64,
        seconds: start.elapsed().as_secs_f64(),
    };
    Ok(Prepared {
        tokenizer: Arc::new(tokenizer),
        train: Arc::new(train),
        heldout,
        eval_batches,
        stats,
    })
}
