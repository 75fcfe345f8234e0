//! The sequential writer (write-behind): its own ring, up to `depth` chunks of `chunk_bytes`
//! written in flight from aligned buffers while the producer fills the next one.
//!
//! There are `depth + 1` slots: `depth` to write from and one to fill, so even at depth 1 the
//! producer copies the next chunk while the previous one is written. Chunk `i` is filled in
//! slot `i % (depth + 1)`. When it is full its write is queued, once fewer than `depth` writes
//! are in flight, and the producer moves on to the next slot, waiting only if that slot's
//! previous write is still in flight. A slot is reused only once every byte of its chunk is
//! written: a short write is resubmitted for the rest (the kernel may stop short anywhere, as
//! `pwrite` may), and a write of 0 bytes is `WriteZero`. Slots are allocated on first use, so a
//! short stream behind a deep window costs only the buffers it fills.
//!
//! The first failed write fails the writer: every later call returns an error of the same kind
//! and message, naming the path. Writes already in flight are not cancelled, and their buffers
//! stay with the writer until their completions are reaped: by `finish`, which waits for all of
//! them even after a failure, or by `Drop`, which waits and leaks the buffers if it cannot.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;
use std::sync::Arc;

use io_uring::{IoUring, opcode, types};

use super::ring::{IoUringDebug, rw_len};
use crate::sequential::check_direct_start;
use crate::{ALIGNMENT, AlignedBuf, ChunkWriter, IoFile, WriteBehind, error_at};

/// Writes in flight at most, whatever the caller asks: more buys nothing on one file.
const DEPTH_MAX: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// The kernel does not hold the buffer.
    Free,
    /// A write from the buffer is in the kernel's hands (or queued for it).
    InFlight,
}

#[derive(Debug)]
struct Slot {
    buf: AlignedBuf,
    /// File offset of `buf[0]`.
    offset: u64,
    /// Bytes of `buf` to write.
    len: usize,
    /// Bytes written so far.
    done: usize,
    status: Status,
}

/// What the completion of a write means.
#[derive(Debug)]
pub(super) enum Outcome {
    /// This many more bytes are written.
    Wrote(usize),
    /// Interrupted before anything was written: submit the same write again.
    Retry,
    Failed(io::Error),
}

/// Reads a write's CQE `result`; `at` is the file offset the write started at.
pub(super) fn outcome(result: i32, at: u64, path: &Path) -> Outcome {
    let op = || format!("write at byte {at} of");
    match usize::try_from(result) {
        Ok(0) => Outcome::Failed(error_at(
            &op(),
            path,
            io::Error::new(io::ErrorKind::WriteZero, "wrote nothing"),
        )),
        Ok(n) => Outcome::Wrote(n),
        Err(_) => {
            let errno = result.saturating_neg();
            if errno == libc::EINTR || errno == libc::EAGAIN {
                Outcome::Retry
            } else {
                Outcome::Failed(error_at(&op(), path, io::Error::from_raw_os_error(errno)))
            }
        }
    }
}

/// The io_uring [`ChunkWriter`].
#[derive(Debug)]
pub(super) struct UringChunkWriter {
    ring: IoUringDebug,
    /// Keeps the descriptor `fd` open while writes are in flight.
    file: Arc<dyn IoFile>,
    fd: RawFd,
    /// At most `depth + 1` slots, in the order they were first used.
    slots: Vec<Slot>,
    /// Writes in flight at most.
    depth: usize,
    /// Length of every slot's buffer: `chunk_bytes` rounded up to the alignment.
    buf_bytes: usize,
    /// The slot the producer fills.
    current: usize,
    /// Bytes of the current slot filled.
    filled: usize,
    /// File offset of the current slot's first byte.
    offset: u64,
    start: u64,
    direct: bool,
    /// Writes pushed whose completion has not been reaped.
    in_flight: usize,
    /// The first failure, kind and message, returned again by every later call.
    failure: Option<(io::ErrorKind, String)>,
    /// Completions reaped from the ring, reused to avoid an allocation per wait.
    reaped: Vec<(u64, i32)>,
    /// Short writes whose rest was resubmitted (the tests look at it).
    resubmitted: u64,
}

impl UringChunkWriter {
    pub(super) fn new(
        file: Arc<dyn IoFile>,
        start: u64,
        write_behind: WriteBehind,
    ) -> io::Result<Self> {
        check_direct_start(&*file, start, write_behind)?;
        let fd = file
            .fd()
            .ok_or_else(|| {
                error_at(
                    "write_sequential",
                    file.path(),
                    io::Error::new(io::ErrorKind::Unsupported, "not a kernel file"),
                )
            })?
            .as_raw_fd();
        let depth = write_behind.depth.clamp(1, DEPTH_MAX);
        // One SQE per slot at most, so the queue never overflows.
        let entries = u32::try_from(depth).unwrap_or(u32::MAX);
        let ring =
            IoUring::new(entries).map_err(|e| error_at("io_uring_setup for", file.path(), e))?;
        Ok(Self {
            ring: IoUringDebug(ring),
            file,
            fd,
            slots: Vec::with_capacity(depth + 1),
            depth,
            buf_bytes: write_behind
                .chunk_bytes
                .max(ALIGNMENT)
                .next_multiple_of(ALIGNMENT),
            current: 0,
            filled: 0,
            offset: start,
            start,
            direct: write_behind.direct,
            in_flight: 0,
            failure: None,
            reaped: Vec::with_capacity(depth),
            resubmitted: 0,
        })
    }

    #[cfg(test)]
    pub(super) fn resubmitted(&self) -> u64 {
        self.resubmitted
    }

    #[cfg(test)]
    pub(super) fn in_flight(&self) -> usize {
        self.in_flight
    }

    #[cfg(test)]
    pub(super) fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// An error for a broken invariant of this writer, naming the path.
    fn internal(&self, what: &str) -> io::Error {
        error_at(
            "write_sequential",
            self.file.path(),
            io::Error::other(format!("sequential writer: {what}")),
        )
    }

    /// Keeps `e` if it is the first failure, and returns the first failure.
    fn fail(&mut self, e: io::Error) -> io::Error {
        let (kind, message) = self
            .failure
            .get_or_insert_with(|| (e.kind(), e.to_string()));
        io::Error::new(*kind, message.clone())
    }

    /// The first failure, if the writer has failed.
    fn check(&self) -> io::Result<()> {
        match &self.failure {
            None => Ok(()),
            Some((kind, message)) => Err(io::Error::new(*kind, message.clone())),
        }
    }

    /// Queues the write of the rest of slot `index`: the one place this writer hands a buffer
    /// to the kernel.
    // SAFETY (the allow): the buffer belongs to `self.slots`, whose `AlignedBuf`s are never
    // resized, replaced or dropped while their slot is `InFlight` (the `Vec` of slots may move
    // the `AlignedBuf` handles, never the heap bytes they point to). A slot leaves `InFlight`
    // only when its completion is reaped, and the producer writes into a slot only after that
    // (`claim_current`), so nothing mutates the bytes while the kernel reads them. `Drop`
    // waits for every write in flight and leaks the buffers if it cannot. The descriptor stays
    // open because `self.file` owns it.
    #[allow(unsafe_code)]
    fn push_write(&mut self, index: usize) -> io::Result<()> {
        let fd = self.fd;
        let Some(slot) = self.slots.get_mut(index) else {
            return Err(self.internal("no such slot"));
        };
        let rest = slot
            .buf
            .as_slice()
            .get(slot.done..slot.len)
            .unwrap_or_default();
        if rest.is_empty() || slot.status != Status::Free || self.in_flight >= self.depth {
            return Err(
                self.internal("a write of nothing, from a buffer in flight, or beyond the window")
            );
        }
        let entry = opcode::Write::new(types::Fd(fd), rest.as_ptr(), rw_len(rest.len()))
            .offset(slot.offset + slot.done as u64)
            .build()
            .user_data(index as u64);
        // SAFETY: see the comment on this function: the buffer outlives the write and is not
        // written to while the kernel may read it.
        let pushed = unsafe { self.ring.0.submission().push(&entry) };
        if pushed.is_err() {
            return Err(self.internal("submission queue full"));
        }
        slot.status = Status::InFlight;
        self.in_flight += 1;
        Ok(())
    }

    fn submit(&mut self) -> io::Result<()> {
        match self.ring.0.submit() {
            // Queued writes go in with the next wait.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(e) => Err(error_at("io_uring_enter for", self.file.path(), e)),
            Ok(_) => Ok(()),
        }
    }

    /// Applies every completion in the ring, first waiting for one if `wait`. A failed write
    /// is recorded in `self.failure`; an `Err` is a failure of the ring itself.
    fn reap(&mut self, wait: bool) -> io::Result<()> {
        if wait {
            match self.ring.0.submit_and_wait(1) {
                Err(e) if e.kind() != io::ErrorKind::Interrupted => {
                    return Err(error_at("io_uring_enter for", self.file.path(), e));
                }
                _ => {}
            }
        }
        let mut reaped = std::mem::take(&mut self.reaped);
        super::ring::collect_completions(&mut self.ring.0, &mut self.in_flight, &mut reaped);
        let mut resubmitted = false;
        for &(data, result) in &reaped {
            let index = usize::try_from(data).unwrap_or(usize::MAX);
            resubmitted |= self.complete(index, result);
        }
        self.reaped = reaped;
        if resubmitted {
            self.submit()?;
        }
        Ok(())
    }

    /// Applies the completion of slot `index`'s write; true if it queued the rest.
    fn complete(&mut self, index: usize, result: i32) -> bool {
        let path = self.file.path();
        let Some(slot) = self.slots.get_mut(index) else {
            let e = self.internal("a completion for no slot");
            self.fail(e);
            return false;
        };
        // Whatever the result, the kernel is done with the buffer.
        slot.status = Status::Free;
        let at = slot.offset + slot.done as u64;
        match outcome(result, at, path) {
            Outcome::Wrote(n) => {
                slot.done = (slot.done + n).min(slot.len);
                if slot.done == slot.len {
                    return false;
                }
                self.resubmitted += 1;
            }
            Outcome::Retry => {}
            Outcome::Failed(e) => {
                self.fail(e);
                return false;
            }
        }
        // A failed writer starts no more writes; finish and drop only wait.
        if self.failure.is_some() {
            return false;
        }
        match self.push_write(index) {
            Ok(()) => true,
            Err(e) => {
                self.fail(e);
                false
            }
        }
    }

    /// Makes the current slot ready to fill: allocates it on first use, else waits until the
    /// write from it is complete.
    fn claim_current(&mut self) -> io::Result<()> {
        if self.current == self.slots.len() {
            let buf = AlignedBuf::zeroed(self.buf_bytes)
                .map_err(|e| error_at("write_sequential", self.file.path(), e))?;
            self.slots.push(Slot {
                buf,
                offset: 0,
                len: 0,
                done: 0,
                status: Status::Free,
            });
        }
        loop {
            self.check()?;
            match self.slots.get(self.current).map(|slot| slot.status) {
                None => return Err(self.internal("no such slot")),
                Some(Status::Free) => return Ok(()),
                Some(Status::InFlight) if self.in_flight == 0 => {
                    // Waiting would never end.
                    return Err(self.internal("a write is marked in flight but none is"));
                }
                Some(Status::InFlight) => self.reap(true)?,
            }
        }
    }

    /// Starts the write of the first `len` bytes of the current slot, once there is room in
    /// the window, and moves the producer to the next slot.
    fn issue_current(&mut self, len: usize) -> io::Result<()> {
        while self.in_flight >= self.depth {
            self.reap(true)?;
            self.check()?;
        }
        let (current, offset) = (self.current, self.offset);
        let Some(slot) = self.slots.get_mut(current) else {
            return Err(self.internal("no such slot"));
        };
        slot.offset = offset;
        slot.len = len;
        slot.done = 0;
        self.offset += len as u64;
        self.filled = 0;
        self.current = (current + 1) % (self.depth + 1);
        self.push_write(current)?;
        self.submit()?;
        // Collects what has completed already, without waiting: a short write's rest goes out
        // sooner, and a failure shows at the next call rather than only once the window wraps.
        self.reap(false)
    }

    fn write_inner(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            if self.filled == 0 {
                self.claim_current()?;
            }
            let filled = self.filled;
            let Some(slot) = self.slots.get_mut(self.current) else {
                return Err(self.internal("no such slot"));
            };
            let take = (slot.buf.len() - filled).min(data.len());
            let (now, rest) = data.split_at(take);
            if let Some(room) = slot.buf.as_mut_slice().get_mut(filled..filled + take) {
                room.copy_from_slice(now);
            }
            self.filled += take;
            data = rest;
            if self.filled == self.buf_bytes {
                self.issue_current(self.buf_bytes)?;
            }
        }
        // A failure reaped on the way is this call's to report.
        self.check()
    }

    /// Writes the partial last chunk, waits for every write and cuts `O_DIRECT` padding off.
    fn finish_inner(&mut self, end: u64) -> io::Result<()> {
        let filled = self.filled;
        let len = if self.direct {
            filled.next_multiple_of(ALIGNMENT)
        } else {
            filled
        };
        if filled > 0 {
            // The slot was claimed when its first byte went in: the kernel does not hold it.
            let Some(slot) = self.slots.get_mut(self.current) else {
                return Err(self.internal("no such slot"));
            };
            // Padding for O_DIRECT is zeros, and is cut off again below.
            if let Some(padding) = slot.buf.as_mut_slice().get_mut(filled..len) {
                padding.fill(0);
            }
            self.issue_current(len)?;
        }
        while self.in_flight > 0 {
            self.reap(true)?;
        }
        self.check()?;
        if len != filled {
            self.file.set_len(end)?;
        }
        Ok(())
    }
}

impl ChunkWriter for UringChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.check()?;
        self.write_inner(data).map_err(|e| self.fail(e))
    }

    fn written(&self) -> u64 {
        self.offset - self.start + self.filled as u64
    }

    fn finish(mut self: Box<Self>) -> io::Result<u64> {
        self.check()?;
        let end = self.offset + self.filled as u64;
        self.finish_inner(end).map_err(|e| self.fail(e))?;
        Ok(end)
    }
}

impl Drop for UringChunkWriter {
    /// Waits for every write still in flight: their buffers are freed right after. Short
    /// writes are not continued: nobody will learn whether the bytes landed.
    fn drop(&mut self) {
        if !super::ring::drain(&mut self.ring.0, &mut self.in_flight) {
            std::mem::forget(std::mem::take(&mut self.slots));
        }
    }
}
