//! Every item of the shared movie data set (4,609 movies with nested maps, lists, strings and
//! decimals) survives DynamoDB JSON → model → canonical JSON without losing anything, and the
//! canonical form is stable.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;

use ddb_model::{
    AttributeValue, Item, KeyAttribute, KeyDef, Number, ScalarAttributeType, TableSchema,
    parse_item,
};
use serde_json::Value;

fn movies() -> Vec<Value> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/moviedata.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the shared data set must be at {}: {e}", path.display()));
    let Value::Array(movies) = serde_json::from_str(&text).unwrap() else {
        panic!("not an array")
    };
    movies
}

/// Plain JSON → DynamoDB JSON as a user would write it: numbers as N (in their source
/// spelling), strings as S, lists as L, maps as M. Map keys are written in reverse order so the
/// decoder's sorting is exercised.
fn to_dynamodb_json(value: &Value, out: &mut String) {
    match value {
        Value::Number(n) => out.push_str(&format!("{{\"N\":\"{n}\"}}")),
        Value::String(s) => {
            out.push_str(&format!("{{\"S\":{}}}", serde_json::to_string(s).unwrap()))
        }
        Value::Bool(b) => out.push_str(&format!("{{\"BOOL\":{b}}}")),
        Value::Null => out.push_str("{\"NULL\":true}"),
        Value::Array(list) => {
            out.push_str("{\"L\":[");
            for (i, v) in list.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                to_dynamodb_json(v, out);
            }
            out.push_str("]}");
        }
        Value::Object(map) => {
            out.push_str("{\"M\":");
            write_object(map, out);
            out.push('}');
        }
    }
}

fn write_object(map: &serde_json::Map<String, Value>, out: &mut String) {
    out.push('{');
    for (i, (k, v)) in map.iter().rev().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&serde_json::to_string(k).unwrap());
        out.push(':');
        to_dynamodb_json(v, out);
    }
    out.push('}');
}

/// Checks that `value` holds exactly what the plain JSON `plain` held.
fn assert_same(plain: &Value, value: &AttributeValue, path: &str) {
    match (plain, value) {
        (Value::Number(n), AttributeValue::N(got)) => {
            let want = Number::parse(&n.to_string()).unwrap();
            assert_eq!(*got, want, "{path}");
            // Numerically the same as the source, not just the same after our own parsing.
            let source: f64 = n.as_f64().unwrap();
            let ours: f64 = got.to_string().parse().unwrap();
            assert_eq!(source, ours, "{path}");
        }
        (Value::String(s), AttributeValue::S(got)) => assert_eq!(s, got, "{path}"),
        (Value::Array(list), AttributeValue::L(got)) => {
            assert_eq!(list.len(), got.len(), "{path}");
            for (i, (p, v)) in list.iter().zip(got).enumerate() {
                assert_same(p, v, &format!("{path}[{i}]"));
            }
        }
        (Value::Object(map), AttributeValue::M(got)) => {
            assert_eq!(map.len(), got.len(), "{path}");
            for (k, p) in map {
                assert_same(
                    p,
                    got.get(k).unwrap_or_else(|| panic!("{path}.{k} lost")),
                    &format!("{path}.{k}"),
                );
            }
        }
        (p, v) => panic!("{path}: {p} became {v:?}"),
    }
}

#[test]
fn every_movie_round_trips_canonically_and_loses_nothing() {
    let movies = movies();
    assert_eq!(movies.len(), 4609);
    let schema = TableSchema::new(KeyDef {
        partition: KeyAttribute::new("year", ScalarAttributeType::N),
        sort: Some(KeyAttribute::new("title", ScalarAttributeType::S)),
    });
    let mut keys = std::collections::BTreeSet::new();
    let mut total_bytes = 0usize;
    for (i, movie) in movies.iter().enumerate() {
        let Value::Object(map) = movie else {
            panic!("movie {i} is not an object")
        };
        let mut text = String::new();
        write_object(map, &mut text);

        let item: Item = parse_item(&text).unwrap_or_else(|e| panic!("movie {i}: {e}"));
        assert_eq!(item.len(), map.len());
        for (name, plain) in map {
            assert_same(
                plain,
                item.get(name).unwrap(),
                &format!("movie {i}: {name}"),
            );
        }
        schema
            .validate_item(&item)
            .unwrap_or_else(|e| panic!("movie {i}: {e}"));

        let canonical = item.to_canonical_json();
        assert_ne!(canonical, text, "the input was deliberately not canonical");
        let again = parse_item(&canonical).unwrap();
        assert_eq!(again, item, "movie {i}");
        assert_eq!(
            again.to_canonical_json(),
            canonical,
            "movie {i}: canonical form not stable"
        );
        // The canonical text is also exactly what serde_json writes for the same JSON value.
        let as_value: Value = serde_json::from_str(&canonical).unwrap();
        assert_eq!(
            serde_json::to_string(&as_value).unwrap(),
            canonical,
            "movie {i}"
        );

        keys.insert(schema.table_key(&item).unwrap());
        total_bytes += item.size_bytes();
    }
    // (year, title) identifies a movie in this data set; the encoded keys must too.
    assert_eq!(keys.len(), movies.len());
    assert!(total_bytes > 1_000_000, "sizes look wrong: {total_bytes}");
}

#[test]
fn key_order_of_movies_is_year_then_title() {
    let schema = TableSchema::new(KeyDef {
        partition: KeyAttribute::new("year", ScalarAttributeType::N),
        sort: Some(KeyAttribute::new("title", ScalarAttributeType::S)),
    });
    let mut rows: Vec<(Vec<u8>, Number, String)> = movies()
        .iter()
        .map(|m| {
            let mut text = String::new();
            write_object(m.as_object().unwrap(), &mut text);
            let item = parse_item(&text).unwrap();
            let year = *item.get("year").unwrap().as_n().unwrap();
            let title = item.get("title").unwrap().as_s().unwrap().to_owned();
            (schema.table_key(&item).unwrap(), year, title)
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    for pair in rows.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(
            a.1 < b.1 || (a.1 == b.1 && a.2.as_bytes() < b.2.as_bytes()),
            "{} {:?} sorted before {} {:?}",
            a.1,
            a.2,
            b.1,
            b.2
        );
    }
}
