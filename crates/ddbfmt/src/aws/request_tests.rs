//! Request building: every command's request shape, `--cli-input-json` merging, parameter
//! errors, paging decisions and waiters; the job commands' requests (backups, schedules,
//! restores, exports, imports) are in [`jobs`] (`request_job_tests.rs`).

use super::*;
use crate::aws::spec::{LIST_TABLES_PAGINATOR, QUERY_SCAN_PAGINATOR};
use crate::aws::wait::Waiter;
use serde_json::json;

#[path = "request_job_tests.rs"]
mod jobs;

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
