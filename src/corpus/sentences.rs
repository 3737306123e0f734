//! Splitting cleaned paragraphs into sentences.
//!
//! A sentence ends after a run of terminators (`.`, `!`, `?`, `…`, e.g. `...`,
//! `?!`, `!!!`) plus any closing quotes/brackets (`"` `'` `”` `’` `)` `]` `}`
//! `»`), when that is followed by whitespace or the end of the paragraph.
//! Because IMDB reviews are informal, the case of the next word does not
//! matter (`bad. then` splits), with these exceptions:
//!
//! * An ellipsis (`..`, `...`, `…`) followed by a lowercase letter does not
//!   split (`I thought... maybe not` is one sentence).
//! * A single `.` directly followed by whitespace (no closing quote/bracket)
//!   does not split after:
//!   * an initial — a single uppercase letter other than `I` (`J. R. R.
//!     Tolkien`, `George W. Bush`; as a trade-off `Plan B. Then` does not
//!     split either). `I.` is far more often the pronoun or a numeral
//!     (`better than I.`, `World War I.`) than an initial, so it splits;
//!   * a dotted acronym such as `e.g.`, `i.e.`, `U.S.`, `a.m.`;
//!   * an abbreviation, case-insensitively: Mr Mrs Ms Dr Prof St Jr Sr vs etc
//!     Mt approx Inc Ltd Co. `etc.` never splits, even before a capital;
//!   * `No.` / `Vol.` only when a digit follows (`No. 5`), since `no.` is
//!     also a common sentence-final word.
//!
//! Decimals, versions and domains (`3.5`, `$1.99`, `imdb.com`) never split
//! because no whitespace follows their dots. Sentences are trimmed and empty
//! ones dropped; text without a terminator is a single sentence.
//!
//! Scripts beyond Latin end sentences with their own marks: the full-width and
//! ideographic `。` `！` `？` `．` `｡` of Chinese and Japanese end a sentence with no
//! space after them (those scripts write none), with closing `」` `』` `）` `】` `》`
//! kept on the sentence; the Devanagari danda `।` `॥`, the Arabic `؟` and Urdu `۔`,
//! the Armenian `։`, the Ethiopic `።` and the Myanmar `။` end one before whitespace,
//! as `.` does. Korean writes `.` `?` `!` with spaces.

use super::clean::clean_document;

/// Abbreviations (lowercase, without the final dot) that never end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "mt", "approx", "inc", "ltd",
    "co",
];

/// Abbreviations that only count as such when a digit follows (`No. 5`).
const NUMBER_ABBREVIATIONS: &[&str] = &["no", "vol"];

fn is_terminator(c: char) -> bool {
    matches!(
        c,
        '.' | '!'
            | '?'
            | '…'
            | '‼'
            | '⁇'
            | '⁈'
            | '⁉'
            | '।'
            | '॥'
            | '؟'
            | '۔'
            | '։'
            | '።'
            | '။'
    ) || is_unspaced_terminator(c)
}

/// Terminators of scripts written without spaces between words and sentences.
fn is_unspaced_terminator(c: char) -> bool {
    matches!(c, '。' | '！' | '？' | '．' | '｡')
}

fn is_closer(c: char) -> bool {
    matches!(
        c,
        '"' | '\''
            | ')'
            | ']'
            | '}'
            | '”'
            | '’'
            | '»'
            | '」'
            | '』'
            | '）'
            | '】'
            | '》'
            | '〉'
            | '〕'
            | '］'
            | '｝'
            | '｣'
    )
}

/// Splits one cleaned paragraph into trimmed, non-empty sentences.
///
/// See the module documentation for the exact rules.
pub fn split_sentences(paragraph: &str) -> Vec<String> {
    let chars: Vec<char> = paragraph.chars().collect();
    let mut sentences = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < chars.len() {
        if !is_terminator(chars[i]) {
            i += 1;
            continue;
        }
        let run_end = skip(&chars, i, is_terminator);
        let end = skip(&chars, run_end, |c| is_closer(c) || is_terminator(c));
        if is_boundary(&chars, i, run_end, end) {
            push_sentence(&mut sentences, &chars[start..end]);
            start = end;
        }
        i = end;
    }
    push_sentence(&mut sentences, &chars[start..]);
    sentences
}

/// Cleans a raw review and splits every paragraph into sentences; paragraph
/// boundaries are always sentence boundaries.
pub fn document_sentences(raw: &str) -> Vec<String> {
    clean_document(raw)
        .iter()
        .flat_map(|paragraph| split_sentences(paragraph))
        .collect()
}

/// Returns the index of the first char at or after `from` not matching `pred`.
fn skip(chars: &[char], from: usize, pred: impl Fn(char) -> bool) -> usize {
    chars[from..]
        .iter()
        .position(|&c| !pred(c))
        .map_or(chars.len(), |offset| from + offset)
}

/// Decides whether the terminator run `chars[run_start..run_end]`, extended
/// with closers to `end`, ends a sentence.
fn is_boundary(chars: &[char], run_start: usize, run_end: usize, end: usize) -> bool {
    if chars[run_start..run_end]
        .iter()
        .any(|&c| is_unspaced_terminator(c))
    {
        return true;
    }
    if chars.get(end).is_some_and(|c| !c.is_whitespace()) {
        return false;
    }
    let next = chars[end..].iter().copied().find(|c| !c.is_whitespace());
    let run = &chars[run_start..run_end];
    let is_ellipsis = run.iter().all(|&c| c == '.' || c == '…') && (run.len() > 1 || run[0] == '…');
    if is_ellipsis {
        return !next.is_some_and(char::is_lowercase);
    }
    let bare_dot = run == ['.'] && end == run_end;
    !(bare_dot && is_abbreviation(&word_before(chars, run_start), next))
}

/// The letters-and-dots word right before index `dot`, without leading dots
/// (`e.g` for `e.g.`, `Mr` for `Mr.`).
fn word_before(chars: &[char], dot: usize) -> String {
    let start = chars[..dot]
        .iter()
        .rposition(|&c| !(c.is_alphabetic() || c == '.'))
        .map_or(0, |i| i + 1);
    chars[start..dot]
        .iter()
        .collect::<String>()
        .trim_start_matches('.')
        .to_string()
}

/// Whether `word` followed by `.` (and then `next`) is an abbreviation or
/// initial rather than the end of a sentence.
fn is_abbreviation(word: &str, next: Option<char>) -> bool {
    let mut letters = word.chars();
    if let (Some(c), None) = (letters.next(), letters.next()) {
        return c.is_uppercase() && c != 'I';
    }
    let lower = word.to_lowercase();
    let is_acronym = lower.contains('.') && lower.split('.').all(|part| part.chars().count() == 1);
    is_acronym
        || ABBREVIATIONS.contains(&lower.as_str())
        || (NUMBER_ABBREVIATIONS.contains(&lower.as_str())
            && next.is_some_and(|c| c.is_ascii_digit()))
}

fn push_sentence(sentences: &mut Vec<String>, chars: &[char]) {
    let sentence: String = chars.iter().collect();
    let sentence = sentence.trim();
    if !sentence.is_empty() {
        sentences.push(sentence.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::{clean_document, document_sentences, split_sentences};

    /// `expected` lists the sentences separated by ` | `; the input is the
    /// same text with each ` | ` replaced by a single space.
    #[track_caller]
    fn check(expected: &str) {
        let input = expected.replace(" | ", " ");
        let expected: Vec<&str> = expected.split(" | ").collect();
        assert_eq!(split_sentences(&input), expected, "input {input:?}");
    }

    #[test]
    fn basic_terminators() {
        check("It was good. | I liked it! | Did you? | Yes.");
    }

    #[test]
    fn terminator_runs_stay_together() {
        check("Really?! | Wow!!! | Why?!? | Hmm... | Ok.");
    }

    #[test]
    fn lowercase_start_splits() {
        check("it was bad. | the plot too! | why? | no idea");
    }

    #[test]
    fn digit_quote_and_bracket_starts_split() {
        check("Great. | 10 of 10. | \"Wow\" he said. | (Yes.) | [Sic.] | 'Tis. | “Hi.”");
    }

    #[test]
    fn ellipsis_before_lowercase_does_not_split() {
        check("I thought... maybe not. | Then... | Boom. | Wait… no. | Then… | Boom.");
    }

    #[test]
    fn decimals_and_prices_do_not_split() {
        check("It cost $1.99 for 3.5 stars. | Fine.");
    }

    #[test]
    fn versions_and_domains_do_not_split() {
        check("See imdb.com or www.a.co.uk for v2.0.1. | Ok.");
    }

    #[test]
    fn initials_do_not_split() {
        check("J. R. R. Tolkien wrote it. | George W. Bush did not.");
        check("He is smarter than I. | It was World War I. | Then Plan B. Then more.");
    }

    #[test]
    fn titles_do_not_split() {
        check("Mr. Smith met Mrs. Jones, Ms. Lee, Dr. Who and Prof. Xavier. | They talked.");
    }

    #[test]
    fn other_abbreviations_do_not_split() {
        check("St. Louis, Jr. and Sr. Lopez, Kong vs. Godzilla on Mt. Fuji. | Yes.");
        check("approx. twice at Acme Inc. and Foo Ltd. and Bar Co. today. | Yes.");
    }

    #[test]
    fn abbreviations_are_case_insensitive() {
        check("MR. Smith and dr. Jones VS. me. | End.");
    }

    #[test]
    fn etc_never_splits() {
        check("Guns, cars, etc. The usual. | Etc. and so on. | Guns, cars, ETC.");
    }

    #[test]
    fn dotted_acronyms_do_not_split() {
        check("Films, e.g. Alien, i.e. good ones. | From the U.S. at 9 p.m. today. | Yes.");
    }

    #[test]
    fn no_and_vol_need_a_digit() {
        check("It was No. 1 in Vol. 2 there. | I said no. | Then vol. | Up.");
    }

    #[test]
    fn lowercase_single_letters_split() {
        check("Rated a. | Then b.");
    }

    #[test]
    fn closing_quotes_stay_with_sentence() {
        check("He said \"stop.\" | Then 'go!' | Then “fine.” | Then ‘ok?’ | End");
    }

    #[test]
    fn closing_brackets_stay_with_sentence() {
        check("(It was bad.) | Next [see above.] | Last (really!).) | Done");
    }

    #[test]
    fn abbreviation_followed_by_closer_splits() {
        check("I like cars (Fords, etc.) | Next one.");
    }

    #[test]
    fn no_split_without_following_whitespace() {
        check("Wait...what?!No way.\"Yes\"");
    }

    #[test]
    fn no_terminator_is_one_sentence() {
        check("just a fragment with no end");
    }

    #[test]
    fn sentences_are_trimmed_and_empty_dropped() {
        assert_eq!(split_sentences("  One. \t  Two.  "), ["One.", "Two."]);
        assert!(split_sentences("").is_empty() && split_sentences(" \n ").is_empty());
        assert_eq!(split_sentences("! ? ..."), ["!", "?", "..."]);
    }

    #[test]
    fn scripts_beyond_latin_end_sentences_with_their_own_marks() {
        // Chinese and Japanese: no space after the mark.
        assert_eq!(
            split_sentences("这部电影很好。演员很棒！你看过吗？"),
            ["这部电影很好。", "演员很棒！", "你看过吗？"]
        );
        assert_eq!(
            split_sentences("他说：「好。」然后走了。"),
            ["他说：「好。」", "然后走了。"]
        );
        assert_eq!(
            split_sentences("映画は良かった。また見たい！"),
            ["映画は良かった。", "また見たい！"]
        );
        // Hindi, Arabic, Urdu, Armenian, Ethiopic, Myanmar: before a space.
        assert_eq!(
            split_sentences("यह फिल्म अच्छी थी। मुझे पसंद आई।"),
            ["यह फिल्म अच्छी थी।", "मुझे पसंद आई।"]
        );
        assert_eq!(
            split_sentences("هل شاهدت الفيلم؟ كان رائعا."),
            ["هل شاهدت الفيلم؟", "كان رائعا."]
        );
        assert_eq!(
            split_sentences("یہ اچھی تھی۔ دوبارہ"),
            ["یہ اچھی تھی۔", "دوبارہ"]
        );
        assert_eq!(split_sentences("Լավ էր։ Նորից"), ["Լավ էր։", "Նորից"]);
        assert_eq!(split_sentences("ጥሩ ነበር። እንደገና"), ["ጥሩ ነበር።", "እንደገና"]);
        assert_eq!(split_sentences("ကောင်းတယ်။ ထပ်"), ["ကောင်းတယ်။", "ထပ်"]);
        // Korean writes Latin marks with spaces.
        assert_eq!(
            split_sentences("영화가 좋았다. 또 보고 싶다!"),
            ["영화가 좋았다.", "또 보고 싶다!"]
        );
    }

    #[test]
    fn non_ascii_text_never_panics() {
        check("Café é. | Ça va? | 🎬! | Ωμέγα. | “Ünï.” | Émile É. Zola. | 日本語。");
    }

    #[test]
    fn document_sentences_respects_paragraphs() {
        let raw =
            "Great film<br /><br />no end here<br />It was <i>great</i>. Loved it &amp; more!";
        let expected = [
            "Great film",
            "no end here",
            "It was great.",
            "Loved it & more!",
        ];
        assert_eq!(document_sentences(raw), expected);
        assert!(document_sentences("<br /><br />").is_empty());
    }

    /// Tiny linear congruential generator so the property test needs no crates.
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 33) % n as u64) as usize
        }
    }

    fn without_whitespace(parts: &[String]) -> String {
        parts
            .concat()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect()
    }

    #[test]
    fn never_panics_and_never_loses_characters() {
        const ALPHABET: &[&str] = &[
            ".", "!", "?", "\"", ")", "<", ">", "&", ";", "#", "x", "1", "A", "a", "é", " ", " ",
            "br", "/", "…", "”", "Mr", "etc", "\n", "\u{a0}", "<br />", "<i>", "&#39;",
        ];
        let mut rng = Lcg(0x5eed);
        for _ in 0..500 {
            let len = rng.below(40);
            let raw: String = (0..len)
                .map(|_| ALPHABET[rng.below(ALPHABET.len())])
                .collect();
            let paragraphs = clean_document(&raw);
            let sentences = document_sentences(&raw);
            for text in paragraphs.iter().chain(&sentences) {
                assert!(
                    !text.is_empty() && text.trim() == text,
                    "{text:?} from {raw:?}"
                );
            }
            assert!(
                paragraphs.iter().all(|p| !p.contains("  ")),
                "input {raw:?}"
            );
            assert_eq!(
                without_whitespace(&sentences),
                without_whitespace(&paragraphs),
                "input {raw:?}"
            );
        }
    }
}
