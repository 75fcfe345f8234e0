//! ConditionExpression / FilterExpression: every rule with a passing and a failing case,
//! asserting DynamoDB's error kind and message, and evaluation against items.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod expr_common;

use ddb_model::ErrorKind;
use ddb_model::expr::{ConditionExpression, ExpressionAttributes, ExpressionKind};
use expr_common::{Attrs, assert_validation, item, usage};

const COND: &str = "Invalid ConditionExpression: ";

fn parse(
    text: &str,
    names: &[(&str, &str)],
    values: &str,
) -> ddb_model::Result<ConditionExpression> {
    let attrs = Attrs::new(names, values);
    ConditionExpression::parse(text, ExpressionKind::Condition, &attrs.get(), &mut usage())
}

fn holds(text: &str, names: &[(&str, &str)], values: &str, on: &str) -> bool {
    parse(text, names, values)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .evaluate(Some(&item(on)))
}

const ITEM: &str = r#"{"pk":{"S":"p1"},"n":{"N":"5"},"s":{"S":"hello"},"b":{"B":"AAEC"},
    "flag":{"BOOL":true},"nul":{"NULL":true},"ss":{"SS":["a","b"]},"ns":{"NS":["1","2"]},
    "l":{"L":[{"S":"x"},{"N":"2"}]},"m":{"M":{"k":{"S":"v"},"deep":{"M":{"z":{"N":"-1"}}}}},
    "status":{"S":"on"}}"#;

#[test]
fn comparisons_follow_dynamodb_ordering() {
    let v = r#"{":five":{"N":"5.0"},":four":{"N":"4"},":s":{"S":"hellp"},":b":{"B":"AAE="}}"#;
    assert!(holds("n = :five", &[], v, ITEM));
    assert!(holds(
        "n > :four AND n >= :five AND n <= :five",
        &[],
        v,
        ITEM
    ));
    assert!(!holds("n < :four", &[], v, ITEM));
    assert!(holds("s < :s", &[], v, ITEM));
    assert!(holds("b > :b", &[], v, ITEM));
    // Different types never compare: false, and <> is true.
    assert!(!holds("s > :four", &[], v, ITEM));
    assert!(!holds("s = :four", &[], v, ITEM));
    assert!(holds("s <> :four", &[], v, ITEM));
    // A missing attribute has no value.
    assert!(!holds("nope = :four", &[], v, ITEM));
    assert!(holds("nope <> :four", &[], v, ITEM));
    // Paths of non-orderable types compare false, not an error.
    assert!(!holds("flag > n", &[], v, ITEM));
    assert!(!holds("ss > n", &[], v, ITEM));
}

#[test]
fn utf8_order_not_utf16() {
    // U+FFFF sorts before U+1F600 in UTF-8 (and after it in UTF-16).
    let v = r#"{":emoji":{"S":"😀"}}"#;
    assert!(holds("s < :emoji", &[], v, r#"{"s":{"S":"\uffff"}}"#));
}

#[test]
fn between_in_and_boolean_operators() {
    let v = r#"{":a":{"N":"1"},":b":{"N":"9"},":x":{"S":"hello"},":y":{"S":"q"}}"#;
    assert!(holds("n BETWEEN :a AND :b", &[], v, ITEM));
    assert!(!holds("n BETWEEN :b AND :b", &[], v, ITEM));
    assert!(holds("s IN (:y, :x)", &[], v, ITEM));
    assert!(!holds("s IN (:y)", &[], v, ITEM));
    // NOT binds tighter than AND, AND tighter than OR.
    assert!(holds(
        "s = :y OR n = :a OR NOT n = :b AND s = :x",
        &[],
        v,
        ITEM
    ));
    assert!(!holds("(s = :y OR NOT n = :b) AND s = :y", &[], v, ITEM));
    assert!(holds("NOT (n = :a AND s = :x)", &[], v, ITEM));
}

#[test]
fn functions_evaluate() {
    let v = r#"{":p":{"S":"hel"},":a":{"S":"a"},":two":{"N":"2"},":x":{"S":"x"},
        ":t":{"S":"SS"},":ell":{"S":"ell"},":five":{"N":"5"},":m":{"S":"M"}}"#;
    assert!(holds("attribute_exists(m.deep.z)", &[], v, ITEM));
    assert!(holds(
        "attribute_not_exists(m.deep.q) AND attribute_not_exists(l[5])",
        &[],
        v,
        ITEM
    ));
    assert!(holds(
        "attribute_type(ss, :t) AND attribute_type(m, :m)",
        &[],
        v,
        ITEM
    ));
    assert!(!holds("attribute_type(s, :t)", &[], v, ITEM));
    assert!(holds("begins_with(s, :p)", &[], v, ITEM));
    assert!(holds(
        "contains(s, :ell) AND contains(ss, :a) AND contains(ns, :two)",
        &[],
        v,
        ITEM
    ));
    assert!(holds("contains(l, :x) AND contains(l, :two)", &[], v, ITEM));
    assert!(!holds("contains(n, :two)", &[], v, ITEM));
    assert!(holds(
        "size(s) = :five AND size(ss) = :two AND size(l) = :two",
        &[],
        v,
        ITEM
    ));
    // size() of a number has no value: comparisons are false, <> true.
    assert!(!holds("size(n) > :two", &[], v, ITEM));
    assert!(holds("size(n) <> :two", &[], v, ITEM));
    // A missing item: attribute_not_exists holds, everything else about values fails.
    let c = parse("attribute_not_exists(pk)", &[], "{}").unwrap();
    assert!(c.evaluate(None));
    assert!(c.check(None).is_ok());
    let err = parse("attribute_exists(pk)", &[], "{}")
        .unwrap()
        .check(None)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConditionalCheckFailed);
    assert_eq!(err.message(), "The conditional request failed");
}

#[test]
fn placeholders_resolve_and_must_be_defined() {
    let v = r#"{":v":{"S":"on"}}"#;
    assert!(holds("#s = :v", &[("#s", "status")], v, ITEM));
    assert_validation(
        parse("#s = :v", &[], v),
        &format!(
            "{COND}An expression attribute name used in the document path is not defined; \
             attribute name: #s"
        ),
    );
    assert_validation(
        parse("s = :nope", &[], v),
        &format!(
            "{COND}An expression attribute value used in expression is not defined; attribute \
             value: :nope"
        ),
    );
}

#[test]
fn reserved_words_need_placeholders() {
    let v = r#"{":v":{"S":"on"}}"#;
    assert!(parse("#s = :v", &[("#s", "status")], v).is_ok());
    assert_validation(
        parse("status = :v", &[], v),
        &format!("{COND}Attribute name is a reserved keyword; reserved keyword: status"),
    );
    assert_validation(
        parse("m.Data = :v", &[], v),
        &format!("{COND}Attribute name is a reserved keyword; reserved keyword: Data"),
    );
}

#[test]
fn syntax_and_emptiness() {
    assert!(parse("a = :v", &[], r#"{":v":{"N":"1"}}"#).is_ok());
    assert_validation(
        parse("", &[], "{}"),
        &format!("{COND}The expression can not be empty;"),
    );
    assert_validation(
        parse("a = ", &[], "{}"),
        &format!("{COND}Syntax error; token: \"<EOF>\", near: \"= \""),
    );
    assert_validation(
        parse("((a = :v))", &[], r#"{":v":{"N":"1"}}"#),
        &format!("{COND}The expression has redundant parentheses;"),
    );
    // The prefix follows the parameter.
    let attrs = Attrs::new(&[], r#"{":v":{"BOOL":true}}"#);
    let err =
        ConditionExpression::parse("n > :v", ExpressionKind::Filter, &attrs.get(), &mut usage())
            .unwrap_err();
    assert_eq!(
        err.message(),
        "Invalid FilterExpression: Incorrect operand type for operator or function; operator \
         or function: >, operand type: BOOL"
    );
}

#[test]
fn functions_are_checked() {
    let v = r#"{":v":{"S":"x"},":n":{"N":"1"},":t":{"S":"STRING"},":s":{"S":"S"}}"#;
    let cases = [
        ("dog(a)", "Invalid function name; function: dog"),
        (
            "begins_with(a, :v) = :v",
            "The function is not allowed to be used this way in an expression; function: begins_with",
        ),
        (
            "size(a)",
            "The function is not allowed to be used this way in an expression; function: size",
        ),
        (
            "begins_with(a)",
            "Incorrect number of operands for operator or function; operator or function: \
             begins_with, number of operands: 1",
        ),
        (
            "attribute_exists(:v)",
            "Operator or function requires a document path; operator or function: attribute_exists",
        ),
        (
            "begins_with(a, :n)",
            "Incorrect operand type for operator or function; operator or function: begins_with, \
             operand type: N",
        ),
        (
            "size(:n) > :n",
            "Incorrect operand type for operator or function; operator or function: size, \
             operand type: N",
        ),
        (
            "attribute_type(a, :n)",
            "Incorrect operand type for operator or function; operator or function: \
             attribute_type, operand type: N",
        ),
        (
            "attribute_type(a, :t)",
            "Invalid attribute type name found; type: STRING, valid types: \
             {B,NULL,SS,BOOL,L,BS,N,NS,S,M}",
        ),
        (
            "a = a",
            "The first operand must be distinct from the remaining operands for this operator \
             or function; operator: =, first operand: [a]",
        ),
    ];
    for (text, message) in cases {
        assert_validation(parse(text, &[], v), &format!("{COND}{message}"));
    }
    // Passing counterparts.
    for text in [
        "begins_with(a, :v)",
        "size(a) > :n",
        "attribute_exists(a)",
        "attribute_type(a, :s) OR contains(a, :n)",
        "a = b",
        // A size compared with a string is allowed (and false at run time).
        "size(a) > :v",
    ] {
        assert!(parse(text, &[], v).is_ok(), "{text}");
    }
}

#[test]
fn ordering_needs_orderable_values() {
    for (literal, type_name) in [
        (r#"{"BOOL":true}"#, "BOOL"),
        (r#"{"NULL":true}"#, "NULL"),
        (r#"{"SS":["a"]}"#, "SS"),
        (r#"{"NS":["1"]}"#, "NS"),
        (r#"{"L":[]}"#, "L"),
        (r#"{"M":{}}"#, "M"),
    ] {
        let v = format!(r#"{{":v":{literal},":z":{{"N":"0"}}}}"#);
        for op in ["<", "<=", ">", ">="] {
            assert_validation(
                parse(&format!("n {op} :v AND n > :z"), &[], &v),
                &format!(
                    "{COND}Incorrect operand type for operator or function; operator or \
                     function: {op}, operand type: {type_name}"
                ),
            );
        }
        // Checked up front even where evaluation would short-circuit.
        assert!(parse("attribute_exists(zz) AND :v >= n", &[], &v).is_err());
        // Equality is defined for every type.
        assert!(parse("n = :v OR n <> :v OR n > :z", &[], &v).is_ok());
    }
}

#[test]
fn between_bounds_are_checked() {
    let v = r#"{":lo":{"N":"5"},":hi":{"N":"1"},":s":{"S":"a"}}"#;
    assert!(parse("n BETWEEN :hi AND :lo", &[], v).is_ok());
    assert_validation(
        parse("n BETWEEN :lo AND :hi", &[], v),
        &format!(
            "{COND}The BETWEEN operator requires upper bound to be greater than or equal to \
             lower bound; lower bound operand: AttributeValue: {{N:5}}, upper bound operand: \
             AttributeValue: {{N:1}}"
        ),
    );
    assert_validation(
        parse("n BETWEEN :hi AND :s", &[], v),
        &format!(
            "{COND}The BETWEEN operator requires same data type for lower and upper bounds; \
             lower bound operand: AttributeValue: {{N:1}}, upper bound operand: AttributeValue: \
             {{S:a}}"
        ),
    );
}

#[test]
fn in_takes_at_most_100_operands() {
    let json = |count: usize| {
        let entries: Vec<String> = (0..count)
            .map(|i| format!(r#"":v{i}":{{"N":"{i}"}}"#))
            .collect();
        format!("{{{}}}", entries.join(","))
    };
    let list = |count: usize| {
        (0..count)
            .map(|i| format!(":v{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    assert!(parse(&format!("n IN ({})", list(100)), &[], &json(100)).is_ok());
    assert_validation(
        parse(&format!("n IN ({})", list(101)), &[], &json(101)),
        &format!(
            "{COND}The IN operator is provided with too many operands; number of operands: 101"
        ),
    );
}

#[test]
fn the_first_failing_condition_in_text_order_wins() {
    let v = r#"{":n":{"N":"1"}}"#;
    // An undefined value before a bad operand is reported first, and the reverse.
    assert_validation(
        parse("a = :missing AND begins_with(b, :n)", &[], v),
        &format!(
            "{COND}An expression attribute value used in expression is not defined; attribute \
             value: :missing"
        ),
    );
    assert_validation(
        parse("begins_with(b, :n) AND a = :missing", &[], v),
        &format!(
            "{COND}Incorrect operand type for operator or function; operator or function: \
             begins_with, operand type: N"
        ),
    );
    // Expression-wide checks come before per-condition ones.
    assert_validation(
        parse("a = :missing AND status = :n", &[], v),
        &format!("{COND}Attribute name is a reserved keyword; reserved keyword: status"),
    );
}

#[test]
fn placeholder_maps_are_checked() {
    use std::collections::BTreeMap;
    let check = |names: Option<BTreeMap<String, String>>, values: Option<&str>| {
        let values = values.map(expr_common::values);
        ExpressionAttributes::new(names.as_ref(), values.as_ref()).map(|_| ())
    };
    assert!(
        check(
            Some(expr_common::names(&[("#a_1", "x")])),
            Some(r#"{":v_2":{"S":""}}"#)
        )
        .is_ok()
    );
    assert_validation(
        check(Some(expr_common::names(&[("#a-b", "x")])), None),
        "ExpressionAttributeNames contains invalid key: Syntax error; key: \"#a-b\"",
    );
    assert_validation(
        check(Some(expr_common::names(&[("#", "x")])), None),
        "ExpressionAttributeNames contains invalid key: Syntax error; key: \"#\"",
    );
    let long = format!("#{}", "a".repeat(255));
    assert_validation(
        check(Some(expr_common::names(&[(long.as_str(), "x")])), None),
        "ExpressionAttributeNames contains invalid key: The expression attribute map contains \
         a key that is too long; size of key: 256",
    );
    assert_validation(
        check(Some(expr_common::names(&[("#a", "")])), None),
        "ExpressionAttributeNames contains invalid value: Empty attribute name for key #a",
    );
    assert_validation(
        check(Some(BTreeMap::new()), None),
        "ExpressionAttributeNames must not be empty",
    );
    assert_validation(
        check(None, Some(r#"{"a":{"S":"x"}}"#)),
        "ExpressionAttributeValues contains invalid key: Syntax error; key: \"a\"",
    );
    let long = format!(r#"{{":{}":{{"S":"x"}}}}"#, "a".repeat(255));
    assert_validation(
        check(None, Some(&long)),
        "ExpressionAttributeValues contains invalid key: The expression attribute map contains \
         a key that is too long;",
    );
    assert_validation(
        check(None, Some("{}")),
        "ExpressionAttributeValues must not be empty",
    );
}

#[test]
fn unused_placeholders_are_an_error_across_expressions() {
    let attrs = Attrs::new(
        &[("#a", "x"), ("#b", "y")],
        r#"{":v":{"N":"1"},":w":{"N":"2"}}"#,
    );
    let attrs = attrs.get();
    let mut used = usage();
    ConditionExpression::parse("#a = :v", ExpressionKind::Condition, &attrs, &mut used).unwrap();
    assert_validation(
        attrs.check_unused(&used),
        "Value provided in ExpressionAttributeNames unused in expressions: keys: {#b}",
    );
    ConditionExpression::parse("#b = :v", ExpressionKind::Filter, &attrs, &mut used).unwrap();
    assert_validation(
        attrs.check_unused(&used),
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}",
    );
    ConditionExpression::parse("x = :w", ExpressionKind::Filter, &attrs, &mut used).unwrap();
    assert!(attrs.check_unused(&used).is_ok());
}
