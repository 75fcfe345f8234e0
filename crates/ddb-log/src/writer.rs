//! The log writer: LSN and timestamp assignment, group commit, segment rotation, durability
//! modes, retention.
//!
//! Group commit: appenders queue their batch under the lock and wait. Whoever finds no write in
//! progress becomes the leader: it takes every queued batch (one in `PerCommit` mode), writes
//! them as one frame with one `write + fdatasync`, publishes the new durable LSN and wakes the
//! others. Batches queued while the leader's fsync runs form the next group. A frame is the
//! unit of atomicity, so a batch is all-or-nothing after a crash.
//!
//! A failed write or sync poisons the log: the kernel may have dropped the dirty pages, so
//! retrying the fsync could report success for data that is gone (fsyncgate). Reopening runs
//! recovery, which finds what really reached the disk.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use ddb_io::{Io, IoFile, OpenOptions};

use crate::error::{LogError, Result};
use crate::format::{
    FRAME_BYTES_MAX, FRAME_HEADER_BYTES, HEADER_BYTES, Mutation, MutationKind, RECORD_HEADER_BYTES,
    SegmentHeader, encode_frame, encode_seal, segment_file_name,
};
use crate::layout::{SegmentInfo, TailRepair, recover_layout};
use crate::reader::LogIter;

/// When an append is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Every batch gets its own frame and its own fsync before `append` returns.
    PerCommit,
    /// Concurrent batches share a frame and one fsync; `append` returns once its batch is
    /// durable. The default.
    Group,
    /// `append` returns once its batch is written (in the page cache); a background thread
    /// fsyncs at this interval. A crash can lose up to one interval of acknowledged writes.
    Interval(Duration),
}

/// A source of wall-clock time in microseconds since the Unix epoch (replaceable in tests to
/// step the clock back).
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now_us(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_us(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
    }
}

/// Options of a log.
#[derive(Debug, Clone)]
pub struct LogOptions {
    /// Written into every segment header and checked on open.
    pub table_id: [u8; 16],
    /// A segment is sealed and a new one started once it reaches this size.
    pub segment_bytes_target: u64,
    pub durability: Durability,
    /// LSN of the first record of a new, empty log.
    pub first_lsn: u64,
    pub clock: Arc<dyn Clock>,
}

impl LogOptions {
    pub fn new(table_id: [u8; 16]) -> Self {
        Self {
            table_id,
            segment_bytes_target: 64 << 20,
            durability: Durability::Group,
            first_lsn: 1,
            clock: Arc::new(SystemClock),
        }
    }
}

/// A submitted batch: its LSNs, and its commit time once written.
#[derive(Debug, Clone)]
pub struct Ticket {
    pub first_lsn: u64,
    pub last_lsn: u64,
    timestamp_us: Arc<AtomicU64>,
}

impl Ticket {
    /// The batch's commit timestamp; 0 until its frame is written.
    pub fn timestamp_us(&self) -> u64 {
        self.timestamp_us.load(Ordering::Acquire)
    }
}

/// What an acknowledged append got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    pub first_lsn: u64,
    pub last_lsn: u64,
    pub timestamp_us: u64,
}

/// A segment file being appended to.
#[derive(Debug, Clone)]
struct Active {
    file: Arc<dyn IoFile>,
    first_lsn: u64,
    /// Bytes of valid data in the file (header and whole frames).
    len: u64,
    frames: u64,
}

#[derive(Debug)]
struct Pending {
    first_lsn: u64,
    mutations: Vec<Mutation>,
    /// Bytes its records take in a frame (measured once, by `check_batch`).
    frame_bytes: usize,
    timestamp_us: Arc<AtomicU64>,
}

#[derive(Debug)]
struct State {
    next_lsn: u64,
    /// Every LSN up to this one is acknowledged.
    acked_lsn: u64,
    /// Every LSN up to this one is durable (equals `acked_lsn` except in `Interval` mode).
    synced_lsn: u64,
    last_timestamp_us: u64,
    pending: VecDeque<Pending>,
    leader_active: bool,
    poisoned: Option<String>,
    closed: bool,
    active: Active,
    /// Every segment, oldest first; the last is the active one.
    segments: Vec<SegmentInfo>,
}

#[derive(Debug)]
struct Shared {
    io: Arc<dyn Io>,
    dir: PathBuf,
    options: LogOptions,
    state: Mutex<State>,
    wake: Condvar,
}

/// An open, writable log. One per directory at a time (the table layer holds the lock).
#[derive(Debug)]
pub struct Log {
    shared: Arc<Shared>,
    flusher: Option<JoinHandle<()>>,
    repair: TailRepair,
}

impl Log {
    /// Opens (creating if needed) the log in `dir`, recovering it: a torn final write is cut
    /// off, damage anywhere else is an error naming file and offset.
    pub fn open(io: Arc<dyn Io>, dir: &Path, options: LogOptions) -> Result<Log> {
        if options.first_lsn == 0 {
            return Err(LogError::InvalidInput(
                "the first LSN of a log is at least 1".into(),
            ));
        }
        io.create_dir_all(dir)?;
        let (layout, repair) = recover_layout(io.as_ref(), dir, options.table_id)?;
        let mut segments = layout.segments;
        let mut last_timestamp_us = layout.last_timestamp_us;
        let next_lsn = layout.next_lsn.unwrap_or(options.first_lsn);
        let active = match segments.last() {
            Some(newest) if !newest.sealed => {
                let file = io.open(&newest.path, OpenOptions::read_write())?;
                let frames = layout.newest.as_ref().map_or(0, |s| s.frames.len() as u64);
                Active {
                    file,
                    first_lsn: newest.first_lsn,
                    len: newest.valid_bytes,
                    frames,
                }
            }
            _ => {
                last_timestamp_us = last_timestamp_us.max(options.clock.now_us());
                let active =
                    create_segment(io.as_ref(), dir, &options, next_lsn, last_timestamp_us)?;
                segments.push(SegmentInfo {
                    first_lsn: next_lsn,
                    path: dir.join(segment_file_name(next_lsn)),
                    valid_bytes: HEADER_BYTES as u64,
                    sealed: false,
                });
                active
            }
        };
        let durability = options.durability;
        let state = State {
            next_lsn,
            acked_lsn: next_lsn - 1,
            synced_lsn: next_lsn - 1,
            last_timestamp_us,
            pending: VecDeque::new(),
            leader_active: false,
            poisoned: None,
            closed: false,
            active,
            segments,
        };
        let shared = Arc::new(Shared {
            io,
            dir: dir.to_owned(),
            options,
            state: Mutex::new(state),
            wake: Condvar::new(),
        });
        let flusher = match durability {
            Durability::Interval(every) => {
                let shared = Arc::clone(&shared);
                Some(
                    std::thread::Builder::new()
                        .name("ddb-log-flush".into())
                        .spawn(move || flush_loop(&shared, every))?,
                )
            }
            _ => None,
        };
        Ok(Log {
            shared,
            flusher,
            repair,
        })
    }

    /// What recovery did to the newest segment when this log was opened.
    pub fn repair(&self) -> &TailRepair {
        &self.repair
    }

    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Appends one batch of mutations atomically and returns once it is acknowledged (see
    /// [`Durability`]). Concurrent callers share frames and fsyncs.
    pub fn append(&self, batch: Vec<Mutation>) -> Result<Committed> {
        let ticket = self.submit(batch)?;
        self.wait(&ticket)
    }

    /// Queues one batch and gives it its LSNs, without waiting: batches are written in the
    /// order they were submitted, and [`Log::wait`] returns once the batch is acknowledged. A
    /// caller that holds a lock while submitting and releases it before waiting lets other
    /// writers' batches share its frame and fsync while keeping LSN order = submission order.
    pub fn submit(&self, batch: Vec<Mutation>) -> Result<Ticket> {
        let frame_bytes = check_batch(&batch)?;
        let mut state = self.shared.lock();
        if let Some(why) = &state.poisoned {
            return Err(LogError::Poisoned(why.clone()));
        }
        let first_lsn = state.next_lsn;
        let last_lsn = first_lsn + batch.len() as u64 - 1;
        state.next_lsn = last_lsn + 1;
        let timestamp_us = Arc::new(AtomicU64::new(0));
        state.pending.push_back(Pending {
            first_lsn,
            mutations: batch,
            frame_bytes,
            timestamp_us: Arc::clone(&timestamp_us),
        });
        Ok(Ticket {
            first_lsn,
            last_lsn,
            timestamp_us,
        })
    }

    /// Waits until the batch of `ticket` is acknowledged (leading a group commit if no one
    /// else is); an error if the log failed before it was.
    pub fn wait(&self, ticket: &Ticket) -> Result<Committed> {
        let shared = &self.shared;
        let mut state = shared.lock();
        loop {
            if state.acked_lsn >= ticket.last_lsn {
                return Ok(Committed {
                    first_lsn: ticket.first_lsn,
                    last_lsn: ticket.last_lsn,
                    timestamp_us: ticket.timestamp_us.load(Ordering::Acquire),
                });
            }
            if let Some(why) = &state.poisoned {
                return Err(LogError::Poisoned(why.clone()));
            }
            if state.leader_active {
                state = shared
                    .wake
                    .wait(state)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                continue;
            }
            state = shared.lead(state);
        }
    }

    /// Makes every acknowledged record durable now (only `Interval` mode has undurable ones).
    pub fn sync(&self) -> Result<()> {
        self.shared.sync_now()
    }

    /// The LSN the next record will get.
    pub fn next_lsn(&self) -> u64 {
        self.shared.lock().next_lsn
    }

    /// The last acknowledged LSN (0 if none).
    pub fn last_lsn(&self) -> u64 {
        self.shared.lock().acked_lsn
    }

    /// The segments, oldest first, with their valid lengths as of now.
    pub fn segments(&self) -> Vec<SegmentInfo> {
        let state = self.shared.lock();
        let mut segments = state.segments.clone();
        if let Some(last) = segments.last_mut() {
            last.valid_bytes = state.active.len;
        }
        segments
    }

    /// Reads the acknowledged records from `lsn` on, as of now.
    pub fn read_from(&self, lsn: u64) -> Result<LogIter> {
        LogIter::new(
            Arc::clone(&self.shared.io),
            self.segments(),
            lsn,
            self.last_lsn(),
        )
    }

    /// The LSN of the last record committed at or before `timestamp_us` (for point-in-time
    /// recovery); `None` if the oldest retained record is later.
    pub fn lsn_at_time(&self, timestamp_us: u64) -> Result<Option<u64>> {
        crate::reader::lsn_at_time(
            &self.shared.io,
            &self.segments(),
            self.last_lsn(),
            timestamp_us,
        )
    }

    /// Deletes whole sealed segments whose records all have LSNs below `lsn`. The active
    /// segment is never deleted. Returns how many segments were deleted.
    pub fn delete_segments_below(&self, lsn: u64) -> Result<usize> {
        let shared = &self.shared;
        let mut state = shared.lock();
        let mut doomed = Vec::new();
        while state.segments.len() > 1 {
            let next_first = state.segments.get(1).map_or(0, |s| s.first_lsn);
            if next_first > lsn {
                break;
            }
            doomed.push(state.segments.remove(0));
        }
        drop(state);
        for segment in &doomed {
            shared.io.remove_file(&segment.path)?;
        }
        if !doomed.is_empty() {
            shared.io.sync_dir(&shared.dir)?;
        }
        Ok(doomed.len())
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        {
            let mut state = self.shared.lock();
            state.closed = true;
        }
        self.shared.wake.notify_all();
        if let Some(flusher) = self.flusher.take() {
            let _ = flusher.join();
        }
        // In Interval mode, make what was acknowledged durable on a clean close.
        let _ = self.shared.sync_now();
    }
}

/// Checks a batch and returns the bytes its records take in a frame.
fn check_batch(batch: &[Mutation]) -> Result<usize> {
    if batch.is_empty() {
        return Err(LogError::InvalidInput(
            "a batch holds at least one mutation".into(),
        ));
    }
    let mut bytes = 0;
    for mutation in batch {
        if mutation.key.is_empty() || mutation.key.len() > usize::from(u16::MAX) {
            return Err(LogError::InvalidInput(format!(
                "a key is 1 to 65535 bytes, not {}",
                mutation.key.len()
            )));
        }
        let value = match &mutation.kind {
            MutationKind::Put(item) if item.len() < 2 => {
                return Err(LogError::InvalidInput(
                    "a put carries an item of at least 2 bytes".into(),
                ));
            }
            MutationKind::Put(item) => item.len(),
            MutationKind::Delete => 0,
        };
        bytes += RECORD_HEADER_BYTES + mutation.key.len() + value;
    }
    if FRAME_HEADER_BYTES + bytes > FRAME_BYTES_MAX {
        return Err(LogError::InvalidInput(format!(
            "a batch of {bytes} bytes exceeds the frame limit of {FRAME_BYTES_MAX}"
        )));
    }
    Ok(bytes)
}

/// A group taken by a leader.
struct Group {
    batches: Vec<Pending>,
    first_lsn: u64,
    last_lsn: u64,
    timestamp_us: u64,
    active: Active,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs one group as leader: takes queued batches, writes them without the lock held,
    /// publishes the outcome. Returns with the lock held again.
    fn lead<'a>(&'a self, mut state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        state.leader_active = true;
        let per_commit = self.options.durability == Durability::PerCommit;
        let mut batches = Vec::new();
        let mut bytes = FRAME_HEADER_BYTES;
        while let Some(next) = state.pending.front() {
            let next_bytes = next.frame_bytes;
            if !batches.is_empty() && (per_commit || bytes + next_bytes > FRAME_BYTES_MAX) {
                break;
            }
            bytes += next_bytes;
            if let Some(pending) = state.pending.pop_front() {
                batches.push(pending);
            }
        }
        let first_lsn = batches.first().map_or(state.acked_lsn + 1, |b| b.first_lsn);
        let last_lsn = batches.last().map_or(first_lsn - 1, |b| {
            b.first_lsn + b.mutations.len() as u64 - 1
        });
        // Timestamps never go backwards, even if the wall clock does.
        let timestamp_us = self.options.clock.now_us().max(state.last_timestamp_us);
        state.last_timestamp_us = timestamp_us;
        let group = Group {
            batches,
            first_lsn,
            last_lsn,
            timestamp_us,
            active: state.active.clone(),
        };
        drop(state);

        let outcome = self.write_group(&group);

        let mut state = self.lock();
        state.leader_active = false;
        match outcome {
            Ok(written) => {
                if written.active.first_lsn != state.active.first_lsn {
                    if let Some(sealed) = state.segments.last_mut() {
                        sealed.sealed = true;
                        sealed.valid_bytes = written.sealed_len;
                    }
                    state.segments.push(SegmentInfo {
                        first_lsn: written.active.first_lsn,
                        path: self.dir.join(segment_file_name(written.active.first_lsn)),
                        valid_bytes: written.active.len,
                        sealed: false,
                    });
                }
                state.active = written.active;
                for batch in &group.batches {
                    batch
                        .timestamp_us
                        .store(group.timestamp_us, Ordering::Release);
                }
                state.acked_lsn = group.last_lsn;
                if !matches!(self.options.durability, Durability::Interval(_)) {
                    state.synced_lsn = group.last_lsn;
                }
            }
            Err(e) => state.poisoned = Some(e.to_string()),
        }
        self.wake.notify_all();
        state
    }

    fn write_group(&self, group: &Group) -> Result<Written> {
        let mut active = group.active.clone();
        let mut sealed_len = 0;
        // A leader always holds its own batch; an empty group would encode an invalid frame.
        if group.batches.is_empty() {
            return Ok(Written { active, sealed_len });
        }
        if active.len >= self.options.segment_bytes_target && active.frames > 0 {
            let mut seal = Vec::with_capacity(FRAME_HEADER_BYTES);
            encode_seal(&mut seal, group.first_lsn);
            active.file.write_all_at_durable(&seal, active.len)?;
            sealed_len = active.len + seal.len() as u64;
            active = create_segment(
                self.io.as_ref(),
                &self.dir,
                &self.options,
                group.first_lsn,
                group.timestamp_us,
            )?;
        }
        let slices: Vec<&[Mutation]> = group
            .batches
            .iter()
            .map(|b| b.mutations.as_slice())
            .collect();
        let mut frame = Vec::new();
        let frame_bytes = encode_frame(&mut frame, group.first_lsn, group.timestamp_us, &slices);
        debug_assert_eq!(frame_bytes, frame.len());
        match self.options.durability {
            Durability::Interval(_) => active.file.write_all_at(&frame, active.len)?,
            _ => active.file.write_all_at_durable(&frame, active.len)?,
        }
        active.len += frame.len() as u64;
        active.frames += 1;
        debug_assert!(group.last_lsn >= group.first_lsn);
        Ok(Written { active, sealed_len })
    }

    fn sync_now(&self) -> Result<()> {
        let (file, target) = {
            let state = self.lock();
            if let Some(why) = &state.poisoned {
                return Err(LogError::Poisoned(why.clone()));
            }
            (Arc::clone(&state.active.file), state.acked_lsn)
        };
        // Segments before the active one were sealed with a durable write.
        let result = file.sync_data();
        let mut state = self.lock();
        match result {
            Ok(()) => {
                state.synced_lsn = state.synced_lsn.max(target);
                Ok(())
            }
            Err(e) => {
                state.poisoned = Some(e.to_string());
                Err(e.into())
            }
        }
    }
}

struct Written {
    active: Active,
    /// Length of the segment sealed by this write (0 if none was).
    sealed_len: u64,
}

/// Creates the segment starting at `first_lsn`: header written and synced, directory synced.
fn create_segment(
    io: &dyn Io,
    dir: &Path,
    options: &LogOptions,
    first_lsn: u64,
    created_at_us: u64,
) -> Result<Active> {
    let path = dir.join(segment_file_name(first_lsn));
    let header = SegmentHeader {
        table_id: options.table_id,
        first_lsn,
        created_at_us,
    }
    .encode();
    let file = io.open(&path, OpenOptions::create_new())?;
    file.write_all_at_durable(&header, 0)?;
    io.sync_dir(dir)?;
    Ok(Active {
        file,
        first_lsn,
        len: HEADER_BYTES as u64,
        frames: 0,
    })
}

fn flush_loop(shared: &Shared, every: Duration) {
    loop {
        {
            let state = shared.lock();
            if state.closed {
                return;
            }
            let (state, _) = shared
                .wake
                .wait_timeout(state, every)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if state.closed {
                return;
            }
            if state.synced_lsn >= state.acked_lsn || state.poisoned.is_some() {
                continue;
            }
        }
        let _ = shared.sync_now();
    }
}
