//! End-to-end `CreateTable` validation: every rule with a passing and a failing request, the
//! exact DynamoDB error name and message, the order DynamoDB checks in, and the JSON shapes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ddb_model::schema::{IndexKind, KeyAttribute, KeyDef, ResolvedProjection, ScalarAttributeType};
use ddb_model::table::CreateTableInput;
use serde_json::{Value, json};

mod table_fixtures;

use table_fixtures::*;

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
