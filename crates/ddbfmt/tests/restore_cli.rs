//! The restore commands end to end through `ddbfmt::run`, against a database directory:
//! restore-table-from-backup (waiting, `--no-wait` finished by a later `wait table-exists`, by
//! a backup directory's path, from a damaged copy), restore-table-to-point-in-time, the
//! restored table's LSI at once and its GSI after `wait index-active`, and the errors the
//! service returns.
//!
//! Every `ddbfmt::run` opens the database afresh, as separate CLI calls do; the waiting calls
//! run the restore worker, the others leave a queued restore alone.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::process::ExitCode;

use serde_json::{Value, json};

struct Db {
    dir: tempfile::TempDir,
}

struct Output {
    code: ExitCode,
    stdout: String,
    stderr: String,
}

impl Output {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {:?}", self.stdout))
    }

    fn assert_ok(&self) -> &Self {
        assert_eq!(
            self.code,
            ExitCode::SUCCESS,
            "stderr: {} stdout: {}",
            self.stderr,
            self.stdout
        );
        self
    }

    /// A service error: exit 254, nothing on stdout, the AWS CLI's line naming `error` and
    /// `operation` on stderr.
    fn assert_service_error(&self, error: &str, operation: &str) -> &Self {
        assert_eq!(self.code, ExitCode::from(254), "stderr: {}", self.stderr);
        assert_eq!(self.stdout, "");
        let prefix =
            format!("\nAn error occurred ({error}) when calling the {operation} operation: ");
        assert!(self.stderr.starts_with(&prefix), "{}", self.stderr);
        self
    }
}

const SOURCE: &str = "Src";
const LSI: &str = "by_l";
const GSI: &str = "by_g";
/// The items of [`Db::with_source`]: two partitions of this many.
const PER_PARTITION: u64 = 12;

impl Db {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        let data_dir = self.dir.path().to_str().unwrap().to_owned();
        let mut argv = vec!["ddbfmt", "--data-dir", &data_dir];
        argv.extend_from_slice(args);
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let code = ddbfmt::run(argv, &mut stdout, &mut stderr);
        Output {
            code,
            stdout: String::from_utf8(stdout).unwrap(),
            stderr: String::from_utf8(stderr).unwrap(),
        }
    }

    /// A database with the ACTIVE table [`SOURCE`]: key (pk S, sk N), LSI [`LSI`] on `l`, GSI
    /// [`GSI`] on `g`, holding [`Db::put_items`].
    fn with_source() -> Self {
        let db = Self::new();
        let lsi = json!([{
            "IndexName": LSI,
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "l", "KeyType": "RANGE"}
            ],
            "Projection": {"ProjectionType": "ALL"}
        }]);
        let gsi = json!([{
            "IndexName": GSI,
            "KeySchema": [
                {"AttributeName": "g", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"}
            ],
            "Projection": {"ProjectionType": "ALL"}
        }]);
        db.run(&[
            "create-table",
            "--table-name",
            SOURCE,
            "--attribute-definitions",
            "AttributeName=pk,AttributeType=S",
            "AttributeName=sk,AttributeType=N",
            "AttributeName=l,AttributeType=S",
            "AttributeName=g,AttributeType=S",
            "--key-schema",
            "AttributeName=pk,KeyType=HASH",
            "AttributeName=sk,KeyType=RANGE",
            "--local-secondary-indexes",
            &lsi.to_string(),
            "--global-secondary-indexes",
            &gsi.to_string(),
            "--billing-mode",
            "PAY_PER_REQUEST",
        ])
        .assert_ok();
        db.run(&[
            "wait",
            "table-exists",
            "--table-name",
            SOURCE,
            "--timeout-seconds",
            "60",
        ])
        .assert_ok();
        db.put_items("v1");
        db
    }

    /// Puts (or overwrites) the items pk ∈ {a, b} × sk ∈ 1..=[`PER_PARTITION`], with `v`.
    fn put_items(&self, v: &str) {
        for pk in ["a", "b"] {
            let puts: Vec<Value> = (1..=PER_PARTITION)
                .map(|sk| {
                    json!({"PutRequest": {"Item": {
                        "pk": {"S": pk},
                        "sk": {"N": sk.to_string()},
                        "l": {"S": format!("l{:02}", PER_PARTITION + 1 - sk)},
                        "g": {"S": format!("g{}", sk % 3)},
                        "v": {"S": v}
                    }}})
                })
                .collect();
            self.run(&[
                "batch-write-item",
                "--request-items",
                &json!({ SOURCE: puts }).to_string(),
            ])
            .assert_ok();
        }
    }

    /// `create-backup` (waiting for AVAILABLE): its ARN and directory.
    fn backup(&self, name: &str) -> (String, String) {
        let out = self.run(&[
            "create-backup",
            "--table-name",
            SOURCE,
            "--backup-name",
            name,
        ]);
        out.assert_ok();
        let response = out.json();
        (
            response["BackupDetails"]["BackupArn"]
                .as_str()
                .unwrap()
                .to_owned(),
            response["BackupDirectory"].as_str().unwrap().to_owned(),
        )
    }

    fn describe(&self, table: &str) -> Value {
        let out = self.run(&["describe-table", "--table-name", table]);
        out.assert_ok();
        out.json()["Table"].clone()
    }

    /// Every item of `table` (or of its index), in the scan's order.
    fn scan(&self, table: &str, index: Option<&str>) -> Value {
        let mut args = vec!["scan", "--table-name", table];
        if let Some(index) = index {
            args.extend(["--index-name", index]);
        }
        let out = self.run(&args);
        out.assert_ok();
        out.json()["Items"].clone()
    }

    /// The items of partition `pk` through LSI [`LSI`], in its order.
    fn query_lsi(&self, table: &str, pk: &str) -> Value {
        let out = self.run(&[
            "query",
            "--table-name",
            table,
            "--index-name",
            LSI,
            "--key-condition-expression",
            "pk = :p",
            "--expression-attribute-values",
            &json!({":p": {"S": pk}}).to_string(),
        ]);
        out.assert_ok();
        out.json()["Items"].clone()
    }

    /// The items whose `g` is `g` through GSI [`GSI`], in its order.
    fn query_gsi(&self, table: &str, g: &str) -> Value {
        let out = self.run(&[
            "query",
            "--table-name",
            table,
            "--index-name",
            GSI,
            "--key-condition-expression",
            "g = :g",
            "--expression-attribute-values",
            &json!({":g": {"S": g}}).to_string(),
        ]);
        out.assert_ok();
        out.json()["Items"].clone()
    }

    fn wait_index_active(&self, table: &str, index: &str) {
        self.run(&[
            "wait",
            "index-active",
            "--table-name",
            table,
            "--index-name",
            index,
            "--timeout-seconds",
            "120",
        ])
        .assert_ok();
    }

    /// The restored `table` holds what [`SOURCE`] holds, through the table, its LSI and (once
    /// backfilled) its GSI.
    fn assert_same_as_source(&self, table: &str, source: &Self) {
        assert_eq!(self.scan(table, None), source.scan(SOURCE, None));
        for pk in ["a", "b"] {
            let items = self.query_lsi(table, pk);
            assert_eq!(items.as_array().unwrap().len(), 12);
            assert_eq!(items, source.query_lsi(SOURCE, pk));
        }
        self.wait_index_active(table, GSI);
        for g in ["g0", "g1", "g2"] {
            let items = self.query_gsi(table, g);
            assert_eq!(items.as_array().unwrap().len(), 8);
            assert_eq!(items, source.query_gsi(SOURCE, g));
        }
    }
}

/// Copies directory `from` to `to`, recursively.
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

/// Flips one byte in the middle of one of the backup's Parquet artifacts.
fn damage_an_artifact(backup: &Path) {
    let artifact = std::fs::read_dir(backup.join("data"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .expect("a Parquet artifact");
    let mut bytes = std::fs::read(&artifact).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x40;
    std::fs::write(&artifact, &bytes).unwrap();
}

#[test]
fn restore_from_backup_waits_until_active_with_its_lsi_and_backfills_its_gsi() {
    let db = Db::with_source();
    let (arn, _) = db.backup("backup-one");
    // Written after the backup's cut: not in the restore.
    db.put_items("v2");

    let out = db.run(&[
        "restore-table-from-backup",
        "--target-table-name",
        "Copy",
        "--backup-arn",
        &arn,
    ]);
    out.assert_ok();
    // What is printed is the CREATING answer; the wait came after it.
    let printed = out.json()["TableDescription"].clone();
    assert_eq!(printed["TableName"], "Copy");
    assert_eq!(printed["TableStatus"], "CREATING");
    assert_eq!(printed["RestoreSummary"]["RestoreInProgress"], true);
    assert_eq!(printed["RestoreSummary"]["SourceBackupArn"], arn.as_str());

    let described = db.describe("Copy");
    assert_eq!(described["TableStatus"], "ACTIVE");
    assert_eq!(described["ItemCount"], 2 * PER_PARTITION);
    assert_eq!(described["ItemCount"], db.describe(SOURCE)["ItemCount"]);
    assert_eq!(described["RestoreSummary"]["RestoreInProgress"], false);
    assert_eq!(described["LocalSecondaryIndexes"][0]["IndexName"], LSI);
    // The LSI is there as soon as the table is ACTIVE; the GSI after its backfill.
    for pk in ["a", "b"] {
        let items = db.query_lsi("Copy", pk);
        assert_eq!(items.as_array().unwrap().len(), 12);
        assert!(
            items
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["v"]["S"] == "v1")
        );
    }
    db.wait_index_active("Copy", GSI);
    let items = db.query_gsi("Copy", "g1");
    assert_eq!(items.as_array().unwrap().len(), 8);
    assert!(
        items
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["v"]["S"] == "v1")
    );

    // A restore into an existing table, and from a backup that does not exist.
    db.run(&[
        "restore-table-from-backup",
        "--target-table-name",
        "Copy",
        "--backup-arn",
        &arn,
    ])
    .assert_service_error("TableAlreadyExistsException", "RestoreTableFromBackup");
    let unknown = format!(
        "{}/backup/01764633600123-0a1b2c3d",
        arn.split("/backup/").next().unwrap()
    );
    db.run(&[
        "restore-table-from-backup",
        "--target-table-name",
        "Other",
        "--backup-arn",
        &unknown,
    ])
    .assert_service_error("BackupNotFoundException", "RestoreTableFromBackup");
    db.run(&["describe-table", "--table-name", "Other"])
        .assert_service_error("ResourceNotFoundException", "DescribeTable");
}

#[test]
fn restore_no_wait_is_finished_by_a_later_wait_table_exists() {
    let db = Db::with_source();
    let (arn, _) = db.backup("backup-one");
    let out = db.run(&[
        "restore-table-from-backup",
        "--target-table-name",
        "Later",
        "--backup-arn",
        &arn,
        "--no-wait",
    ]);
    out.assert_ok();
    assert_eq!(out.stderr, "");
    assert_eq!(out.json()["TableDescription"]["TableStatus"], "CREATING");
    // Calls that do not wait leave the durable job queued.
    let described = db.describe("Later");
    assert_eq!(described["TableStatus"], "CREATING");
    assert_eq!(described["RestoreSummary"]["RestoreInProgress"], true);

    let out = db.run(&[
        "wait",
        "table-exists",
        "--table-name",
        "Later",
        "--timeout-seconds",
        "120",
    ]);
    out.assert_ok();
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", ""));
    assert_eq!(db.describe("Later")["TableStatus"], "ACTIVE");
    db.assert_same_as_source("Later", &db);
}

#[test]
fn restore_by_a_backup_directory_path_and_a_damaged_copy_creates_no_table() {
    let db = Db::with_source();
    let (_, directory) = db.backup("backup-one");
    let copies = tempfile::tempdir().unwrap();
    let copy = copies.path().join("backup-one");
    copy_dir(Path::new(&directory), &copy);

    // Into another database, by the copy's path and by its manifest's.
    let other = Db::new();
    let manifest = copy.join("manifest.json");
    for (table, path) in [("Moved", &copy), ("ByManifest", &manifest)] {
        let out = other.run(&[
            "restore-table-from-backup",
            "--target-table-name",
            table,
            "--backup-arn",
            path.to_str().unwrap(),
        ]);
        out.assert_ok();
        assert_eq!(out.json()["TableDescription"]["TableStatus"], "CREATING");
        let described = other.describe(table);
        assert_eq!(described["TableStatus"], "ACTIVE");
        assert_eq!(described["ItemCount"], 2 * PER_PARTITION);
    }
    other.assert_same_as_source("Moved", &db);

    // One flipped byte: the restore fails, exit 1, and leaves no table.
    damage_an_artifact(&copy);
    let out = other.run(&[
        "restore-table-from-backup",
        "--target-table-name",
        "Broken",
        "--backup-arn",
        copy.to_str().unwrap(),
    ]);
    assert_eq!(out.code, ExitCode::from(1), "stderr: {}", out.stderr);
    assert_eq!(out.json()["TableDescription"]["TableStatus"], "CREATING");
    assert!(
        out.stderr
            .starts_with("\nddbfmt: the restore of table Broken failed: "),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.ends_with(" (no table was created)\n"),
        "{}",
        out.stderr
    );
    other
        .run(&["describe-table", "--table-name", "Broken"])
        .assert_service_error("ResourceNotFoundException", "DescribeTable");

    // The same with --no-wait: the later waiter reports the failure.
    other
        .run(&[
            "restore-table-from-backup",
            "--target-table-name",
            "Broken",
            "--backup-arn",
            copy.to_str().unwrap(),
            "--no-wait",
        ])
        .assert_ok();
    let out = other.run(&[
        "wait",
        "table-exists",
        "--table-name",
        "Broken",
        "--timeout-seconds",
        "120",
    ]);
    assert_eq!(out.code, ExitCode::from(255), "stderr: {}", out.stderr);
    assert!(
        out.stderr
            .starts_with("\nWaiter TableExists failed: the restore of table Broken failed: "),
        "{}",
        out.stderr
    );
    other
        .run(&["describe-table", "--table-name", "Broken"])
        .assert_service_error("ResourceNotFoundException", "DescribeTable");
    // The good tables are untouched.
    assert_eq!(other.describe("Moved")["TableStatus"], "ACTIVE");

    // The binary, whose stderr the engine's restore worker writes to as well: it ends (a
    // worker blocked on a held stderr lock once hung its exit).
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ddbfmt"))
        .args(["--data-dir", other.dir.path().to_str().unwrap()])
        .args(["restore-table-from-backup", "--target-table-name", "Broken"])
        .args(["--backup-arn", copy.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stderr = child.stderr.take().unwrap();
    let (done, ended) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut text).unwrap();
        let _ = done.send((child.wait().unwrap(), text));
    });
    let Ok((status, text)) = ended.recv_timeout(std::time::Duration::from_secs(120)) else {
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status();
        panic!("ddbfmt did not exit after the failed restore");
    };
    assert_eq!(status.code(), Some(1), "{text}");
    assert!(
        text.contains("ddbfmt: the restore of table Broken failed: "),
        "{text}"
    );
}

#[test]
fn restore_to_point_in_time_at_the_latest_restorable_time() {
    let db = Db::with_source();
    let restore = |target: &str| {
        db.run(&[
            "restore-table-to-point-in-time",
            "--source-table-name",
            SOURCE,
            "--target-table-name",
            target,
            "--use-latest-restorable-time",
        ])
    };
    restore("Pitr").assert_service_error(
        "PointInTimeRecoveryUnavailableException",
        "RestoreTableToPointInTime",
    );
    db.run(&[
        "update-continuous-backups",
        "--table-name",
        SOURCE,
        "--point-in-time-recovery-specification",
        "PointInTimeRecoveryEnabled=true",
    ])
    .assert_ok();
    db.put_items("v2");

    let out = restore("Pitr");
    out.assert_ok();
    let printed = out.json()["TableDescription"].clone();
    assert_eq!(printed["TableStatus"], "CREATING");
    assert_eq!(printed["RestoreSummary"]["RestoreInProgress"], true);
    let described = db.describe("Pitr");
    assert_eq!(described["TableStatus"], "ACTIVE");
    assert_eq!(described["ItemCount"], 2 * PER_PARTITION);
    db.assert_same_as_source("Pitr", &db);
    let items = db.scan("Pitr", None);
    assert!(
        items
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["v"]["S"] == "v2")
    );

    restore("Pitr")
        .assert_service_error("TableAlreadyExistsException", "RestoreTableToPointInTime");
    db.run(&[
        "restore-table-to-point-in-time",
        "--source-table-name",
        "Nope",
        "--target-table-name",
        "X",
        "--use-latest-restorable-time",
    ])
    .assert_service_error("TableNotFoundException", "RestoreTableToPointInTime");
}

#[test]
fn restore_commands_have_help() {
    for command in [
        "restore-table-from-backup",
        "restore-table-to-point-in-time",
    ] {
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let code = ddbfmt::run(["ddbfmt", command, "--help"], &mut stdout, &mut stderr);
        assert_eq!(code, ExitCode::SUCCESS);
        let help = String::from_utf8(stdout).unwrap();
        for needle in [
            "--target-table-name",
            "--no-wait",
            "--timeout-seconds",
            "--reapply-tags",
            "GSIs may still be backfilling",
            "(no table was created)",
        ] {
            assert!(help.contains(needle), "{command}: {needle}\n{help}");
        }
    }
}

#[test]
fn export_to_a_bucket_directory_then_import_it_into_a_new_table() {
    let db = Db::with_source();
    db.run(&[
        "update-continuous-backups",
        "--table-name",
        SOURCE,
        "--point-in-time-recovery-specification",
        "PointInTimeRecoveryEnabled=true",
    ])
    .assert_ok();
    db.put_items("v3");
    let bucket = tempfile::tempdir().unwrap();
    let bucket_s = bucket.path().to_str().unwrap();
    let out = db.run(&[
        "export-table-to-point-in-time",
        "--table-name",
        SOURCE,
        "--s3-bucket",
        bucket_s,
        "--s3-prefix",
        "daily",
    ]);
    out.assert_ok();
    let arn = out.json()["ExportDescription"]["ExportArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let described = db.run(&["describe-export", "--export-arn", &arn]);
    described.assert_ok();
    let description = described.json()["ExportDescription"].clone();
    assert_eq!(description["ExportStatus"], "COMPLETED", "{description}");
    assert_eq!(description["ItemCount"], 2 * PER_PARTITION);
    // The export directory verifies.
    let export_dir = bucket
        .path()
        .join(description["ExportManifest"].as_str().unwrap())
        .parent()
        .unwrap()
        .to_owned();
    let verified = db.run(&["verify", export_dir.to_str().unwrap()]);
    verified.assert_ok();

    let parameters = json!({
        "TableName": "Imported",
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "l", "AttributeType": "S"}
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"}
        ],
        "LocalSecondaryIndexes": [{
            "IndexName": LSI,
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "l", "KeyType": "RANGE"}
            ],
            "Projection": {"ProjectionType": "ALL"}
        }],
        "BillingMode": "PAY_PER_REQUEST"
    });
    let source = json!({"S3Bucket": bucket_s, "S3KeyPrefix": "daily"});
    let out = db.run(&[
        "import-table",
        "--s3-bucket-source",
        &source.to_string(),
        "--input-format",
        "DYNAMODB_JSON",
        "--input-compression-type",
        "GZIP",
        "--table-creation-parameters",
        &parameters.to_string(),
    ]);
    out.assert_ok();
    let import_arn = out.json()["ImportTableDescription"]["ImportArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let described = db.run(&["describe-import", "--import-arn", &import_arn]);
    described.assert_ok();
    let d = described.json()["ImportTableDescription"].clone();
    assert_eq!(d["ImportStatus"], "COMPLETED", "{d}");
    assert_eq!(d["ImportedItemCount"], 2 * PER_PARTITION);
    assert_eq!(db.describe("Imported")["TableStatus"], "ACTIVE");
    assert_eq!(db.scan("Imported", None), db.scan(SOURCE, None));
    let listed = db.run(&["list-imports"]);
    listed.assert_ok();
    assert_eq!(
        listed.json()["ImportSummaryList"][0]["ImportArn"],
        import_arn.as_str()
    );
}
