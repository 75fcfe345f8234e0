//! Restores through the database: a backup taken under live writes restored into a new table
//! equals the backup's cut item for item; LSI queries equal a reference model at once when the
//! table is ACTIVE; GSI reads are refused while they backfill and equal the model (writes made
//! during the backfill included) once ACTIVE; the request rules (existing target, unknown or
//! CREATING backup, overrides that add indexes); restores of a backup directory by path; a
//! damaged backup refused leaving no table; the restored table outlives a reopen. Point-in-time
//! restores are in `restore_pitr.rs`.
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
fn restore_equals_the_cut_with_lsis_at_active_and_gsis_after_backfill() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), options(io())).unwrap();
    let mut rng = Rng(7);
    let (arn, items) = backup_under_writes(&db, &mut rng);

    let response = db
        .call(
            "RestoreTableFromBackup",
            &json!({"TargetTableName": "copy", "BackupArn": arn}),
        )
        .unwrap();
    let description = &response["TableDescription"];
    assert_eq!(description["TableStatus"], "CREATING");
    assert_eq!(description["RestoreSummary"]["RestoreInProgress"], true);
    assert_eq!(
        description["RestoreSummary"]["SourceBackupArn"],
        arn.as_str()
    );
    let backup = db.backup(&arn).unwrap();
    assert_eq!(
        description["RestoreSummary"]["RestoreDateTime"]
            .as_f64()
            .unwrap(),
        backup.marker_time_ms as f64 / 1000.0
    );
    assert!(description.get("Tags").is_none());
    // Not readable, not writable until ACTIVE; the backup cannot be deleted meanwhile.
    assert_eq!(
        kind(db.call("GetItem", &json!({"TableName": "copy", "Key": key(0, 0)}))),
        ErrorKind::ResourceNotFound
    );
    assert_eq!(
        kind(db.call("PutItem", &json!({"TableName": "copy", "Item": key(0, 0)}))),
        ErrorKind::ResourceNotFound
    );
    assert_eq!(
        kind(db.call("DeleteBackup", &json!({"BackupArn": arn}))),
        ErrorKind::BackupInUse
    );
    assert_eq!(
        kind(db.call(
            "RestoreTableFromBackup",
            &json!({"TargetTableName": "copy", "BackupArn": arn})
        )),
        ErrorKind::TableAlreadyExists
    );

    db.run_restore_jobs().unwrap();
    let description = table_status(&db, "copy");
    assert_eq!(description["TableStatus"], "ACTIVE");
    assert_eq!(description["RestoreSummary"]["RestoreInProgress"], false);
    assert_eq!(description["ItemCount"], items.len());
    assert_eq!(description["ProvisionedThroughput"]["ReadCapacityUnits"], 5);
    for gsi in description["GlobalSecondaryIndexes"].as_array().unwrap() {
        assert_eq!(gsi["IndexStatus"], "CREATING", "{gsi}");
        assert_eq!(gsi["Backfilling"], true, "{gsi}");
    }

    // Every item equals the cut.
    let engine_scan = |request: &Value| db.call("Scan", request);
    let mut want = items.clone();
    want.sort_by_key(|i| {
        (
            i["pk"]["S"].as_str().unwrap().to_owned(),
            i["sk"]["N"].as_str().unwrap().parse::<u64>().unwrap(),
        )
    });
    assert_eq!(scan_all(&engine_scan, "copy"), want);

    // LSIs are consistent at ACTIVE.
    let mut reference = model("copy", &items);
    for index in ["by_at", "by_rank"] {
        assert_queries_equal(&db, &reference, "copy", index);
    }
    // GSIs refuse reads while they backfill.
    let refused = db
        .call(
            "Query",
            &json!({"TableName": "copy", "IndexName": "by_shop",
                    "KeyConditionExpression": "shop = :s",
                    "ExpressionAttributeValues": {":s": {"S": "shop1"}}}),
        )
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Validation);
    assert_eq!(
        refused.message(),
        "Cannot read from backfilling global secondary index: by_shop"
    );

    // Writes during the backfill are accepted and end up in the indexes.
    let mut extra = Vec::new();
    for n in 0..40 {
        let pk = rng.below(12);
        let it = item(&mut rng, pk, 500 + n);
        put(&db, "copy", &it);
        extra.push(it);
    }
    for (pk, sk) in [(0, 0), (1, 1), (2, 2), (3, 3)] {
        db.call(
            "DeleteItem",
            &json!({"TableName": "copy", "Key": key(pk, sk)}),
        )
        .unwrap();
        ddb_table::api::data::dispatch(
            &reference,
            "DeleteItem",
            &json!({"TableName": "copy", "Key": key(pk, sk)}),
        )
        .unwrap()
        .unwrap();
    }
    for it in &extra {
        ddb_table::api::data::dispatch(
            &reference,
            "PutItem",
            &json!({"TableName": "copy", "Item": it}),
        )
        .unwrap()
        .unwrap();
    }
    finish_backfills(&db, "copy");
    for index in ["by_at", "by_rank", "by_shop", "by_city"] {
        assert_queries_equal(&db, &reference, "copy", index);
    }
    // The backup can go now; the restored table stays, and survives a reopen.
    db.call("DeleteBackup", &json!({"BackupArn": arn})).unwrap();
    drop(db);
    let db = Database::open(dir.path(), options(io())).unwrap();
    for index in ["by_at", "by_rank", "by_shop", "by_city"] {
        assert_queries_equal(&db, &reference, "copy", index);
    }
    reference = model("copy", &scan_all(&|r: &Value| db.call("Scan", r), "copy"));
    assert_eq!(reference.get("copy").unwrap().len(), items.len() + 40 - 4);
}

#[test]
fn request_rules_and_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), options(io())).unwrap();
    let mut rng = Rng(11);
    let (arn, items) = backup_under_writes(&db, &mut rng);
    let restore = |request: Value| db.call("RestoreTableFromBackup", &request);
    assert_eq!(
        kind(restore(json!({"TargetTableName": SRC, "BackupArn": arn}))),
        ErrorKind::TableAlreadyExists
    );
    // The same ARN with its last hex digit changed (to one it is not).
    let last = if arn.ends_with('0') { '1' } else { '0' };
    let unknown = format!("{}{last}", &arn[..arn.len() - 1]);
    assert_ne!(unknown, arn);
    assert_eq!(
        kind(restore(
            json!({"TargetTableName": "xone", "BackupArn": unknown})
        )),
        ErrorKind::BackupNotFound
    );
    // An override may drop indexes, never add or change them.
    let added = restore(json!({"TargetTableName": "xone", "BackupArn": arn,
    "GlobalSecondaryIndexOverride": [{
        "IndexName": "new_one",
        "KeySchema": [{"AttributeName": "shop", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"},
        "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}
    }]}));
    assert_eq!(kind(added), ErrorKind::Validation);
    let changed = restore(json!({"TargetTableName": "xone", "BackupArn": arn,
    "LocalSecondaryIndexOverride": [{
        "IndexName": "by_at",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "at", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "ALL"}
    }]}));
    assert_eq!(kind(changed), ErrorKind::Validation);
    assert!(
        db.call("DescribeTable", &json!({"TableName": "xone"}))
            .is_err()
    );

    // A backup still CREATING cannot be restored.
    let pending = db
        .call(
            "CreateBackup",
            &json!({"TableName": SRC, "BackupName": "second"}),
        )
        .unwrap();
    let pending_arn = pending["BackupDetails"]["BackupArn"].as_str().unwrap();
    assert_eq!(
        kind(restore(
            json!({"TargetTableName": "xone", "BackupArn": pending_arn})
        )),
        ErrorKind::BackupInUse
    );

    // Drop every GSI and one LSI, on-demand billing, tags re-applied.
    let response = restore(json!({"TargetTableName": "slim", "BackupArn": arn,
        "GlobalSecondaryIndexOverride": [],
        "LocalSecondaryIndexOverride": [{
            "IndexName": "by_rank",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "rank", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"}
        }],
        "BillingModeOverride": "PAY_PER_REQUEST",
        "ReapplyTags": true}))
    .unwrap();
    assert!(
        response["TableDescription"]
            .get("GlobalSecondaryIndexes")
            .is_none()
    );
    db.run_restore_jobs().unwrap();
    let description = table_status(&db, "slim");
    assert_eq!(description["TableStatus"], "ACTIVE");
    assert_eq!(
        description["BillingModeSummary"]["BillingMode"],
        "PAY_PER_REQUEST"
    );
    assert_eq!(
        description["LocalSecondaryIndexes"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let mut names: Vec<&str> = description["AttributeDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["AttributeName"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["pk", "rank", "sk"]);
    assert_eq!(description["ItemCount"], items.len());
    let reference = model("slim", &items);
    assert_queries_equal(&db, &reference, "slim", "by_rank");
    // The re-applied tags are the table's: a backup of it records them (the full restore
    // above dropped them).
    let tags_of = |table: &str| {
        let response = db
            .call(
                "CreateBackup",
                &json!({"TableName": table, "BackupName": format!("{table}-tags")}),
            )
            .unwrap();
        let arn = response["BackupDetails"]["BackupArn"]
            .as_str()
            .unwrap()
            .to_owned();
        db.backup(&arn).unwrap().source_table["Tags"].clone()
    };
    assert_eq!(tags_of("slim"), json!([{"Key": "team", "Value": "orders"}]));
    db.call(
        "RestoreTableFromBackup",
        &json!({"TargetTableName": "plain", "BackupArn": arn}),
    )
    .unwrap();
    db.run_restore_jobs().unwrap();
    assert_eq!(tags_of("plain"), json!([]));
}

#[test]
fn a_copied_backup_directory_restores_by_path_and_damage_leaves_no_table() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), options(io())).unwrap();
    let mut rng = Rng(5);
    let (arn, items) = backup_under_writes(&db, &mut rng);
    let source = db.backup(&arn).unwrap().dir;
    let copy = tempfile::tempdir().unwrap();
    copy_dir(&source, copy.path());

    // By path, in another database.
    let other_dir = tempfile::tempdir().unwrap();
    let other = Database::open(other_dir.path(), options(io())).unwrap();
    let path = copy.path().to_str().unwrap();
    other
        .call(
            "RestoreTableFromBackup",
            &json!({"TargetTableName": "moved", "BackupArn": path}),
        )
        .unwrap();
    other.run_restore_jobs().unwrap();
    assert_eq!(table_status(&other, "moved")["ItemCount"], items.len());
    let reference = model("moved", &items);
    assert_queries_equal(&other, &reference, "moved", "by_at");

    // One flipped byte in an artifact: the restore fails and leaves no table behind.
    let artifact = std::fs::read_dir(copy.path().join("data"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .unwrap();
    let mut bytes = std::fs::read(&artifact).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x40;
    std::fs::write(&artifact, &bytes).unwrap();
    other
        .call(
            "RestoreTableFromBackup",
            &json!({"TargetTableName": "broken", "BackupArn": path}),
        )
        .unwrap();
    assert!(other.run_restore_jobs().is_err());
    assert_eq!(
        kind(other.call("DescribeTable", &json!({"TableName": "broken"}))),
        ErrorKind::ResourceNotFound
    );
    let failure = other.restore_failure("broken").unwrap();
    assert!(failure.contains("damaged"), "{failure}");
    // Only the good table's directory is left.
    assert_eq!(
        std::fs::read_dir(other_dir.path().join("tables"))
            .unwrap()
            .count(),
        1
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn items_violating_a_gsi_key_are_skipped_and_counted_by_the_restored_backfill() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), options(io())).unwrap();
    db.call(
        "CreateTable",
        &json!({
            "TableName": "plain",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST"
        }),
    )
    .unwrap();
    // Before the GSI exists, `g` may have any type.
    for n in 0..30u64 {
        let g = if n % 3 == 0 {
            json!({"N": n.to_string()})
        } else {
            json!({"S": format!("g{}", n % 4)})
        };
        put(&db, "plain", &json!({"pk": {"S": format!("p{n}")}, "g": g}));
    }
    db.call(
        "UpdateTable",
        &json!({
            "TableName": "plain",
            "AttributeDefinitions": [{"AttributeName": "g", "AttributeType": "S"}],
            "GlobalSecondaryIndexUpdates": [{"Create": {
                "IndexName": "by_g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"}
            }}]
        }),
    )
    .unwrap();
    finish_backfills(&db, "plain");
    let response = db
        .call(
            "CreateBackup",
            &json!({"TableName": "plain", "BackupName": "with-bad-g"}),
        )
        .unwrap();
    let arn = response["BackupDetails"]["BackupArn"]
        .as_str()
        .unwrap()
        .to_owned();
    db.run_backup_jobs().unwrap();
    db.call(
        "RestoreTableFromBackup",
        &json!({"TargetTableName": "again", "BackupArn": arn}),
    )
    .unwrap();
    db.run_restore_jobs().unwrap();
    finish_backfills(&db, "again");
    let description = table_status(&db, "again");
    let gsi = &description["GlobalSecondaryIndexes"][0];
    assert_eq!(gsi["IndexStatus"], "ACTIVE");
    assert_eq!(gsi["BackfillViolationCount"], 10, "{gsi}");
    assert_eq!(gsi["ItemCount"], 20, "{gsi}");
    assert_eq!(description["ItemCount"], 30);
}

/// Regression (found by the crash loop, `ddb-crash`): a restore still loading owns its table
/// directory (its job empties and rebuilds it), so `verify_database` must not report that
/// directory — absent while the job is queued, partial while it loads — as a damaged table.
#[test]
fn a_database_with_a_restore_in_progress_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path(), options(io())).unwrap();
    let mut rng = Rng(11);
    let (arn, _) = backup_under_writes(&db, &mut rng);
    let sound = |db: &Database| {
        let report = ddb_table::verify::verify_database(Arc::clone(db.io()), db.root(), true);
        assert!(report.is_sound(), "{:?}", report.findings);
    };
    sound(&db);
    db.call(
        "RestoreTableFromBackup",
        &json!({"TargetTableName": "queued", "BackupArn": arn}),
    )
    .unwrap();
    assert!(db.restore_in_progress("queued"));
    sound(&db);
    // A partly loaded directory, as a crash in the middle of the load leaves it.
    let catalog_id = table_status(&db, "queued")["TableId"]
        .as_str()
        .unwrap()
        .replace('-', "");
    let partial = dir
        .path()
        .join("tables")
        .join(&catalog_id)
        .join("ckpt-00000000000000000001");
    std::fs::create_dir_all(partial.join("table")).unwrap();
    std::fs::write(partial.join("table").join("part-0-000000.snap"), b"partial").unwrap();
    sound(&db);
    // The job rebuilds it from the start.
    db.run_restore_jobs().unwrap();
    assert_eq!(table_status(&db, "queued")["TableStatus"], "ACTIVE");
    finish_backfills(&db, "queued");
    sound(&db);
}
