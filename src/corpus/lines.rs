//! Physical line numbers for error messages: where in the file a CSV record starts.

use std::io::{BufRead, BufReader, Read};

/// The 1-based line on which the record whose reading began at byte `start` actually
/// starts: the line breaks before `start`, plus the blank lines (`\n`, `\r\n`, `\r`)
/// that the CSV reader skipped from there. A quoted field spanning lines counts every
/// line it spans, because only the bytes before the record are looked at.
///
/// Written by hand because the `csv` crate's own `Position::line` is wrong here: it is
/// the line where reading began, before skipped blank lines (rust-csv issue #208), and
/// it lags behind with CRLF line ends (rust-csv issue #395); both are open upstream.
pub fn record_line(input: impl Read, start: u64) -> std::io::Result<u64> {
    let mut input = BufReader::new(input);
    let mut line = 1u64;
    let mut at = 0u64;
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok(line);
        }
        let mut used = 0;
        for &b in buf {
            if at >= start && b != b'\n' && b != b'\r' {
                return Ok(line);
            }
            line += (b == b'\n') as u64;
            at += 1;
            used += 1;
        }
        input.consume(used);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line the CSV reader reports for the second data record, and ours. The
    /// reader's is wrong after blank lines and for every record of a CRLF file
    /// (rust-csv issues #208 and #395).
    fn second_row(data: &[u8]) -> (u64, u64) {
        let mut r = csv::ReaderBuilder::new().flexible(true).from_reader(data);
        let mut rec = csv::ByteRecord::new();
        r.read_byte_record(&mut rec).unwrap();
        r.read_byte_record(&mut rec).unwrap();
        let pos = rec.position().unwrap().clone();
        (pos.line(), record_line(data, pos.byte()).unwrap())
    }

    #[test]
    fn blank_lines_crlf_and_multiline_fields() {
        // Without blank lines both agree.
        assert_eq!(second_row(b"h,s\n\"one.\",p\n\"two.\",p\n"), (3, 3));
        // A blank line before the record: the reader says 3, the record is on 4; with
        // CRLF it counts the `\n` of a record's terminator only once it reads the next.
        assert_eq!(second_row(b"h,s\n\"one.\",p\n\n\"two.\",p\n"), (3, 4));
        assert_eq!(
            second_row(b"h,s\r\n\"one.\",p\r\n\r\n\r\n\"two.\",p\r\n"),
            (2, 5)
        );
        assert_eq!(second_row(b"h,s\r\n\"one.\",p\r\n\"two.\",p\r\n"), (2, 3));
        // A quoted field spanning three lines pushes the next record down.
        assert_eq!(
            second_row(b"h,s\n\"one\nand\nmore.\",p\n\"two.\",p\n"),
            (5, 5)
        );
        assert_eq!(
            second_row(b"h,s\n\"one\r\nmore.\",p\r\n\n\"two.\",p\n"),
            (3, 5)
        );
    }

    #[test]
    fn past_the_end_is_the_last_line() {
        assert_eq!(record_line(&b"a\nb\n"[..], 100).unwrap(), 3);
        assert_eq!(record_line(&b""[..], 0).unwrap(), 1);
    }
}
