//! BatchWriteItem and BatchGetItem through the request layer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod api_common;

use api_common::*;
use serde_json::{Value, json};

fn puts(range: std::ops::Range<usize>) -> Vec<Value> {
    range
        .map(|i| json!({"PutRequest": {"Item": {"pk": {"S": format!("k{i}")}, "v": {"N": i.to_string()}}}}))
        .collect()
}

#[test]
fn batch_write_puts_and_deletes_across_tables() {
    let t = tables();
    put(&t, "Hash", json!({"pk": {"S": "old"}}));
    let mut hash = puts(0..20);
    hash.push(json!({"DeleteRequest": {"Key": {"pk": {"S": "old"}}}}));
    let response = ok(
        &t,
        "BatchWriteItem",
        json!({"RequestItems": {"Hash": hash, "Music": [{"PutRequest": {"Item": song("a", 1, json!({}))}}]}}),
    );
    assert_eq!(response, json!({"UnprocessedItems": {}}));
    assert_eq!(t.get("Hash").unwrap().len(), 20);
    assert_eq!(t.get("Music").unwrap().len(), 1);

    let keys: Vec<Value> = (0..3)
        .map(|i| json!({"pk": {"S": format!("k{i}")}}))
        .collect();
    let response = ok(
        &t,
        "BatchGetItem",
        json!({"RequestItems": {
            "Hash": {"Keys": keys, "ProjectionExpression": "#v", "ExpressionAttributeNames": {"#v": "v"}},
            "Music": {"Keys": [{"pk": {"S": "a"}, "sk": {"N": "1"}}, {"pk": {"S": "zz"}, "sk": {"N": "1"}}]}
        }}),
    );
    assert_eq!(response["UnprocessedKeys"], json!({}));
    let mut got: Vec<String> = response["Responses"]["Hash"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["v"]["N"].as_str().unwrap().to_owned())
        .collect();
    got.sort();
    assert_eq!(got, vec!["0", "1", "2"]);
    assert_eq!(
        response["Responses"]["Music"],
        json!([{"pk": {"S": "a"}, "sk": {"N": "1"}}])
    );
}

#[test]
fn batch_write_limits_and_duplicates() {
    let t = tables();
    assert_validation(
        &t,
        "BatchWriteItem",
        json!({"RequestItems": {"Hash": puts(0..20), "Music": (0..6).map(|i| json!({"PutRequest": {"Item": song("a", i, json!({}))}})).collect::<Vec<_>>()}}),
        "Too many items requested for the BatchWriteItem call",
    );
    assert_validation(
        &t,
        "BatchWriteItem",
        json!({"RequestItems": {"Hash": puts(0..26)}}),
        "1 validation error detected: Value '{Hash=[26 write requests]}' at 'requestItems' failed \
         to satisfy constraint: Map value must satisfy constraint: [Member must have length less \
         than or equal to 25, Member must have length greater than or equal to 1]",
    );
    assert_validation(
        &t,
        "BatchWriteItem",
        json!({}),
        "1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must not be null",
    );
    let mut dup = puts(0..2);
    dup.push(json!({"DeleteRequest": {"Key": {"pk": {"S": "k1"}}}}));
    assert_validation(
        &t,
        "BatchWriteItem",
        json!({"RequestItems": {"Hash": dup}}),
        "Provided list of item keys contains duplicates",
    );
    assert_validation(
        &t,
        "BatchWriteItem",
        json!({"RequestItems": {"Hash": [{}]}}),
        "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes",
    );
    assert_validation(
        &t,
        "BatchWriteItem",
        json!({"RequestItems": {"Hash": [{"PutRequest": {"Item": {"x": {"S": "a"}}}}]}}),
        "The provided key element does not match the schema",
    );
    // One bad request: nothing is written, in any table.
    let mut bad = puts(0..3);
    bad.push(json!({"DeleteRequest": {"Key": {"pk": {"N": "1"}}}}));
    let (name, _) = err(
        &t,
        "BatchWriteItem",
        json!({"RequestItems": {"Music": [{"PutRequest": {"Item": song("a", 1, json!({}))}}], "Hash": bad}}),
    );
    assert_eq!(name, "ValidationException");
    assert!(t.get("Hash").unwrap().is_empty());
    assert!(t.get("Music").unwrap().is_empty());
    let (name, _) = err(
        &t,
        "BatchWriteItem",
        json!({"RequestItems": {"Nope": puts(0..1)}}),
    );
    assert_eq!(name, "ResourceNotFoundException");
}

#[test]
fn batch_get_limits_and_duplicates() {
    let t = tables();
    let keys = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| json!({"pk": {"S": format!("k{i}")}}))
            .collect()
    };
    assert_validation(
        &t,
        "BatchGetItem",
        json!({"RequestItems": {"Hash": {"Keys": [{"pk": {"S": "a"}}, {"pk": {"S": "a"}}]}}}),
        "Provided list of item keys contains duplicates",
    );
    let music: Vec<Value> = (0..2)
        .map(|i| json!({"pk": {"S": "a"}, "sk": {"N": i.to_string()}}))
        .collect();
    assert_validation(
        &t,
        "BatchGetItem",
        json!({"RequestItems": {"Hash": {"Keys": keys(100)}, "Music": {"Keys": music}}}),
        "Too many items requested for the BatchGetItem call",
    );
    assert_validation(
        &t,
        "BatchGetItem",
        json!({"RequestItems": {"Hash": {"Keys": keys(1), "AttributesToGet": ["pk"], "ProjectionExpression": "pk"}}}),
        "Can not use both expression and non-expression parameters in the same request: \
         Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}",
    );
    assert_validation(
        &t,
        "BatchGetItem",
        json!({"RequestItems": {"Hash": {"Keys": [{"pk": {"N": "1"}}]}}}),
        "The provided key element does not match the schema",
    );
    let response = ok(
        &t,
        "BatchGetItem",
        json!({"RequestItems": {"Hash": {"Keys": keys(100)}}}),
    );
    assert_eq!(
        response,
        json!({"Responses": {"Hash": []}, "UnprocessedKeys": {}})
    );
}
