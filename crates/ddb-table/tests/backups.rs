//! Backups through the database: CreateBackup answers before any data is read, the exact cut
//! under concurrent writes (every backup equals the log replayed to its marker), the catalog
//! operations (Describe/List/Delete with their filters, paging and conflict rules), the
//! SYSTEM backup of a table deleted with PITR on, PITR settings and retention, schedules, and
//! backups that outlive their table and a reopen.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ddb_io::{Io, IoFile, OpenOptions};
use ddb_log::RecordType;
use ddb_model::ErrorKind;
use ddb_table::{Database, DatabaseOptions, WaitFor};
use serde_json::{Value, json};

const T: &str = "orders";

fn options(io: Arc<dyn Io>, background: bool) -> DatabaseOptions {
    let mut options = DatabaseOptions {
        io: Some(io),
        ..DatabaseOptions::default()
    };
    options.table.background = background;
    options.table.snapshot_block_bytes = 4096;
    options.backup.row_group_bytes = 16 << 10;
    options
}

fn create(db: &Database, name: &str) {
    db.call(
        "CreateTable",
        &json!({
            "TableName": name,
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"},
                {"AttributeName": "at", "AttributeType": "N"},
                {"AttributeName": "shop", "AttributeType": "S"}
            ],
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"}
            ],
            "LocalSecondaryIndexes": [{
                "IndexName": "by_at",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "at", "KeyType": "RANGE"}
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["note"]}
            }],
            "GlobalSecondaryIndexes": [{
                "IndexName": "by_shop",
                "KeySchema": [{"AttributeName": "shop", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
                "ProvisionedThroughput": {"ReadCapacityUnits": 7, "WriteCapacityUnits": 3}
            }],
            "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 4}
        }),
    )
    .unwrap();
}

fn put(db: &Database, table: &str, pk: u64, sk: u64, version: u64) {
    let mut item = json!({
        "pk": {"S": format!("user#{pk:04}")},
        "sk": {"N": sk.to_string()},
        "at": {"N": (version * 7 % 1000).to_string()},
        "note": {"S": format!("v{version} {}", "x".repeat((version % 50) as usize))},
    });
    if !version.is_multiple_of(3) {
        item["shop"] = json!({"S": format!("shop{}", version % 5)});
    }
    db.call("PutItem", &json!({"TableName": table, "Item": item}))
        .unwrap();
}

fn delete(db: &Database, table: &str, pk: u64, sk: u64) {
    db.call(
        "DeleteItem",
        &json!({"TableName": table, "Key": {"pk": {"S": format!("user#{pk:04}")}, "sk": {"N": sk.to_string()}}}),
    )
    .unwrap();
}

fn create_backup(db: &Database, table: &str, name: &str) -> Value {
    db.call(
        "CreateBackup",
        &json!({"TableName": table, "BackupName": name}),
    )
    .unwrap()
}

fn arn_of(response: &Value) -> String {
    response["BackupDetails"]["BackupArn"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn kind(result: ddb_model::Result<Value>) -> ErrorKind {
    result.unwrap_err().kind()
}

/// The backup's rows, key → item bytes, checking its verification on the way.
fn backup_rows(io: &Arc<dyn Io>, dir: &Path) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let report = ddb_backup::verify(Arc::clone(io), dir, ddb_backup::VerifyLevel::Deep).unwrap();
    assert!(report.is_sound(), "{dir:?}: {:?}", report.problems);
    let reader = ddb_backup::BackupReader::open(Arc::clone(io), dir).unwrap();
    reader
        .rows()
        .map(|row| {
            let row = row.unwrap();
            (row.key, row.item)
        })
        .collect()
}

/// The table replayed from its log up to `lsn` (the log must reach back to LSN 1).
fn log_state(db: &Database, table: &str, lsn: u64) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut state = BTreeMap::new();
    if lsn == 0 {
        return state;
    }
    let engine = db.engine_table(table).unwrap();
    for record in engine.read_log(1, lsn).unwrap() {
        let record = record.unwrap();
        match record.record_type {
            RecordType::Put => {
                state.insert(record.key, record.value);
            }
            RecordType::Delete => {
                state.remove(&record.key);
            }
            RecordType::Skippable(_) => {}
        }
    }
    state
}

fn backup_dir(response: &Value) -> PathBuf {
    PathBuf::from(response["BackupDirectory"].as_str().unwrap())
}

/// An `Io` that records the paths it opens (to show what CreateBackup touches).
#[derive(Debug)]
struct Recording {
    inner: Arc<dyn Io>,
    opened: Mutex<Vec<PathBuf>>,
    on: AtomicBool,
}

impl Io for Recording {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn open(&self, path: &Path, options: OpenOptions) -> io::Result<Arc<dyn IoFile>> {
        if self.on.load(Ordering::SeqCst) {
            self.opened.lock().unwrap().push(path.to_owned());
        }
        self.inner.open(path, options)
    }
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.inner.create_dir_all(path)
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<OsString>> {
        if self.on.load(Ordering::SeqCst) {
            self.opened.lock().unwrap().push(path.to_owned());
        }
        self.inner.read_dir(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.inner.remove_file(path)
    }
    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        self.inner.remove_dir(path)
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.inner.sync_dir(path)
    }
    fn exists(&self, path: &Path) -> io::Result<bool> {
        self.inner.exists(path)
    }
}

#[test]
fn create_backup_answers_before_reading_any_table_data() {
    let dir = tempfile::tempdir().unwrap();
    let recording = Arc::new(Recording {
        inner: Arc::new(ddb_io::StdIo),
        opened: Mutex::new(Vec::new()),
        on: AtomicBool::new(false),
    });
    let io: Arc<dyn Io> = recording.clone();
    let db = Database::open(dir.path(), options(Arc::clone(&io), false)).unwrap();
    create(&db, T);
    for i in 0..300 {
        put(&db, T, i % 40, i, i);
    }
    db.checkpoint(T).unwrap();
    for i in 0..100 {
        put(&db, T, i % 40, i + 1000, i);
    }
    recording.on.store(true, Ordering::SeqCst);
    let response = create_backup(&db, T, "first-backup");
    recording.on.store(false, Ordering::SeqCst);
    assert_eq!(response["BackupDetails"]["BackupStatus"], "CREATING");
    assert_eq!(response["BackupDetails"]["BackupType"], "USER");
    assert!(response["BackupDetails"].get("BackupSizeBytes").is_none());
    let backup = backup_dir(&response);
    // Structurally: CreateBackup opened nothing but its own job file's publication in the
    // backup directory — no snapshot, no log segment — and wrote no artifact.
    let opened = recording.opened.lock().unwrap().clone();
    assert!(!opened.is_empty());
    for path in &opened {
        assert!(
            path.starts_with(&backup),
            "CreateBackup touched {path:?} outside its backup directory"
        );
    }
    assert!(!backup.join("data").exists());
    assert!(!backup.join("manifest.json").exists());
    let arn = arn_of(&response);
    assert!(
        arn.starts_with(&format!(
            "arn:aws:dynamodb:ddblocal:000000000000:table/{T}/backup/"
        )),
        "{arn}"
    );
    let id = arn.rsplit('/').next().unwrap();
    assert_eq!(id.len(), 23);
    assert!(id[..14].bytes().all(|b| b.is_ascii_digit()));

    // Writes after the marker are not in the backup.
    let marker = db.backup(&arn).unwrap().marker_lsn;
    put(&db, T, 1, 99_999, 5);
    delete(&db, T, 0, 0);
    db.run_backup_jobs().unwrap();
    let described = db
        .call("DescribeBackup", &json!({"BackupArn": arn}))
        .unwrap();
    let details = &described["BackupDescription"]["BackupDetails"];
    assert_eq!(details["BackupStatus"], "AVAILABLE");
    assert!(details["BackupSizeBytes"].as_u64().unwrap() > 0);
    let rows = backup_rows(&io, &backup);
    assert_eq!(rows, log_state(&db, T, marker));
    assert_eq!(rows.len(), 400);
    let source = &described["BackupDescription"]["SourceTableDetails"];
    assert_eq!(source["ItemCount"], 400);
    assert_eq!(source["TableName"], T);
    assert_eq!(source["ProvisionedThroughput"]["ReadCapacityUnits"], 5);
    assert_eq!(source["BillingMode"], "PROVISIONED");
    let features = &described["BackupDescription"]["SourceTableFeatureDetails"];
    assert_eq!(features["LocalSecondaryIndexes"][0]["IndexName"], "by_at");
    assert_eq!(
        features["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"]["ReadCapacityUnits"],
        7
    );
    assert_eq!(described["BackupMarker"]["Lsn"], marker);
}

#[test]
fn every_backup_under_concurrent_writes_is_the_log_at_its_marker() {
    let dir = tempfile::tempdir().unwrap();
    let io: Arc<dyn Io> = Arc::new(ddb_io::StdIo);
    let mut opts = options(Arc::clone(&io), true);
    // Checkpoints during the run (so backups merge from snapshots that are then replaced).
    opts.table.memtable_budget_bytes = 24 << 10;
    opts.table.log_segment_bytes = 16 << 10;
    let db = Database::open(dir.path(), opts).unwrap();
    create(&db, T);
    // PITR from the start keeps the whole log (its window base is the empty table), so the
    // test can replay it to any marker.
    db.call(
        "UpdateContinuousBackups",
        &json!({"TableName": T, "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}}),
    )
    .unwrap();
    let written = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2u64)
        .map(|w| {
            let db = Arc::clone(&db);
            let written = Arc::clone(&written);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    let pk = (i * 7 + w) % 60;
                    let sk = i % 13;
                    if i % 10 == 9 {
                        delete(&db, T, pk, sk);
                    } else {
                        put(&db, T, pk, sk, i + w * 1_000_000);
                    }
                    i += 1;
                    written.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    let mut arns = Vec::new();
    for round in 1..=6u64 {
        // Wait for progress by counting writes, never by sleeping.
        while written.load(Ordering::SeqCst) < round * 400 {
            std::thread::yield_now();
        }
        arns.push(arn_of(&create_backup(&db, T, &format!("live-{round}"))));
    }
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.join().unwrap();
    }
    let mut markers = Vec::new();
    for arn in &arns {
        assert!(
            db.wait(
                &WaitFor::BackupAvailable(arn.clone()),
                Duration::from_secs(120)
            )
            .unwrap()
        );
        let entry = db.backup(arn).unwrap();
        markers.push(entry.marker_lsn);
        let rows = backup_rows(&io, &entry.dir);
        assert_eq!(
            rows,
            log_state(&db, T, entry.marker_lsn),
            "backup {arn} at LSN {}",
            entry.marker_lsn
        );
    }
    assert!(markers.windows(2).all(|w| w[0] <= w[1]), "{markers:?}");
    let engine = db.engine_table(T).unwrap();
    assert!(
        engine.pitr_snapshots().1.lsn > 0,
        "no checkpoint ran during the test"
    );
}

#[test]
fn catalog_rules_list_filters_and_paging() {
    let dir = tempfile::tempdir().unwrap();
    let io: Arc<dyn Io> = Arc::new(ddb_io::StdIo);
    let db = Database::open(dir.path(), options(Arc::clone(&io), false)).unwrap();
    create(&db, T);
    create(&db, "other");
    for i in 0..50 {
        put(&db, T, i, i, i);
        put(&db, "other", i, i, i);
    }
    // Validation and not-found.
    assert_eq!(
        kind(db.call("CreateBackup", &json!({"TableName": T, "BackupName": "x"}))),
        ErrorKind::Validation
    );
    assert_eq!(
        kind(db.call(
            "CreateBackup",
            &json!({"TableName": T, "BackupName": "bad name"})
        )),
        ErrorKind::Validation
    );
    assert_eq!(
        kind(db.call(
            "CreateBackup",
            &json!({"TableName": "nope", "BackupName": "abc"})
        )),
        ErrorKind::TableNotFound
    );
    let first = create_backup(&db, T, "one");
    let first_arn = arn_of(&first);
    // While CREATING: the source cannot be deleted, nor the backup.
    assert_eq!(
        kind(db.call("DeleteTable", &json!({"TableName": T}))),
        ErrorKind::ResourceInUse
    );
    assert_eq!(
        kind(db.call("DeleteBackup", &json!({"BackupArn": first_arn}))),
        ErrorKind::BackupInUse
    );
    db.run_backup_jobs().unwrap();
    let mut all = vec![first_arn.clone()];
    for n in 0..4 {
        all.push(arn_of(&create_backup(&db, T, &format!("t-{n}"))));
        all.push(arn_of(&create_backup(&db, "other", &format!("o-{n}"))));
    }
    db.run_backup_jobs().unwrap();

    // Paging: every USER backup once, in creation order, through pages of 3.
    let mut seen = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let mut request = json!({"Limit": 3});
        if let Some(s) = &start {
            request["ExclusiveStartBackupArn"] = json!(s);
        }
        let page = db.call("ListBackups", &request).unwrap();
        let summaries = page["BackupSummaries"].as_array().unwrap();
        assert!(summaries.len() <= 3);
        seen.extend(
            summaries
                .iter()
                .map(|s| s["BackupArn"].as_str().unwrap().to_owned()),
        );
        match page.get("LastEvaluatedBackupArn") {
            Some(last) => start = Some(last.as_str().unwrap().to_owned()),
            None => break,
        }
    }
    let mut sorted = all.clone();
    sorted.sort_by_key(|a| a.rsplit('/').next().unwrap().to_owned());
    assert_eq!(seen, sorted);

    // By table.
    let mine = db
        .call("ListBackups", &json!({"TableName": "other"}))
        .unwrap();
    let mine = mine["BackupSummaries"].as_array().unwrap();
    assert_eq!(mine.len(), 4);
    assert!(mine.iter().all(|s| s["TableName"] == "other"));
    assert!(mine.iter().all(|s| s["BackupStatus"] == "AVAILABLE"));
    // Time range on request time: lower inclusive, upper exclusive.
    let created: Vec<f64> = db.call("ListBackups", &json!({})).unwrap()["BackupSummaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["BackupCreationDateTime"].as_f64().unwrap())
        .collect();
    let pivot = created[4];
    let lower = db
        .call("ListBackups", &json!({"TimeRangeLowerBound": pivot}))
        .unwrap();
    let upper = db
        .call("ListBackups", &json!({"TimeRangeUpperBound": pivot}))
        .unwrap();
    let count = |v: &Value| v["BackupSummaries"].as_array().unwrap().len();
    assert_eq!(
        count(&lower),
        created.iter().filter(|t| **t >= pivot).count()
    );
    assert_eq!(
        count(&upper),
        created.iter().filter(|t| **t < pivot).count()
    );
    assert_eq!(count(&lower) + count(&upper), all.len());
    assert_eq!(
        count(
            &db.call("ListBackups", &json!({"BackupType": "SYSTEM"}))
                .unwrap()
        ),
        0
    );
    assert_eq!(
        kind(db.call("ListBackups", &json!({"BackupType": "WEEKLY"}))),
        ErrorKind::Validation
    );
    assert_eq!(
        kind(db.call("ListBackups", &json!({"Limit": 0}))),
        ErrorKind::Validation
    );

    // Delete: DELETED once, then not found; the files are gone.
    let doomed = all[2].clone();
    let doomed_dir = db.backup(&doomed).unwrap().dir;
    let deleted = db
        .call("DeleteBackup", &json!({"BackupArn": doomed}))
        .unwrap();
    assert_eq!(
        deleted["BackupDescription"]["BackupDetails"]["BackupStatus"],
        "DELETED"
    );
    assert!(!doomed_dir.exists());
    assert_eq!(
        kind(db.call("DeleteBackup", &json!({"BackupArn": doomed}))),
        ErrorKind::BackupNotFound
    );
    assert_eq!(
        kind(db.call("DescribeBackup", &json!({"BackupArn": doomed}))),
        ErrorKind::BackupNotFound
    );
    assert_eq!(
        kind(db.call(
            "DescribeBackup",
            &json!({"BackupArn": "arn:aws:dynamodb:ddblocal:000000000000:table/x/backup/01234567890123-deadbeef"})
        )),
        ErrorKind::BackupNotFound
    );

    // A restore reading a backup blocks its deletion.
    db.begin_backup_read(&first_arn).unwrap();
    assert_eq!(
        kind(db.call("DeleteBackup", &json!({"BackupArn": first_arn}))),
        ErrorKind::BackupInUse
    );
    db.end_backup_read(&first_arn);

    // Backups outlive their table, and a reopen.
    db.call("DeleteTable", &json!({"TableName": T})).unwrap();
    drop(db);
    let db = Database::open(dir.path(), options(Arc::clone(&io), false)).unwrap();
    let listed = db.call("ListBackups", &json!({"TableName": T})).unwrap();
    // "one" and t-0..t-3 (the deleted one was of "other").
    assert_eq!(count(&listed), 5);
    let entry = db.backup(&first_arn).unwrap();
    assert_eq!(backup_rows(&io, &entry.dir).len(), 50);
    db.call("DeleteBackup", &json!({"BackupArn": first_arn}))
        .unwrap();
}

#[test]
fn deleting_a_table_with_pitr_makes_a_system_backup_first() {
    let dir = tempfile::tempdir().unwrap();
    let io: Arc<dyn Io> = Arc::new(ddb_io::StdIo);
    let db = Database::open(dir.path(), options(Arc::clone(&io), false)).unwrap();
    create(&db, T);
    for i in 0..80 {
        put(&db, T, i % 9, i, i);
    }
    db.call(
        "UpdateContinuousBackups",
        &json!({"TableName": T, "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true, "RecoveryPeriodInDays": 7}}),
    )
    .unwrap();
    let expected = log_state(&db, T, db.engine_table(T).unwrap().last_lsn());
    let response = db.call("DeleteTable", &json!({"TableName": T})).unwrap();
    assert_eq!(response["TableDescription"]["TableStatus"], "DELETING");
    // Data calls see no table meanwhile.
    assert_eq!(
        kind(db.call(
            "GetItem",
            &json!({"TableName": T, "Key": {"pk": {"S": "user#0000"}, "sk": {"N": "0"}}})
        )),
        ErrorKind::ResourceNotFound
    );
    // A crash now: the reopen finishes the SYSTEM backup, then the deletion.
    drop(db);
    let db = Database::open(dir.path(), options(Arc::clone(&io), false)).unwrap();
    db.run_backup_jobs().unwrap();
    assert_eq!(
        kind(db.call("DescribeTable", &json!({"TableName": T}))),
        ErrorKind::ResourceNotFound
    );
    let system = db
        .call("ListBackups", &json!({"BackupType": "SYSTEM"}))
        .unwrap();
    let summaries = system["BackupSummaries"].as_array().unwrap();
    assert_eq!(summaries.len(), 1);
    let summary = &summaries[0];
    assert_eq!(summary["BackupName"], format!("{T}$DeletedTableBackup"));
    assert_eq!(summary["BackupType"], "SYSTEM");
    let created = summary["BackupCreationDateTime"].as_f64().unwrap();
    let expiry = summary["BackupExpiryDateTime"].as_f64().unwrap();
    assert!((expiry - created - 35.0 * 86_400.0).abs() < 0.002);
    assert_eq!(count_user(&db), 0, "a SYSTEM backup is not listed as USER");
    let arn = summary["BackupArn"].as_str().unwrap();
    let entry = db.backup(arn).unwrap();
    assert_eq!(backup_rows(&io, &entry.dir), expected);
}

fn count_user(db: &Database) -> usize {
    db.call("ListBackups", &json!({})).unwrap()["BackupSummaries"]
        .as_array()
        .unwrap()
        .len()
}

#[test]
fn pitr_settings_window_and_retention() {
    let dir = tempfile::tempdir().unwrap();
    let io: Arc<dyn Io> = Arc::new(ddb_io::StdIo);
    let mut opts = options(Arc::clone(&io), false);
    opts.table.log_segment_bytes = 8 << 10;
    let db = Database::open(dir.path(), opts.clone()).unwrap();
    create(&db, T);
    let describe = |db: &Database| {
        db.call("DescribeContinuousBackups", &json!({"TableName": T}))
            .unwrap()["ContinuousBackupsDescription"]
            .clone()
    };
    let off = describe(&db);
    assert_eq!(off["ContinuousBackupsStatus"], "ENABLED");
    assert_eq!(
        off["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"],
        "DISABLED"
    );
    for bad in [0, 36] {
        assert_eq!(
            kind(db.call(
                "UpdateContinuousBackups",
                &json!({"TableName": T, "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true, "RecoveryPeriodInDays": bad}})
            )),
            ErrorKind::Validation
        );
    }
    assert_eq!(
        kind(db.call(
            "UpdateContinuousBackups",
            &json!({"TableName": "nope", "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}})
        )),
        ErrorKind::TableNotFound
    );
    for i in 0..100 {
        put(&db, T, i % 10, i, i);
    }
    db.checkpoint(T).unwrap();
    let enabled = db
        .call(
            "UpdateContinuousBackups",
            &json!({"TableName": T, "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true, "RecoveryPeriodInDays": 3}}),
        )
        .unwrap();
    let pitr = &enabled["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"];
    assert_eq!(pitr["PointInTimeRecoveryStatus"], "ENABLED");
    assert_eq!(pitr["RecoveryPeriodInDays"], 3);
    let earliest = pitr["EarliestRestorableDateTime"].as_f64().unwrap();
    assert!(pitr["LatestRestorableDateTime"].as_f64().unwrap() >= earliest);
    let engine = db.engine_table(T).unwrap();
    let (_, base) = engine.pitr_snapshots();
    // Three more checkpoints: the snapshot current at enabling stays (the window's base) with
    // the log after it.
    for round in 0..3 {
        for i in 0..100 {
            put(&db, T, i % 10, i + 1000 * (round + 1), i);
        }
        db.checkpoint(T).unwrap();
    }
    let (retained, current) = engine.pitr_snapshots();
    assert_eq!(
        retained.first().map(|r| r.lsn),
        Some(base.lsn),
        "{retained:?}"
    );
    assert!(retained.len() <= 2);
    let table_id = engine.id_hex();
    let ckpt = |lsn: u64| {
        dir.path()
            .join("tables")
            .join(&table_id)
            .join(format!("ckpt-{lsn:020}"))
    };
    assert!(ckpt(base.lsn).join("table").exists());
    // The log reaches back to the base: replaying it onto the base gives the current state.
    assert_eq!(
        engine.read_log(base.lsn + 1, current.lsn).unwrap().count() as u64,
        current.lsn - base.lsn
    );
    // A reopen keeps them.
    drop(engine);
    drop(db);
    let db = Database::open(dir.path(), opts.clone()).unwrap();
    let engine = db.engine_table(T).unwrap();
    assert_eq!(engine.pitr_snapshots().0, retained);
    assert!(ckpt(base.lsn).join("table").exists());
    assert!(engine.read_log(base.lsn + 1, current.lsn).is_ok());

    // Disabling is refused while a backup is in progress.
    let arn = arn_of(&create_backup(&db, T, "pending"));
    assert_eq!(
        kind(db.call(
            "UpdateContinuousBackups",
            &json!({"TableName": T, "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": false}})
        )),
        ErrorKind::TableInUse
    );
    db.run_backup_jobs().unwrap();
    assert_eq!(db.backup(&arn).unwrap().status.as_str(), "AVAILABLE");
    db.call(
        "UpdateContinuousBackups",
        &json!({"TableName": T, "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": false}}),
    )
    .unwrap();
    // The next checkpoint lets the old snapshots and their log go.
    put(&db, T, 1, 1, 1);
    db.checkpoint(T).unwrap();
    assert!(engine.pitr_snapshots().0.is_empty());
    assert!(!ckpt(base.lsn).exists());
    assert!(engine.read_log(base.lsn + 1, engine.last_lsn()).is_err());
    // Re-enabling starts a new window.
    let again = db
        .call(
            "UpdateContinuousBackups",
            &json!({"TableName": T, "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}}),
        )
        .unwrap();
    let pitr = &again["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"];
    assert_eq!(pitr["RecoveryPeriodInDays"], 35);
    assert!(pitr["EarliestRestorableDateTime"].as_f64().unwrap() > earliest);
}

#[test]
fn schedules_take_one_run_and_keep_the_last_n_of_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let io: Arc<dyn Io> = Arc::new(ddb_io::StdIo);
    let db = Database::open(dir.path(), options(Arc::clone(&io), false)).unwrap();
    create(&db, T);
    put(&db, T, 1, 1, 1);
    assert_eq!(
        kind(db.call(
            "PutBackupSchedule",
            &json!({"TableName": T, "Schedule": {"IntervalSeconds": 5, "NamePrefix": "auto"}})
        )),
        ErrorKind::Validation
    );
    assert_eq!(
        kind(db.call(
            "PutBackupSchedule",
            &json!({"TableName": T, "Schedule": {"DailyAt": "25:00", "NamePrefix": "auto"}})
        )),
        ErrorKind::Validation
    );
    // A manual backup, never touched by the schedule's retention.
    let manual = arn_of(&create_backup(&db, T, "manual"));
    db.run_backup_jobs().unwrap();
    let put_schedule = db
        .call(
            "PutBackupSchedule",
            &json!({"TableName": T, "Schedule": {"IntervalSeconds": 60, "NamePrefix": "auto", "KeepLast": 2}}),
        )
        .unwrap();
    assert_eq!(put_schedule["BackupSchedule"]["NamePrefix"], "auto");
    assert!(put_schedule["BackupSchedule"]["NextRunDateTime"].is_number());
    let described = db
        .call("DescribeBackupSchedule", &json!({"TableName": T}))
        .unwrap();
    assert_eq!(described["BackupSchedule"]["KeepLast"], 2);
    // Not due yet: nothing happens.
    db.run_backup_jobs().unwrap();
    assert_eq!(count_user(&db), 1);
    // Runs: each tick past a due time takes exactly one backup, however many were missed.
    let created_ms = (described["BackupSchedule"]["CreatedDateTime"]
        .as_f64()
        .unwrap()
        * 1000.0)
        .round() as u64;
    for run in 1..=4u64 {
        db.run_scheduled_at(created_ms + run * 10 * 60_000).unwrap();
        db.run_scheduled_at(created_ms + run * 10 * 60_000 + 1)
            .unwrap();
        db.run_backup_jobs().unwrap();
    }
    let listed = db.call("ListBackups", &json!({})).unwrap();
    let names: Vec<String> = listed["BackupSummaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["BackupName"].as_str().unwrap().to_owned())
        .collect();
    // One more tick applies retention to the last run's backup.
    db.run_scheduled_at(created_ms + 40 * 60_000 + 30_000)
        .unwrap();
    let after = db.call("ListBackups", &json!({})).unwrap();
    let after: Vec<String> = after["BackupSummaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["BackupName"].as_str().unwrap().to_owned())
        .collect();
    assert!(names.len() >= 3, "{names:?}");
    assert_eq!(after.len(), 3, "{after:?}");
    assert!(after.contains(&"manual".to_owned()));
    assert_eq!(
        after.iter().filter(|n| n.starts_with("auto-")).count(),
        2,
        "{after:?}"
    );
    assert!(db.backup(&manual).is_ok());
    db.call("DeleteBackupSchedule", &json!({"TableName": T}))
        .unwrap();
    assert_eq!(
        db.call("DescribeBackupSchedule", &json!({"TableName": T}))
            .unwrap(),
        json!({})
    );
}

#[test]
fn a_failing_job_stays_creating_says_why_and_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let io: Arc<dyn Io> = Arc::new(ddb_io::StdIo);
    let db = Database::open(dir.path(), options(Arc::clone(&io), false)).unwrap();
    create(&db, T);
    for i in 0..20 {
        put(&db, T, i, i, i);
    }
    db.checkpoint(T).unwrap();
    let arn = arn_of(&create_backup(&db, T, "doomed"));
    // Damage the snapshot the job merges from (a disk losing files under the database).
    let engine = db.engine_table(T).unwrap();
    let (_, current) = engine.pitr_snapshots();
    let manifest = dir
        .path()
        .join("tables")
        .join(engine.id_hex())
        .join(format!("ckpt-{:020}", current.lsn))
        .join("table")
        .join(ddb_snapshot::MANIFEST_FILE_NAME);
    let saved = std::fs::read(&manifest).unwrap();
    std::fs::remove_file(&manifest).unwrap();
    assert!(db.run_backup_jobs().is_err());
    let described = db
        .call("DescribeBackup", &json!({"BackupArn": arn}))
        .unwrap();
    assert_eq!(
        described["BackupDescription"]["BackupDetails"]["BackupStatus"],
        "CREATING"
    );
    let why = described["BackupJobLastError"].as_str().unwrap();
    assert!(why.contains(ddb_snapshot::MANIFEST_FILE_NAME), "{why}");
    // Repaired, the retry makes it AVAILABLE and the error is gone.
    std::fs::write(&manifest, saved).unwrap();
    db.run_backup_jobs().unwrap();
    let described = db
        .call("DescribeBackup", &json!({"BackupArn": arn}))
        .unwrap();
    assert_eq!(
        described["BackupDescription"]["BackupDetails"]["BackupStatus"],
        "AVAILABLE"
    );
    assert!(described.get("BackupJobLastError").is_none());
}

/// Regression (found by the crash loop, `ddb-crash`): a snapshot a checkpoint replaced but an
/// unfinished job still holds is kept alive only by the job's in-memory hold. Closing the
/// database dropped the hold — and with it the snapshot's directory — so the next open could
/// not re-take the hold (`snapshot.manifest: No such file or directory`) and the database did
/// not open. A held snapshot's files are now removed only when the job lets go of it.
#[test]
fn a_snapshot_held_by_an_unfinished_backup_survives_a_close_and_the_backup_completes() {
    let dir = tempfile::tempdir().unwrap();
    let io: Arc<dyn Io> = Arc::new(ddb_io::StdIo);
    let mut opts = options(Arc::clone(&io), false);
    opts.backup.worker = false;
    let db = Database::open(dir.path(), opts.clone()).unwrap();
    create(&db, T);
    for n in 0..30 {
        put(&db, T, n % 4, n, n);
    }
    db.checkpoint(T).unwrap();
    let arn = arn_of(&create_backup(&db, T, "held"));
    // A later checkpoint replaces the snapshot the queued backup holds.
    for n in 30..60 {
        put(&db, T, n % 4, n, n);
    }
    db.checkpoint(T).unwrap();
    drop(db);
    let db = Database::open(dir.path(), opts).unwrap();
    db.run_backup_jobs().unwrap();
    let entry = db.backup(&arn).unwrap();
    assert_eq!(entry.status.as_str(), "AVAILABLE");
    assert_eq!(backup_rows(&io, &entry.dir).len(), 30);
    let report = ddb_table::verify::verify_database(Arc::clone(&io), dir.path(), true);
    assert!(report.is_sound(), "{:?}", report.findings);
}
