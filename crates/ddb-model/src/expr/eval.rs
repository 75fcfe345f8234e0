//! Evaluating a resolved condition against an item.
//!
//! DynamoDB's rules: an operand whose path does not exist has no value; a comparison with a
//! missing operand, or between values of different types, is false (`<>` is its negation, so
//! true); `<`, `<=`, `>`, `>=` and `BETWEEN` order only `N` (numerically), `S` (by UTF-8
//! bytes) and `B` (by unsigned bytes); `=` is deep equality of any type (sets as sets).
//! Evaluation never fails: every type error DynamoDB reports is caught before, in validation.

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::number::Number;
use crate::value::{AttributeValue, Item};

use super::ast::{Comparator, Condition, Operand};
use super::paths;
use super::validate::{ResolvedCondition, ResolvedOperand};

/// The order of two values of the same orderable type (`N`, `S`, `B`); `None` otherwise.
pub fn compare_values(a: &AttributeValue, b: &AttributeValue) -> Option<Ordering> {
    match (a, b) {
        (AttributeValue::N(x), AttributeValue::N(y)) => Some(x.cmp(y)),
        (AttributeValue::S(x), AttributeValue::S(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (AttributeValue::B(x), AttributeValue::B(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// `size()`: string length in UTF-8 bytes, binary length, element count of sets, lists and
/// maps; no value for other types. (DynamoDB documents "the length of the string" without
/// saying the unit; bytes is what it uses for every other string measure, unconfirmed here.)
pub fn size_of(value: &AttributeValue) -> Option<Number> {
    let size = match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::B(b) => b.len(),
        AttributeValue::Ss(s) => s.len(),
        AttributeValue::Ns(s) => s.len(),
        AttributeValue::Bs(s) => s.len(),
        AttributeValue::L(l) => l.len(),
        AttributeValue::M(m) => m.len(),
        AttributeValue::N(_) | AttributeValue::Bool(_) | AttributeValue::Null => return None,
    };
    Some(Number::from(size))
}

fn operand<'a>(op: &'a ResolvedOperand, item: Option<&'a Item>) -> Option<Cow<'a, AttributeValue>> {
    match op {
        Operand::Path(path) => item
            .and_then(|item| paths::get(item, path))
            .map(Cow::Borrowed),
        Operand::Value(value) => Some(Cow::Borrowed(value)),
        Operand::Call(call) if call.name == "size" => {
            let arg = call.args.first()?;
            let value = operand(arg, item)?;
            size_of(&value).map(|n| Cow::Owned(AttributeValue::N(n)))
        }
        // Validation admits no other function as an operand.
        Operand::Call(_) => None,
    }
}

/// Whether `condition` holds for `item` (`None`: the item does not exist).
pub fn evaluate(condition: &ResolvedCondition, item: Option<&Item>) -> bool {
    match condition {
        Condition::And(a, b) => evaluate(a, item) && evaluate(b, item),
        Condition::Or(a, b) => evaluate(a, item) || evaluate(b, item),
        Condition::Not(inner) => !evaluate(inner, item),
        Condition::Compare { op, left, right } => {
            let (Some(left), Some(right)) = (operand(left, item), operand(right, item)) else {
                return *op == Comparator::Ne;
            };
            match op {
                Comparator::Eq => left == right,
                Comparator::Ne => left != right,
                _ => compare_values(&left, &right).is_some_and(|ordering| match op {
                    Comparator::Lt => ordering.is_lt(),
                    Comparator::Le => ordering.is_le(),
                    Comparator::Gt => ordering.is_gt(),
                    _ => ordering.is_ge(),
                }),
            }
        }
        Condition::Between { value, low, high } => {
            let (Some(value), Some(low), Some(high)) = (
                operand(value, item),
                operand(low, item),
                operand(high, item),
            ) else {
                return false;
            };
            compare_values(&low, &value).is_some_and(Ordering::is_le)
                && compare_values(&value, &high).is_some_and(Ordering::is_le)
        }
        Condition::In { value, list } => operand(value, item).is_some_and(|value| {
            list.iter()
                .any(|candidate| operand(candidate, item).is_some_and(|c| c == value))
        }),
        Condition::Call(call) => {
            let arg = |i: usize| call.args.get(i).and_then(|a| operand(a, item));
            match call.name.as_str() {
                "attribute_exists" => arg(0).is_some(),
                "attribute_not_exists" => arg(0).is_none(),
                "attribute_type" => match (arg(0), arg(1)) {
                    (Some(value), Some(t)) => t.as_s() == Some(value.type_name()),
                    _ => false,
                },
                "begins_with" => match (arg(0), arg(1)) {
                    (Some(value), Some(prefix)) => begins_with(&value, &prefix),
                    _ => false,
                },
                "contains" => match (arg(0), arg(1)) {
                    (Some(value), Some(needle)) => contains(&value, &needle),
                    _ => false,
                },
                _ => false,
            }
        }
    }
}

fn begins_with(value: &AttributeValue, prefix: &AttributeValue) -> bool {
    match (value, prefix) {
        (AttributeValue::S(s), AttributeValue::S(p)) => s.starts_with(p.as_str()),
        (AttributeValue::B(b), AttributeValue::B(p)) => b.starts_with(p),
        _ => false,
    }
}

/// `contains(path, operand)`: a substring of a string, a subsequence of a binary, a member of
/// a set of the operand's type, or an element of a list.
fn contains(value: &AttributeValue, needle: &AttributeValue) -> bool {
    match (value, needle) {
        (AttributeValue::S(s), AttributeValue::S(n)) => s.contains(n.as_str()),
        (AttributeValue::B(b), AttributeValue::B(n)) => {
            n.is_empty() || b.windows(n.len()).any(|window| window == n.as_slice())
        }
        (AttributeValue::Ss(set), AttributeValue::S(n)) => set.contains(n),
        (AttributeValue::Ns(set), AttributeValue::N(n)) => set.contains(n),
        (AttributeValue::Bs(set), AttributeValue::B(n)) => set.contains(n),
        (AttributeValue::L(list), n) => list.contains(n),
        _ => false,
    }
}
