//! End-to-end `CreateTable` validation: every rule with a passing and a failing request, the
//! exact DynamoDB error name and message, the order DynamoDB checks in, and the JSON shapes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ddb_model::schema::{
    IndexKind, KeyAttribute, KeyDef, ResolvedProjection, ScalarAttributeType, TableSchema,
};
use ddb_model::table::{CreateTableInput, IndexStatus, TableStatus, describe_new_table};
use serde_json::{Value, json};

const INVALID: &str = "One or more parameter values were invalid: ";

// ---- fixtures ------------------------------------------------------------------------------

fn def(name: &str, attribute_type: &str) -> Value {
    json!({ "AttributeName": name, "AttributeType": attribute_type })
}

fn hash(name: &str) -> Value {
    json!({ "AttributeName": name, "KeyType": "HASH" })
}

fn range(name: &str) -> Value {
    json!({ "AttributeName": name, "KeyType": "RANGE" })
}

fn all() -> Value {
    json!({ "ProjectionType": "ALL" })
}

fn include(names: &[&str]) -> Value {
    json!({ "ProjectionType": "INCLUDE", "NonKeyAttributes": names })
}

fn pt(read: i64, write: i64) -> Value {
    json!({ "ReadCapacityUnits": read, "WriteCapacityUnits": write })
}

fn lsi(name: &str, key_schema: Value, projection: Value) -> Value {
    json!({ "IndexName": name, "KeySchema": key_schema, "Projection": projection })
}

/// A GSI with provisioned throughput 1/1.
fn gsi(name: &str, key_schema: Value, projection: Value) -> Value {
    json!({
        "IndexName": name, "KeySchema": key_schema, "Projection": projection,
        "ProvisionedThroughput": pt(1, 1)
    })
}

/// A valid provisioned table keyed on `pk` (S) and `sk` (S).
fn table() -> Value {
    json!({
        "TableName": "Orders",
        "AttributeDefinitions": [def("pk", "S"), def("sk", "S")],
        "KeySchema": [hash("pk"), range("sk")],
        "ProvisionedThroughput": pt(5, 5)
    })
}

fn set(mut request: Value, member: &str, value: Value) -> Value {
    request[member] = value;
    request
}

fn unset(mut request: Value, member: &str) -> Value {
    request.as_object_mut().unwrap().remove(member);
    request
}

fn parse(request: &Value) -> CreateTableInput {
    CreateTableInput::from_json(&request.to_string()).unwrap()
}

fn validate(request: &Value) -> ddb_model::Result<TableSchema> {
    CreateTableInput::from_json(&request.to_string()).and_then(|input| input.validate())
}

#[track_caller]
fn assert_ok(request: &Value) -> TableSchema {
    validate(request).unwrap_or_else(|e| panic!("expected success, got {e}"))
}

#[track_caller]
fn assert_invalid(request: &Value, message: &str) {
    let err = validate(request).expect_err("expected a ValidationException");
    assert_eq!(err.name(), "ValidationException", "{err}");
    assert_eq!(err.message(), message);
}

// ---- table and index names -----------------------------------------------------------------

#[test]
fn table_name_rules() {
    assert_ok(&set(table(), "TableName", json!("my_table.v-2")));
    assert_invalid(
        &set(table(), "TableName", json!("ab")),
        "1 validation error detected: Value 'ab' at 'tableName' failed to satisfy constraint: \
         Member must have length greater than or equal to 3",
    );
    let long = "t".repeat(256);
    assert_invalid(
        &set(table(), "TableName", json!(long)),
        &format!(
            "1 validation error detected: Value '{long}' at 'tableName' failed to satisfy \
             constraint: Member must have length less than or equal to 255"
        ),
    );
    assert_invalid(
        &set(table(), "TableName", json!("bad name")),
        "1 validation error detected: Value 'bad name' at 'tableName' failed to satisfy \
         constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
    );
}

#[test]
fn index_name_rules() {
    let request = set(
        table(),
        "LocalSecondaryIndexes",
        json!([lsi("by.pk-sk_1", json!([hash("pk"), range("sk")]), all())]),
    );
    assert_ok(&request);
    let long = "i".repeat(256);
    let request = set(
        table(),
        "LocalSecondaryIndexes",
        json!([
            lsi("h;", json!([hash("pk"), range("sk")]), all()),
            lsi(&long, json!([hash("pk"), range("sk")]), all()),
        ]),
    );
    assert_invalid(
        &request,
        &format!(
            "3 validation errors detected: Value 'h;' at 'localSecondaryIndexes.1.member.\
             indexName' failed to satisfy constraint: Member must satisfy regular expression \
             pattern: [a-zA-Z0-9_.-]+; Value 'h;' at 'localSecondaryIndexes.1.member.indexName' \
             failed to satisfy constraint: Member must have length greater than or equal to 3; \
             Value '{long}' at 'localSecondaryIndexes.2.member.indexName' failed to satisfy \
             constraint: Member must have length less than or equal to 255"
        ),
    );
}

#[test]
fn global_index_name_errors_come_before_local_ones() {
    // Recorded from DynamoDB: the GSI's error is listed first whatever the request order.
    let request = set(
        set(
            table(),
            "LocalSecondaryIndexes",
            json!([lsi("aa", json!([hash("pk"), range("sk")]), all())]),
        ),
        "GlobalSecondaryIndexes",
        json!([gsi("zz", json!([hash("sk")]), all())]),
    );
    assert_invalid(
        &request,
        "2 validation errors detected: Value 'zz' at 'globalSecondaryIndexes.1.member.indexName' \
         failed to satisfy constraint: Member must have length greater than or equal to 3; Value \
         'aa' at 'localSecondaryIndexes.1.member.indexName' failed to satisfy constraint: Member \
         must have length greater than or equal to 3",
    );
}

#[test]
fn constraint_violations_from_several_members_are_reported_together() {
    let request = json!({
        "TableName": "abc",
        "AttributeDefinitions": [],
        "KeySchema": [],
        "ProvisionedThroughput": pt(-1, -1)
    });
    assert_invalid(
        &request,
        "3 validation errors detected: Value '-1' at 'provisionedThroughput.writeCapacityUnits' \
         failed to satisfy constraint: Member must have value greater than or equal to 1; Value \
         '-1' at 'provisionedThroughput.readCapacityUnits' failed to satisfy constraint: Member \
         must have value greater than or equal to 1; Value '[]' at 'keySchema' failed to satisfy \
         constraint: Member must have length greater than or equal to 1",
    );
}

// ---- required members and serde errors -----------------------------------------------------

#[test]
fn missing_required_members() {
    let err = CreateTableInput::from_json(&unset(table(), "TableName").to_string()).unwrap_err();
    assert_eq!(err.name(), "ValidationException");
    assert_eq!(
        err.message(),
        "The parameter 'TableName' is required but was not present in the request"
    );
    let err = CreateTableInput::from_json(&unset(table(), "KeySchema").to_string()).unwrap_err();
    assert_eq!(err.name(), "ValidationException");
    assert_eq!(
        err.message(),
        "1 validation error detected: Value null at 'keySchema' failed to satisfy constraint: \
         Member must not be null"
    );
}

#[test]
fn attribute_type_outside_s_n_b_is_a_serialization_exception() {
    let json = r#"{"TableName":"abc","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"SS"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}]}"#;
    let err = CreateTableInput::from_json(json).unwrap_err();
    assert_eq!(err.name(), "SerializationException");
    assert_eq!(
        err.message(),
        "unknown variant `SS`, expected one of `S`, `N`, `B` at line 1 column 85"
    );
    let err = CreateTableInput::from_json("{not json").unwrap_err();
    assert_eq!(err.name(), "SerializationException");
    assert_eq!(err.message(), "key must be a string at line 1 column 2");
}

// ---- KeySchema -----------------------------------------------------------------------------

#[test]
fn key_schema_length() {
    assert_ok(&set(
        set(table(), "KeySchema", json!([hash("pk")])),
        "AttributeDefinitions",
        json!([def("pk", "S")]),
    ));
    let request = set(
        set(
            table(),
            "KeySchema",
            json!([hash("pk"), range("sk"), range("x")]),
        ),
        "AttributeDefinitions",
        json!([def("pk", "S"), def("sk", "S"), def("x", "S")]),
    );
    assert_invalid(
        &request,
        "1 validation error detected: Value '[KeySchemaElement(attributeName=pk, keyType=HASH), \
         KeySchemaElement(attributeName=sk, keyType=RANGE), KeySchemaElement(attributeName=x, \
         keyType=RANGE)]' at 'keySchema' failed to satisfy constraint: Member must have length \
         less than or equal to 2",
    );
    assert_invalid(
        &set(table(), "KeySchema", json!([])),
        "1 validation error detected: Value '[]' at 'keySchema' failed to satisfy constraint: \
         Member must have length greater than or equal to 1",
    );
}

#[test]
fn key_schema_element_order() {
    assert_invalid(
        &set(table(), "KeySchema", json!([range("sk"), hash("pk")])),
        "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
    );
    assert_invalid(
        &set(table(), "KeySchema", json!([hash("pk"), hash("sk")])),
        "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type",
    );
}

#[test]
fn key_schema_duplicate_attribute() {
    assert_invalid(
        &set(table(), "KeySchema", json!([hash("pk"), range("pk")])),
        "Both the Hash Key and the Range Key element in the KeySchema have the same name",
    );
    // With fewer definitions than key elements DynamoDB reports the count first.
    let request = set(
        set(table(), "KeySchema", json!([hash("pk"), range("pk")])),
        "AttributeDefinitions",
        json!([def("pk", "S")]),
    );
    assert_invalid(
        &request,
        "Invalid KeySchema: Some index key attribute have no definition",
    );
}

#[test]
fn key_attribute_must_be_defined() {
    let request = set(
        set(table(), "KeySchema", json!([hash("a")])),
        "AttributeDefinitions",
        json!([def("b", "S")]),
    );
    assert_invalid(
        &request,
        &format!(
            "{INVALID}Some index key attributes are not defined in AttributeDefinitions. Keys: \
             [a], AttributeDefinitions: [b]"
        ),
    );
}

#[test]
fn key_attribute_types_are_resolved() {
    let request = set(
        table(),
        "AttributeDefinitions",
        json!([def("sk", "N"), def("pk", "B")]),
    );
    let schema = assert_ok(&request);
    assert_eq!(
        schema.key,
        KeyDef {
            partition: KeyAttribute::new("pk", ScalarAttributeType::B),
            sort: Some(KeyAttribute::new("sk", ScalarAttributeType::N)),
        }
    );
    assert!(schema.indexes.is_empty());
}

// ---- AttributeDefinitions -------------------------------------------------------------------

#[test]
fn unused_definition_without_indexes() {
    let request = set(
        table(),
        "AttributeDefinitions",
        json!([def("pk", "S"), def("sk", "S"), def("extra", "S")]),
    );
    assert_invalid(
        &request,
        &format!(
            "{INVALID}Number of attributes in KeySchema does not exactly match number of \
             attributes defined in AttributeDefinitions"
        ),
    );
}

#[test]
fn unused_definition_with_indexes() {
    let request = set(
        set(
            table(),
            "AttributeDefinitions",
            json!([
                def("pk", "S"),
                def("sk", "S"),
                def("extra", "S"),
                def("g", "S")
            ]),
        ),
        "GlobalSecondaryIndexes",
        json!([gsi("by_g", json!([hash("g")]), all())]),
    );
    assert_invalid(
        &request,
        &format!(
            "{INVALID}Some AttributeDefinitions are not used. AttributeDefinitions: [pk, sk, \
             extra, g], keys used: [pk, sk, g]"
        ),
    );
}

#[test]
fn unused_definition_masks_later_index_rules() {
    // DynamoDB checks the definitions before any per-index rule (here a missing projection).
    let request = set(
        set(
            table(),
            "AttributeDefinitions",
            json!([def("pk", "S"), def("sk", "S"), def("extra", "S")]),
        ),
        "GlobalSecondaryIndexes",
        json!([gsi("by_sk", json!([hash("sk")]), json!({}))]),
    );
    assert_invalid(
        &request,
        &format!(
            "{INVALID}Some AttributeDefinitions are not used. AttributeDefinitions: [pk, sk, \
             extra], keys used: [pk, sk]"
        ),
    );
}

#[test]
fn duplicate_definition() {
    let request = set(
        table(),
        "AttributeDefinitions",
        json!([def("pk", "S"), def("sk", "S"), def("pk", "N")]),
    );
    assert_invalid(&request, "Attribute Name is duplicated: pk");
}

// ---- LocalSecondaryIndexes ------------------------------------------------------------------

fn with_lsis(lsis: Value) -> Value {
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

#[test]
fn local_indexes_valid() {
    let schema = assert_ok(&with_lsis(json!([
        lsi(
            "by_l",
            json!([hash("pk"), range("l")]),
            include(&["z", "a"])
        ),
        lsi(
            "by_sk",
            json!([hash("pk"), range("sk")]),
            json!({ "ProjectionType": "KEYS_ONLY" })
        ),
    ])));
    assert_eq!(schema.indexes.len(), 2);
    assert_eq!(schema.indexes[0].name, "by_l");
    assert_eq!(schema.indexes[0].kind, IndexKind::Local);
    assert_eq!(
        schema.indexes[0].key.sort,
        Some(KeyAttribute::new("l", ScalarAttributeType::N))
    );
    assert_eq!(
        schema.indexes[0].projection,
        ResolvedProjection::Include(vec!["a".into(), "z".into()])
    );
    assert_eq!(schema.indexes[1].projection, ResolvedProjection::KeysOnly);
}

#[test]
fn local_index_list_must_not_be_empty() {
    assert_invalid(
        &with_lsis(json!([])),
        &format!("{INVALID}List of LocalSecondaryIndexes is empty"),
    );
}

#[test]
fn local_index_needs_a_table_range_key() {
    let request = set(
        set(table(), "KeySchema", json!([hash("pk")])),
        "LocalSecondaryIndexes",
        json!([lsi("by_sk", json!([hash("pk"), range("sk")]), all())]),
    );
    assert_invalid(
        &request,
        &format!(
            "{INVALID}Table KeySchema does not have a range key, which is required when \
             specifying a LocalSecondaryIndex"
        ),
    );
}

#[test]
fn local_index_key_rules() {
    // A second, valid index keeps every definition in use.
    let with_bad = |bad: Value| {
        with_lsis(json!([
            bad,
            lsi("valid", json!([hash("pk"), range("l")]), all())
        ]))
    };
    assert_invalid(
        &with_bad(lsi("by_l", json!([hash("pk")]), all())),
        &format!("{INVALID}Index KeySchema does not have a range key for index: by_l"),
    );
    assert_invalid(
        &with_bad(lsi("by_l", json!([hash("sk"), range("l")]), all())),
        &format!(
            "{INVALID}Index KeySchema does not have the same leading hash key as table KeySchema \
             for index: by_l. index hash key: sk, table hash key: pk"
        ),
    );
    assert_invalid(
        &with_bad(lsi("by_l", json!([hash("pk"), range("q")]), all())),
        &format!(
            "{INVALID}Some index key attributes are not defined in AttributeDefinitions. Keys: \
             [pk, q], AttributeDefinitions: [pk, sk, l]"
        ),
    );
    assert_invalid(
        &with_bad(lsi("by_l", json!([hash("pk"), range("pk")]), all())),
        "Both the Hash Key and the Range Key element in the KeySchema have the same name",
    );
    assert_invalid(
        &with_bad(lsi("by_l", json!([range("l"), hash("pk")]), all())),
        "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
    );
}

#[test]
fn at_most_five_local_indexes() {
    let lsis = |n: usize| {
        Value::Array(
            (0..n)
                .map(|i| lsi(&format!("lsi{i}"), json!([hash("pk"), range("l")]), all()))
                .collect(),
        )
    };
    assert_ok(&with_lsis(lsis(5)));
    assert_invalid(
        &with_lsis(lsis(6)),
        &format!("{INVALID}Number of LocalSecondaryIndexes exceeds per-table limit of 5"),
    );
}

#[test]
fn local_index_names_are_unique() {
    assert_invalid(
        &with_lsis(json!([
            lsi("dup", json!([hash("pk"), range("l")]), all()),
            lsi("dup", json!([hash("pk"), range("sk")]), all()),
        ])),
        &format!("{INVALID}Duplicate index name: dup"),
    );
}

#[test]
fn index_names_are_unique_across_local_and_global() {
    let request = set(
        with_lsis(json!([lsi("dup", json!([hash("pk"), range("l")]), all())])),
        "GlobalSecondaryIndexes",
        json!([gsi("dup", json!([hash("l")]), all())]),
    );
    assert_invalid(&request, &format!("{INVALID}Duplicate index name: dup"));
    let request = set(
        with_lsis(json!([lsi(
            "local",
            json!([hash("pk"), range("l")]),
            all()
        )])),
        "GlobalSecondaryIndexes",
        json!([gsi("global", json!([hash("l")]), all())]),
    );
    assert_ok(&request);
}

// ---- GlobalSecondaryIndexes -----------------------------------------------------------------

fn with_gsis(gsis: Value) -> Value {
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

fn on_demand(request: Value) -> Value {
    set(
        unset(request, "ProvisionedThroughput"),
        "BillingMode",
        json!("PAY_PER_REQUEST"),
    )
}

#[test]
fn global_indexes_valid_and_ordered_after_local_ones() {
    let request = set(
        with_gsis(json!([
            gsi("by_h", json!([hash("h")]), all()),
            gsi("by_g", json!([hash("g"), range("h")]), include(&["b", "a"])),
        ])),
        "LocalSecondaryIndexes",
        json!([lsi("local", json!([hash("pk"), range("g")]), all())]),
    );
    let schema = assert_ok(&request);
    let names: Vec<_> = schema
        .indexes
        .iter()
        .map(|i| (i.name.as_str(), i.kind))
        .collect();
    assert_eq!(
        names,
        [
            ("local", IndexKind::Local),
            ("by_h", IndexKind::Global),
            ("by_g", IndexKind::Global)
        ]
    );
    assert_eq!(
        schema.index("by_g").unwrap().key,
        KeyDef {
            partition: KeyAttribute::new("g", ScalarAttributeType::S),
            sort: Some(KeyAttribute::new("h", ScalarAttributeType::N)),
        }
    );
    assert_eq!(
        schema.index("by_g").unwrap().projection,
        ResolvedProjection::Include(vec!["a".into(), "b".into()])
    );
}

#[test]
fn global_index_list_must_not_be_empty() {
    let request = set(table(), "GlobalSecondaryIndexes", json!([]));
    assert_invalid(
        &request,
        &format!("{INVALID}List of GlobalSecondaryIndexes is empty"),
    );
}

#[test]
fn at_most_twenty_global_indexes() {
    let gsis = |n: usize| {
        Value::Array(
            (0..n)
                .map(|i| gsi(&format!("gsi{i}"), json!([hash("g")]), all()))
                .collect(),
        )
    };
    let used = |r: Value| {
        // Every definition must be used; `h` is keyed by one more index.
        let mut r = r;
        r["GlobalSecondaryIndexes"]
            .as_array_mut()
            .unwrap()
            .push(gsi("by_h", json!([hash("h")]), all()));
        r
    };
    assert_ok(&used(with_gsis(gsis(19))));
    assert_invalid(
        &used(with_gsis(gsis(20))),
        &format!("{INVALID}GlobalSecondaryIndex count exceeds the per-table limit of 20"),
    );
}

#[test]
fn global_index_key_rules() {
    let second = gsi("by_h", json!([hash("h")]), all());
    assert_invalid(
        &with_gsis(json!([
            gsi("by_g", json!([hash("g"), range("q")]), all()),
            second
        ])),
        &format!(
            "{INVALID}Some index key attributes are not defined in AttributeDefinitions. Keys: \
             [g, q], AttributeDefinitions: [pk, sk, g, h]"
        ),
    );
    assert_invalid(
        &with_gsis(json!([
            gsi("by_g", json!([hash("g"), range("g")]), all()),
            second
        ])),
        "The KeySchema contains multiple key attributes with the same name",
    );
    assert_invalid(
        &with_gsis(json!([gsi("by_g", json!([range("h"), hash("g")]), all())])),
        "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
    );
    assert_invalid(
        &with_gsis(json!([gsi("by_g", json!([hash("g"), hash("h")]), all())])),
        "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type",
    );
}

#[test]
fn global_index_names_are_unique() {
    assert_invalid(
        &with_gsis(json!([
            gsi("dup", json!([hash("g")]), all()),
            gsi("dup", json!([hash("h")]), all()),
        ])),
        &format!("{INVALID}Duplicate index name: dup"),
    );
}

#[test]
fn global_index_throughput_follows_billing_mode() {
    let bare = json!([
        { "IndexName": "by_g", "KeySchema": [hash("g"), range("h")], "Projection": all() }
    ]);
    assert_invalid(
        &with_gsis(bare.clone()),
        &format!("{INVALID}ProvisionedThroughput is not specified for index: by_g"),
    );
    assert_ok(&on_demand(with_gsis(bare)));
    assert_invalid(
        &on_demand(with_gsis(json!([gsi(
            "by_g",
            json!([hash("g"), range("h")]),
            all()
        )]))),
        &format!(
            "{INVALID}ProvisionedThroughput should not be specified for index: by_g when \
             BillingMode is PAY_PER_REQUEST"
        ),
    );
    let mut zero = gsi("by_g", json!([hash("g"), range("h")]), all());
    zero["ProvisionedThroughput"] = pt(0, 1);
    assert_invalid(
        &with_gsis(json!([zero])),
        "1 validation error detected: Value '0' at 'globalSecondaryIndexes.1.member.\
         provisionedThroughput.readCapacityUnits' failed to satisfy constraint: Member must have \
         value greater than or equal to 1",
    );
}

#[test]
fn global_index_on_demand_throughput() {
    let index = |read: i64| {
        json!([{
            "IndexName": "by_g", "KeySchema": [hash("g"), range("h")], "Projection": all(),
            "OnDemandThroughput": { "MaxReadRequestUnits": read }
        }])
    };
    assert_ok(&on_demand(with_gsis(index(100))));
    assert_ok(&on_demand(with_gsis(index(-1))));
    assert_invalid(
        &on_demand(with_gsis(index(0))),
        &format!(
            "{INVALID}Requested MaxReadRequestUnits for OnDemandThroughput for index : by_g is \
             outside of valid range"
        ),
    );
    let mut provisioned = index(100);
    provisioned[0]["ProvisionedThroughput"] = pt(1, 1);
    assert_invalid(
        &with_gsis(provisioned),
        &format!(
            "{INVALID}MaxReadRequestUnits for OnDemandThroughput for index: by_g cannot be \
             specified when table BillingMode is PROVISIONED."
        ),
    );
}

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
