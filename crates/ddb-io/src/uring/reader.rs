//! The sequential reader: its own ring, `depth` reads of `chunk_bytes` in flight in aligned
//! buffers, chunks delivered strictly in file order.
//!
//! Chunk `i` covers `[start + i * chunk_bytes, ...)` and lives in slot `i % depth`; the reads of
//! chunks `next_deliver .. next_deliver + depth` are in flight at once. A slot is reused for
//! chunk `i + depth` only when the caller asks for the next chunk, because the slice handed out
//! for chunk `i` is valid until then.
//!
//! End of file: a read that returns fewer bytes than asked is resubmitted for the rest (the
//! kernel may return short reads anywhere); only a read returning 0 bytes ends the file. One
//! exception, for `O_DIRECT`: after the partial last block of a file the rest is read at an
//! unaligned offset. ext4 (iomap) checks end of file first and returns 0, but a file
//! system that checks alignment first refuses with `EINVAL`; a direct read can only stop short
//! of a block boundary at end of file, so `EINVAL` on an unaligned continuation after a short
//! read is end of file too.

use std::io;
use std::ops::Range;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;

use io_uring::{IoUring, opcode, types};

use super::ring::{IoUringDebug, rw_len};
use crate::{ALIGNMENT, AlignedBuf, ChunkReader, IoFile, ReadAhead, error_at};

/// Reads in flight at most, whatever the caller asks: more buys nothing on one file.
const DEPTH_MAX: usize = 256;

#[derive(Debug)]
enum Status {
    /// Not in use: its chunk was delivered (or none was assigned yet).
    Free,
    /// A read into the buffer is in the kernel's hands (or queued for it).
    InFlight,
    /// All wanted bytes are in, or end of file was reached.
    Done,
    Failed(io::Error),
}

#[derive(Debug)]
struct Slot {
    buf: AlignedBuf,
    /// File offset of the chunk's first byte.
    offset: u64,
    /// Bytes of the chunk inside the range.
    want: usize,
    /// Bytes read so far.
    filled: usize,
    status: Status,
}

impl Slot {
    /// Bytes to ask the kernel for: `want` rounded up to the alignment, so the lengths of
    /// `O_DIRECT` reads stay aligned at the end of the range.
    fn request(&self) -> usize {
        self.want.next_multiple_of(ALIGNMENT).min(self.buf.len())
    }
}

#[derive(Debug, PartialEq, Eq)]
enum State {
    Reading,
    Ended,
    Failed,
}

/// The io_uring [`ChunkReader`].
#[derive(Debug)]
pub(super) struct UringChunkReader {
    ring: IoUringDebug,
    /// Keeps the descriptor `fd` open while reads are in flight.
    file: Arc<dyn IoFile>,
    fd: RawFd,
    slots: Vec<Slot>,
    start: u64,
    end: u64,
    chunk_bytes: u64,
    chunk_count: u64,
    next_deliver: u64,
    next_issue: u64,
    /// Reads pushed whose completion has not been reaped.
    in_flight: usize,
    /// The slot whose bytes the caller may still be reading.
    delivered: Option<usize>,
    state: State,
    /// Completions reaped from the ring, reused to avoid an allocation per wait.
    reaped: Vec<(u64, i32)>,
}

impl UringChunkReader {
    pub(super) fn new(
        file: Arc<dyn IoFile>,
        range: Range<u64>,
        read_ahead: ReadAhead,
    ) -> io::Result<Self> {
        let fd = file
            .fd()
            .ok_or_else(|| {
                error_at(
                    "read_sequential",
                    file.path(),
                    io::Error::new(io::ErrorKind::Unsupported, "not a kernel file"),
                )
            })?
            .as_raw_fd();
        let chunk_bytes = read_ahead.chunk_bytes.max(1);
        let chunk_bytes_u64 = chunk_bytes as u64;
        let chunk_count = range
            .end
            .saturating_sub(range.start)
            .div_ceil(chunk_bytes_u64);
        let depth = read_ahead
            .depth
            .clamp(1, DEPTH_MAX)
            .min(usize::try_from(chunk_count).unwrap_or(usize::MAX))
            .max(1);
        let entries = u32::try_from(depth).unwrap_or(u32::MAX);
        let ring =
            IoUring::new(entries).map_err(|e| error_at("io_uring_setup for", file.path(), e))?;
        let buf_bytes = chunk_bytes.next_multiple_of(ALIGNMENT);
        let slots = (0..depth)
            .map(|_| {
                Ok(Slot {
                    buf: AlignedBuf::zeroed(buf_bytes)?,
                    offset: 0,
                    want: 0,
                    filled: 0,
                    status: Status::Free,
                })
            })
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Self {
            ring: IoUringDebug(ring),
            file,
            fd,
            slots,
            start: range.start,
            end: range.end,
            chunk_bytes: chunk_bytes_u64,
            chunk_count,
            next_deliver: 0,
            next_issue: 0,
            in_flight: 0,
            delivered: None,
            state: State::Reading,
            reaped: Vec::with_capacity(depth),
        })
    }

    fn slot_of(&self, chunk: u64) -> usize {
        usize::try_from(chunk % self.slots.len() as u64).unwrap_or(0)
    }

    /// Queues the read of the rest of slot `index`'s chunk: the one place this reader hands
    /// a buffer to the kernel.
    // SAFETY (the allow): the buffer belongs to `self.slots`, whose `AlignedBuf`s are never
    // resized, replaced or dropped while their slot is `InFlight` (a slot leaves `InFlight`
    // only when its completion is reaped); `Drop` waits for every in-flight read and leaks the
    // buffers if it cannot. No reference into an `InFlight` buffer is handed out. The
    // descriptor stays open because `self.file` owns it.
    #[allow(unsafe_code)]
    fn push_read(&mut self, index: usize) -> io::Result<()> {
        let fd = self.fd;
        let Some(slot) = self.slots.get_mut(index) else {
            return Err(io::Error::other("sequential reader: no such slot"));
        };
        let request = slot.request();
        let rest = slot
            .buf
            .as_mut_slice()
            .get_mut(slot.filled..request)
            .unwrap_or_default();
        let entry = opcode::Read::new(types::Fd(fd), rest.as_mut_ptr(), rw_len(rest.len()))
            .offset(slot.offset + slot.filled as u64)
            .build()
            .user_data(index as u64);
        // SAFETY: see the comment on this function: the buffer outlives the read.
        let pushed = unsafe { self.ring.0.submission().push(&entry) };
        pushed.map_err(|_| io::Error::other("sequential reader: submission queue full"))?;
        slot.status = Status::InFlight;
        self.in_flight += 1;
        Ok(())
    }

    /// Starts the reads of the chunks in the window that are not in flight yet.
    fn issue(&mut self) -> io::Result<()> {
        let window_end = self
            .chunk_count
            .min(self.next_deliver + self.slots.len() as u64);
        let mut pushed = false;
        while self.next_issue < window_end {
            let chunk = self.next_issue;
            let index = self.slot_of(chunk);
            let offset = self.start + chunk * self.chunk_bytes;
            let want = usize::try_from((self.end - offset).min(self.chunk_bytes))
                .map_err(|e| io::Error::other(format!("chunk size: {e}")))?;
            let Some(slot) = self.slots.get_mut(index) else {
                break;
            };
            if !matches!(slot.status, Status::Free) {
                return Err(io::Error::other(
                    "sequential reader: slot reused before delivery",
                ));
            }
            slot.offset = offset;
            slot.want = want;
            slot.filled = 0;
            self.push_read(index)?;
            self.next_issue += 1;
            pushed = true;
        }
        if pushed {
            self.submit()?;
        }
        Ok(())
    }

    fn submit(&mut self) -> io::Result<()> {
        match self.ring.0.submit() {
            // Queued reads go in with the next wait.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            other => other.map(drop),
        }
    }

    /// Waits for at least one completion and applies every reaped one.
    fn reap(&mut self) -> io::Result<()> {
        match self.ring.0.submit_and_wait(1) {
            Err(e) if e.kind() != io::ErrorKind::Interrupted => return Err(e),
            _ => {}
        }
        let mut reaped = std::mem::take(&mut self.reaped);
        super::ring::collect_completions(&mut self.ring.0, &mut self.in_flight, &mut reaped);
        let mut resubmitted = false;
        for &(data, result) in &reaped {
            let index = usize::try_from(data).unwrap_or(usize::MAX);
            resubmitted |= self.complete(index, result)?;
        }
        self.reaped = reaped;
        if resubmitted {
            self.submit()?;
        }
        Ok(())
    }

    /// Applies the completion of slot `index`'s read; true if it queued a continuation.
    fn complete(&mut self, index: usize, result: i32) -> io::Result<bool> {
        let path = self.file.path().to_owned();
        let Some(slot) = self.slots.get_mut(index) else {
            return Ok(false);
        };
        let at = slot.offset + slot.filled as u64;
        match usize::try_from(result) {
            Ok(0) => slot.status = Status::Done,
            Ok(n) => {
                slot.filled += n;
                if slot.filled >= slot.want {
                    slot.status = Status::Done;
                } else {
                    self.push_read(index)?;
                    return Ok(true);
                }
            }
            Err(_) => {
                let errno = result.saturating_neg();
                if errno == libc::EINTR || errno == libc::EAGAIN {
                    self.push_read(index)?;
                    return Ok(true);
                }
                if errno == libc::EINVAL && slot.filled > 0 && !at.is_multiple_of(ALIGNMENT as u64)
                {
                    // The partial last block of an O_DIRECT file (see the module comment).
                    slot.status = Status::Done;
                } else {
                    let e = io::Error::from_raw_os_error(errno);
                    slot.status =
                        Status::Failed(error_at(&format!("read at byte {at} of"), &path, e));
                }
            }
        }
        Ok(false)
    }
}

impl ChunkReader for UringChunkReader {
    fn next_chunk(&mut self) -> io::Result<Option<(u64, &[u8])>> {
        match self.state {
            State::Reading => {}
            State::Ended => return Ok(None),
            State::Failed => {
                return Err(error_at(
                    "read_sequential",
                    self.file.path(),
                    io::Error::other("an earlier read failed"),
                ));
            }
        }
        if let Some(slot) = self.delivered.take().and_then(|i| self.slots.get_mut(i)) {
            slot.status = Status::Free;
        }
        if self.next_deliver >= self.chunk_count {
            self.state = State::Ended;
            return Ok(None);
        }
        let outcome = self.issue().and_then(|()| {
            let index = self.slot_of(self.next_deliver);
            while matches!(
                self.slots.get(index).map(|s| &s.status),
                Some(Status::InFlight)
            ) {
                self.reap()?;
            }
            Ok(index)
        });
        let index = match outcome {
            Ok(index) => index,
            Err(e) => {
                self.state = State::Failed;
                return Err(error_at("read_sequential", self.file.path(), e));
            }
        };
        let Some(slot) = self.slots.get_mut(index) else {
            self.state = State::Failed;
            return Err(io::Error::other("sequential reader: no such slot"));
        };
        if let Status::Failed(_) = slot.status {
            self.state = State::Failed;
            let Status::Failed(e) = std::mem::replace(&mut slot.status, Status::Free) else {
                return Err(io::Error::other("sequential reader: lost an error"));
            };
            return Err(e);
        }
        let len = slot.filled.min(slot.want);
        if len == 0 {
            self.state = State::Ended;
            return Ok(None);
        }
        if len < slot.want {
            // End of file inside this chunk: it is the last one.
            self.state = State::Ended;
        }
        self.next_deliver += 1;
        self.delivered = Some(index);
        let bytes = slot.buf.as_slice().get(..len).unwrap_or_default();
        Ok(Some((slot.offset, bytes)))
    }
}

impl Drop for UringChunkReader {
    /// Waits for every read still in flight: their buffers are freed right after.
    fn drop(&mut self) {
        self.state = State::Ended;
        if !super::ring::drain(&mut self.ring.0, &mut self.in_flight) {
            std::mem::forget(std::mem::take(&mut self.slots));
        }
    }
}
