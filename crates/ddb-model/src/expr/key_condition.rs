//! KeyConditionExpression: a partition-key equality and an optional sort-key condition,
//! checked against the key schema of the table or index queried, turned into a key range.
//!
//! DynamoDB parses key conditions with the condition grammar, then applies its own rules in
//! two steps. The shape rules (messages from dynalite's suite, which ran against DynamoDB):
//! no `OR`, `NOT`, `IN`, `<>` or functions other than `begins_with`; one key attribute, not
//! nested, per condition; one condition per key. The schema rules: at most two conditions,
//! the partition key compared with `=`, the other condition on the sort key, values of the
//! key's type, no `begins_with` on a number.

use std::ops::Bound;

use crate::error::{DdbError, Result};
use crate::key::KeyValue;
use crate::schema::{KeyDef, ScalarAttributeType};
use crate::value::{AttributeValue, Item};

use super::ast::{Comparator, Condition, DocPath, Operand, Step};
use super::attributes::{ExpressionAttributes, Usage};
use super::eval::compare_values;
use super::validate::{ResolvedCondition, ResolvedOperand};
use super::{ExpressionKind, parse_checked_condition};

/// The condition on the sort key; values have the sort key's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortCondition {
    Eq(AttributeValue),
    Lt(AttributeValue),
    Le(AttributeValue),
    Gt(AttributeValue),
    Ge(AttributeValue),
    Between(AttributeValue, AttributeValue),
    BeginsWith(AttributeValue),
}

/// A checked key condition: the partition key value and the sort-key condition, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCondition {
    pub partition: AttributeValue,
    pub sort: Option<SortCondition>,
}

/// One simple condition on a key attribute, operands normalised to `key <op> value`.
struct Clause {
    name: String,
    sort: SortCondition,
}

impl KeyCondition {
    /// Parses and checks `text` against `key` (the table's key or the queried index's).
    pub fn parse(
        text: &str,
        attrs: &ExpressionAttributes<'_>,
        usage: &mut Usage,
        key: &KeyDef,
    ) -> Result<Self> {
        let kind = ExpressionKind::KeyCondition;
        let condition = parse_checked_condition(text, kind, attrs, usage)?;
        let mut clauses = Vec::new();
        shape(&condition, &mut clauses).map_err(DdbError::validation)?;
        schema(clauses, key)
    }

    /// Whether `value` (a sort-key value) satisfies the sort condition.
    pub fn sort_matches(&self, value: &AttributeValue) -> bool {
        let Some(sort) = &self.sort else {
            return true;
        };
        let cmp = |bound: &AttributeValue| compare_values(value, bound);
        match sort {
            SortCondition::Eq(v) => cmp(v).is_some_and(|o| o.is_eq()),
            SortCondition::Lt(v) => cmp(v).is_some_and(|o| o.is_lt()),
            SortCondition::Le(v) => cmp(v).is_some_and(|o| o.is_le()),
            SortCondition::Gt(v) => cmp(v).is_some_and(|o| o.is_gt()),
            SortCondition::Ge(v) => cmp(v).is_some_and(|o| o.is_ge()),
            SortCondition::Between(low, high) => {
                cmp(low).is_some_and(|o| o.is_ge()) && cmp(high).is_some_and(|o| o.is_le())
            }
            SortCondition::BeginsWith(prefix) => match (value, prefix) {
                (AttributeValue::S(s), AttributeValue::S(p)) => s.starts_with(p.as_str()),
                (AttributeValue::B(b), AttributeValue::B(p)) => b.starts_with(p),
                _ => false,
            },
        }
    }

    /// Whether `item` is in the range, judged by `key`'s attributes.
    pub fn matches(&self, item: &Item, key: &KeyDef) -> bool {
        item.get(&key.partition.name) == Some(&self.partition)
            && match (&key.sort, &self.sort) {
                (_, None) => true,
                (Some(sort), Some(_)) => item.get(&sort.name).is_some_and(|v| self.sort_matches(v)),
                (None, Some(_)) => false,
            }
    }

    /// The range of encoded keys (`crate::key` encoding, partition component first) the
    /// condition selects, as `(lower, upper)` bounds. It holds for table keys and for index
    /// keys (`index key ‖ table key`) alike: what follows the queried components never moves
    /// a key across a bound.
    pub fn encoded_bounds(&self) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
        let mut prefix = Vec::new();
        if let Some(partition) = KeyValue::from_attribute(&self.partition) {
            partition.encode(&mut prefix);
        }
        let with = |value: &AttributeValue| {
            let mut bytes = prefix.clone();
            if let Some(v) = KeyValue::from_attribute(value) {
                v.encode(&mut bytes);
            }
            bytes
        };
        // Keys that start with whole components `c` continue with another component's tag
        // (`S`, `N`, `B`, all below 0xFF) or end; an escaped zero inside a longer string
        // continues with 0xFF. So `c ‖ 0xFF` is the first key past every key that starts with
        // `c` and equals it in those components.
        let past = |mut bytes: Vec<u8>| {
            bytes.push(u8::MAX);
            bytes
        };
        let whole = (
            Bound::Included(prefix.clone()),
            Bound::Excluded(past(prefix.clone())),
        );
        let Some(sort) = &self.sort else {
            return whole;
        };
        match sort {
            SortCondition::Eq(v) => (Bound::Included(with(v)), Bound::Excluded(past(with(v)))),
            SortCondition::Lt(v) => (whole.0, Bound::Excluded(with(v))),
            SortCondition::Le(v) => (whole.0, Bound::Excluded(past(with(v)))),
            SortCondition::Gt(v) => (Bound::Included(past(with(v))), whole.1),
            SortCondition::Ge(v) => (Bound::Included(with(v)), whole.1),
            SortCondition::Between(low, high) => (
                Bound::Included(with(low)),
                Bound::Excluded(past(with(high))),
            ),
            SortCondition::BeginsWith(p) => {
                // Every value starting with p encodes as tag ‖ escaped(p) ‖ …: the component
                // without its terminator is a prefix of all of them and of nothing else.
                let mut bytes = with(p);
                bytes.pop();
                (Bound::Included(bytes.clone()), prefix_end(&bytes))
            }
        }
    }
}

/// The smallest byte string greater than every string that starts with `prefix`.
fn prefix_end(prefix: &[u8]) -> Bound<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Bound::Excluded(end);
        }
    }
    Bound::Unbounded
}

fn invalid_operator(name: &str) -> String {
    format!("Invalid operator used in KeyConditionExpression: {name}")
}

/// The key attribute an operand names: a one-step path.
fn key_name(operand: &ResolvedOperand) -> Result<Option<&str>, String> {
    match operand {
        Operand::Path(DocPath(steps)) => match steps.as_slice() {
            [Step::Key(name)] => Ok(Some(name)),
            _ => Err(
                "KeyConditionExpressions cannot have conditions on nested attributes".to_owned(),
            ),
        },
        Operand::Call(_) => {
            Err("KeyConditionExpressions cannot contain nested operations".to_owned())
        }
        Operand::Value(_) => Ok(None),
    }
}

/// The shape rules, walking the tree before its children as DynamoDB reports them.
fn shape(condition: &ResolvedCondition, out: &mut Vec<Clause>) -> Result<(), String> {
    let first_operand = |what: &str| {
        format!(
            "Invalid condition in KeyConditionExpression: {what} operator must have the key \
             attribute as its first operand"
        )
    };
    let (operands, first_must_be_key): (Vec<&ResolvedOperand>, Option<&str>) = match condition {
        Condition::And(a, b) => {
            shape(a, out)?;
            return shape(b, out);
        }
        Condition::Or(..) => return Err(invalid_operator("OR")),
        Condition::Not(..) => return Err(invalid_operator("NOT")),
        Condition::In { .. } => return Err(invalid_operator("IN")),
        Condition::Compare {
            op: Comparator::Ne, ..
        } => return Err(invalid_operator("<>")),
        Condition::Call(call) if call.name != "begins_with" => {
            return Err(invalid_operator(&call.name));
        }
        Condition::Compare { left, right, .. } => (vec![left, right], None),
        Condition::Between { value, low, high } => (vec![value, low, high], Some("BETWEEN")),
        Condition::Call(call) => (call.args.iter().collect(), Some("begins_with")),
    };
    if let (Some(what), Some(first)) = (first_must_be_key, operands.first())
        && !matches!(first, Operand::Path(_))
    {
        return Err(first_operand(what));
    }
    let mut name = None;
    let mut position = 0;
    for (i, operand) in operands.iter().enumerate() {
        if let Some(found) = key_name(operand)? {
            if name.is_some() {
                return Err(
                    "Invalid condition in KeyConditionExpression: Multiple attribute \
                            names used in one condition"
                        .to_owned(),
                );
            }
            name = Some(found);
            position = i;
        }
    }
    let Some(name) = name else {
        return Err(
            "Invalid condition in KeyConditionExpression: No key attribute specified".to_owned(),
        );
    };
    if out.iter().any(|clause| clause.name == name) {
        return Err("KeyConditionExpressions must only contain one condition per key".to_owned());
    }
    let value = |i: usize| match operands.get(i) {
        Some(Operand::Value(v)) => Ok(v.clone()),
        _ => Err(
            "Invalid condition in KeyConditionExpression: No key attribute specified".to_owned(),
        ),
    };
    let sort = match condition {
        Condition::Compare { op, .. } => {
            let op = if position == 0 { *op } else { op.flipped() };
            let v = value(1 - position)?;
            match op {
                Comparator::Lt => SortCondition::Lt(v),
                Comparator::Le => SortCondition::Le(v),
                Comparator::Gt => SortCondition::Gt(v),
                Comparator::Ge => SortCondition::Ge(v),
                _ => SortCondition::Eq(v),
            }
        }
        Condition::Between { .. } => SortCondition::Between(value(1)?, value(2)?),
        _ => SortCondition::BeginsWith(value(1)?),
    };
    out.push(Clause {
        name: name.to_owned(),
        sort,
    });
    Ok(())
}

fn values(sort: &SortCondition) -> Vec<&AttributeValue> {
    match sort {
        SortCondition::Between(a, b) => vec![a, b],
        SortCondition::Eq(v)
        | SortCondition::Lt(v)
        | SortCondition::Le(v)
        | SortCondition::Gt(v)
        | SortCondition::Ge(v)
        | SortCondition::BeginsWith(v) => vec![v],
    }
}

fn type_matches(value: &AttributeValue, expected: ScalarAttributeType) -> bool {
    KeyValue::from_attribute(value).is_some_and(|v| v.attribute_type() == expected)
}

/// The schema rules. (Their relative order is dynalite's where its suite shows it; the place
/// of the type checks after the others is not confirmed.)
fn schema(mut clauses: Vec<Clause>, key: &KeyDef) -> Result<KeyCondition> {
    let not_supported = || DdbError::validation("Query key condition not supported");
    let missed = |name: &str| {
        DdbError::validation(format!("Query condition missed key schema element: {name}"))
    };
    if clauses.len() > 2 {
        return Err(DdbError::validation(
            "Conditions can be of length 1 or 2 only",
        ));
    }
    if clauses.len() == 2 && key.sort.is_none() {
        return Err(not_supported());
    }
    let Some(at) = clauses.iter().position(|c| c.name == key.partition.name) else {
        return Err(missed(&key.partition.name));
    };
    let partition = clauses.remove(at);
    let SortCondition::Eq(partition_value) = partition.sort else {
        return Err(not_supported());
    };
    let sort = match (clauses.pop(), &key.sort) {
        (None, _) => None,
        (Some(clause), Some(sort_key)) if clause.name == sort_key.name => {
            if matches!(clause.sort, SortCondition::BeginsWith(_))
                && sort_key.attribute_type == ScalarAttributeType::N
            {
                return Err(ExpressionKind::KeyCondition.invalid(
                    "Incorrect operand type for operator or function; operator or function: \
                     begins_with, operand type: N",
                ));
            }
            if !values(&clause.sort)
                .into_iter()
                .all(|v| type_matches(v, sort_key.attribute_type))
            {
                return Err(type_mismatch());
            }
            Some(clause.sort)
        }
        (Some(_), Some(sort_key)) => return Err(missed(&sort_key.name)),
        (Some(_), None) => return Err(not_supported()),
    };
    if !type_matches(&partition_value, key.partition.attribute_type) {
        return Err(type_mismatch());
    }
    Ok(KeyCondition {
        partition: partition_value,
        sort,
    })
}

fn type_mismatch() -> DdbError {
    DdbError::validation(
        "One or more parameter values were invalid: Condition parameter type does not match \
         schema type",
    )
}
