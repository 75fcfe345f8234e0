//! The reference model checked on cases whose DynamoDB answers are known (DynamoDB's
//! developer guide and API reference; dynalite's suite, which was run against DynamoDB), so
//! that the differential test compares the engine with something trustworthy.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod model;

use ddb_model::{AttributeValue, Number};
use model::{Model, PAGE_SIZE_BYTES_MAX, value_to_json};
use serde_json::{Value, json};

fn ok(m: &mut Model, op: &str, request: Value) -> Value {
    m.call(op, &request)
        .unwrap_or_else(|e| panic!("{op} {request}: {e:?}"))
}

fn err(m: &mut Model, op: &str, request: Value) -> (String, String) {
    match m.call(op, &request) {
        Ok(v) => panic!("{op} {request}: expected an error, got {v}"),
        Err(e) => e,
    }
}

fn b(bytes: &[u8]) -> Value {
    value_to_json(&AttributeValue::B(bytes.to_vec()))
}

/// The canonical text of a number, as responses carry it.
fn canonical(n: &str) -> String {
    Number::parse(n).unwrap().to_string()
}

/// `pk` (S) + `sk` of type `sk_type`, with optional extra CreateTable members.
fn table(m: &mut Model, sk_type: &str, extra: Value) {
    let mut request = json!({
        "TableName": "tbl",
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": sk_type},
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
    });
    let object = request.as_object_mut().unwrap();
    for (k, v) in extra.as_object().unwrap() {
        if k == "AttributeDefinitions" {
            let defs = object[k].as_array_mut().unwrap();
            defs.extend(v.as_array().unwrap().iter().cloned());
        } else {
            object.insert(k.clone(), v.clone());
        }
    }
    let response = ok(m, "CreateTable", request);
    assert_eq!(response["TableDescription"]["TableName"], "tbl");
}

fn put(m: &mut Model, item: Value) {
    assert_eq!(
        ok(m, "PutItem", json!({"TableName": "tbl", "Item": item})),
        json!({})
    );
}

fn query(m: &mut Model, condition: &str, values: Value, extra: Value) -> Value {
    let mut request = json!({
        "TableName": "tbl",
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": values,
    });
    for (k, v) in extra.as_object().unwrap() {
        request[k] = v.clone();
    }
    ok(m, "Query", request)
}

/// The values of attribute `name` in a response's items.
fn column(response: &Value, name: &str) -> Vec<Value> {
    response["Items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item[name].clone())
        .collect()
}

#[test]
fn numbers_sort_numerically_and_compare_by_value() {
    let mut m = Model::new();
    table(&mut m, "N", json!({}));
    let written = [
        "10",
        "1.0",
        "-1",
        "0.001",
        "99999999999999999999999999999999999999",
        "-99999999999999999999999999999999999999",
        "1E-130",
        "9.9999999999999999999999999999999999999E125",
        "-0.001",
        "0",
        "1.5",
        "2",
        "-10",
        "1E1", // the same number as 10: overwrites it
    ];
    for n in written {
        put(
            &mut m,
            json!({"pk": {"S": "p"}, "sk": {"N": n}, "w": {"S": n}}),
        );
    }
    let expected = [
        "-99999999999999999999999999999999999999",
        "-10",
        "-1",
        "-0.001",
        "0",
        "1E-130",
        "0.001",
        "1",
        "1.5",
        "2",
        "10",
        "99999999999999999999999999999999999999",
        "9.9999999999999999999999999999999999999E125",
    ];
    let response = query(&mut m, "pk = :p", json!({":p": {"S": "p"}}), json!({}));
    let got: Vec<Value> = column(&response, "sk");
    let want: Vec<Value> = expected
        .iter()
        .map(|n| json!({"N": canonical(n)}))
        .collect();
    assert_eq!(got, want);
    assert_eq!(response["Count"], 13);
    // Numbers are stored normalised: 1.0 is returned as 1, and 1 finds it.
    let got = ok(
        &mut m,
        "GetItem",
        json!({"TableName": "tbl", "Key": {"pk": {"S": "p"}, "sk": {"N": "1"}}}),
    );
    assert_eq!(got["Item"]["sk"], json!({"N": "1"}));
    assert_eq!(got["Item"]["w"], json!({"S": "1.0"}));
    // 1E1 overwrote 10.
    let got = ok(
        &mut m,
        "GetItem",
        json!({"TableName": "tbl", "Key": {"pk": {"S": "p"}, "sk": {"N": "10.000"}}}),
    );
    assert_eq!(got["Item"]["w"], json!({"S": "1E1"}));
}

#[test]
fn strings_sort_by_utf8_bytes_not_utf16_units() {
    let mut m = Model::new();
    table(&mut m, "S", json!({}));
    let written = [
        "\u{1F600}",
        "z",
        "a",
        "\u{FFFF}",
        "é",
        "ab",
        "A",
        "\u{7F}",
        "b",
    ];
    for s in written {
        put(&mut m, json!({"pk": {"S": "p"}, "sk": {"S": s}}));
    }
    let expected = [
        "A",
        "a",
        "ab",
        "b",
        "z",
        "\u{7F}",
        "é",
        "\u{FFFF}",
        "\u{1F600}",
    ];
    let response = query(&mut m, "pk = :p", json!({":p": {"S": "p"}}), json!({}));
    let want: Vec<Value> = expected.iter().map(|s| json!({"S": s})).collect();
    assert_eq!(column(&response, "sk"), want);
    // The pair that UTF-16 orders the other way round.
    let utf16 = |s: &str| s.encode_utf16().collect::<Vec<u16>>();
    assert!(utf16("\u{1F600}") < utf16("\u{FFFF}"));
    assert!("\u{FFFF}".as_bytes() < "\u{1F600}".as_bytes());
}

#[test]
fn binary_sorts_by_unsigned_bytes() {
    let mut m = Model::new();
    table(&mut m, "B", json!({}));
    for bytes in [
        &[0xFF][..],
        &[0x00],
        &[0x80],
        &[0x00, 0x00],
        &[0x7F],
        &[0x01],
        &[0x00, 0xFF],
    ] {
        put(&mut m, json!({"pk": {"S": "p"}, "sk": b(bytes)}));
    }
    let response = query(&mut m, "pk = :p", json!({":p": {"S": "p"}}), json!({}));
    let want: Vec<Value> = [
        &[0x00][..],
        &[0x00, 0x00],
        &[0x00, 0xFF],
        &[0x01],
        &[0x7F],
        &[0x80],
        &[0xFF],
    ]
    .iter()
    .map(|bytes| b(bytes))
    .collect();
    assert_eq!(column(&response, "sk"), want);
    let response = query(
        &mut m,
        "pk = :p AND begins_with(sk, :b)",
        json!({":p": {"S": "p"}, ":b": b(&[0x00])}),
        json!({}),
    );
    assert_eq!(
        column(&response, "sk"),
        vec![b(&[0x00]), b(&[0x00, 0x00]), b(&[0x00, 0xFF])]
    );
}

#[test]
fn every_sort_key_condition_forward_and_backward() {
    let mut m = Model::new();
    table(&mut m, "N", json!({}));
    for n in 1..=5 {
        put(
            &mut m,
            json!({"pk": {"S": "p"}, "sk": {"N": n.to_string()}}),
        );
        put(
            &mut m,
            json!({"pk": {"S": "q"}, "sk": {"N": n.to_string()}}),
        );
    }
    let cases: [(&str, &[i32]); 6] = [
        ("sk = :a", &[3]),
        ("sk < :a", &[1, 2]),
        ("sk <= :a", &[1, 2, 3]),
        ("sk > :a", &[4, 5]),
        ("sk >= :a", &[3, 4, 5]),
        ("sk BETWEEN :a AND :b", &[3, 4]),
    ];
    for (condition, expected) in cases {
        let text = format!("pk = :p AND {condition}");
        let mut values = json!({":p": {"S": "p"}, ":a": {"N": "3"}});
        if condition.contains(":b") {
            values[":b"] = json!({"N": "4.0"});
        }
        let want: Vec<Value> = expected
            .iter()
            .map(|n| json!({"N": n.to_string()}))
            .collect();
        let forward = query(&mut m, &text, values.clone(), json!({}));
        assert_eq!(column(&forward, "sk"), want, "{condition}");
        let backward = query(&mut m, &text, values, json!({"ScanIndexForward": false}));
        let mut reversed = want.clone();
        reversed.reverse();
        assert_eq!(column(&backward, "sk"), reversed, "{condition} backward");
    }
}

#[test]
fn begins_with_compares_bytes_of_multibyte_prefixes() {
    let mut m = Model::new();
    table(&mut m, "S", json!({}));
    for s in [
        "e",
        "é",
        "éa",
        "f",
        "\u{FFFF}",
        "\u{FFFF}\u{1F600}",
        "\u{1F600}",
    ] {
        put(&mut m, json!({"pk": {"S": "p"}, "sk": {"S": s}}));
    }
    let begins = |m: &mut Model, prefix: &str| {
        let r = query(
            m,
            "pk = :p AND begins_with(sk, :s)",
            json!({":p": {"S": "p"}, ":s": {"S": prefix}}),
            json!({}),
        );
        column(&r, "sk")
    };
    assert_eq!(
        begins(&mut m, "é"),
        vec![json!({"S": "é"}), json!({"S": "éa"})]
    );
    assert_eq!(
        begins(&mut m, "\u{FFFF}"),
        vec![json!({"S": "\u{FFFF}"}), json!({"S": "\u{FFFF}\u{1F600}"})]
    );
    assert_eq!(begins(&mut m, "g"), Vec::<Value>::new());
}

#[test]
fn limit_pages_with_last_evaluated_key_even_on_the_last_item() {
    let mut m = Model::new();
    table(&mut m, "N", json!({}));
    for n in 1..=5 {
        put(
            &mut m,
            json!({"pk": {"S": "p"}, "sk": {"N": n.to_string()}}),
        );
    }
    let key = |n: i32| json!({"pk": {"S": "p"}, "sk": {"N": n.to_string()}});
    let values = json!({":p": {"S": "p"}});
    let page1 = query(&mut m, "pk = :p", values.clone(), json!({"Limit": 2}));
    assert_eq!(page1["Count"], 2);
    assert_eq!(page1["LastEvaluatedKey"], key(2));
    let page2 = query(
        &mut m,
        "pk = :p",
        values.clone(),
        json!({"Limit": 2, "ExclusiveStartKey": key(2)}),
    );
    assert_eq!(
        column(&page2, "sk"),
        vec![json!({"N": "3"}), json!({"N": "4"})]
    );
    assert_eq!(page2["LastEvaluatedKey"], key(4));
    let page3 = query(
        &mut m,
        "pk = :p",
        values.clone(),
        json!({"Limit": 2, "ExclusiveStartKey": key(4)}),
    );
    assert_eq!(column(&page3, "sk"), vec![json!({"N": "5"})]);
    assert!(page3.get("LastEvaluatedKey").is_none());
    // DynamoDB: "If LastEvaluatedKey is not empty, it does not necessarily mean that there is
    // more data": a page that reaches Limit on the last item still carries one.
    let all = query(&mut m, "pk = :p", values.clone(), json!({"Limit": 5}));
    assert_eq!(all["LastEvaluatedKey"], key(5));
    let after = query(
        &mut m,
        "pk = :p",
        values.clone(),
        json!({"Limit": 5, "ExclusiveStartKey": key(5)}),
    );
    assert_eq!(after, json!({"Count": 0, "ScannedCount": 0, "Items": []}));
    // Backward paging starts below the start key.
    let back = query(
        &mut m,
        "pk = :p",
        values,
        json!({"Limit": 2, "ScanIndexForward": false, "ExclusiveStartKey": key(4)}),
    );
    assert_eq!(
        column(&back, "sk"),
        vec![json!({"N": "3"}), json!({"N": "2"})]
    );
    assert_eq!(back["LastEvaluatedKey"], key(2));
}

#[test]
fn limit_and_page_size_count_items_read_before_the_filter() {
    let mut m = Model::new();
    table(&mut m, "N", json!({}));
    for n in 1..=5 {
        put(
            &mut m,
            json!({"pk": {"S": "p"}, "sk": {"N": n.to_string()}, "x": {"N": n.to_string()}}),
        );
    }
    let r = query(
        &mut m,
        "pk = :p",
        json!({":p": {"S": "p"}, ":big": {"N": "100"}}),
        json!({"Limit": 2, "FilterExpression": "x > :big"}),
    );
    assert_eq!(r["Count"], 0);
    assert_eq!(r["ScannedCount"], 2);
    assert_eq!(r["Items"], json!([]));
    assert_eq!(
        r["LastEvaluatedKey"],
        json!({"pk": {"S": "p"}, "sk": {"N": "2"}})
    );
    let r = query(
        &mut m,
        "pk = :p",
        json!({":p": {"S": "p"}}),
        json!({"Select": "COUNT"}),
    );
    assert_eq!(r, json!({"Count": 5, "ScannedCount": 5}));
}

#[test]
fn a_page_stops_at_one_megabyte_including_the_item_that_reaches_it() {
    let mut m = Model::new();
    table(&mut m, "N", json!({}));
    let filler = "x".repeat(300 * 1024);
    for n in 1..=5 {
        put(
            &mut m,
            json!({"pk": {"S": "p"}, "sk": {"N": n.to_string()}, "f": {"S": filler}}),
        );
    }
    // Three items are 900 KiB and change, under the limit; the fourth reaches it.
    let item_size = 2 + 1 + 1 + 1 + filler.len();
    assert!(3 * item_size < PAGE_SIZE_BYTES_MAX && 4 * item_size >= PAGE_SIZE_BYTES_MAX);
    let values = json!({":p": {"S": "p"}, ":none": {"S": "none"}});
    let page1 = query(
        &mut m,
        "pk = :p",
        values.clone(),
        json!({"FilterExpression": "f = :none"}),
    );
    assert_eq!(page1["ScannedCount"], 4);
    assert_eq!(page1["Count"], 0);
    assert_eq!(
        page1["LastEvaluatedKey"],
        json!({"pk": {"S": "p"}, "sk": {"N": "4"}})
    );
    let page2 = query(
        &mut m,
        "pk = :p",
        json!({":p": {"S": "p"}}),
        json!({"ProjectionExpression": "sk", "ExclusiveStartKey": page1["LastEvaluatedKey"]}),
    );
    assert_eq!(page2["Items"], json!([{"sk": {"N": "5"}}]));
    assert!(page2.get("LastEvaluatedKey").is_none());
    // Scan follows the same rule.
    let scan = ok(
        &mut m,
        "Scan",
        json!({"TableName": "tbl", "ProjectionExpression": "sk"}),
    );
    assert_eq!(scan["Count"], 4);
    assert!(scan.get("LastEvaluatedKey").is_some());
}

fn indexed_table(m: &mut Model) {
    table(
        m,
        "S",
        json!({
            "AttributeDefinitions": [
                {"AttributeName": "g", "AttributeType": "S"},
                {"AttributeName": "n", "AttributeType": "N"},
            ],
            "LocalSecondaryIndexes": [{
                "IndexName": "lsi",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "n", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "keys",
                    "KeySchema": [
                        {"AttributeName": "g", "KeyType": "HASH"},
                        {"AttributeName": "n", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                },
                {
                    "IndexName": "include",
                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a"]},
                },
            ],
        }),
    );
}

#[test]
fn sparse_indexes_hold_only_items_with_every_index_key_attribute() {
    let mut m = Model::new();
    indexed_table(&mut m);
    put(
        &mut m,
        json!({"pk": {"S": "1"}, "sk": {"S": "x"}, "g": {"S": "G"}, "n": {"N": "5"}, "a": {"S": "A"}, "c": {"S": "C"}}),
    );
    put(
        &mut m,
        json!({"pk": {"S": "2"}, "sk": {"S": "x"}, "a": {"S": "no g"}, "n": {"N": "1"}}),
    );
    put(
        &mut m,
        json!({"pk": {"S": "3"}, "sk": {"S": "x"}, "g": {"S": "G"}, "a": {"S": "no n"}}),
    );
    let scan =
        |m: &mut Model, index: &str| ok(m, "Scan", json!({"TableName": "tbl", "IndexName": index}));
    // KEYS_ONLY: table key and index key only; only the item with both g and n.
    assert_eq!(
        scan(&mut m, "keys")["Items"],
        json!([{"pk": {"S": "1"}, "sk": {"S": "x"}, "g": {"S": "G"}, "n": {"N": "5"}}])
    );
    // INCLUDE a: keyed on g alone, so the item without n is in it; n is not projected.
    assert_eq!(
        scan(&mut m, "include")["Items"],
        json!([
            {"pk": {"S": "1"}, "sk": {"S": "x"}, "g": {"S": "G"}, "a": {"S": "A"}},
            {"pk": {"S": "3"}, "sk": {"S": "x"}, "g": {"S": "G"}, "a": {"S": "no n"}},
        ])
    );
    // LSI on n: items 1 and 2, ordered by pk then n.
    let lsi = scan(&mut m, "lsi");
    assert_eq!(lsi["Count"], 2);
    assert_eq!(column(&lsi, "a"), vec![Value::Null, Value::Null]);
    // An LSI read fetches what the index does not hold.
    let fetched = query(
        &mut m,
        "pk = :p AND n > :z",
        json!({":p": {"S": "1"}, ":z": {"N": "0"}}),
        json!({"IndexName": "lsi", "Select": "ALL_ATTRIBUTES"}),
    );
    assert_eq!(column(&fetched, "c"), vec![json!({"S": "C"})]);
    let projected = query(
        &mut m,
        "pk = :p AND n > :z",
        json!({":p": {"S": "1"}, ":z": {"N": "0"}}),
        json!({"IndexName": "lsi", "ProjectionExpression": "c"}),
    );
    assert_eq!(projected["Items"], json!([{"c": {"S": "C"}}]));
    // A GSI without an ALL projection refuses ALL_ATTRIBUTES.
    let (name, _) = err(
        &mut m,
        "Query",
        json!({"TableName": "tbl", "IndexName": "keys", "Select": "ALL_ATTRIBUTES",
               "KeyConditionExpression": "g = :g", "ExpressionAttributeValues": {":g": {"S": "G"}}}),
    );
    assert_eq!(name, "ValidationException");
    // An index key attribute of the wrong type is refused, not left out of the index.
    let (name, message) = err(
        &mut m,
        "PutItem",
        json!({"TableName": "tbl", "Item": {"pk": {"S": "4"}, "sk": {"S": "x"}, "g": {"N": "1"}}}),
    );
    assert_eq!(name, "ValidationException");
    assert!(
        message.starts_with(
            "One or more parameter values were invalid: Type mismatch for Index Key g Expected: S Actual: N IndexName: "
        ),
        "{message}"
    );
}

#[test]
fn index_ties_are_ordered_by_table_key_and_paged_by_it() {
    let mut m = Model::new();
    indexed_table(&mut m);
    for (pk, sk) in [("b", "2"), ("a", "9"), ("b", "1"), ("c", "0")] {
        put(
            &mut m,
            json!({"pk": {"S": pk}, "sk": {"S": sk}, "g": {"S": "G"}, "n": {"N": "7"}}),
        );
    }
    let values = json!({":g": {"S": "G"}, ":n": {"N": "7"}});
    let r = query(
        &mut m,
        "g = :g AND n = :n",
        values.clone(),
        json!({"IndexName": "keys"}),
    );
    let keys: Vec<(Value, Value)> = r["Items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["pk"].clone(), i["sk"].clone()))
        .collect();
    let want = |pairs: &[(&str, &str)]| -> Vec<(Value, Value)> {
        pairs
            .iter()
            .map(|(p, s)| (json!({"S": p}), json!({"S": s})))
            .collect()
    };
    assert_eq!(
        keys,
        want(&[("a", "9"), ("b", "1"), ("b", "2"), ("c", "0")])
    );
    // LastEvaluatedKey of an index read: table key and index key.
    let page = query(
        &mut m,
        "g = :g AND n = :n",
        values.clone(),
        json!({"IndexName": "keys", "Limit": 2, "ScanIndexForward": false}),
    );
    assert_eq!(
        page["LastEvaluatedKey"],
        json!({"pk": {"S": "b"}, "sk": {"S": "2"}, "g": {"S": "G"}, "n": {"N": "7"}})
    );
    let next = query(
        &mut m,
        "g = :g AND n = :n",
        values,
        json!({"IndexName": "keys", "Limit": 2, "ScanIndexForward": false,
               "ExclusiveStartKey": page["LastEvaluatedKey"]}),
    );
    assert_eq!(
        column(&next, "pk"),
        vec![json!({"S": "b"}), json!({"S": "a"})]
    );
    assert_eq!(
        column(&next, "sk"),
        vec![json!({"S": "1"}), json!({"S": "9"})]
    );
}

fn update(m: &mut Model, returns: &str) -> Value {
    ok(
        m,
        "UpdateItem",
        json!({
            "TableName": "tbl",
            "Key": {"pk": {"S": "p"}, "sk": {"S": "s"}},
            "UpdateExpression": "SET a = :x, d = :y REMOVE b ADD n :one, tags :t DELETE gone :t",
            "ExpressionAttributeValues": {
                ":x": {"S": "new a"}, ":y": {"N": "4"}, ":one": {"N": "1"}, ":t": {"SS": ["t"]},
            },
            "ReturnValues": returns,
        }),
    )
}

#[test]
fn update_return_values_follow_the_api_reference() {
    let mut base = Model::new();
    table(&mut base, "S", json!({}));
    let old = json!({"pk": {"S": "p"}, "sk": {"S": "s"}, "a": {"S": "old a"}, "b": {"N": "2"},
                     "c": {"N": "3"}, "n": {"N": "41"}, "gone": {"SS": ["t"]}});
    put(&mut base, old.clone());
    let new = json!({"pk": {"S": "p"}, "sk": {"S": "s"}, "a": {"S": "new a"}, "c": {"N": "3"},
                     "d": {"N": "4"}, "n": {"N": "42"}, "tags": {"SS": ["t"]}});
    assert_eq!(update(&mut base.clone(), "NONE"), json!({}));
    assert_eq!(
        update(&mut base.clone(), "ALL_OLD"),
        json!({"Attributes": old})
    );
    assert_eq!(
        update(&mut base.clone(), "ALL_NEW"),
        json!({"Attributes": new})
    );
    // Only the updated attributes, as they were before: d and tags did not exist.
    assert_eq!(
        update(&mut base.clone(), "UPDATED_OLD"),
        json!({"Attributes": {"a": {"S": "old a"}, "b": {"N": "2"}, "n": {"N": "41"},
                              "gone": {"SS": ["t"]}}})
    );
    // ... and as they are after: b and gone were removed.
    assert_eq!(
        update(&mut base.clone(), "UPDATED_NEW"),
        json!({"Attributes": {"a": {"S": "new a"}, "d": {"N": "4"}, "n": {"N": "42"},
                              "tags": {"SS": ["t"]}}})
    );
    update(&mut base, "NONE");
    let got = ok(
        &mut base,
        "GetItem",
        json!({"TableName": "tbl", "Key": {"pk": {"S": "p"}, "sk": {"S": "s"}}}),
    );
    assert_eq!(got["Item"], new);
}

#[test]
fn update_creates_a_missing_item_and_put_delete_return_old_values() {
    let mut m = Model::new();
    table(&mut m, "S", json!({}));
    let key = json!({"pk": {"S": "p"}, "sk": {"S": "s"}});
    // An update that only removes attributes creates no item (ScyllaDB Alternator's
    // test_update_item_non_existent, run against DynamoDB)...
    let r = ok(
        &mut m,
        "UpdateItem",
        json!({"TableName": "tbl", "Key": key, "UpdateExpression": "REMOVE a", "ReturnValues": "ALL_NEW"}),
    );
    assert_eq!(r, json!({}));
    let got = ok(&mut m, "GetItem", json!({"TableName": "tbl", "Key": key}));
    assert_eq!(got, json!({}));
    // ...one that sets something does.
    let r = ok(
        &mut m,
        "UpdateItem",
        json!({"TableName": "tbl", "Key": key, "UpdateExpression": "SET a = :a REMOVE a2",
               "ExpressionAttributeValues": {":a": {"N": "1"}}, "ReturnValues": "ALL_NEW"}),
    );
    assert_eq!(
        r,
        json!({"Attributes": {"pk": {"S": "p"}, "sk": {"S": "s"}, "a": {"N": "1"}}})
    );
    ok(
        &mut m,
        "UpdateItem",
        json!({"TableName": "tbl", "Key": key, "UpdateExpression": "REMOVE a"}),
    );
    let item = json!({"pk": {"S": "p"}, "sk": {"S": "s"}, "v": {"N": "1"}});
    let r = ok(
        &mut m,
        "PutItem",
        json!({"TableName": "tbl", "Item": item, "ReturnValues": "ALL_OLD"}),
    );
    assert_eq!(r, json!({"Attributes": key}));
    let r = ok(
        &mut m,
        "PutItem",
        json!({"TableName": "tbl", "Item": {"pk": {"S": "q"}, "sk": {"S": "s"}}, "ReturnValues": "ALL_OLD"}),
    );
    assert_eq!(r, json!({}));
    let r = ok(
        &mut m,
        "DeleteItem",
        json!({"TableName": "tbl", "Key": key, "ReturnValues": "ALL_OLD"}),
    );
    assert_eq!(r, json!({"Attributes": item}));
    let r = ok(
        &mut m,
        "DeleteItem",
        json!({"TableName": "tbl", "Key": key, "ReturnValues": "ALL_OLD"}),
    );
    assert_eq!(r, json!({}));
}

#[test]
fn failed_conditions_change_nothing() {
    let mut m = Model::new();
    table(&mut m, "S", json!({}));
    let item = json!({"pk": {"S": "p"}, "sk": {"S": "s"}, "v": {"N": "1"}});
    put(&mut m, item.clone());
    let failed = (
        "ConditionalCheckFailedException".to_owned(),
        "The conditional request failed".to_owned(),
    );
    let e = err(
        &mut m,
        "PutItem",
        json!({"TableName": "tbl", "Item": {"pk": {"S": "p"}, "sk": {"S": "s"}},
               "ConditionExpression": "attribute_not_exists(pk)"}),
    );
    assert_eq!(e, failed);
    let e = err(
        &mut m,
        "UpdateItem",
        json!({"TableName": "tbl", "Key": {"pk": {"S": "p"}, "sk": {"S": "s"}},
               "UpdateExpression": "SET v = :two", "ConditionExpression": "v > :one",
               "ExpressionAttributeValues": {":one": {"N": "1.0"}, ":two": {"N": "2"}}}),
    );
    assert_eq!(e, failed);
    let e = err(
        &mut m,
        "DeleteItem",
        json!({"TableName": "tbl", "Key": {"pk": {"S": "p"}, "sk": {"S": "s"}},
               "ConditionExpression": "attribute_not_exists(v)"}),
    );
    assert_eq!(e, failed);
    // A condition on a missing item sees no attributes.
    let e = err(
        &mut m,
        "DeleteItem",
        json!({"TableName": "tbl", "Key": {"pk": {"S": "none"}, "sk": {"S": "s"}},
               "ConditionExpression": "attribute_exists(pk)"}),
    );
    assert_eq!(e, failed);
    let got = ok(&mut m, "Scan", json!({"TableName": "tbl"}));
    assert_eq!(got["Items"], json!([item]));
}

#[test]
fn scan_is_in_key_order_and_batches_refuse_duplicate_keys() {
    let mut m = Model::new();
    ok(
        &mut m,
        "CreateTable",
        json!({
            "TableName": "tbl",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "N"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
        }),
    );
    let puts: Vec<Value> = ["10", "-1", "2", "0.5"]
        .iter()
        .map(|n| json!({"PutRequest": {"Item": {"pk": {"N": n}}}}))
        .collect();
    let r = ok(
        &mut m,
        "BatchWriteItem",
        json!({"RequestItems": {"tbl": puts}}),
    );
    assert_eq!(r, json!({"UnprocessedItems": {}}));
    let scan = ok(&mut m, "Scan", json!({"TableName": "tbl"}));
    assert_eq!(
        column(&scan, "pk"),
        ["-1", "0.5", "2", "10"]
            .iter()
            .map(|n| json!({"N": n}))
            .collect::<Vec<_>>()
    );
    let e = err(
        &mut m,
        "BatchWriteItem",
        json!({"RequestItems": {"tbl": [
            {"PutRequest": {"Item": {"pk": {"N": "7"}}}},
            {"DeleteRequest": {"Key": {"pk": {"N": "7.0"}}}},
        ]}}),
    );
    assert_eq!(
        e,
        (
            "ValidationException".to_owned(),
            "Provided list of item keys contains duplicates".to_owned()
        )
    );
    assert_eq!(ok(&mut m, "Scan", json!({"TableName": "tbl"}))["Count"], 4);
}
