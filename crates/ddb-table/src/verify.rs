//! Verification and inspection of a database directory (`ddbfmt verify|inspect DIR`): the
//! catalog, each table's `CURRENT`, log and checkpoint snapshots, and the facts that tie them
//! together, and the audit log's hash chain. Reads only; never takes the lock, never writes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ddb_io::Io;

use crate::audit;
use crate::catalog::{CATALOG_FORMAT, Catalog};
use crate::files;
use crate::state_file;
use crate::table::{CURRENT_FORMAT, Current};

/// An engine error as a finding's message: without the path the finding already names.
fn message_of(e: &crate::Error) -> String {
    match e {
        crate::Error::CorruptState {
            offset, expected, ..
        } => format!("byte {offset}: expected {expected}"),
        other => other.to_string(),
    }
}

/// One problem: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub path: PathBuf,
    /// What is wrong, with the offset where the underlying format gives one.
    pub message: String,
    /// A torn log tail that opening the database repairs (nothing acknowledged is lost).
    pub recoverable: bool,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

/// What verification found in one table.
#[derive(Debug, Clone, Default)]
pub struct TableReport {
    pub name: String,
    pub id: String,
    pub status: String,
    pub dir: PathBuf,
    /// The checkpoint `CURRENT` names (if it loads).
    pub current: Option<Current>,
    pub log_segments: usize,
    pub log_first_lsn: Option<u64>,
    pub log_last_lsn: Option<u64>,
    /// Snapshots checked (the table's and each index's).
    pub snapshots: Vec<SnapshotSummary>,
}

/// One snapshot of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotSummary {
    /// `table` or the index name.
    pub name: String,
    pub dir: PathBuf,
    pub files: u64,
    pub rows: u64,
}

/// What verification found in a database directory.
#[derive(Debug, Clone, Default)]
pub struct DatabaseReport {
    pub root: PathBuf,
    pub tables: Vec<TableReport>,
    pub findings: Vec<Finding>,
    /// The audit log, if the directory has one and it could be read.
    pub audit: Option<AuditSummary>,
    /// Every backup directory under `backups/`.
    pub backups: Vec<BackupReport>,
}

/// One backup as verification saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    pub dir: PathBuf,
    /// `AVAILABLE` (a manifest), `CREATING` (a job, no manifest), or `INCOMPLETE` (neither:
    /// an interrupted request the next open removes).
    pub status: &'static str,
    pub name: Option<String>,
    pub table: Option<String>,
    pub marker_lsn: Option<u64>,
    pub artifacts: usize,
    pub rows: u64,
}

/// The audit log's records and head (its problems are findings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSummary {
    pub path: PathBuf,
    pub records: u64,
    /// The last record's `(seq, hash)`.
    pub head: (u64, String),
}

impl DatabaseReport {
    pub fn is_sound(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Whether `dir` looks like a database directory (it has a catalog).
pub fn is_database_dir(io: &dyn Io, dir: &Path) -> bool {
    io.exists(&dir.join(files::CATALOG_FILE)).unwrap_or(false)
}

/// Verifies the database in `root`. `deep` also reads every log frame and every snapshot block.
pub fn verify_database(io: Arc<dyn Io>, root: &Path, deep: bool) -> DatabaseReport {
    let mut report = DatabaseReport {
        root: root.to_owned(),
        ..DatabaseReport::default()
    };
    let catalog_path = root.join(files::CATALOG_FILE);
    let catalog: Catalog = match state_file::load(&*io, root, files::CATALOG_FILE) {
        Ok(Some(catalog)) => catalog,
        Ok(None) => {
            report.findings.push(Finding {
                path: catalog_path,
                message: "missing: expected the catalog of a database directory".to_owned(),
                recoverable: false,
            });
            return report;
        }
        Err(e) => {
            report.findings.push(Finding {
                path: catalog_path,
                message: message_of(&e),
                recoverable: false,
            });
            return report;
        }
    };
    if catalog.format != CATALOG_FORMAT {
        report.findings.push(Finding {
            path: catalog_path,
            message: format!(
                "catalog format {}: expected {CATALOG_FORMAT}",
                catalog.format
            ),
            recoverable: false,
        });
    }
    for (name, entry) in &catalog.tables {
        let dir = files::table_dir(root, &entry.id);
        let mut table = TableReport {
            name: name.clone(),
            id: entry.id.clone(),
            status: format!("{:?}", entry.status).to_uppercase(),
            dir: dir.clone(),
            ..TableReport::default()
        };
        // A restore (or import) still loading owns its directory: its job empties it and
        // rebuilds it from the start, and the table serves nothing until it is ACTIVE.
        if !entry.restore.as_ref().is_some_and(|r| r.in_progress) {
            verify_table(&io, &dir, deep, &mut table, &mut report.findings);
        }
        report.tables.push(table);
    }
    verify_audit(&*io, root, &mut report);
    verify_backups(&io, root, deep, &mut report);
    report
}

/// Every backup: an AVAILABLE one at `Bytes` (or `Deep`), a CREATING one by its job file.
fn verify_backups(io: &Arc<dyn Io>, root: &Path, deep: bool, report: &mut DatabaseReport) {
    let dir = crate::backups::backups_dir(root);
    let Ok(names) = io.read_dir(&dir) else {
        return;
    };
    let mut names: Vec<String> = names
        .into_iter()
        .filter_map(|n| n.to_str().map(str::to_owned))
        .filter(|n| {
            !n.starts_with(crate::backups::DELETED_PREFIX) && !ddb_io::publish::is_publish_temp(n)
        })
        .collect();
    names.sort();
    for name in names {
        let path = dir.join(&name);
        let mut backup = BackupReport {
            dir: path.clone(),
            status: "INCOMPLETE",
            name: None,
            table: None,
            marker_lsn: None,
            artifacts: 0,
            rows: 0,
        };
        let published = ddb_backup::is_published(&**io, &path).unwrap_or(false);
        if published {
            backup.status = "AVAILABLE";
            if let Ok(manifest) = ddb_backup::BackupManifest::load(&**io, &path) {
                backup.name = Some(manifest.backup.backup_name.clone());
                backup.table = Some(manifest.backup.table_name.clone());
                backup.marker_lsn = Some(manifest.marker.lsn);
            }
            let level = if deep {
                ddb_backup::VerifyLevel::Deep
            } else {
                ddb_backup::VerifyLevel::Bytes
            };
            match ddb_backup::verify(Arc::clone(io), &path, level) {
                Ok(verified) => {
                    backup.artifacts = verified.artifacts;
                    backup.rows = verified.rows_checked;
                    for problem in &verified.problems {
                        report.findings.push(Finding {
                            path: problem.file.clone(),
                            message: problem.to_string(),
                            recoverable: false,
                        });
                    }
                }
                Err(e) => report.findings.push(Finding {
                    path: path.clone(),
                    message: e.to_string(),
                    recoverable: false,
                }),
            }
        } else {
            match state_file::load::<crate::backups::BackupJob>(
                &**io,
                &path,
                crate::backups::JOB_FILE,
            ) {
                Ok(Some(job)) => {
                    backup.status = "CREATING";
                    backup.name = Some(job.identity.backup_name);
                    backup.table = Some(job.identity.table_name);
                    backup.marker_lsn = Some(job.marker_lsn);
                }
                Ok(None) => {}
                Err(e) => report.findings.push(Finding {
                    path: path.join(crate::backups::JOB_FILE),
                    message: message_of(&e),
                    recoverable: false,
                }),
            }
        }
        report.backups.push(backup);
    }
}

/// The audit log's hash chain (a missing file is a database without records yet).
fn verify_audit(io: &dyn Io, root: &Path, report: &mut DatabaseReport) {
    let path = root.join(audit::AUDIT_FILE);
    if !io.exists(&path).unwrap_or(true) {
        return;
    }
    let audit = match audit::read(io, &path) {
        Ok(audit) => audit,
        Err(e) => {
            report.findings.push(Finding {
                path,
                message: message_of(&e),
                recoverable: false,
            });
            return;
        }
    };
    for problem in &audit.problems {
        report.findings.push(Finding {
            path: path.clone(),
            message: problem.clone(),
            recoverable: false,
        });
    }
    if let Some(offset) = audit.torn_tail {
        report.findings.push(Finding {
            path: path.clone(),
            message: format!(
                "byte {offset}: torn tail (an interrupted append, truncated when the database is opened)"
            ),
            recoverable: true,
        });
    }
    report.audit = Some(AuditSummary {
        path,
        records: u64::try_from(audit.records.len()).unwrap_or(u64::MAX),
        head: audit.head(),
    });
}

fn verify_table(
    io: &Arc<dyn Io>,
    dir: &Path,
    deep: bool,
    table: &mut TableReport,
    findings: &mut Vec<Finding>,
) {
    let mut find = |path: PathBuf, message: String| {
        findings.push(Finding {
            path,
            message,
            recoverable: false,
        });
    };
    let current: Current = match state_file::load(&**io, dir, files::CURRENT_FILE) {
        Ok(Some(current)) => current,
        // No checkpoint yet: the empty table at LSN 0 and its log.
        Ok(None) => Current {
            format: CURRENT_FORMAT,
            ..Current::default()
        },
        Err(e) => {
            find(dir.join(files::CURRENT_FILE), message_of(&e));
            return;
        }
    };
    if current.format != CURRENT_FORMAT {
        find(
            dir.join(files::CURRENT_FILE),
            format!("format {}: expected {CURRENT_FORMAT}", current.format),
        );
    }
    // The log must continue the checkpoint.
    let log_dir = files::log_dir(dir);
    match ddb_log::verify::verify_log(&**io, &log_dir, deep) {
        Ok(log) => {
            table.log_segments = log.segments.len();
            table.log_first_lsn = log.segments.iter().find_map(|s| s.first_lsn);
            table.log_last_lsn = log.segments.iter().rev().find_map(|s| s.last_lsn);
            for f in &log.findings {
                findings.push(Finding {
                    path: f.path.clone(),
                    message: f.to_string(),
                    recoverable: f.severity == ddb_log::verify::Severity::Recoverable,
                });
            }
            if let Some(first) = table.log_first_lsn
                && first > current.lsn + 1
            {
                findings.push(Finding {
                    path: log_dir.clone(),
                    message: format!(
                        "the log starts at LSN {first}, but the checkpoint is at LSN {}: \
                             records {}..{first} are missing",
                        current.lsn,
                        current.lsn + 1
                    ),
                    recoverable: false,
                });
            }
            if table.log_last_lsn.is_some_and(|last| last < current.lsn) {
                findings.push(Finding {
                    path: log_dir.clone(),
                    message: format!(
                        "the log ends at LSN {} before the checkpoint's LSN {}",
                        table.log_last_lsn.unwrap_or(0),
                        current.lsn
                    ),
                    recoverable: false,
                });
            }
        }
        Err(e) => findings.push(Finding {
            path: log_dir.clone(),
            message: e.to_string(),
            recoverable: false,
        }),
    }
    if current.table_snapshot {
        let checkpoint = files::checkpoint_dir(dir, current.lsn);
        let mut snapshots = vec![(
            "table".to_owned(),
            files::table_snapshot_dir(&checkpoint),
            current.stats.items,
        )];
        for index in &current.indexes {
            snapshots.push((
                index.clone(),
                files::index_snapshot_dir(&checkpoint, index),
                current.index_stats.get(index).map_or(-1, |s| s.items),
            ));
        }
        for (name, snapshot_dir, items) in snapshots {
            let verified = ddb_snapshot::verify(Arc::clone(io), &snapshot_dir, deep);
            for e in &verified.errors {
                findings.push(Finding {
                    path: snapshot_dir.clone(),
                    message: e.to_string(),
                    recoverable: false,
                });
            }
            if verified.errors.is_empty() {
                let lsn = ddb_snapshot::SnapshotManifest::load(&**io, &snapshot_dir)
                    .map(|m| m.lsn)
                    .ok();
                if lsn != Some(current.lsn) {
                    findings.push(Finding {
                        path: snapshot_dir.clone(),
                        message: format!(
                            "the snapshot is at LSN {lsn:?}, CURRENT names LSN {}",
                            current.lsn
                        ),
                        recoverable: false,
                    });
                }
                if i64::try_from(verified.rows).ok() != Some(items) {
                    findings.push(Finding {
                        path: snapshot_dir.clone(),
                        message: format!(
                            "{} rows, but CURRENT counts {items} items for {name}",
                            verified.rows
                        ),
                        recoverable: false,
                    });
                }
            }
            table.snapshots.push(SnapshotSummary {
                name,
                dir: snapshot_dir,
                files: verified.files,
                rows: verified.rows,
            });
        }
    }
    // Snapshots kept for the PITR window: their table part.
    for retained in current.retained.iter().filter(|r| r.lsn != 0) {
        let snapshot_dir = files::table_snapshot_dir(&files::checkpoint_dir(dir, retained.lsn));
        let verified = ddb_snapshot::verify(Arc::clone(io), &snapshot_dir, deep);
        for e in &verified.errors {
            findings.push(Finding {
                path: snapshot_dir.clone(),
                message: e.to_string(),
                recoverable: false,
            });
        }
        table.snapshots.push(SnapshotSummary {
            name: format!("table@{} (PITR)", retained.lsn),
            dir: snapshot_dir,
            files: verified.files,
            rows: verified.rows,
        });
    }
    if let Some(first) = table.log_first_lsn
        && let Some(oldest) = current.retained.iter().map(|r| r.lsn).min()
        && first > oldest + 1
    {
        findings.push(Finding {
            path: files::log_dir(dir),
            message: format!(
                "the log starts at LSN {first}, but the PITR window needs it from LSN {}",
                oldest + 1
            ),
            recoverable: false,
        });
    }
    table.current = Some(current);
}
