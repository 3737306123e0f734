//! Watched probes (`train.watch`): sentences with a `[MASK]` that the trainer answers
//! every `train.watch_every` steps, with the tokens whose probability the user follows.
//! Each entry is one string, `TEXT` or `TEXT | token, token`, so that it fits a
//! `--set` and a line of `config.toml`.

use anyhow::{bail, Result};

/// At most this many probes are watched (each costs one forward pass per reading).
pub const MAX_WATCHED: usize = 8;

/// One watched probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchSpec {
    /// The sentence, with `[MASK]` (any letter case) where the answer goes; the first
    /// `[MASK]` is the one read.
    pub text: String,
    /// Tokens whose probability is followed besides the current top ones.
    pub tokens: Vec<String>,
}

impl WatchSpec {
    /// Parses `TEXT` or `TEXT | a, b` (tokens split on commas and spaces).
    ///
    /// Errors: no `[MASK]` in the text, an empty text.
    pub fn parse(entry: &str) -> Result<Self> {
        let (text, tokens) = match entry.rsplit_once('|') {
            Some((text, tokens)) => (text, tokens),
            None => (entry, ""),
        };
        let text = text.trim().to_string();
        if !text.to_ascii_lowercase().contains("[mask]") {
            bail!(
                "the watched probe `{}` has no [MASK]; write it as \"this movie was [MASK] . | great, awful\"",
                entry.trim()
            );
        }
        let tokens = tokens
            .split([',', ' '])
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect();
        Ok(Self { text, tokens })
    }

    /// The entry as written in `train.watch`.
    pub fn entry(&self) -> String {
        if self.tokens.is_empty() {
            self.text.clone()
        } else {
            format!("{} | {}", self.text, self.tokens.join(", "))
        }
    }
}

/// Parses every entry of `train.watch`.
///
/// Errors: more than [`MAX_WATCHED`] entries, or an entry [`WatchSpec::parse`] refuses.
pub fn parse_all(entries: &[String]) -> Result<Vec<WatchSpec>> {
    if entries.len() > MAX_WATCHED {
        bail!(
            "train.watch has {} probes; at most {MAX_WATCHED} can be watched",
            entries.len()
        );
    }
    entries.iter().map(|e| WatchSpec::parse(e)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_parse_and_print_back() {
        let s = WatchSpec::parse(" this movie was [MASK] . | great, awful ").unwrap();
        assert_eq!(s.text, "this movie was [MASK] .");
        assert_eq!(s.tokens, ["great", "awful"]);
        assert_eq!(WatchSpec::parse(&s.entry()).unwrap(), s);
        let bare = WatchSpec::parse("i [mask] it").unwrap();
        assert!(bare.tokens.is_empty());
        assert_eq!(bare.entry(), "i [mask] it");
        assert_eq!(
            WatchSpec::parse("a [MASK] | x y").unwrap().tokens,
            ["x", "y"]
        );
    }

    #[test]
    fn bad_entries_are_refused() {
        let e = WatchSpec::parse("no mask here | good")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no [MASK]"), "{e}");
        let many: Vec<String> = (0..=MAX_WATCHED).map(|i| format!("{i} [MASK]")).collect();
        let e = parse_all(&many).unwrap_err().to_string();
        assert!(e.contains("at most 8"), "{e}");
        assert_eq!(parse_all(&many[..MAX_WATCHED]).unwrap().len(), MAX_WATCHED);
    }
}
