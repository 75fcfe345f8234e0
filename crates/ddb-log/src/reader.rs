//! Reading a log: a streaming iterator over records from any LSN across segments (bulk reads
//! through the `Io` sequential reader), a read-only open for tools, and seeking by time.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;

use ddb_io::{ChunkReader, Io, OpenOptions, ReadAhead};

use crate::error::{LogError, Result};
use crate::format::{
    FRAME_FIRST_LSN_OFFSET, FrameDecode, HEADER_BYTES, Record, SegmentHeader, decode_frame,
};
use crate::layout::{SegmentInfo, read_layout};
use crate::segment::SegmentEnd;

/// Records from a start LSN to a last LSN, in order, read segment by segment with read-ahead.
/// Every frame is checked as it is read; damage is an error naming file and offset.
pub struct LogIter {
    io: Arc<dyn Io>,
    segments: VecDeque<SegmentInfo>,
    stream: Option<SegmentStream>,
    ready: VecDeque<Record>,
    /// The next LSN this iterator must see (LSNs are dense).
    expected_lsn: u64,
    start_lsn: u64,
    last_lsn: u64,
    read_ahead: ReadAhead,
    direct: bool,
}

impl std::fmt::Debug for LogIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogIter")
            .field("expected_lsn", &self.expected_lsn)
            .field("last_lsn", &self.last_lsn)
            .finish_non_exhaustive()
    }
}

struct SegmentStream {
    info: SegmentInfo,
    reader: Box<dyn ChunkReader>,
    buf: Vec<u8>,
    /// Offset in `buf` of the next unread byte.
    start: usize,
    /// File offset of `buf[0]`.
    buf_offset: u64,
    /// Bytes at the start of the stream still to discard (the header, read separately).
    skip: usize,
    exhausted: bool,
}

impl LogIter {
    /// Records `lsn..=last_lsn` of `segments` (oldest first, as a log or layout reports them).
    pub fn new(
        io: Arc<dyn Io>,
        segments: Vec<SegmentInfo>,
        lsn: u64,
        last_lsn: u64,
    ) -> Result<LogIter> {
        let first = segments.first().map_or(1, |s| s.first_lsn);
        if lsn < first || lsn > last_lsn + 1 {
            return Err(LogError::LsnOutOfRange {
                lsn,
                first,
                last: last_lsn,
            });
        }
        // Start at the last segment whose first LSN is at or before `lsn`.
        let skip = segments
            .iter()
            .rposition(|s| s.first_lsn <= lsn)
            .unwrap_or(0);
        let segments: VecDeque<SegmentInfo> = segments.into_iter().skip(skip).collect();
        let expected_lsn = segments.front().map_or(lsn, |s| s.first_lsn);
        Ok(LogIter {
            io,
            segments,
            stream: None,
            ready: VecDeque::new(),
            expected_lsn,
            start_lsn: lsn,
            last_lsn,
            read_ahead: ReadAhead::default(),
            direct: false,
        })
    }

    /// Reads segments with `O_DIRECT` (bypassing the page cache: for bulk reads of cold logs
    /// that should not evict hot data). Needs a file system that supports it.
    #[must_use]
    pub fn with_direct_io(mut self, direct: bool) -> Self {
        self.direct = direct;
        self
    }

    /// Sets the read-ahead of the segment reads (chunk size and reads in flight).
    #[must_use]
    pub fn with_read_ahead(mut self, read_ahead: ReadAhead) -> Self {
        self.read_ahead = read_ahead;
        self
    }

    fn open_next_segment(&mut self) -> Result<bool> {
        let Some(info) = self.segments.pop_front() else {
            return Ok(false);
        };
        let file = self.io.open(&info.path, OpenOptions::read_only())?;
        let mut header = [0u8; HEADER_BYTES];
        file.read_exact_at(&mut header, 0)?;
        let header = SegmentHeader::decode(&header)
            .map_err(|e| LogError::corrupt(&info.path, e.offset, e.expected, e.found))?;
        if header.first_lsn != self.expected_lsn {
            return Err(LogError::corrupt(
                &info.path,
                crate::format::HEADER_FIRST_LSN_OFFSET as u64,
                format!(
                    "a segment starting at LSN {} (the previous one ended there)",
                    self.expected_lsn
                ),
                header.first_lsn.to_string(),
            ));
        }
        // The stream starts at offset 0 so that `O_DIRECT` reads are aligned; the header bytes
        // (already checked) are skipped, and bytes past the valid end are never parsed.
        let (file, end) = if self.direct {
            let direct = self
                .io
                .open(&info.path, OpenOptions::read_only().direct(true))?;
            (
                direct,
                info.valid_bytes.next_multiple_of(ddb_io::ALIGNMENT as u64),
            )
        } else {
            (file, info.valid_bytes)
        };
        let reader = self.io.read_sequential(file, 0..end, self.read_ahead)?;
        self.stream = Some(SegmentStream {
            info,
            reader,
            buf: Vec::new(),
            start: 0,
            buf_offset: 0,
            skip: HEADER_BYTES,
            exhausted: false,
        });
        Ok(true)
    }

    /// Decodes the next frame of the current stream into `ready`; `false` at its end.
    fn next_frame(&mut self) -> Result<bool> {
        let Some(stream) = self.stream.as_mut() else {
            return Ok(false);
        };
        loop {
            let rest = stream.buf.get(stream.start..).unwrap_or_default();
            let offset = stream.buf_offset + stream.start as u64;
            if rest.is_empty() && stream.exhausted {
                return Ok(false);
            }
            match decode_frame(rest) {
                FrameDecode::Frame(frame, bytes) => {
                    stream.start += bytes;
                    if frame.seal {
                        if frame.first_lsn != self.expected_lsn {
                            return Err(LogError::corrupt(
                                &stream.info.path,
                                offset + FRAME_FIRST_LSN_OFFSET as u64,
                                format!("a seal naming LSN {} as next", self.expected_lsn),
                                frame.first_lsn.to_string(),
                            ));
                        }
                        continue;
                    }
                    if frame.first_lsn != self.expected_lsn {
                        return Err(LogError::corrupt(
                            &stream.info.path,
                            offset + FRAME_FIRST_LSN_OFFSET as u64,
                            format!("a frame starting at LSN {}", self.expected_lsn),
                            frame.first_lsn.to_string(),
                        ));
                    }
                    self.expected_lsn = frame.first_lsn + frame.records.len() as u64;
                    let (start, last) = (self.start_lsn, self.last_lsn);
                    self.ready.extend(
                        frame
                            .records
                            .into_iter()
                            .filter(|r| r.lsn >= start && r.lsn <= last),
                    );
                    return Ok(true);
                }
                FrameDecode::Invalid(e) => {
                    return Err(LogError::corrupt(
                        &stream.info.path,
                        offset + e.offset,
                        e.expected,
                        e.found,
                    ));
                }
                FrameDecode::NeedMore { .. } if stream.exhausted => {
                    return Err(LogError::corrupt(
                        &stream.info.path,
                        offset,
                        "a whole frame",
                        format!(
                            "the segment's valid bytes end after {} bytes of it",
                            rest.len()
                        ),
                    ));
                }
                FrameDecode::NeedMore { .. } => {
                    // Drop consumed bytes before growing, so the buffer stays about one frame
                    // plus one chunk.
                    if stream.start > 0 {
                        stream.buf.drain(..stream.start);
                        stream.buf_offset += stream.start as u64;
                        stream.start = 0;
                    }
                    match stream.reader.next_chunk()? {
                        Some((chunk_offset, chunk)) => {
                            let valid = usize::try_from(
                                stream.info.valid_bytes.saturating_sub(chunk_offset),
                            )
                            .unwrap_or(usize::MAX)
                            .min(chunk.len());
                            let skip = stream.skip.min(valid);
                            stream.skip -= skip;
                            if stream.buf.is_empty() {
                                stream.buf_offset = chunk_offset + skip as u64;
                            }
                            stream
                                .buf
                                .extend_from_slice(chunk.get(skip..valid).unwrap_or_default());
                            if chunk_offset + chunk.len() as u64 >= stream.info.valid_bytes {
                                stream.exhausted = true;
                            }
                        }
                        None => stream.exhausted = true,
                    }
                }
            }
        }
    }
}

impl Iterator for LogIter {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(record) = self.ready.pop_front() {
                return Some(Ok(record));
            }
            if self.expected_lsn > self.last_lsn {
                return None;
            }
            match self.next_frame() {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => {
                    self.expected_lsn = u64::MAX;
                    return Some(Err(e));
                }
            }
            match self.open_next_segment() {
                Ok(true) => continue,
                Ok(false) => {
                    let missing = self.expected_lsn;
                    self.expected_lsn = u64::MAX;
                    return Some(Err(LogError::LsnOutOfRange {
                        lsn: missing,
                        first: self.start_lsn,
                        last: self.last_lsn,
                    }));
                }
                Err(e) => {
                    self.expected_lsn = u64::MAX;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// A read-only view of a log directory for tools and restores: no lock, no repair. A torn tail
/// of the newest segment is excluded (as recovery would cut it off) and reported.
#[derive(Debug)]
pub struct LogReader {
    io: Arc<dyn Io>,
    segments: Vec<SegmentInfo>,
    next_lsn: u64,
    torn_tail: Option<(std::path::PathBuf, u64)>,
}

impl LogReader {
    pub fn open(io: Arc<dyn Io>, dir: &Path) -> Result<LogReader> {
        let layout = read_layout(io.as_ref(), dir, None)?;
        let torn_tail = layout.newest.as_ref().and_then(|scan| match &scan.end {
            SegmentEnd::TornTail { offset, .. } => Some((scan.path.clone(), *offset)),
            _ => None,
        });
        Ok(LogReader {
            io,
            segments: layout.segments,
            next_lsn: layout.next_lsn.unwrap_or(1),
            torn_tail,
        })
    }

    pub fn segments(&self) -> &[SegmentInfo] {
        &self.segments
    }

    /// The first LSN still in the log.
    pub fn first_lsn(&self) -> u64 {
        self.segments.first().map_or(self.next_lsn, |s| s.first_lsn)
    }

    /// The last LSN in the log (`first_lsn - 1` if it holds none).
    pub fn last_lsn(&self) -> u64 {
        self.next_lsn - 1
    }

    /// Where the newest segment has a torn final write (file and offset), if it has one.
    pub fn torn_tail(&self) -> Option<&(std::path::PathBuf, u64)> {
        self.torn_tail.as_ref()
    }

    pub fn read_from(&self, lsn: u64) -> Result<LogIter> {
        LogIter::new(
            Arc::clone(&self.io),
            self.segments.clone(),
            lsn,
            self.last_lsn(),
        )
    }

    /// The LSN of the last record committed at or before `timestamp_us`; `None` if the log's
    /// first record is later.
    pub fn lsn_at_time(&self, timestamp_us: u64) -> Result<Option<u64>> {
        lsn_at_time(&self.io, &self.segments, self.last_lsn(), timestamp_us)
    }
}

/// Seeks by time: picks the newest segment whose first record is at or before `timestamp_us`
/// (timestamps never decrease), then scans it.
pub(crate) fn lsn_at_time(
    io: &Arc<dyn Io>,
    segments: &[SegmentInfo],
    last_lsn: u64,
    timestamp_us: u64,
) -> Result<Option<u64>> {
    let mut start = None;
    for (index, segment) in segments.iter().enumerate().rev() {
        match first_record_time(io.as_ref(), segment)? {
            Some(first) if first <= timestamp_us => {
                start = Some(index);
                break;
            }
            _ => {}
        }
    }
    let Some(index) = start else { return Ok(None) };
    let Some(segment) = segments.get(index) else {
        return Ok(None);
    };
    let mut found = None;
    for record in LogIter::new(
        Arc::clone(io),
        segments.to_vec(),
        segment.first_lsn,
        last_lsn,
    )? {
        let record = record?;
        if record.timestamp_us > timestamp_us {
            break;
        }
        found = Some(record.lsn);
    }
    Ok(found)
}

/// Timestamp of a segment's first record, read from its first frame; `None` if it has none.
fn first_record_time(io: &dyn Io, segment: &SegmentInfo) -> Result<Option<u64>> {
    use crate::format::{FRAME_HEADER_BYTES, RECORD_HEADER_BYTES, RECORD_TIMESTAMP_OFFSET};
    let at = HEADER_BYTES as u64;
    if segment.valid_bytes < at + (FRAME_HEADER_BYTES + RECORD_HEADER_BYTES) as u64 {
        return Ok(None);
    }
    let file = io.open(&segment.path, OpenOptions::read_only())?;
    let mut bytes = [0u8; FRAME_HEADER_BYTES + RECORD_HEADER_BYTES];
    file.read_exact_at(&mut bytes, at)?;
    // Only a hint for choosing where to scan; the scan itself checks every frame.
    let offset = FRAME_HEADER_BYTES + RECORD_TIMESTAMP_OFFSET;
    Ok(bytes
        .get(offset..offset + 8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes))
}
