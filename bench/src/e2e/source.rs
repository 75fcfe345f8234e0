//! The end-to-end table: its definition (an LSI `by_updated` and a GSI `by_merchant`, both
//! projecting ALL), its schema, and what a backup records of it (`source_table`, the
//! `BuildRequest`), so that a restore rebuilds both indexes.

use ddb_model::TableSchema;
use ddb_model::table::{CreateTableInput, IndexStatus, TableStatus, describe_new_table};
use serde_json::{Value, json};

use super::Result;
use super::generate::Workload;

pub const TABLE: &str = "orders";
pub const LSI: &str = "by_updated";
pub const GSI: &str = "by_merchant";
/// The table id of the generated snapshot and log (16 bytes).
pub const TABLE_ID: [u8; 16] = *b"ddb-bench-e2e-v1";
const TABLE_ARN: &str = "arn:aws:dynamodb:ddblocal:000000000000:table/orders";

/// The CreateTable request of the table.
pub fn create_table_request() -> Value {
    let key = |hash: &str, range: &str| {
        json!([
            {"AttributeName": hash, "KeyType": "HASH"},
            {"AttributeName": range, "KeyType": "RANGE"}
        ])
    };
    json!({
        "TableName": TABLE,
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "updated_at", "AttributeType": "N"},
            {"AttributeName": "merchant_id", "AttributeType": "S"},
            {"AttributeName": "amount", "AttributeType": "N"}
        ],
        "KeySchema": key("pk", "sk"),
        "LocalSecondaryIndexes": [{
            "IndexName": LSI,
            "KeySchema": key("pk", "updated_at"),
            "Projection": {"ProjectionType": "ALL"}
        }],
        "GlobalSecondaryIndexes": [{
            "IndexName": GSI,
            "KeySchema": key("merchant_id", "amount"),
            "Projection": {"ProjectionType": "ALL"}
        }],
        "BillingMode": "PAY_PER_REQUEST"
    })
}

/// The table's definition as CreateTable validates it.
pub fn definition() -> Result<CreateTableInput> {
    Ok(CreateTableInput::from_json(
        &create_table_request().to_string(),
    )?)
}

/// The table's key and index schemas.
pub fn schema() -> Result<TableSchema> {
    Ok(definition()?.validate()?)
}

/// Lowercase hex of [`TABLE_ID`] (the backup identity's `table_id`).
pub fn table_id_hex() -> String {
    TABLE_ID.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the engine's CreateBackup records as `source_table`: the table's DynamoDB
/// `TableDescription` at the cut (ACTIVE, its counts, both indexes), its `Definition` (what a
/// restore recreates), and the settings a backup records as facts.
pub fn source_table(workload: &Workload) -> Result<Value> {
    let input = definition()?;
    let schema = input.validate()?;
    let mut description = describe_new_table(
        &input,
        &schema,
        TABLE_ARN.to_owned(),
        table_id_hex(),
        seconds(workload.cut_time_us),
    );
    description.table_status = TableStatus::Active;
    description.item_count = i64::try_from(workload.rows_at_cut)?;
    description.table_size_bytes = i64::try_from(workload.table_size_bytes_at_cut)?;
    for lsi in description.local_secondary_indexes.iter_mut().flatten() {
        // Every order has `pk` and `updated_at`: the LSI holds every row, projected whole.
        lsi.item_count = description.item_count;
        lsi.index_size_bytes = description.table_size_bytes;
    }
    for gsi in description.global_secondary_indexes.iter_mut().flatten() {
        gsi.index_status = IndexStatus::Active;
        gsi.item_count = i64::try_from(workload.merchant_rows_at_cut)?;
    }
    Ok(json!({
        "TableDescription": serde_json::to_value(&description)?,
        "Definition": serde_json::to_value(&input)?,
        "Tags": [],
        "TimeToLiveDescription": {"TimeToLiveStatus": "DISABLED"},
        "SSEDescription": null,
        "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"},
        "Schedule": null,
    }))
}

/// Microseconds since the epoch as DynamoDB's seconds.
fn seconds(us: u64) -> f64 {
    super::f64_of(us) / 1e6
}

/// The backup of the table at the workload's cut.
pub fn build_request(workload: &Workload) -> Result<ddb_backup::BuildRequest> {
    let request_time_ms = workload.cut_time_us / 1000;
    Ok(ddb_backup::BuildRequest {
        identity: ddb_backup::BackupIdentity {
            backup_arn: format!("{TABLE_ARN}/backup/{request_time_ms:014}-0000e2e0"),
            backup_name: "e2e".to_owned(),
            backup_type: "USER".to_owned(),
            table_name: TABLE.to_owned(),
            table_arn: TABLE_ARN.to_owned(),
            table_id: table_id_hex(),
            request_time_ms,
        },
        marker_lsn: workload.cut_lsn,
        marker_time_ms: request_time_ms,
        schema: schema()?,
        source_table: source_table(workload)?,
        expires_at_ms: None,
    })
}
