//! Opening a table: its last checkpoint, the log replayed after it onto the memtable (with the
//! LSIs and GSIs), and the removal of files no checkpoint references.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, RwLock};

use ddb_io::Io;
use ddb_log::{Log, LogOptions, RecordType};
use ddb_model::{IndexKind, TableSchema};

use crate::error::{Error, Result};
use crate::files;
use crate::layers::{Base, Tree, Value};
use crate::retention::{Hold, PitrPolicy, Retention};
use crate::state_file;
use crate::table::{
    CURRENT_FORMAT, Current, GsiState, JobState, Shape, Table, TableConfig, TableEvents, Trees,
    WriterState, decode_item, lock,
};

/// What a table is opened with.
#[derive(Debug)]
pub(crate) struct TableSpec {
    pub io: Arc<dyn Io>,
    pub dir: PathBuf,
    pub name: String,
    pub table_id: [u8; 16],
    pub schema: TableSchema,
    /// GSIs whose backfill is not finished: rebuilt from scratch.
    pub backfilling: BTreeSet<String>,
    pub config: TableConfig,
    /// Holds of unfinished backup jobs: job id → (snapshot LSN, marker LSN), re-taken before
    /// anything can trim the log or remove a snapshot.
    pub holds: BTreeMap<String, (u64, u64)>,
    pub pitr: Option<PitrPolicy>,
}

impl Table {
    /// Opens (or creates) the table in `dir`: loads its last checkpoint, replays the log after
    /// it onto the memtable (LSIs and GSIs with it), removes files no checkpoint references, and
    /// queues the backfill of every GSI in `backfilling`.
    pub(crate) fn open(spec: TableSpec, events: Arc<dyn TableEvents>) -> Result<Arc<Table>> {
        let TableSpec {
            io,
            dir,
            name,
            table_id,
            schema,
            backfilling,
            config,
            holds,
            pitr,
        } = spec;
        let (dir, name) = (dir.as_path(), name.as_str());
        io.create_dir_all(dir)?;
        let current: Current =
            state_file::load(&*io, dir, files::CURRENT_FILE)?.unwrap_or(Current {
                format: CURRENT_FORMAT,
                ..Current::default()
            });
        if current.format != CURRENT_FORMAT {
            return Err(Error::Corrupt {
                path: dir.join(files::CURRENT_FILE),
                message: format!(
                    "format {} (this build reads format {CURRENT_FORMAT})",
                    current.format
                ),
            });
        }
        // `CURRENT` names only snapshots this open keeps: an index still being built (its
        // backfill published `CURRENT` but a crash came before the catalog recorded it ACTIVE)
        // or dropped is removed below, so `CURRENT` is republished without it first.
        let mut current = current;
        let stale: Vec<String> = current
            .indexes
            .iter()
            .filter(|name| {
                backfilling.contains(*name) || !schema.indexes.iter().any(|i| &i.name == *name)
            })
            .cloned()
            .collect();
        if !stale.is_empty() {
            for name in &stale {
                current.indexes.remove(name);
                current.index_stats.remove(name);
            }
            state_file::publish(&*io, dir, files::CURRENT_FILE, &current)?;
        }
        // Files of interrupted checkpoints, of indexes dropped or still being built, and
        // leftover work files go first.
        let checkpoint_dir = files::checkpoint_dir(dir, current.lsn);
        // Older snapshots kept for the PITR window or held by backup jobs: their table part.
        let kept: BTreeSet<u64> = current
            .retained
            .iter()
            .map(|r| r.lsn)
            .chain(holds.values().map(|(lsn, _)| *lsn))
            .filter(|lsn| *lsn != 0 && *lsn != current.lsn)
            .collect();
        for entry in io.read_dir(dir)? {
            let Some(entry) = entry.to_str() else {
                continue;
            };
            let Some(lsn) = files::parse_checkpoint_name(entry) else {
                continue;
            };
            if kept.contains(&lsn) {
                for sub in io.read_dir(&dir.join(entry))? {
                    if sub.to_str() != Some("table") {
                        files::remove_dir_all(&*io, &dir.join(entry).join(sub))?;
                    }
                }
            } else if lsn != current.lsn {
                files::remove_dir_all(&*io, &dir.join(entry))?;
            }
        }
        if io.exists(&checkpoint_dir)? {
            for entry in io.read_dir(&checkpoint_dir)? {
                let Some(entry) = entry.to_str() else {
                    continue;
                };
                let keep = entry == "table" && current.table_snapshot
                    || entry.strip_prefix("index-").is_some_and(|index| {
                        current.indexes.contains(index) && !backfilling.contains(index)
                    });
                if !keep {
                    files::remove_dir_all(&*io, &checkpoint_dir.join(entry))?;
                }
            }
        }
        files::empty_dir(&*io, &files::work_dir(dir))?;
        files::remove_publish_temps(&*io, dir)?;

        let mut log_options = LogOptions::new(table_id);
        log_options.durability = config.durability;
        log_options.clock = Arc::clone(&config.clock);
        log_options.segment_bytes_target = config.log_segment_bytes;
        log_options.first_lsn = current.lsn + 1;
        let log = Log::open(Arc::clone(&io), &files::log_dir(dir), log_options)?;
        if log.last_lsn() < current.lsn {
            return Err(Error::Corrupt {
                path: files::log_dir(dir),
                message: format!(
                    "the log ends at LSN {} but the checkpoint is at LSN {}",
                    log.last_lsn(),
                    current.lsn
                ),
            });
        }

        let base =
            |sub: PathBuf| -> Result<Arc<Base>> { Ok(Arc::new(Base::open(Arc::clone(&io), sub)?)) };
        let table_tree = Tree::new(if current.table_snapshot {
            Some(base(files::table_snapshot_dir(&checkpoint_dir))?)
        } else {
            None
        });
        let mut index_trees = BTreeMap::new();
        let mut shape = Shape::new(schema, backfilling.clone());
        for index in &shape.schema.indexes {
            if backfilling.contains(&index.name) {
                continue;
            }
            let tree_base = if current.indexes.contains(&index.name) {
                Some(base(files::index_snapshot_dir(
                    &checkpoint_dir,
                    &index.name,
                ))?)
            } else if current.table_snapshot {
                return Err(Error::Corrupt {
                    path: dir.join(files::CURRENT_FILE),
                    message: format!("the checkpoint has no snapshot of index {}", index.name),
                });
            } else {
                None
            };
            index_trees.insert(index.name.clone(), Tree::new(tree_base));
            if index.kind == IndexKind::Global {
                shape.gsi_start.insert(index.name.clone(), current.lsn);
            }
        }
        let mut index_stats = BTreeMap::new();
        let mut gsi_stats = BTreeMap::new();
        for index in &shape.schema.indexes {
            let stats = current
                .index_stats
                .get(&index.name)
                .copied()
                .unwrap_or_default();
            match index.kind {
                IndexKind::Local => index_stats.insert(index.name.clone(), stats),
                IndexKind::Global if !backfilling.contains(&index.name) => {
                    gsi_stats.insert(index.name.clone(), stats)
                }
                IndexKind::Global => None,
            };
        }
        let mut retention = Retention::default();
        retention.pitr = pitr;
        for lsn in &kept {
            let snapshot = base(files::table_snapshot_dir(&files::checkpoint_dir(dir, *lsn)))?;
            if current.retained.iter().any(|r| r.lsn == *lsn) {
                retention.retained.insert(*lsn, snapshot);
            } else {
                // Held only by a job: removed once the job lets go.
                snapshot.mark_obsolete();
                for (id, (held, marker)) in &holds {
                    if held == lsn {
                        retention.holds.insert(
                            id.clone(),
                            Hold {
                                snapshot: Some(Arc::clone(&snapshot)),
                                marker_lsn: *marker,
                            },
                        );
                    }
                }
            }
        }
        for (id, (held, marker)) in &holds {
            if retention.holds.contains_key(id) {
                continue;
            }
            let snapshot = if *held == 0 {
                None
            } else if *held == current.lsn {
                table_tree.base.clone()
            } else {
                retention.retained.get(held).cloned()
            };
            if *held != 0 && snapshot.is_none() {
                return Err(Error::Corrupt {
                    path: files::checkpoint_dir(dir, *held),
                    message: format!("backup job {id} needs the snapshot at LSN {held}"),
                });
            }
            retention.holds.insert(
                id.clone(),
                Hold {
                    snapshot,
                    marker_lsn: *marker,
                },
            );
        }
        let table = Arc::new(Table {
            name: name.to_owned(),
            table_id,
            dir: dir.to_owned(),
            io,
            config,
            log,
            shape: RwLock::new(Arc::new(shape)),
            trees: RwLock::new(Trees {
                table: table_tree,
                indexes: index_trees,
            }),
            writer: Mutex::new(WriterState {
                stats: current.stats,
                index_stats,
                collections: HashMap::new(),
                pending: VecDeque::new(),
                overlay: HashMap::new(),
                installed_lsn: current.lsn,
                last_commit_us: current.last_commit_us,
            }),
            gsi: Mutex::new(GsiState {
                applied_lsn: current.lsn,
                queued_lsn: current.lsn,
                stats: gsi_stats,
                ..GsiState::default()
            }),
            gsi_changed: Condvar::new(),
            jobs: Mutex::new(JobState {
                backfills: backfilling.into_iter().collect(),
                ..JobState::default()
            }),
            jobs_changed: Condvar::new(),
            current: Mutex::new(current),
            events,
            checkpoint_lock: Mutex::new(()),
            retention: Mutex::new(retention),
            threads: Mutex::new(Vec::new()),
        });
        table.replay()?;
        if table.config.background {
            table.start_threads()?;
        }
        Ok(table)
    }

    /// Applies the log after the checkpoint to the memtable, the LSIs and the GSIs.
    fn replay(&self) -> Result<()> {
        let from = lock(&self.current).lsn + 1;
        let last = self.log.last_lsn();
        if last < from {
            return Ok(());
        }
        let shape = self.shape();
        let mut writer = lock(&self.writer);
        for record in self.log.read_from(from)? {
            let record = record?;
            let new = match record.record_type {
                RecordType::Put => Some(decode_item(&record.value)?),
                RecordType::Delete => None,
                RecordType::Skippable(_) => continue,
            };
            let old = self.trees_snapshot().table.get(&record.key)?;
            let old = old.map(|bytes| decode_item(&bytes)).transpose()?;
            let bytes: Value = match record.record_type {
                RecordType::Put => Some(Arc::from(record.value)),
                _ => None,
            };
            let work = self.install(
                &shape,
                &mut writer,
                record.key,
                old.map(Arc::new),
                new.map(Arc::new),
                bytes,
                record.lsn,
                record.timestamp_us,
            );
            if let Some(work) = work {
                // Replay applies GSI changes inline: the applier starts caught up.
                self.apply_gsi_work(&shape, &work);
            }
        }
        writer.installed_lsn = last;
        let mut gsi = lock(&self.gsi);
        gsi.applied_lsn = last;
        gsi.queued_lsn = last;
        Ok(())
    }
}
