//! Request building: every command's request shape, `--cli-input-json` merging, parameter
//! errors, paging decisions and waiters.

use super::*;
use crate::aws::spec::{
    LIST_BACKUPS_PAGINATOR, LIST_EXPORTS_PAGINATOR, LIST_IMPORTS_PAGINATOR, LIST_TABLES_PAGINATOR,
    QUERY_SCAN_PAGINATOR,
};
use serde_json::json;

fn call(args: &[&str]) -> Call {
    match build_request(args) {
        Ok(Action::Call(call)) => call,
        other => panic!("{args:?}: {other:?}"),
    }
}

fn request(args: &[&str]) -> (&'static str, Value) {
    let call = call(args);
    (call.operation, call.request)
}

fn param_error(args: &[&str]) -> String {
    match build_request(args) {
        Err(e) => e.0,
        other => panic!("{args:?}: {other:?}"),
    }
}

#[test]
fn create_table_with_shorthand_lists() {
    let (operation, body) = request(&[
        "create-table",
        "--table-name",
        "Music",
        "--attribute-definitions",
        "AttributeName=pk,AttributeType=S",
        "AttributeName=sk,AttributeType=N",
        "--key-schema",
        "AttributeName=pk,KeyType=HASH",
        "AttributeName=sk,KeyType=RANGE",
        "--provisioned-throughput",
        "ReadCapacityUnits=5,WriteCapacityUnits=5",
        "--global-secondary-indexes",
        r#"[{"IndexName":"g","KeySchema":[{"AttributeName":"sk","KeyType":"HASH"}],"Projection":{"ProjectionType":"ALL"}}]"#,
        "--no-deletion-protection-enabled",
    ]);
    assert_eq!(operation, "CreateTable");
    assert_eq!(
        body,
        json!({
            "TableName": "Music",
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"}
            ],
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"}
            ],
            "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
            "GlobalSecondaryIndexes": [{
                "IndexName": "g",
                "KeySchema": [{"AttributeName": "sk", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"}
            }],
            "DeletionProtectionEnabled": false
        })
    );
}

#[test]
fn table_commands() {
    assert_eq!(
        request(&["describe-table", "--table-name", "T"]),
        ("DescribeTable", json!({"TableName": "T"}))
    );
    assert_eq!(
        request(&["delete-table", "--table-name", "T"]),
        ("DeleteTable", json!({"TableName": "T"}))
    );
    let list = call(&["list-tables"]);
    assert_eq!((list.operation, list.request), ("ListTables", json!({})));
    assert_eq!(
        list.paging.map(|p| p.paginator),
        Some(&LIST_TABLES_PAGINATOR)
    );
    let (operation, body) = request(&[
        "update-table",
        "--table-name",
        "T",
        "--attribute-definitions",
        "AttributeName=g,AttributeType=S",
        "--global-secondary-index-updates",
        r#"[{"Create":{"IndexName":"gi","KeySchema":[{"AttributeName":"g","KeyType":"HASH"}],"Projection":{"ProjectionType":"KEYS_ONLY"}}}]"#,
        "--billing-mode",
        "PROVISIONED",
        "--provisioned-throughput",
        "ReadCapacityUnits=1,WriteCapacityUnits=2",
    ]);
    assert_eq!(operation, "UpdateTable");
    assert_eq!(
        body,
        json!({
            "TableName": "T",
            "AttributeDefinitions": [{"AttributeName": "g", "AttributeType": "S"}],
            "GlobalSecondaryIndexUpdates": [{"Create": {
                "IndexName": "gi",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"}
            }}],
            "BillingMode": "PROVISIONED",
            "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 2}
        })
    );
    // A GSI deletion in shorthand: a nested structure.
    let (_, body) = request(&[
        "update-table",
        "--table-name",
        "T",
        "--global-secondary-index-updates",
        "Delete={IndexName=gi}",
    ]);
    assert_eq!(
        body["GlobalSecondaryIndexUpdates"],
        json!([{"Delete": {"IndexName": "gi"}}])
    );
}

#[test]
fn item_commands() {
    let item = r#"{"pk":{"S":"a"},"n":{"N":"1"}}"#;
    assert_eq!(
        request(&[
            "put-item",
            "--table-name",
            "T",
            "--item",
            item,
            "--condition-expression",
            "attribute_not_exists(pk)",
            "--return-values",
            "ALL_OLD",
        ]),
        (
            "PutItem",
            json!({"TableName": "T", "Item": {"pk": {"S": "a"}, "n": {"N": "1"}},
                   "ConditionExpression": "attribute_not_exists(pk)", "ReturnValues": "ALL_OLD"})
        )
    );
    assert_eq!(
        request(&[
            "get-item",
            "--table-name",
            "T",
            "--key",
            r#"{"pk":{"S":"a"}}"#,
            "--consistent-read",
            "--projection-expression",
            "#n",
            "--expression-attribute-names",
            r##"{"#n":"n"}"##,
        ]),
        (
            "GetItem",
            json!({"TableName": "T", "Key": {"pk": {"S": "a"}}, "ConsistentRead": true,
                   "ProjectionExpression": "#n", "ExpressionAttributeNames": {"#n": "n"}})
        )
    );
    assert_eq!(
        request(&[
            "update-item",
            "--table-name",
            "T",
            "--key",
            "pk={S=a}",
            "--update-expression",
            "SET n = n + :one",
            "--expression-attribute-values",
            r#"{":one":{"N":"1"}}"#,
            "--return-values",
            "UPDATED_NEW",
        ]),
        (
            "UpdateItem",
            json!({"TableName": "T", "Key": {"pk": {"S": "a"}},
                   "UpdateExpression": "SET n = n + :one",
                   "ExpressionAttributeValues": {":one": {"N": "1"}},
                   "ReturnValues": "UPDATED_NEW"})
        )
    );
    assert_eq!(
        request(&[
            "delete-item",
            "--table-name",
            "T",
            "--key",
            r#"{"pk":{"S":"a"}}"#
        ]),
        (
            "DeleteItem",
            json!({"TableName": "T", "Key": {"pk": {"S": "a"}}})
        )
    );
    let requests = r#"{"T":[{"PutRequest":{"Item":{"pk":{"S":"a"}}}}]}"#;
    assert_eq!(
        request(&["batch-write-item", "--request-items", requests]),
        (
            "BatchWriteItem",
            json!({"RequestItems": {"T": [{"PutRequest": {"Item": {"pk": {"S": "a"}}}}]}})
        )
    );
    let keys = r#"{"T":{"Keys":[{"pk":{"S":"a"}}],"ConsistentRead":true}}"#;
    assert_eq!(
        request(&[
            "batch-get-item",
            "--request-items",
            keys,
            "--return-consumed-capacity",
            "TOTAL"
        ]),
        (
            "BatchGetItem",
            json!({"RequestItems": {"T": {"Keys": [{"pk": {"S": "a"}}], "ConsistentRead": true}},
                   "ReturnConsumedCapacity": "TOTAL"})
        )
    );
}

#[test]
fn query_and_scan() {
    let query = call(&[
        "query",
        "--table-name",
        "T",
        "--index-name",
        "byDate",
        "--key-condition-expression",
        "pk = :p AND sk > :s",
        "--expression-attribute-values",
        r#"{":p":{"S":"a"},":s":{"N":"-5"}}"#,
        "--no-scan-index-forward",
        "--filter-expression",
        "attribute_exists(x)",
        "--select",
        "ALL_PROJECTED_ATTRIBUTES",
        "--projection-expression",
        "pk, sk",
    ]);
    assert_eq!(query.operation, "Query");
    assert_eq!(
        query.request,
        json!({"TableName": "T", "IndexName": "byDate",
               "KeyConditionExpression": "pk = :p AND sk > :s",
               "ExpressionAttributeValues": {":p": {"S": "a"}, ":s": {"N": "-5"}},
               "ScanIndexForward": false, "FilterExpression": "attribute_exists(x)",
               "Select": "ALL_PROJECTED_ATTRIBUTES", "ProjectionExpression": "pk, sk"})
    );
    assert_eq!(
        query.paging,
        Some(Paging {
            paginator: &QUERY_SCAN_PAGINATOR,
            max_items: None,
            starting_token: None,
            page_size: None
        })
    );
    // The last of --flag / --no-flag wins.
    let (_, body) = request(&[
        "query",
        "--table-name",
        "T",
        "--no-scan-index-forward",
        "--scan-index-forward",
    ]);
    assert_eq!(body["ScanIndexForward"], true);

    let scan = call(&[
        "scan",
        "--table-name",
        "T",
        "--segment",
        "1",
        "--total-segments",
        "4",
        "--attributes-to-get",
        "a",
        "b",
        "--max-items",
        "10",
        "--page-size",
        "3",
        "--starting-token",
        "tok",
    ]);
    assert_eq!(
        scan.request,
        json!({"TableName": "T", "Segment": 1, "TotalSegments": 4,
               "AttributesToGet": ["a", "b"]})
    );
    assert_eq!(
        scan.paging,
        Some(Paging {
            paginator: &QUERY_SCAN_PAGINATOR,
            max_items: Some(10),
            starting_token: Some("tok".to_owned()),
            page_size: Some(3)
        })
    );
}

#[test]
fn manual_paging_turns_pagination_off() {
    let scan = call(&["scan", "--table-name", "T", "--limit", "2"]);
    assert_eq!(scan.request, json!({"TableName": "T", "Limit": 2}));
    assert_eq!(scan.paging, None);
    let scan = call(&[
        "scan",
        "--table-name",
        "T",
        "--exclusive-start-key",
        r#"{"pk":{"S":"a"}}"#,
    ]);
    assert_eq!(scan.paging, None);
    let scan = call(&[
        "scan",
        "--cli-input-json",
        r#"{"TableName":"T","ExclusiveStartKey":{"pk":{"S":"a"}}}"#,
    ]);
    assert_eq!(scan.paging, None);
    assert_eq!(
        call(&["scan", "--table-name", "T", "--no-paginate"]).paging,
        None
    );
    assert_eq!(
        param_error(&[
            "scan",
            "--table-name",
            "T",
            "--no-paginate",
            "--starting-token",
            "x",
            "--max-items",
            "3"
        ]),
        "Cannot specify --no-paginate along with pagination arguments: --starting-token, --max-items"
    );
    assert_eq!(
        param_error(&["list-tables", "--limit", "2", "--page-size", "1"]),
        "Cannot specify --no-paginate along with pagination arguments: --page-size"
    );
}

#[test]
fn cli_input_json_merges_under_the_flags() {
    let input = r#"{"TableName":"FromJson","Key":{"pk":{"S":"j"}},"ConsistentRead":true}"#;
    let (_, body) = request(&[
        "get-item",
        "--cli-input-json",
        input,
        "--table-name",
        "FromFlag",
    ]);
    assert_eq!(
        body,
        json!({"TableName": "FromFlag", "Key": {"pk": {"S": "j"}}, "ConsistentRead": true})
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("req.json");
    std::fs::write(&path, input).unwrap();
    let (_, body) = request(&[
        "get-item",
        "--cli-input-json",
        &format!("file://{}", path.display()),
        "--no-consistent-read",
    ]);
    assert_eq!(
        body,
        json!({"TableName": "FromJson", "Key": {"pk": {"S": "j"}}, "ConsistentRead": false})
    );
    // Every parameter reads file://, strings included.
    let expr = dir.path().join("expr.txt");
    std::fs::write(&expr, "pk = :p").unwrap();
    let (_, body) = request(&[
        "query",
        "--table-name",
        "T",
        "--key-condition-expression",
        &format!("file://{}", expr.display()),
    ]);
    assert_eq!(body["KeyConditionExpression"], "pk = :p");
}

#[test]
fn missing_and_unknown_parameters() {
    let usage = param_error(&["put-item", "--table-name", "T"]);
    assert!(usage.starts_with("usage: ddbfmt "), "{usage}");
    assert!(
        usage.ends_with("ddbfmt: error: the following arguments are required: --item"),
        "{usage}"
    );
    let usage = param_error(&["create-table"]);
    assert!(
        usage.ends_with(
            "the following arguments are required: --attribute-definitions, --table-name, --key-schema"
        ),
        "{usage}"
    );
    assert_eq!(
        param_error(&["put-item", "--cli-input-json", r#"{"Itme":{}}"#]),
        "Parameter validation failed:\n\
         Missing required parameter in input: \"TableName\"\n\
         Missing required parameter in input: \"Item\"\n\
         Unknown parameter in input: \"Itme\", must be one of: TableName, Item, Expected, \
         ReturnValues, ReturnConsumedCapacity, ReturnItemCollectionMetrics, ConditionalOperator, \
         ConditionExpression, ExpressionAttributeNames, ExpressionAttributeValues, \
         ReturnValuesOnConditionCheckFailure"
    );
    // clap's own errors (unknown flag, bad integer) come back as parameter errors too.
    let err = param_error(&["scan", "--table-name", "T", "--limit", "x"]);
    assert!(err.contains("invalid value 'x'"), "{err}");
    let err = param_error(&["scan", "--table-nme", "T"]);
    assert!(err.contains("unexpected argument '--table-nme'"), "{err}");
    let err = param_error(&["put-item", "--table-name", "T", "--item", "pk={S=a"]);
    assert_eq!(
        err,
        "Error parsing parameter '--item': Expected: ', or }', received: 'EOF' for input:\npk={S=a\n       ^"
    );
}

#[test]
fn waiters() {
    let wait = |args: &[&str]| match build_request(args) {
        Ok(Action::Wait(wait)) => wait,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        wait(&["wait", "table-exists", "--table-name", "T"]),
        Wait {
            waiter: Waiter::TableExists {
                table: "T".to_owned()
            },
            timeout: Duration::from_secs(500)
        }
    );
    assert_eq!(
        wait(&[
            "wait",
            "table-not-exists",
            "--table-name",
            "T",
            "--timeout-seconds",
            "3"
        ]),
        Wait {
            waiter: Waiter::TableNotExists {
                table: "T".to_owned()
            },
            timeout: Duration::from_secs(3)
        }
    );
    assert_eq!(
        wait(&[
            "wait",
            "index-active",
            "--cli-input-json",
            r#"{"TableName":"T","IndexName":"I"}"#
        ])
        .waiter,
        Waiter::IndexActive {
            table: "T".to_owned(),
            index: "I".to_owned()
        }
    );
    assert!(
        param_error(&["wait", "index-active", "--table-name", "T"])
            .ends_with("the following arguments are required: --index-name")
    );
    assert_eq!(
        param_error(&["wait", "table-exists", "--cli-input-json", "{}"]),
        "Parameter validation failed:\nMissing required parameter in input: \"TableName\""
    );
    let err = param_error(&["wait", "table-gone", "--table-name", "T"]);
    assert!(
        err.contains("unrecognized subcommand 'table-gone'"),
        "{err}"
    );
}

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
