//! The layered state of one key space (a table, or one secondary index): an immutable base
//! snapshot at the last checkpoint and in-memory deltas since, newest last. Reads merge them;
//! the newest layer that knows a key decides it (a tombstone hides older layers).
//!
//! The last delta takes writes. A checkpoint freezes it (pushes a new empty delta), merges the
//! base with the frozen deltas into a new base, and then swaps: new base, frozen deltas gone.
//! Readers clone the layers' `Arc`s when they start, so a read that began before a swap goes on
//! with the layers it started with (the old base's files are removed only when its last reader
//! drops it, see [`Base`]).

use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use ddb_io::Io;
use ddb_snapshot::{Columns, SnapshotReader};

use crate::error::Result;

/// A stored value: the canonical item JSON, or `None` for a tombstone.
pub type Value = Option<Arc<[u8]>>;

/// Bytes a delta entry is charged: key, value, and the map's own overhead per entry.
pub fn entry_cost(key: &[u8], value: &Value) -> usize {
    key.len() + value.as_ref().map_or(0, |v| v.len()) + 64
}

/// Mutations since the base, keyed by encoded key.
#[derive(Debug, Default)]
pub struct Delta {
    map: BTreeMap<Vec<u8>, Value>,
    bytes: usize,
}

impl Delta {
    pub fn insert(&mut self, key: Vec<u8>, value: Value) {
        let added = entry_cost(&key, &value);
        if let Some(old) = self.map.get(&key) {
            self.bytes = self.bytes.saturating_sub(entry_cost(&key, old));
        }
        self.bytes += added;
        self.map.insert(key, value);
    }

    pub fn get(&self, key: &[u8]) -> Option<&Value> {
        self.map.get(key)
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Vec<u8>, &Value)> {
        self.map.iter()
    }

    /// Up to `limit` entries strictly past `from` (in the direction of travel) within `bound`.
    fn chunk(
        &self,
        from: &Bound<Vec<u8>>,
        bound: &Bound<Vec<u8>>,
        forward: bool,
        limit: usize,
    ) -> Vec<(Vec<u8>, Value)> {
        let (lower, upper) = if forward {
            (from, bound)
        } else {
            (bound, from)
        };
        let range = (as_ref(lower), as_ref(upper));
        if bound_is_empty(range) {
            return Vec::new();
        }
        let entries = self.map.range::<[u8], _>(range);
        if forward {
            entries
                .take(limit)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        } else {
            entries
                .rev()
                .take(limit)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        }
    }
}

fn as_ref(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// Whether `BTreeMap::range` would panic on these bounds (start above end, or equal and
/// excluded), or they select nothing anyway.
pub fn bound_is_empty(range: (Bound<&[u8]>, Bound<&[u8]>)) -> bool {
    match range {
        (Bound::Included(a), Bound::Included(b)) => a > b,
        (Bound::Included(a), Bound::Excluded(b))
        | (Bound::Excluded(a), Bound::Included(b))
        | (Bound::Excluded(a), Bound::Excluded(b)) => a >= b,
        _ => false,
    }
}

pub type SharedDelta = Arc<RwLock<Delta>>;

pub fn read(delta: &SharedDelta) -> std::sync::RwLockReadGuard<'_, Delta> {
    delta.read().unwrap_or_else(PoisonError::into_inner)
}

pub fn write(delta: &SharedDelta) -> std::sync::RwLockWriteGuard<'_, Delta> {
    delta.write().unwrap_or_else(PoisonError::into_inner)
}

/// A published snapshot used as a base. When a checkpoint replaces it, it is marked obsolete
/// and its directory is removed once the last reader lets go of it.
#[derive(Debug)]
pub struct Base {
    pub reader: SnapshotReader,
    pub lsn: u64,
    io: Arc<dyn Io>,
    dir: PathBuf,
    obsolete: AtomicBool,
}

impl Base {
    pub fn open(io: Arc<dyn Io>, dir: PathBuf) -> Result<Base> {
        let reader = SnapshotReader::open(Arc::clone(&io), &dir)?;
        Ok(Base {
            lsn: reader.manifest().lsn,
            reader,
            io,
            dir,
            obsolete: AtomicBool::new(false),
        })
    }

    /// The snapshot directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn mark_obsolete(&self) {
        self.obsolete.store(true, Ordering::Release);
    }

    /// Undoes [`Base::mark_obsolete`]: the directory stays when the last reference goes.
    pub fn keep_files(&self) {
        self.obsolete.store(false, Ordering::Release);
    }

    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.reader.get(key)?.map(|row| row.item))
    }

    pub fn rows(&self) -> u64 {
        self.reader.manifest().totals.rows
    }
}

impl Drop for Base {
    fn drop(&mut self) {
        if self.obsolete.load(Ordering::Acquire) {
            // Best effort: whatever is left is removed by the next open's cleanup.
            let _ = crate::files::remove_dir_all(&*self.io, &self.dir);
            // The last snapshot of a `ckpt-<lsn>/` directory takes the directory with it.
            if let Some(parent) = self.dir.parent()
                && parent
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| crate::files::parse_checkpoint_name(n).is_some())
                && self
                    .io
                    .read_dir(parent)
                    .is_ok_and(|entries| entries.is_empty())
            {
                let _ = crate::files::remove_dir_all(&*self.io, parent);
            }
        }
    }
}

/// One key space's layers.
#[derive(Debug, Clone)]
pub struct Tree {
    pub base: Option<Arc<Base>>,
    /// Deltas frozen by a checkpoint in progress, oldest first.
    pub frozen: Vec<SharedDelta>,
    /// The delta that takes writes.
    pub active: SharedDelta,
}

impl Tree {
    pub fn new(base: Option<Arc<Base>>) -> Tree {
        Tree {
            base,
            frozen: Vec::new(),
            active: SharedDelta::default(),
        }
    }

    /// Every delta, oldest first.
    pub fn deltas(&self) -> impl DoubleEndedIterator<Item = &SharedDelta> {
        self.frozen.iter().chain(std::iter::once(&self.active))
    }

    /// Starts a new active delta; returns how many deltas are now frozen.
    pub fn freeze(&mut self) -> usize {
        let old = std::mem::take(&mut self.active);
        self.frozen.push(old);
        self.frozen.len()
    }

    /// Replaces the base with `base` and drops the `frozen` oldest frozen deltas it now
    /// contains.
    pub fn swap_base(&mut self, base: Option<Arc<Base>>, frozen: usize) {
        if let Some(old) = self.swap_base_keeping_old(base, frozen) {
            old.mark_obsolete();
        }
    }

    /// Like [`Tree::swap_base`], but returns the replaced base instead of marking it obsolete
    /// (for a snapshot that is kept after it stops being current).
    pub fn swap_base_keeping_old(
        &mut self,
        base: Option<Arc<Base>>,
        frozen: usize,
    ) -> Option<Arc<Base>> {
        let old = self
            .base
            .take()
            .filter(|old| base.as_ref().is_none_or(|new| !Arc::ptr_eq(old, new)));
        self.base = base;
        let frozen = frozen.min(self.frozen.len());
        self.frozen.drain(..frozen);
        old
    }

    /// In-memory bytes of every delta.
    pub fn delta_bytes(&self) -> usize {
        self.deltas().map(|d| read(d).bytes()).sum()
    }

    /// The value of `key`: from the newest delta that has it, else from the base.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        for delta in self.deltas().rev() {
            if let Some(value) = read(delta).get(key) {
                return Ok(value.as_ref().map(|v| v.to_vec()));
            }
        }
        match &self.base {
            Some(base) => base.get(key),
            None => Ok(None),
        }
    }

    /// The live entries within the bounds, in key order (descending if not `forward`).
    pub fn range(&self, lower: Bound<&[u8]>, upper: Bound<&[u8]>, forward: bool) -> MergedRange {
        let lower = lower.map(<[u8]>::to_vec);
        let upper = upper.map(<[u8]>::to_vec);
        let mut sources: Vec<Source> = Vec::new();
        if let Some(base) = &self.base {
            sources.push(Source::Base(BaseCursor::new(
                Arc::clone(base),
                lower.clone(),
                upper.clone(),
                forward,
            )));
        }
        for delta in self.deltas() {
            let (from, bound) = if forward {
                (lower.clone(), upper.clone())
            } else {
                (upper.clone(), lower.clone())
            };
            sources.push(Source::Delta(DeltaCursor {
                delta: Arc::clone(delta),
                from,
                bound,
                forward,
                buf: VecDeque::new(),
                done: false,
            }));
        }
        let heads = sources.iter().map(|_| None).collect();
        MergedRange {
            sources,
            heads,
            forward,
            failed: false,
        }
    }
}

/// Reads a delta in chunks, taking its lock only for each chunk.
struct DeltaCursor {
    delta: SharedDelta,
    /// The position: entries strictly past it are still to come.
    from: Bound<Vec<u8>>,
    bound: Bound<Vec<u8>>,
    forward: bool,
    buf: VecDeque<(Vec<u8>, Value)>,
    done: bool,
}

const DELTA_CHUNK: usize = 256;

impl DeltaCursor {
    fn next(&mut self) -> Option<(Vec<u8>, Value)> {
        if self.buf.is_empty() && !self.done {
            let chunk = read(&self.delta).chunk(&self.from, &self.bound, self.forward, DELTA_CHUNK);
            self.done = chunk.len() < DELTA_CHUNK;
            if let Some((last, _)) = chunk.last() {
                self.from = Bound::Excluded(last.clone());
            }
            self.buf.extend(chunk);
        }
        self.buf.pop_front()
    }
}

/// Reads a base snapshot within bounds: forward with the snapshot's own scan, backward block
/// by block from the last (one block decoded at a time).
struct BaseCursor {
    base: Arc<Base>,
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    forward: bool,
    /// Forward: the scan, created on first use.
    scan: Option<Box<dyn Iterator<Item = ddb_snapshot::Result<ddb_snapshot::Row>> + Send>>,
    /// Backward: the files still to visit (highest first) and the current file's blocks.
    files: Vec<usize>,
    file: Option<(Arc<ddb_snapshot::SnapshotFile>, usize)>,
    rows: Vec<ddb_snapshot::Row>,
    started: bool,
}

impl BaseCursor {
    fn new(
        base: Arc<Base>,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        forward: bool,
    ) -> BaseCursor {
        BaseCursor {
            base,
            lower,
            upper,
            forward,
            scan: None,
            files: Vec::new(),
            file: None,
            rows: Vec::new(),
            started: false,
        }
    }

    fn in_bounds(&self, key: &[u8]) -> bool {
        let above = match &self.lower {
            Bound::Included(l) => key >= l.as_slice(),
            Bound::Excluded(l) => key > l.as_slice(),
            Bound::Unbounded => true,
        };
        let below = match &self.upper {
            Bound::Included(u) => key <= u.as_slice(),
            Bound::Excluded(u) => key < u.as_slice(),
            Bound::Unbounded => true,
        };
        above && below
    }

    fn next(&mut self) -> Option<Result<(Vec<u8>, Value)>> {
        let range = (as_ref(&self.lower), as_ref(&self.upper));
        if bound_is_empty(range) {
            return None;
        }
        if self.forward {
            if self.scan.is_none() {
                // The scan borrows the reader; hold the base alive through a cloned Arc.
                let base = Arc::clone(&self.base);
                let lower = self.lower.clone();
                let upper = self.upper.clone();
                self.scan = Some(Box::new(OwnedScan::new(base, lower, upper)));
            }
            let row = self.scan.as_mut()?.next()?;
            return Some(
                row.map(|r| (r.key, Some(Arc::from(r.item))))
                    .map_err(Into::into),
            );
        }
        loop {
            if let Some(row) = self.rows.pop() {
                if self.in_bounds(&row.key) {
                    return Some(Ok((row.key, Some(Arc::from(row.item)))));
                }
                if matches!(&self.lower, Bound::Included(l) | Bound::Excluded(l) if row.key.as_slice() < l.as_slice())
                {
                    self.rows.clear();
                    self.files.clear();
                    self.file = None;
                    return None;
                }
                continue;
            }
            if !self.started {
                self.started = true;
                self.files = self.base.reader.files_in(range).collect();
            }
            match self.file.take() {
                Some((file, block)) if block > 0 => {
                    let index = block - 1;
                    let meta = file.blocks().get(index)?;
                    let below_lower = matches!(&self.lower,
                        Bound::Included(l) | Bound::Excluded(l) if meta.last_key.as_slice() < l.as_slice());
                    let above_upper = matches!(&self.upper,
                        Bound::Included(u) | Bound::Excluded(u) if meta.first_key.as_slice() > u.as_slice());
                    let overlaps = !below_lower && !above_upper;
                    if overlaps {
                        match file.read_block(
                            index,
                            Columns {
                                item: true,
                                attrs: false,
                            },
                        ) {
                            Ok(rows) => self.rows = rows,
                            Err(e) => return Some(Err(e.into())),
                        }
                    }
                    self.file = Some((file, index));
                }
                _ => {
                    let index = self.files.pop()?;
                    match self.base.reader.cached_file(index) {
                        Ok(file) => {
                            let blocks = file.blocks().len();
                            self.file = Some((file, blocks));
                        }
                        Err(e) => return Some(Err(e.into())),
                    }
                }
            }
        }
    }
}

/// A forward scan of a base that owns the base it borrows from.
struct OwnedScan {
    // Declared before `_base` so that it is dropped first.
    inner: Box<dyn Iterator<Item = ddb_snapshot::Result<ddb_snapshot::Row>> + Send>,
    _base: Arc<Base>,
}

impl OwnedScan {
    fn new(base: Arc<Base>, lower: Bound<Vec<u8>>, upper: Bound<Vec<u8>>) -> OwnedScan {
        // Files are opened one at a time as the scan reaches them; each file scan owns its
        // file, so only the file list comes from the reader.
        let files: Vec<usize> = base
            .reader
            .files_in((as_ref(&lower), as_ref(&upper)))
            .collect();
        let reader_base = Arc::clone(&base);
        let inner = files.into_iter().flat_map(move |index| {
            let scan: Box<dyn Iterator<Item = ddb_snapshot::Result<ddb_snapshot::Row>> + Send> =
                match reader_base.reader.cached_file(index) {
                    Ok(file) => Box::new(file.scan_shared(
                        (as_ref(&lower), as_ref(&upper)),
                        Columns {
                            item: true,
                            attrs: false,
                        },
                    )),
                    Err(e) => Box::new(std::iter::once(Err(e))),
                };
            scan
        });
        OwnedScan {
            inner: Box::new(inner),
            _base: base,
        }
    }
}

impl Iterator for OwnedScan {
    type Item = ddb_snapshot::Result<ddb_snapshot::Row>;
    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }
}

enum Source {
    Base(BaseCursor),
    Delta(DeltaCursor),
}

impl Source {
    fn next(&mut self) -> Option<Result<(Vec<u8>, Value)>> {
        match self {
            Source::Base(cursor) => cursor.next(),
            Source::Delta(cursor) => cursor.next().map(Ok),
        }
    }
}

/// The merge of a tree's layers over a key range: live entries only, newest layer wins.
pub struct MergedRange {
    /// Oldest first (base, then deltas): a later source wins a tie.
    sources: Vec<Source>,
    heads: Vec<Option<(Vec<u8>, Value)>>,
    forward: bool,
    failed: bool,
}

impl std::fmt::Debug for MergedRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MergedRange")
            .field("sources", &self.sources.len())
            .field("forward", &self.forward)
            .finish_non_exhaustive()
    }
}

impl Iterator for MergedRange {
    type Item = Result<(Vec<u8>, Arc<[u8]>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            for (source, head) in self.sources.iter_mut().zip(self.heads.iter_mut()) {
                if head.is_none() {
                    match source.next() {
                        Some(Ok(entry)) => *head = Some(entry),
                        Some(Err(e)) => {
                            self.failed = true;
                            return Some(Err(e));
                        }
                        None => {}
                    }
                }
            }
            // The smallest (forward) or largest key among the heads; the newest source holding
            // it wins, the others' equal heads are consumed.
            let mut best: Option<&[u8]> = None;
            for (key, _) in self.heads.iter().flatten() {
                let better = match best {
                    None => true,
                    Some(b) if self.forward => key.as_slice() < b,
                    Some(b) => key.as_slice() > b,
                };
                if better {
                    best = Some(key);
                }
            }
            let best = best?.to_vec();
            let mut winner: Option<Value> = None;
            for head in self.heads.iter_mut() {
                if head.as_ref().is_some_and(|(k, _)| *k == best) {
                    winner = head.take().map(|(_, v)| v);
                }
            }
            if let Some(Some(value)) = winner {
                return Some(Ok((best, value)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn value(s: &str) -> Value {
        Some(Arc::from(s.as_bytes()))
    }

    #[test]
    fn newest_delta_wins_and_tombstones_hide_older_layers_both_ways() {
        let mut tree = Tree::new(None);
        for k in [b"a", b"b", b"c", b"d"] {
            write(&tree.active).insert(k.to_vec(), value("old"));
        }
        tree.freeze();
        write(&tree.active).insert(b"b".to_vec(), None);
        write(&tree.active).insert(b"c".to_vec(), value("new"));
        write(&tree.active).insert(b"e".to_vec(), value("new"));
        let collect = |forward| {
            tree.range(Bound::Unbounded, Bound::Unbounded, forward)
                .map(|r| {
                    let (k, v) = r.unwrap();
                    (
                        String::from_utf8(k).unwrap(),
                        String::from_utf8(v.to_vec()).unwrap(),
                    )
                })
                .collect::<Vec<_>>()
        };
        let forward = collect(true);
        assert_eq!(
            forward,
            [("a", "old"), ("c", "new"), ("d", "old"), ("e", "new")]
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
        );
        let mut backward = collect(false);
        backward.reverse();
        assert_eq!(backward, forward);
        assert_eq!(tree.get(b"b").unwrap(), None);
        assert_eq!(tree.get(b"c").unwrap().unwrap(), b"new");
        let bounded: Vec<_> = tree
            .range(Bound::Excluded(b"a"), Bound::Included(b"d"), false)
            .map(|r| r.unwrap().0)
            .collect();
        assert_eq!(bounded, vec![b"d".to_vec(), b"c".to_vec()]);
    }

    #[test]
    fn inverted_bounds_select_nothing_instead_of_panicking() {
        let tree = Tree::new(None);
        write(&tree.active).insert(b"m".to_vec(), value("x"));
        assert_eq!(
            tree.range(Bound::Included(b"z"), Bound::Included(b"a"), true)
                .count(),
            0
        );
        assert_eq!(
            tree.range(Bound::Excluded(b"m"), Bound::Excluded(b"m"), false)
                .count(),
            0
        );
    }
}
