//! KeyConditionExpression (against a key schema) and ProjectionExpression.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod expr_common;

use std::ops::{Bound, RangeBounds};

use ddb_model::expr::{KeyCondition, ProjectionExpression, SortCondition};
use ddb_model::{KeyAttribute, KeyDef, ScalarAttributeType as T, encode_key};
use expr_common::{Attrs, assert_validation, item, usage, value};

fn key(sort: Option<T>) -> KeyDef {
    KeyDef {
        partition: KeyAttribute::new("pk", T::S),
        sort: sort.map(|t| KeyAttribute::new("sk", t)),
    }
}

fn parse(text: &str, values: &str, sort: Option<T>) -> ddb_model::Result<KeyCondition> {
    let attrs = Attrs::new(&[("#p", "pk")], values);
    KeyCondition::parse(text, &attrs.get(), &mut usage(), &key(sort))
}

const V: &str = r#"{":p":{"S":"a"},":n":{"N":"5"},":m":{"N":"1"},":s":{"S":"x"}}"#;

#[test]
fn builds_the_key_range() {
    let p = value(r#"{"S":"a"}"#);
    let n = value(r#"{"N":"5"}"#);
    let cases = [
        ("pk = :p", None),
        ("#p = :p AND sk = :n", Some(SortCondition::Eq(n.clone()))),
        ("pk = :p AND sk < :n", Some(SortCondition::Lt(n.clone()))),
        ("pk = :p AND :n < sk", Some(SortCondition::Gt(n.clone()))),
        (
            "(sk >= :n) AND (pk = :p)",
            Some(SortCondition::Ge(n.clone())),
        ),
        ("pk = :p AND sk <= :n", Some(SortCondition::Le(n.clone()))),
        (
            "pk = :p AND sk BETWEEN :m AND :n",
            Some(SortCondition::Between(value(r#"{"N":"1"}"#), n.clone())),
        ),
    ];
    for (text, sort) in cases {
        let got = parse(text, V, Some(T::N)).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(got.partition, p, "{text}");
        assert_eq!(got.sort, sort, "{text}");
    }
    let got = parse("pk = :p AND begins_with(sk, :s)", V, Some(T::S)).unwrap();
    assert_eq!(
        got.sort,
        Some(SortCondition::BeginsWith(value(r#"{"S":"x"}"#)))
    );
}

#[test]
fn encoded_bounds_select_exactly_the_matching_keys() {
    let sort_values = ["", "w", "x", "x\u{0}", "xa", "xz", "y", "\u{ffff}"];
    let encoded = |pk: &str, sk: &str| {
        let mut out = Vec::new();
        let pk = value(&serde_json::json!({"S": pk}).to_string());
        let sk = value(&serde_json::json!({"S": sk}).to_string());
        encode_key(
            &mut out,
            ddb_model::KeyValue::from_attribute(&pk).unwrap(),
            ddb_model::KeyValue::from_attribute(&sk),
        );
        (out, sk)
    };
    let v = r#"{":p":{"S":"a"},":x":{"S":"x"},":y":{"S":"y"}}"#;
    for text in [
        "pk = :p",
        "pk = :p AND sk = :x",
        "pk = :p AND sk < :x",
        "pk = :p AND sk <= :x",
        "pk = :p AND sk > :x",
        "pk = :p AND sk >= :x",
        "pk = :p AND sk BETWEEN :x AND :y",
        "pk = :p AND begins_with(sk, :x)",
    ] {
        let condition = parse(text, v, Some(T::S)).unwrap();
        let (lower, upper) = condition.encoded_bounds();
        for pk in ["", "a", "a\u{0}", "b"] {
            for sk in sort_values {
                let (bytes, sk_value) = encoded(pk, sk);
                let in_range = (lower.clone(), upper.clone()).contains(&bytes);
                let expected = pk == "a" && condition.sort_matches(&sk_value);
                assert_eq!(in_range, expected, "{text}: pk {pk:?} sk {sk:?}");
            }
        }
    }
    assert!(matches!(
        parse("pk = :p", v, Some(T::S)).unwrap().encoded_bounds().0,
        Bound::Included(_)
    ));
}

#[test]
fn shape_errors() {
    let v = r#"{":p":{"S":"a"},":n":{"N":"5"}}"#;
    let cases = [
        (
            "pk = :p OR sk = :n",
            "Invalid operator used in KeyConditionExpression: OR",
        ),
        (
            "NOT pk = :p",
            "Invalid operator used in KeyConditionExpression: NOT",
        ),
        (
            "pk IN (:p)",
            "Invalid operator used in KeyConditionExpression: IN",
        ),
        (
            "pk <> :p",
            "Invalid operator used in KeyConditionExpression: <>",
        ),
        (
            "attribute_exists(pk)",
            "Invalid operator used in KeyConditionExpression: attribute_exists",
        ),
        (
            "pk.x = :p",
            "KeyConditionExpressions cannot have conditions on nested attributes",
        ),
        (
            "pk = :p AND sk[0] = :n",
            "KeyConditionExpressions cannot have conditions on nested attributes",
        ),
        (
            "size(pk) = :n",
            "KeyConditionExpressions cannot contain nested operations",
        ),
        (
            "pk = sk",
            "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition",
        ),
        (
            ":p = :n",
            "Invalid condition in KeyConditionExpression: No key attribute specified",
        ),
        (
            "pk = :p AND :n BETWEEN sk AND :n",
            "Invalid condition in KeyConditionExpression: BETWEEN operator must have the key \
             attribute as its first operand",
        ),
        (
            "pk = :p AND pk = :p",
            "KeyConditionExpressions must only contain one condition per key",
        ),
    ];
    for (text, message) in cases {
        assert_validation(parse(text, v, Some(T::N)), message);
    }
}

#[test]
fn schema_errors() {
    let v = r#"{":p":{"S":"a"},":n":{"N":"5"},":s":{"S":"s"},":lo":{"N":"5"},":hi":{"N":"1"}}"#;
    let cases = [
        (
            Some(T::N),
            "sk = :n",
            "Query condition missed key schema element: pk",
        ),
        (Some(T::N), "pk > :p", "Query key condition not supported"),
        (
            None,
            "pk = :p AND sk = :n",
            "Query key condition not supported",
        ),
        (
            None,
            "x = :p",
            "Query condition missed key schema element: pk",
        ),
        (
            Some(T::N),
            "pk = :p AND x = :n",
            "Query condition missed key schema element: sk",
        ),
        (
            Some(T::N),
            "pk = :p AND sk = :n AND x = :n",
            "Conditions can be of length 1 or 2 only",
        ),
        (
            Some(T::N),
            "pk = :n",
            "One or more parameter values were invalid: Condition parameter type does not match schema type",
        ),
        (
            Some(T::N),
            "pk = :p AND sk > :s",
            "One or more parameter values were invalid: Condition parameter type does not match schema type",
        ),
        (
            Some(T::N),
            "pk = :p AND begins_with(sk, :s)",
            "Invalid KeyConditionExpression: Incorrect operand type for operator or function; \
             operator or function: begins_with, operand type: N",
        ),
        (
            Some(T::N),
            "pk = :p AND begins_with(sk, :n)",
            "Invalid KeyConditionExpression: Incorrect operand type for operator or function; \
             operator or function: begins_with, operand type: N",
        ),
        (
            Some(T::N),
            "pk = :p AND sk BETWEEN :lo AND :hi",
            "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be \
             greater than or equal to lower bound; lower bound operand: AttributeValue: {N:5}, \
             upper bound operand: AttributeValue: {N:1}",
        ),
        (
            Some(T::N),
            "",
            "Invalid KeyConditionExpression: The expression can not be empty;",
        ),
    ];
    for (sort, text, message) in cases {
        assert_validation(parse(text, v, sort), message);
    }
}

fn project(text: &str, names: &[(&str, &str)], on: &str) -> ddb_model::Item {
    let attrs = Attrs::new(names, "{}");
    ProjectionExpression::parse(text, &attrs.get(), &mut usage())
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .apply(&item(on))
}

const ITEM: &str = r#"{"pk":{"S":"p1"},"mylist":{"L":[{"S":"zero"},{"S":"one"},{"S":"two"},{"S":"three"}]},
  "lom":{"L":[{"M":{"val":{"S":"a0"},"x":{"S":"x0"}}},{"M":{"val":{"S":"a1"}}},{"M":{"val":{"S":"a2"},"x":{"S":"x2"}}}]},
  "deep":{"M":{"l1":{"M":{"l2":{"M":{"l3":{"S":"bottom"},"sib":{"S":"s"}}}}}}},
  "nested":{"L":[{"M":{"inner":{"L":[{"S":"i0"},{"S":"i1"}]}}}]}}"#;

#[test]
fn projection_shapes_match_dynamodb() {
    let cases = [
        (
            "mylist[0], mylist[2]",
            r#"{"mylist":{"L":[{"S":"zero"},{"S":"two"}]}}"#,
        ),
        (
            "mylist[2], mylist[0]",
            r#"{"mylist":{"L":[{"S":"zero"},{"S":"two"}]}}"#,
        ),
        (
            "lom[0].val, lom[2].val",
            r#"{"lom":{"L":[{"M":{"val":{"S":"a0"}}},{"M":{"val":{"S":"a2"}}}]}}"#,
        ),
        (
            "deep.l1.l2.l3",
            r#"{"deep":{"M":{"l1":{"M":{"l2":{"M":{"l3":{"S":"bottom"}}}}}}}}"#,
        ),
        (
            "nested[0].#i[1]",
            r#"{"nested":{"L":[{"M":{"inner":{"L":[{"S":"i1"}]}}}]}}"#,
        ),
        (
            "pk, nope, mylist[9], deep.zz, mylist[1].q",
            r#"{"pk":{"S":"p1"}}"#,
        ),
        (
            "lom[1].x, lom[0].x",
            r#"{"lom":{"L":[{"M":{"x":{"S":"x0"}}}]}}"#,
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(
            project(text, &[("#i", "inner")], ITEM),
            item(expected),
            "{text}"
        );
    }
}

#[test]
fn projection_errors() {
    let parse = |text: &str| {
        let attrs = Attrs::new(&[("#p", "a"), ("#q", "b")], "{}");
        ProjectionExpression::parse(text, &attrs.get(), &mut usage()).map(|_| ())
    };
    let overlap = |one: &str, two: &str| {
        format!(
            "Invalid ProjectionExpression: Two document paths overlap with each other; must \
             remove or rewrite one of these paths; path one: {one}, path two: {two}"
        )
    };
    assert!(parse("a.b, a.c, #p.#q[0]").is_err());
    assert!(parse("a.b, a.c").is_ok());
    assert_validation(parse("a, a.b"), &overlap("[a]", "[a, b]"));
    assert_validation(parse("a.b, a"), &overlap("[a, b]", "[a]"));
    assert_validation(parse("a, a"), &overlap("[a]", "[a]"));
    assert_validation(
        parse("x, alist[0], alist"),
        &overlap("[alist, [0]]", "[alist]"),
    );
    assert_validation(parse("#p, #p.#q"), &overlap("[a]", "[a, b]"));
    assert_validation(
        parse("a.#u"),
        "Invalid ProjectionExpression: An expression attribute name used in the document path \
         is not defined; attribute name: #u",
    );
    assert_validation(
        parse("a, name"),
        "Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: name",
    );
    assert_validation(
        parse("a,"),
        "Invalid ProjectionExpression: Syntax error; token: \"<EOF>\", near: \",\"",
    );
    assert_validation(
        parse(""),
        "Invalid ProjectionExpression: The expression can not be empty;",
    );
}
