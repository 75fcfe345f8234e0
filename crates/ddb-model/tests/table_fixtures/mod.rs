//! Request builders shared by the CreateTable validation tests.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ddb_model::schema::TableSchema;
use ddb_model::table::CreateTableInput;
use serde_json::{Value, json};

pub const INVALID: &str = "One or more parameter values were invalid: ";

pub fn def(name: &str, attribute_type: &str) -> Value {
    json!({ "AttributeName": name, "AttributeType": attribute_type })
}

pub fn hash(name: &str) -> Value {
    json!({ "AttributeName": name, "KeyType": "HASH" })
}

pub fn range(name: &str) -> Value {
    json!({ "AttributeName": name, "KeyType": "RANGE" })
}

pub fn all() -> Value {
    json!({ "ProjectionType": "ALL" })
}

pub fn include(names: &[&str]) -> Value {
    json!({ "ProjectionType": "INCLUDE", "NonKeyAttributes": names })
}

pub fn pt(read: i64, write: i64) -> Value {
    json!({ "ReadCapacityUnits": read, "WriteCapacityUnits": write })
}

pub fn lsi(name: &str, key_schema: Value, projection: Value) -> Value {
    json!({ "IndexName": name, "KeySchema": key_schema, "Projection": projection })
}

/// A GSI with provisioned throughput 1/1.
pub fn gsi(name: &str, key_schema: Value, projection: Value) -> Value {
    json!({
        "IndexName": name, "KeySchema": key_schema, "Projection": projection,
        "ProvisionedThroughput": pt(1, 1)
    })
}

/// A valid provisioned table keyed on `pk` (S) and `sk` (S).
pub fn table() -> Value {
    json!({
        "TableName": "Orders",
        "AttributeDefinitions": [def("pk", "S"), def("sk", "S")],
        "KeySchema": [hash("pk"), range("sk")],
        "ProvisionedThroughput": pt(5, 5)
    })
}

pub fn set(mut request: Value, member: &str, value: Value) -> Value {
    request[member] = value;
    request
}

pub fn unset(mut request: Value, member: &str) -> Value {
    request.as_object_mut().unwrap().remove(member);
    request
}

pub fn parse(request: &Value) -> CreateTableInput {
    CreateTableInput::from_json(&request.to_string()).unwrap()
}

pub fn validate(request: &Value) -> ddb_model::Result<TableSchema> {
    CreateTableInput::from_json(&request.to_string()).and_then(|input| input.validate())
}

#[track_caller]
pub fn assert_ok(request: &Value) -> TableSchema {
    validate(request).unwrap_or_else(|e| panic!("expected success, got {e}"))
}

#[track_caller]
pub fn assert_invalid(request: &Value, message: &str) {
    let err = validate(request).expect_err("expected a ValidationException");
    assert_eq!(err.name(), "ValidationException", "{err}");
    assert_eq!(err.message(), message);
}

pub fn with_lsis(lsis: Value) -> Value {
    set(
        set(
            table(),
            "AttributeDefinitions",
            json!([def("pk", "S"), def("sk", "S"), def("l", "N")]),
        ),
        "LocalSecondaryIndexes",
        lsis,
    )
}

pub fn with_gsis(gsis: Value) -> Value {
    set(
        set(
            table(),
            "AttributeDefinitions",
            json!([def("pk", "S"), def("sk", "S"), def("g", "S"), def("h", "N")]),
        ),
        "GlobalSecondaryIndexes",
        gsis,
    )
}

pub fn on_demand(request: Value) -> Value {
    set(
        unset(request, "ProvisionedThroughput"),
        "BillingMode",
        json!("PAY_PER_REQUEST"),
    )
}
