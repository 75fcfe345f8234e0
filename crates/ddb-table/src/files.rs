//! The database directory's layout and file helpers over `ddb_io::Io`.
//!
//! ```text
//! <root>/LOCK                          the owner's lock (pid inside)
//! <root>/CATALOG                       tables and their definitions (state file)
//! <root>/AUDIT                         the audit log of control-plane actions (crate::audit)
//! <root>/tables/<table id>/log/        the table's log segments
//! <root>/tables/<table id>/CURRENT     the last checkpoint (state file): its LSN and snapshots
//! <root>/tables/<table id>/ckpt-<lsn>/table/          the table snapshot at <lsn>
//! <root>/tables/<table id>/ckpt-<lsn>/index-<name>/   each index's snapshot at <lsn>
//! <root>/tables/<table id>/work/       spill runs and backfill sort runs (emptied on open)
//! ```

use std::path::{Path, PathBuf};

use ddb_io::Io;

use crate::error::Result;

pub const LOCK_FILE: &str = "LOCK";
pub const CATALOG_FILE: &str = "CATALOG";
pub const CURRENT_FILE: &str = "CURRENT";

pub fn tables_dir(root: &Path) -> PathBuf {
    root.join("tables")
}

pub fn table_dir(root: &Path, table_id: &str) -> PathBuf {
    tables_dir(root).join(table_id)
}

pub fn log_dir(table_dir: &Path) -> PathBuf {
    table_dir.join("log")
}

pub fn work_dir(table_dir: &Path) -> PathBuf {
    table_dir.join("work")
}

pub fn checkpoint_name(lsn: u64) -> String {
    format!("ckpt-{lsn:020}")
}

pub fn parse_checkpoint_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("ckpt-")?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

pub fn checkpoint_dir(table_dir: &Path, lsn: u64) -> PathBuf {
    table_dir.join(checkpoint_name(lsn))
}

pub fn table_snapshot_dir(checkpoint_dir: &Path) -> PathBuf {
    checkpoint_dir.join("table")
}

/// Index names are `[a-zA-Z0-9_.-]+`, so they are safe as file names.
pub fn index_snapshot_dir(checkpoint_dir: &Path, index: &str) -> PathBuf {
    checkpoint_dir.join(format!("index-{index}"))
}

/// Removes `dir` and everything below it (files, then directories), durably. A missing `dir`
/// is not an error.
pub fn remove_dir_all(io: &dyn Io, dir: &Path) -> Result<()> {
    if !io.exists(dir)? {
        return Ok(());
    }
    for name in io.read_dir(dir)? {
        let path = dir.join(&name);
        // Directories list their own entries; files do not.
        if io.read_dir(&path).is_ok() {
            remove_dir_all(io, &path)?;
        } else {
            io.remove_file(&path)?;
        }
    }
    io.sync_dir(dir)?;
    io.remove_dir(dir)?;
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        io.sync_dir(parent)?;
    }
    Ok(())
}

/// Removes the temporaries of state-file publications a crash interrupted (`.<name>.tmp-*`,
/// see [`ddb_io::publish_atomically`]) from `dir`. A crash after the temporary's directory
/// entry reached the disk but before the rename leaves one; nothing else ever removes it. Only
/// the lock holder publishes, so at open none of them is in use.
pub fn remove_publish_temps(io: &dyn Io, dir: &Path) -> Result<()> {
    let mut removed = false;
    for name in io.read_dir(dir)? {
        if name.to_str().is_some_and(ddb_io::publish::is_publish_temp) {
            io.remove_file(&dir.join(&name))?;
            removed = true;
        }
    }
    if removed {
        io.sync_dir(dir)?;
    }
    Ok(())
}

/// Removes every entry of `dir` (created if missing) but keeps `dir`.
pub fn empty_dir(io: &dyn Io, dir: &Path) -> Result<()> {
    io.create_dir_all(dir)?;
    for name in io.read_dir(dir)? {
        let path = dir.join(&name);
        if io.read_dir(&path).is_ok() {
            remove_dir_all(io, &path)?;
        } else {
            io.remove_file(&path)?;
        }
    }
    io.sync_dir(dir)?;
    Ok(())
}
