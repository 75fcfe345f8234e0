//! `ddbfmt demo`: the whole product on generated data, in one command.
//!
//! In a fresh database (a temporary directory, or `--data-dir`): create a table with two LSIs
//! and two GSIs and point-in-time recovery, load generated orders with a progress bar, start a
//! background writer, request a backup while it writes (CreateBackup answers at once; the
//! writes go on), wait for the backup, verify it deeply, restore it into a new table (LSIs
//! built before ACTIVE, GSIs backfilled after), check the restore against the source at the
//! backup's cut, restore the table to a point in time in the middle of the writes and check
//! that too, then print a summary and the commands that inspect the files.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ddb_model::DdbError;
use ddb_table::{Change, Database, DatabaseOptions, Tables, WaitFor};
use serde_json::{Value, json};

mod checks;
mod items;
mod report;
mod writer;

use checks::{Cut, Model};
use items::{GSIS, TABLE_NAME, order};
use report::{Summary, peak_rss_mb};

/// Arguments of `ddbfmt demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// How many orders to load.
    #[arg(long, default_value_t = 1_000_000)]
    pub items: u64,
    /// Seed of the generator; the same seed gives the same orders and the same writes.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Keep the demo's database (and print where it is) when it ran in a temporary directory.
    /// A database made in `--data-dir` is always kept.
    #[arg(long)]
    pub keep: bool,
    /// The tables' memtable budget: a checkpoint starts when the in-memory deltas of a table
    /// and its indexes pass it. Larger than the engine's default (64 MiB) because each
    /// checkpoint rewrites the whole table and its index snapshots: a load pays that cost once
    /// per budget's worth of writes (see docs/PERFORMANCE.md).
    #[arg(long, default_value_t = 256)]
    pub memtable_mb: usize,
}

/// A demo failure: an engine or model error, or a check that found a restore differing from
/// its source.
#[derive(Debug)]
pub enum DemoError {
    Engine(DdbError),
    /// The storage layer below the request API (opening the database, a table's batch).
    Storage(ddb_table::Error),
    Check(String),
    Output(std::io::Error),
}

impl std::fmt::Display for DemoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DemoError::Engine(e) => write!(f, "{e}"),
            DemoError::Storage(e) => write!(f, "{e}"),
            DemoError::Check(what) => write!(f, "check failed: {what}"),
            DemoError::Output(e) => write!(f, "I/O: {e}"),
        }
    }
}

impl From<DdbError> for DemoError {
    fn from(e: DdbError) -> Self {
        DemoError::Engine(e)
    }
}

impl From<ddb_table::Error> for DemoError {
    fn from(e: ddb_table::Error) -> Self {
        DemoError::Storage(e)
    }
}

impl From<std::io::Error> for DemoError {
    fn from(e: std::io::Error) -> Self {
        DemoError::Output(e)
    }
}

/// Orders per `apply_batch` of the load.
const LOAD_BATCH: u64 = 4096;
/// Writes the background writer makes before the backup is requested.
const WRITES_BEFORE_BACKUP: u64 = 200;
/// No demo wait is meant to reach this; it turns a hang into an error.
const WAIT: Duration = Duration::from_secs(3_600);

/// The database directory and whether to remove it at the end.
fn database_dir(
    data_dir: Option<&Path>,
    keep: bool,
) -> Result<(PathBuf, Option<tempfile::TempDir>), DemoError> {
    match data_dir {
        Some(dir) => {
            let empty = match std::fs::read_dir(dir) {
                Ok(mut entries) => entries.next().is_none(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
                Err(e) => return Err(DemoError::Output(e)),
            };
            if !empty {
                return Err(DemoError::Check(format!(
                    "{} is not empty: the demo makes a fresh database; name a new or empty --data-dir",
                    dir.display()
                )));
            }
            Ok((dir.to_owned(), None))
        }
        None => {
            let temp = tempfile::Builder::new().prefix("ddbfmt-demo-").tempdir()?;
            let dir = temp.path().join("db");
            if keep {
                Ok((temp.keep().join("db"), None))
            } else {
                Ok((dir, Some(temp)))
            }
        }
    }
}

fn wait_for(db: &Database, what: WaitFor) -> Result<(), DemoError> {
    if db.wait(&what, WAIT)? {
        Ok(())
    } else {
        Err(DemoError::Check(format!("gave up waiting for {what:?}")))
    }
}

/// Runs the demo in `data_dir` (a temporary directory when `None`), writing its report to `out`.
pub fn run(
    args: &DemoArgs,
    data_dir: Option<&Path>,
    out: &mut dyn std::io::Write,
) -> Result<(), DemoError> {
    let started = Instant::now();
    let (dir, temp) = database_dir(data_dir, args.keep)?;
    let mut options = DatabaseOptions::default();
    options.table.memtable_budget_bytes = args.memtable_mb << 20;
    let db = Database::open(&dir, options)?;
    writeln!(
        out,
        "ddbfmt demo: {} orders (seed {}) in {} ({} backend)",
        args.items,
        args.seed,
        dir.display(),
        db.io().name()
    )?;
    let mut summary = Summary::new(&dir, args.items);

    db.call("CreateTable", &items::create_table_request())?;
    wait_for(&db, WaitFor::TableExists(TABLE_NAME.into()))?;
    db.call(
        "UpdateContinuousBackups",
        &json!({
            "TableName": TABLE_NAME,
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}
        }),
    )?;
    writeln!(
        out,
        "[1/7] CreateTable {TABLE_NAME}: LSIs by_total, by_placed; GSIs by_status (sparse), by_store; PITR on"
    )?;

    let load = load(&db, args)?;
    summary.load = Some(load);
    writeln!(
        out,
        "[2/7] loaded {} orders, {:.1} MB of item JSON, in {:.1} s ({:.0} items/s, {:.1} MB/s; both LSIs written with each batch, GSIs by their applier)",
        args.items,
        load.bytes as f64 / 1e6,
        load.seconds,
        args.items as f64 / load.seconds.max(1e-9),
        load.bytes as f64 / 1e6 / load.seconds.max(1e-9)
    )?;

    // Writes go on in the background from here to the point-in-time restore.
    let background = writer::Writer::spawn(Arc::clone(&db), args.seed, args.items);
    let waiting = spinner("waiting for the background writer's first writes");
    while background.acked() < WRITES_BEFORE_BACKUP && !background.is_finished() {
        // A demo, not a test: polling a counter is the simple way to watch another thread.
        std::thread::sleep(Duration::from_millis(5));
    }
    waiting.finish_and_clear();
    let requested = Instant::now();
    let answer = db.call(
        "CreateBackup",
        &json!({"TableName": TABLE_NAME, "BackupName": "demo"}),
    )?;
    let answered = Instant::now();
    let arn = answer
        .pointer("/BackupDetails/BackupArn")
        .and_then(Value::as_str)
        .ok_or_else(|| DemoError::Check(format!("CreateBackup answered {answer}")))?
        .to_owned();
    let acked_at_request = background.acked();
    writeln!(
        out,
        "[3/7] CreateBackup answered in {} µs ({}) while the writer kept writing",
        answered.duration_since(requested).as_micros(),
        answer
            .pointer("/BackupDetails/BackupStatus")
            .and_then(Value::as_str)
            .unwrap_or("?")
    )?;
    let building = spinner("the backup is building (snapshot ⊕ log up to the cut → zstd Parquet)");
    wait_for(&db, WaitFor::BackupAvailable(arn.clone()))?;
    let available = Instant::now();
    building.finish_and_clear();
    let during = background.acked() - acked_at_request;
    let writes = background.stop()?;
    let entry = db.backup(&arn)?;
    let manifest = ddb_backup::BackupManifest::load(&**db.io(), &entry.dir)
        .map_err(|e| DemoError::Check(e.to_string()))?;
    let backup_s = available.duration_since(requested).as_secs_f64();
    summary.backup(&manifest, &entry.dir, backup_s);
    let during_build: Vec<&writer::Write> = writes
        .iter()
        .filter(|w| w.acked > answered && w.started < available)
        .collect();
    let slowest = during_build
        .iter()
        .map(|w| w.acked.duration_since(w.started))
        .max()
        .unwrap_or_default();
    writeln!(
        out,
        "      AVAILABLE after {backup_s:.2} s: {} rows, {:.1} MB of items → {:.1} MB of Parquet ({:.1} MB/s); {during} writes acknowledged meanwhile (slowest {:.1} ms)",
        manifest.totals.rows,
        manifest.totals.item_bytes as f64 / 1e6,
        manifest.totals.artifact_bytes as f64 / 1e6,
        manifest.totals.item_bytes as f64 / 1e6 / backup_s.max(1e-9),
        slowest.as_secs_f64() * 1e3
    )?;

    let verified = Instant::now();
    let report = ddb_backup::verify(
        Arc::clone(db.io()),
        &entry.dir,
        ddb_backup::VerifyLevel::Deep,
    )
    .map_err(|e| DemoError::Check(e.to_string()))?;
    if !report.is_sound() {
        return Err(DemoError::Check(format!(
            "the backup does not verify: {report:?}"
        )));
    }
    writeln!(
        out,
        "[4/7] verify --deep: sound ({} rows decoded and re-hashed, every checksum and fingerprint matched) in {:.2} s",
        report.rows_checked,
        verified.elapsed().as_secs_f64()
    )?;

    let model = Model::new(args.seed, args.items, &writes);
    let restored = restore(&db, out, "Orders-restored", &json!({"BackupArn": arn}))?;
    summary.restore = Some(restored);
    let checked = model.check(
        &db,
        "Orders-restored",
        Cut::Backup {
            requested,
            answered,
        },
    )?;
    writeln!(
        out,
        "[6/7] spot checks of Orders-restored against {TABLE_NAME} at the backup's cut: {} GetItems, {} Queries on the table, both LSIs and both GSIs ({} entries): all equal",
        checked.items, checked.queries, checked.entries
    )?;

    let Some(time_us) = pitr_time(&writes) else {
        return Err(DemoError::Check(
            "the writer made too few writes for a point-in-time restore".into(),
        ));
    };
    let pitr = restore(
        &db,
        out,
        "Orders-pitr",
        &json!({"SourceTableName": TABLE_NAME, "RestoreDateTime": time_us as f64 / 1e6}),
    )?;
    summary.pitr = Some(pitr);
    let checked = model.check(&db, "Orders-pitr", Cut::Time { us: time_us })?;
    writeln!(
        out,
        "[7/7] point-in-time restore to {} (during the backup's build): {} GetItems, {} Queries ({} entries) equal the source at that µs",
        report::rfc3339_us(time_us),
        checked.items,
        checked.queries,
        checked.entries
    )?;
    drop(db);
    summary.total_s = started.elapsed().as_secs_f64();
    summary.peak_rss_mb = peak_rss_mb();
    summary.print(out, temp.is_some())?;
    drop(temp);
    Ok(())
}

/// Loads `args.items` orders through `apply_batch` (BatchWriteItem's path), with a bar.
fn load(db: &Database, args: &DemoArgs) -> Result<report::Load, DemoError> {
    let table = db.table(TABLE_NAME)?;
    let bar = crate::aws::progress_bar(None);
    bar.set_length(args.items);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "[2/7] {bar:40} {human_pos}/{human_len} orders {per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    let mut loaded = report::Load::default();
    let started = Instant::now();
    let mut first = 0;
    while first < args.items {
        let end = (first + LOAD_BATCH).min(args.items);
        let mut batch = Vec::with_capacity(usize::try_from(end - first).unwrap_or(0));
        for index in first..end {
            let item = order(args.seed, index, 0)?;
            loaded.bytes += item.to_canonical_json().len() as u64;
            batch.push((table.schema().table_key(&item)?, Change::Put(item)));
        }
        table.apply_batch(batch)?;
        bar.inc(end - first);
        first = end;
    }
    bar.finish_and_clear();
    loaded.seconds = started.elapsed().as_secs_f64();
    Ok(loaded)
}

/// A restore (`source` holds BackupArn, or SourceTableName and RestoreDateTime): the answer's
/// latency, time to ACTIVE, and time until every GSI is ACTIVE.
fn restore(
    db: &Database,
    out: &mut dyn std::io::Write,
    target: &str,
    source: &Value,
) -> Result<report::Restore, DemoError> {
    let mut request = source.clone();
    let operation = if source.get("BackupArn").is_some() {
        "RestoreTableFromBackup"
    } else {
        "RestoreTableToPointInTime"
    };
    if let Some(object) = request.as_object_mut() {
        object.insert("TargetTableName".into(), json!(target));
    }
    let requested = Instant::now();
    let answer = db.call(operation, &request)?;
    let answered = requested.elapsed();
    let bar = spinner(format!("{target}: loading the table and both LSIs"));
    wait_for(db, WaitFor::TableExists(target.into()))?;
    let active = requested.elapsed();
    bar.finish_and_clear();
    let described = db.call("DescribeTable", &json!({"TableName": target}))?;
    let statuses: Vec<String> = described
        .pointer("/Table/GlobalSecondaryIndexes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|g| {
            format!(
                "{} {}",
                g.get("IndexName").and_then(Value::as_str).unwrap_or("?"),
                g.get("IndexStatus").and_then(Value::as_str).unwrap_or("?")
            )
        })
        .collect();
    let bar = spinner(format!("{target}: backfilling the GSIs"));
    for gsi in GSIS {
        wait_for(
            db,
            WaitFor::IndexActive {
                table: target.into(),
                index: gsi.into(),
            },
        )?;
    }
    wait_for(
        db,
        WaitFor::GsiCaughtUp {
            table: target.into(),
        },
    )?;
    let gsis = requested.elapsed();
    bar.finish_and_clear();
    let items = described
        .pointer("/Table/ItemCount")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let step = if operation == "RestoreTableFromBackup" {
        "[5/7]"
    } else {
        "     "
    };
    writeln!(
        out,
        "{step} {operation} → {target}: answered in {:.1} ms ({}); ACTIVE after {:.2} s with both LSIs ({items} items; GSIs then: {}); all GSIs ACTIVE after {:.2} s",
        answered.as_secs_f64() * 1e3,
        answer
            .pointer("/TableDescription/TableStatus")
            .and_then(Value::as_str)
            .unwrap_or("?"),
        active.as_secs_f64(),
        statuses.join(", "),
        gsis.as_secs_f64()
    )?;
    Ok(report::Restore {
        items,
        active_s: active.as_secs_f64(),
        gsis_s: gsis.as_secs_f64(),
    })
}

/// A restore time between two writes, in the middle of the writer's run: after one write's
/// answer and at least 4 µs before the next began, so that the cut is unambiguous whatever
/// rounding the seconds-with-a-fraction request format brings.
fn pitr_time(writes: &[writer::Write]) -> Option<u64> {
    let middle = writes.len() / 2;
    writes
        .get(middle..)?
        .windows(2)
        .find_map(|pair| match pair {
            [a, b] if b.started_us >= a.acked_us + 4 => {
                Some(a.acked_us + (b.started_us - a.acked_us) / 2)
            }
            _ => None,
        })
}

fn spinner(message: impl Into<String>) -> indicatif::ProgressBar {
    let bar = crate::aws::spinner(message.into());
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn args(items: u64) -> DemoArgs {
        DemoArgs {
            items,
            seed: 7,
            keep: false,
            // Small: the load checkpoints several times, so restores merge real snapshots.
            memtable_mb: 1,
        }
    }

    #[test]
    fn the_demo_runs_every_stage_and_leaves_files_that_verify() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("db");
        let mut out = Vec::new();
        run(&args(3_000), Some(&data), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        for stage in [
            "[1/7]", "[2/7]", "[3/7]", "[4/7]", "[5/7]", "[6/7]", "[7/7]", "summary",
        ] {
            assert!(text.contains(stage), "{stage} missing:\n{text}");
        }
        assert!(text.contains("all equal"), "{text}");
        assert!(text.contains("files: the database is in"), "{text}");
        // The database is kept and sound; its backup verifies deeply, as the summary says.
        let io: Arc<dyn ddb_io::Io> = Arc::new(ddb_io::StdIo::new());
        let report = ddb_table::verify::verify_database(Arc::clone(&io), &data, true);
        assert!(report.is_sound(), "{report:?}");
        let backups: Vec<_> = std::fs::read_dir(data.join("backups"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("manifest.json").exists())
            .collect();
        assert_eq!(backups.len(), 1, "{backups:?}");
        let verified = ddb_backup::verify(io, &backups[0], ddb_backup::VerifyLevel::Deep).unwrap();
        assert!(verified.is_sound());
        assert!(verified.rows_checked >= 3_000 * 9 / 10);
        // Three tables: the source and the two restores.
        let db = Database::open(&data, DatabaseOptions::default()).unwrap();
        let tables = db.call("ListTables", &json!({})).unwrap();
        assert_eq!(
            tables["TableNames"],
            json!(["Orders", "Orders-pitr", "Orders-restored"])
        );
    }

    #[test]
    fn the_demo_refuses_a_directory_that_is_not_empty() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("something"), b"x").unwrap();
        let err = run(&args(10), Some(dir.path()), &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("is not empty"), "{err}");
        assert!(dir.path().join("something").exists());
    }

    #[test]
    fn a_pitr_time_lies_strictly_between_two_writes() {
        let at = |started_us, acked_us| writer::Write {
            index: 0,
            version: Some(1),
            started: Instant::now(),
            acked: Instant::now(),
            started_us,
            acked_us,
        };
        // The search starts in the middle; the first gap there is too short (1 µs), so the
        // next one is taken, and the time is its midpoint.
        let writes = [at(0, 10), at(11, 20), at(21, 30), at(31, 40), at(50, 60)];
        assert_eq!(pitr_time(&writes), Some(45));
        assert_eq!(pitr_time(&writes[..2]), None);
    }
}
