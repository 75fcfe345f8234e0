//! The segments of a log directory, checked: names, headers, the chain of seals, and the state
//! of the newest segment. Shared by the writer's recovery (which repairs a torn tail) and by
//! read-only opens (which only stop before it).

use std::path::{Path, PathBuf};

use ddb_io::{Io, OpenOptions};

use crate::error::{LogError, Result};
use crate::format::{
    FRAME_HEADER_BYTES, FrameDecode, HEADER_BYTES, SegmentHeader, decode_frame,
    parse_segment_file_name,
};
use crate::segment::{SegmentEnd, SegmentScan, scan_segment};

/// One segment of a checked layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentInfo {
    pub first_lsn: u64,
    pub path: PathBuf,
    /// Bytes of the segment that hold valid data (header and frames, seal included).
    pub valid_bytes: u64,
    pub sealed: bool,
}

/// The checked segments of a log directory, oldest first.
#[derive(Debug, Clone)]
pub struct Layout {
    pub segments: Vec<SegmentInfo>,
    /// The newest segment's scan (absent for an empty directory).
    pub newest: Option<SegmentScan>,
    /// The LSN the next record gets; `None` for a directory without segments.
    pub next_lsn: Option<u64>,
    /// A newest segment shorter than its header, or exactly as long as a header that does not
    /// decode: a creation a crash interrupted (its directory entry, and maybe its length, became
    /// durable, its header bytes did not). It holds no record and is not in `segments`.
    pub torn_creation: Option<PathBuf>,
    /// The largest timestamp in the log, or the newest segment's creation time if larger.
    pub last_timestamp_us: u64,
}

/// Whether the newest segment at `path` is an interrupted creation: shorter than a header, or
/// header-sized with a header that does not decode (a file system may make the length durable
/// before the bytes; either way no frame follows, so nothing acknowledged is in it). A
/// header-sized file with a valid header, or any longer file, is read as a segment.
fn is_torn_creation(io: &dyn Io, path: &Path) -> Result<bool> {
    let file = io.open(path, OpenOptions::read_only())?;
    let len = file.len()?;
    if len < HEADER_BYTES as u64 {
        return Ok(true);
    }
    if len > HEADER_BYTES as u64 {
        return Ok(false);
    }
    let mut header = [0u8; HEADER_BYTES];
    file.read_exact_at(&mut header, 0)?;
    Ok(SegmentHeader::decode(&header).is_err())
}

/// The segment file names of `dir`, with their first LSNs, ascending. Hidden files (leftovers of
/// atomic publication) are ignored; any other file is an error, since a stray file in a log
/// directory means someone else writes there.
pub fn list_segments(io: &dyn Io, dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for name in io.read_dir(dir)? {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let Some(first_lsn) = parse_segment_file_name(&name) else {
            return Err(LogError::InvalidInput(format!(
                "{}: not a log segment name (expected 20 digits and .log)",
                dir.join(&name).display()
            )));
        };
        out.push((first_lsn, dir.join(name)));
    }
    out.sort();
    Ok(out)
}

/// Reads and checks the layout of `dir`. Sealed segments are checked by header and seal (not
/// read whole: `verify` does that); the newest segment is scanned whole.
pub fn read_layout(io: &dyn Io, dir: &Path, table_id: Option<[u8; 16]>) -> Result<Layout> {
    let names = list_segments(io, dir)?;
    let mut segments = Vec::with_capacity(names.len());
    let mut expected_first: Option<(u64, PathBuf)> = None;
    let mut last_timestamp_us = 0u64;
    let count = names.len();
    for (index, (first_lsn, path)) in names.into_iter().enumerate() {
        if let Some((expected, previous)) = &expected_first
            && *expected != first_lsn
        {
            return Err(LogError::corrupt(
                &path,
                0,
                format!(
                    "the segment starting at LSN {expected}, named by the seal of {}",
                    previous.display()
                ),
                format!("a segment starting at LSN {first_lsn} (a segment is missing or extra)"),
            ));
        }
        let is_newest = index + 1 == count;
        if !is_newest {
            let (header, next_lsn, bytes) = sealed_segment(io, &path, first_lsn)?;
            check_table(&path, &header, table_id)?;
            last_timestamp_us = last_timestamp_us.max(header.created_at_us);
            segments.push(SegmentInfo {
                first_lsn,
                path: path.clone(),
                valid_bytes: bytes,
                sealed: true,
            });
            expected_first = Some((next_lsn, path));
            continue;
        }
        if is_torn_creation(io, &path)? {
            return Ok(Layout {
                segments,
                newest: None,
                next_lsn: Some(first_lsn),
                torn_creation: Some(path),
                last_timestamp_us,
            });
        }
        let scan = scan_segment(io, &path, first_lsn, |_, _| Ok(()))?;
        check_table(&path, &scan.header, table_id)?;
        if let Some(damage) = scan.damage(false) {
            return Err(damage);
        }
        last_timestamp_us = last_timestamp_us.max(scan.header.created_at_us).max(
            scan.frames
                .iter()
                .map(|f| f.last_timestamp_us)
                .max()
                .unwrap_or(0),
        );
        segments.push(SegmentInfo {
            first_lsn,
            path,
            valid_bytes: scan.valid_end,
            sealed: scan.is_sealed(),
        });
        let next_lsn = scan.next_lsn();
        return Ok(Layout {
            segments,
            newest: Some(scan),
            next_lsn: Some(next_lsn),
            torn_creation: None,
            last_timestamp_us,
        });
    }
    Ok(Layout {
        segments,
        newest: None,
        next_lsn: None,
        torn_creation: None,
        last_timestamp_us,
    })
}

fn check_table(path: &Path, header: &SegmentHeader, table_id: Option<[u8; 16]>) -> Result<()> {
    match table_id {
        Some(id) if id != header.table_id => Err(LogError::corrupt(
            path,
            crate::format::HEADER_TABLE_ID_OFFSET as u64,
            format!("table id {}", hex(&id)),
            hex(&header.table_id),
        )),
        _ => Ok(()),
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks a sealed (not newest) segment by its header and its final seal frame; returns the
/// header, the LSN the seal names as next, and the file length.
fn sealed_segment(io: &dyn Io, path: &Path, first_lsn: u64) -> Result<(SegmentHeader, u64, u64)> {
    let file = io.open(path, OpenOptions::read_only())?;
    let len = file.len()?;
    let mut header_bytes = [0u8; HEADER_BYTES];
    if len < HEADER_BYTES as u64 {
        return Err(LogError::corrupt(
            path,
            len,
            format!("a {HEADER_BYTES}-byte header"),
            format!("a {len}-byte file"),
        ));
    }
    file.read_exact_at(&mut header_bytes, 0)?;
    let header = SegmentHeader::decode(&header_bytes)
        .map_err(|e| LogError::corrupt(path, e.offset, e.expected, e.found))?;
    if header.first_lsn != first_lsn {
        return Err(LogError::corrupt(
            path,
            crate::format::HEADER_FIRST_LSN_OFFSET as u64,
            format!("first LSN {first_lsn} (from the file name)"),
            header.first_lsn.to_string(),
        ));
    }
    let seal_offset = len.saturating_sub(FRAME_HEADER_BYTES as u64);
    let not_sealed = |found: String| {
        LogError::corrupt(
            path,
            seal_offset,
            "a seal frame ending the segment (a newer segment follows it)",
            found,
        )
    };
    if seal_offset < HEADER_BYTES as u64 {
        return Err(not_sealed(format!("a {len}-byte file")));
    }
    let mut seal = [0u8; FRAME_HEADER_BYTES];
    file.read_exact_at(&mut seal, seal_offset)?;
    match decode_frame(&seal) {
        FrameDecode::Frame(frame, _) if frame.seal => {
            if frame.first_lsn <= first_lsn {
                return Err(not_sealed(format!(
                    "a seal naming LSN {} as next",
                    frame.first_lsn
                )));
            }
            Ok((header, frame.first_lsn, len))
        }
        FrameDecode::Frame(..) => Err(not_sealed("a record frame".into())),
        FrameDecode::NeedMore { .. } => Err(not_sealed("a truncated frame".into())),
        FrameDecode::Invalid(e) => {
            Err(not_sealed(format!("{} (expected {})", e.found, e.expected)))
        }
    }
}

/// What recovery found at the end of the newest segment and did about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TailRepair {
    None,
    /// A torn final write was cut off: the segment was truncated to `offset`.
    Truncated {
        path: PathBuf,
        offset: u64,
        bytes_dropped: u64,
    },
    /// The newest segment was shorter than its header, or header-sized with a header that
    /// does not decode (a crash while creating it); it held no record and was removed, to be
    /// created afresh.
    Recreated {
        path: PathBuf,
    },
}

/// Recovery for a writer: like [`read_layout`], but a torn tail is truncated away (and the
/// truncation made durable) and a segment whose creation was torn is recreated.
pub fn recover_layout(io: &dyn Io, dir: &Path, table_id: [u8; 16]) -> Result<(Layout, TailRepair)> {
    let mut layout = read_layout(io, dir, Some(table_id))?;
    if let Some(path) = layout.torn_creation.take() {
        io.remove_file(&path)?;
        io.sync_dir(dir)?;
        return Ok((layout, TailRepair::Recreated { path }));
    }
    repair_tail(io, layout)
}

fn repair_tail(io: &dyn Io, mut layout: Layout) -> Result<(Layout, TailRepair)> {
    let Some(scan) = &layout.newest else {
        return Ok((layout, TailRepair::None));
    };
    let SegmentEnd::TornTail { offset, .. } = scan.end else {
        return Ok((layout, TailRepair::None));
    };
    let path = scan.path.clone();
    let file = io.open(&path, OpenOptions::read_write())?;
    let bytes_dropped = scan.file_bytes - offset;
    file.set_len(offset)?;
    file.sync_all()?;
    if let Some(newest) = layout.newest.as_mut() {
        newest.end = SegmentEnd::Clean;
        newest.file_bytes = offset;
    }
    Ok((
        layout,
        TailRepair::Truncated {
            path,
            offset,
            bytes_dropped,
        },
    ))
}
