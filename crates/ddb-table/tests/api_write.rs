//! PutItem, DeleteItem and UpdateItem through the request layer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod api_common;

use api_common::*;
use serde_json::json;

fn get(t: &ddb_table::api::memory::MemoryTables, key: serde_json::Value) -> serde_json::Value {
    ok(
        t,
        "GetItem",
        json!({"TableName": "Hash", "Key": key, "ConsistentRead": true}),
    )
}

#[test]
fn put_then_get_round_trips_in_dynamodb_json() {
    let t = tables();
    let item = json!({"pk": {"S": "a"}, "n": {"N": "1.50"}, "s": {"SS": ["y", "x"]}});
    let response = ok(&t, "PutItem", json!({"TableName": "Hash", "Item": item}));
    assert_eq!(response, json!({}));
    let got = get(&t, json!({"pk": {"S": "a"}}));
    assert_eq!(
        got,
        json!({"Item": {"pk": {"S": "a"}, "n": {"N": "1.5"}, "s": {"SS": ["x", "y"]}}})
    );
    assert_eq!(get(&t, json!({"pk": {"S": "missing"}})), json!({}));
    let projected = ok(
        &t,
        "GetItem",
        json!({"TableName": "Hash", "Key": {"pk": {"S": "a"}}, "ProjectionExpression": "#n",
               "ExpressionAttributeNames": {"#n": "n"}}),
    );
    assert_eq!(projected, json!({"Item": {"n": {"N": "1.5"}}}));
}

#[test]
fn put_returns_the_old_item_with_all_old() {
    let t = tables();
    put(&t, "Hash", json!({"pk": {"S": "a"}, "v": {"N": "1"}}));
    let response = ok(
        &t,
        "PutItem",
        json!({"TableName": "Hash", "Item": {"pk": {"S": "a"}, "v": {"N": "2"}}, "ReturnValues": "ALL_OLD"}),
    );
    assert_eq!(
        response,
        json!({"Attributes": {"pk": {"S": "a"}, "v": {"N": "1"}}})
    );
    // No old item: no Attributes.
    let response = ok(
        &t,
        "PutItem",
        json!({"TableName": "Hash", "Item": {"pk": {"S": "b"}}, "ReturnValues": "ALL_OLD"}),
    );
    assert_eq!(response, json!({}));
}

#[test]
fn write_member_errors() {
    let t = tables();
    assert_validation(
        &t,
        "PutItem",
        json!({}),
        "2 validation errors detected: Value null at 'tableName' failed to satisfy constraint: \
         Member must not be null; Value null at 'item' failed to satisfy constraint: Member must \
         not be null",
    );
    assert_validation(
        &t,
        "PutItem",
        json!({"TableName": "Hash", "Item": {"pk": {"S": "a"}}, "ReturnValues": "BAD"}),
        "1 validation error detected: Value 'BAD' at 'returnValues' failed to satisfy \
         constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, \
         UPDATED_NEW]",
    );
    for op in ["PutItem", "DeleteItem"] {
        let target = if op == "PutItem" { "Item" } else { "Key" };
        assert_validation(
            &t,
            op,
            json!({"TableName": "Hash", target: {"pk": {"S": "a"}}, "ReturnValues": "ALL_NEW"}),
            "ReturnValues can only be ALL_OLD or NONE",
        );
    }
    assert_validation(
        &t,
        "PutItem",
        json!({"TableName": "ab", "Item": {"pk": {"S": "a"}}}),
        "1 validation error detected: Value 'ab' at 'tableName' failed to satisfy constraint: \
         Member must have length greater than or equal to 3",
    );
    let (name, message) = err(&t, "PutItem", json!({"TableName": 3, "Item": {}}));
    assert_eq!(name, "SerializationException");
    assert!(
        message.contains("can not be converted to an String"),
        "{message}"
    );
    let (name, message) = err(
        &t,
        "PutItem",
        json!({"TableName": "Nope", "Item": {"pk": {"S": "a"}}}),
    );
    assert_eq!(
        (name.as_str(), message.as_str()),
        ("ResourceNotFoundException", "Requested resource not found")
    );
    assert_validation(
        &t,
        "PutItem",
        json!({"TableName": "Hash", "Item": {"x": {"S": "a"}}}),
        "One or more parameter values were invalid: Missing the key pk in the item",
    );
    assert_validation(
        &t,
        "PutItem",
        json!({"TableName": "Hash", "Item": {"pk": {"S": "a"}, "big": {"S": "x".repeat(400 * 1024)}}}),
        "Item size has exceeded the maximum allowed size",
    );
    assert_validation(
        &t,
        "DeleteItem",
        json!({"TableName": "Hash", "Key": {"pk": {"N": "1"}}}),
        "The provided key element does not match the schema",
    );
    assert_validation(
        &t,
        "PutItem",
        json!({"TableName": "Music", "Item": song("a", 1, json!({"genre": {"N": "1"}}))}),
        "One or more parameter values were invalid: Type mismatch for Index Key genre Expected: S \
         Actual: N IndexName: ByGenre",
    );
}

#[test]
fn expression_parameter_rules() {
    let t = tables();
    assert_validation(
        &t,
        "PutItem",
        json!({"TableName": "Hash", "Item": {"pk": {"S": "a"}}, "ConditionExpression": "attribute_exists(pk)",
               "Expected": {"pk": {"Exists": false}}}),
        "Can not use both expression and non-expression parameters in the same request: \
         Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}",
    );
    assert_validation(
        &t,
        "UpdateItem",
        json!({"TableName": "Hash", "Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET a = :a",
               "ExpressionAttributeValues": {":a": {"S": "x"}}, "AttributeUpdates": {}}),
        "Can not use both expression and non-expression parameters in the same request: \
         Non-expression parameters: {AttributeUpdates} Expression parameters: {UpdateExpression}",
    );
    assert_validation(
        &t,
        "PutItem",
        json!({"TableName": "Hash", "Item": {"pk": {"S": "a"}}, "Expected": {"pk": {"Exists": false}}}),
        "The legacy parameter Expected is not supported by this implementation; use \
         ConditionExpression instead",
    );
    assert_validation(
        &t,
        "PutItem",
        json!({"TableName": "Hash", "Item": {"pk": {"S": "a"}}, "ExpressionAttributeValues": {":a": {"S": "x"}}}),
        "ExpressionAttributeValues can only be specified when using expressions: \
         ConditionExpression is null",
    );
    assert_validation(
        &t,
        "UpdateItem",
        json!({"TableName": "Hash", "Key": {"pk": {"S": "a"}}, "ExpressionAttributeValues": {":a": {"S": "x"}}}),
        "ExpressionAttributeValues can only be specified when using expressions: \
         UpdateExpression and ConditionExpression are null",
    );
    assert_validation(
        &t,
        "DeleteItem",
        json!({"TableName": "Hash", "Key": {"pk": {"S": "a"}}, "ExpressionAttributeNames": {"#a": "x"}}),
        "ExpressionAttributeNames can only be specified when using expressions",
    );
    assert_validation(
        &t,
        "PutItem",
        json!({"TableName": "Hash", "Item": {"pk": {"S": "a"}}, "ConditionExpression": "a = :a",
               "ExpressionAttributeValues": {":a": {"S": "x"}, ":b": {"S": "y"}}}),
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:b}",
    );
    assert_validation(
        &t,
        "PutItem",
        json!({"TableName": "Hash", "Item": {"pk": {"S": "a"}}, "ConditionExpression": "a = :a",
               "ExpressionAttributeValues": {":a": {"SS": []}}}),
        "ExpressionAttributeValues contains invalid value: One or more parameter values were \
         invalid: An string set  may not be empty for key :a",
    );
    // The update expression is parsed before the condition.
    let (_, message) = err(
        &t,
        "UpdateItem",
        json!({"TableName": "Hash", "Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET",
               "ConditionExpression": "(("}),
    );
    assert!(
        message.starts_with("Invalid UpdateExpression: "),
        "{message}"
    );
}

#[test]
fn conditions_guard_every_write() {
    let t = tables();
    let create = json!({"TableName": "Hash", "Item": {"pk": {"S": "a"}, "v": {"N": "1"}},
                        "ConditionExpression": "attribute_not_exists(pk)"});
    ok(&t, "PutItem", create.clone());
    let (name, message) = err(&t, "PutItem", create);
    assert_eq!(name, "ConditionalCheckFailedException");
    assert_eq!(message, "The conditional request failed");
    let failed = json!({"TableName": "Hash", "Key": {"pk": {"S": "a"}}, "ConditionExpression": "v = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}}});
    assert_eq!(
        err(&t, "DeleteItem", failed.clone()).0,
        "ConditionalCheckFailedException"
    );
    let mut update = failed.clone();
    update["UpdateExpression"] = json!("SET w = :two");
    assert_eq!(
        err(&t, "UpdateItem", update).0,
        "ConditionalCheckFailedException"
    );
    // Nothing changed.
    assert_eq!(
        get(&t, json!({"pk": {"S": "a"}}))["Item"],
        json!({"pk": {"S": "a"}, "v": {"N": "1"}})
    );
    // ReturnValuesOnConditionCheckFailure = ALL_OLD: the error carries the item it was checked
    // against; without it, no item.
    let mut asking = failed.clone();
    asking["ReturnValuesOnConditionCheckFailure"] = json!("ALL_OLD");
    let error = ddb_table::api::data::dispatch(&t, "DeleteItem", &asking)
        .unwrap()
        .unwrap_err();
    assert_eq!(error.name(), "ConditionalCheckFailedException");
    assert_eq!(
        error.item().map(|i| i.to_canonical_json()),
        Some(r#"{"pk":{"S":"a"},"v":{"N":"1"}}"#.to_owned())
    );
    let error = ddb_table::api::data::dispatch(&t, "DeleteItem", &failed)
        .unwrap()
        .unwrap_err();
    assert_eq!(error.item(), None);
    // The member's values are checked.
    assert_validation(
        &t,
        "DeleteItem",
        json!({"TableName": "Hash", "Key": {"pk": {"S": "a"}}, "ReturnValuesOnConditionCheckFailure": "ALL_NEW"}),
        "1 validation error detected: Value 'ALL_NEW' at 'returnValuesOnConditionCheckFailure' \
         failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]",
    );
    let response = ok(
        &t,
        "DeleteItem",
        json!({"TableName": "Hash", "Key": {"pk": {"S": "a"}}, "ConditionExpression": "v = :one",
               "ExpressionAttributeValues": {":one": {"N": "1"}}, "ReturnValues": "ALL_OLD",
               "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}),
    );
    assert_eq!(
        response,
        json!({"Attributes": {"pk": {"S": "a"}, "v": {"N": "1"}}})
    );
    assert_eq!(get(&t, json!({"pk": {"S": "a"}})), json!({}));
    // Deleting a missing item is fine and returns nothing.
    let response = ok(
        &t,
        "DeleteItem",
        json!({"TableName": "Hash", "Key": {"pk": {"S": "a"}}, "ReturnValues": "ALL_OLD"}),
    );
    assert_eq!(response, json!({}));
}

fn update(
    t: &ddb_table::api::memory::MemoryTables,
    expression: &str,
    values: serde_json::Value,
    return_values: &str,
) -> serde_json::Value {
    let mut request = json!({"TableName": "Hash", "Key": {"pk": {"S": "p"}}, "UpdateExpression": expression,
                             "ReturnValues": return_values});
    if values != json!(null) {
        request["ExpressionAttributeValues"] = values;
    }
    ok(t, "UpdateItem", request)
}

#[test]
fn update_creates_items_and_applies_every_clause() {
    let t = tables();
    let response = update(
        &t,
        "SET a = :one, l = :list ADD n :one, s :set",
        json!({":one": {"N": "1"}, ":list": {"L": [{"S": "x"}]}, ":set": {"SS": ["a", "b"]}}),
        "ALL_NEW",
    );
    assert_eq!(
        response,
        json!({"Attributes": {"pk": {"S": "p"}, "a": {"N": "1"}, "l": {"L": [{"S": "x"}]},
                              "n": {"N": "1"}, "s": {"SS": ["a", "b"]}}})
    );
    let response = update(
        &t,
        "REMOVE l DELETE s :a SET a = a + :one",
        json!({":a": {"SS": ["a"]}, ":one": {"N": "1"}}),
        "ALL_OLD",
    );
    assert_eq!(response["Attributes"]["a"], json!({"N": "1"}));
    assert_eq!(
        get(&t, json!({"pk": {"S": "p"}}))["Item"],
        json!({"pk": {"S": "p"}, "a": {"N": "2"}, "n": {"N": "1"}, "s": {"SS": ["b"]}})
    );
    // An update with no UpdateExpression creates the item from its key.
    let response = ok(
        &t,
        "UpdateItem",
        json!({"TableName": "Hash", "Key": {"pk": {"S": "q"}}, "ReturnValues": "ALL_NEW"}),
    );
    assert_eq!(response, json!({"Attributes": {"pk": {"S": "q"}}}));
    // A REMOVE of nothing does not create the item.
    let response = ok(
        &t,
        "UpdateItem",
        json!({"TableName": "Hash", "Key": {"pk": {"S": "r"}}, "UpdateExpression": "REMOVE x", "ReturnValues": "ALL_NEW"}),
    );
    assert_eq!(response, json!({}));
    assert_eq!(get(&t, json!({"pk": {"S": "r"}})), json!({}));
}

#[test]
fn updated_return_values_are_the_touched_paths() {
    let t = tables();
    put(
        &t,
        "Hash",
        json!({"pk": {"S": "p"}, "a": {"M": {"b": {"S": "dog"}, "c": {"L": [{"N": "1"}, {"N": "2"}, {"N": "3"}]}}}, "d": {"S": "cat"}}),
    );
    let response = update(
        &t,
        "SET a.b = :v",
        json!({":v": {"S": "hi"}}),
        "UPDATED_OLD",
    );
    assert_eq!(
        response,
        json!({"Attributes": {"a": {"M": {"b": {"S": "dog"}}}}})
    );
    let response = update(
        &t,
        "SET a.c[1] = :v, a.b = :w",
        json!({":v": {"N": "7"}, ":w": {"S": "yo"}}),
        "UPDATED_NEW",
    );
    assert_eq!(
        response,
        json!({"Attributes": {"a": {"M": {"b": {"S": "yo"}, "c": {"L": [{"N": "7"}]}}}}})
    );
    let response = update(&t, "SET e = :v", json!({":v": {"S": "new"}}), "UPDATED_OLD");
    assert_eq!(response, json!({}), "a new attribute has no old value");
    let response = update(
        &t,
        "SET e = :v REMOVE d",
        json!({":v": {"S": "newer"}}),
        "UPDATED_NEW",
    );
    assert_eq!(response, json!({"Attributes": {"e": {"S": "newer"}}}));
    let response = update(&t, "REMOVE e", json!(null), "NONE");
    assert_eq!(response, json!({}));
    assert_validation(
        &t,
        "UpdateItem",
        json!({"TableName": "Hash", "Key": {"pk": {"S": "p"}}, "UpdateExpression": "SET pk = :v",
               "ExpressionAttributeValues": {":v": {"S": "x"}}}),
        "One or more parameter values were invalid: Cannot update attribute pk. This attribute is \
         part of the key",
    );
}

#[test]
fn writes_maintain_the_indexes_of_the_memory_store() {
    let t = tables();
    put(
        &t,
        "Music",
        song(
            "a",
            1,
            json!({"genre": {"S": "rock"}, "year": {"N": "1990"}, "title": {"S": "t"}, "other": {"S": "o"}}),
        ),
    );
    let table = t.get("Music").unwrap();
    let entries = table.index_entries("ByGenre");
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0].1.to_canonical_json(),
        r#"{"genre":{"S":"rock"},"pk":{"S":"a"},"sk":{"N":"1"},"title":{"S":"t"},"year":{"N":"1990"}}"#
    );
    // Sparse: no lsk, no artist.
    assert!(table.index_entries("ByLsk").is_empty());
    assert!(table.index_entries("ByArtist").is_empty());
    ok(
        &t,
        "UpdateItem",
        json!({"TableName": "Music", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}},
               "UpdateExpression": "SET genre = :g REMOVE title", "ExpressionAttributeValues": {":g": {"S": "jazz"}}}),
    );
    let entries = table.index_entries("ByGenre");
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0].1.get("genre"),
        Some(&ddb_model::AttributeValue::from("jazz"))
    );
    assert_eq!(entries[0].1.get("title"), None);
    ok(
        &t,
        "DeleteItem",
        json!({"TableName": "Music", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}}),
    );
    assert!(table.index_entries("ByGenre").is_empty());
    assert!(table.is_empty());
}
