//! The first rows of a corpus, read without reading the rest: for checks that a
//! sample answers (which script the text is in) before a long preparation.

use anyhow::Result;

use super::{for_each_text, CorpusSource};

/// Stops the reader once the sample is full (not a failure).
#[derive(Debug)]
struct Full;

impl std::fmt::Display for Full {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("sample full")
    }
}

impl std::error::Error for Full {}

/// The texts of the corpus's first rows, up to about `bytes` of text (the row that
/// crosses the limit included). Empty texts are skipped.
///
/// Errors: the corpus cannot be read (as [`for_each_text`]).
pub fn first_texts(source: &CorpusSource, column: &str, bytes: usize) -> Result<Vec<String>> {
    let (mut texts, mut size) = (Vec::new(), 0);
    let read = for_each_text(source, column, |_, text| {
        if !text.trim().is_empty() {
            size += text.len();
            texts.push(text.to_string());
        }
        if size >= bytes {
            return Err(Full.into());
        }
        Ok(())
    });
    match read {
        Err(e) if e.downcast_ref::<Full>().is_none() => Err(e),
        _ => Ok(texts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_after_the_row_that_fills_the_sample() {
        let all = first_texts(&CorpusSource::Embedded, "review", usize::MAX).unwrap();
        assert!(all.len() > 100, "{}", all.len());
        let some = first_texts(&CorpusSource::Embedded, "review", 3000).unwrap();
        let size: usize = some.iter().map(String::len).sum();
        assert!(size >= 3000 && size - some.last().unwrap().len() < 3000);
        assert_eq!(some[..], all[..some.len()]);
        let missing = first_texts(&CorpusSource::Embedded, "no such column", 10).unwrap_err();
        assert!(format!("{missing:#}").contains("no such column"));
    }
}
