//! Document paths the request layer needs beyond the model: the attributes a condition
//! names, and the part of an item an update touched (`ReturnValues` `UPDATED_OLD` /
//! `UPDATED_NEW`).
//!
//! DynamoDB returns for `UPDATED_*` only the updated paths, nested in their hierarchy: after
//! `SET a.b = :v` it returns `{"a":{"M":{"b":...}}}`, not the whole of `a`; list elements are
//! compacted (`SET a.c[1] = :v` returns `{"a":{"M":{"c":{"L":[...]}}}}` with one element); a
//! path that reaches nothing contributes nothing. (ScyllaDB Alternator's
//! `test_returnvalues.py::test_update_item_returnvalues_nested`, which runs against DynamoDB.)

use std::collections::BTreeSet;

use ddb_model::expr::ast::{Condition, Operand};
use ddb_model::expr::{DocPath, ResolvedCondition, ResolvedOperand, Step};

/// The part of `item` that `paths` reach (the model's projection, shared with
/// ProjectionExpression).
pub(crate) use ddb_model::expr::project_paths;

/// Every document path a condition reads, in the order written.
pub(crate) fn condition_paths<'c>(condition: &'c ResolvedCondition, out: &mut Vec<&'c DocPath>) {
    match condition {
        Condition::And(a, b) | Condition::Or(a, b) => {
            condition_paths(a, out);
            condition_paths(b, out);
        }
        Condition::Not(inner) => condition_paths(inner, out),
        Condition::Compare { left, right, .. } => {
            operand_paths(left, out);
            operand_paths(right, out);
        }
        Condition::Between { value, low, high } => {
            for operand in [value, low, high] {
                operand_paths(operand, out);
            }
        }
        Condition::In { value, list } => {
            operand_paths(value, out);
            for operand in list {
                operand_paths(operand, out);
            }
        }
        Condition::Call(call) => {
            for arg in &call.args {
                operand_paths(arg, out);
            }
        }
    }
}

fn operand_paths<'c>(operand: &'c ResolvedOperand, out: &mut Vec<&'c DocPath>) {
    match operand {
        Operand::Path(path) => out.push(path),
        Operand::Value(_) => {}
        Operand::Call(call) => {
            for arg in &call.args {
                operand_paths(arg, out);
            }
        }
    }
}

/// The top-level attribute name of a path.
pub(crate) fn head(path: &DocPath) -> Option<&str> {
    match path.0.first() {
        Some(Step::Key(name)) => Some(name),
        _ => None,
    }
}

/// The top-level attribute names of some paths, deduplicated in first-seen order.
pub(crate) fn heads<'p>(paths: impl IntoIterator<Item = &'p DocPath>) -> Vec<&'p str> {
    let mut seen = BTreeSet::new();
    paths
        .into_iter()
        .filter_map(head)
        .filter(|name| seen.insert(*name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(steps: &[&str]) -> DocPath {
        DocPath(
            steps
                .iter()
                .map(|s| match s.parse::<usize>() {
                    Ok(i) => Step::Index(i),
                    Err(_) => Step::Key((*s).to_owned()),
                })
                .collect(),
        )
    }

    #[test]
    fn projects_nested_paths_like_dynamodb_updated_values() {
        let item = ddb_model::parse_item(
            r#"{"p":{"S":"k"},"a":{"M":{"b":{"S":"dog"},"c":{"L":[{"N":"1"},{"N":"2"},{"N":"3"}]}}},"d":{"S":"cat"}}"#,
        )
        .unwrap();
        let got = project_paths(&item, &[path(&["a", "c", "1"]), path(&["a", "b"])]);
        assert_eq!(
            got.to_canonical_json(),
            r#"{"a":{"M":{"b":{"S":"dog"},"c":{"L":[{"N":"2"}]}}}}"#
        );
        // A path past the end of a list or through a scalar reaches nothing.
        let got = project_paths(&item, &[path(&["a", "c", "9"]), path(&["d", "x"])]);
        assert!(got.is_empty());
        let got = project_paths(&item, &[path(&["d"])]);
        assert_eq!(got.to_canonical_json(), r#"{"d":{"S":"cat"}}"#);
    }
}
