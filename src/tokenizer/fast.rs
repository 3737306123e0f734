//! A fast path for tokenizing ASCII text, the bulk of an English corpus.
//!
//! On ASCII text BERT's normaliser only drops control characters, turns whitespace
//! into spaces and (uncased) lowercases; accent stripping and the Unicode
//! normalisation forms change nothing. Its pre-tokenizer splits at spaces and
//! punctuation. The `tokenizers` pipeline still walks every character through NFD,
//! accent stripping and NFC while keeping offsets for each, which is most of the time
//! that preparing a corpus takes. Here ASCII text is split on its bytes, and each
//! distinct word's WordPiece ids are computed once (by the tokenizer's own model) and
//! remembered. Anything else (non-ASCII text, and `[` that could start an added token
//! such as `[MASK]`) takes the pipeline itself. Written by hand because no crate
//! offers BERT's pre-tokenisation without the alignment bookkeeping; the tests hold
//! both paths to the same ids and the same words.

use std::collections::HashMap;

use tokenizers::normalizers::NormalizerWrapper;
use tokenizers::{Model, ModelWrapper, PreTokenizerWrapper, Tokenizer};

/// How BERT's normaliser and pre-tokenizer act on ASCII text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct AsciiRule {
    pub lowercase: bool,
    /// Text holding `[` takes the pipeline (it may hold an added token).
    pub added_tokens: bool,
}

/// Whether a normaliser step acts on ASCII text as the rule says: BERT's (cleaning on,
/// lowercasing as `lowercase`), and steps that change no ASCII text. None for any
/// other step.
fn step_lowercases(step: &NormalizerWrapper, cleaned: &mut bool) -> Option<bool> {
    match step {
        NormalizerWrapper::BertNormalizer(b) if b.clean_text => {
            *cleaned = true;
            Some(b.lowercase)
        }
        NormalizerWrapper::Lowercase(_) => Some(true),
        NormalizerWrapper::NFD(_)
        | NormalizerWrapper::NFC(_)
        | NormalizerWrapper::NFKD(_)
        | NormalizerWrapper::NFKC(_)
        | NormalizerWrapper::StripAccents(_) => Some(false),
        _ => None,
    }
}

impl AsciiRule {
    /// The rule that gives `tokenizer`'s words on ASCII text, when it has BERT's
    /// cleaning normaliser (alone or with steps that leave ASCII alone), BERT's
    /// pre-tokenizer, a WordPiece model and no added token without a `[`; None
    /// otherwise (such a tokenizer always takes the pipeline).
    pub fn of(tokenizer: &Tokenizer) -> Option<Self> {
        let steps: Vec<&NormalizerWrapper> = match tokenizer.get_normalizer()? {
            NormalizerWrapper::Sequence(seq) => seq.as_ref().iter().collect(),
            one => vec![one],
        };
        let (mut cleaned, mut lowercase) = (false, false);
        for step in steps {
            lowercase |= step_lowercases(step, &mut cleaned)?;
        }
        let bert_split = matches!(
            tokenizer.get_pre_tokenizer(),
            Some(PreTokenizerWrapper::BertPreTokenizer(_))
        );
        let wordpiece = matches!(tokenizer.get_model(), ModelWrapper::WordPiece(_));
        let bracketed = tokenizer
            .get_added_vocabulary()
            .get_vocab()
            .keys()
            .all(|t| t.contains('['));
        (cleaned && bert_split && wordpiece && bracketed).then_some(Self {
            lowercase,
            added_tokens: true,
        })
    }

    /// Hands each pre-token of `text` to `word`, normalised, and returns true; or
    /// returns false at once when `text` must take the pipeline (not ASCII, or a `[`
    /// where added tokens may be).
    pub fn words(&self, text: &str, mut word: impl FnMut(&str)) -> bool {
        if !text.is_ascii() || (self.added_tokens && text.contains('[')) {
            return false;
        }
        let mut current = String::new();
        for &b in text.as_bytes() {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' => {
                    if !current.is_empty() {
                        word(&current);
                        current.clear();
                    }
                }
                // Control characters (Unicode Cc) are dropped without splitting.
                0..=0x1f | 0x7f => {}
                _ if b.is_ascii_punctuation() => {
                    if !current.is_empty() {
                        word(&current);
                        current.clear();
                    }
                    word(std::str::from_utf8(&[b]).unwrap_or_default());
                }
                _ => current.push(if self.lowercase {
                    b.to_ascii_lowercase() as char
                } else {
                    b as char
                }),
            }
        }
        if !current.is_empty() {
            word(&current);
        }
        true
    }
}

/// Each distinct word's ids, computed once by the model.
pub(super) struct WordIds<'a> {
    model: &'a ModelWrapper,
    known: HashMap<String, Vec<u32>>,
}

impl<'a> WordIds<'a> {
    pub fn new(model: &'a ModelWrapper) -> Self {
        Self {
            model,
            known: HashMap::new(),
        }
    }

    /// Appends the ids of `word` (one pre-token) to `out`.
    ///
    /// Errors: the model's (a WordPiece vocabulary without its unknown token).
    pub fn push(&mut self, word: &str, out: &mut Vec<u32>) -> tokenizers::Result<()> {
        if let Some(ids) = self.known.get(word) {
            out.extend_from_slice(ids);
            return Ok(());
        }
        let ids: Vec<u32> = self.model.tokenize(word)?.iter().map(|t| t.id).collect();
        out.extend_from_slice(&ids);
        self.known.insert(word.to_string(), ids);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenizer::{Casing, WordCounts, WordPieceTokenizer};
    use tokenizers::{
        NormalizedString, Normalizer, OffsetReferential, OffsetType, PreTokenizedString,
        PreTokenizer,
    };

    fn awkward() -> Vec<String> {
        let mut texts: Vec<String> = [
            "Hello, World! It's 1,000.50$ -- isn't it?",
            "tab\there\nnew line\r\nand CRLF",
            "ctrl\x01char\x7fdel nul\0byte \x0bvertical\x0cfeed",
            "UPPER lower MiXeD <br /><br />markup",
            "[MASK] is a special token, [SEP] too; x[y and [unknown]",
            "don't stop---now... (really) \"quoted\" {braces} ~tilde~ `tick` @at #hash",
            "",
            "   ",
            "café naïve 映画 영화",
        ]
        .map(String::from)
        .to_vec();
        texts.push(format!("{} end", "a".repeat(150)));
        texts.push("supercalifragilisticexpialidocious antidisestablishmentarianism".into());
        texts
    }

    fn corpus_sentences() -> Vec<String> {
        let mut texts = Vec::new();
        crate::corpus::for_each_text(&crate::corpus::CorpusSource::Embedded, "review", |i, t| {
            if i <= 400 {
                texts.extend(crate::corpus::sentences::document_sentences(t));
            }
            Ok(())
        })
        .unwrap();
        texts
    }

    #[test]
    fn the_fast_path_gives_the_pipelines_ids() {
        let mut texts = corpus_sentences();
        let trained_on = texts.clone();
        texts.extend(awkward());
        for casing in [
            Casing::default(),
            Casing {
                lowercase: false,
                strip_accents: false,
            },
        ] {
            let mut counts = WordCounts::new(casing);
            counts.add(&trained_on).unwrap();
            let tok = WordPieceTokenizer::from_counts(counts, 1500).unwrap();
            let rule = tok
                .ascii
                .expect("bertwork's own tokenizer has the fast path");
            assert_eq!(rule.lowercase, casing.lowercase);
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let fast = tok.encode_batch(refs.clone()).unwrap();
            let pipeline: Vec<Vec<u32>> = tok
                .inner
                .encode_batch_fast(refs, false)
                .unwrap()
                .iter()
                .map(|e| e.get_ids().to_vec())
                .collect();
            for (i, (a, b)) in fast.iter().zip(&pipeline).enumerate() {
                assert_eq!(a, b, "{casing:?}: {:?}", texts[i]);
            }
            assert_eq!(fast.len(), pipeline.len());
        }
    }

    #[test]
    fn the_fast_path_splits_words_as_the_pipeline_does() {
        for casing in [
            Casing::default(),
            Casing {
                lowercase: false,
                strip_accents: false,
            },
        ] {
            let rule = AsciiRule {
                lowercase: casing.lowercase,
                added_tokens: false,
            };
            let normalizer = crate::tokenizer::normalizer(casing);
            for text in corpus_sentences().iter().chain(&awkward()) {
                let mut fast = Vec::new();
                if !rule.words(text, |w| fast.push(w.to_string())) {
                    assert!(!text.is_ascii(), "{text:?} should take the fast path");
                    continue;
                }
                let mut normalized = NormalizedString::from(text.as_str());
                normalizer.normalize(&mut normalized).unwrap();
                let mut pre = PreTokenizedString::from(normalized);
                tokenizers::pre_tokenizers::bert::BertPreTokenizer
                    .pre_tokenize(&mut pre)
                    .unwrap();
                let slow: Vec<String> = pre
                    .get_splits(OffsetReferential::Original, OffsetType::Byte)
                    .iter()
                    .map(|(w, _, _)| w.to_string())
                    .collect();
                assert_eq!(fast, slow, "{casing:?}: {text:?}");
            }
        }
    }

    #[test]
    fn other_pipelines_take_no_fast_path() {
        let mut texts = corpus_sentences();
        texts.truncate(200);
        let tok = WordPieceTokenizer::train(texts.iter(), 500).unwrap();
        let mut inner = tok.inner.clone();
        assert!(AsciiRule::of(&inner).is_some());
        inner.with_normalizer(Some(tokenizers::normalizers::Strip::new(true, true)));
        assert_eq!(AsciiRule::of(&inner), None);
        let mut inner = tok.inner.clone();
        inner.with_pre_tokenizer(Some(tokenizers::pre_tokenizers::whitespace::Whitespace));
        assert_eq!(AsciiRule::of(&inner), None);
        let mut inner = tok.inner.clone();
        inner.add_tokens(&[tokenizers::AddedToken::from("movie", false)]);
        assert_eq!(AsciiRule::of(&inner), None);
    }
}
