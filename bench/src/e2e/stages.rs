//! The scored stages, each run in a child process (`ddb-bench e2e-child …`) so that its peak RSS
//! (`VmHWM`) is the stage's alone. A child writes what it measured as JSON to a result file;
//! it fails (exit status non-zero) when what the engine produced disagrees with the workload.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ddb_io::Io;
use ddb_log::{LogIter, LogReader};
use ddb_merge::{SnapshotDirInput, SnapshotInput};
use ddb_table::{Database, DatabaseOptions, WaitFor};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::generate::{self, LOG_DIR, SNAPSHOT_DIR, Workload};
use super::source::{GSI, LSI};
use super::{Backend, Result};
use crate::checkpoint::proc_status_kib;

/// The restored table's name.
pub const RESTORED: &str = "restored";
/// How long a restore may take before the harness gives up.
const RESTORE_TIMEOUT: Duration = Duration::from_secs(3600);

/// A scored stage run in a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Backup,
    Restore,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Backup => "backup",
            Stage::Restore => "restore",
        }
    }

    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "backup" => Ok(Stage::Backup),
            "restore" => Ok(Stage::Restore),
            other => Err(format!("unknown stage {other}: backup | restore").into()),
        }
    }
}

/// What a child is asked to do.
#[derive(Debug, Clone)]
pub struct ChildArgs {
    pub stage: Stage,
    pub backend: Backend,
    /// The harness's output directory (`data/` is in it).
    pub out: PathBuf,
    pub partitions: usize,
    pub zstd_level: i32,
    pub result: PathBuf,
}

/// What a backup child measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupResult {
    pub seconds: f64,
    pub rows: u64,
    pub item_bytes: u64,
    /// Bytes of every file in the backup directory (artifacts and manifest).
    pub output_bytes: u64,
    pub peak_rss_kib: u64,
}

/// What a restore child measured (times from the RestoreTableFromBackup call).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RestoreResult {
    pub active_seconds: f64,
    pub gsi_active_seconds: f64,
    pub item_count: u64,
    /// `VmHWM` when the table turned ACTIVE, and when the GSI did.
    pub active_peak_rss_kib: u64,
    pub gsi_peak_rss_kib: u64,
    /// Bytes of the database directory once the GSI is ACTIVE.
    pub output_bytes: u64,
}

pub fn backup_dir(out: &Path, backend: Backend) -> PathBuf {
    out.join(format!("backup-{}", backend.name()))
}

pub fn restore_dir(out: &Path, backend: Backend) -> PathBuf {
    out.join(format!("restore-{}", backend.name()))
}

/// Runs `stage` for `backend` in a child process of `exe` and reads its result.
pub fn spawn<T: for<'de> Deserialize<'de>>(exe: &Path, args: &ChildArgs) -> Result<T> {
    let runs = args.out.join("runs");
    std::fs::create_dir_all(&runs)?;
    let _ = std::fs::remove_file(&args.result);
    let status = Command::new(exe)
        .arg("e2e-child")
        .args(["--stage", args.stage.name()])
        .args(["--backend", args.backend.name()])
        .arg("--out")
        .arg(&args.out)
        .args(["--partitions", &args.partitions.to_string()])
        .args(["--zstd-level", &args.zstd_level.to_string()])
        .arg("--result")
        .arg(&args.result)
        .status()
        .map_err(|e| format!("{}: {e}", exe.display()))?;
    if !status.success() {
        return Err(format!(
            "the {} stage ({}) failed: {status}",
            args.stage.name(),
            args.backend.name()
        )
        .into());
    }
    let text = std::fs::read_to_string(&args.result)
        .map_err(|e| format!("{}: {e}", args.result.display()))?;
    Ok(serde_json::from_str(&text)?)
}

/// The child's side: runs the stage and writes its result file.
pub fn run_child(args: &ChildArgs) -> Result<()> {
    let io = args.backend.io()?;
    let workload = generate::load(&args.out.join("data"))?;
    let result = match args.stage {
        Stage::Backup => serde_json::to_value(backup(&io, args, &workload)?)?,
        Stage::Restore => serde_json::to_value(restore(&io, args, &workload)?)?,
    };
    std::fs::write(&args.result, serde_json::to_string_pretty(&result)? + "\n")
        .map_err(|e| format!("{}: {e}", args.result.display()))?;
    Ok(())
}

/// Snapshot ⊕ log up to the cut → zstd Parquet artifacts + manifest, checked against the
/// workload.
fn backup(io: &Arc<dyn Io>, args: &ChildArgs, workload: &Workload) -> Result<BackupResult> {
    let data = args.out.join("data");
    let dir = backup_dir(&args.out, args.backend);
    let spill = args
        .out
        .join(format!("backup-{}.spill", args.backend.name()));
    for path in [&dir, &spill] {
        if path.exists() {
            std::fs::remove_dir_all(path).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    std::fs::create_dir_all(&spill)?;
    let request = super::source::build_request(workload)?;
    let options = ddb_backup::BuildOptions {
        zstd_level: args.zstd_level,
        partitions: args.partitions,
        memory_budget_bytes: 64 << 20,
        spill_dir: spill.clone(),
        ..ddb_backup::BuildOptions::default()
    };
    let started = Instant::now();
    let snapshot = SnapshotDirInput::open(Arc::clone(io), &data.join(SNAPSHOT_DIR))?;
    let reader = LogReader::open(Arc::clone(io), &data.join(LOG_DIR))?;
    let log = LogIter::new(
        Arc::clone(io),
        reader.segments().to_vec(),
        workload.snapshot_lsn + 1,
        workload.cut_lsn,
    )?;
    let manifest = ddb_backup::build(
        Arc::clone(io),
        &dir,
        &request,
        Some(&snapshot as &dyn SnapshotInput),
        log,
        &options,
    )?;
    let seconds = started.elapsed().as_secs_f64();
    let peak_rss_kib = proc_status_kib("VmHWM")?;
    std::fs::remove_dir_all(&spill)?;
    let (rows, item_bytes) = (manifest.totals.rows, manifest.totals.item_bytes);
    check_backup(workload, rows, item_bytes)?;
    eprintln!(
        "backup ({}): {rows} rows, {item_bytes} item bytes in {seconds:.2} s, peak RSS {} MB",
        io.name(),
        peak_rss_kib / 1000
    );
    Ok(BackupResult {
        seconds,
        rows,
        item_bytes,
        output_bytes: dir_bytes(&dir)?,
        peak_rss_kib,
    })
}

/// The manifest's row count and item bytes must be the workload's at the cut.
pub fn check_backup(workload: &Workload, rows: u64, item_bytes: u64) -> Result<()> {
    if rows != workload.rows_at_cut || item_bytes != workload.item_bytes_at_cut {
        return Err(format!(
            "MISMATCH: the backup manifest holds {rows} rows / {item_bytes} item bytes, the \
             workload has {} rows / {} item bytes at the cut (LSN {})",
            workload.rows_at_cut, workload.item_bytes_at_cut, workload.cut_lsn
        )
        .into());
    }
    Ok(())
}

/// RestoreTableFromBackup (the backup directory's path as the ARN) into a fresh database:
/// time to ACTIVE (the LSI is built before) and to the GSI ACTIVE, checked against the
/// workload.
fn restore(io: &Arc<dyn Io>, args: &ChildArgs, workload: &Workload) -> Result<RestoreResult> {
    let backup = std::fs::canonicalize(backup_dir(&args.out, args.backend))?;
    let root = restore_dir(&args.out, args.backend);
    if root.exists() {
        std::fs::remove_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    }
    let options = DatabaseOptions {
        io: Some(Arc::clone(io)),
        ..DatabaseOptions::default()
    };
    let db = Database::open(&root, options)?;
    let backup_arn = backup.to_str().ok_or("the backup path is not UTF-8")?;
    let started = Instant::now();
    db.call(
        "RestoreTableFromBackup",
        &json!({"TargetTableName": RESTORED, "BackupArn": backup_arn}),
    )?;
    if !db.wait(&WaitFor::TableExists(RESTORED.to_owned()), RESTORE_TIMEOUT)? {
        return Err(format!(
            "the restore did not turn ACTIVE: {}",
            db.restore_failure(RESTORED)
                .unwrap_or_else(|| "timed out".to_owned())
        )
        .into());
    }
    let active_seconds = started.elapsed().as_secs_f64();
    let active_peak_rss_kib = proc_status_kib("VmHWM")?;
    let gsi = WaitFor::IndexActive {
        table: RESTORED.to_owned(),
        index: GSI.to_owned(),
    };
    if !db.wait(&gsi, RESTORE_TIMEOUT)? {
        return Err(format!("the GSI {GSI} did not turn ACTIVE").into());
    }
    let gsi_active_seconds = started.elapsed().as_secs_f64();
    let gsi_peak_rss_kib = proc_status_kib("VmHWM")?;
    let description = db.call("DescribeTable", &json!({"TableName": RESTORED}))?;
    let item_count = check_restored(workload, &description)?;
    drop(db);
    eprintln!(
        "restore ({}): ACTIVE after {active_seconds:.2} s, {GSI} ACTIVE after \
         {gsi_active_seconds:.2} s, {item_count} items, peak RSS {} MB",
        io.name(),
        gsi_peak_rss_kib / 1000
    );
    Ok(RestoreResult {
        active_seconds,
        gsi_active_seconds,
        item_count,
        active_peak_rss_kib,
        gsi_peak_rss_kib,
        output_bytes: dir_bytes(&root)?,
    })
}

/// The restored table's counts (DescribeTable) against the workload's: the table and the LSI
/// hold every row at the cut, the GSI those with a `merchant_id`; both indexes ACTIVE.
pub fn check_restored(workload: &Workload, description: &Value) -> Result<u64> {
    let count = |pointer: &str| description.pointer(pointer).and_then(Value::as_u64);
    let index = |list: &str, name: &str| {
        description
            .pointer(&format!("/Table/{list}"))
            .and_then(Value::as_array)
            .and_then(|l| {
                l.iter()
                    .find(|i| i.get("IndexName").and_then(Value::as_str) == Some(name))
            })
            .cloned()
            .unwrap_or(Value::Null)
    };
    let table = count("/Table/ItemCount");
    let size = count("/Table/TableSizeBytes");
    let lsi = index("LocalSecondaryIndexes", LSI);
    let gsi = index("GlobalSecondaryIndexes", GSI);
    let expected = [
        ("ItemCount", table, workload.rows_at_cut),
        ("TableSizeBytes", size, workload.table_size_bytes_at_cut),
        (
            "LSI ItemCount",
            lsi.get("ItemCount").and_then(Value::as_u64),
            workload.rows_at_cut,
        ),
        (
            "GSI ItemCount",
            gsi.get("ItemCount").and_then(Value::as_u64),
            workload.merchant_rows_at_cut,
        ),
    ];
    for (what, found, want) in expected {
        if found != Some(want) {
            return Err(format!(
                "MISMATCH: the restored table's {what} is {found:?}, the workload has {want} at \
                 the cut"
            )
            .into());
        }
    }
    let status = gsi.get("IndexStatus").and_then(Value::as_str);
    if status != Some("ACTIVE") {
        return Err(format!("the restored GSI {GSI} is {status:?}, not ACTIVE").into());
    }
    Ok(workload.rows_at_cut)
}

/// Bytes of the files under `path`.
pub fn dir_bytes(path: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            total += dir_bytes(&entry.path())?;
        } else if kind.is_file() {
            total += entry.metadata()?.len();
        }
    }
    Ok(total)
}
