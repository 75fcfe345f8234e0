//! The catalog: every table of the database with its definition and lifecycle state,
//! persisted as one state file (`CATALOG`) that is replaced atomically on every change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use ddb_io::Io;
use ddb_model::table::{CreateTableInput, IndexStatus, TableStatus};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::files::CATALOG_FILE;
use crate::state_file;

/// The version of the catalog layout this build writes and reads.
pub const CATALOG_FORMAT: u32 = 1;

/// A GSI's lifecycle beyond what its definition says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GsiState {
    pub status: IndexStatus,
    /// True while an index added to an existing table is being filled.
    pub backfilling: bool,
    /// Items skipped by the last backfill because their index key attribute had the wrong type
    /// or was empty.
    #[serde(default)]
    pub backfill_violations: u64,
}

/// One table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableEntry {
    /// 32 lowercase hex digits; names the table's directory and goes into its files' headers.
    pub id: String,
    pub status: TableStatus,
    /// The table's definition: the CreateTable request, with GSIs added by UpdateTable
    /// appended (and deleted ones removed).
    pub definition: CreateTableInput,
    /// Seconds since the Unix epoch.
    pub creation_date_time: f64,
    pub table_arn: String,
    /// State of every GSI in `definition`, by name.
    #[serde(default)]
    pub gsis: BTreeMap<String, GsiState>,
    /// Point-in-time recovery, when enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pitr: Option<PitrSettings>,
    /// Scheduled backups, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_schedule: Option<crate::backups::BackupSchedule>,
    /// DELETING with PITR on: the SYSTEM backup must exist before the table goes (set with
    /// the DELETING status, so a crash before the backup's job is durable cannot skip it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pending_system_backup: bool,
    /// The restore that made the table (kept after it finished, for `RestoreSummary`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<crate::restore::RestoreState>,
}

/// A table's point-in-time recovery settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PitrSettings {
    /// 1–35.
    pub recovery_period_in_days: u32,
    /// When PITR was last enabled (ms since the epoch): the window never starts before it.
    pub enabled_at_ms: u64,
}

impl TableEntry {
    pub fn table_id_bytes(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = self
                .id
                .get(2 * i..2 * i + 2)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .unwrap_or(0);
        }
        out
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    pub format: u32,
    /// By table name.
    pub tables: BTreeMap<String, TableEntry>,
}

/// The catalog as the database shares it with its tables' background work: the state, its
/// file, and a condition variable that wakes `wait`ers on every change.
#[derive(Debug)]
pub struct CatalogStore {
    io: Arc<dyn Io>,
    root: PathBuf,
    read_only: bool,
    state: Mutex<Catalog>,
    changed: Condvar,
}

impl CatalogStore {
    pub fn load(io: Arc<dyn Io>, root: &Path, read_only: bool) -> Result<CatalogStore> {
        let catalog: Catalog = state_file::load(&*io, root, CATALOG_FILE)?.unwrap_or(Catalog {
            format: CATALOG_FORMAT,
            tables: BTreeMap::new(),
        });
        if catalog.format != CATALOG_FORMAT {
            return Err(crate::Error::Corrupt {
                path: root.join(CATALOG_FILE),
                message: format!(
                    "catalog format {} (this build reads format {CATALOG_FORMAT})",
                    catalog.format
                ),
            });
        }
        Ok(CatalogStore {
            io,
            root: root.to_owned(),
            read_only,
            state: Mutex::new(catalog),
            changed: Condvar::new(),
        })
    }

    pub fn lock(&self) -> MutexGuard<'_, Catalog> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies `change` to a copy of the catalog, publishes the copy durably, then makes it the
    /// catalog. If publishing fails, nothing changes.
    pub fn update<T>(&self, change: impl FnOnce(&mut Catalog) -> Result<T>) -> Result<T> {
        if self.read_only {
            return Err(crate::Error::Unavailable(
                "the database is open read-only".to_owned(),
            ));
        }
        let mut state = self.lock();
        let mut next = state.clone();
        let out = change(&mut next)?;
        state_file::publish(&*self.io, &self.root, CATALOG_FILE, &next)?;
        *state = next;
        drop(state);
        self.changed.notify_all();
        Ok(out)
    }

    /// Wakes `wait`ers (a change outside the catalog, e.g. a GSI caught up).
    pub fn notify(&self) {
        self.changed.notify_all();
    }

    /// Waits until `done` holds for the catalog or `deadline` passes; returns whether it holds.
    pub fn wait_until(
        &self,
        deadline: std::time::Instant,
        mut done: impl FnMut(&Catalog) -> bool,
    ) -> bool {
        let mut state = self.lock();
        loop {
            if done(&state) {
                return true;
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return false;
            }
            state = self
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}
