//! Everything the trainer needs before its first step: documents, tokenizer, the
//! held-out split and the fixed evaluation batches.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;

use crate::config::Config;
use crate::corpus::fingerprint::Fingerprint;
use crate::corpus::{self, CorpusSource};
use crate::data::batch::collate;
use crate::data::cache::{Cache, RowCounts};
use crate::data::floor::{no_context_loss, Unigram};
use crate::data::heldout::HeldoutSpec;
use crate::data::masking::MaskConfig;
use crate::data::pairs::{epoch_examples, examples, PairConfig};
use crate::data::store_file::StoreWriter;
use crate::data::tokenized::encode_documents;
use crate::data::{rng_for, HostBatch, TokenizedCorpus};
use crate::downstream::Downstream;
use crate::protocol::{Event, PreparePhase, WorkUnit};
use crate::session::{Session, TOKENIZER_FILE};
use crate::tokenizer::{WordCounts, WordPieceTokenizer};

mod progress;
use progress::Progress;

pub struct Prepared {
    pub tokenizer: Arc<WordPieceTokenizer>,
    /// A view of the token store (memory-mapped from the cache, or from an unnamed
    /// temporary file when there is no cache).
    pub train: Arc<TokenizedCorpus>,
    /// The held-out documents: a view of the same store.
    pub heldout: TokenizedCorpus,
    pub eval_batches: Vec<HostBatch>,
    pub stats: CorpusStats,
    /// The labelled documents of the downstream probe (None: no labels).
    pub downstream: Option<Arc<Downstream>>,
}

#[derive(Debug, Clone, Default)]
pub struct CorpusStats {
    pub corpus: String,
    pub rows: u64,
    pub empty_rows: u64,
    /// Repeated documents, and held-out documents that also occur in training.
    pub duplicates: crate::data::tokenized::Duplicates,
    pub documents: usize,
    pub sentences: usize,
    pub tokens: usize,
    pub unk_rate: f64,
    pub heldout_examples: usize,
    pub heldout_random_next: f64,
    /// Held-out MLM loss of the best predictor that ignores context (`data::floor`).
    pub no_context_mlm_loss: f64,
    /// See [`crate::protocol::StartInfo::heldout_tokens_per_word`].
    pub heldout_tokens_per_word: f64,
    pub seconds: f64,
    /// Tokenizer and tokenized corpus came from `<home>/cache`.
    pub cached: bool,
}

pub fn pair_config(config: &Config, tokenizer: &WordPieceTokenizer) -> PairConfig {
    PairConfig {
        max_seq_len: config.data.max_seq_len,
        short_seq_prob: config.data.short_seq_prob,
        word_starts: tokenizer.word_starts().into(),
    }
}

pub fn mask_config(config: &Config, tokenizer: &WordPieceTokenizer) -> MaskConfig {
    MaskConfig {
        prob: config.data.mask_prob,
        mask_replace_prob: config.data.mask_replace_prob,
        random_replace_prob: config.data.random_replace_prob,
        vocab_size: tokenizer.vocab_size(),
        specials: tokenizer.specials,
    }
}

/// Corpora whose CSV is at most this size (256 MiB) keep their sentences in memory
/// between vocabulary learning and encoding (one read of the file, as fast as before);
/// larger ones are read twice, a batch at a time, so that memory does not grow with them.
const KEEP_TEXT_UP_TO: u64 = 256 << 20;

/// Documents read while learning the vocabulary, kept for encoding, with the row counts.
type KeptText = (Vec<Vec<String>>, RowCounts);

/// Text read from the corpus's start to check its script against the normaliser (1 MiB).
const SCRIPT_SAMPLE: usize = 1 << 20;

/// The session's tokenizer if it has one, else `data.vocab`, else the one learnt from
/// this corpus before (cache), else one learnt now. Returns the text when it had to be
/// read and was small enough to keep. A new tokenizer that strips accents warns when
/// that would break the corpus's words ([`crate::tokenizer::spelling_marks_warning`]).
fn tokenizer_for(
    config: &Config,
    session: &Session,
    source: &CorpusSource,
    cache: Option<&Cache>,
    progress: &mut Progress,
) -> Result<(WordPieceTokenizer, Option<KeptText>)> {
    let saved = session.path(TOKENIZER_FILE);
    if saved.exists() {
        return Ok((WordPieceTokenizer::load(&saved)?, None));
    }
    if config.data.strip_accents {
        let sample = corpus::first_texts(source, &config.data.text_column, SCRIPT_SAMPLE)?;
        if let Some(warning) = crate::tokenizer::spelling_marks_warning(&sample, casing(config)) {
            progress.warn(warning);
        }
    }
    let (tokenizer, text) = match (&config.data.vocab, cache) {
        (Some(path), _) => (
            WordPieceTokenizer::from_vocab_file(path, casing(config))?,
            None,
        ),
        (None, Some(c)) if c.vocab_path(config.data.vocab_size).exists() => {
            match WordPieceTokenizer::load(&c.vocab_path(config.data.vocab_size)) {
                Ok(t) => (t, None),
                Err(_) => learn(config, source, cache, progress)?,
            }
        }
        _ => learn(config, source, cache, progress)?,
    };
    tokenizer.save(&session.dir)?;
    Ok((tokenizer, text))
}

/// Learns the vocabulary from every sentence of the corpus, streamed in batches.
fn learn(
    config: &Config,
    source: &CorpusSource,
    cache: Option<&Cache>,
    progress: &mut Progress,
) -> Result<(WordPieceTokenizer, Option<KeptText>)> {
    let size = source.size();
    let keep = size <= KEEP_TEXT_UP_TO;
    let mut kept = Vec::new();
    let mut counts = WordCounts::new(casing(config));
    progress.phase(PreparePhase::CountingWords, WorkUnit::Bytes, size);
    let (rows, empty_rows) =
        corpus::stream_documents(source, &config.data.text_column, |docs, at| {
            let sentences: Vec<&str> = docs.iter().flatten().map(String::as_str).collect();
            counts.add(&sentences)?;
            progress.update(at);
            if keep {
                kept.extend(docs);
            }
            Ok(())
        })?;
    progress.phase(PreparePhase::LearningVocabulary, WorkUnit::Bytes, 0);
    let tokenizer = WordPieceTokenizer::from_counts(counts, config.data.vocab_size)?;
    if let Some(c) = cache {
        // A failed cache write only costs the next run time.
        let _ = c.store_vocab(config.data.vocab_size, tokenizer.to_json()?.as_bytes());
    }
    let text = keep.then_some((kept, RowCounts { rows, empty_rows }));
    Ok((tokenizer, text))
}

/// Encodes the corpus (the kept text, or the file again, a batch at a time) straight
/// into a token store file (the cache entry, or an unnamed temporary file) and maps it.
fn encode(
    config: &Config,
    source: &CorpusSource,
    tokenizer: &WordPieceTokenizer,
    text: Option<KeptText>,
    cache: Option<(&Cache, &[u8])>,
    progress: &mut Progress,
) -> Result<(TokenizedCorpus, RowCounts)> {
    let named = match cache {
        Some((c, _)) => c.new_corpus_file().ok(),
        None => None,
    };
    let file = match &named {
        Some(f) => f.reopen()?,
        None => tempfile::tempfile()?,
    };
    let mut writer = StoreWriter::new(file)?;
    let mut push =
        |sentences: &[Vec<u32>]| writer.push_document(sentences.iter().map(Vec::as_slice));
    let rows = match text {
        Some((documents, rows)) => {
            progress.phase(
                PreparePhase::Encoding,
                WorkUnit::Documents,
                documents.len() as u64,
            );
            for (i, part) in documents.chunks(4096).enumerate() {
                encode_documents(part, tokenizer, &mut push)?;
                progress.update((i * 4096 + part.len()) as u64);
            }
            rows
        }
        None => {
            progress.phase(PreparePhase::Encoding, WorkUnit::Bytes, source.size());
            let (rows, empty_rows) =
                corpus::stream_documents(source, &config.data.text_column, |docs, at| {
                    encode_documents(&docs, tokenizer, &mut push)?;
                    progress.update(at);
                    Ok(())
                })?;
            RowCounts { rows, empty_rows }
        }
    };
    let file = writer.finish(rows)?;
    let file = match (named, cache) {
        (Some(f), Some((c, json))) => c.keep_corpus(json, f),
        _ => file,
    };
    let (corpus, rows) = TokenizedCorpus::map(&file)?;
    Ok((corpus, rows))
}

/// Reads (or takes from the cache) the corpus, checks that it is the content the
/// session was made from, and builds the held-out set from the session's fixed recipe.
///
/// Errors: an unreadable or changed corpus, a corpus too small to split, a damaged
/// session file.
pub fn prepare(config: &Config, session: &Session) -> Result<Prepared> {
    prepare_reporting(config, session, &mut |_| {})
}

/// [`prepare`], sending [`Event::Preparing`] progress (and warnings, such as a damaged
/// cache entry being rebuilt) to `send`.
pub fn prepare_reporting(
    config: &Config,
    session: &Session,
    send: &mut dyn FnMut(Event),
) -> Result<Prepared> {
    let start = Instant::now();
    let mut progress = Progress::new(send);
    let source = CorpusSource::of(config.data.corpus.as_deref(), &config.data.format)?;
    progress.phase(PreparePhase::CheckingCorpus, WorkUnit::Bytes, 0);
    let fingerprint = Fingerprint::of(&source)?;
    let recorded = Fingerprint::recorded(&session.dir)?;
    if let (Some(then), Some(now)) = (&recorded, &fingerprint) {
        then.check_same(now, &session.name)?;
    }
    let cache = crate::session::home()
        .ok()
        .and_then(|home| Cache::new(&home, &source, &cache_identity(config)));
    let (tokenizer, text) = tokenizer_for(config, session, &source, cache.as_ref(), &mut progress)?;
    let tokenizer_json = tokenizer.to_json()?;
    let cached = match cache
        .as_ref()
        .map(|c| c.load_corpus(tokenizer_json.as_bytes()))
    {
        Some(Ok(hit)) => hit,
        Some(Err(e)) => {
            progress.warn(format!("{e:#}; rebuilding it"));
            None
        }
        None => None,
    };
    let was_cached = cached.is_some() && text.is_none();
    let (all, rows) = match cached {
        Some(hit) => hit,
        None => encode(
            config,
            &source,
            &tokenizer,
            text,
            cache.as_ref().map(|c| (c, tokenizer_json.as_bytes())),
            &mut progress,
        )?,
    };
    progress.phase(PreparePhase::HeldOutBatches, WorkUnit::Bytes, 0);
    let (train, heldout) = all.split(config.data.heldout_fraction, config.train.seed)?;
    progress.phase(PreparePhase::LabelledDocuments, WorkUnit::Bytes, 0);
    let downstream = Downstream::prepare(config, &session.dir, &source, &tokenizer)?;
    // Strict: the downstream test documents are never trained on.
    let train = match &downstream {
        Some(d) if d.strict => train.excluding(&d.store_documents(&all, &tokenizer)?),
        _ => train,
    };
    let unk = tokenizer.specials.unk;
    let unk_count = all.tokens().filter(|&t| t == unk).count();
    let seed = config.train.seed;
    // Held-out examples and masks follow the session's first recipe, not later changes.
    let spec = HeldoutSpec::for_session(&session.dir, config)?;
    let fixed = spec.apply(config);
    let mut heldout_examples = epoch_examples(
        &heldout,
        pair_config(&fixed, &tokenizer),
        &mut rng_for(seed, "eval-pairs", 0),
    );
    // The examples come shuffled, so the first ones are a random subset.
    if let Some(max) = spec.max_examples {
        heldout_examples.truncate(max);
    }
    let mask = mask_config(&fixed, &tokenizer);
    let eval_batches: Vec<HostBatch> = heldout_examples
        .chunks(fixed.train.batch_size.max(1))
        .enumerate()
        .map(|(i, chunk)| {
            let chunk = examples(chunk, &heldout, tokenizer.specials);
            collate(&chunk, &mask, &mut rng_for(seed, "eval-mask", i as u64))
        })
        .collect();
    let random = heldout_examples.iter().filter(|e| e.random_next).count();
    let unigram = Unigram::fit(&train, &mask);
    let no_context_mlm_loss = no_context_loss(&unigram, &mask, &eval_batches);
    let word_starts = tokenizer.word_starts();
    let heldout_words = heldout
        .tokens()
        .filter(|&t| word_starts.get(t as usize).copied().unwrap_or(true))
        .count();
    let heldout_tokens_per_word = heldout.num_tokens() as f64 / heldout_words.max(1) as f64;
    let stats = CorpusStats {
        corpus: source.summary(),
        rows: rows.rows,
        empty_rows: rows.empty_rows,
        duplicates: train.duplicates(&heldout),
        documents: all.num_documents(),
        sentences: all.num_sentences(),
        tokens: all.num_tokens(),
        unk_rate: unk_count as f64 / all.num_tokens().max(1) as f64,
        heldout_examples: heldout_examples.len(),
        heldout_random_next: random as f64 / heldout_examples.len().max(1) as f64,
        no_context_mlm_loss,
        heldout_tokens_per_word,
        seconds: start.elapsed().as_secs_f64(),
        cached: was_cached,
    };
    if let (None, Some(mut fingerprint)) = (recorded, fingerprint) {
        fingerprint.rows = Some(rows.rows);
        fingerprint.save(&session.dir)?;
    }
    Ok(Prepared {
        tokenizer: Arc::new(tokenizer),
        train: Arc::new(train),
        heldout,
        eval_batches,
        stats,
        downstream: downstream.map(Arc::new),
    })
}

/// The config's normalisation choices for the tokenizer.
fn casing(config: &Config) -> crate::tokenizer::Casing {
    crate::tokenizer::Casing {
        lowercase: config.data.lowercase,
        strip_accents: config.data.strip_accents,
    }
}

/// What, besides the corpus, the cached vocabulary and token ids depend on: the text
/// column, and the casing when it is not BERT uncased's (so that caches made before the
/// casing keys existed stay valid).
fn cache_identity(config: &Config) -> String {
    let casing = casing(config);
    if casing == crate::tokenizer::Casing::default() {
        config.data.text_column.clone()
    } else {
        format!("{}\u{0}{casing:?}", config.data.text_column)
    }
}
