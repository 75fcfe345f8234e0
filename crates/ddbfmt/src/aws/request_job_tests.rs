//! Request building for the job commands and their kin: create-backup and the backup
//! listing, `backup-schedule`, the `backup-available` waiter, the restores, export and
//! import, and the `--no-wait` / `--timeout-seconds` every job command has. Shares the
//! helpers of [`super`].

use super::*;
use crate::aws::spec::{LIST_BACKUPS_PAGINATOR, LIST_EXPORTS_PAGINATOR, LIST_IMPORTS_PAGINATOR};

#[test]
fn backup_requests() {
    let create = |args: &[&str]| match build_request(args) {
        Ok(Action::StartJob(create)) => create,
        other => panic!("{other:?}"),
    };
    let c = create(&["create-backup", "--table-name", "T", "--backup-name", "b1"]);
    assert_eq!(c.job, Job::Backup);
    assert_eq!(c.call.operation, "CreateBackup");
    assert_eq!(
        c.call.request,
        json!({"TableName": "T", "BackupName": "b1"})
    );
    assert!(c.wait);
    assert_eq!(c.timeout, None);
    let c = create(&[
        "create-backup",
        "--cli-input-json",
        r#"{"TableName":"T","BackupName":"b1"}"#,
        "--no-wait",
    ]);
    assert!(!c.wait);
    assert_eq!(
        c.call.request,
        json!({"TableName": "T", "BackupName": "b1"})
    );
    let c = create(&[
        "create-backup",
        "--table-name",
        "T",
        "--backup-name",
        "b1",
        "--timeout-seconds",
        "9",
    ]);
    assert_eq!(c.timeout, Some(Duration::from_secs(9)));
    let err = param_error(&[
        "create-backup",
        "--table-name",
        "T",
        "--backup-name",
        "b",
        "--no-wait",
        "--timeout-seconds",
        "1",
    ]);
    assert!(err.contains("cannot be used with"), "{err}");
    assert!(
        param_error(&["create-backup", "--table-name", "T"])
            .ends_with("the following arguments are required: --backup-name")
    );

    assert_eq!(
        request(&["describe-backup", "--backup-arn", "arn:b"]),
        ("DescribeBackup", json!({"BackupArn": "arn:b"}))
    );
    assert_eq!(
        request(&["delete-backup", "--backup-arn", "arn:b"]),
        ("DeleteBackup", json!({"BackupArn": "arn:b"}))
    );
    assert_eq!(
        request(&[
            "update-continuous-backups",
            "--table-name",
            "T",
            "--point-in-time-recovery-specification",
            "PointInTimeRecoveryEnabled=true,RecoveryPeriodInDays=7"
        ]),
        (
            "UpdateContinuousBackups",
            json!({"TableName": "T", "PointInTimeRecoverySpecification":
                {"PointInTimeRecoveryEnabled": true, "RecoveryPeriodInDays": 7}})
        )
    );
    assert_eq!(
        request(&["describe-continuous-backups", "--table-name", "T"]),
        ("DescribeContinuousBackups", json!({"TableName": "T"}))
    );
}

#[test]
fn list_backups_times_and_paging() {
    let c = call(&[
        "list-backups",
        "--table-name",
        "T",
        "--time-range-lower-bound",
        "2025-12-02T00:00:00Z",
        "--time-range-upper-bound",
        "1764633600.5",
        "--backup-type",
        "ALL",
        "--max-items",
        "2",
    ]);
    assert_eq!(c.operation, "ListBackups");
    assert_eq!(
        c.request,
        json!({"TableName": "T", "TimeRangeLowerBound": 1_764_633_600,
               "TimeRangeUpperBound": 1_764_633_600.5, "BackupType": "ALL"})
    );
    let paging = c.paging.unwrap();
    assert_eq!(paging.paginator, &LIST_BACKUPS_PAGINATOR);
    assert_eq!(paging.max_items, Some(2));
    // ISO text in --cli-input-json is converted too; --limit is manual paging.
    let c = call(&[
        "list-backups",
        "--cli-input-json",
        r#"{"TimeRangeLowerBound": "2025-12-02", "Limit": 1}"#,
    ]);
    assert_eq!(
        c.request,
        json!({"TimeRangeLowerBound": 1_764_633_600, "Limit": 1})
    );
    assert_eq!(c.paging, None);
    let err = param_error(&["list-backups", "--time-range-lower-bound", "yesterday"]);
    assert!(
        err.starts_with(
            "Error parsing parameter '--time-range-lower-bound': invalid timestamp 'yesterday'"
        ),
        "{err}"
    );
}

#[test]
fn backup_schedule_requests() {
    assert_eq!(
        request(&[
            "backup-schedule",
            "put",
            "--table-name",
            "T",
            "--interval-seconds",
            "3600",
            "--name-prefix",
            "hourly",
            "--keep-last",
            "3"
        ]),
        (
            "PutBackupSchedule",
            json!({"TableName": "T", "Schedule":
                {"IntervalSeconds": 3600, "NamePrefix": "hourly", "KeepLast": 3}})
        )
    );
    assert_eq!(
        request(&[
            "backup-schedule",
            "put",
            "--cli-input-json",
            r#"{"TableName":"T","Schedule":{"IntervalSeconds":60,"NamePrefix":"p"}}"#,
            "--daily-at",
            "03:30",
            "--max-age-days",
            "7"
        ]),
        (
            "PutBackupSchedule",
            json!({"TableName": "T", "Schedule":
                {"DailyAt": "03:30", "NamePrefix": "p", "MaxAgeDays": 7}})
        )
    );
    assert_eq!(
        request(&["backup-schedule", "get", "--table-name", "T"]),
        ("DescribeBackupSchedule", json!({"TableName": "T"}))
    );
    assert_eq!(
        request(&[
            "backup-schedule",
            "delete",
            "--cli-input-json",
            r#"{"TableName":"T"}"#
        ]),
        ("DeleteBackupSchedule", json!({"TableName": "T"}))
    );
    let err = param_error(&[
        "backup-schedule",
        "put",
        "--table-name",
        "T",
        "--name-prefix",
        "p",
    ]);
    assert!(
        err.ends_with("the following arguments are required: --interval-seconds | --daily-at"),
        "{err}"
    );
    let err = param_error(&[
        "backup-schedule",
        "put",
        "--table-name",
        "T",
        "--name-prefix",
        "p",
        "--interval-seconds",
        "60",
        "--daily-at",
        "01:00",
    ]);
    assert!(err.contains("cannot be used with"), "{err}");
    assert_eq!(
        param_error(&[
            "backup-schedule",
            "get",
            "--cli-input-json",
            r#"{"Table":"T"}"#
        ]),
        "Parameter validation failed:\nMissing required parameter in input: \"TableName\"\nUnknown parameter in input: \"Table\", must be one of: TableName"
    );
    assert!(
        param_error(&["backup-schedule", "delete"])
            .ends_with("the following arguments are required: --table-name")
    );
}

#[test]
fn backup_available_waiter() {
    let wait = |args: &[&str]| match build_request(args) {
        Ok(Action::Wait(wait)) => wait,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        wait(&["wait", "backup-available", "--backup-arn", "arn:b"]).waiter,
        Waiter::BackupAvailable {
            arn: "arn:b".to_owned()
        }
    );
    assert_eq!(
        wait(&[
            "wait",
            "backup-available",
            "--cli-input-json",
            r#"{"BackupArn":"arn:b"}"#
        ])
        .waiter
        .name(),
        "BackupAvailable"
    );
    assert!(
        param_error(&["wait", "backup-available"])
            .ends_with("the following arguments are required: --backup-arn")
    );
    let err = param_error(&["wait", "backup-available", "--table-name", "T"]);
    assert!(err.contains("unexpected argument '--table-name'"), "{err}");
}

fn start_job(args: &[&str]) -> StartJob {
    match build_request(args) {
        Ok(Action::StartJob(start)) => start,
        other => panic!("{args:?}: {other:?}"),
    }
}

#[test]
fn restore_from_backup_requests() {
    let s = start_job(&[
        "restore-table-from-backup",
        "--target-table-name",
        "copy",
        "--backup-arn",
        "arn:aws:dynamodb:ddblocal:000000000000:table/T/backup/01",
        "--billing-mode-override",
        "PROVISIONED",
        "--provisioned-throughput-override",
        "ReadCapacityUnits=5,WriteCapacityUnits=6",
        "--global-secondary-index-override",
        r#"{"IndexName":"g","KeySchema":[{"AttributeName":"g","KeyType":"HASH"}],"Projection":{"ProjectionType":"ALL"},"ProvisionedThroughput":{"ReadCapacityUnits":1,"WriteCapacityUnits":1}}"#,
        "--local-secondary-index-override",
        "IndexName=l,KeySchema=[{AttributeName=pk,KeyType=HASH},{AttributeName=l,KeyType=RANGE}],Projection={ProjectionType=KEYS_ONLY}",
        "--sse-specification-override",
        "Enabled=true,SSEType=KMS",
        "--reapply-tags",
        "--no-reapply-stream-specification",
    ]);
    assert_eq!((s.job, s.wait, s.timeout), (Job::Restore, true, None));
    assert_eq!(s.call.operation, "RestoreTableFromBackup");
    assert_eq!(
        s.call.request,
        json!({
            "TargetTableName": "copy",
            "BackupArn": "arn:aws:dynamodb:ddblocal:000000000000:table/T/backup/01",
            "BillingModeOverride": "PROVISIONED",
            "ProvisionedThroughputOverride": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 6},
            "GlobalSecondaryIndexOverride": [{
                "IndexName": "g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
                "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}
            }],
            "LocalSecondaryIndexOverride": [{
                "IndexName": "l",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "l", "KeyType": "RANGE"}
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"}
            }],
            "SSESpecificationOverride": {"Enabled": true, "SSEType": "KMS"},
            "ReapplyTags": true,
            "ReapplyStreamSpecification": false
        })
    );
    let s = start_job(&[
        "restore-table-from-backup",
        "--target-table-name",
        "copy",
        "--backup-arn",
        "arn:b",
        "--no-wait",
        "--no-reapply-tags",
    ]);
    assert!(!s.wait);
    assert_eq!(s.call.request["ReapplyTags"], false);
    let s = start_job(&[
        "restore-table-from-backup",
        "--cli-input-json",
        r#"{"TargetTableName":"copy","BackupArn":"arn:b"}"#,
        "--timeout-seconds",
        "30",
    ]);
    assert_eq!(s.timeout, Some(Duration::from_secs(30)));
    assert_eq!(
        s.call.request,
        json!({"TargetTableName": "copy", "BackupArn": "arn:b"})
    );
    assert!(
        param_error(&["restore-table-from-backup", "--target-table-name", "c"])
            .ends_with("the following arguments are required: --backup-arn")
    );
    let err = param_error(&[
        "restore-table-from-backup",
        "--cli-input-json",
        r#"{"TargetTableName":"c","BackupArn":"arn:b","TableName":"x"}"#,
    ]);
    assert!(
        err.contains("Unknown parameter in input: \"TableName\""),
        "{err}"
    );
}

#[test]
fn restore_from_a_backup_directory_sends_its_absolute_path() {
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("b1");
    std::fs::create_dir(&backup).unwrap();
    std::fs::write(backup.join("manifest.json"), "{}").unwrap();
    let absolute = std::fs::canonicalize(&backup).unwrap();
    let arn_of = |value: &str| {
        start_job(&[
            "restore-table-from-backup",
            "--target-table-name",
            "c",
            "--backup-arn",
            value,
        ])
        .call
        .request["BackupArn"]
            .clone()
    };
    assert_eq!(arn_of(backup.to_str().unwrap()), absolute.to_str().unwrap());
    // Its manifest.json names it too (the engine takes the parent directory).
    assert_eq!(
        arn_of(backup.join("manifest.json").to_str().unwrap()),
        absolute.join("manifest.json").to_str().unwrap()
    );
    // A relative path, with `..` in it.
    let relative = std::path::Path::new(".").join(pathdiff_from_cwd(&absolute).to_str().unwrap());
    assert_eq!(
        arn_of(relative.to_str().unwrap()),
        absolute.to_str().unwrap()
    );
    // ARNs and paths that name nothing are sent as they are.
    assert_eq!(arn_of("arn:x"), "arn:x");
    assert_eq!(arn_of("no/such/dir"), "no/such/dir");
    // --cli-input-json's BackupArn too.
    let s = start_job(&[
        "restore-table-from-backup",
        "--cli-input-json",
        &json!({"TargetTableName": "c", "BackupArn": backup}).to_string(),
    ]);
    assert_eq!(s.call.request["BackupArn"], absolute.to_str().unwrap());
}

/// `path` relative to the current directory, through `..` as far up as needed.
fn pathdiff_from_cwd(path: &std::path::Path) -> std::path::PathBuf {
    let cwd = std::fs::canonicalize(std::env::current_dir().unwrap()).unwrap();
    let mut up = std::path::PathBuf::new();
    for _ in cwd.components().skip(1) {
        up.push("..");
    }
    up.join(path.strip_prefix("/").unwrap())
}

#[test]
fn restore_to_point_in_time_requests() {
    let s = start_job(&[
        "restore-table-to-point-in-time",
        "--source-table-name",
        "T",
        "--target-table-name",
        "T2",
        "--use-latest-restorable-time",
        "--billing-mode-override",
        "PAY_PER_REQUEST",
        "--global-secondary-index-override",
        "[]",
    ]);
    assert_eq!((s.job, s.wait), (Job::Restore, true));
    assert_eq!(s.call.operation, "RestoreTableToPointInTime");
    assert_eq!(
        s.call.request,
        json!({"SourceTableName": "T", "TargetTableName": "T2",
               "UseLatestRestorableTime": true, "BillingModeOverride": "PAY_PER_REQUEST",
               "GlobalSecondaryIndexOverride": []})
    );
    let s = start_job(&[
        "restore-table-to-point-in-time",
        "--source-table-arn",
        "arn:aws:dynamodb:ddblocal:000000000000:table/T",
        "--target-table-name",
        "T2",
        "--restore-date-time",
        "2025-12-02T00:00:00.5Z",
        "--no-use-latest-restorable-time",
        "--reapply-stream-specification",
        "--no-wait",
    ]);
    assert!(!s.wait);
    assert_eq!(
        s.call.request,
        json!({"SourceTableArn": "arn:aws:dynamodb:ddblocal:000000000000:table/T",
               "TargetTableName": "T2", "RestoreDateTime": 1_764_633_600.5,
               "UseLatestRestorableTime": false, "ReapplyStreamSpecification": true})
    );
    // ISO text in --cli-input-json is converted as well.
    let s = start_job(&[
        "restore-table-to-point-in-time",
        "--cli-input-json",
        r#"{"SourceTableName":"T","TargetTableName":"T2","RestoreDateTime":"2025-12-02"}"#,
    ]);
    assert_eq!(s.call.request["RestoreDateTime"], 1_764_633_600);
    assert!(
        param_error(&["restore-table-to-point-in-time", "--source-table-name", "T"])
            .ends_with("the following arguments are required: --target-table-name")
    );
    let err = param_error(&[
        "restore-table-to-point-in-time",
        "--target-table-name",
        "T2",
        "--restore-date-time",
        "soon",
    ]);
    assert!(
        err.starts_with("Error parsing parameter '--restore-date-time'"),
        "{err}"
    );
}

#[test]
fn export_requests() {
    let s = start_job(&[
        "export-table-to-point-in-time",
        "--table-arn",
        "arn:aws:dynamodb:ddblocal:000000000000:table/T",
        "--export-time",
        "1764633600",
        "--client-token",
        "tok",
        "--s3-bucket",
        "exports",
        "--s3-bucket-owner",
        "000000000000",
        "--s3-prefix",
        "daily/",
        "--s3-sse-algorithm",
        "AES256",
        "--s3-sse-kms-key-id",
        "k",
        "--export-format",
        "DYNAMODB_JSON",
        "--export-type",
        "FULL_EXPORT",
    ]);
    assert_eq!((s.job, s.wait, s.timeout), (Job::Export, true, None));
    assert_eq!(s.call.operation, "ExportTableToPointInTime");
    assert_eq!(
        s.call.request,
        json!({"TableArn": "arn:aws:dynamodb:ddblocal:000000000000:table/T",
               "ExportTime": 1_764_633_600, "ClientToken": "tok", "S3Bucket": "exports",
               "S3BucketOwner": "000000000000", "S3Prefix": "daily/",
               "S3SseAlgorithm": "AES256", "S3SseKmsKeyId": "k",
               "ExportFormat": "DYNAMODB_JSON", "ExportType": "FULL_EXPORT"})
    );
    // Ours: --table-name instead of --table-arn.
    let s = start_job(&[
        "export-table-to-point-in-time",
        "--table-name",
        "T",
        "--s3-bucket",
        "exports",
        "--export-type",
        "INCREMENTAL_EXPORT",
        "--incremental-export-specification",
        "ExportFromTime=1764633600,ExportToTime=1764637200,ExportViewType=NEW_IMAGE",
        "--no-wait",
    ]);
    assert!(!s.wait);
    assert_eq!(s.call.request["TableName"], "T");
    assert_eq!(
        s.call.request["IncrementalExportSpecification"]["ExportViewType"],
        "NEW_IMAGE"
    );
    assert!(
        param_error(&["export-table-to-point-in-time", "--s3-bucket", "b"])
            .ends_with("the following arguments are required: --table-arn | --table-name")
    );
    assert!(
        param_error(&["export-table-to-point-in-time", "--table-name", "T"])
            .ends_with("the following arguments are required: --s3-bucket")
    );
    let s = start_job(&[
        "export-table-to-point-in-time",
        "--cli-input-json",
        r#"{"TableName":"T","S3Bucket":"b","ExportTime":"2025-12-02"}"#,
        "--timeout-seconds",
        "5",
    ]);
    assert_eq!(s.timeout, Some(Duration::from_secs(5)));
    assert_eq!(s.call.request["ExportTime"], 1_764_633_600);

    assert_eq!(
        request(&["describe-export", "--export-arn", "arn:e"]),
        ("DescribeExport", json!({"ExportArn": "arn:e"}))
    );
    let c = call(&["list-exports", "--table-arn", "arn:t", "--max-items", "3"]);
    assert_eq!(
        (c.operation, c.request),
        ("ListExports", json!({"TableArn": "arn:t"}))
    );
    let paging = c.paging.unwrap();
    assert_eq!(
        (paging.paginator, paging.max_items),
        (&LIST_EXPORTS_PAGINATOR, Some(3))
    );
    // --max-results and --next-token are manual paging: one request.
    let c = call(&["list-exports", "--max-results", "2", "--next-token", "n1"]);
    assert_eq!(c.request, json!({"MaxResults": 2, "NextToken": "n1"}));
    assert_eq!(c.paging, None);
}

#[test]
fn import_requests() {
    let s = start_job(&[
        "import-table",
        "--s3-bucket-source",
        "S3Bucket=exports,S3KeyPrefix=daily/,S3BucketOwner=000000000000",
        "--input-format",
        "DYNAMODB_JSON",
        "--input-format-options",
        r#"{"Csv":{"Delimiter":",","HeaderList":["pk","sk"]}}"#,
        "--input-compression-type",
        "ZSTD",
        "--table-creation-parameters",
        r#"{"TableName":"N","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"}"#,
        "--client-token",
        "tok",
    ]);
    assert_eq!((s.job, s.wait), (Job::Import, true));
    assert_eq!(s.call.operation, "ImportTable");
    assert_eq!(
        s.call.request,
        json!({
            "S3BucketSource": {"S3Bucket": "exports", "S3KeyPrefix": "daily/",
                               "S3BucketOwner": "000000000000"},
            "InputFormat": "DYNAMODB_JSON",
            "InputFormatOptions": {"Csv": {"Delimiter": ",", "HeaderList": ["pk", "sk"]}},
            "InputCompressionType": "ZSTD",
            "TableCreationParameters": {
                "TableName": "N",
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "BillingMode": "PAY_PER_REQUEST"
            },
            "ClientToken": "tok"
        })
    );
    let err = param_error(&["import-table", "--input-format", "ION"]);
    assert!(
        err.ends_with(
            "the following arguments are required: --s3-bucket-source, --table-creation-parameters"
        ),
        "{err}"
    );
    let s = start_job(&[
        "import-table",
        "--cli-input-json",
        r#"{"S3BucketSource":{"S3Bucket":"b"},"InputFormat":"ION","TableCreationParameters":{"TableName":"N"}}"#,
        "--no-wait",
    ]);
    assert!(!s.wait);

    assert_eq!(
        request(&["describe-import", "--import-arn", "arn:i"]),
        ("DescribeImport", json!({"ImportArn": "arn:i"}))
    );
    // --page-size is ListImports' PageSize, on every request of the pagination.
    let c = call(&["list-imports", "--table-arn", "arn:t", "--page-size", "5"]);
    assert_eq!(
        (c.operation, c.request),
        ("ListImports", json!({"TableArn": "arn:t"}))
    );
    let paging = c.paging.unwrap();
    assert_eq!(
        (paging.paginator, paging.page_size),
        (&LIST_IMPORTS_PAGINATOR, Some(5))
    );
    // PageSize and NextToken in --cli-input-json: manual paging, one request.
    let c = call(&[
        "list-imports",
        "--cli-input-json",
        r#"{"PageSize": 2, "NextToken": "n"}"#,
    ]);
    assert_eq!(c.request, json!({"PageSize": 2, "NextToken": "n"}));
    assert_eq!(c.paging, None);
}

#[test]
fn every_job_command_has_no_wait_and_a_timeout() {
    for name in [
        "create-backup",
        "restore-table-from-backup",
        "restore-table-to-point-in-time",
        "export-table-to-point-in-time",
        "import-table",
    ] {
        let spec = spec::command(name).unwrap();
        let cmd = command_for(spec);
        for arg in ["no-wait", "timeout-seconds", "cli-input-json"] {
            assert!(
                cmd.get_arguments().any(|a| a.get_id() == arg),
                "{name} --{arg}"
            );
        }
        let help = cmd.get_after_long_help().unwrap().to_string();
        assert!(
            help.starts_with("Waiting:") || help.starts_with("--backup-arn"),
            "{name}"
        );
    }
}
