//! Applying a checked UpdateExpression to an item (see `update.rs` for the semantics). Errors
//! here carry no `Invalid UpdateExpression:` prefix, as DynamoDB's do not.

use std::collections::BTreeSet;

use crate::error::{DdbError, Result};
use crate::value::{AttributeValue, Item};

use super::ast::{DocPath, Operand, SetValue, Step};
use super::paths::{get, get_in};
use super::validate::ResolvedOperand;

type ResolvedSetValue = SetValue<DocPath, AttributeValue>;

fn invalid_path() -> DdbError {
    DdbError::validation(
        "The document path provided in the update expression is invalid for update",
    )
}

fn wrong_type() -> DdbError {
    DdbError::validation("An operand in the update expression has an incorrect data type")
}

fn missing_operand() -> DdbError {
    DdbError::validation(
        "The provided expression refers to an attribute that does not exist in the item",
    )
}

pub(super) fn evaluate(value: &ResolvedSetValue, item: &Item) -> Result<AttributeValue> {
    match value {
        SetValue::Operand(operand) => evaluate_operand(operand, item),
        SetValue::Plus(a, b) | SetValue::Minus(a, b) => {
            let (AttributeValue::N(x), AttributeValue::N(y)) =
                (evaluate(a, item)?, evaluate(b, item)?)
            else {
                return Err(wrong_type());
            };
            let result = if matches!(value, SetValue::Plus(..)) {
                x.checked_add(&y)
            } else {
                x.checked_sub(&y)
            };
            Ok(AttributeValue::N(result?))
        }
    }
}

fn evaluate_operand(operand: &ResolvedOperand, item: &Item) -> Result<AttributeValue> {
    match operand {
        Operand::Path(path) => get(item, path).cloned().ok_or_else(missing_operand),
        Operand::Value(value) => Ok(value.clone()),
        Operand::Call(call) => {
            let (Some(first), Some(second)) = (call.args.first(), call.args.get(1)) else {
                return Err(wrong_type());
            };
            if call.name == "if_not_exists" {
                if let Operand::Path(path) = first
                    && let Some(existing) = get(item, path)
                {
                    return Ok(existing.clone());
                }
                return evaluate_operand(second, item);
            }
            match (
                evaluate_operand(first, item)?,
                evaluate_operand(second, item)?,
            ) {
                (AttributeValue::L(mut a), AttributeValue::L(b)) => {
                    a.extend(b);
                    Ok(AttributeValue::L(a))
                }
                _ => Err(wrong_type()),
            }
        }
    }
}

/// The container that holds the last step of `path`: `Ok(None)` when some step before it
/// does not exist, an error when a step goes through a value of the wrong type.
fn parent_mut<'i, 'p>(
    item: &'i mut Item,
    path: &'p DocPath,
) -> Result<Option<(&'i mut AttributeValue, &'p Step)>> {
    let Some((Step::Key(first), rest)) = path.0.split_first() else {
        return Err(invalid_path());
    };
    let Some((last, middle)) = rest.split_last() else {
        return Err(invalid_path());
    };
    let Some(mut current) = item.get_mut(first) else {
        return Ok(None);
    };
    for step in middle {
        current = match (current, step) {
            (AttributeValue::M(map), Step::Key(key)) => match map.get_mut(key) {
                Some(next) => next,
                None => return Ok(None),
            },
            (AttributeValue::L(list), Step::Index(index)) => match list.get_mut(*index) {
                Some(next) => next,
                None => return Ok(None),
            },
            _ => return Err(invalid_path()),
        };
    }
    Ok(Some((current, last)))
}

pub(super) fn set(item: &mut Item, path: &DocPath, value: AttributeValue) -> Result<()> {
    if let [Step::Key(name)] = path.0.as_slice() {
        item.insert(name.clone(), value);
        return Ok(());
    }
    match parent_mut(item, path)? {
        Some((AttributeValue::M(map), Step::Key(key))) => {
            map.insert(key.clone(), value);
            Ok(())
        }
        Some((AttributeValue::L(list), Step::Index(index))) => {
            match list.get_mut(*index) {
                Some(slot) => *slot = value,
                None => list.push(value),
            }
            Ok(())
        }
        _ => Err(invalid_path()),
    }
}

pub(super) fn remove(item: &mut Item, path: &DocPath) -> Result<()> {
    if let [Step::Key(name)] = path.0.as_slice() {
        item.remove(name);
        return Ok(());
    }
    match parent_mut(item, path)? {
        None => Ok(()),
        Some((AttributeValue::M(map), Step::Key(key))) => {
            map.remove(key);
            Ok(())
        }
        Some((AttributeValue::L(list), Step::Index(index))) => {
            if *index < list.len() {
                list.remove(*index);
            }
            Ok(())
        }
        // Removing through a scalar: DynamoDB's answer is not confirmed; the path cannot
        // name anything, as for SET.
        Some(_) => Err(invalid_path()),
    }
}

fn current<'i>(item: &'i Item, path: &DocPath) -> Option<&'i AttributeValue> {
    match path.0.split_first() {
        Some((Step::Key(first), rest)) => get_in(item.get(first)?, rest),
        _ => None,
    }
}

pub(super) fn add(item: &mut Item, path: &DocPath, value: &AttributeValue) -> Result<()> {
    let merged = match (current(item, path), value) {
        (None, _) => value.clone(),
        (Some(AttributeValue::N(x)), AttributeValue::N(y)) => AttributeValue::N(x.checked_add(y)?),
        (Some(AttributeValue::Ss(x)), AttributeValue::Ss(y)) => {
            AttributeValue::Ss(x.union(y).cloned().collect())
        }
        (Some(AttributeValue::Ns(x)), AttributeValue::Ns(y)) => {
            AttributeValue::Ns(x.union(y).copied().collect())
        }
        (Some(AttributeValue::Bs(x)), AttributeValue::Bs(y)) => {
            AttributeValue::Bs(x.union(y).cloned().collect())
        }
        _ => return Err(wrong_type()),
    };
    set(item, path, merged)
}

pub(super) fn delete(item: &mut Item, path: &DocPath, value: &AttributeValue) -> Result<()> {
    let remaining = match (current(item, path), value) {
        (None, _) => return Ok(()),
        (Some(AttributeValue::Ss(x)), AttributeValue::Ss(y)) => {
            let left: BTreeSet<String> = x.difference(y).cloned().collect();
            (!left.is_empty()).then_some(AttributeValue::Ss(left))
        }
        (Some(AttributeValue::Ns(x)), AttributeValue::Ns(y)) => {
            let left: BTreeSet<_> = x.difference(y).copied().collect();
            (!left.is_empty()).then_some(AttributeValue::Ns(left))
        }
        (Some(AttributeValue::Bs(x)), AttributeValue::Bs(y)) => {
            let left: BTreeSet<Vec<u8>> = x.difference(y).cloned().collect();
            (!left.is_empty()).then_some(AttributeValue::Bs(left))
        }
        _ => return Err(wrong_type()),
    };
    match remaining {
        Some(set_value) => set(item, path, set_value),
        None => remove(item, path),
    }
}
