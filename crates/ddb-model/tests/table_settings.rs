//! End-to-end `CreateTable` validation, second half: projections, billing and throughput,
//! streams, SSE, tags, and the JSON shapes of requests and descriptions.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ddb_model::schema::{IndexKind, ResolvedProjection};
use ddb_model::table::{CreateTableInput, IndexStatus, TableStatus, describe_new_table};
use serde_json::{Value, json};

mod table_fixtures;

use table_fixtures::*;

// ---- Projections ----------------------------------------------------------------------------

fn with_projection(projection: Value) -> Value {
    with_gsis(json!([gsi(
        "by_g",
        json!([hash("g"), range("h")]),
        projection
    )]))
}

#[test]
fn projection_type_is_required() {
    assert_invalid(
        &with_projection(json!({})),
        &format!("{INVALID}Unknown ProjectionType: null"),
    );
    assert_invalid(
        &with_projection(json!({ "NonKeyAttributes": ["a"] })),
        &format!("{INVALID}Unknown ProjectionType: null"),
    );
}

#[test]
fn include_needs_non_key_attributes() {
    assert_ok(&with_projection(include(&["a"])));
    assert_invalid(
        &with_projection(json!({ "ProjectionType": "INCLUDE" })),
        &format!("{INVALID}ProjectionType is INCLUDE, but NonKeyAttributes is not specified"),
    );
    assert_invalid(
        &with_projection(include(&[])),
        "1 validation error detected: Value '[]' at 'globalSecondaryIndexes.1.member.projection.\
         nonKeyAttributes' failed to satisfy constraint: Member must have length greater than or \
         equal to 1",
    );
}

#[test]
fn non_key_attributes_only_with_include() {
    assert_ok(&with_projection(json!({ "ProjectionType": "KEYS_ONLY" })));
    assert_invalid(
        &with_projection(json!({ "ProjectionType": "ALL", "NonKeyAttributes": ["a"] })),
        &format!("{INVALID}ProjectionType is ALL, but NonKeyAttributes is specified"),
    );
    assert_invalid(
        &with_projection(json!({ "ProjectionType": "KEYS_ONLY", "NonKeyAttributes": ["a"] })),
        &format!("{INVALID}ProjectionType is KEYS_ONLY, but NonKeyAttributes is specified"),
    );
}

#[test]
fn non_key_attributes_have_no_duplicates() {
    assert_invalid(
        &with_projection(include(&["a", "b", "a"])),
        &format!("{INVALID}Duplicate element in NonKeyAttributes: a"),
    );
}

#[test]
fn at_most_twenty_non_key_attributes_per_index() {
    let names: Vec<String> = (0..21).map(|i| format!("n{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_ok(&with_projection(include(&refs[..20])));
    assert_invalid(
        &with_projection(include(&refs)),
        &format!(
            "1 validation error detected: Value '[{}]' at 'globalSecondaryIndexes.1.member.\
             projection.nonKeyAttributes' failed to satisfy constraint: Member must have length \
             less than or equal to 20",
            refs.join(", ")
        ),
    );
}

#[test]
fn at_most_one_hundred_non_key_attributes_summed_over_indexes() {
    // The same attribute projected into two indexes counts twice.
    let names: Vec<String> = (0..20).map(|i| format!("n{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let gsis = |count: usize, last: &[&str]| {
        let mut list: Vec<Value> = (0..count)
            .map(|i| {
                gsi(
                    &format!("gsi{i}"),
                    json!([hash("g"), range("h")]),
                    include(&refs),
                )
            })
            .collect();
        list.push(gsi("last", json!([hash("h")]), include(last)));
        Value::Array(list)
    };
    assert_ok(&with_gsis(gsis(4, &refs))); // 100
    assert_invalid(
        &with_gsis(gsis(5, &["x"])), // 101
        &format!(
            "{INVALID}The number of NonKeyAttributes summed across all secondary indexes (101) \
             exceeds the per-table limit of 100"
        ),
    );
}

// ---- BillingMode and ProvisionedThroughput --------------------------------------------------

#[test]
fn provisioned_is_the_default_and_needs_throughput() {
    assert_ok(&set(table(), "BillingMode", json!("PROVISIONED")));
    let message = format!(
        "{INVALID}ReadCapacityUnits and WriteCapacityUnits must both be specified when \
         BillingMode is PROVISIONED"
    );
    assert_invalid(&unset(table(), "ProvisionedThroughput"), &message);
    assert_invalid(
        &set(
            unset(table(), "ProvisionedThroughput"),
            "BillingMode",
            json!("PROVISIONED"),
        ),
        &message,
    );
}

#[test]
fn pay_per_request_forbids_throughput() {
    assert_ok(&on_demand(table()));
    assert_invalid(
        &set(table(), "BillingMode", json!("PAY_PER_REQUEST")),
        &format!(
            "{INVALID}Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when \
             BillingMode is PAY_PER_REQUEST"
        ),
    );
}

#[test]
fn capacity_units_bounds() {
    assert_ok(&set(table(), "ProvisionedThroughput", pt(1, 1)));
    assert_invalid(
        &set(table(), "ProvisionedThroughput", pt(0, 1)),
        "1 validation error detected: Value '0' at 'provisionedThroughput.readCapacityUnits' \
         failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
    assert_invalid(
        &set(table(), "ProvisionedThroughput", pt(1_000_000_000_001, 1)),
        "Given value 1000000000001 for ReadCapacityUnits is out of bounds",
    );
}

#[test]
fn billing_is_checked_before_key_definitions() {
    let request = set(
        unset(table(), "ProvisionedThroughput"),
        "AttributeDefinitions",
        json!([]),
    );
    assert_invalid(
        &request,
        &format!(
            "{INVALID}ReadCapacityUnits and WriteCapacityUnits must both be specified when \
             BillingMode is PROVISIONED"
        ),
    );
}

// ---- StreamSpecification --------------------------------------------------------------------

#[test]
fn stream_specification() {
    assert_ok(&set(
        table(),
        "StreamSpecification",
        json!({ "StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES" }),
    ));
    assert_ok(&set(
        table(),
        "StreamSpecification",
        json!({ "StreamEnabled": false }),
    ));
    assert_invalid(
        &set(
            table(),
            "StreamSpecification",
            json!({ "StreamEnabled": true }),
        ),
        &format!(
            "{INVALID}Table is being created with a stream enabled, UpdateViewType is required"
        ),
    );
    assert_invalid(
        &set(
            table(),
            "StreamSpecification",
            json!({ "StreamEnabled": false, "StreamViewType": "KEYS_ONLY" }),
        ),
        &format!(
            "{INVALID}Table is being created with a stream disabled, UpdateViewType should not \
             be specified"
        ),
    );
}

// ---- SSESpecification -----------------------------------------------------------------------

#[test]
fn sse_specification() {
    assert_ok(&set(table(), "SSESpecification", json!({})));
    assert_ok(&set(
        table(),
        "SSESpecification",
        json!({ "Enabled": true, "SSEType": "KMS", "KMSMasterKeyId": "alias/orders" }),
    ));
    assert_invalid(
        &set(
            table(),
            "SSESpecification",
            json!({ "Enabled": false, "SSEType": "KMS" }),
        ),
        &format!("{INVALID}SSEType can not be specified if Enabled is false"),
    );
    assert_invalid(
        &set(
            table(),
            "SSESpecification",
            json!({ "KMSMasterKeyId": "alias/orders" }),
        ),
        &format!("{INVALID}SSEType KMS is required if KMSMasterKeyId is specified"),
    );
    assert_invalid(
        &set(
            table(),
            "SSESpecification",
            json!({ "Enabled": true, "SSEType": "AES256" }),
        ),
        &format!("{INVALID}SSEType AES256 is not supported"),
    );
}

// ---- Tags -----------------------------------------------------------------------------------

fn tags(tags: Value) -> Value {
    set(table(), "Tags", tags)
}

fn tag(key: &str, value: &str) -> Value {
    json!({ "Key": key, "Value": value })
}

#[test]
fn tags_valid() {
    assert_ok(&tags(json!([])));
    assert_ok(&tags(json!([
        tag("team", ""),
        tag(&"k".repeat(128), &"v".repeat(256)),
        tag("cost-centre:eu/west", "café @ 42+1=43"),
    ])));
    let fifty: Vec<Value> = (0..50).map(|i| tag(&format!("k{i}"), "v")).collect();
    assert_ok(&tags(Value::Array(fifty)));
}

#[test]
fn tag_key_rules() {
    let long = "k".repeat(129);
    assert_invalid(
        &tags(json!([tag(&long, "v")])),
        &format!("The Tag Key provided is invalid, Key: {long}"),
    );
    assert_invalid(
        &tags(json!([tag("", "v")])),
        "The Tag Key provided is invalid, Key: ",
    );
    assert_invalid(
        &tags(json!([tag("a#b", "v")])),
        "The Tag Key provided is invalid, Key: a#b",
    );
    assert_invalid(
        &tags(json!([tag("aws:owner", "v")])),
        "Tag Key cannot be prefixed with aws:, Key: aws:owner",
    );
}

#[test]
fn tag_value_rules() {
    let long = "v".repeat(257);
    assert_invalid(
        &tags(json!([tag("k", &long)])),
        &format!("The Tag Value provided is invalid, Value: {long}"),
    );
    assert_invalid(
        &tags(json!([tag("k", "100%")])),
        "The Tag Value provided is invalid, Value: 100%",
    );
}

#[test]
fn tag_keys_are_unique_and_at_most_fifty() {
    assert_invalid(
        &tags(json!([tag("dup", "1"), tag("dup", "2")])),
        "Duplicate Tag Keys provided as input: Duplicate Tag Key found dup",
    );
    let many: Vec<Value> = (0..51).map(|i| tag(&format!("k{i}"), "v")).collect();
    assert_invalid(
        &tags(Value::Array(many)),
        "Number of Tags exceed the current limit for the provided ResourceArn",
    );
}

// ---- serde round trips and descriptions -----------------------------------------------------

/// What `aws dynamodb create-table --cli-input-json file://orders.json` would be given.
const CLI_INPUT: &str = r#"{
    "TableName": "Orders",
    "AttributeDefinitions": [
        { "AttributeName": "CustomerId", "AttributeType": "S" },
        { "AttributeName": "OrderId", "AttributeType": "S" },
        { "AttributeName": "OrderDate", "AttributeType": "N" },
        { "AttributeName": "Status", "AttributeType": "S" }
    ],
    "KeySchema": [
        { "AttributeName": "CustomerId", "KeyType": "HASH" },
        { "AttributeName": "OrderId", "KeyType": "RANGE" }
    ],
    "LocalSecondaryIndexes": [
        {
            "IndexName": "ByDate",
            "KeySchema": [
                { "AttributeName": "CustomerId", "KeyType": "HASH" },
                { "AttributeName": "OrderDate", "KeyType": "RANGE" }
            ],
            "Projection": { "ProjectionType": "INCLUDE", "NonKeyAttributes": ["Total", "Currency"] }
        }
    ],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": "ByStatus",
            "KeySchema": [
                { "AttributeName": "Status", "KeyType": "HASH" },
                { "AttributeName": "OrderDate", "KeyType": "RANGE" }
            ],
            "Projection": { "ProjectionType": "INCLUDE", "NonKeyAttributes": ["Total"] },
            "ProvisionedThroughput": { "ReadCapacityUnits": 5, "WriteCapacityUnits": 2 }
        },
        {
            "IndexName": "ByOrder",
            "KeySchema": [{ "AttributeName": "OrderId", "KeyType": "HASH" }],
            "Projection": { "ProjectionType": "KEYS_ONLY" },
            "ProvisionedThroughput": { "ReadCapacityUnits": 1, "WriteCapacityUnits": 1 }
        }
    ],
    "BillingMode": "PROVISIONED",
    "ProvisionedThroughput": { "ReadCapacityUnits": 10, "WriteCapacityUnits": 5 },
    "StreamSpecification": { "StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES" },
    "SSESpecification": {
        "Enabled": true,
        "SSEType": "KMS",
        "KMSMasterKeyId": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    },
    "Tags": [{ "Key": "team", "Value": "payments" }, { "Key": "env", "Value": "prod" }],
    "TableClass": "STANDARD_INFREQUENT_ACCESS",
    "DeletionProtectionEnabled": true
}"#;

const TABLE_ARN: &str = "arn:aws:dynamodb:eu-west-1:123456789012:table/Orders";

#[test]
fn cli_input_json_round_trips() {
    let input = CreateTableInput::from_json(CLI_INPUT).unwrap();
    let schema = input.validate().unwrap();
    let kinds: Vec<_> = schema
        .indexes
        .iter()
        .map(|i| (i.name.as_str(), i.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("ByDate", IndexKind::Local),
            ("ByStatus", IndexKind::Global),
            ("ByOrder", IndexKind::Global)
        ]
    );
    assert_eq!(
        schema.index("ByDate").unwrap().projection,
        ResolvedProjection::Include(vec!["Currency".into(), "Total".into()])
    );
    let original: Value = serde_json::from_str(CLI_INPUT).unwrap();
    assert_eq!(serde_json::to_value(&input).unwrap(), original);
    assert_eq!(
        CreateTableInput::from_json(&serde_json::to_string(&input).unwrap()).unwrap(),
        input
    );
}

#[test]
fn new_table_description() {
    let input = CreateTableInput::from_json(CLI_INPUT).unwrap();
    let schema = input.validate().unwrap();
    let description = describe_new_table(
        &input,
        &schema,
        TABLE_ARN.to_owned(),
        "2f0b5c1e-0d1b-4c2a-9d8e-5b6a7c8d9e0f".to_owned(),
        1_700_000_000.5,
    );
    assert_eq!(description.table_status, TableStatus::Creating);
    let json = serde_json::to_value(&description).unwrap();
    let expected = json!({
        "AttributeDefinitions": [
            { "AttributeName": "CustomerId", "AttributeType": "S" },
            { "AttributeName": "OrderDate", "AttributeType": "N" },
            { "AttributeName": "OrderId", "AttributeType": "S" },
            { "AttributeName": "Status", "AttributeType": "S" }
        ],
        "TableName": "Orders",
        "KeySchema": [
            { "AttributeName": "CustomerId", "KeyType": "HASH" },
            { "AttributeName": "OrderId", "KeyType": "RANGE" }
        ],
        "TableStatus": "CREATING",
        "CreationDateTime": 1_700_000_000.5,
        "ProvisionedThroughput": {
            "NumberOfDecreasesToday": 0, "ReadCapacityUnits": 10, "WriteCapacityUnits": 5
        },
        "TableSizeBytes": 0,
        "ItemCount": 0,
        "TableArn": TABLE_ARN,
        "TableId": "2f0b5c1e-0d1b-4c2a-9d8e-5b6a7c8d9e0f",
        "LocalSecondaryIndexes": [{
            "IndexName": "ByDate",
            "KeySchema": [
                { "AttributeName": "CustomerId", "KeyType": "HASH" },
                { "AttributeName": "OrderDate", "KeyType": "RANGE" }
            ],
            "Projection": { "ProjectionType": "INCLUDE", "NonKeyAttributes": ["Currency", "Total"] },
            "IndexSizeBytes": 0,
            "ItemCount": 0,
            "IndexArn": format!("{TABLE_ARN}/index/ByDate")
        }],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "ByStatus",
                "KeySchema": [
                    { "AttributeName": "Status", "KeyType": "HASH" },
                    { "AttributeName": "OrderDate", "KeyType": "RANGE" }
                ],
                "Projection": { "ProjectionType": "INCLUDE", "NonKeyAttributes": ["Total"] },
                "IndexStatus": "CREATING",
                "ProvisionedThroughput": {
                    "NumberOfDecreasesToday": 0, "ReadCapacityUnits": 5, "WriteCapacityUnits": 2
                },
                "IndexSizeBytes": 0,
                "ItemCount": 0,
                "IndexArn": format!("{TABLE_ARN}/index/ByStatus")
            },
            {
                "IndexName": "ByOrder",
                "KeySchema": [{ "AttributeName": "OrderId", "KeyType": "HASH" }],
                "Projection": { "ProjectionType": "KEYS_ONLY" },
                "IndexStatus": "CREATING",
                "ProvisionedThroughput": {
                    "NumberOfDecreasesToday": 0, "ReadCapacityUnits": 1, "WriteCapacityUnits": 1
                },
                "IndexSizeBytes": 0,
                "ItemCount": 0,
                "IndexArn": format!("{TABLE_ARN}/index/ByOrder")
            }
        ],
        "StreamSpecification": { "StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES" },
        "LatestStreamLabel": "2023-11-14T22:13:20.500",
        "LatestStreamArn": format!("{TABLE_ARN}/stream/2023-11-14T22:13:20.500"),
        "SSEDescription": {
            "Status": "ENABLED",
            "SSEType": "KMS",
            "KMSMasterKeyArn":
                "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        },
        "TableClassSummary": { "TableClass": "STANDARD_INFREQUENT_ACCESS" },
        "DeletionProtectionEnabled": true
    });
    assert_eq!(json, expected);
    // And back: a description parses as DynamoDB prints it.
    let parsed: ddb_model::table::TableDescription = serde_json::from_value(json).unwrap();
    assert_eq!(parsed, description);
}

#[test]
fn on_demand_table_description() {
    let request = on_demand(with_gsis(json!([
        { "IndexName": "by_g", "KeySchema": [hash("g"), range("h")], "Projection": all() }
    ])));
    let input = parse(&request);
    let schema = input.validate().unwrap();
    let description =
        describe_new_table(&input, &schema, TABLE_ARN.to_owned(), "id".to_owned(), 10.0);
    let json = serde_json::to_value(&description).unwrap();
    assert_eq!(
        json["ProvisionedThroughput"],
        json!({ "NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0, "WriteCapacityUnits": 0 })
    );
    assert_eq!(
        json["BillingModeSummary"],
        json!({ "BillingMode": "PAY_PER_REQUEST", "LastUpdateToPayPerRequestDateTime": 10.0 })
    );
    let gsi = &description.global_secondary_indexes.as_ref().unwrap()[0];
    assert_eq!(gsi.index_status, IndexStatus::Creating);
    assert_eq!(gsi.provisioned_throughput.read_capacity_units, 0);
    assert_eq!(json["DeletionProtectionEnabled"], json!(false));
    for absent in [
        "LocalSecondaryIndexes",
        "StreamSpecification",
        "LatestStreamArn",
        "SSEDescription",
        "TableClassSummary",
        "RestoreSummary",
    ] {
        assert!(json.get(absent).is_none(), "{absent} should be absent");
    }
}

#[test]
fn description_field_names_match_dynamodb() {
    let json = json!({
        "AttributeDefinitions": [{ "AttributeName": "pk", "AttributeType": "S" }],
        "TableName": "Restored",
        "KeySchema": [{ "AttributeName": "pk", "KeyType": "HASH" }],
        "TableStatus": "INACCESSIBLE_ENCRYPTION_CREDENTIALS",
        "CreationDateTime": 1_600_000_000.25,
        "ProvisionedThroughput": {
            "LastIncreaseDateTime": 1_600_000_100.0,
            "LastDecreaseDateTime": 1_600_000_200.0,
            "NumberOfDecreasesToday": 1,
            "ReadCapacityUnits": 3,
            "WriteCapacityUnits": 4
        },
        "TableSizeBytes": 1024,
        "ItemCount": 7,
        "TableArn": "arn:aws:dynamodb:us-east-1:111122223333:table/Restored",
        "TableId": "id-1",
        "BillingModeSummary": { "BillingMode": "PROVISIONED" },
        "GlobalSecondaryIndexes": [{
            "IndexName": "g1",
            "KeySchema": [{ "AttributeName": "pk", "KeyType": "HASH" }],
            "Projection": { "ProjectionType": "ALL" },
            "IndexStatus": "UPDATING",
            "Backfilling": true,
            "ProvisionedThroughput": {
                "NumberOfDecreasesToday": 0, "ReadCapacityUnits": 1, "WriteCapacityUnits": 1
            },
            "IndexSizeBytes": 0,
            "ItemCount": 0,
            "IndexArn": "arn:aws:dynamodb:us-east-1:111122223333:table/Restored/index/g1"
        }],
        "RestoreSummary": {
            "SourceBackupArn": "arn:aws:dynamodb:us-east-1:111122223333:table/Orders/backup/01",
            "SourceTableArn": "arn:aws:dynamodb:us-east-1:111122223333:table/Orders",
            "RestoreDateTime": 1_600_000_000.0,
            "RestoreInProgress": false
        },
        "SSEDescription": {
            "Status": "ENABLED",
            "SSEType": "KMS",
            "KMSMasterKeyArn": "arn:aws:kms:us-east-1:111122223333:key/k",
            "InaccessibleEncryptionDateTime": 1_600_000_300.0
        },
        "TableClassSummary": { "TableClass": "STANDARD", "LastUpdateDateTime": 1_600_000_400.0 },
        "DeletionProtectionEnabled": false
    });
    let description: ddb_model::table::TableDescription =
        serde_json::from_value(json.clone()).unwrap();
    assert_eq!(
        description.table_status,
        TableStatus::InaccessibleEncryptionCredentials
    );
    assert_eq!(
        description.global_secondary_indexes.as_ref().unwrap()[0].backfilling,
        Some(true)
    );
    assert_eq!(serde_json::to_value(&description).unwrap(), json);
}
