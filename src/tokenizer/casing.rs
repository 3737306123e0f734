//! BERT's normalisation choices (cased or uncased, accents kept or stripped), and a
//! check that stripping accents does not break the words of the corpus's script.

use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::normalizers::strip::StripAccents;
use tokenizers::normalizers::unicode::{NFC, NFD};
use tokenizers::normalizers::utils::Sequence;
use tokenizers::{NormalizedString, Normalizer};

/// BERT's two normalisation choices (`data.lowercase`, `data.strip_accents`): both on
/// for an uncased model (the default, as `bert-base-uncased`), both off for a cased one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Casing {
    pub lowercase: bool,
    pub strip_accents: bool,
}

impl Default for Casing {
    fn default() -> Self {
        Self {
            lowercase: true,
            strip_accents: true,
        }
    }
}

/// BERT's uncased normaliser (clean the text, space out CJK ideographs, lowercase,
/// strip accents) with Hangul kept as syllables. BERT strips accents by decomposing
/// (NFD) and dropping the combining marks; NFD also splits every Hangul syllable into
/// conjoining jamo, which are letters, not marks, and stay split: a Korean corpus then
/// learns a vocabulary of jamo. Recomposing (NFC) after the marks are gone puts the
/// syllables back and changes nothing else that BERT's own normaliser keeps: a letter
/// whose marks were dropped has nothing left to compose with.
pub(super) fn normalizer(casing: Casing) -> Sequence {
    let mut steps = vec![BertNormalizer::new(true, true, Some(false), casing.lowercase).into()];
    if casing.strip_accents {
        steps.extend([NFD.into(), StripAccents.into(), NFC.into()]);
    }
    Sequence::new(steps)
}

/// Marks that are accents in the sense BERT's accent stripping means: the generic
/// combining diacritics (U+0300-036F and its supplements, U+1AB0-1AFF, U+1DC0-1DFF,
/// U+20D0-20FF, U+FE20-FE2F), and the optional vowel points of Hebrew (U+0591-05C7)
/// and Arabic (U+0610-061A, U+064B-065F, U+0670, U+06D6-06ED), which Arabic and Hebrew
/// models commonly strip too. Every other nonspacing mark is part of a word's spelling:
/// Indic and Southeast Asian vowel signs, Japanese dakuten (が is か + U+3099).
fn is_accent(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F
        | 0x0591..=0x05C7 | 0x0610..=0x061A | 0x064B..=0x065F | 0x0670 | 0x06D6..=0x06ED)
}

/// Below this share of words broken by accent stripping, no warning (a few foreign
/// words in an English corpus do not matter).
const MAX_BROKEN_SHARE: f64 = 0.01;

/// What accent stripping does to a sample of the corpus's words.
#[derive(Debug, Default, PartialEq)]
struct Breakage {
    words: u64,
    /// Words that lose a mark that is part of their spelling (not an accent).
    broken: u64,
    /// The first broken word, as written.
    example: Option<String>,
}

fn normalized(n: &impl Normalizer, text: &str) -> String {
    let mut s = NormalizedString::from(text);
    // NFD and StripAccents cannot fail.
    let _ = n.normalize(&mut s);
    s.get().to_string()
}

/// Counts the words of `text` (split at whitespace) and those that accent stripping
/// breaks: the characters it drops are found by walking the decomposed text against
/// the stripped one, so "what is stripped" is exactly the tokenizer's own rule.
fn count_breakage(text: &str, into: &mut Breakage) {
    if text.is_ascii() {
        into.words += text.split_whitespace().count() as u64;
        return;
    }
    for word in text.split_whitespace() {
        into.words += 1;
        let decomposed = normalized(&NFD, word);
        let stripped = normalized(&StripAccents, &decomposed);
        let mut kept = stripped.chars().peekable();
        let broken = decomposed.chars().any(|c| {
            if kept.peek() == Some(&c) {
                kept.next();
                false
            } else {
                !is_accent(c)
            }
        });
        if broken {
            into.broken += 1;
            into.example.get_or_insert_with(|| word.to_string());
        }
    }
}

/// A warning when `casing` strips accents and that breaks more than 1% of the words
/// of `texts` (a sample of the corpus): in scripts such as Devanagari, Thai or
/// Japanese kana the marks BERT strips are vowel signs and voicing marks, so the
/// vocabulary would be learnt from misspelt words. None when nothing is stripped or
/// too little breaks.
pub fn spelling_marks_warning<S: AsRef<str>>(texts: &[S], casing: Casing) -> Option<String> {
    if !casing.strip_accents {
        return None;
    }
    let mut found = Breakage::default();
    for text in texts {
        count_breakage(text.as_ref(), &mut found);
    }
    let share = found.broken as f64 / found.words.max(1) as f64;
    if share <= MAX_BROKEN_SHARE {
        return None;
    }
    let example = found.example.unwrap_or_default();
    let after = normalized(&normalizer(casing), &example);
    Some(format!(
        "data.strip_accents=true removes marks that spell words in this corpus's script, not accents: it changes {:.0}% of the words read (`{}` becomes `{}`), so the vocabulary would learn misspelt words; train with --set data.strip_accents=false (and data.lowercase=false for a cased model)",
        share * 100.0,
        crate::terminal_text::escape_lines(&example),
        crate::terminal_text::escape_lines(&after),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenizer::WordPieceTokenizer;

    fn normalize(n: &impl Normalizer, text: &str) -> String {
        normalized(n, text)
    }

    #[test]
    fn hangul_stays_syllables_and_everything_else_normalizes_as_bert_does() {
        let bert = BertNormalizer::new(true, true, None, true);
        let ours = normalizer(Casing::default());
        for text in [
            "Café Über naïve İstanbul ÆSIR façade",
            "Ωμέγα Ελλάδα, Москва ёлка",
            "映画は良かった。がぎぐ パピプ",
            "这部电影很好。",
            "Tiếng Việt có dấu",
            "tab\there\u{200b}zero width",
        ] {
            assert_eq!(normalize(&ours, text), normalize(&bert, text), "{text}");
        }
        let korean = "영화가 정말 좋았다";
        assert_eq!(normalize(&ours, korean), korean);
        // BERT's own normaliser leaves conjoining jamo (U+1100..U+11FF) instead.
        assert!(normalize(&bert, korean)
            .chars()
            .any(|c| ('\u{1100}'..='\u{11ff}').contains(&c)));
        let texts: Vec<String> = (0..30)
            .map(|i| format!("영화가 정말 좋았다 {i}. 배우들이 훌륭했다!"))
            .collect();
        let tok = WordPieceTokenizer::train(texts.iter(), 200).unwrap();
        let vocab = tok.vocab_in_order();
        assert!(vocab.iter().any(|t| t == "영화가"), "{vocab:?}");
        assert!(!vocab
            .iter()
            .any(|t| t.chars().any(|c| ('\u{1100}'..='\u{11ff}').contains(&c))));
    }
    #[test]
    fn cased_keeps_case_accents_and_indic_vowel_signs() {
        let cased = normalizer(Casing {
            lowercase: false,
            strip_accents: false,
        });
        assert_eq!(normalize(&cased, "Café Été"), "Café Été");
        // Devanagari vowel signs are combining marks: stripping them breaks the words.
        assert_eq!(normalize(&cased, "हिंदी"), "हिंदी");
        let uncased = normalizer(Casing::default());
        assert_eq!(normalize(&uncased, "Café"), "cafe");
        assert_ne!(normalize(&uncased, "हिंदी"), "हिंदी");
        // Lowercase but keep accents: BERT's `strip_accents=False` with lowercasing.
        let accents = normalizer(Casing {
            lowercase: true,
            strip_accents: false,
        });
        assert_eq!(normalize(&accents, "Café"), "café");
    }

    fn breakage(text: &str) -> Breakage {
        let mut b = Breakage::default();
        count_breakage(text, &mut b);
        b
    }

    #[test]
    fn only_marks_that_spell_words_count_as_broken() {
        // Accents: stripping them is what an uncased model is for.
        for text in [
            "Café naïve façade Über",
            "Tiếng Việt có dấu",
            "שָׁלוֹם עוֹלָם",
            "كَتَبَ الوَلَدُ",
            "映画 这部电影很好 영화가 좋았다",
            "plain ascii words",
        ] {
            let b = breakage(text);
            assert_eq!(b.broken, 0, "{text}: {b:?}");
            assert_eq!(b.words, text.split_whitespace().count() as u64);
        }
        // Vowel signs, voicing marks and tone marks that are part of the spelling.
        for (text, broken) in [
            ("हिंदी फ़िल्म अच्छी थी", 4),
            ("หนังเรื่องนี้ดีมาก", 1),
            ("がっかり パピプ ありがとう", 3),
            ("ছবিটি ভালো", 2),
        ] {
            let b = breakage(text);
            assert_eq!(b.broken, broken, "{text}: {b:?}");
        }
    }

    #[test]
    fn the_warning_names_the_key_an_example_and_the_share() {
        let hindi = vec!["यह फ़िल्म बहुत अच्छी थी"; 3];
        let warning = spelling_marks_warning(&hindi, Casing::default()).unwrap();
        assert!(warning.contains("data.strip_accents=false"), "{warning}");
        assert!(warning.contains("`फ़िल्म` becomes `फलम`"), "{warning}");
        assert!(warning.contains("80%"), "{warning}");
        let kept = Casing {
            lowercase: true,
            strip_accents: false,
        };
        assert_eq!(spelling_marks_warning(&hindi, kept), None);
        // One broken word in 200 is below the threshold.
        let mostly_english: Vec<String> = (0..40)
            .map(|i| format!("the film {i} was fine"))
            .chain(["हिंदी".to_string()])
            .collect();
        assert_eq!(
            spelling_marks_warning(&mostly_english, Casing::default()),
            None
        );
        let reviews = ["Café was naïve. Le film était très bien."; 4];
        assert_eq!(spelling_marks_warning(&reviews, Casing::default()), None);
    }
}
