//! A simulated disk for crash tests: the whole file system lives in memory and models exactly
//! what POSIX on a real disk promises, and no more.
//!
//! - A file (inode) has *written* bytes, which reads see, and *durable* bytes, which survive a
//!   crash. `sync_data`/`sync_all` make the current content and length durable.
//! - A directory has current entries and durable entries. Creating, renaming and removing
//!   files change the current entries; only [`Io::sync_dir`] of that directory makes them
//!   durable. So a file created and fsynced in a directory never synced is lost at a crash,
//!   and a rename not followed by `sync_dir` reverts.
//! - Directories themselves are durable as soon as [`Io::create_dir_all`] returns (a
//!   simplification: storage code creates its directories once, at setup). Renaming or
//!   removing directories is not modelled because [`Io`] has no such operation.
//! - [`SimIo::crash`] reverts every file and directory to its durable state, optionally
//!   tearing unsynced writes (see [`CrashOptions`]), and makes every handle opened before it
//!   fail.
//! - Faults are injected on demand ([`SimIo::fail_after_ops`], [`SimIo::fail_next_sync`],
//!   [`SimIo::flip_bit`]); all randomness comes from the seed, so a single-threaded test
//!   replays exactly from [`SimIo::seed`]. (With many threads the interleaving, and so the
//!   outcome, also depends on the scheduler.)
//! - `O_DIRECT` handles enforce the kernel's alignment rule (address, offset and length
//!   multiples of [`ALIGNMENT`](crate::ALIGNMENT), else `EINVAL`); they are otherwise
//!   buffered like any other write, since `O_DIRECT` alone does not make data durable.
//!
//! Any path works, absolute or relative; paths are keys, normalised lexically (`.` dropped,
//! `..` resolved). The parent directory must exist, as in POSIX: call `create_dir_all` first.

mod file;
mod image;
mod rng;
mod state;

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

pub use file::SimFile;
pub use image::SECTOR_BYTES;
pub use state::MAX_FILE_BYTES;

use state::{Mutation, State, error, normalize, split};

use crate::{Io, IoFile, OpenOptions};

/// What a crash does to data that was not yet durable.
///
/// The default, [`CrashOptions::clean`], drops all of it: the strictest test of what code
/// synced. [`CrashOptions::torn`] persists random parts of it, as real disks do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CrashOptions {
    /// Persist a random part of each file's unsynced writes: a prefix of them in order, the
    /// last one cut at a random byte.
    pub tear_unsynced_writes: bool,
    /// When tearing, the chance in percent (0–100) that a file instead persists a random
    /// subset of the 512-byte sectors its unsynced writes touched (out-of-order writeback).
    pub reorder_sectors_percent: u8,
    /// Persist a random prefix of the directory changes (creations, renames, removals) made
    /// since their directories were last synced, as a journaling file system that commits
    /// metadata in order may. Off, they all revert.
    pub persist_unsynced_dir_ops: bool,
}

impl CrashOptions {
    /// Everything not synced is lost.
    pub fn clean() -> Self {
        Self::default()
    }

    /// Unsynced writes are torn: a random prefix survives, or a random subset of sectors.
    pub fn torn() -> Self {
        Self {
            tear_unsynced_writes: true,
            reorder_sectors_percent: 25,
            persist_unsynced_dir_ops: false,
        }
    }

    /// [`CrashOptions::torn`], and unsynced directory changes may survive too.
    pub fn torn_with_dir_ops() -> Self {
        Self {
            persist_unsynced_dir_ops: true,
            ..Self::torn()
        }
    }
}

/// The seed in `DDB_SIM_SEED` (decimal, or hex with `0x`), else `default`: how a failing
/// crash test is replayed.
pub fn seed_from_env(default: u64) -> io::Result<u64> {
    let Ok(text) = std::env::var("DDB_SIM_SEED") else {
        return Ok(default);
    };
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("DDB_SIM_SEED={text}: {e}"),
        )
    })
}

pub(crate) struct Shared {
    seed: u64,
    state: Mutex<State>,
}

impl Shared {
    /// The state. A panic while it was held (only possible in a test) leaves it consistent,
    /// because no operation panics half-way, so a poisoned lock is taken over.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The simulated disk. Clones share one disk: give a clone to the code under test and keep
/// one to crash it.
#[derive(Clone)]
pub struct SimIo {
    shared: Arc<Shared>,
}

impl fmt::Debug for SimIo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("SimIo")
            .field("seed", &self.shared.seed)
            .field("crashes", &state.epoch)
            .field("inodes", &state.inodes.len())
            .finish_non_exhaustive()
    }
}

impl SimIo {
    /// An empty disk whose crashes and random faults are drawn from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            shared: Arc::new(Shared {
                seed,
                state: Mutex::new(State::new(seed)),
            }),
        }
    }

    /// The seed: print it when a test fails, so the run can be replayed.
    pub fn seed(&self) -> u64 {
        self.shared.seed
    }

    /// Crashes the machine, in place: every file reverts to its durable bytes (torn per
    /// `options`), every directory to its durable entries, armed faults are cleared, and every
    /// handle opened before now fails with "file handle from before the simulated crash".
    /// The same `SimIo` (and its clones) then is the disk after reboot.
    pub fn crash(&self, options: CrashOptions) {
        self.shared.lock().crash(options);
    }

    /// How many crashes this disk has had.
    pub fn crashes(&self) -> u64 {
        self.shared.lock().epoch
    }

    /// Flips bit `bit` (0–7) of durable byte `offset` of the file at `path`: media
    /// corruption. Reads see it at once only if the file has no unsynced changes (a clean
    /// page may be evicted and re-read); otherwise after the next crash.
    pub fn flip_bit(&self, path: &Path, offset: u64, bit: u8) -> io::Result<()> {
        self.shared.lock().flip_bit(path, offset, bit)
    }

    /// Flips a random bit of a random durable byte of the file at `path`, drawn from the
    /// seed; returns the byte offset and bit so a test can report them.
    pub fn flip_random_bit(&self, path: &Path) -> io::Result<(u64, u8)> {
        let mut state = self.shared.lock();
        let id = state.file("flip_bit", path)?;
        let len = state.inode_mut("flip_bit", path, id)?.durable.len();
        if len == 0 {
            return Err(error(
                "flip_bit",
                path,
                io::ErrorKind::InvalidInput,
                "the file has no durable bytes",
            ));
        }
        let offset = state.rng.below(u64::try_from(len).unwrap_or(u64::MAX));
        let bit = u8::try_from(state.rng.below(8)).unwrap_or(0);
        state.flip_bit(path, offset, bit)?;
        Ok((offset, bit))
    }

    /// After `n` more successful disk-changing operations (open with create or truncate,
    /// write, truncate, sync, rename, remove, `sync_dir`, a `create_dir_all` that creates), the next one
    /// fails with EIO and changes nothing, once. A failed sync loses the unsynced writes (see
    /// [`SimIo::fail_next_sync`]). Crash tests use it to stop a procedure at every step.
    pub fn fail_after_ops(&self, n: u64) {
        self.shared.lock().faults.ops_until_failure = Some(n);
    }

    /// After `n` more successful disk-changing operations, the power fails instead of the next
    /// one: the disk crashes with `options` at that instant (unsynced writes torn or lost) and
    /// the operation returns an error, as do all later ones on handles from before. Unlike
    /// [`SimIo::fail_after_ops`], writes that were not yet synced are still pending when the
    /// crash comes, so this is how tests crash a procedure between its write and its fsync.
    pub fn cut_power_after_ops(&self, n: u64, options: CrashOptions) {
        self.shared.lock().faults.ops_until_power_cut = Some((n, options));
    }

    /// After `n` more successful `write_at` calls, the next one fails with EIO and writes
    /// nothing, once.
    pub fn fail_after_writes(&self, n: u64) {
        self.shared.lock().faults.writes_until_failure = Some(n);
    }

    /// The next `sync_data`/`sync_all` fails with EIO, as Linux does after a failed
    /// writeback: the file's unsynced writes stay visible to reads but are dropped from the
    /// disk, and a later sync succeeds without them. Code must treat a failed fsync as fatal.
    pub fn fail_next_sync(&self) {
        self.shared.lock().faults.fail_next_sync = true;
    }

    /// Disarms every injected fault.
    pub fn clear_faults(&self) {
        self.shared.lock().faults = state::Faults::default();
    }

    /// How many disk-changing operations have been attempted (the count
    /// [`SimIo::fail_after_ops`] refers to).
    pub fn mutations(&self) -> u64 {
        self.shared.lock().mutations
    }

    /// The durable length of the file at `path` (what a crash without tearing leaves).
    pub fn durable_len(&self, path: &Path) -> io::Result<u64> {
        let mut state = self.shared.lock();
        let id = state.file("durable_len", path)?;
        let len = state.inode_mut("durable_len", path, id)?.durable.len();
        Ok(u64::try_from(len).unwrap_or(u64::MAX))
    }

    /// The durable bytes of the file at `path`.
    pub fn durable_bytes(&self, path: &Path) -> io::Result<Vec<u8>> {
        let mut state = self.shared.lock();
        let id = state.file("durable_bytes", path)?;
        Ok(state.inode_mut("durable_bytes", path, id)?.durable.clone())
    }

    /// Bytes written to the file at `path` since its last sync (counting overwrites again).
    pub fn unsynced_bytes(&self, path: &Path) -> io::Result<u64> {
        let mut state = self.shared.lock();
        let id = state.file("unsynced_bytes", path)?;
        let inode = state.inode_mut("unsynced_bytes", path, id)?;
        let total: usize = inode
            .pending
            .iter()
            .map(|change| match change {
                image::Pending::Write { data, .. } => data.len(),
                image::Pending::SetLen(_) => 0,
            })
            .sum();
        Ok(u64::try_from(total).unwrap_or(u64::MAX))
    }

    /// The normalised paths of all files as reads see them now, sorted.
    pub fn files(&self) -> Vec<PathBuf> {
        self.shared.lock().file_paths(false)
    }

    /// The normalised paths of the files a crash without directory tearing would leave.
    pub fn durable_files(&self) -> Vec<PathBuf> {
        self.shared.lock().file_paths(true)
    }
}

impl Io for SimIo {
    fn name(&self) -> &'static str {
        "sim"
    }

    fn open(&self, path: &Path, options: OpenOptions) -> io::Result<Arc<dyn IoFile>> {
        let creates = options.create || options.create_new;
        if !options.read && !options.write {
            return Err(error(
                "open",
                path,
                io::ErrorKind::InvalidInput,
                "neither read nor write access requested",
            ));
        }
        if (creates || options.truncate) && !options.write {
            return Err(error(
                "open",
                path,
                io::ErrorKind::InvalidInput,
                "creating or truncating a file requires write access",
            ));
        }
        let (dir, name) = split("open", path)?;
        let mut state = self.shared.lock();
        if !state.is_dir(&dir) {
            return Err(error(
                "open",
                path,
                io::ErrorKind::NotFound,
                "no such file or directory (the parent directory does not exist)",
            ));
        }
        if state.is_dir(&normalize(path)) {
            return Err(if options.create_new {
                error(
                    "open",
                    path,
                    io::ErrorKind::AlreadyExists,
                    "a directory of that name exists",
                )
            } else {
                error("open", path, io::ErrorKind::IsADirectory, "is a directory")
            });
        }
        let inode = match state.lookup(&dir, &name) {
            Some(_) if options.create_new => {
                return Err(error(
                    "open",
                    path,
                    io::ErrorKind::AlreadyExists,
                    "file exists",
                ));
            }
            Some(id) => {
                if options.truncate {
                    state.mutate(Mutation::Other, "open", path)?;
                    let inode = state.inode_mut("open", path, id)?;
                    inode.written.clear();
                    inode.pending.push(image::Pending::SetLen(0));
                }
                id
            }
            None if !creates => {
                return Err(error(
                    "open",
                    path,
                    io::ErrorKind::NotFound,
                    "no such file or directory",
                ));
            }
            None => {
                state.mutate(Mutation::Other, "open", path)?;
                let id = state.new_inode();
                state.change_entries(vec![State::entry_op(&dir, &name, Some(id))]);
                id
            }
        };
        state.inode_mut("open", path, inode)?.handles += 1;
        Ok(Arc::new(SimFile {
            shared: Arc::clone(&self.shared),
            path: path.to_owned(),
            inode,
            epoch: state.epoch,
            read: options.read,
            write: options.write,
            direct: options.direct,
        }))
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.shared.lock().create_dir_all(path)
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<OsString>> {
        self.shared.lock().read_dir(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let (from_dir, from_name) = split("rename", from)?;
        let (to_dir, to_name) = split("rename", to)?;
        let mut state = self.shared.lock();
        if state.is_dir(&normalize(from)) {
            return Err(error(
                "rename",
                from,
                io::ErrorKind::IsADirectory,
                "renaming directories is not simulated",
            ));
        }
        let Some(id) = state.lookup(&from_dir, &from_name) else {
            return Err(error(
                "rename",
                from,
                io::ErrorKind::NotFound,
                "no such file or directory",
            ));
        };
        if !state.is_dir(&to_dir) {
            return Err(error(
                "rename",
                to,
                io::ErrorKind::NotFound,
                "the target directory does not exist",
            ));
        }
        if state.is_dir(&normalize(to)) {
            return Err(error(
                "rename",
                to,
                io::ErrorKind::IsADirectory,
                "the target is a directory",
            ));
        }
        state.mutate(Mutation::Other, "rename", from)?;
        // Renaming a name onto itself is a no-op in POSIX.
        if (&from_dir, &from_name) != (&to_dir, &to_name) {
            state.change_entries(vec![
                State::entry_op(&from_dir, &from_name, None),
                State::entry_op(&to_dir, &to_name, Some(id)),
            ]);
            state.collect_garbage();
        }
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let (dir, name) = split("remove", path)?;
        let mut state = self.shared.lock();
        if state.is_dir(&normalize(path)) {
            return Err(error(
                "remove",
                path,
                io::ErrorKind::IsADirectory,
                "is a directory",
            ));
        }
        if state.lookup(&dir, &name).is_none() {
            return Err(error(
                "remove",
                path,
                io::ErrorKind::NotFound,
                "no such file or directory",
            ));
        }
        state.mutate(Mutation::Other, "remove", path)?;
        state.change_entries(vec![State::entry_op(&dir, &name, None)]);
        state.collect_garbage();
        Ok(())
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        let normal = normalize(path);
        let mut state = self.shared.lock();
        if !state.is_dir(&normal) {
            return Err(error(
                "fsync directory",
                path,
                io::ErrorKind::NotFound,
                "no such directory",
            ));
        }
        state.mutate(Mutation::Other, "fsync directory", path)?;
        state.sync_dir(&normal);
        Ok(())
    }

    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        self.shared.lock().remove_dir(path)
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        let normal = normalize(path);
        let state = self.shared.lock();
        if state.is_dir(&normal) {
            return Ok(true);
        }
        Ok(match (normal.parent(), normal.file_name()) {
            (Some(dir), Some(name)) => state.lookup(dir, name).is_some(),
            _ => false,
        })
    }
}
