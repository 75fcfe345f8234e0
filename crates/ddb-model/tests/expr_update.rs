//! UpdateExpression: checks with DynamoDB's messages and application semantics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod expr_common;

use ddb_model::expr::UpdateExpression;
use ddb_model::{Item, KeyAttribute, KeyDef, ScalarAttributeType};
use expr_common::{Attrs, assert_validation, item, usage, value};

const UPD: &str = "Invalid UpdateExpression: ";

fn parse(text: &str, names: &[(&str, &str)], values: &str) -> ddb_model::Result<UpdateExpression> {
    let attrs = Attrs::new(names, values);
    UpdateExpression::parse(text, &attrs.get(), &mut usage())
}

fn apply(text: &str, values: &str, on: Option<&str>) -> ddb_model::Result<Item> {
    let update = parse(text, &[], values).unwrap_or_else(|e| panic!("{text}: {e}"));
    update.apply(on.map(item).as_ref())
}

const ITEM: &str = r#"{"pk":{"S":"k"},"n":{"N":"10"},"s":{"S":"str"},"l":{"L":[{"N":"0"},{"N":"1"},{"N":"2"}]},
    "m":{"M":{"a":{"N":"1"}}},"ss":{"SS":["a","b"]},"ns":{"NS":["1","2"]}}"#;

#[test]
fn set_evaluates_against_the_old_item() {
    let got = apply(
        "SET a = :v, b = n, n = n + :one, c = :one - n, d = if_not_exists(zz, :v), e = if_not_exists(s, :v)",
        r#"{":v":{"S":"new"},":one":{"N":"1"}}"#,
        Some(ITEM),
    )
    .unwrap();
    assert_eq!(got.get("a"), Some(&value(r#"{"S":"new"}"#)));
    assert_eq!(got.get("b"), Some(&value(r#"{"N":"10"}"#)));
    assert_eq!(got.get("n"), Some(&value(r#"{"N":"11"}"#)));
    assert_eq!(got.get("c"), Some(&value(r#"{"N":"-9"}"#)));
    assert_eq!(got.get("d"), Some(&value(r#"{"S":"new"}"#)));
    assert_eq!(got.get("e"), Some(&value(r#"{"S":"str"}"#)));
}

#[test]
fn set_nested_list_append_and_index_past_the_end() {
    let got = apply(
        "SET m.b = :v, l[1] = :v, l[10] = :v, x = list_append(l, :tail), y = list_append(:tail, l)",
        r#"{":v":{"S":"v"},":tail":{"L":[{"N":"9"}]}}"#,
        Some(ITEM),
    )
    .unwrap();
    assert_eq!(
        got.get("m"),
        Some(&value(r#"{"M":{"a":{"N":"1"},"b":{"S":"v"}}}"#))
    );
    assert_eq!(
        got.get("l"),
        Some(&value(r#"{"L":[{"N":"0"},{"S":"v"},{"N":"2"},{"S":"v"}]}"#))
    );
    assert_eq!(
        got.get("x"),
        Some(&value(r#"{"L":[{"N":"0"},{"N":"1"},{"N":"2"},{"N":"9"}]}"#))
    );
    assert_eq!(
        got.get("y"),
        Some(&value(r#"{"L":[{"N":"9"},{"N":"0"},{"N":"1"},{"N":"2"}]}"#))
    );
}

#[test]
fn remove_attributes_and_list_elements() {
    let got = apply(
        "REMOVE s, m.a, l[0], l[2], l[7], nope, m.zz",
        "{}",
        Some(ITEM),
    )
    .unwrap();
    assert_eq!(got.get("s"), None);
    assert_eq!(got.get("m"), Some(&value(r#"{"M":{}}"#)));
    // Indexes name elements of the original list.
    assert_eq!(got.get("l"), Some(&value(r#"{"L":[{"N":"1"}]}"#)));
}

#[test]
fn add_and_delete() {
    let got = apply(
        "ADD n :five, fresh :five, ss :more, newset :more DELETE ns :one",
        r#"{":five":{"N":"5"},":more":{"SS":["b","c"]},":one":{"NS":["1"]}}"#,
        Some(ITEM),
    )
    .unwrap();
    assert_eq!(got.get("n"), Some(&value(r#"{"N":"15"}"#)));
    assert_eq!(got.get("fresh"), Some(&value(r#"{"N":"5"}"#)));
    assert_eq!(got.get("ss"), Some(&value(r#"{"SS":["a","b","c"]}"#)));
    assert_eq!(got.get("newset"), Some(&value(r#"{"SS":["b","c"]}"#)));
    assert_eq!(got.get("ns"), Some(&value(r#"{"NS":["2"]}"#)));
    // A set emptied by DELETE disappears; DELETE of a missing attribute does nothing.
    let got = apply(
        "DELETE ss :all, nope :all",
        r#"{":all":{"SS":["a","b","x"]}}"#,
        Some(ITEM),
    )
    .unwrap();
    assert_eq!(got.get("ss"), None);
    assert_eq!(got.get("nope"), None);
    // A new item.
    let got = apply("ADD c :five", r#"{":five":{"N":"5"}}"#, None).unwrap();
    assert_eq!(got, item(r#"{"c":{"N":"5"}}"#));
}

#[test]
fn runtime_errors_have_no_prefix() {
    let v = r#"{":v":{"N":"1"},":s":{"SS":["x"]},":l":{"L":[]}}"#;
    let cases = [
        (
            "SET a = nope + :v",
            "The provided expression refers to an attribute that does not exist in the item",
        ),
        (
            "SET a = s + :v",
            "An operand in the update expression has an incorrect data type",
        ),
        (
            "SET a = list_append(s, :l)",
            "An operand in the update expression has an incorrect data type",
        ),
        (
            "ADD s :v",
            "An operand in the update expression has an incorrect data type",
        ),
        (
            "ADD ns :s",
            "An operand in the update expression has an incorrect data type",
        ),
        (
            "DELETE n :s",
            "An operand in the update expression has an incorrect data type",
        ),
        (
            "SET nope.child = :v",
            "The document path provided in the update expression is invalid for update",
        ),
        (
            "SET s.child = :v",
            "The document path provided in the update expression is invalid for update",
        ),
        (
            "SET l[0].x = :v",
            "The document path provided in the update expression is invalid for update",
        ),
    ];
    for (text, message) in cases {
        assert_validation(apply(text, v, Some(ITEM)), message);
    }
}

#[test]
fn arithmetic_is_exact_and_range_checked() {
    let got = apply(
        "SET a = :x + :y",
        r#"{":x":{"N":"0.1"},":y":{"N":"0.2"}}"#,
        None,
    )
    .unwrap();
    assert_eq!(got.get("a"), Some(&value(r#"{"N":"0.3"}"#)));
    let max = format!("9.{}E125", "9".repeat(37));
    assert_validation(
        apply(
            "ADD a :big",
            &format!(r#"{{":big":{{"N":"{max}"}}}}"#),
            Some(&format!(r#"{{"a":{{"N":"{max}"}}}}"#)),
        ),
        "Number overflow. Attempting to store a number with magnitude larger than supported range",
    );
    assert_validation(
        apply(
            "SET a = :x + :y",
            r#"{":x":{"N":"1E30"},":y":{"N":"1E-30"}}"#,
            None,
        ),
        "Attempting to store more than 38 significant digits in a Number",
    );
}

#[test]
fn parse_time_checks_in_dynamodbs_order() {
    let v = r#"{":v":{"N":"1"},":s":{"S":"x"},":ss":{"SS":["a"]},":l":{"L":[]}}"#;
    let cases = [
        (
            "SET status = :v",
            "Attribute name is a reserved keyword; reserved keyword: status",
        ),
        ("SET a = size(b)", "Invalid function name; function: size"),
        (
            "SET a = :v SET b = :v",
            "The \"SET\" section can only be used once in an update expression;",
        ),
        (
            "SET #a = :v",
            "An expression attribute name used in the document path is not defined; attribute \
             name: #a",
        ),
        (
            "SET a = :nope",
            "An expression attribute value used in expression is not defined; attribute value: \
             :nope",
        ),
        (
            "SET a = :v, a.b = :v",
            "Two document paths overlap with each other; must remove or rewrite one of these \
             paths; path one: [a], path two: [a, b]",
        ),
        (
            "SET a[0] = :v REMOVE a.b",
            "Two document paths conflict with each other; must remove or rewrite one of these \
             paths; path one: [a, [0]], path two: [a, b]",
        ),
        (
            "ADD a :s",
            "Incorrect operand type for operator or function; operator: ADD, operand type: STRING",
        ),
        (
            "DELETE a :v",
            "Incorrect operand type for operator or function; operator: DELETE, operand type: \
             NUMBER",
        ),
        (
            "SET a = :v + :s",
            "Incorrect operand type for operator or function; operator or function: +, operand \
             type: S",
        ),
        (
            "SET a = list_append(:v, b)",
            "Incorrect operand type for operator or function; operator or function: \
             list_append, operand type: N",
        ),
        (
            "SET a = if_not_exists(:v, :v)",
            "Operator or function requires a document path; operator or function: if_not_exists",
        ),
        (
            "SET a = list_append(b)",
            "Incorrect number of operands for operator or function; operator or function: \
             list_append, number of operands: 1",
        ),
        ("SET a = ", "Syntax error; token: \"<EOF>\", near: \"= \""),
        ("", "The expression can not be empty;"),
    ];
    for (text, message) in cases {
        assert_validation(parse(text, &[], v), &format!("{UPD}{message}"));
    }
    // Passing counterparts.
    for text in [
        "SET #s = :v",
        "SET a = :v REMOVE b ADD c :v DELETE d :ss",
        "SET a.b = :v, a.c = :v, l[0] = :v, l[1] = :v",
        "SET a = list_append(:l, b) + :v",
    ] {
        assert!(parse(text, &[("#s", "status")], v).is_ok(), "{text}");
    }
    // Reserved words are checked before duplicated sections.
    assert_validation(
        parse("SET a = :v SET status = :v", &[], v),
        &format!("{UPD}Attribute name is a reserved keyword; reserved keyword: status"),
    );
}

#[test]
fn key_attributes_cannot_be_updated() {
    let key = KeyDef {
        partition: KeyAttribute::new("pk", ScalarAttributeType::S),
        sort: None,
    };
    let v = r#"{":v":{"S":"x"}}"#;
    assert!(
        parse("SET a = :v", &[], v)
            .unwrap()
            .check_key_attributes(&key)
            .is_ok()
    );
    assert_validation(
        parse("SET pk = :v", &[], v)
            .unwrap()
            .check_key_attributes(&key),
        "One or more parameter values were invalid: Cannot update attribute pk. This attribute \
         is part of the key",
    );
}
