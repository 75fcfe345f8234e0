//! The state of the simulated disk: inodes with current and durable bytes, directories with
//! current and durable entries, the directory operations not yet synced, and armed faults.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Component, Path, PathBuf};

use super::CrashOptions;
use super::image::{self, Pending};
use super::rng::SplitMix64;
use crate::error_at;

pub(crate) type InodeId = u64;

/// The largest file the simulation holds in memory. A stray huge offset should fail like a
/// full disk rather than exhaust the test machine.
pub const MAX_FILE_BYTES: usize = 1 << 30;

/// A file's contents, independent of its names.
#[derive(Debug, Default)]
pub(crate) struct Inode {
    /// What reads see now (the page cache).
    pub(crate) written: Vec<u8>,
    /// What survives a crash.
    pub(crate) durable: Vec<u8>,
    /// The changes since the last sync, in order; a crash may persist part of them.
    pub(crate) pending: Vec<Pending>,
    /// Open handles of the current epoch: an unlinked file lives while one is open.
    pub(crate) handles: u64,
    /// A sync failed and dropped writes that reads still see (Linux marks the pages clean
    /// after reporting the error once), so `written` and the disk may now differ forever.
    pub(crate) lost_writes: bool,
}

/// A directory's entries now and as of its last sync.
#[derive(Debug, Default)]
pub(crate) struct Dir {
    pub(crate) current: BTreeMap<OsString, InodeId>,
    pub(crate) durable: BTreeMap<OsString, InodeId>,
}

/// One change to one directory entry; `None` removes it.
#[derive(Debug, Clone)]
pub(crate) struct EntryOp {
    dir: PathBuf,
    name: OsString,
    inode: Option<InodeId>,
}

/// Which fault counter an operation consumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mutation {
    Write,
    Sync,
    Other,
}

#[derive(Debug, Default)]
pub(crate) struct Faults {
    pub(crate) ops_until_failure: Option<u64>,
    /// Operations until the power fails (the operation does not happen; the disk crashes).
    pub(crate) ops_until_power_cut: Option<(u64, super::CrashOptions)>,
    pub(crate) writes_until_failure: Option<u64>,
    pub(crate) fail_next_sync: bool,
}

#[derive(Debug)]
pub(crate) struct State {
    /// Incremented by every crash; handles remember the epoch they were opened in.
    pub(crate) epoch: u64,
    pub(crate) rng: SplitMix64,
    next_inode: InodeId,
    pub(crate) inodes: BTreeMap<InodeId, Inode>,
    /// Every directory by normalised path. Directories are durable once created, so only
    /// their entries have a current and a durable state.
    pub(crate) dirs: BTreeMap<PathBuf, Dir>,
    /// Entry changes not yet made durable by a `sync_dir`, in order, one transaction per
    /// operation (a rename changes two entries at once).
    dir_log: Vec<Vec<EntryOp>>,
    pub(crate) faults: Faults,
    pub(crate) mutations: u64,
}

/// `path` with `.` dropped and `..` resolved lexically (the simulation has no symbolic
/// links, so lexical resolution is exact; `..` at the root stays at the root).
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The normalised parent directory and file name of `path`.
pub(crate) fn split(op: &str, path: &Path) -> io::Result<(PathBuf, OsString)> {
    let normal = normalize(path);
    match (normal.parent(), normal.file_name()) {
        (Some(parent), Some(name)) => Ok((parent.to_owned(), name.to_owned())),
        _ => Err(error(
            op,
            path,
            io::ErrorKind::InvalidInput,
            "not a file name",
        )),
    }
}

pub(crate) fn error(op: &str, path: &Path, kind: io::ErrorKind, message: &str) -> io::Error {
    error_at(op, path, io::Error::new(kind, message.to_owned()))
}

fn not_found(op: &str, path: &Path) -> io::Error {
    error(
        op,
        path,
        io::ErrorKind::NotFound,
        "no such file or directory",
    )
}

impl State {
    pub(crate) fn new(seed: u64) -> Self {
        let mut dirs = BTreeMap::new();
        // The roots of relative and of absolute paths always exist.
        dirs.insert(PathBuf::new(), Dir::default());
        dirs.insert(PathBuf::from("/"), Dir::default());
        Self {
            epoch: 0,
            rng: SplitMix64::new(seed),
            next_inode: 0,
            inodes: BTreeMap::new(),
            dirs,
            dir_log: Vec::new(),
            faults: Faults::default(),
            mutations: 0,
        }
    }

    /// Counts an operation that changes the disk and fails it if a fault is armed for it.
    pub(crate) fn mutate(&mut self, kind: Mutation, op: &str, path: &Path) -> io::Result<()> {
        self.mutations = self.mutations.saturating_add(1);
        if let Some((remaining, options)) = self.faults.ops_until_power_cut.as_mut() {
            if *remaining == 0 {
                let options = *options;
                // The operation never reaches the disk; whatever was unsynced is torn or lost.
                self.crash(options);
                return Err(error(op, path, io::ErrorKind::Other, "simulated power cut"));
            }
            *remaining -= 1;
        }
        let mut fail = countdown(&mut self.faults.ops_until_failure);
        match kind {
            Mutation::Write => fail |= countdown(&mut self.faults.writes_until_failure),
            Mutation::Sync => fail |= std::mem::take(&mut self.faults.fail_next_sync),
            Mutation::Other => {}
        }
        if fail {
            Err(error(
                op,
                path,
                io::ErrorKind::Other,
                "injected I/O error (EIO)",
            ))
        } else {
            Ok(())
        }
    }

    pub(crate) fn is_dir(&self, normal: &Path) -> bool {
        self.dirs.contains_key(normal)
    }

    /// The inode the current entry `dir/name` names.
    pub(crate) fn lookup(&self, dir: &Path, name: &OsStr) -> Option<InodeId> {
        self.dirs.get(dir)?.current.get(name).copied()
    }

    /// Looks up an existing file for an introspection or fault call.
    pub(crate) fn file(&self, op: &str, path: &Path) -> io::Result<InodeId> {
        let (dir, name) = split(op, path)?;
        self.lookup(&dir, &name).ok_or_else(|| not_found(op, path))
    }

    pub(crate) fn inode_mut(
        &mut self,
        op: &str,
        path: &Path,
        id: InodeId,
    ) -> io::Result<&mut Inode> {
        // Inodes are only collected when nothing names them and no handle is open, so a
        // missing one is a bug of the simulation, reported rather than panicked on.
        self.inodes.get_mut(&id).ok_or_else(|| {
            error(
                op,
                path,
                io::ErrorKind::Other,
                "simulated inode vanished (bug in SimIo)",
            )
        })
    }

    pub(crate) fn new_inode(&mut self) -> InodeId {
        let id = self.next_inode;
        self.next_inode = self.next_inode.saturating_add(1);
        self.inodes.insert(id, Inode::default());
        id
    }

    /// Applies one operation's entry changes to the current directories and logs them.
    pub(crate) fn change_entries(&mut self, ops: Vec<EntryOp>) {
        for op in &ops {
            if let Some(dir) = self.dirs.get_mut(&op.dir) {
                set_entry(&mut dir.current, &op.name, op.inode);
            }
        }
        self.dir_log.push(ops);
    }

    pub(crate) fn entry_op(dir: &Path, name: &OsStr, inode: Option<InodeId>) -> EntryOp {
        EntryOp {
            dir: dir.to_owned(),
            name: name.to_owned(),
            inode,
        }
    }

    pub(crate) fn sync_dir(&mut self, normal: &Path) {
        if let Some(dir) = self.dirs.get_mut(normal) {
            dir.durable = dir.current.clone();
        }
        // The directory's logged changes are all in its durable state now; replaying them
        // at a crash would roll it back.
        for txn in &mut self.dir_log {
            txn.retain(|op| op.dir != normal);
        }
        self.dir_log.retain(|txn| !txn.is_empty());
        self.collect_garbage();
    }

    /// Makes the inode's pending changes durable.
    pub(crate) fn sync_inode(inode: &mut Inode) {
        inode.durable = image::replay(&inode.durable, &inode.pending);
        inode.pending.clear();
        debug_assert!(inode.lost_writes || inode.durable == inode.written);
    }

    /// Forgets inodes nothing can reach: no current, durable or logged entry, no open handle.
    pub(crate) fn collect_garbage(&mut self) {
        let mut live = BTreeSet::new();
        for dir in self.dirs.values() {
            live.extend(dir.current.values().copied());
            live.extend(dir.durable.values().copied());
        }
        for txn in &self.dir_log {
            live.extend(txn.iter().filter_map(|op| op.inode));
        }
        self.inodes
            .retain(|id, inode| inode.handles > 0 || live.contains(id));
    }

    pub(crate) fn create_dir_all(&mut self, path: &Path) -> io::Result<()> {
        let normal = normalize(path);
        let mut missing: Vec<&Path> = normal
            .ancestors()
            .take_while(|dir| !self.dirs.contains_key(*dir))
            .collect();
        missing.reverse();
        if missing.is_empty() {
            return Ok(());
        }
        for dir in &missing {
            if let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) {
                let parent = self.dirs.get(parent);
                if parent
                    .is_some_and(|p| p.current.contains_key(name) || p.durable.contains_key(name))
                {
                    return Err(error(
                        "mkdir",
                        path,
                        io::ErrorKind::AlreadyExists,
                        "a file of that name exists (or is still durable until its directory is synced)",
                    ));
                }
            }
        }
        self.mutate(Mutation::Other, "mkdir", path)?;
        for dir in missing {
            self.dirs.insert(dir.to_owned(), Dir::default());
        }
        Ok(())
    }

    /// Removes an empty directory (no current or durable entries, no subdirectories). The
    /// simulated disk treats the removal as durable at once: a directory that is gone holds
    /// nothing a crash could bring back.
    pub(crate) fn remove_dir(&mut self, path: &Path) -> io::Result<()> {
        let normal = normalize(path);
        let Some(dir) = self.dirs.get(&normal) else {
            return Err(not_found("remove directory", path));
        };
        let has_subdirs = self
            .dirs
            .keys()
            .any(|sub| sub.parent() == Some(normal.as_path()));
        if !dir.current.is_empty() || !dir.durable.is_empty() || has_subdirs {
            return Err(error(
                "remove directory",
                path,
                io::ErrorKind::DirectoryNotEmpty,
                "directory not empty (or its removed entries are not yet durable)",
            ));
        }
        self.mutate(Mutation::Other, "remove directory", path)?;
        self.dirs.remove(&normal);
        Ok(())
    }

    /// File names and subdirectory names of a directory, sorted.
    pub(crate) fn read_dir(&self, path: &Path) -> io::Result<Vec<OsString>> {
        let normal = normalize(path);
        let Some(dir) = self.dirs.get(&normal) else {
            return Err(if self.file("read_dir", path).is_ok() {
                error(
                    "read_dir",
                    path,
                    io::ErrorKind::NotADirectory,
                    "not a directory",
                )
            } else {
                not_found("read_dir", path)
            });
        };
        let mut names: BTreeSet<OsString> = dir.current.keys().cloned().collect();
        for sub in self.dirs.keys() {
            if sub.parent() == Some(normal.as_path())
                && let Some(name) = sub.file_name()
            {
                names.insert(name.to_owned());
            }
        }
        Ok(names.into_iter().collect())
    }

    /// Paths of all files, from the current or the durable entries, sorted.
    pub(crate) fn file_paths(&self, durable: bool) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for (dir_path, dir) in &self.dirs {
            let entries = if durable { &dir.durable } else { &dir.current };
            out.extend(entries.keys().map(|name| dir_path.join(name)));
        }
        out.sort();
        out
    }

    /// See [`super::SimIo::flip_bit`].
    pub(crate) fn flip_bit(&mut self, path: &Path, offset: u64, bit: u8) -> io::Result<()> {
        let id = self.file("flip_bit", path)?;
        let inode = self.inode_mut("flip_bit", path, id)?;
        let index = usize::try_from(offset)
            .ok()
            .filter(|&i| i < inode.durable.len() && bit < 8);
        let Some(index) = index else {
            return Err(error(
                "flip_bit",
                path,
                io::ErrorKind::InvalidInput,
                &format!(
                    "bit {bit} of byte {offset} is outside the {} durable bytes",
                    inode.durable.len()
                ),
            ));
        };
        let mask = 1u8 << bit;
        if let Some(byte) = inode.durable.get_mut(index) {
            *byte ^= mask;
        }
        // Only a clean page can be evicted and re-read; a dirty one keeps the written bytes.
        if inode.pending.is_empty()
            && !inode.lost_writes
            && let Some(byte) = inode.written.get_mut(index)
        {
            *byte ^= mask;
        }
        Ok(())
    }

    /// The crash itself; see [`super::SimIo::crash`].
    pub(crate) fn crash(&mut self, options: CrashOptions) {
        self.epoch = self.epoch.saturating_add(1);
        for inode in self.inodes.values_mut() {
            if options.tear_unsynced_writes && !inode.pending.is_empty() {
                inode.durable = image::torn_image(
                    &inode.durable,
                    &inode.pending,
                    options.reorder_sectors_percent,
                    &mut self.rng,
                );
            }
            inode.written = inode.durable.clone();
            inode.pending.clear();
            inode.handles = 0;
            inode.lost_writes = false;
        }
        let keep = if options.persist_unsynced_dir_ops {
            self.rng.below_usize(self.dir_log.len().saturating_add(1))
        } else {
            0
        };
        for op in self.dir_log.drain(..).take(keep).flatten() {
            if let Some(dir) = self.dirs.get_mut(&op.dir) {
                set_entry(&mut dir.durable, &op.name, op.inode);
            }
        }
        for dir in self.dirs.values_mut() {
            dir.current = dir.durable.clone();
        }
        self.faults = Faults::default();
        self.collect_garbage();
    }
}

fn set_entry(entries: &mut BTreeMap<OsString, InodeId>, name: &OsStr, inode: Option<InodeId>) {
    match inode {
        Some(id) => {
            entries.insert(name.to_owned(), id);
        }
        None => {
            entries.remove(name);
        }
    }
}

/// Decrements an armed counter; true when it fires (it then disarms).
fn countdown(counter: &mut Option<u64>) -> bool {
    match counter {
        Some(0) => {
            *counter = None;
            true
        }
        Some(n) => {
            *n -= 1;
            false
        }
        None => false,
    }
}
