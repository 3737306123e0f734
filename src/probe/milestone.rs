//! The probe milestone of the time-to-quality benchmark (`bench/to_quality.py`):
//! the first reading at which both milestone probes (the first two
//! `adjective` lines of `bench/probes.txt`) rank at least [`NEEDED`] evaluative
//! adjectives (`bench/evaluative.txt`) among their top [`TOP`] tokens. Both files are
//! compiled in, so the benchmark and bertwork read one definition.
//!
//! bertwork reads it from a session's watched probes (`watched.csv`): a session that
//! watches both milestone probes shows when it got there.

use crate::probe::WatchReading;

const PROBES: &str = include_str!("../../bench/probes.txt");
const EVALUATIVE: &str = include_str!("../../bench/evaluative.txt");

/// How many of a probe's most probable tokens are looked at.
pub const TOP: usize = 5;

/// How many of them must be evaluative adjectives.
pub const NEEDED: usize = 2;

/// The milestone probes: the texts of the first two `adjective` lines of
/// `bench/probes.txt` (`KIND<TAB>TEXT`, `#` comments).
pub fn probes() -> Vec<&'static str> {
    PROBES
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .filter(|(kind, _)| *kind == "adjective")
        .map(|(_, text)| text.trim())
        .take(2)
        .collect()
}

/// Whether `token` is one of the evaluative adjectives of `bench/evaluative.txt`.
pub fn is_evaluative(token: &str) -> bool {
    EVALUATIVE
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .any(|w| w == token)
}

/// Whether one probe's answers (most probable first) pass: at least [`NEEDED`] of the
/// first [`TOP`] are evaluative adjectives.
pub fn passes(top: &[(String, f64)]) -> bool {
    top.iter()
        .take(TOP)
        .filter(|(t, _)| is_evaluative(t))
        .count()
        >= NEEDED
}

/// Where a session stands on the milestone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Milestone {
    /// Both probes passed at the reading of this step (the first such reading).
    Reached { step: u64 },
    /// Both probes were read, never both passing; the last reading's step.
    NotYet { last_step: u64 },
    /// The session does not watch these milestone probes, so it cannot tell.
    NotWatched { missing: Vec<&'static str> },
}

/// Whether a watched probe's text is `probe` (the letter case of `[MASK]` and the
/// surrounding spaces aside, as a watch entry may be written).
fn same_probe(watched: &str, probe: &str) -> bool {
    watched.trim().eq_ignore_ascii_case(probe)
}

/// The milestone from a session's watched readings (by step, as
/// [`crate::records::read_watched`] returns them).
pub fn from_watched(watched: &[(u64, Vec<WatchReading>)]) -> Milestone {
    let probes = probes();
    let missing: Vec<&'static str> = probes
        .iter()
        .copied()
        .filter(|p| {
            !watched
                .iter()
                .any(|(_, rs)| rs.iter().any(|r| same_probe(&r.text, p)))
        })
        .collect();
    if !missing.is_empty() {
        return Milestone::NotWatched { missing };
    }
    let mut last_step = 0;
    for (step, readings) in watched {
        let answers: Vec<Option<&WatchReading>> = probes
            .iter()
            .map(|p| readings.iter().find(|r| same_probe(&r.text, p)))
            .collect();
        if answers.iter().all(Option::is_some) {
            last_step = *step;
            if answers.iter().flatten().all(|r| passes(&r.top)) {
                return Milestone::Reached { step: *step };
            }
        }
    }
    Milestone::NotYet { last_step }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(text: &str, top: &[&str]) -> WatchReading {
        WatchReading {
            text: text.into(),
            top: top.iter().map(|t| (t.to_string(), 0.1)).collect(),
            named: Vec::new(),
        }
    }

    #[test]
    fn the_probes_and_words_are_the_benchmarks() {
        assert_eq!(
            probes(),
            ["this movie was [MASK] .", "the acting was [MASK] ."]
        );
        assert!(is_evaluative("great") && is_evaluative("okay"));
        assert!(!is_evaluative("the") && !is_evaluative("# The evaluative"));
    }

    #[test]
    fn two_evaluative_words_in_the_top_five_of_both_probes_reach_it() {
        let [a, b] = ["this movie was [MASK] .", "the acting was [MASK] ."];
        // Only one probe watched: the milestone cannot be told.
        let one = vec![(10, vec![reading(a, &["good", "bad"])])];
        assert_eq!(
            from_watched(&one),
            Milestone::NotWatched { missing: vec![b] }
        );
        let watched = vec![
            // An evaluative word in sixth place does not count.
            (
                10,
                vec![
                    reading(a, &["good", "the", "a", "it", "so", "bad"]),
                    reading(b, &["good", "bad"]),
                ],
            ),
            (
                20,
                vec![reading(a, &["good", "bad"]), reading(b, &["the", "good"])],
            ),
            (
                30,
                vec![
                    reading("THIS MOVIE WAS [mask] .", &["great", "awful"]),
                    reading(b, &["the", "good", "bad"]),
                ],
            ),
        ];
        assert_eq!(from_watched(&watched), Milestone::Reached { step: 30 });
        assert_eq!(
            from_watched(&watched[..2]),
            Milestone::NotYet { last_step: 20 }
        );
    }
}
