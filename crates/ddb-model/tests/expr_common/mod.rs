//! Helpers shared by the expression tests: placeholder maps and items from DynamoDB JSON.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use ddb_model::expr::{ExpressionAttributes, Usage};
use ddb_model::{AttributeValue, DdbError, ErrorKind, Item, parse_item, parse_value};

/// `{":v": {"N": "1"}, ...}` as an ExpressionAttributeValues map.
pub fn values(json: &str) -> BTreeMap<String, AttributeValue> {
    let raw: BTreeMap<String, serde_json::Value> = serde_json::from_str(json).unwrap();
    raw.into_iter()
        .map(|(k, v)| (k, parse_value(&v.to_string()).unwrap()))
        .collect()
}

/// `[("#n", "name"), ...]` as an ExpressionAttributeNames map.
pub fn names(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

pub fn item(json: &str) -> Item {
    parse_item(json).unwrap()
}

pub fn value(json: &str) -> AttributeValue {
    parse_value(json).unwrap()
}

/// Placeholder maps that own their data, so tests can build them in one line.
pub struct Attrs {
    pub names: Option<BTreeMap<String, String>>,
    pub values: Option<BTreeMap<String, AttributeValue>>,
}

impl Attrs {
    pub fn new(names_: &[(&str, &str)], values_json: &str) -> Self {
        Self {
            names: (!names_.is_empty()).then(|| names(names_)),
            values: (values_json != "{}").then(|| values(values_json)),
        }
    }

    pub fn get(&self) -> ExpressionAttributes<'_> {
        ExpressionAttributes::new(self.names.as_ref(), self.values.as_ref()).unwrap()
    }
}

/// Asserts a ValidationException with exactly `message`.
pub fn assert_validation<T: std::fmt::Debug>(result: Result<T, DdbError>, message: &str) {
    let err = result.expect_err(message);
    assert_eq!(err.kind(), ErrorKind::Validation, "{err}");
    assert_eq!(err.message(), message);
}

pub fn usage() -> Usage {
    Usage::default()
}
