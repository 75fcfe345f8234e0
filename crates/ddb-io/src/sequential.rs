//! Streaming I/O for the hot paths: a reader that keeps reads in flight ahead of its consumer
//! (read-ahead) and a writer that keeps writes in flight behind its producer (write-behind),
//! both over large aligned buffers so they also serve `O_DIRECT` files. The synchronous
//! versions here are the defaults every backend has; io_uring overrides them.

use std::io;
use std::ops::Range;
use std::sync::Arc;

use crate::{ALIGNMENT, AlignedBuf, IoFile};

/// Read-ahead settings of a sequential reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadAhead {
    /// Bytes per read; a multiple of [`ALIGNMENT`] (required for `O_DIRECT` files).
    pub chunk_bytes: usize,
    /// Reads kept in flight.
    pub depth: usize,
}

impl Default for ReadAhead {
    fn default() -> Self {
        Self {
            chunk_bytes: 1 << 20,
            depth: 4,
        }
    }
}

/// Reads a byte range of a file front to back, in chunks, keeping reads in flight ahead of the
/// consumer where the backend can.
pub trait ChunkReader: Send {
    /// The next chunk: its file offset and bytes (the last chunk may be short). `None` at the
    /// end of the range. The slice is valid until the next call.
    fn next_chunk(&mut self) -> io::Result<Option<(u64, &[u8])>>;
}

/// The default [`ChunkReader`]: one positioned read per chunk, into one reused aligned buffer.
#[derive(Debug)]
pub struct SyncChunkReader {
    file: Arc<dyn IoFile>,
    next: u64,
    end: u64,
    buf: AlignedBuf,
}

impl SyncChunkReader {
    pub fn new(file: Arc<dyn IoFile>, range: Range<u64>, chunk_bytes: usize) -> io::Result<Self> {
        let buf = AlignedBuf::zeroed(chunk_bytes.max(ALIGNMENT).next_multiple_of(ALIGNMENT))?;
        Ok(Self {
            file,
            next: range.start,
            end: range.end,
            buf,
        })
    }
}

impl ChunkReader for SyncChunkReader {
    fn next_chunk(&mut self) -> io::Result<Option<(u64, &[u8])>> {
        if self.next >= self.end {
            return Ok(None);
        }
        let offset = self.next;
        let want = usize::try_from(self.end - offset)
            .unwrap_or(usize::MAX)
            .min(self.buf.len());
        let buf_len = self.buf.len();
        let buf = self.buf.as_mut_slice();
        let mut got = 0usize;
        while got < want {
            // Up to the range end, rounded up to the alignment O_DIRECT needs (the bytes past
            // the end are read but not returned).
            let limit = want.next_multiple_of(ALIGNMENT).min(buf_len);
            let rest = buf.get_mut(got..limit).unwrap_or_default();
            match self.file.read_at(rest, offset + got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if got == 0 {
            self.next = self.end;
            return Ok(None);
        }
        let got = got.min(want);
        self.next = offset + got as u64;
        Ok(Some((
            offset,
            self.buf.as_slice().get(..got).unwrap_or_default(),
        )))
    }
}

/// Write-behind settings of a sequential writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteBehind {
    /// Bytes per write; a multiple of [`ALIGNMENT`] (required for `O_DIRECT` files).
    pub chunk_bytes: usize,
    /// Writes kept in flight.
    pub depth: usize,
    /// The file was opened with `O_DIRECT`: the final partial chunk is padded with zeros to
    /// [`ALIGNMENT`] for the write and the file is then truncated back to its true length.
    pub direct: bool,
}

impl Default for WriteBehind {
    fn default() -> Self {
        Self {
            chunk_bytes: 1 << 20,
            depth: 4,
            direct: false,
        }
    }
}

/// Appends a stream of bytes to a file in chunks, keeping writes in flight where the backend
/// can. The bytes are on disk only after [`ChunkWriter::finish`] and a sync of the file.
pub trait ChunkWriter: Send {
    /// Accepts `data` (copied into the writer's buffers; full chunks are written).
    fn write(&mut self, data: &[u8]) -> io::Result<()>;

    /// Bytes accepted so far.
    fn written(&self) -> u64;

    /// Writes what is buffered, waits for every write in flight, and returns the file offset
    /// just past the last byte.
    fn finish(self: Box<Self>) -> io::Result<u64>;
}

/// The default [`ChunkWriter`]: one positioned write per full chunk, from one aligned buffer.
#[derive(Debug)]
pub struct SyncChunkWriter {
    file: Arc<dyn IoFile>,
    /// File offset of `buf[0]`.
    offset: u64,
    start: u64,
    buf: AlignedBuf,
    filled: usize,
    direct: bool,
}

impl SyncChunkWriter {
    pub fn new(file: Arc<dyn IoFile>, start: u64, write_behind: WriteBehind) -> io::Result<Self> {
        check_direct_start(&*file, start, write_behind)?;
        let buf = AlignedBuf::zeroed(
            write_behind
                .chunk_bytes
                .max(ALIGNMENT)
                .next_multiple_of(ALIGNMENT),
        )?;
        Ok(Self {
            file,
            offset: start,
            start,
            buf,
            filled: 0,
            direct: write_behind.direct,
        })
    }

    fn flush_full(&mut self) -> io::Result<()> {
        self.file.write_all_at(self.buf.as_slice(), self.offset)?;
        self.offset += self.buf.len() as u64;
        self.filled = 0;
        Ok(())
    }
}

/// `O_DIRECT` writes must start aligned.
pub(crate) fn check_direct_start(
    file: &dyn IoFile,
    start: u64,
    write_behind: WriteBehind,
) -> io::Result<()> {
    if write_behind.direct && !start.is_multiple_of(ALIGNMENT as u64) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "write {}: O_DIRECT writes must start at a multiple of {ALIGNMENT}, not {start}",
                file.path().display()
            ),
        ));
    }
    Ok(())
}

impl ChunkWriter for SyncChunkWriter {
    fn write(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let room = self.buf.len() - self.filled;
            let take = room.min(data.len());
            let (now, rest) = data.split_at(take);
            if let Some(slot) = self
                .buf
                .as_mut_slice()
                .get_mut(self.filled..self.filled + take)
            {
                slot.copy_from_slice(now);
            }
            self.filled += take;
            data = rest;
            if self.filled == self.buf.len() {
                self.flush_full()?;
            }
        }
        Ok(())
    }

    fn written(&self) -> u64 {
        self.offset - self.start + self.filled as u64
    }

    fn finish(mut self: Box<Self>) -> io::Result<u64> {
        let end = self.offset + self.filled as u64;
        if self.filled > 0 {
            let len = if self.direct {
                self.filled.next_multiple_of(ALIGNMENT)
            } else {
                self.filled
            };
            let buf = self.buf.as_mut_slice();
            // Padding for O_DIRECT is zeros, and is cut off again below.
            buf.get_mut(self.filled..len).unwrap_or_default().fill(0);
            self.file
                .write_all_at(buf.get(..len).unwrap_or_default(), self.offset)?;
            if len != self.filled {
                self.file.set_len(end)?;
            }
        }
        Ok(end)
    }
}
