//! `ExpressionAttributeNames` and `ExpressionAttributeValues`: checking the maps themselves,
//! looking placeholders up, and the request-wide "unused" rule.
//!
//! Messages were captured from DynamoDB by other DynamoDB-compatible projects' dual-target
//! tests (ExtendDB's `test_expression_attribute_map_validation.py`, dynalite's suite), the
//! odd asymmetry included: the too-long-key message for values has no "size of key" suffix.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{DdbError, Result};
use crate::value::AttributeValue;

/// Longest placeholder DynamoDB accepts, in bytes, `#` or `:` included.
pub const PLACEHOLDER_BYTES_MAX: usize = 255;

/// The placeholder maps of one request, checked.
#[derive(Debug, Clone, Copy)]
pub struct ExpressionAttributes<'a> {
    names: Option<&'a BTreeMap<String, String>>,
    values: Option<&'a BTreeMap<String, AttributeValue>>,
}

/// Which placeholders the expressions of a request used; shared by every expression of the
/// request so [`ExpressionAttributes::check_unused`] can run once at the end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    pub names: BTreeSet<String>,
    pub values: BTreeSet<String>,
}

impl<'a> ExpressionAttributes<'a> {
    /// Checks the maps as DynamoDB does before it parses any expression: neither map empty,
    /// every key a well-formed placeholder no longer than 255 bytes (length is checked before
    /// syntax), no empty attribute name, every value a valid attribute value.
    pub fn new(
        names: Option<&'a BTreeMap<String, String>>,
        values: Option<&'a BTreeMap<String, AttributeValue>>,
    ) -> Result<Self> {
        if let Some(names) = names {
            if names.is_empty() {
                return Err(DdbError::validation(
                    "ExpressionAttributeNames must not be empty",
                ));
            }
            for (key, name) in names {
                if key.len() > PLACEHOLDER_BYTES_MAX {
                    return Err(DdbError::validation(format!(
                        "ExpressionAttributeNames contains invalid key: The expression attribute \
                         map contains a key that is too long; size of key: {}",
                        key.len()
                    )));
                }
                if !is_placeholder(key, '#') {
                    return Err(DdbError::validation(format!(
                        "ExpressionAttributeNames contains invalid key: Syntax error; key: \"{key}\""
                    )));
                }
                if name.is_empty() {
                    return Err(DdbError::validation(format!(
                        "ExpressionAttributeNames contains invalid value: Empty attribute name for \
                         key {key}"
                    )));
                }
            }
        }
        if let Some(values) = values {
            if values.is_empty() {
                return Err(DdbError::validation(
                    "ExpressionAttributeValues must not be empty",
                ));
            }
            for key in values.keys() {
                if key.len() > PLACEHOLDER_BYTES_MAX {
                    return Err(DdbError::validation(
                        "ExpressionAttributeValues contains invalid key: The expression attribute \
                         map contains a key that is too long;",
                    ));
                }
                if !is_placeholder(key, ':') {
                    return Err(DdbError::validation(format!(
                        "ExpressionAttributeValues contains invalid key: Syntax error; key: \"{key}\""
                    )));
                }
            }
            for (key, value) in values {
                value.validate().map_err(|err| {
                    DdbError::validation(format!(
                        "ExpressionAttributeValues contains invalid value: {} for key {key}",
                        err.message()
                    ))
                })?;
            }
        }
        Ok(Self { names, values })
    }

    /// No placeholders at all (a request without the two maps).
    pub fn none() -> Self {
        Self {
            names: None,
            values: None,
        }
    }

    /// The attribute name behind `#placeholder`, recording the use.
    pub fn name(&self, placeholder: &str, usage: &mut Usage) -> Result<&'a str, String> {
        match self.names.and_then(|names| names.get(placeholder)) {
            Some(name) => {
                usage.names.insert(placeholder.to_owned());
                Ok(name)
            }
            None => Err(format!(
                "An expression attribute name used in the document path is not defined; \
                 attribute name: {placeholder}"
            )),
        }
    }

    /// The value behind `:placeholder`, recording the use.
    pub fn value(
        &self,
        placeholder: &str,
        usage: &mut Usage,
    ) -> Result<&'a AttributeValue, String> {
        match self.values.and_then(|values| values.get(placeholder)) {
            Some(value) => {
                usage.values.insert(placeholder.to_owned());
                Ok(value)
            }
            None => Err(format!(
                "An expression attribute value used in expression is not defined; attribute \
                 value: {placeholder}"
            )),
        }
    }

    /// The value behind `:placeholder` without recording a use (for type checks that run
    /// before resolution).
    pub fn peek_value(&self, placeholder: &str) -> Option<&'a AttributeValue> {
        self.values.and_then(|values| values.get(placeholder))
    }

    /// DynamoDB's rule that every supplied placeholder is used by some expression of the
    /// request: names are checked before values, and the message lists every unused key.
    pub fn check_unused(&self, usage: &Usage) -> Result<()> {
        let unused = |keys: Vec<&String>, used: &BTreeSet<String>| -> Option<String> {
            let unused: Vec<&str> = keys
                .into_iter()
                .filter(|k| !used.contains(*k))
                .map(String::as_str)
                .collect();
            (!unused.is_empty()).then(|| unused.join(", "))
        };
        if let Some(keys) = self
            .names
            .and_then(|n| unused(n.keys().collect(), &usage.names))
        {
            return Err(DdbError::validation(format!(
                "Value provided in ExpressionAttributeNames unused in expressions: keys: {{{keys}}}"
            )));
        }
        if let Some(keys) = self
            .values
            .and_then(|v| unused(v.keys().collect(), &usage.values))
        {
            return Err(DdbError::validation(format!(
                "Value provided in ExpressionAttributeValues unused in expressions: keys: {{{keys}}}"
            )));
        }
        Ok(())
    }
}

/// `sigil` followed by one or more of `[A-Za-z0-9_]`.
fn is_placeholder(key: &str, sigil: char) -> bool {
    key.strip_prefix(sigil).is_some_and(|rest| {
        !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
}
