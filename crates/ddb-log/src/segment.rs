//! Reading one segment file whole: header, frames, and how it ends (cleanly, sealed, with a
//! torn tail, or damaged). Recovery, the reader's checks and `verify` share this scan.

use std::path::{Path, PathBuf};

use ddb_io::{Io, OpenOptions};

use crate::error::{LogError, Result};
use crate::format::{
    FRAME_MAGIC, FormatError, Frame, FrameDecode, HEADER_BYTES, SegmentHeader, decode_frame,
};

/// Where a frame sits and what it holds, without its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameSummary {
    pub offset: u64,
    pub bytes: u64,
    pub first_lsn: u64,
    pub record_count: u64,
    pub seal: bool,
    pub first_timestamp_us: u64,
    pub last_timestamp_us: u64,
}

/// How the bytes of a segment end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SegmentEnd {
    /// The last frame ends exactly at the end of the file (an open segment).
    Clean,
    /// A seal frame ends the file: the segment is complete.
    Sealed,
    /// The bytes from `offset` on do not form a valid frame and no valid frame follows them:
    /// what a crash during the final write leaves. Recoverable by truncating at `offset`, if
    /// the segment is the newest one.
    TornTail { offset: u64, error: FormatError },
    /// Damage a torn write cannot explain: a bad frame followed by a valid one, a well-formed
    /// frame that breaks the sequence (LSN, timestamp, bytes after a seal).
    Corrupt { offset: u64, error: FormatError },
}

/// The result of scanning a whole segment.
#[derive(Debug, Clone)]
pub struct SegmentScan {
    pub path: PathBuf,
    pub header: SegmentHeader,
    pub frames: Vec<FrameSummary>,
    /// End of the last valid frame (or of the header if there is none).
    pub valid_end: u64,
    pub file_bytes: u64,
    pub end: SegmentEnd,
}

impl SegmentScan {
    /// LSN after the last record of the valid frames (= the header's first LSN if none).
    pub fn next_lsn(&self) -> u64 {
        self.frames
            .iter()
            .rev()
            .find(|f| !f.seal)
            .map_or(self.header.first_lsn, |f| f.first_lsn + f.record_count)
    }

    pub fn record_count(&self) -> u64 {
        self.frames.iter().map(|f| f.record_count).sum()
    }

    pub fn is_sealed(&self) -> bool {
        self.end == SegmentEnd::Sealed
    }

    /// The damage as a [`LogError::Corrupt`], if any (a torn tail counts when `tail_is_damage`).
    pub fn damage(&self, tail_is_damage: bool) -> Option<LogError> {
        // `error.offset` is the exact byte; the variant's `offset` is where the frame began.
        let error = match &self.end {
            SegmentEnd::Corrupt { error, .. } => error,
            SegmentEnd::TornTail { error, .. } if tail_is_damage => error,
            _ => return None,
        };
        Some(LogError::corrupt(
            &self.path,
            error.offset,
            error.expected.clone(),
            error.found.clone(),
        ))
    }
}

/// Reads the segment at `path` into memory and scans it, calling `on_frame` for every valid
/// frame in order. Segments are bounded in size (the writer rotates them), so holding one in
/// memory is bounded too. `expected_first_lsn` comes from the file name.
pub fn scan_segment(
    io: &dyn Io,
    path: &Path,
    expected_first_lsn: u64,
    mut on_frame: impl FnMut(&Frame, u64) -> Result<()>,
) -> Result<SegmentScan> {
    let file = io.open(path, OpenOptions::read_only())?;
    let file_bytes = file.len()?;
    let mut bytes = vec![
        0u8;
        usize::try_from(file_bytes).map_err(|_| LogError::InvalidInput(
            format!("{}: too large", path.display())
        ))?
    ];
    file.read_exact_at(&mut bytes, 0)?;
    let header = SegmentHeader::decode(&bytes)
        .map_err(|e| LogError::corrupt(path, e.offset, e.expected, e.found))?;
    if header.first_lsn != expected_first_lsn {
        return Err(LogError::corrupt(
            path,
            crate::format::HEADER_FIRST_LSN_OFFSET as u64,
            format!("first LSN {expected_first_lsn} (from the file name)"),
            format!("{}", header.first_lsn),
        ));
    }
    let mut scan = SegmentScan {
        path: path.to_owned(),
        header,
        frames: Vec::new(),
        valid_end: HEADER_BYTES as u64,
        file_bytes,
        end: SegmentEnd::Clean,
    };
    let mut offset = HEADER_BYTES;
    let mut next_lsn = header.first_lsn;
    let mut last_timestamp = 0u64;
    while offset < bytes.len() {
        let rest = bytes.get(offset..).unwrap_or_default();
        if scan.frames.last().is_some_and(|f| f.seal) {
            scan.end = corrupt(
                offset,
                "nothing after the seal frame",
                format!("{} more bytes", rest.len()),
            );
            return Ok(scan);
        }
        let (frame, frame_bytes) = match decode_frame(rest) {
            FrameDecode::Frame(frame, n) => (frame, n),
            FrameDecode::NeedMore { frame_bytes } => {
                let error = FormatError {
                    offset: offset as u64,
                    expected: match frame_bytes {
                        Some(n) => format!("a {n}-byte frame"),
                        None => "a 32-byte frame header".into(),
                    },
                    found: format!("end of file after {} bytes", rest.len()),
                };
                scan.end = tail_or_corrupt(&bytes, offset, error);
                return Ok(scan);
            }
            FrameDecode::Invalid(mut error) => {
                error.offset += offset as u64;
                scan.end = tail_or_corrupt(&bytes, offset, error);
                return Ok(scan);
            }
        };
        // Cross-frame rules: a torn write cannot produce a checksum-valid frame that breaks them.
        if frame.first_lsn != next_lsn {
            scan.end = corrupt(
                offset + crate::format::FRAME_FIRST_LSN_OFFSET,
                &format!("a frame starting at LSN {next_lsn}"),
                frame.first_lsn.to_string(),
            );
            return Ok(scan);
        }
        let first_timestamp = frame
            .records
            .first()
            .map_or(last_timestamp, |r| r.timestamp_us);
        if first_timestamp < last_timestamp {
            scan.end = corrupt(
                offset,
                &format!("timestamps of at least {last_timestamp} µs"),
                first_timestamp.to_string(),
            );
            return Ok(scan);
        }
        let last_frame_timestamp = frame
            .records
            .last()
            .map_or(last_timestamp, |r| r.timestamp_us);
        on_frame(&frame, offset as u64)?;
        scan.frames.push(FrameSummary {
            offset: offset as u64,
            bytes: frame_bytes as u64,
            first_lsn: frame.first_lsn,
            record_count: frame.records.len() as u64,
            seal: frame.seal,
            first_timestamp_us: first_timestamp,
            last_timestamp_us: last_frame_timestamp,
        });
        next_lsn = frame.first_lsn + frame.records.len() as u64;
        last_timestamp = last_frame_timestamp;
        offset += frame_bytes;
        scan.valid_end = offset as u64;
    }
    if scan.frames.last().is_some_and(|f| f.seal) {
        scan.end = SegmentEnd::Sealed;
    }
    Ok(scan)
}

fn corrupt(offset: usize, expected: &str, found: String) -> SegmentEnd {
    SegmentEnd::Corrupt {
        offset: offset as u64,
        error: FormatError {
            offset: offset as u64,
            expected: expected.into(),
            found,
        },
    }
}

/// Damage at `offset` is a torn tail unless a valid frame starts somewhere after it.
fn tail_or_corrupt(bytes: &[u8], offset: usize, error: FormatError) -> SegmentEnd {
    match valid_frame_after(bytes, offset + 1) {
        Some(valid) => SegmentEnd::Corrupt {
            offset: offset as u64,
            error: FormatError {
                found: format!("{} (a valid frame follows at byte {valid})", error.found),
                ..error
            },
        },
        None => SegmentEnd::TornTail {
            offset: offset as u64,
            error,
        },
    }
}

/// The offset of the first valid frame at or after `from`, found by trying every occurrence of
/// the frame magic.
fn valid_frame_after(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(rest) = bytes.get(at..) {
        let found = rest
            .windows(FRAME_MAGIC.len())
            .position(|w| w == FRAME_MAGIC)?;
        let candidate = at + found;
        if let FrameDecode::Frame(..) = decode_frame(bytes.get(candidate..).unwrap_or_default()) {
            return Some(candidate);
        }
        at = candidate + 1;
    }
    None
}
