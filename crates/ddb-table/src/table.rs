//! One table: its log, its layered state (table and index trees), the write path that keeps
//! LSIs in step with every write, the queue its GSI applier follows, and recovery on open.
//!
//! Writes to a table are serialised by one mutex: a write reads the current item, decides,
//! appends to the log (returning once durable), then installs the change in the memtable and
//! the LSIs before the mutex is released. So a reader never sees a change that is not durable,
//! and LSIs are never behind the table. GSIs are updated by the applier thread from a queue the
//! write path fills in LSN order, after the write is acknowledged.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::ops::Bound;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock};
use std::thread::JoinHandle;

use ddb_io::Io;
use ddb_log::{Clock, Durability, Log, Mutation, MutationKind};
use ddb_model::{DdbError, ErrorKind, IndexKind, IndexSchema, Item, KeyValue, TableSchema};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::index;
use crate::layers::{self, Tree, Value};
use crate::store::Change;

/// The version of the `CURRENT` layout this build writes and reads.
pub const CURRENT_FORMAT: u32 = 1;

/// Tunables of a table.
#[derive(Debug, Clone)]
pub struct TableConfig {
    /// A checkpoint starts once the in-memory deltas (table and indexes) exceed this.
    pub memtable_budget_bytes: usize,
    /// The item collection limit of tables with LSIs (DynamoDB's 10 GB).
    pub item_collection_limit_bytes: u64,
    /// Key-range partitions of a checkpoint's merge.
    pub merge_partitions: usize,
    /// Memory for a checkpoint's merge and for a backfill's sort.
    pub merge_memory_bytes: usize,
    pub durability: Durability,
    pub clock: Arc<dyn Clock>,
    pub log_segment_bytes: u64,
    /// Block size of snapshots written by checkpoints (smaller in tests to get many blocks).
    pub snapshot_block_bytes: usize,
    /// Writers wait while more changes than this are queued for the GSI applier (back-pressure
    /// instead of an unbounded queue when writes outpace the GSIs, as DynamoDB throttles
    /// writes to a table whose GSI cannot keep up).
    pub gsi_queue_max_changes: usize,
    /// Run background work (GSI applier, checkpoints, backfills) on threads. Off: nothing runs
    /// until [`Table::run_pending_work`] is called (tests that step the engine).
    pub background: bool,
}

impl Default for TableConfig {
    fn default() -> Self {
        Self {
            memtable_budget_bytes: 64 << 20,
            item_collection_limit_bytes: 10 * 1024 * 1024 * 1024,
            merge_partitions: 2,
            merge_memory_bytes: 64 << 20,
            durability: Durability::Group,
            clock: Arc::new(ddb_log::SystemClock),
            log_segment_bytes: 64 << 20,
            snapshot_block_bytes: 32 << 10,
            gsi_queue_max_changes: 256 << 10,
            background: true,
        }
    }
}

/// Item count and bytes (DynamoDB's item size) of a table or an index.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub items: i64,
    pub bytes: i64,
}

impl Stats {
    /// Counts (`sign` 1) or uncounts (-1) an entry of `bytes` DynamoDB bytes, if there is one.
    pub(crate) fn add_size(&mut self, bytes: Option<usize>, sign: i64) {
        if let Some(bytes) = bytes {
            self.items += sign;
            self.bytes += sign * i64::try_from(bytes).unwrap_or(i64::MAX);
        }
    }

    pub(crate) fn add(&mut self, item: Option<&Item>, sign: i64) {
        if let Some(item) = item {
            self.items += sign;
            self.bytes += sign * i64::try_from(item.size_bytes()).unwrap_or(i64::MAX);
        }
    }
}

/// The `CURRENT` state file: the last checkpoint of a table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Current {
    pub format: u32,
    /// Every mutation up to this LSN is in the snapshots; 0: no checkpoint yet.
    pub lsn: u64,
    /// Whether `ckpt-<lsn>/table` holds the table snapshot (false only for `lsn` 0).
    pub table_snapshot: bool,
    /// Indexes with a snapshot in `ckpt-<lsn>/index-<name>`.
    pub indexes: BTreeSet<String>,
    pub stats: Stats,
    pub index_stats: BTreeMap<String, Stats>,
    /// Wall time of the cut, ms since the epoch (0 in files written before it was recorded:
    /// treated as older than any PITR window start, which is safe).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub time_ms: u64,
    /// Older snapshots kept for the point-in-time recovery window (`ckpt-<lsn>/table`), oldest
    /// first; see [`crate::retention`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retained: Vec<crate::retention::RetainedSnapshot>,
    /// Commit time (µs) of the last change at or before the cut (0: unknown).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub last_commit_us: u64,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// The table's index layout at one moment. Replaced (never mutated) when an index is added or
/// removed, so a request works with one consistent shape.
#[derive(Debug, Clone)]
pub struct Shape {
    /// The table key and every index (LSIs, then GSIs; backfilling GSIs included).
    pub schema: TableSchema,
    /// The indexes whose keys writes are checked against (LSIs and ACTIVE GSIs).
    pub write_schema: TableSchema,
    /// GSIs being backfilled: written by the applier, not readable.
    pub backfilling: BTreeSet<String>,
    /// Per GSI: the applier applies queued work with a greater LSN (the LSN its contents
    /// started from).
    pub gsi_start: BTreeMap<String, u64>,
}

impl Shape {
    pub fn new(schema: TableSchema, backfilling: BTreeSet<String>) -> Shape {
        let mut write_schema = schema.clone();
        write_schema
            .indexes
            .retain(|i| !backfilling.contains(&i.name));
        Shape {
            schema,
            write_schema,
            backfilling,
            gsi_start: BTreeMap::new(),
        }
    }

    pub fn lsis(&self) -> impl Iterator<Item = &IndexSchema> {
        self.schema
            .indexes
            .iter()
            .filter(|i| i.kind == IndexKind::Local)
    }

    pub fn gsis(&self) -> impl Iterator<Item = &IndexSchema> {
        self.schema
            .indexes
            .iter()
            .filter(|i| i.kind == IndexKind::Global)
    }
}

/// The key spaces of a table.
#[derive(Debug, Clone)]
pub(crate) struct Trees {
    pub table: Tree,
    pub indexes: BTreeMap<String, Tree>,
}

impl Trees {
    pub fn delta_bytes(&self) -> usize {
        self.table.delta_bytes() + self.indexes.values().map(Tree::delta_bytes).sum::<usize>()
    }
}

/// Serialised write state.
#[derive(Debug, Default)]
pub(crate) struct WriterState {
    pub stats: Stats,
    /// LSI stats (GSI stats are the applier's).
    pub index_stats: BTreeMap<String, Stats>,
    /// Item collection sizes (table items + LSI entries) of the partitions written since open,
    /// for tables with LSIs; computed by a range read on first touch.
    pub collections: HashMap<Vec<u8>, u64>,
    /// Changes submitted to the log and not yet installed, in LSN order. They are installed
    /// (memtable, LSIs, GSI queue) once the log acknowledged them, so readers never see them
    /// before; writers do, through `overlay`.
    pub pending: VecDeque<PendingChange>,
    /// The newest pending change of each key: what the next write of that key starts from.
    pub overlay: HashMap<Vec<u8>, (u64, Option<Arc<Item>>)>,
    /// Every change up to this LSN is installed.
    pub installed_lsn: u64,
    /// Commit time (µs) of the last installed change.
    pub last_commit_us: u64,
}

/// A change of one key: the key, the item before and the item after (`None`: absent).
pub(crate) type KeyChange = (Vec<u8>, Option<Arc<Item>>, Option<Arc<Item>>);

/// A change submitted to the log, waiting for its acknowledgement to be installed.
#[derive(Debug)]
pub(crate) struct PendingChange {
    pub lsn: u64,
    pub ticket: ddb_log::Ticket,
    pub key: Vec<u8>,
    pub old: Option<Arc<Item>>,
    pub new: Option<Arc<Item>>,
    pub bytes: Value,
}

/// A change for the GSI applier.
#[derive(Debug, Clone)]
pub(crate) struct Work {
    pub lsn: u64,
    pub timestamp_us: u64,
    pub old: Option<Arc<Item>>,
    pub new: Option<Arc<Item>>,
}

/// The GSI applier's queue and progress.
#[derive(Debug, Default)]
pub(crate) struct GsiState {
    pub queue: VecDeque<Work>,
    /// The LSN of the last change applied (every queued change up to it is applied).
    pub applied_lsn: u64,
    /// The LSN of the last change queued (changes are queued in LSN order; LSNs with no GSI
    /// work are never queued).
    pub queued_lsn: u64,
    /// The change the applier took from the queue and is applying.
    pub in_flight_lsn: Option<u64>,
    /// Commit time of the last applied change.
    pub applied_timestamp_us: u64,
    /// A checkpoint at this cut waits for the applier to freeze the GSI deltas there.
    pub freeze_at: Option<u64>,
    pub frozen_at: Option<u64>,
    pub stats: BTreeMap<String, Stats>,
    /// `stats` at the last freeze.
    pub frozen_stats: BTreeMap<String, Stats>,
    /// Backfill violations counted by the applier per GSI being backfilled.
    pub violations: BTreeMap<String, u64>,
    /// The applier leaves the queue alone (see [`Table::pause_gsi_applier`]).
    pub paused: bool,
    /// Times a writer waited for room in the queue.
    pub writer_waits: u64,
    pub shutdown: bool,
}

/// Background jobs of the table.
#[derive(Debug, Default)]
pub(crate) struct JobState {
    pub checkpoint_requested: bool,
    /// GSIs to backfill, oldest first.
    pub backfills: VecDeque<String>,
    pub last_error: Option<String>,
    pub shutdown: bool,
}

/// The GSI's lag behind the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GsiLag {
    /// LSNs committed but not yet applied to the GSIs.
    pub lsns: u64,
    /// Microseconds between the last commit and the commit time of the last applied change (0
    /// when caught up).
    pub micros: u64,
}

/// Events a table reports to the database (catalog updates).
pub(crate) trait TableEvents: Send + Sync + std::fmt::Debug {
    /// A GSI finished its backfill (`violations` items skipped).
    fn gsi_active(&self, table: &str, index: &str, violations: u64) -> Result<()>;
    /// Something changed that `wait` may be waiting for.
    fn notify(&self);
}

/// An open table.
#[derive(Debug)]
pub struct Table {
    pub(crate) name: String,
    pub(crate) table_id: [u8; 16],
    pub(crate) dir: PathBuf,
    pub(crate) io: Arc<dyn Io>,
    pub(crate) config: TableConfig,
    pub(crate) log: Log,
    pub(crate) shape: RwLock<Arc<Shape>>,
    pub(crate) trees: RwLock<Trees>,
    pub(crate) writer: Mutex<WriterState>,
    pub(crate) gsi: Mutex<GsiState>,
    pub(crate) gsi_changed: Condvar,
    pub(crate) jobs: Mutex<JobState>,
    pub(crate) jobs_changed: Condvar,
    pub(crate) current: Mutex<Current>,
    pub(crate) events: Arc<dyn TableEvents>,
    /// Checkpoints and backfills run one at a time.
    pub(crate) checkpoint_lock: Mutex<()>,
    /// Backup holds and PITR snapshots (see [`crate::retention`]).
    pub(crate) retention: Mutex<crate::retention::Retention>,
    pub(crate) threads: Mutex<Vec<JoinHandle<()>>>,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Joins the worker thread in `slot` (if any), unless it is the calling thread (a worker that
/// drops the last reference to what owns it).
pub(crate) fn join_worker(slot: &Mutex<Option<JoinHandle<()>>>) {
    let handle = lock(slot).take();
    if let Some(handle) = handle
        && handle.thread().id() != std::thread::current().id()
    {
        let _ = handle.join();
    }
}

pub(crate) fn decode_item(bytes: &[u8]) -> Result<Item> {
    let text = std::str::from_utf8(bytes).map_err(|e| Error::Corrupt {
        path: PathBuf::new(),
        message: format!("a stored item is not UTF-8: {e}"),
    })?;
    ddb_model::parse_item(text).map_err(|e| Error::Corrupt {
        path: PathBuf::new(),
        message: format!("a stored item does not decode: {}", e.message()),
    })
}

/// The encoded partition component of `key` (a table key), for item collections.
fn partition_prefix(schema: &TableSchema, item: &Item) -> Option<Vec<u8>> {
    let value = item.get(&schema.key.partition.name)?;
    let mut out = Vec::new();
    KeyValue::from_attribute(value)?.encode(&mut out);
    Some(out)
}

fn prefix_bounds(prefix: &[u8]) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let mut past = prefix.to_vec();
    past.push(u8::MAX);
    (Bound::Included(prefix.to_vec()), Bound::Excluded(past))
}

impl Table {
    pub(crate) fn start_threads(self: &Arc<Self>) -> Result<()> {
        let mut threads = lock(&self.threads);
        let applier = Arc::clone(self);
        threads.push(
            std::thread::Builder::new()
                .name(format!("ddb-gsi-{}", self.name))
                .spawn(move || applier.applier_loop())?,
        );
        let jobs = Arc::clone(self);
        threads.push(
            std::thread::Builder::new()
                .name(format!("ddb-jobs-{}", self.name))
                .spawn(move || jobs.jobs_loop())?,
        );
        Ok(())
    }

    /// Stops the background threads (work in progress finishes; queued work resumes on the
    /// next open).
    pub(crate) fn shutdown(&self) {
        lock(&self.gsi).shutdown = true;
        self.gsi_changed.notify_all();
        lock(&self.jobs).shutdown = true;
        self.jobs_changed.notify_all();
        let threads: Vec<_> = lock(&self.threads).drain(..).collect();
        for thread in threads {
            let _ = thread.join();
        }
    }

    /// The table id as the catalog writes it (32 lowercase hex digits).
    pub fn id_hex(&self) -> String {
        self.table_id.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn shape(&self) -> Arc<Shape> {
        Arc::clone(&self.shape.read().unwrap_or_else(PoisonError::into_inner))
    }

    pub(crate) fn trees_snapshot(&self) -> Trees {
        self.trees
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn trees_mut(&self) -> std::sync::RwLockWriteGuard<'_, Trees> {
        self.trees.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The table's stats (exact, as of the last acknowledged write).
    pub fn stats(&self) -> Stats {
        lock(&self.writer).stats
    }

    /// An index's stats (a GSI's as of the applier's progress).
    pub fn index_stats(&self, index: &str) -> Stats {
        if let Some(stats) = lock(&self.writer).index_stats.get(index) {
            return *stats;
        }
        lock(&self.gsi)
            .stats
            .get(index)
            .copied()
            .unwrap_or_default()
    }

    /// The last acknowledged LSN.
    pub fn last_lsn(&self) -> u64 {
        self.log.last_lsn()
    }

    // -----------------------------------------------------------------------------------------
    // The write path

    /// Validates a new item against the write schema and the key it is written under.
    fn check_put(&self, shape: &Shape, key: &[u8], item: &Item) -> ddb_model::Result<()> {
        shape.write_schema.validate_item(item)?;
        let encoded = shape.schema.table_key(item)?;
        if encoded != key {
            return Err(DdbError::validation(
                "The provided key element does not match the schema",
            ));
        }
        Ok(())
    }

    /// Charges a change to its item collection (tables with LSIs only): the error DynamoDB
    /// gives if it grows a collection past the limit.
    /// Each size it changes is recorded in `undo` first (previous value, `None` if there was
    /// none), so that a batch can take back its charges if a later item fails.
    fn charge_collection(
        &self,
        shape: &Shape,
        writer: &mut WriterState,
        old: Option<&Item>,
        new: Option<&Item>,
        undo: &mut Vec<(Vec<u8>, Option<u64>)>,
    ) -> Result<()> {
        if shape.lsis().next().is_none() {
            return Ok(());
        }
        let Some(prefix) = new.or(old).and_then(|i| partition_prefix(&shape.schema, i)) else {
            return Ok(());
        };
        let size = |item: Option<&Item>| -> i64 {
            let Some(item) = item else { return 0 };
            let mut total = i64::try_from(item.size_bytes()).unwrap_or(i64::MAX);
            for lsi in shape.lsis() {
                if let Some(bytes) = index::entry_size(&shape.schema, lsi, item) {
                    total += i64::try_from(bytes).unwrap_or(i64::MAX);
                }
            }
            total
        };
        let delta = size(new) - size(old);
        let current = match writer.collections.get(&prefix) {
            Some(bytes) => *bytes,
            None => {
                let bytes = self.collection_size(shape, &prefix)?;
                undo.push((prefix.clone(), None));
                writer.collections.insert(prefix.clone(), bytes);
                bytes
            }
        };
        let next =
            u64::try_from((i64::try_from(current).unwrap_or(i64::MAX) + delta).max(0)).unwrap_or(0);
        if delta > 0 && next > self.config.item_collection_limit_bytes {
            return Err(Error::Service(DdbError::new(
                ErrorKind::ItemCollectionSizeLimitExceeded,
                "Collection size exceeded.",
            )));
        }
        let previous = writer.collections.insert(prefix.clone(), next);
        undo.push((prefix, previous));
        Ok(())
    }

    /// The size of the item collection with partition prefix `prefix`, read from the trees.
    fn collection_size(&self, shape: &Shape, prefix: &[u8]) -> Result<u64> {
        let trees = self.trees_snapshot();
        let (lower, upper) = prefix_bounds(prefix);
        let mut total = 0u64;
        let mut add = |tree: &Tree| -> Result<()> {
            for entry in tree.range(as_ref(&lower), as_ref(&upper), true) {
                let (_, bytes) = entry?;
                total += u64::try_from(decode_item(&bytes)?.size_bytes()).unwrap_or(u64::MAX);
            }
            Ok(())
        };
        add(&trees.table)?;
        for lsi in shape.lsis() {
            if let Some(tree) = trees.indexes.get(&lsi.name) {
                add(tree)?;
            }
        }
        Ok(total)
    }

    /// Installs one durable change: the table delta, every LSI, the stats, and (returned) the
    /// work for the GSI applier if the table has GSIs.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn install(
        &self,
        shape: &Shape,
        writer: &mut WriterState,
        key: Vec<u8>,
        old: Option<Arc<Item>>,
        new: Option<Arc<Item>>,
        bytes: Value,
        lsn: u64,
        timestamp_us: u64,
    ) -> Option<Work> {
        writer.stats.add(old.as_deref(), -1);
        writer.stats.add(new.as_deref(), 1);
        writer.last_commit_us = writer.last_commit_us.max(timestamp_us);
        let mut lsi_changes = Vec::new();
        for lsi in shape.lsis() {
            let (delete, put) = index::changes(&shape.schema, lsi, old.as_deref(), new.as_deref());
            let stats = writer.index_stats.entry(lsi.name.clone()).or_default();
            if delete.is_some() || put.is_some() {
                stats.add_size(
                    old.as_deref()
                        .and_then(|o| index::entry_size(&shape.schema, lsi, o)),
                    -1,
                );
                stats.add(put.as_ref().map(|e| &e.item), 1);
            }
            lsi_changes.push((lsi.name.clone(), delete, put));
        }
        {
            let trees = self.trees_mut();
            layers::write(&trees.table.active).insert(key, bytes);
            for (name, delete, put) in lsi_changes {
                if let Some(tree) = trees.indexes.get(&name) {
                    let mut delta = layers::write(&tree.active);
                    if let Some(delete) = delete {
                        delta.insert(delete, None);
                    }
                    if let Some(put) = put {
                        delta.insert(put.key, Some(put.bytes));
                    }
                }
            }
        }
        shape.gsis().next().map(|_| Work {
            lsn,
            timestamp_us,
            old,
            new,
        })
    }

    /// Requests a checkpoint if the deltas are over budget.
    fn maybe_request_checkpoint(&self) {
        if self.trees_snapshot().delta_bytes() > self.config.memtable_budget_bytes {
            let mut jobs = lock(&self.jobs);
            if !jobs.checkpoint_requested {
                jobs.checkpoint_requested = true;
                drop(jobs);
                self.jobs_changed.notify_all();
            }
        }
    }

    /// The current item of `key` as the next write sees it: the newest pending change, else the
    /// installed state.
    fn current_for_write(&self, writer: &WriterState, key: &[u8]) -> Result<Option<Arc<Item>>> {
        if let Some((_, item)) = writer.overlay.get(key) {
            return Ok(item.clone());
        }
        let bytes = self.trees_snapshot().table.get(key)?;
        Ok(bytes.map(|b| decode_item(&b)).transpose()?.map(Arc::new))
    }

    /// Submits `changes` (in order) to the log as one batch and records them as pending.
    fn submit(&self, writer: &mut WriterState, changes: Vec<KeyChange>) -> Result<ddb_log::Ticket> {
        let mut mutations = Vec::with_capacity(changes.len());
        let mut values = Vec::with_capacity(changes.len());
        for (key, _, new) in &changes {
            let value: Value = new
                .as_ref()
                .map(|item| Arc::from(item.to_canonical_json().into_bytes()));
            mutations.push(Mutation {
                kind: match &value {
                    Some(v) => MutationKind::Put(v.to_vec()),
                    None => MutationKind::Delete,
                },
                key: key.clone(),
            });
            values.push(value);
        }
        let ticket = self.log.submit(mutations)?;
        for (offset, ((key, old, new), bytes)) in changes.into_iter().zip(values).enumerate() {
            let lsn = ticket.first_lsn + offset as u64;
            writer.overlay.insert(key.clone(), (lsn, new.clone()));
            writer.pending.push_back(PendingChange {
                lsn,
                ticket: ticket.clone(),
                key,
                old,
                new,
                bytes,
            });
        }
        Ok(ticket)
    }

    /// Installs, in LSN order, every pending change the log has acknowledged.
    pub(crate) fn install_acknowledged(&self, writer: &mut WriterState) {
        let acked = self.log.last_lsn();
        let shape = self.shape();
        let mut work = Vec::new();
        while writer.pending.front().is_some_and(|p| p.lsn <= acked) {
            let Some(change) = writer.pending.pop_front() else {
                break;
            };
            if writer
                .overlay
                .get(&change.key)
                .is_some_and(|(lsn, _)| *lsn == change.lsn)
            {
                writer.overlay.remove(&change.key);
            }
            let timestamp_us = change.ticket.timestamp_us();
            if let Some(w) = self.install(
                &shape,
                writer,
                change.key,
                change.old,
                change.new,
                change.bytes,
                change.lsn,
                timestamp_us,
            ) {
                work.push(w);
            }
            writer.installed_lsn = change.lsn;
        }
        self.queue_gsi(work);
    }

    /// Waits for `ticket`, then installs what the log acknowledged. On a log failure the
    /// pending changes are never installed (the log refuses every later write too).
    fn wait_and_install(&self, ticket: &ddb_log::Ticket) -> Result<()> {
        let waited = self.log.wait(ticket);
        let mut writer = lock(&self.writer);
        if waited.is_err() {
            // Sizes were charged for writes that may not have happened: recompute on next touch.
            writer.collections.clear();
        }
        self.install_acknowledged(&mut writer);
        drop(writer);
        waited?;
        self.maybe_request_checkpoint();
        self.wait_for_gsi_room();
        Ok(())
    }

    /// [`TableStore::apply`] for this table with `shape`.
    pub(crate) fn apply_one(
        &self,
        shape: &Shape,
        key: &[u8],
        decide: &mut dyn FnMut(Option<&Item>) -> ddb_model::Result<Change>,
    ) -> Result<Option<Item>> {
        let mut writer = lock(&self.writer);
        let old = self.current_for_write(&writer, key)?;
        let change = decide(old.as_deref())?;
        let new = match change {
            Change::Put(item) => {
                self.check_put(shape, key, &item)?;
                Some(item)
            }
            Change::Delete => None,
            Change::Keep => return Ok(old.as_deref().cloned()),
        };
        self.charge_collection(
            shape,
            &mut writer,
            old.as_deref(),
            new.as_ref(),
            &mut Vec::new(),
        )?;
        let returned = old.as_deref().cloned();
        let ticket = match self.submit(&mut writer, vec![(key.to_vec(), old, new.map(Arc::new))]) {
            Ok(t) => t,
            Err(e) => {
                writer.collections.clear();
                return Err(e);
            }
        };
        drop(writer);
        self.wait_and_install(&ticket)?;
        Ok(returned)
    }

    /// [`TableStore::apply_batch`] for this table with `shape`. Batches larger than a log frame
    /// are split into several log batches (each atomic).
    pub(crate) fn apply_many(&self, shape: &Shape, changes: Vec<(Vec<u8>, Change)>) -> Result<()> {
        let mut writer = lock(&self.writer);
        let mut prepared = Vec::with_capacity(changes.len());
        let mut seen = BTreeSet::new();
        for (key, change) in changes {
            if !seen.insert(key.clone()) {
                return Err(Error::Service(DdbError::validation(
                    "Provided list of item keys contains duplicates",
                )));
            }
            let new = match change {
                Change::Put(item) => {
                    self.check_put(shape, &key, &item)?;
                    Some(Arc::new(item))
                }
                Change::Delete => None,
                Change::Keep => continue,
            };
            let old = self.current_for_write(&writer, &key)?;
            prepared.push((key, old, new));
        }
        if prepared.is_empty() {
            return Ok(());
        }
        if shape.lsis().next().is_some() {
            let mut undo = Vec::new();
            for (_, old, new) in &prepared {
                if let Err(e) = self.charge_collection(
                    shape,
                    &mut writer,
                    old.as_deref(),
                    new.as_deref(),
                    &mut undo,
                ) {
                    for (prefix, previous) in undo.into_iter().rev() {
                        match previous {
                            Some(bytes) => writer.collections.insert(prefix, bytes),
                            None => writer.collections.remove(&prefix),
                        };
                    }
                    return Err(e);
                }
            }
        }
        // Log batches of at most ~32 MiB (the frame limit is 64 MiB).
        const BATCH_BYTES: usize = 32 << 20;
        let mut last_ticket = None;
        let mut failed = None;
        let mut rest = prepared.into_iter().peekable();
        while rest.peek().is_some() {
            let mut bytes = 0;
            let mut batch = Vec::new();
            while let Some((key, _, new)) = rest.peek() {
                let size = key.len() + new.as_ref().map_or(0, |n| n.size_bytes()) + 64;
                if !batch.is_empty() && bytes + size > BATCH_BYTES {
                    break;
                }
                bytes += size;
                if let Some(next) = rest.next() {
                    batch.push(next);
                }
            }
            match self.submit(&mut writer, batch) {
                Ok(ticket) => last_ticket = Some(ticket),
                Err(e) => {
                    writer.collections.clear();
                    failed = Some(e);
                    break;
                }
            }
        }
        drop(writer);
        // What was submitted is written whatever happens to the rest: install it.
        if let Some(ticket) = &last_ticket {
            self.wait_and_install(ticket)?;
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Index changes (UpdateTable)

    /// Adds the GSI `name` (in `schema`) as backfilling and queues its backfill.
    pub(crate) fn add_gsi(&self, schema: TableSchema, name: &str) -> Result<()> {
        let writer = lock(&self.writer);
        let old = self.shape();
        let mut backfilling = old.backfilling.clone();
        backfilling.insert(name.to_owned());
        let mut next = Shape::new(schema, backfilling);
        next.gsi_start = old.gsi_start.clone();
        *self.shape.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
        drop(writer);
        self.queue_backfill(name);
        Ok(())
    }

    /// Removes the GSI `name`: reads and the applier stop seeing it at once; its snapshot is
    /// left out of the next checkpoint and removed with the old one.
    pub(crate) fn drop_gsi(&self, schema: TableSchema, name: &str) -> Result<()> {
        // `CURRENT` must not name the snapshot let go of below: republish it without the index
        // first (after any checkpoint or backfill in progress, which publishes `CURRENT` too).
        let _one_at_a_time = lock(&self.checkpoint_lock);
        let current = lock(&self.current).clone();
        if current.indexes.contains(name) {
            let mut next = current;
            next.indexes.remove(name);
            next.index_stats.remove(name);
            crate::state_file::publish(&*self.io, &self.dir, crate::files::CURRENT_FILE, &next)?;
            *lock(&self.current) = next;
        }
        let writer = lock(&self.writer);
        let old = self.shape();
        let mut backfilling = old.backfilling.clone();
        backfilling.remove(name);
        let mut next = Shape::new(schema, backfilling);
        next.gsi_start = old.gsi_start.clone();
        next.gsi_start.remove(name);
        *self.shape.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
        if let Some(tree) = self.trees_mut().indexes.remove(name)
            && let Some(base) = &tree.base
        {
            base.mark_obsolete();
        }
        drop(writer);
        let mut gsi = lock(&self.gsi);
        gsi.stats.remove(name);
        gsi.violations.remove(name);
        drop(gsi);
        lock(&self.jobs).backfills.retain(|b| b != name);
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Reads

    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Item>> {
        let bytes = self.trees_snapshot().table.get(key)?;
        bytes.map(|b| decode_item(&b)).transpose()
    }

    pub(crate) fn range(
        &self,
        index: Option<&str>,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        forward: bool,
    ) -> Result<layers::MergedRange> {
        let trees = self.trees_snapshot();
        let tree = match index {
            None => trees.table,
            Some(name) => trees.indexes.get(name).cloned().ok_or_else(|| {
                Error::Service(DdbError::validation(format!(
                    "The table does not have the specified index: {name}"
                )))
            })?,
        };
        Ok(tree.range(lower, upper, forward))
    }
}

fn as_ref(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}
