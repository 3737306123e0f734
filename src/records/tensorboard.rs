//! TensorBoard event files, written by hand: TFRecord framing (length, masked CRC-32C
//! of the length, payload, masked CRC-32C of the payload) around `Event` protobufs that
//! carry scalar summaries. A decoder for the same subset is here too, for tests and
//! for `sessions show`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// TFRecord's CRC mask.
fn masked_crc(data: &[u8]) -> u32 {
    let crc = crc32c::crc32c(data);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(payload.len() + 16);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc(&len).to_le_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&masked_crc(payload).to_le_bytes());
    out
}

// Protobuf wire format: just the field types an Event needs.
fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn key(out: &mut Vec<u8>, field: u32, wire: u8) {
    varint(out, (u64::from(field) << 3) | u64::from(wire));
}

fn bytes_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    key(out, field, 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Event { wall_time = 1 (double), step = 2 (int64), file_version = 3 (string),
/// summary = 5, session_log = 7 } (TensorFlow's `event.proto`; field 6 is the
/// deprecated `log_message`, which TensorBoard ignores).
fn event(wall_time: f64, step: u64, body: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    key(&mut out, 1, 1);
    out.extend_from_slice(&wall_time.to_le_bytes());
    key(&mut out, 2, 0);
    varint(&mut out, step);
    body(&mut out);
    out
}

/// Summary { repeated Value value = 1 }, Value { tag = 1, simple_value = 2 (float) }.
fn summary(scalars: &[(String, f64)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (tag, v) in scalars {
        let mut value = Vec::new();
        bytes_field(&mut value, 1, tag.as_bytes());
        key(&mut value, 2, 5);
        value.extend_from_slice(&(*v as f32).to_le_bytes());
        bytes_field(&mut out, 1, &value);
    }
    out
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `Event.session_log`'s field number. TensorBoard's reader drops every point at or
/// after a SessionLog START's step that came before it: a resumed or forked run's
/// first record, so the cut-off run's later points disappear.
const SESSION_LOG_FIELD: u32 = 7;

/// One event file, appended to record by record.
pub struct EventWriter {
    file: std::fs::File,
    pub path: PathBuf,
}

impl EventWriter {
    /// Starts a new event file in `dir`. `resumed_at`: the first step of a resumed
    /// run, written as a SessionLog START so TensorBoard drops the older points from
    /// that step on (they belong to the run that was cut off).
    pub fn create(dir: &Path, resumed_at: Option<u64>) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
        let secs = now() as u64;
        let mut n = 0;
        let path = loop {
            let p = dir.join(format!(
                "events.out.tfevents.{secs:010}.{host}.{}.{n}",
                std::process::id()
            ));
            if !p.exists() {
                break p;
            }
            n += 1;
        };
        let file = std::fs::OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let mut w = Self { file, path };
        w.record(&event(now(), 0, |out| {
            bytes_field(out, 3, b"brain.Event:2")
        }))?;
        if let Some(step) = resumed_at {
            // SessionLog { status = 1 (enum, START = 1) }
            w.record(&event(now(), step, |out| {
                bytes_field(out, SESSION_LOG_FIELD, &[0x08, 0x01])
            }))?;
        }
        Ok(w)
    }

    fn record(&mut self, payload: &[u8]) -> Result<()> {
        // One write per record, so a killed process leaves at most a short tail that
        // readers skip as truncated.
        self.file
            .write_all(&frame(payload))
            .with_context(|| format!("cannot write {}", self.path.display()))
    }

    pub fn scalars(&mut self, step: u64, scalars: &[(String, f64)]) -> Result<()> {
        let body = summary(scalars);
        self.record(&event(now(), step, |out| bytes_field(out, 5, &body)))
    }

    pub fn flush(&mut self) -> Result<()> {
        self.file.sync_data().context("syncing the event file")
    }
}

/// What a decoded event carried.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    FileVersion(String),
    SessionStart {
        step: u64,
    },
    Scalars {
        step: u64,
        values: Vec<(String, f32)>,
    },
}

/// Reads every complete record of an event file, checking both CRCs of each.
pub fn read_events(path: &Path) -> Result<Vec<Decoded>> {
    let data = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = Vec::new();
    let mut at = 0;
    while at + 12 <= data.len() {
        let len_bytes = &data[at..at + 8];
        let len = u64::from_le_bytes(len_bytes.try_into().expect("8 bytes")) as usize;
        let len_crc = u32::from_le_bytes(data[at + 8..at + 12].try_into().expect("4 bytes"));
        if masked_crc(len_bytes) != len_crc {
            bail!("{}: bad length CRC at byte {at}", path.display());
        }
        let start = at + 12;
        if start + len + 4 > data.len() {
            break; // truncated tail
        }
        let payload = &data[start..start + len];
        let crc = u32::from_le_bytes(data[start + len..start + len + 4].try_into().expect("4"));
        if masked_crc(payload) != crc {
            bail!("{}: bad payload CRC at byte {at}", path.display());
        }
        out.push(decode_event(payload)?);
        at = start + len + 4;
    }
    Ok(out)
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&b) = self.data.get(self.at) else {
                bail!("truncated varint");
            };
            self.at += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        bail!("varint too long")
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at + n;
        if end > self.data.len() {
            bail!("truncated field");
        }
        let s = &self.data[self.at..end];
        self.at = end;
        Ok(s)
    }

    /// (field, wire type, payload bytes for length-delimited/fixed, value for varint)
    fn field(&mut self) -> Result<Option<(u32, u64, &'a [u8])>> {
        if self.at >= self.data.len() {
            return Ok(None);
        }
        let k = self.varint()?;
        let (field, wire) = ((k >> 3) as u32, k & 7);
        Ok(Some(match wire {
            0 => (field, self.varint()?, &[][..]),
            1 => (field, 0, self.take(8)?),
            2 => {
                let n = self.varint()? as usize;
                (field, 0, self.take(n)?)
            }
            5 => (field, 0, self.take(4)?),
            w => bail!("unsupported wire type {w}"),
        }))
    }
}

fn decode_event(payload: &[u8]) -> Result<Decoded> {
    let mut r = Reader {
        data: payload,
        at: 0,
    };
    let (mut step, mut result) = (0, None);
    while let Some((field, v, bytes)) = r.field()? {
        match field {
            2 => step = v,
            3 => result = Some(Decoded::FileVersion(String::from_utf8_lossy(bytes).into())),
            5 => result = Some(decode_summary(bytes)?),
            SESSION_LOG_FIELD => result = Some(Decoded::SessionStart { step: 0 }),
            _ => {}
        }
    }
    Ok(match result {
        Some(Decoded::Scalars { values, .. }) => Decoded::Scalars { step, values },
        Some(Decoded::SessionStart { .. }) => Decoded::SessionStart { step },
        Some(other) => other,
        None => bail!("an event with no content"),
    })
}

fn decode_summary(bytes: &[u8]) -> Result<Decoded> {
    let mut r = Reader { data: bytes, at: 0 };
    let mut values = Vec::new();
    while let Some((_, _, value)) = r.field()? {
        let mut v = Reader { data: value, at: 0 };
        let (mut tag, mut x) = (String::new(), f32::NAN);
        while let Some((field, _, b)) = v.field()? {
            match field {
                1 => tag = String::from_utf8_lossy(b).into(),
                2 => x = f32::from_le_bytes(b.try_into().context("simple_value")?),
                _ => {}
            }
        }
        values.push((tag, x));
    }
    Ok(Decoded::Scalars { step: 0, values })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_published_check_value() {
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
    }

    #[test]
    fn written_scalars_decode_with_valid_crcs() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = EventWriter::create(dir.path(), Some(41)).unwrap();
        w.scalars(
            41,
            &[("train/mlm_loss".into(), 6.25), ("train/lr".into(), 1e-3)],
        )
        .unwrap();
        w.scalars(300, &[("heldout/nsp_acc".into(), 0.75)]).unwrap();
        let events = read_events(&w.path).unwrap();
        assert_eq!(
            events,
            vec![
                Decoded::FileVersion("brain.Event:2".into()),
                Decoded::SessionStart { step: 41 },
                Decoded::Scalars {
                    step: 41,
                    values: vec![("train/mlm_loss".into(), 6.25), ("train/lr".into(), 1e-3)]
                },
                Decoded::Scalars {
                    step: 300,
                    values: vec![("heldout/nsp_acc".into(), 0.75)]
                },
            ]
        );
    }

    #[test]
    fn the_restart_record_is_a_session_log_start_as_event_proto_numbers_it() {
        let dir = tempfile::tempdir().unwrap();
        let w = EventWriter::create(dir.path(), Some(300)).unwrap();
        let bytes = std::fs::read(&w.path).unwrap();
        // The second record's payload: wall_time (key 0x09 + 8 bytes), step (key 0x10,
        // varint 300 = 0xac 0x02), then session_log: key (7 << 3 | 2) = 0x3a, length 2,
        // SessionLog { status (key 0x08) = START (1) }.
        let first = 12 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize + 4;
        let payload = &bytes[first + 12..bytes.len() - 4];
        assert_eq!(payload[0], 0x09);
        assert_eq!(&payload[9..], &[0x10, 0xac, 0x02, 0x3a, 0x02, 0x08, 0x01]);
    }

    #[test]
    fn a_flipped_bit_fails_the_crc_and_a_cut_tail_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = EventWriter::create(dir.path(), None).unwrap();
        w.scalars(1, &[("train/mlm_loss".into(), 9.0)]).unwrap();
        let mut bytes = std::fs::read(&w.path).unwrap();
        let cut = dir.path().join("cut");
        std::fs::write(&cut, &bytes[..bytes.len() - 3]).unwrap();
        assert_eq!(
            read_events(&cut).unwrap().len(),
            1,
            "the torn record is dropped"
        );
        let n = bytes.len();
        bytes[n - 6] ^= 1;
        let bad = dir.path().join("bad");
        std::fs::write(&bad, &bytes).unwrap();
        assert!(read_events(&bad).unwrap_err().to_string().contains("CRC"));
    }
}
