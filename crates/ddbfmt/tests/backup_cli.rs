//! The backup commands end to end through `ddbfmt::run`, against a database directory:
//! create-backup (waiting, and `--no-wait`), describe-backup, list-backups with its filters and
//! AWS CLI pagination, delete-backup, `wait backup-available`, point-in-time recovery settings,
//! backup schedules, and the audit records they leave.
//!
//! Every `ddbfmt::run` opens the database afresh, and opening one that holds a backup reads the
//! backup's manifest state (`ddb-backup`). The tests that need a backup to exist across
//! commands are kept apart (`backups_*`) from those that do not (PITR, schedules, validation,
//! a single `create-backup --no-wait`).
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
        assert_eq!(self.code, ExitCode::SUCCESS, "stderr: {}", self.stderr);
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

const TABLE_ARN_PREFIX: &str = "arn:aws:dynamodb:ddblocal:000000000000:table/";

impl Db {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn run(&self, args: &[&str]) -> Output {
        let data_dir = self.path().to_str().unwrap().to_owned();
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

    /// A database with the ACTIVE tables `names`, key (pk S, sk N), each with two items.
    fn with_tables(names: &[&str]) -> Self {
        let db = Self::new();
        for name in names {
            db.run(&[
                "create-table",
                "--table-name",
                name,
                "--attribute-definitions",
                "AttributeName=pk,AttributeType=S",
                "AttributeName=sk,AttributeType=N",
                "--key-schema",
                "AttributeName=pk,KeyType=HASH",
                "AttributeName=sk,KeyType=RANGE",
                "--billing-mode",
                "PAY_PER_REQUEST",
            ])
            .assert_ok();
            db.run(&[
                "wait",
                "table-exists",
                "--table-name",
                name,
                "--timeout-seconds",
                "60",
            ])
            .assert_ok();
            for sk in ["1", "2"] {
                let item = json!({"pk": {"S": "a"}, "sk": {"N": sk}, "v": {"S": "x"}});
                db.run(&[
                    "put-item",
                    "--table-name",
                    name,
                    "--item",
                    &item.to_string(),
                ])
                .assert_ok();
            }
        }
        db
    }

    /// `create-backup --no-wait`: its BackupDetails.
    fn create_backup_no_wait(&self, table: &str, name: &str) -> Value {
        let out = self.run(&[
            "create-backup",
            "--table-name",
            table,
            "--backup-name",
            name,
            "--no-wait",
        ]);
        out.assert_ok();
        out.json()["BackupDetails"].clone()
    }

    fn wait_available(&self, arn: &str) {
        self.run(&[
            "wait",
            "backup-available",
            "--backup-arn",
            arn,
            "--timeout-seconds",
            "120",
        ])
        .assert_ok();
    }

    fn audit_actions(&self) -> Vec<Value> {
        let out = self.run(&["audit", "--json"]);
        out.assert_ok();
        out.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// `2025-12-02T08:30:12.123Z`.
fn assert_iso_ms(value: &Value) {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not ISO text: {value}"));
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 24
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b'T',
            13 | 16 => *b == b':',
            19 => *b == b'.',
            23 => *b == b'Z',
            _ => b.is_ascii_digit(),
        });
    assert!(shape_ok, "not ISO 8601 with ms: {text}");
}

/// `arn:aws:dynamodb:ddblocal:000000000000:table/<table>/backup/<14 digits>-<8 hex>`; returns
/// the creation ms the id starts with.
fn assert_backup_arn(arn: &Value, table: &str) -> u64 {
    let arn = arn.as_str().unwrap();
    let prefix = format!("{TABLE_ARN_PREFIX}{table}/backup/");
    let id = arn.strip_prefix(&prefix).unwrap_or_else(|| panic!("{arn}"));
    let (ms, hex) = id.split_once('-').unwrap_or_else(|| panic!("{arn}"));
    assert!(
        ms.len() == 14 && ms.bytes().all(|b| b.is_ascii_digit()),
        "{arn}"
    );
    assert!(
        hex.len() == 8 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "{arn}"
    );
    ms.parse().unwrap()
}

#[test]
fn point_in_time_recovery_settings() {
    let db = Db::with_tables(&["Tbl"]);
    let out = db.run(&["describe-continuous-backups", "--table-name", "Tbl"]);
    out.assert_ok();
    assert_eq!(
        out.json(),
        json!({"ContinuousBackupsDescription": {
            "ContinuousBackupsStatus": "ENABLED",
            "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"}
        }})
    );

    // Shorthand, with the numeric and boolean members typed.
    let out = db.run(&[
        "update-continuous-backups",
        "--table-name",
        "Tbl",
        "--point-in-time-recovery-specification",
        "PointInTimeRecoveryEnabled=true,RecoveryPeriodInDays=7",
    ]);
    out.assert_ok();
    let pitr = &out.json()["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"];
    assert_eq!(pitr["PointInTimeRecoveryStatus"], "ENABLED");
    assert_eq!(pitr["RecoveryPeriodInDays"], 7);
    assert_iso_ms(&pitr["EarliestRestorableDateTime"]);
    assert_iso_ms(&pitr["LatestRestorableDateTime"]);
    assert!(
        pitr["EarliestRestorableDateTime"].as_str().unwrap()
            <= pitr["LatestRestorableDateTime"].as_str().unwrap()
    );

    // JSON, and --cli-input-json; describe agrees.
    db.run(&[
        "update-continuous-backups",
        "--table-name",
        "Tbl",
        "--point-in-time-recovery-specification",
        r#"{"PointInTimeRecoveryEnabled": true, "RecoveryPeriodInDays": 14}"#,
    ])
    .assert_ok();
    let out = db.run(&[
        "describe-continuous-backups",
        "--cli-input-json",
        r#"{"TableName": "Tbl"}"#,
    ]);
    out.assert_ok();
    let pitr = &out.json()["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"];
    assert_eq!(pitr["RecoveryPeriodInDays"], 14);

    let out = db.run(&[
        "update-continuous-backups",
        "--table-name",
        "Tbl",
        "--point-in-time-recovery-specification",
        "PointInTimeRecoveryEnabled=true,RecoveryPeriodInDays=36",
    ]);
    out.assert_service_error("ValidationException", "UpdateContinuousBackups");
    assert!(out.stderr.contains("between 1 and 35"), "{}", out.stderr);
    db.run(&["describe-continuous-backups", "--table-name", "Nope"])
        .assert_service_error("TableNotFoundException", "DescribeContinuousBackups");
    let out = db.run(&["update-continuous-backups", "--table-name", "Tbl"]);
    assert_eq!(out.code, ExitCode::from(252));
    assert!(
        out.stderr
            .contains("required: --point-in-time-recovery-specification"),
        "{}",
        out.stderr
    );

    let out = db.run(&[
        "update-continuous-backups",
        "--cli-input-json",
        r#"{"TableName": "Tbl", "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": false}}"#,
    ]);
    out.assert_ok();
    assert_eq!(
        out.json()["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"],
        json!({"PointInTimeRecoveryStatus": "DISABLED"})
    );

    // Every change, refused ones included, is in the audit log.
    let updates: Vec<Value> = db
        .audit_actions()
        .into_iter()
        .filter(|r| r["action"] == "UpdateContinuousBackups")
        .collect();
    assert_eq!(updates.len(), 4, "{updates:?}");
    assert_eq!(updates[0]["parameters"]["TableName"], "Tbl");
    assert_eq!(updates[0]["outcome"]["status"], "ok");
    assert_eq!(updates[2]["outcome"]["error"], "ValidationException");
}

#[test]
fn backup_schedules_are_put_described_and_deleted() {
    let db = Db::with_tables(&["Tbl"]);
    let out = db.run(&["backup-schedule", "get", "--table-name", "Tbl"]);
    out.assert_ok();
    assert_eq!(
        out.stdout, "",
        "no schedule: an empty response prints nothing"
    );

    let out = db.run(&[
        "backup-schedule",
        "put",
        "--table-name",
        "Tbl",
        "--interval-seconds",
        "86400",
        "--name-prefix",
        "nightly",
        "--keep-last",
        "3",
        "--max-age-days",
        "30",
    ]);
    out.assert_ok();
    let schedule = out.json()["BackupSchedule"].clone();
    assert_eq!(schedule["IntervalSeconds"], 86_400);
    assert_eq!(schedule["NamePrefix"], "nightly");
    assert_eq!(schedule["KeepLast"], 3);
    assert_eq!(schedule["MaxAgeDays"], 30);
    assert_iso_ms(&schedule["CreatedDateTime"]);
    assert_iso_ms(&schedule["NextRunDateTime"]);
    assert!(schedule.get("LastRunDateTime").is_none(), "{schedule}");

    let out = db.run(&["backup-schedule", "get", "--table-name", "Tbl"]);
    out.assert_ok();
    assert_eq!(out.json()["BackupSchedule"], schedule);

    // A daily schedule replaces it (12 hours from now, so it does not come due meanwhile).
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let at = (now_s / 60 + 12 * 60) % (24 * 60);
    let daily_at = format!("{:02}:{:02}", at / 60, at % 60);
    let out = db.run(&[
        "backup-schedule",
        "put",
        "--cli-input-json",
        &json!({"TableName": "Tbl", "Schedule": {"DailyAt": daily_at, "NamePrefix": "daily"}})
            .to_string(),
    ]);
    out.assert_ok();
    let daily = out.json()["BackupSchedule"].clone();
    assert_eq!(daily["DailyAt"], daily_at.as_str());
    assert!(daily.get("IntervalSeconds").is_none(), "{daily}");
    assert_iso_ms(&daily["NextRunDateTime"]);

    // The engine's checks, as service errors; the CLI's, as usage errors.
    db.run(&[
        "backup-schedule",
        "put",
        "--table-name",
        "Tbl",
        "--interval-seconds",
        "30",
        "--name-prefix",
        "p",
    ])
    .assert_service_error("ValidationException", "PutBackupSchedule");
    db.run(&[
        "backup-schedule",
        "put",
        "--table-name",
        "Tbl",
        "--daily-at",
        "25:00",
        "--name-prefix",
        "p",
    ])
    .assert_service_error("ValidationException", "PutBackupSchedule");
    db.run(&[
        "backup-schedule",
        "put",
        "--table-name",
        "Nope",
        "--interval-seconds",
        "60",
        "--name-prefix",
        "p",
    ])
    .assert_service_error("TableNotFoundException", "PutBackupSchedule");
    let out = db.run(&["backup-schedule", "put", "--table-name", "Tbl"]);
    assert_eq!(out.code, ExitCode::from(252), "{}", out.stderr);
    let out = db.run(&["backup-schedule"]);
    assert_eq!(out.code, ExitCode::from(252), "{}", out.stderr);

    let out = db.run(&["backup-schedule", "delete", "--table-name", "Tbl"]);
    out.assert_ok();
    assert_eq!(out.json()["BackupSchedule"], daily);
    let out = db.run(&["backup-schedule", "get", "--table-name", "Tbl"]);
    out.assert_ok();
    assert_eq!(out.stdout, "");
    db.run(&["backup-schedule", "get", "--table-name", "Nope"])
        .assert_service_error("TableNotFoundException", "DescribeBackupSchedule");

    let actions: Vec<String> = db
        .audit_actions()
        .iter()
        .map(|r| r["action"].as_str().unwrap().to_owned())
        .filter(|a| a.contains("BackupSchedule"))
        .collect();
    assert_eq!(
        actions,
        [
            "PutBackupSchedule",
            "PutBackupSchedule",
            "PutBackupSchedule",
            "PutBackupSchedule",
            "PutBackupSchedule",
            "DeleteBackupSchedule"
        ]
    );
}

#[test]
fn backup_requests_the_service_refuses() {
    let db = Db::with_tables(&["Tbl"]);
    db.run(&[
        "create-backup",
        "--table-name",
        "Nope",
        "--backup-name",
        "bk1",
        "--no-wait",
    ])
    .assert_service_error("TableNotFoundException", "CreateBackup");
    let out = db.run(&["create-backup", "--table-name", "Tbl", "--backup-name", "b"]);
    out.assert_service_error("ValidationException", "CreateBackup");
    assert!(out.stderr.contains("'backupName'"), "{}", out.stderr);

    let unknown = format!("{TABLE_ARN_PREFIX}Tbl/backup/01764633600123-0a1b2c3d");
    db.run(&["describe-backup", "--backup-arn", &unknown])
        .assert_service_error("BackupNotFoundException", "DescribeBackup");
    db.run(&["describe-backup", "--backup-arn", "not-an-arn"])
        .assert_service_error("BackupNotFoundException", "DescribeBackup");
    db.run(&["delete-backup", "--backup-arn", &unknown])
        .assert_service_error("BackupNotFoundException", "DeleteBackup");
    let out = db.run(&["wait", "backup-available", "--backup-arn", &unknown]);
    assert_eq!(out.code, ExitCode::from(255));
    assert_eq!(
        out.stderr,
        "\nWaiter BackupAvailable failed: An error occurred (BackupNotFoundException): Backup not found for the given BackupARN\n"
    );

    // No backups yet: an empty list, whatever the filters and in every time form.
    let out = db.run(&["list-backups"]);
    out.assert_ok();
    assert_eq!(out.json(), json!({"BackupSummaries": []}));
    db.run(&[
        "list-backups",
        "--table-name",
        "Tbl",
        "--time-range-lower-bound",
        "2025-12-02T00:00:00Z",
        "--time-range-upper-bound",
        "4102444800.5",
        "--backup-type",
        "ALL",
    ])
    .assert_ok();
    let out = db.run(&[
        "list-backups",
        "--time-range-lower-bound",
        "2025-12-02T00:00:00.001Z",
        "--time-range-upper-bound",
        "1764633600",
    ]);
    out.assert_service_error("ValidationException", "ListBackups");
    assert!(
        out.stderr
            .contains("TimeRangeLowerBound must be less than or equal to TimeRangeUpperBound"),
        "{}",
        out.stderr
    );
    db.run(&["list-backups", "--backup-type", "WEEKLY"])
        .assert_service_error("ValidationException", "ListBackups");
    db.run(&["list-backups", "--limit", "0"])
        .assert_service_error("ValidationException", "ListBackups");
    let out = db.run(&["list-backups", "--time-range-lower-bound", "last tuesday"]);
    assert_eq!(out.code, ExitCode::from(252));
    assert!(
        out.stderr.contains(
            "Error parsing parameter '--time-range-lower-bound': invalid timestamp 'last tuesday'"
        ),
        "{}",
        out.stderr
    );
    let out = db.run(&["delete-backup"]);
    assert_eq!(out.code, ExitCode::from(252));
    assert!(
        out.stderr.contains("required: --backup-arn"),
        "{}",
        out.stderr
    );
}

/// One `create-backup --no-wait` and nothing that opens the database after it: the CREATING
/// response with the engine's extra fields, the job on disk, the audit record.
#[test]
fn create_backup_no_wait_prints_creating_at_once() {
    let db = Db::with_tables(&["Tbl"]);
    let started = std::time::Instant::now();
    let out = db.run(&[
        "create-backup",
        "--table-name",
        "Tbl",
        "--backup-name",
        "first-backup",
        "--no-wait",
    ]);
    out.assert_ok();
    assert!(started.elapsed().as_secs() < 30);
    assert_eq!(out.stderr, "");
    let response = out.json();
    let details = &response["BackupDetails"];
    assert_eq!(details["BackupStatus"], "CREATING");
    assert_eq!(details["BackupName"], "first-backup");
    assert_eq!(details["BackupType"], "USER");
    assert_iso_ms(&details["BackupCreationDateTime"]);
    let created_ms = assert_backup_arn(&details["BackupArn"], "Tbl");
    // The ARN's id starts with the request time, which BackupCreationDateTime shows.
    let printed = details["BackupCreationDateTime"].as_str().unwrap();
    assert_eq!(&printed[20..23], format!("{:03}", created_ms % 1000));
    let directory = Path::new(response["BackupDirectory"].as_str().unwrap());
    assert!(directory.starts_with(db.path()), "{}", directory.display());
    assert!(
        directory.join("JOB").is_file(),
        "a CREATING backup's job is durable"
    );
    let marker = &response["BackupMarker"];
    assert!(marker["Lsn"].as_u64().unwrap() >= 1, "{marker}");
    assert_iso_ms(&marker["DateTime"]);
    assert!(marker["SnapshotLsn"].is_u64(), "{marker}");

    let records = db.audit_actions();
    let create = records
        .iter()
        .find(|r| r["action"] == "CreateBackup")
        .expect("a CreateBackup record");
    assert_eq!(
        create["parameters"],
        json!({"TableName": "Tbl", "BackupName": "first-backup"})
    );
    assert_eq!(create["outcome"]["status"], "ok");
    assert_eq!(create["outcome"]["BackupArn"], details["BackupArn"]);
}

// ---- The tests below need backups that become AVAILABLE (the real `ddb-backup`). ----

#[test]
fn backups_create_backup_waits_until_available() {
    let db = Db::with_tables(&["Tbl"]);
    let out = db.run(&[
        "create-backup",
        "--table-name",
        "Tbl",
        "--backup-name",
        "waited",
    ]);
    out.assert_ok();
    // The response printed is the CREATING one; the wait came after it.
    let details = out.json()["BackupDetails"].clone();
    assert_eq!(details["BackupStatus"], "CREATING");
    let arn = details["BackupArn"].as_str().unwrap().to_owned();

    let out = db.run(&["describe-backup", "--backup-arn", &arn]);
    out.assert_ok();
    let described = out.json();
    assert_eq!(
        described["BackupDescription"]["BackupDetails"]["BackupStatus"],
        "AVAILABLE"
    );
    db.wait_available(&arn);
    let out = db.run(&[
        "wait",
        "backup-available",
        "--cli-input-json",
        &json!({"BackupArn": arn}).to_string(),
    ]);
    out.assert_ok();
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", ""));
}

#[test]
fn backups_are_described_listed_paged_and_deleted() {
    let db = Db::with_tables(&["Tbl", "Other"]);
    let mut arns = Vec::new();
    let mut created_ms = Vec::new();
    for (table, name) in [
        ("Tbl", "b-one"),
        ("Tbl", "b-two"),
        ("Other", "o-one"),
        ("Tbl", "b-three"),
    ] {
        let details = db.create_backup_no_wait(table, name);
        created_ms.push(assert_backup_arn(&details["BackupArn"], table));
        let arn = details["BackupArn"].as_str().unwrap().to_owned();
        db.wait_available(&arn);
        arns.push(arn);
    }

    // describe-backup: DynamoDB's BackupDescription plus the directory and the cut.
    let out = db.run(&["describe-backup", "--backup-arn", &arns[0]]);
    out.assert_ok();
    let described = out.json();
    let details = &described["BackupDescription"]["BackupDetails"];
    assert_eq!(details["BackupStatus"], "AVAILABLE");
    assert_eq!(details["BackupName"], "b-one");
    assert!(
        details["BackupSizeBytes"].as_u64().unwrap() > 0,
        "{details}"
    );
    assert_iso_ms(&details["BackupCreationDateTime"]);
    let source = &described["BackupDescription"]["SourceTableDetails"];
    assert_eq!(source["TableName"], "Tbl");
    assert_eq!(source["ItemCount"], 2);
    assert_iso_ms(&source["TableCreationDateTime"]);
    assert!(Path::new(described["BackupDirectory"].as_str().unwrap()).is_dir());
    assert_iso_ms(&described["BackupMarker"]["DateTime"]);

    // list-backups: USER backups of every table by default, in creation order.
    let out = db.run(&["list-backups"]);
    out.assert_ok();
    let listed = out.json();
    let summaries = listed["BackupSummaries"].as_array().unwrap();
    let listed_arns: Vec<&str> = summaries
        .iter()
        .map(|s| s["BackupArn"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed_arns,
        arns.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert!(listed.get("LastEvaluatedBackupArn").is_none());
    let first = &summaries[0];
    assert_eq!(first["TableName"], "Tbl");
    assert_eq!(first["TableArn"], format!("{TABLE_ARN_PREFIX}Tbl"));
    assert_eq!(first["BackupStatus"], "AVAILABLE");
    assert_eq!(first["BackupType"], "USER");
    assert_iso_ms(&first["BackupCreationDateTime"]);

    let names = |args: &[&str]| -> Vec<String> {
        let mut argv = vec!["list-backups"];
        argv.extend_from_slice(args);
        let out = db.run(&argv);
        out.assert_ok();
        out.json()["BackupSummaries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["BackupName"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(&["--table-name", "Tbl"]),
        ["b-one", "b-two", "b-three"]
    );
    assert_eq!(names(&["--table-name", "Other"]), ["o-one"]);
    assert!(names(&["--backup-type", "SYSTEM"]).is_empty());
    assert_eq!(names(&["--backup-type", "ALL"]).len(), 4);
    // Time range on the request time: lower bound inclusive (ISO), upper exclusive (epoch
    // seconds, fractional).
    let iso_of_second = summaries[1]["BackupCreationDateTime"].as_str().unwrap();
    let epoch_of_fourth = format!("{}.{:03}", created_ms[3] / 1000, created_ms[3] % 1000);
    assert_eq!(
        names(&[
            "--time-range-lower-bound",
            iso_of_second,
            "--time-range-upper-bound",
            &epoch_of_fourth,
        ]),
        ["b-two", "o-one"]
    );
    assert_eq!(
        names(&["--time-range-lower-bound", &epoch_of_fourth]),
        ["b-three"]
    );

    // AWS CLI pagination: --max-items and --starting-token; --page-size changes nothing.
    let out = db.run(&["list-backups", "--max-items", "2"]);
    out.assert_ok();
    let page = out.json();
    assert_eq!(page["BackupSummaries"].as_array().unwrap().len(), 2);
    let token = page["NextToken"].as_str().unwrap().to_owned();
    let out = db.run(&[
        "list-backups",
        "--max-items",
        "2",
        "--starting-token",
        &token,
    ]);
    out.assert_ok();
    let rest = out.json();
    let rest_arns: Vec<&str> = rest["BackupSummaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["BackupArn"].as_str().unwrap())
        .collect();
    assert_eq!(rest_arns, [arns[2].as_str(), arns[3].as_str()]);
    assert!(rest.get("NextToken").is_none(), "{rest}");
    assert_eq!(
        names(&["--page-size", "1"]),
        ["b-one", "b-two", "o-one", "b-three"]
    );
    // Manual paging: one request, the service's own token.
    let out = db.run(&["list-backups", "--limit", "1"]);
    out.assert_ok();
    let one = out.json();
    assert_eq!(one["BackupSummaries"].as_array().unwrap().len(), 1);
    assert_eq!(one["LastEvaluatedBackupArn"], arns[0].as_str());
    let out = db.run(&[
        "list-backups",
        "--no-paginate",
        "--exclusive-start-backup-arn",
        &arns[2],
    ]);
    out.assert_ok();
    assert_eq!(
        out.json()["BackupSummaries"][0]["BackupArn"],
        arns[3].as_str()
    );

    // delete-backup: DELETED, then gone.
    let out = db.run(&["delete-backup", "--backup-arn", &arns[1]]);
    out.assert_ok();
    let deleted = out.json();
    assert_eq!(
        deleted["BackupDescription"]["BackupDetails"]["BackupStatus"],
        "DELETED"
    );
    db.run(&["describe-backup", "--backup-arn", &arns[1]])
        .assert_service_error("BackupNotFoundException", "DescribeBackup");
    assert_eq!(names(&["--table-name", "Tbl"]), ["b-one", "b-three"]);

    let actions: Vec<String> = db
        .audit_actions()
        .iter()
        .map(|r| r["action"].as_str().unwrap().to_owned())
        .filter(|a| a.contains("Backup"))
        .collect();
    assert_eq!(
        actions,
        [
            "CreateBackup",
            "CreateBackup",
            "CreateBackup",
            "CreateBackup",
            "DeleteBackup"
        ]
    );
}

#[test]
fn backups_a_creating_backup_cannot_be_deleted() {
    let db = Db::with_tables(&["Tbl"]);
    // Only calls that wait for a backup run the backup worker, so the DeleteBackup call finds
    // the `--no-wait` backup still CREATING, whatever the machine's speed.
    let lines: String = (0..50)
        .map(|i| {
            format!(
                "{}\n",
                json!({"pk": {"S": format!("p{i}")}, "sk": {"N": "1"}, "v": {"S": "x".repeat(200)}})
            )
        })
        .collect();
    let file = db.path().join("items.jsonl");
    std::fs::write(&file, lines).unwrap();
    db.run(&["load", "--table-name", "Tbl", file.to_str().unwrap()])
        .assert_ok();
    let details = db.create_backup_no_wait("Tbl", "in-progress");
    let arn = details["BackupArn"].as_str().unwrap().to_owned();
    let out = db.run(&["delete-backup", "--backup-arn", &arn]);
    out.assert_service_error("BackupInUseException", "DeleteBackup");
    db.wait_available(&arn);
    db.run(&["delete-backup", "--backup-arn", &arn]).assert_ok();
}
