//! Point-in-time restores through the database: restores at chosen times (between two writes
//! in the same second, the window's edges) equal the model; outside the window the right
//! exception; a table deleted with PITR on restores from its SYSTEM backup; unfinished restores
//! resume after a reopen with their source held across checkpoints.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

#[path = "restore_common/mod.rs"]
mod common;

use common::*;

#[test]
fn point_in_time_restores_equal_the_model_at_each_time() {
    let dir = tempfile::tempdir().unwrap();
    // Commit times from a stepped clock that starts after PITR is enabled (the window starts at
    // the real time of enabling).
    let now_us = ddb_log::SystemClock.now_us();
    let clock = Arc::new(TestClock(AtomicU64::new(now_us + 5_000_000)));
    let mut opts = options(io());
    opts.table.clock = Arc::clone(&clock) as Arc<dyn ddb_log::Clock>;
    let db = Database::open(dir.path(), opts).unwrap();
    db.call("CreateTable", &definition(SRC)).unwrap();
    assert_eq!(
        kind(db.call(
            "RestoreTableToPointInTime",
            &json!({"SourceTableName": SRC, "TargetTableName": "pitr0", "UseLatestRestorableTime": true})
        )),
        ErrorKind::PointInTimeRecoveryUnavailable
    );
    db.call(
        "UpdateContinuousBackups",
        &json!({"TableName": SRC, "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}}),
    )
    .unwrap();
    let mut rng = Rng(3);
    // (commit time µs, the items at that time), after each write.
    let mut history: Vec<(u64, State)> = Vec::new();
    let mut state = BTreeMap::new();
    for step in 0..120u64 {
        // Several writes share a second; some share a millisecond.
        clock.advance_us(if step % 10 == 0 { 1_000_000 } else { 1_700 });
        let (pk, sk) = (rng.below(6), rng.below(15));
        if rng.below(5) == 0 {
            db.call("DeleteItem", &json!({"TableName": SRC, "Key": key(pk, sk)}))
                .unwrap();
            state.remove(&(pk, sk));
        } else {
            let it = item(&mut rng, pk, sk);
            put(&db, SRC, &it);
            state.insert((pk, sk), it);
        }
        if step == 60 {
            db.checkpoint(SRC).unwrap();
        }
        history.push((clock.now_us(), state.clone()));
    }
    let window = db
        .call("DescribeContinuousBackups", &json!({"TableName": SRC}))
        .unwrap();
    let pitr = &window["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"];
    let earliest = pitr["EarliestRestorableDateTime"].as_f64().unwrap();
    let latest = pitr["LatestRestorableDateTime"].as_f64().unwrap();
    // Outside the window.
    for outside in [earliest - 10.0, latest + 10.0] {
        assert_eq!(
            kind(db.call(
                "RestoreTableToPointInTime",
                &json!({"SourceTableName": SRC, "TargetTableName": "pitrx", "RestoreDateTime": outside})
            )),
            ErrorKind::InvalidRestoreTime
        );
    }
    // Times after chosen writes, between two writes 1.7 ms apart in the same second, and the
    // window's edges.
    let mut cases: Vec<(f64, State)> = Vec::new();
    for i in [0usize, 5, 33, 59, 60, 61, 90, 118] {
        let (t, s) = &history[i];
        cases.push(((*t + 800) as f64 / 1e6, s.clone()));
    }
    let (t, s) = history.last().unwrap();
    cases.push((*t as f64 / 1e6, s.clone()));
    cases.push((earliest, BTreeMap::new()));
    cases.push((latest, history.last().unwrap().1.clone()));
    for (n, (time, expected)) in cases.iter().enumerate() {
        let target = format!("pitr{n}");
        let response = db
            .call(
                "RestoreTableToPointInTime",
                &json!({"SourceTableName": SRC, "TargetTableName": target, "RestoreDateTime": time}),
            )
            .unwrap();
        assert_eq!(response["TableDescription"]["TableStatus"], "CREATING");
        db.run_restore_jobs().unwrap();
        let got = scan_all(&|r: &Value| db.call("Scan", r), &target);
        let want: Vec<Value> = expected.values().cloned().collect();
        assert_eq!(got.len(), want.len(), "case {n} at {time}");
        let want_model = model(&target, &want);
        assert_eq!(
            got,
            scan_all(&|r: &Value| model_call(&want_model)("Scan", r), &target),
            "case {n}"
        );
        assert_queries_equal(&db, &want_model, &target, "by_at");
    }
    let latest_restore = db
        .call(
            "RestoreTableToPointInTime",
            &json!({"SourceTableName": SRC, "TargetTableName": "plast", "UseLatestRestorableTime": true}),
        )
        .unwrap();
    assert_eq!(
        latest_restore["TableDescription"]["RestoreSummary"]["SourceTableArn"],
        table_status(&db, SRC)["TableArn"]
    );
    db.run_restore_jobs().unwrap();
    assert_eq!(
        table_status(&db, "plast")["ItemCount"],
        history.last().unwrap().1.len()
    );
}

#[test]
fn a_table_deleted_with_pitr_on_restores_from_its_system_backup() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), options(io())).unwrap();
    db.call("CreateTable", &definition(SRC)).unwrap();
    db.call(
        "UpdateContinuousBackups",
        &json!({"TableName": SRC, "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}}),
    )
    .unwrap();
    let mut rng = Rng(9);
    let mut items = Vec::new();
    for n in 0..60 {
        let it = item(&mut rng, n % 7, n);
        put(&db, SRC, &it);
        items.push(it);
    }
    db.call("DeleteTable", &json!({"TableName": SRC})).unwrap();
    db.run_backup_jobs().unwrap();
    assert_eq!(
        kind(db.call("DescribeTable", &json!({"TableName": SRC}))),
        ErrorKind::ResourceNotFound
    );
    // Only its state at deletion is restorable.
    assert_eq!(
        kind(db.call(
            "RestoreTableToPointInTime",
            &json!({"SourceTableName": SRC, "TargetTableName": "back", "RestoreDateTime": 1_000_000.0})
        )),
        ErrorKind::InvalidRestoreTime
    );
    assert_eq!(
        kind(db.call(
            "RestoreTableToPointInTime",
            &json!({"SourceTableName": "never", "TargetTableName": "back", "UseLatestRestorableTime": true})
        )),
        ErrorKind::TableNotFound
    );
    let response = db
        .call(
            "RestoreTableToPointInTime",
            &json!({"SourceTableName": SRC, "TargetTableName": "back", "UseLatestRestorableTime": true}),
        )
        .unwrap();
    let summary = &response["TableDescription"]["RestoreSummary"];
    assert!(
        summary["SourceBackupArn"]
            .as_str()
            .unwrap()
            .contains("/backup/"),
        "{summary}"
    );
    db.run_restore_jobs().unwrap();
    let reference = model("back", &items);
    let got = scan_all(&|r: &Value| db.call("Scan", r), "back");
    assert_eq!(
        got,
        scan_all(&|r: &Value| model_call(&reference)("Scan", r), "back")
    );
    assert_queries_equal(&db, &reference, "back", "by_rank");
    finish_backfills(&db, "back");
    assert_queries_equal(&db, &reference, "back", "by_city");
}

#[test]
fn unfinished_restores_resume_after_a_reopen_and_their_source_stays_held() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(21);
    let (arn, items) = {
        let db = Database::open(dir.path(), options(io())).unwrap();
        let (arn, items) = backup_under_writes(&db, &mut rng);
        db.call(
            "UpdateContinuousBackups",
            &json!({"TableName": SRC, "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}}),
        )
        .unwrap();
        db.call(
            "RestoreTableFromBackup",
            &json!({"TargetTableName": "later", "BackupArn": arn}),
        )
        .unwrap();
        (arn, items)
    };
    let at_request;
    {
        let db = Database::open(dir.path(), options(io())).unwrap();
        assert_eq!(table_status(&db, "later")["TableStatus"], "CREATING");
        at_request = scan_all(&|r: &Value| db.call("Scan", r), SRC);
        db.call(
            "RestoreTableToPointInTime",
            &json!({"SourceTableName": SRC, "TargetTableName": "asof", "UseLatestRestorableTime": true}),
        )
        .unwrap();
        // The source moves on and checkpoints twice: the held snapshot and log must stay.
        for round in 0..2 {
            for n in 0..80 {
                let pk = rng.below(12);
                put(&db, SRC, &item(&mut rng, pk, 1000 + round * 100 + n));
            }
            db.checkpoint(SRC).unwrap();
        }
        assert_eq!(
            kind(db.call("DeleteBackup", &json!({"BackupArn": arn}))),
            ErrorKind::BackupInUse
        );
    }
    let db = Database::open(dir.path(), options(io())).unwrap();
    assert_eq!(
        kind(db.call("DeleteBackup", &json!({"BackupArn": arn}))),
        ErrorKind::BackupInUse
    );
    db.run_restore_jobs().unwrap();
    let reference = model("later", &items);
    assert_eq!(
        scan_all(&|r: &Value| db.call("Scan", r), "later"),
        scan_all(&|r: &Value| model_call(&reference)("Scan", r), "later")
    );
    assert_eq!(
        scan_all(&|r: &Value| db.call("Scan", r), "asof"),
        at_request
    );
    assert_eq!(table_status(&db, "asof")["TableStatus"], "ACTIVE");
    db.call("DeleteBackup", &json!({"BackupArn": arn})).unwrap();
}

#[derive(Debug)]
struct TestClock(AtomicU64);

impl ddb_log::Clock for TestClock {
    fn now_us(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl TestClock {
    fn advance_us(&self, us: u64) {
        self.0.fetch_add(us, Ordering::SeqCst);
    }
}

/// A checkpoint published in the same millisecond as the restore time, whose cut holds a
/// write committed after it (µs later), must not be the restore's base: the snapshot's time is
/// its publication, floored to the ms, which is not a bound on its commits.
#[test]
fn a_checkpoint_in_the_same_millisecond_does_not_leak_a_later_write_into_the_restore() {
    let dir = tempfile::tempdir().unwrap();
    let now_us = ddb_log::SystemClock.now_us();
    // A millisecond boundary after PITR is enabled (the window starts at the real time).
    let base = (now_us / 1000 + 5_000) * 1000;
    let clock = Arc::new(TestClock(AtomicU64::new(base + 10)));
    let mut opts = options(io());
    opts.table.clock = Arc::clone(&clock) as Arc<dyn ddb_log::Clock>;
    let db = Database::open(dir.path(), opts).unwrap();
    db.call("CreateTable", &definition(SRC)).unwrap();
    db.call(
        "UpdateContinuousBackups",
        &json!({"TableName": SRC, "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}}),
    )
    .unwrap();
    let mut rng = Rng(5);
    let before = item(&mut rng, 1, 1);
    put(&db, SRC, &before);
    // The restore time: after the first write, before the second, in the same millisecond.
    let restore_us = base + 100;
    clock.advance_us(190);
    put(&db, SRC, &item(&mut rng, 2, 2));
    clock.advance_us(100);
    db.checkpoint(SRC).unwrap();
    clock.advance_us(100);
    put(&db, SRC, &item(&mut rng, 3, 3));
    db.call(
        "RestoreTableToPointInTime",
        &json!({"SourceTableName": SRC, "TargetTableName": "at_t", "RestoreDateTime": restore_us as f64 / 1e6}),
    )
    .unwrap();
    db.run_restore_jobs().unwrap();
    let got = scan_all(&|r: &Value| db.call("Scan", r), "at_t");
    assert_eq!(
        got.len(),
        1,
        "the write after the restore time leaked in: {got:?}"
    );
    assert_eq!(got, vec![before]);
}
