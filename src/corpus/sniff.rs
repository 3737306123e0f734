//! Is a corpus file text at all? A look at its first block before the CSV parser sees
//! it, so that a binary file (an archive, a model, a spreadsheet) or a UTF-16 export
//! is named as such instead of surfacing as a strange header or a malformed row.

use std::io::Read;

use anyhow::{bail, Result};

/// How much of the file is looked at.
pub const BLOCK: usize = 64 * 1024;

/// What the first block says about the file, when it is not UTF-8 text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotText {
    /// Starts with a UTF-16 byte-order mark.
    Utf16,
    /// Has a NUL byte at this offset: no text file (in UTF-8 or any 8-bit encoding) does.
    Nul(usize),
}

/// Looks at the first bytes of a file.
pub fn sniff(block: &[u8]) -> Option<NotText> {
    if block.starts_with(&[0xff, 0xfe]) || block.starts_with(&[0xfe, 0xff]) {
        return Some(NotText::Utf16);
    }
    block.iter().position(|&b| b == 0).map(NotText::Nul)
}

/// Reads the first block of `input` and fails if it is not text; otherwise returns a
/// reader that yields the whole input from its first byte.
///
/// Errors: the file is not text, or reading fails (`read_error` words that).
pub fn checked(
    name: &str,
    mut input: impl Read + 'static,
    read_error: impl Fn(std::io::Error) -> anyhow::Error,
) -> Result<Box<dyn Read>> {
    let mut block = Vec::with_capacity(BLOCK);
    (&mut input)
        .take(BLOCK as u64)
        .read_to_end(&mut block)
        .map_err(read_error)?;
    match sniff(&block) {
        Some(NotText::Utf16) => bail!(
            "corpus {name} is UTF-16 text; re-save it as UTF-8 (e.g. `iconv -f UTF-16 -t UTF-8`)"
        ),
        Some(NotText::Nul(at)) => bail!(
            "corpus {name} is not a text CSV file (byte {at} is NUL); pass a CSV file saved as UTF-8 text"
        ),
        None => Ok(Box::new(std::io::Cursor::new(block).chain(input))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_passes_and_reads_back_whole() {
        let text: Vec<u8> = b"review,sentiment\n\"caf\xc3\xa9 \x1b ok.\",positive\n"
            .iter()
            .copied()
            .cycle()
            .take(3 * BLOCK + 17)
            .collect();
        let mut r = checked("x.csv", std::io::Cursor::new(text.clone()), |e| e.into()).unwrap();
        let mut back = Vec::new();
        r.read_to_end(&mut back).unwrap();
        assert_eq!(back, text);
    }

    #[test]
    fn nul_and_utf16_are_not_text() {
        assert_eq!(
            sniff(b"review\n\x1f\x8b\x08\x00\x00"),
            Some(NotText::Nul(10))
        );
        assert_eq!(sniff(b"\xff\xfer\x00e\x00"), Some(NotText::Utf16));
        assert_eq!(sniff(b"review,sentiment\n"), None);
        assert_eq!(sniff(b""), None);
        let err = checked("x.bin", std::io::Cursor::new(vec![7u8, 8, 0, 27]), |e| {
            e.into()
        })
        .err()
        .unwrap()
        .to_string();
        assert!(
            err.contains("x.bin is not a text CSV file (byte 2 is NUL)"),
            "{err}"
        );
    }
}
