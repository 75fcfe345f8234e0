//! Parquet's I/O traits over `ddb_io`: a `std::io::Write` over a sequential [`ChunkWriter`]
//! that hashes the bytes as they pass (whole file and row-group ranges), and a `ChunkReader`
//! over one byte range read through `Io` and checked against its hash before decoding.

use std::io::{self, Write};

use bytes::Bytes;
use ddb_io::ChunkWriter;
use parquet::errors::ParquetError;
use parquet::file::reader::{ChunkReader, Length};
use xxhash_rust::xxh3::Xxh3;

/// The artifact's byte sink: every byte goes to the `Io` writer and into two hashes, the whole
/// file's and the current segment's (a row group's column chunks are one segment, cut by
/// [`HashingWrite::cut`] once the row group is flushed).
pub struct HashingWrite {
    inner: Option<Box<dyn ChunkWriter>>,
    position: u64,
    file: Xxh3,
    segment: Xxh3,
    segment_start: u64,
}

impl std::fmt::Debug for HashingWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashingWrite")
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}

impl HashingWrite {
    pub fn new(inner: Box<dyn ChunkWriter>) -> Self {
        Self {
            inner: Some(inner),
            position: 0,
            file: Xxh3::new(),
            segment: Xxh3::new(),
            segment_start: 0,
        }
    }

    /// Ends the current segment here: returns `[start, end)` and its xxh3-128.
    pub fn cut(&mut self) -> (u64, u64, u128) {
        let hash = self.segment.digest128();
        let range = (self.segment_start, self.position, hash);
        self.segment = Xxh3::new();
        self.segment_start = self.position;
        range
    }

    /// Writes what is buffered and returns the whole file's size and xxh3-128.
    pub fn finish(&mut self) -> io::Result<(u64, u128)> {
        let inner = self
            .inner
            .take()
            .ok_or_else(|| io::Error::other("artifact writer finished twice"))?;
        let end = inner.finish()?;
        if end != self.position {
            return Err(io::Error::other(format!(
                "artifact writer ended at byte {end}, {} bytes were written",
                self.position
            )));
        }
        Ok((self.position, self.file.digest128()))
    }
}

impl Write for HashingWrite {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let inner = self
            .inner
            .as_mut()
            .ok_or_else(|| io::Error::other("artifact writer already finished"))?;
        inner.write(buf)?;
        self.file.update(buf);
        self.segment.update(buf);
        self.position += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // Bytes are durable only after finish and the file's sync; nothing to do here.
        Ok(())
    }
}

/// One byte range of a file, already read (and checked against its hash): the column chunks of
/// a row group. Reads outside it are errors, so decoding sees only checked bytes.
#[derive(Debug, Clone)]
pub struct RangeChunk {
    pub start: u64,
    pub bytes: Bytes,
    pub file_len: u64,
}

impl Length for RangeChunk {
    fn len(&self) -> u64 {
        self.file_len
    }
}

impl RangeChunk {
    fn slice(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let from = start
            .checked_sub(self.start)
            .and_then(|from| usize::try_from(from).ok());
        let range = from.and_then(|from| Some(from..from.checked_add(length)?));
        match range {
            Some(range) if range.end <= self.bytes.len() => Ok(self.bytes.slice(range)),
            _ => Err(ParquetError::General(format!(
                "{length} bytes at byte {start} are outside the row group's checked range [{}, {})",
                self.start,
                self.start + self.bytes.len() as u64
            ))),
        }
    }
}

impl ChunkReader for RangeChunk {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        let rest = self.start + self.bytes.len() as u64;
        let length = usize::try_from(rest.saturating_sub(start)).unwrap_or(0);
        Ok(bytes::Buf::reader(self.slice(start, length)?))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        self.slice(start, length)
    }
}
