//! The rings behind individual operations (`read_at`, `write_at`, the syncs): a small pool of
//! rings, each owned by one thread for the whole of an operation.
//!
//! Why this design: a thread that holds a ring from submission to completion sees only its own
//! completions, so no completion can be lost or handed to the wrong waiter, and the borrowed
//! buffers of the operation provably outlive it (the call does not return before every CQE is
//! in). Several rings let independent threads (one in an `fdatasync`, others reading) proceed
//! in parallel; a thread that finds every ring busy queues on one of them. A single ring shared
//! by many waiters would need a completion dispatcher thread or a wake-up protocol, which buys
//! nothing for one-operation-at-a-time callers.

use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};

use io_uring::{IoUring, opcode, squeue, types};

/// Rings in a pool: enough for a handful of threads blocked in syncs while others read.
const RING_COUNT: usize = 8;

/// Entries per pooled ring: an operation is at most a linked write and fsync.
const RING_ENTRIES: u32 = 8;

/// The most bytes one read or write may ask for (Linux `MAX_RW_COUNT`); longer buffers are
/// served partially and the caller loops, as with `pread`/`pwrite`.
pub(super) const MAX_RW_BYTES: usize = 0x7fff_f000;

/// How many times waiting for an operation the kernel already holds may fail outright before
/// the process aborts: returning would free a buffer the kernel may still write into.
const WAIT_FAILURES_MAX: u32 = 1000;

/// One operation of a submission. The borrows tie each buffer and descriptor to the call of
/// [`RingPool::run`], which does not return while the kernel may still use them.
#[derive(Debug)]
pub(super) enum Op<'a> {
    Read {
        fd: BorrowedFd<'a>,
        buf: &'a mut [u8],
        offset: u64,
    },
    Write {
        fd: BorrowedFd<'a>,
        buf: &'a [u8],
        offset: u64,
    },
    Fsync {
        fd: BorrowedFd<'a>,
        datasync: bool,
    },
}

impl Op<'_> {
    fn entry(&mut self) -> squeue::Entry {
        match self {
            Op::Read { fd, buf, offset } => {
                let len = rw_len(buf.len());
                opcode::Read::new(types::Fd(fd.as_raw_fd()), buf.as_mut_ptr(), len)
                    .offset(*offset)
                    .build()
            }
            Op::Write { fd, buf, offset } => {
                let len = rw_len(buf.len());
                opcode::Write::new(types::Fd(fd.as_raw_fd()), buf.as_ptr(), len)
                    .offset(*offset)
                    .build()
            }
            Op::Fsync { fd, datasync } => {
                let flags = if *datasync {
                    types::FsyncFlags::DATASYNC
                } else {
                    types::FsyncFlags::empty()
                };
                opcode::Fsync::new(types::Fd(fd.as_raw_fd()))
                    .flags(flags)
                    .build()
            }
        }
    }
}

/// A ring of a sequential reader or writer: `IoUring` does not implement `Debug`.
pub(super) struct IoUringDebug(pub(super) IoUring);

impl fmt::Debug for IoUringDebug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IoUring")
    }
}

/// A buffer length as the `u32` an SQE carries, capped at [`MAX_RW_BYTES`].
pub(super) fn rw_len(len: usize) -> u32 {
    u32::try_from(len.min(MAX_RW_BYTES)).unwrap_or(u32::MAX)
}

struct Slot {
    /// `None` until first used, and again after a ring had to be abandoned.
    ring: Option<IoUring>,
    /// Tags the `user_data` of each submission, so a completion is matched to its operation.
    generation: u64,
}

/// The pool of rings for individual operations.
pub(super) struct RingPool {
    slots: [Mutex<Slot>; RING_COUNT],
    next: AtomicUsize,
}

impl fmt::Debug for RingPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingPool")
            .field("rings", &RING_COUNT)
            .finish_non_exhaustive()
    }
}

impl RingPool {
    /// A pool whose first ring is `first` (the one the probe built); the others are set up on
    /// first use.
    pub(super) fn new(first: IoUring) -> Self {
        let slots = std::array::from_fn(|_| {
            Mutex::new(Slot {
                ring: None,
                generation: 0,
            })
        });
        let pool = Self {
            slots,
            next: AtomicUsize::new(0),
        };
        if let Some(slot) = pool.slots.first() {
            slot.lock().unwrap_or_else(PoisonError::into_inner).ring = Some(first);
        }
        pool
    }

    pub(super) fn ring_entries() -> u32 {
        RING_ENTRIES
    }

    /// A free ring if there is one, else a wait for one (round robin, so waiters spread out).
    fn lock(&self) -> MutexGuard<'_, Slot> {
        let start = self.next.fetch_add(1, Ordering::Relaxed) % RING_COUNT;
        let mut order = self.slots.iter().cycle().skip(start).take(RING_COUNT);
        let first = order.next();
        for slot in first.into_iter().chain(order) {
            match slot.try_lock() {
                Ok(guard) => return guard,
                // A panic elsewhere cannot leave the ring mid-operation: `run` does not
                // panic, so the ring's state is consistent.
                Err(TryLockError::Poisoned(poisoned)) => return poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        let [head, ..] = &self.slots;
        first
            .unwrap_or(head)
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Submits `ops` (linked in order when `linked`: each starts only if the previous one
    /// completed in full) and waits for all their completions, returning each CQE result
    /// (`-errno` or a byte count) in the order of `ops`. An `Err` is a failure of the ring
    /// itself; it is only returned once the kernel holds none of the operations.
    pub(super) fn run<const N: usize>(
        &self,
        mut ops: [Op<'_>; N],
        linked: bool,
    ) -> io::Result<[i32; N]> {
        let mut guard = self.lock();
        let slot = &mut *guard;
        let ring = match &mut slot.ring {
            Some(ring) => ring,
            empty => empty.insert(IoUring::new(RING_ENTRIES)?),
        };
        slot.generation = slot.generation.wrapping_add(1);
        let tag = slot.generation << 8;
        let mut entries = ops.each_mut().map(|op| op.entry());
        for (index, entry) in (0u64..).zip(entries.iter_mut()) {
            let mut flags = squeue::Flags::empty();
            if linked && index + 1 < N as u64 {
                flags |= squeue::Flags::IO_LINK;
            }
            *entry = entry.clone().user_data(tag | index).flags(flags);
        }
        push(ring, &entries)?;
        let mut results = [None; N];
        match wait(ring, tag, &mut results) {
            Ok(()) => Ok(results.map(|r| r.unwrap_or(-libc::EIO))),
            Err(e) => {
                // The kernel took none of the operations and never will: the ring is dropped
                // with them still queued, and a fresh one is set up on next use.
                slot.ring = None;
                Err(e)
            }
        }
    }
}

/// Pushes `entries` onto the submission queue: the single submission point of the pooled
/// rings.
// SAFETY (the allow): every buffer and descriptor in `entries` comes from an `Op<'a>` borrowed
// for the whole call of `RingPool::run`, and `run` returns only once `wait` has seen every
// completion or established that the kernel holds none of the operations (the ring is then
// dropped before any further `io_uring_enter`). So each buffer outlives its operation.
#[allow(unsafe_code)]
fn push(ring: &mut IoUring, entries: &[squeue::Entry]) -> io::Result<()> {
    // SAFETY: see the comment on this function: the operations' buffers are borrowed until
    // `run` has collected their completions.
    unsafe { ring.submission().push_multiple(entries) }.map_err(|_| {
        io::Error::other("io_uring submission queue full (a previous operation leaked entries)")
    })
}

/// Submits what is queued and waits until every `None` in `results` is filled by the CQE
/// tagged `tag | index`. Returns `Err` only when no operation is in the kernel's hands.
fn wait<const N: usize>(
    ring: &mut IoUring,
    tag: u64,
    results: &mut [Option<i32>; N],
) -> io::Result<()> {
    let mut failures = 0u32;
    loop {
        for cqe in ring.completion() {
            let data = cqe.user_data();
            if data & !0xff != tag {
                continue; // Not ours: cannot happen while the ring is held exclusively.
            }
            if let Some(result) = usize::try_from(data & 0xff)
                .ok()
                .and_then(|index| results.get_mut(index))
            {
                *result = Some(cqe.result());
            }
        }
        let missing = results.iter().filter(|r| r.is_none()).count();
        if missing == 0 {
            return Ok(());
        }
        // `submit_and_wait` can return early (a signal after the SQEs were consumed returns
        // the submitted count, not `EINTR`), so the loop trusts only the CQEs it reaps.
        match ring.submit_and_wait(missing) {
            Ok(_) => failures = 0,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                let queued = ring.submission().len();
                if queued >= missing {
                    return Err(e);
                }
                // The kernel holds an operation whose buffer the caller lent us: keep waiting.
                failures += 1;
                if failures >= WAIT_FAILURES_MAX {
                    eprintln!(
                        "ddb-io: io_uring wait keeps failing ({e}) while the kernel holds a \
                         caller's buffer; aborting rather than freeing it"
                    );
                    std::process::abort();
                }
                std::thread::yield_now();
            }
        }
    }
}

/// How many times waiting for a sequential ring's operations may fail outright before giving
/// up on them: the caller then leaks their buffers rather than free memory the kernel may
/// still use.
const DRAIN_FAILURES_MAX: u32 = 1000;

/// Waits until none of the `in_flight` operations of a sequential reader's or writer's ring is
/// held by the kernel. Returns `false` if it had to give up (the caller must then leak the
/// operations' buffers); operations still queued in user space never reach the kernel once
/// the ring is dropped, so only those the kernel took are waited for.
pub(super) fn drain(ring: &mut IoUring, in_flight: &mut usize) -> bool {
    let mut failures = 0u32;
    while *in_flight > 0 {
        let reaped = ring.completion().count();
        *in_flight = in_flight.saturating_sub(reaped);
        if *in_flight == 0 {
            break;
        }
        match ring.submit_and_wait(1) {
            Ok(_) => failures = 0,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                if ring.submission().len() >= *in_flight {
                    return true;
                }
                failures += 1;
                if failures >= DRAIN_FAILURES_MAX {
                    return false;
                }
                std::thread::yield_now();
            }
        }
    }
    true
}

/// Moves every completion waiting on a sequential ring into `out` (cleared first) as
/// `(user_data, result)` pairs and takes them off `in_flight`. The caller applies them after:
/// the completion queue borrow must end before it resubmits.
pub(super) fn collect_completions(
    ring: &mut IoUring,
    in_flight: &mut usize,
    out: &mut Vec<(u64, i32)>,
) {
    out.clear();
    out.extend(ring.completion().map(|cqe| (cqe.user_data(), cqe.result())));
    *in_flight = in_flight.saturating_sub(out.len());
}
