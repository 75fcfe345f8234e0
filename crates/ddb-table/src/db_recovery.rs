//! Opening a database: what `Database::open` does after loading the catalog — backups first
//! (unfinished jobs hold files), then every table (with the holds of backup jobs, restores and
//! exports on it), unfinished creations, deletions, restores, imports and exports resumed, and
//! directories no table owns removed.

use std::collections::BTreeSet;

use ddb_model::table::TableStatus;

use crate::backups::{BackupService, lock_state};
use crate::catalog::TableEntry;
use crate::db::Database;
use crate::error::Result;
use crate::files;

impl Database {
    pub(crate) fn recover(&self) -> Result<()> {
        files::remove_publish_temps(&*self.io, &self.root)?;
        // Backups first: unfinished jobs hold files their tables must keep.
        let jobs = self.backups.load()?;
        let entries: Vec<TableEntry> = self.catalog.lock().tables.values().cloned().collect();
        let exports: Vec<crate::transfer::ExportRecord> = crate::transfer::load_all(
            &*self.io,
            &self.root,
            crate::transfer::EXPORTS_DIR,
            crate::transfer::EXPORT_FILE,
        )?
        .into_iter()
        .filter(|r: &crate::transfer::ExportRecord| {
            crate::transfer::is_in_progress(&r.description, "ExportStatus")
        })
        .collect();
        self.recover_imports(&entries)?;
        for entry in &entries {
            let name = entry.definition.table_name.clone();
            let mut holds = BackupService::holds_of(&jobs, &entry.id);
            // Unfinished point-in-time restores from this table hold its files too.
            holds.extend(entries.iter().filter_map(|e| {
                e.restore
                    .as_ref()
                    .filter(|r| r.in_progress)
                    .and_then(|r| r.source.hold_on(&entry.id))
            }));
            holds.extend(
                exports
                    .iter()
                    .filter(|r| r.table_id == entry.id)
                    .map(|r| (r.hold.clone(), (r.snapshot_lsn, r.lsn))),
            );
            let entry = entry.clone();
            if entry.status == TableStatus::Creating
                && entry.restore.as_ref().is_some_and(|r| r.in_progress)
            {
                // The restore runs again from the start; its source pinned again first.
                if let Some(crate::restore::RestoreState {
                    source:
                        crate::restore::RestoreSource::Backup {
                            catalog_arn: Some(arn),
                            ..
                        },
                    ..
                }) = &entry.restore
                {
                    // A backup deleted meanwhile cannot be: DeleteBackup refuses while a
                    // restore reads it. If it is gone anyway, the job fails and cleans up.
                    let _ = self.backups.pin_for_restore(arn);
                }
                self.restores.queue(&name);
                continue;
            }
            match entry.status {
                // The SYSTEM backup of a table being deleted finishes first; its job deletes
                // the table. A crash before that job was durable: make it now.
                TableStatus::Deleting if holds.is_empty() => {
                    let made = lock_state(&self.backups.state).entries.values().any(|b| {
                        b.identity.table_id == entry.id && b.identity.backup_type == "SYSTEM"
                    });
                    if entry.pending_system_backup && !made {
                        self.open_table(&entry, holds)?;
                        self.create_system_backup(&name)?;
                    } else {
                        self.finish_delete(&name, &entry.id)?;
                    }
                }
                TableStatus::Creating => {
                    self.open_table(&entry, holds)?;
                    self.set_status(&name, TableStatus::Active)?;
                }
                _ => {
                    self.open_table(&entry, holds)?;
                }
            }
        }
        for export in &exports {
            self.restores.queue_export(&export.id);
        }
        // Directories of tables the catalog does not know (a crash between creating a
        // directory and recording the table cannot happen: the record comes first; but a
        // deletion's directory removal can be interrupted after the record is gone).
        let known: BTreeSet<String> = self
            .catalog
            .lock()
            .tables
            .values()
            .map(|e| e.id.clone())
            .collect();
        let tables_dir = files::tables_dir(&self.root);
        if self.io.exists(&tables_dir)? {
            for name in self.io.read_dir(&tables_dir)? {
                if let Some(id) = name.to_str()
                    && !known.contains(id)
                {
                    files::remove_dir_all(&*self.io, &tables_dir.join(id))?;
                }
            }
        }
        Ok(())
    }
}
