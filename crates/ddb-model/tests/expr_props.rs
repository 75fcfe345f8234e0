//! Property tests of the expression module: print/parse round trips, SET then read back,
//! ADD/DELETE on sets against a `BTreeSet` model, and arithmetic against bigdecimal.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use bigdecimal::BigDecimal;
use ddb_model::expr::ast::{
    Call, ClauseKind, Comparator, Condition, Operand, Path, PathElement, SetValue, Update,
    UpdateAction, ValueRef,
};
use ddb_model::expr::{
    ExpressionAttributes, ProjectionExpression, UpdateExpression, Usage, parse_condition_syntax,
    parse_update_syntax,
};
use ddb_model::{AttributeValue, Item, Number, NumberError};
use proptest::prelude::*;

type P = Path;
type V = ValueRef;

fn name() -> impl Strategy<Value = PathElement> {
    prop_oneof![
        // Bare names that are not keywords or reserved words.
        "[a-z]{1,3}x[0-9]?".prop_map(PathElement::Name),
        "#[A-Za-z0-9_]{1,4}".prop_map(PathElement::Placeholder),
    ]
}

fn path() -> impl Strategy<Value = P> {
    (
        name(),
        prop::collection::vec(
            prop_oneof![name(), (0u32..40).prop_map(PathElement::Index)],
            0..3,
        ),
    )
        .prop_map(|(first, rest)| Path(std::iter::once(first).chain(rest).collect()))
}

fn value_ref() -> impl Strategy<Value = V> {
    ":[A-Za-z0-9_]{1,4}".prop_map(ValueRef)
}

fn operand() -> impl Strategy<Value = Operand<P, V>> {
    prop_oneof![
        3 => path().prop_map(Operand::Path),
        3 => value_ref().prop_map(Operand::Value),
        1 => path().prop_map(|p| Operand::Call(Call { name: "size".into(), args: vec![Operand::Path(p)] })),
    ]
}

fn comparator() -> impl Strategy<Value = Comparator> {
    prop::sample::select(vec![
        Comparator::Eq,
        Comparator::Ne,
        Comparator::Lt,
        Comparator::Le,
        Comparator::Gt,
        Comparator::Ge,
    ])
}

fn condition() -> impl Strategy<Value = Condition<P, V>> {
    let leaf = prop_oneof![
        (comparator(), operand(), operand()).prop_map(|(op, left, right)| Condition::Compare {
            op,
            left,
            right
        }),
        (operand(), operand(), operand()).prop_map(|(value, low, high)| Condition::Between {
            value,
            low,
            high
        }),
        (operand(), prop::collection::vec(operand(), 1..4))
            .prop_map(|(value, list)| Condition::In { value, list }),
        (path(), value_ref()).prop_map(|(p, v)| Condition::Call(Call {
            name: "begins_with".into(),
            args: vec![Operand::Path(p), Operand::Value(v)],
        })),
        path().prop_map(|p| Condition::Call(Call {
            name: "attribute_exists".into(),
            args: vec![Operand::Path(p)],
        })),
    ];
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|c| Condition::Not(Box::new(c))),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| Condition::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| Condition::Or(Box::new(a), Box::new(b))),
        ]
    })
}

fn set_value() -> impl Strategy<Value = SetValue<P, V>> {
    let simple = prop_oneof![
        3 => operand().prop_filter("no size in updates", |o| !matches!(o, Operand::Call(_))).prop_map(SetValue::Operand),
        1 => (path(), value_ref()).prop_map(|(p, v)| SetValue::Operand(Operand::Call(Call {
            name: "if_not_exists".into(),
            args: vec![Operand::Path(p), Operand::Value(v)],
        }))),
    ];
    simple.prop_recursive(2, 6, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| SetValue::Plus(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| SetValue::Minus(Box::new(a), Box::new(b))),
        ]
    })
}

fn update() -> impl Strategy<Value = Update<P, V>> {
    let set = prop::collection::vec(
        (path(), set_value()).prop_map(|(path, value)| UpdateAction::Set { path, value }),
        1..3,
    )
    .prop_map(|a| (ClauseKind::Set, a));
    let remove = prop::collection::vec(path().prop_map(UpdateAction::Remove), 1..3)
        .prop_map(|a| (ClauseKind::Remove, a));
    let add = prop::collection::vec(
        (path(), value_ref()).prop_map(|(p, v)| UpdateAction::Add(p, v)),
        1..3,
    )
    .prop_map(|a| (ClauseKind::Add, a));
    let delete = prop::collection::vec(
        (path(), value_ref()).prop_map(|(p, v)| UpdateAction::Delete(p, v)),
        1..3,
    )
    .prop_map(|a| (ClauseKind::Delete, a));
    prop::collection::vec(prop_oneof![set, remove, add, delete], 1..4)
        .prop_map(|clauses| Update { clauses })
}

proptest! {
    #![proptest_config(common::config(256))]

    #[test]
    fn condition_print_parse_round_trips(c in condition()) {
        let text = c.to_string();
        let parsed = parse_condition_syntax(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(parsed, c);
    }

    #[test]
    fn update_print_parse_round_trips(u in update()) {
        let text = u.to_string();
        let parsed = parse_update_syntax(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(parsed, u);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,40}") {
        let _ = parse_condition_syntax(&text);
        let _ = parse_update_syntax(&text);
    }

    /// SET a top-level or nested attribute, then project it: the projection is what was set.
    #[test]
    fn set_then_project_reads_the_value_back(
        base in common::item(),
        v in common::attribute_value(),
        nested in any::<bool>(),
    ) {
        let values = BTreeMap::from([(":v".to_owned(), v.clone()), (":m".to_owned(), AttributeValue::M(BTreeMap::new()))]);
        let names = BTreeMap::from([("#t".to_owned(), "target".to_owned())]);
        let attrs = ExpressionAttributes::new(Some(&names), Some(&values)).unwrap();
        let mut usage = Usage::default();
        let (text, path) = if nested {
            ("SET #t = if_not_exists(#t, :m)", "#t.kid")
        } else {
            ("SET #t = :v", "#t")
        };
        let mut item = UpdateExpression::parse(text, &attrs, &mut usage).unwrap().apply(Some(&base)).unwrap();
        if nested {
            if !matches!(item.get("target"), Some(AttributeValue::M(_))) {
                // The attribute existed with another type: nested SET must refuse.
                let err = UpdateExpression::parse("SET #t.kid = :v", &attrs, &mut usage).unwrap().apply(Some(&item)).unwrap_err();
                prop_assert_eq!(err.message(), "The document path provided in the update expression is invalid for update");
                return Ok(());
            }
            item = UpdateExpression::parse("SET #t.kid = :v", &attrs, &mut usage).unwrap().apply(Some(&item)).unwrap();
        }
        let projected = ProjectionExpression::parse(path, &attrs, &mut usage).unwrap().apply(&item);
        let expected: Item = if nested {
            [("target", AttributeValue::M(BTreeMap::from([("kid".to_owned(), v)])))].into_iter().collect()
        } else {
            [("target", v)].into_iter().collect()
        };
        prop_assert_eq!(projected, expected);
    }

    /// ADD and DELETE on string sets behave like union and difference on a BTreeSet, and an
    /// emptied set disappears.
    #[test]
    fn add_delete_match_a_btreeset_model(
        start in prop::option::of(prop::collection::btree_set("[a-e]", 1..5)),
        ops in prop::collection::vec((any::<bool>(), prop::collection::btree_set("[a-e]", 1..4)), 1..8),
    ) {
        let mut model: Option<BTreeSet<String>> = start.clone();
        let mut item = Item::new();
        if let Some(s) = start {
            item.insert("s", AttributeValue::Ss(s));
        }
        for (is_add, operand) in ops {
            let values = BTreeMap::from([(":x".to_owned(), AttributeValue::Ss(operand.clone()))]);
            let attrs = ExpressionAttributes::new(None, Some(&values)).unwrap();
            let text = if is_add { "ADD s :x" } else { "DELETE s :x" };
            item = UpdateExpression::parse(text, &attrs, &mut Usage::default()).unwrap().apply(Some(&item)).unwrap();
            model = match (model, is_add) {
                (None, true) => Some(operand),
                (None, false) => None,
                (Some(m), true) => Some(m.union(&operand).cloned().collect()),
                (Some(m), false) => Some(m.difference(&operand).cloned().collect::<BTreeSet<_>>()).filter(|m| !m.is_empty()),
            };
            let expected = model.clone().map(AttributeValue::Ss);
            prop_assert_eq!(item.get("s"), expected.as_ref());
        }
    }

    /// Addition and subtraction agree with arbitrary precision, including the refusals.
    #[test]
    fn arithmetic_matches_bigdecimal(a in common::number(), b in common::number(), subtract in any::<bool>()) {
        let big = |n: &Number| BigDecimal::from_str(&n.to_string()).unwrap();
        let exact = if subtract { big(&a) - big(&b) } else { big(&a) + big(&b) };
        let got = if subtract { a.checked_sub(&b) } else { a.checked_add(&b) };
        // The expected outcome, from the exact value: magnitude first, then digit count.
        let normal = exact.normalized();
        let expected = if normal == 0 {
            Ok(Number::ZERO)
        } else {
            let (int, scale) = normal.as_bigint_and_exponent();
            let digits = i64::try_from(int.magnitude().to_string().len()).unwrap();
            let exponent = digits - scale;
            if exponent > 126 {
                Err(NumberError::Overflow)
            } else if exponent < -129 {
                Err(NumberError::Underflow)
            } else if digits > 38 {
                Err(NumberError::TooManyDigits)
            } else {
                Ok(Number::parse(&normal.to_string()).unwrap())
            }
        };
        prop_assert_eq!(got, expected);
    }
}
