//! WordPiece tokenizer (lowercasing, BERT normalizer and pre-tokenizer) run by the
//! `tokenizers` crate, with its vocabulary learnt from the corpus (deterministically,
//! see [`learn`]) or read from an existing `vocab.txt`.

mod casing;
mod fast;
pub mod learn;

use casing::normalizer;
pub use casing::{spelling_marks_warning, Casing};

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use tokenizers::decoders::wordpiece::WordPiece as WordPieceDecoder;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::bert::BertProcessing;
use tokenizers::{
    AddedToken, NormalizedString, Normalizer, OffsetReferential, OffsetType, PreTokenizedString,
    PreTokenizer, Tokenizer,
};

pub const SPECIAL_TOKENS: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/// Ids of the special tokens (they differ between vocabularies: bert-base-uncased has
/// [PAD]=0, [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecialIds {
    pub pad: u32,
    pub unk: u32,
    pub cls: u32,
    pub sep: u32,
    pub mask: u32,
}

impl SpecialIds {
    /// The layout of bertwork's own vocabularies: the five specials first.
    pub const FIRST_FIVE: SpecialIds = SpecialIds {
        pad: 0,
        unk: 1,
        cls: 2,
        sep: 3,
        mask: 4,
    };

    pub fn contains(&self, id: u32) -> bool {
        id == self.pad || id == self.unk || id == self.cls || id == self.sep || id == self.mask
    }
}

pub struct WordPieceTokenizer {
    inner: Tokenizer,
    pub specials: SpecialIds,
    /// How its pipeline acts on ASCII text, when a fast path can give the same ids.
    ascii: Option<fast::AsciiRule>,
}

impl std::fmt::Debug for WordPieceTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WordPieceTokenizer")
            .field("vocab_size", &self.vocab_size())
            .field("specials", &self.specials)
            .finish()
    }
}

fn err(e: tokenizers::Error) -> anyhow::Error {
    anyhow!("{e}")
}

/// The tokens of a `vocab.txt` and their ids (the line index, from 0). A UTF-8 BOM at
/// the start and a CR before each line end are dropped (what Windows editors add). The
/// `tokenizers` crate's own reader keeps both, and lets a repeated token overwrite the
/// first one's id, which leaves an id past the vocabulary's end; hence this reader.
///
/// Errors: the file is not UTF-8, a line is empty, or a token is listed twice (with
/// both line numbers, 1-based).
pub fn read_vocab(bytes: &[u8]) -> Result<HashMap<String, u32>> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        anyhow!(
            "is not UTF-8 text (byte {} is invalid); save it as UTF-8",
            e.valid_up_to()
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut vocab: HashMap<String, u32> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        // `lines` already drops a CR before the LF.
        if line.is_empty() {
            bail!(
                "line {} is empty; every line of a vocab.txt is one token (remove the empty line)",
                i + 1
            );
        }
        if let Some(first) = vocab.insert(line.to_string(), i as u32) {
            bail!(
                "lists `{}` twice (lines {} and {}); each token must appear once, since its line is its id",
                crate::terminal_text::escape_lines(line),
                first + 1,
                i + 1
            );
        }
    }
    Ok(vocab)
}

fn pipeline(model: WordPiece, casing: Casing) -> Tokenizer {
    let mut tokenizer = Tokenizer::new(model);
    tokenizer
        .with_normalizer(Some(normalizer(casing)))
        .with_pre_tokenizer(Some(BertPreTokenizer))
        .with_decoder(Some(WordPieceDecoder::default()));
    tokenizer
}

/// How often each pre-token (normalised, split like BERT) occurs in the texts added so
/// far: vocabulary learning fed batch by batch, so the texts need not all be in memory.
/// Memory grows with the number of distinct words, not with the corpus.
#[derive(Debug, Default)]
pub struct WordCounts(HashMap<String, u64>, Casing);

impl WordCounts {
    /// Counts normalised with `casing`.
    pub fn new(casing: Casing) -> Self {
        Self(HashMap::new(), casing)
    }

    /// Counts the words of `texts`, on every core.
    ///
    /// Errors: the normaliser's or pre-tokenizer's.
    pub fn add<S: AsRef<str> + Sync>(&mut self, texts: &[S]) -> Result<()> {
        // Normalising and pre-tokenizing is most of the work: one map per thread, merged.
        let casing = self.1;
        let maps = crate::parallel::map_chunks(texts, |part| count_words(part, casing));
        for map in maps {
            for (word, n) in map? {
                *self.0.entry(word).or_insert(0) += n;
            }
        }
        Ok(())
    }
}

fn count_words<S: AsRef<str>>(texts: &[S], casing: Casing) -> Result<HashMap<String, u64>> {
    let normalizer = normalizer(casing);
    let ascii = fast::AsciiRule {
        lowercase: casing.lowercase,
        added_tokens: false,
    };
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut count = |word: &str| match counts.get_mut(word) {
        Some(c) => *c += 1,
        None => {
            counts.insert(word.to_string(), 1);
        }
    };
    for text in texts {
        if ascii.words(text.as_ref(), &mut count) {
            continue;
        }
        let mut normalized = NormalizedString::from(text.as_ref());
        normalizer.normalize(&mut normalized).map_err(err)?;
        let mut pre = PreTokenizedString::from(normalized);
        BertPreTokenizer.pre_tokenize(&mut pre).map_err(err)?;
        for (word, _, _) in pre.get_splits(OffsetReferential::Original, OffsetType::Byte) {
            count(word);
        }
    }
    Ok(counts)
}

fn special_tokens() -> Vec<AddedToken> {
    SPECIAL_TOKENS
        .iter()
        .map(|t| AddedToken::from(*t, true))
        .collect()
}

impl WordPieceTokenizer {
    /// Learns a WordPiece vocabulary of at most `vocab_size` entries from `texts`
    /// (the same texts always give the same vocabulary).
    pub fn train<I, S>(texts: I, vocab_size: usize) -> Result<Self>
    where
        I: Iterator<Item = S>,
        S: AsRef<str> + Sync,
    {
        let mut counts = WordCounts::default();
        counts.add(&texts.collect::<Vec<S>>())?;
        Self::from_counts(counts, vocab_size)
    }

    /// Learns a vocabulary of `vocab_size` from word counts (as [`train`](Self::train)).
    pub fn from_counts(counts: WordCounts, vocab_size: usize) -> Result<Self> {
        let casing = counts.1;
        let counts: Vec<(String, u64)> = counts.0.into_iter().collect();
        let vocab = learn::learn_vocab(&counts, vocab_size, 2, &SPECIAL_TOKENS, Some(1000));
        let map: ahash::AHashMap<String, u32> = vocab
            .into_iter()
            .enumerate()
            .map(|(i, t)| (t, i as u32))
            .collect();
        let model = WordPiece::builder()
            .vocab(map)
            .unk_token("[UNK]".into())
            .build()
            .map_err(err)?;
        Self::finish(pipeline(model, casing))
    }

    /// Uses an existing `vocab.txt` (one token per line; the line index is the id), as
    /// editors save it too: a UTF-8 byte-order mark and CRLF line ends are read as
    /// nothing and as a line end ([`read_vocab`]).
    ///
    /// Errors: the file is missing or unreadable, or [`read_vocab`]'s.
    pub fn from_vocab_file(path: &Path, casing: Casing) -> Result<Self> {
        if !path.exists() {
            bail!(
                "vocabulary file {} not found; pass --set data.vocab=PATH to a vocab.txt",
                path.display()
            );
        }
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read vocabulary {}", path.display()))?;
        let vocab = read_vocab(&bytes).with_context(|| format!("vocabulary {}", path.display()))?;
        let model = WordPiece::builder()
            .vocab(vocab.into_iter().collect::<ahash::AHashMap<_, _>>())
            .unk_token("[UNK]".into())
            .build()
            .map_err(|e| anyhow!("cannot read vocabulary {}: {e}", path.display()))?;
        Self::finish(pipeline(model, casing))
            .with_context(|| format!("vocabulary {}", path.display()))
    }

    /// Reads a `tokenizer.json` written by [`save`](Self::save).
    pub fn load(path: &Path) -> Result<Self> {
        let tokenizer = Tokenizer::from_file(path)
            .map_err(|e| anyhow!("cannot read tokenizer {}: {e}", path.display()))?;
        Self::finish(tokenizer)
    }

    fn finish(mut tokenizer: Tokenizer) -> Result<Self> {
        let id = |t: &Tokenizer, name: &str| {
            t.token_to_id(name)
                .ok_or_else(|| anyhow!("the vocabulary has no {name} token"))
        };
        for name in SPECIAL_TOKENS {
            id(&tokenizer, name)?;
        }
        // Specials are matched whole in raw text (so "[MASK]" is one token).
        tokenizer.add_special_tokens(&special_tokens());
        let specials = SpecialIds {
            pad: id(&tokenizer, "[PAD]")?,
            unk: id(&tokenizer, "[UNK]")?,
            cls: id(&tokenizer, "[CLS]")?,
            sep: id(&tokenizer, "[SEP]")?,
            mask: id(&tokenizer, "[MASK]")?,
        };
        tokenizer.with_post_processor(Some(BertProcessing::new(
            ("[SEP]".into(), specials.sep),
            ("[CLS]".into(), specials.cls),
        )));
        Ok(Self {
            ascii: fast::AsciiRule::of(&tokenizer),
            inner: tokenizer,
            specials,
        })
    }

    /// The tokenizer in `tokenizers`' JSON form (compact); identifies it exactly.
    pub fn to_json(&self) -> Result<String> {
        self.inner.to_string(false).map_err(err)
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Token ids of `text`, without `[CLS]`/`[SEP]`.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self.inner.encode_fast(text, false).map_err(err)?;
        Ok(enc.get_ids().to_vec())
    }

    /// Encodes many texts at once, on every core: ASCII text by the fast path (the
    /// same ids, see `fast`), the rest by the pipeline.
    pub fn encode_batch(&self, texts: Vec<&str>) -> Result<Vec<Vec<u32>>> {
        let Some(rule) = self.ascii else {
            let encs = self.inner.encode_batch_fast(texts, false).map_err(err)?;
            return Ok(encs.into_iter().map(|e| e.get_ids().to_vec()).collect());
        };
        let parts = crate::parallel::map_chunks(&texts, |part| {
            let mut words = fast::WordIds::new(self.inner.get_model());
            part.iter()
                .map(|text| {
                    let (mut ids, mut failed) = (Vec::new(), None);
                    let done = rule.words(text, |w| {
                        if failed.is_none() {
                            failed = words.push(w, &mut ids).err();
                        }
                    });
                    match (done, failed) {
                        (_, Some(e)) => Err(err(e)),
                        (true, None) => Ok(ids),
                        (false, None) => self.encode(text),
                    }
                })
                .collect::<Result<Vec<_>>>()
        });
        let mut out = Vec::with_capacity(texts.len());
        for part in parts {
            out.extend(part?);
        }
        Ok(out)
    }

    pub fn token(&self, id: u32) -> String {
        self.inner.id_to_token(id).unwrap_or_else(|| "[UNK]".into())
    }

    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Text of `ids`, joining `##` pieces; specials are kept unless `skip_special`.
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> String {
        self.inner.decode(ids, skip_special).unwrap_or_default()
    }

    /// Tokens in id order (the content of `vocab.txt`).
    pub fn vocab_in_order(&self) -> Vec<String> {
        let vocab: HashMap<String, u32> = self.inner.get_vocab(true);
        let mut tokens = vec![String::new(); vocab.len()];
        for (token, id) in vocab {
            if let Some(slot) = tokens.get_mut(id as usize) {
                *slot = token;
            }
        }
        tokens
    }

    /// Per id: whether the token begins a word, i.e. it is not a continuation piece
    /// (`##ing`, or whatever prefix the model uses) and has a letter or digit (not
    /// punctuation). Specials count as word starts.
    pub fn word_starts(&self) -> Vec<bool> {
        let prefix = match self.inner.get_model() {
            tokenizers::ModelWrapper::WordPiece(wp) => wp.continuing_subword_prefix.clone(),
            _ => "##".to_string(),
        };
        self.vocab_in_order()
            .iter()
            .map(|t| !t.starts_with(prefix.as_str()) && t.chars().any(char::is_alphanumeric))
            .collect()
    }

    /// Writes `vocab.txt` and `tokenizer.json` into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let mut vocab = self.vocab_in_order().join("\n");
        vocab.push('\n');
        crate::session::write_atomic(&dir.join("vocab.txt"), vocab.as_bytes())?;
        let json = self.inner.to_string(true).map_err(err)?;
        crate::session::write_atomic(&dir.join("tokenizer.json"), json.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_texts() -> Vec<String> {
        let base = [
            "This movie was great, the acting was wonderful.",
            "I hated this film; the plot made no sense at all!",
            "The director's earlier movies were much better.",
            "An unforgettable performance by the lead actress.",
        ];
        (0..50)
            .flat_map(|_| base.iter().map(|s| s.to_string()))
            .collect()
    }

    #[test]
    fn word_starts_exclude_pieces_and_punctuation() {
        let tok = WordPieceTokenizer::train(sample_texts().into_iter(), 300).unwrap();
        let starts = tok.word_starts();
        assert_eq!(starts.len(), tok.vocab_size());
        let at = |t: &str| starts[tok.token_id(t).unwrap() as usize];
        assert!(at("movie") && at("[CLS]"));
        assert!(!at(".") && !at(";") && !at("!"));
        let piece = tok
            .vocab_in_order()
            .into_iter()
            .find(|t| t.starts_with("##"));
        assert!(!at(&piece.expect("a ## piece")));
    }

    #[test]
    fn trained_vocab_starts_with_specials_and_round_trips() {
        let tok = WordPieceTokenizer::train(sample_texts().into_iter(), 300).unwrap();
        assert_eq!(
            &tok.vocab_in_order()[..5],
            &SPECIAL_TOKENS.map(String::from)
        );
        assert_eq!(
            tok.specials,
            SpecialIds {
                pad: 0,
                unk: 1,
                cls: 2,
                sep: 3,
                mask: 4
            }
        );
        let text = "the acting was wonderful.";
        let ids = tok.encode(text).unwrap();
        assert!(!ids.is_empty() && !ids.contains(&tok.specials.unk));
        assert_eq!(tok.decode(&ids, true), "the acting was wonderful.");
        // Lowercasing and the [MASK] special.
        let ids = tok.encode("The MOVIE was [MASK] .").unwrap();
        assert!(ids.contains(&tok.specials.mask));
        assert_eq!(tok.decode(&ids, false), "the movie was [MASK].");
    }

    #[test]
    fn save_and_reload_give_the_same_ids() {
        let dir = tempfile::tempdir().unwrap();
        let tok = WordPieceTokenizer::train(sample_texts().into_iter(), 300).unwrap();
        tok.save(dir.path()).unwrap();
        let from_json = WordPieceTokenizer::load(&dir.path().join("tokenizer.json")).unwrap();
        let from_vocab =
            WordPieceTokenizer::from_vocab_file(&dir.path().join("vocab.txt"), Default::default())
                .unwrap();
        for text in ["an unforgettable movie!", "the plot, the acting: zzzq"] {
            let ids = tok.encode(text).unwrap();
            assert_eq!(from_json.encode(text).unwrap(), ids);
            assert_eq!(from_vocab.encode(text).unwrap(), ids);
        }
        assert_eq!(from_vocab.vocab_size(), tok.vocab_size());
    }

    #[test]
    fn vocab_files_as_editors_save_them_tokenize_as_the_clean_file() {
        let dir = tempfile::tempdir().unwrap();
        let tok = WordPieceTokenizer::train(sample_texts().into_iter(), 300).unwrap();
        let tokens = tok.vocab_in_order();
        let clean = tokens.join("\n") + "\n";
        let variants = [
            ("bom", format!("\u{feff}{clean}")),
            ("crlf", tokens.join("\r\n") + "\r\n"),
            ("bom+crlf", format!("\u{feff}{}\r\n", tokens.join("\r\n"))),
            ("no final newline", tokens.join("\n")),
        ];
        for (name, text) in variants {
            let path = dir.path().join(format!("{name}.txt"));
            std::fs::write(&path, text).unwrap();
            let read = WordPieceTokenizer::from_vocab_file(&path, Default::default()).unwrap();
            assert_eq!(read.vocab_in_order(), tokens, "{name}");
            for text in ["an unforgettable movie!", "the plot, the acting: zzzq"] {
                assert_eq!(
                    read.encode(text).unwrap(),
                    tok.encode(text).unwrap(),
                    "{name}"
                );
            }
        }
        // A BOM before an ordinary first token is not kept inside it.
        let map = read_vocab("\u{feff}the\r\n[PAD]\r\n".as_bytes()).unwrap();
        assert_eq!(map.get("the"), Some(&0));
    }

    #[test]
    fn a_repeated_token_or_an_empty_line_is_named_with_its_lines() {
        let err = format!(
            "{:#}",
            read_vocab(b"[PAD]\n[UNK]\nthe\nmovie\nthe\n").unwrap_err()
        );
        assert!(err.contains("`the` twice (lines 3 and 5)"), "{err}");
        let err = format!("{:#}", read_vocab(b"[PAD]\n\nthe\n").unwrap_err());
        assert!(err.contains("line 2 is empty"), "{err}");
        let err = format!("{:#}", read_vocab(b"[PAD]\n\xff\xfe\n").unwrap_err());
        assert!(err.contains("not UTF-8"), "{err}");
    }

    #[test]
    fn vocab_without_specials_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vocab.txt");
        std::fs::write(&path, "[UNK]\nthe\nmovie\n").unwrap();
        let msg = WordPieceTokenizer::from_vocab_file(&path, Default::default()).unwrap_err();
        assert!(format!("{msg:#}").contains("[PAD]"), "{msg:#}");
    }
}

#[cfg(test)]
mod determinism {
    use super::*;

    #[test]
    fn training_twice_gives_the_same_vocabulary() {
        let mut texts = Vec::new();
        crate::corpus::for_each_text(&crate::corpus::CorpusSource::Embedded, "review", |i, t| {
            if i <= 300 {
                texts.push(t.to_string());
            }
            Ok(())
        })
        .unwrap();
        let a = WordPieceTokenizer::train(texts.iter(), 2000)
            .unwrap()
            .vocab_in_order();
        let b = WordPieceTokenizer::train(texts.iter(), 2000)
            .unwrap()
            .vocab_in_order();
        assert_eq!(a.len(), b.len());
        let diff = a.iter().zip(&b).filter(|(x, y)| x != y).count();
        assert_eq!(diff, 0, "{diff} ids differ");
    }
}
