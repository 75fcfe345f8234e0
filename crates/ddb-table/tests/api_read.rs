//! GetItem, Query and Scan through the request layer: shapes, paging, Select, filters.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod api_common;

use api_common::*;
use ddb_table::IndexReadState;
use ddb_table::api::memory::MemoryTables;
use serde_json::{Value, json};

/// Partition `a` holds sk 1..=10: lsk runs the other way (`l10` .. `l01`), even sk are
/// `rock`, odd are `pop`, year = 2000 + sk, and sk ≤ 3 have an artist. Partition `b` holds
/// sk 1..=3 without index attributes.
fn music() -> MemoryTables {
    let t = tables();
    for sk in 1..=10 {
        let mut extra = json!({
            "lsk": {"S": format!("l{:02}", 11 - sk)},
            "genre": {"S": if sk % 2 == 0 { "rock" } else { "pop" }},
            "year": {"N": (2000 + sk).to_string()},
            "title": {"S": format!("t{sk}")},
            "num": {"N": sk.to_string()}
        });
        if sk <= 3 {
            extra["artist"] = json!({"S": "x"});
        }
        put(&t, "Music", song("a", sk, extra));
    }
    for sk in 1..=3 {
        put(&t, "Music", song("b", sk, json!({"num": {"N": "0"}})));
    }
    t
}

fn query_a(extra: Value) -> Value {
    let mut request = json!({"TableName": "Music", "KeyConditionExpression": "pk = :p",
                             "ExpressionAttributeValues": {":p": {"S": "a"}}});
    if let (Value::Object(r), Value::Object(e)) = (&mut request, extra) {
        r.extend(e);
    }
    request
}

fn sks(items: &Value) -> Vec<i64> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["sk"]["N"].as_str().unwrap().parse().unwrap())
        .collect()
}

/// Every page of a read, following LastEvaluatedKey.
fn pages(t: &MemoryTables, operation: &str, request: Value) -> Vec<Value> {
    let mut out = Vec::new();
    let mut request = request;
    loop {
        let page = ok(t, operation, request.clone());
        let next = page.get("LastEvaluatedKey").cloned();
        out.push(page);
        match next {
            Some(key) => request["ExclusiveStartKey"] = key,
            None => return out,
        }
        assert!(out.len() < 100, "paging does not end");
    }
}

fn all_items(pages: &[Value]) -> Value {
    Value::Array(
        pages
            .iter()
            .flat_map(|p| p["Items"].as_array().unwrap().clone())
            .collect(),
    )
}

#[test]
fn query_returns_one_partition_in_sort_order() {
    let t = music();
    let page = ok(&t, "Query", query_a(json!({})));
    assert_eq!(sks(&page["Items"]), (1..=10).collect::<Vec<_>>());
    assert_eq!(
        (page["Count"].clone(), page["ScannedCount"].clone()),
        (json!(10), json!(10))
    );
    assert!(page.get("LastEvaluatedKey").is_none());
    assert_eq!(page["Items"][0]["title"], json!({"S": "t1"}));
    let page = ok(&t, "Query", query_a(json!({"ScanIndexForward": false})));
    assert_eq!(sks(&page["Items"]), (1..=10).rev().collect::<Vec<_>>());
    let page = ok(
        &t,
        "Query",
        json!({"TableName": "Music", "KeyConditionExpression": "pk = :p AND sk BETWEEN :lo AND :hi",
               "ExpressionAttributeValues": {":p": {"S": "a"}, ":lo": {"N": "3"}, ":hi": {"N": "5"}}}),
    );
    assert_eq!(sks(&page["Items"]), vec![3, 4, 5]);
}

#[test]
fn limit_pages_round_trip_on_table_lsi_and_gsi_both_ways() {
    let t = music();
    let cases = [
        (json!({}), vec!["pk", "sk"]),
        (json!({"IndexName": "ByLsk"}), vec!["lsk", "pk", "sk"]),
    ];
    for (extra, key_names) in cases {
        for forward in [true, false] {
            let mut request = query_a(extra.clone());
            request["ScanIndexForward"] = json!(forward);
            let whole = ok(&t, "Query", request.clone());
            request["Limit"] = json!(3);
            let got = pages(&t, "Query", request);
            // 10 items, 3 a page: 3 + 3 + 3 + 1, and the last page has no LastEvaluatedKey.
            assert_eq!(got.len(), 4, "{extra} forward={forward}");
            for page in &got[..3] {
                assert_eq!(page["Count"], json!(3));
                let mut names: Vec<&String> = page["LastEvaluatedKey"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .collect();
                names.sort();
                assert_eq!(names, key_names);
            }
            assert_eq!(all_items(&got), whole["Items"], "{extra} forward={forward}");
        }
    }
    // The LSI orders by lsk, which runs against sk.
    let page = ok(&t, "Query", query_a(json!({"IndexName": "ByLsk"})));
    assert_eq!(sks(&page["Items"]), (1..=10).rev().collect::<Vec<_>>());
    // GSI: rock items by year, both ways.
    for forward in [true, false] {
        let request = json!({"TableName": "Music", "IndexName": "ByGenre", "KeyConditionExpression": "genre = :g",
                             "ExpressionAttributeValues": {":g": {"S": "rock"}}, "Limit": 2,
                             "ScanIndexForward": forward});
        let got = pages(&t, "Query", request);
        let mut expected = vec![2, 4, 6, 8, 10];
        if !forward {
            expected.reverse();
        }
        assert_eq!(sks(&all_items(&got)), expected);
        let mut names: Vec<&String> = got[0]["LastEvaluatedKey"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        names.sort();
        assert_eq!(names, vec!["genre", "pk", "sk", "year"]);
    }
}

#[test]
fn a_limit_that_ends_the_data_still_returns_last_evaluated_key() {
    let t = music();
    let page = ok(&t, "Query", query_a(json!({"Limit": 10})));
    assert_eq!(page["Count"], json!(10));
    assert_eq!(
        page["LastEvaluatedKey"],
        json!({"pk": {"S": "a"}, "sk": {"N": "10"}})
    );
    let next = ok(
        &t,
        "Query",
        query_a(json!({"Limit": 10, "ExclusiveStartKey": page["LastEvaluatedKey"]})),
    );
    assert_eq!(
        (next["Count"].clone(), next.get("LastEvaluatedKey")),
        (json!(0), None)
    );
}

#[test]
fn pages_stop_after_one_megabyte_evaluated() {
    let t = tables();
    let filler = "x".repeat(300 * 1024);
    for sk in 1..=5 {
        put(&t, "Music", song("big", sk, json!({"blob": {"S": filler}})));
    }
    let request = json!({"TableName": "Music", "KeyConditionExpression": "pk = :p",
                         "ExpressionAttributeValues": {":p": {"S": "big"}}, "ProjectionExpression": "sk"});
    let unfiltered = pages(&t, "Query", request.clone());
    // 3 items are under 1 MB; the 4th crosses it and is the last one evaluated.
    assert_eq!(unfiltered.len(), 2);
    assert_eq!(unfiltered[0]["Count"], json!(4));
    assert_eq!(
        unfiltered[0]["LastEvaluatedKey"],
        json!({"pk": {"S": "big"}, "sk": {"N": "4"}})
    );
    assert_eq!(unfiltered[1]["Count"], json!(1));
    // The size counts items before the filter: a filter that drops everything pages the same.
    let mut filtered = request;
    filtered["FilterExpression"] = json!("attribute_exists(nothing)");
    let filtered_pages = pages(&t, "Query", filtered);
    assert_eq!(filtered_pages.len(), 2);
    let first = &filtered_pages[0];
    assert_eq!(
        (first["Count"].clone(), first["ScannedCount"].clone()),
        (json!(0), json!(4))
    );
    assert_eq!(first["Items"], json!([]));
}

#[test]
fn filters_count_and_refuse_key_attributes() {
    let t = music();
    let page = ok(
        &t,
        "Query",
        json!({"TableName": "Music", "KeyConditionExpression": "pk = :p", "FilterExpression": "genre = :g",
               "ExpressionAttributeValues": {":p": {"S": "a"}, ":g": {"S": "rock"}}, "Limit": 4}),
    );
    assert_eq!(sks(&page["Items"]), vec![2, 4]);
    assert_eq!(
        (page["Count"].clone(), page["ScannedCount"].clone()),
        (json!(2), json!(4))
    );
    assert_eq!(
        page["LastEvaluatedKey"],
        json!({"pk": {"S": "a"}, "sk": {"N": "4"}})
    );
    assert_validation(
        &t,
        "Query",
        query_a(json!({"FilterExpression": "sk > :p"})),
        "Filter Expression can only contain non-primary key attributes: Primary key attribute: sk",
    );
    assert_validation(
        &t,
        "Query",
        query_a(json!({"IndexName": "ByLsk", "FilterExpression": "begins_with(lsk, :p)"})),
        "Filter Expression can only contain non-primary key attributes: Primary key attribute: lsk",
    );
    // On an LSI the table's sort key is not a key of the query: filtering on it is fine, and
    // reading it needs no fetch (the index holds it).
    let page = ok(
        &t,
        "Query",
        json!({"TableName": "Music", "IndexName": "ByLsk", "KeyConditionExpression": "pk = :p",
               "FilterExpression": "sk > :five", "ExpressionAttributeValues": {":p": {"S": "a"}, ":five": {"N": "5"}}}),
    );
    assert_eq!(page["Count"], json!(5));
    // Scan may filter on keys.
    let page = ok(
        &t,
        "Scan",
        json!({"TableName": "Music", "FilterExpression": "pk = :b", "ExpressionAttributeValues": {":b": {"S": "b"}}}),
    );
    assert_eq!(
        (page["Count"].clone(), page["ScannedCount"].clone()),
        (json!(3), json!(13))
    );
}

#[test]
fn select_rules_and_shapes() {
    let t = music();
    let page = ok(&t, "Query", query_a(json!({"Select": "COUNT"})));
    assert_eq!(page, json!({"Count": 10, "ScannedCount": 10}));
    let prefix = "1 validation error detected: ";
    let cases = [
        (
            json!({"Select": "COUNT", "ProjectionExpression": "sk"}),
            "Cannot specify the ProjectionExpression when choosing to get only the Count",
        ),
        (
            json!({"Select": "ALL_ATTRIBUTES", "ProjectionExpression": "sk"}),
            "Cannot specify the ProjectionExpression when choosing to get ALL_ATTRIBUTES",
        ),
        (
            json!({"Select": "ALL_PROJECTED_ATTRIBUTES", "ProjectionExpression": "sk"}),
            "Cannot specify the ProjectionExpression when choosing to get ALL_PROJECTED_ATTRIBUTES",
        ),
        (
            json!({"Select": "SPECIFIC_ATTRIBUTES"}),
            "Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES",
        ),
        (
            json!({"Select": "ALL_PROJECTED_ATTRIBUTES"}),
            "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName",
        ),
    ];
    for (extra, message) in cases {
        assert_validation(
            &t,
            "Query",
            query_a(extra.clone()),
            &format!("{prefix}{message}"),
        );
        let mut scan = json!({"TableName": "Music"});
        if let (Value::Object(s), Value::Object(e)) = (&mut scan, extra) {
            s.extend(e);
        }
        assert_validation(&t, "Scan", scan, message);
    }
    assert_validation(
        &t,
        "Scan",
        json!({"TableName": "Music", "Select": "count"}),
        "1 validation error detected: Value 'count' at 'select' failed to satisfy constraint: \
         Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]",
    );
    let gsi = json!({"TableName": "Music", "IndexName": "ByGenre", "KeyConditionExpression": "genre = :g",
                     "ExpressionAttributeValues": {":g": {"S": "rock"}}, "Select": "ALL_ATTRIBUTES"});
    let message = "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not \
                   supported for global secondary index ByGenre because its projection type is not ALL";
    assert_validation(&t, "Query", gsi, message);
    assert_validation(
        &t,
        "Scan",
        json!({"TableName": "Music", "IndexName": "ByGenre", "Select": "ALL_ATTRIBUTES"}),
        message,
    );
    // A GSI projecting ALL may be read with ALL_ATTRIBUTES.
    let page = ok(
        &t,
        "Scan",
        json!({"TableName": "Music", "IndexName": "ByArtist", "Select": "ALL_ATTRIBUTES"}),
    );
    assert_eq!(page["Count"], json!(3));
    assert_eq!(
        page["Items"][0]["title"]["S"]
            .as_str()
            .map(|s| s.starts_with('t')),
        Some(true)
    );
}

#[test]
fn lsi_reads_fetch_what_the_index_does_not_project() {
    let t = music();
    // Default on an index: the entry as projected (KEYS_ONLY: table and index keys).
    let page = ok(
        &t,
        "Query",
        query_a(json!({"IndexName": "ByLsk", "Limit": 1})),
    );
    assert_eq!(
        page["Items"][0],
        json!({"pk": {"S": "a"}, "sk": {"N": "10"}, "lsk": {"S": "l01"}})
    );
    let page = ok(
        &t,
        "Query",
        query_a(json!({"IndexName": "ByLsk", "Limit": 1, "Select": "ALL_ATTRIBUTES"})),
    );
    assert_eq!(page["Items"][0]["title"], json!({"S": "t10"}));
    assert_eq!(
        page["LastEvaluatedKey"],
        json!({"pk": {"S": "a"}, "sk": {"N": "10"}, "lsk": {"S": "l01"}})
    );
    let page = ok(
        &t,
        "Query",
        query_a(json!({"IndexName": "ByLsk", "Limit": 1, "ProjectionExpression": "title"})),
    );
    assert_eq!(page["Items"][0], json!({"title": {"S": "t10"}}));
    let page = ok(
        &t,
        "Query",
        json!({"TableName": "Music", "IndexName": "ByLsk", "KeyConditionExpression": "pk = :p",
               "FilterExpression": "num < :three", "ExpressionAttributeValues": {":p": {"S": "a"}, ":three": {"N": "3"}}}),
    );
    assert_eq!(sks(&page["Items"]), vec![2, 1]);
    // A GSI has only what it projects.
    let page = ok(
        &t,
        "Query",
        json!({"TableName": "Music", "IndexName": "ByGenre", "KeyConditionExpression": "genre = :g",
               "ExpressionAttributeValues": {":g": {"S": "rock"}}, "Limit": 1, "ProjectionExpression": "title, num"}),
    );
    assert_eq!(page["Items"][0], json!({"title": {"S": "t2"}}));
}

#[test]
fn index_and_key_condition_errors() {
    let t = music();
    assert_validation(
        &t,
        "Query",
        query_a(json!({"IndexName": "Nope"})),
        "The table does not have the specified index: Nope",
    );
    assert_validation(
        &t,
        "Query",
        json!({"TableName": "Music", "IndexName": "ByArtist", "KeyConditionExpression": "artist = :a",
               "ExpressionAttributeValues": {":a": {"S": "x"}}, "ConsistentRead": true}),
        "Consistent reads are not supported on global secondary indexes",
    );
    // An LSI may be read consistently.
    ok(
        &t,
        "Query",
        query_a(json!({"IndexName": "ByLsk", "ConsistentRead": true})),
    );
    t.get("Music")
        .unwrap()
        .set_index_state("ByArtist", IndexReadState::Backfilling);
    assert_validation(
        &t,
        "Scan",
        json!({"TableName": "Music", "IndexName": "ByArtist"}),
        "Cannot read from backfilling global secondary index: ByArtist",
    );
    assert_validation(
        &t,
        "Query",
        json!({"TableName": "Music"}),
        "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.",
    );
    assert_validation(
        &t,
        "Query",
        query_a(json!({"Limit": 0})),
        "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
    assert_validation(
        &t,
        "Query",
        json!({"TableName": "Music", "KeyConditionExpression": "sk = :p", "ExpressionAttributeValues": {":p": {"N": "1"}}}),
        "Query condition missed key schema element: pk",
    );
    assert_validation(
        &t,
        "Query",
        query_a(json!({"KeyConditions": {}})),
        "Can not use both expression and non-expression parameters in the same request: \
         Non-expression parameters: {KeyConditions} Expression parameters: {KeyConditionExpression}",
    );
    assert_validation(
        &t,
        "Query",
        json!({"TableName": "Music", "KeyConditions": {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}}}),
        "The legacy parameter KeyConditions is not supported by this implementation; use KeyConditionExpression instead",
    );
    // A syntax error is reported before the table is looked up.
    let (_, message) = err(
        &t,
        "Query",
        json!({"TableName": "Nope", "KeyConditionExpression": "pk = "}),
    );
    assert!(
        message.starts_with("Invalid KeyConditionExpression: Syntax error"),
        "{message}"
    );
}

#[test]
fn exclusive_start_key_errors() {
    let t = music();
    assert_validation(
        &t,
        "Query",
        query_a(json!({"ExclusiveStartKey": {"pk": {"S": "a"}}})),
        "The provided starting key is invalid",
    );
    assert_validation(
        &t,
        "Query",
        query_a(
            json!({"IndexName": "ByLsk", "ExclusiveStartKey": {"pk": {"S": "a"}, "sk": {"N": "1"}}}),
        ),
        "The provided starting key is invalid",
    );
    assert_validation(
        &t,
        "Query",
        query_a(json!({"ExclusiveStartKey": {"pk": {"S": "a"}, "sk": {"S": "1"}}})),
        "The provided key element does not match the schema",
    );
    assert_validation(
        &t,
        "Query",
        query_a(json!({"ExclusiveStartKey": {"pk": {"S": "b"}, "sk": {"N": "1"}}})),
        "The provided starting key is outside query boundaries based on provided conditions",
    );
    assert_validation(
        &t,
        "Query",
        json!({"TableName": "Music", "KeyConditionExpression": "pk = :p AND sk > :five",
               "ExpressionAttributeValues": {":p": {"S": "a"}, ":five": {"N": "5"}},
               "ExclusiveStartKey": {"pk": {"S": "a"}, "sk": {"N": "2"}}}),
        "The provided starting key does not match the range key predicate",
    );
    assert_validation(
        &t,
        "Scan",
        json!({"TableName": "Music", "ExclusiveStartKey": {"pk": {"S": "a"}, "sk": {"NS": []}}}),
        "The provided starting key is invalid: One or more parameter values were invalid: An number set  may not be empty",
    );
}

#[test]
fn scan_pages_segments_and_indexes() {
    let t = music();
    let whole = ok(&t, "Scan", json!({"TableName": "Music"}));
    assert_eq!(whole["Count"], json!(13));
    let paged = pages(&t, "Scan", json!({"TableName": "Music", "Limit": 4}));
    assert_eq!(paged.len(), 4);
    assert_eq!(all_items(&paged), whole["Items"]);
    // Segments split the table: together they return every item once.
    let mut seen = Vec::new();
    for segment in 0..3 {
        let request =
            json!({"TableName": "Music", "Segment": segment, "TotalSegments": 3, "Limit": 2});
        for item in all_items(&pages(&t, "Scan", request)).as_array().unwrap() {
            seen.push(item.clone());
        }
    }
    assert_eq!(seen.len(), 13);
    for item in whole["Items"].as_array().unwrap() {
        assert!(seen.contains(item), "missing {item}");
    }
    // One partition is never split.
    for segment in 0..3 {
        let page = ok(
            &t,
            "Scan",
            json!({"TableName": "Music", "Segment": segment, "TotalSegments": 3}),
        );
        let partitions: std::collections::BTreeSet<String> = page["Items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["pk"]["S"].as_str().unwrap().to_owned())
            .collect();
        let count = page["Count"].as_u64().unwrap();
        let expected: u64 = partitions
            .iter()
            .map(|p| if p == "a" { 10 } else { 3 })
            .sum();
        assert_eq!(count, expected);
    }
    let index = pages(
        &t,
        "Scan",
        json!({"TableName": "Music", "IndexName": "ByGenre", "Limit": 3}),
    );
    assert_eq!(all_items(&index).as_array().unwrap().len(), 10);
    assert_validation(
        &t,
        "Scan",
        json!({"TableName": "Music", "Segment": 1}),
        "The TotalSegments parameter is required but was not present in the request when Segment parameter is present",
    );
    assert_validation(
        &t,
        "Scan",
        json!({"TableName": "Music", "TotalSegments": 2}),
        "The Segment parameter is required but was not present in the request when parameter TotalSegments is present",
    );
    assert_validation(
        &t,
        "Scan",
        json!({"TableName": "Music", "Segment": 2, "TotalSegments": 2}),
        "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: 2 is not less than TotalSegments: 2",
    );
    assert_validation(
        &t,
        "Scan",
        json!({"TableName": "Music", "Segment": -1, "TotalSegments": 0}),
        "2 validation errors detected: Value '-1' at 'segment' failed to satisfy constraint: \
         Member must have value greater than or equal to 0; Value '0' at 'totalSegments' failed \
         to satisfy constraint: Member must have value greater than or equal to 1",
    );
}

#[test]
fn the_query_errors_the_issue_names_have_dynamodbs_messages() {
    let t = music();
    assert_validation(
        &t,
        "Query",
        query_a(json!({"IndexName": "NoSuchIndex"})),
        "The table does not have the specified index: NoSuchIndex",
    );
    let between = json!({"TableName": "Music", "KeyConditionExpression": "pk = :p AND sk BETWEEN :lo AND :hi",
                         "ExpressionAttributeValues": {":p": {"S": "a"}, ":lo": {"N": "5"}, ":hi": {"N": "3"}}});
    assert_validation(
        &t,
        "Query",
        between,
        "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater \
         than or equal to lower bound; lower bound operand: AttributeValue: {N:5}, upper bound \
         operand: AttributeValue: {N:3}",
    );
    let begins = json!({"TableName": "Music", "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
                        "ExpressionAttributeValues": {":p": {"S": "a"}, ":s": {"N": "1"}}});
    assert_validation(
        &t,
        "Query",
        begins,
        "Invalid KeyConditionExpression: Incorrect operand type for operator or function; \
         operator or function: begins_with, operand type: N",
    );
}
