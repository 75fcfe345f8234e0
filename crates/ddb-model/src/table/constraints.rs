//! Phase one of `CreateTable` validation: the API model's shape constraints (name patterns,
//! lengths, minimum values), reported all at once as DynamoDB's model validator does:
//! `N validation errors detected: Value '..' at '<path>' failed to satisfy constraint: ..; ..`,
//! at most ten of them.

use std::fmt::Display;

use serde_json::Value;

use super::{CreateTableInput, ProvisionedThroughput};
use crate::error::DdbError;
use crate::schema::{KeySchemaElement, Projection};

const NAME_PATTERN: &str = "[a-zA-Z0-9_.-]+";
const NAME_MIN_LEN: usize = 3;
const NAME_MAX_LEN: usize = 255;
const ATTRIBUTE_NAME_MIN_LEN: usize = 1;
const ATTRIBUTE_NAME_MAX_LEN: usize = 255;
const KEY_SCHEMA_MAX_LEN: usize = 2;
/// The per-index cap on `NonKeyAttributes` is a model constraint; the per-table one is not.
const NON_KEY_ATTRIBUTES_PER_INDEX: usize = 20;
/// DynamoDB lists at most this many constraint violations in one message.
const MAX_LISTED_VIOLATIONS: usize = 10;
const NOT_NULL: &str = "Member must not be null";

/// Violations formatted the way DynamoDB's model validator reports them.
#[derive(Debug, Default)]
struct Violations(Vec<String>);

impl Violations {
    /// Records that `value` (`None` prints as `null`) at `path` breaks `constraint`.
    fn push(&mut self, value: Option<&str>, path: &str, constraint: impl Display) {
        let value = value.map_or_else(|| "null".to_owned(), |v| format!("'{v}'"));
        self.0.push(format!(
            "Value {value} at '{path}' failed to satisfy constraint: {constraint}"
        ));
    }

    fn into_result(mut self) -> crate::Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        self.0.truncate(MAX_LISTED_VIOLATIONS);
        let count = self.0.len();
        let plural = if count == 1 { "" } else { "s" };
        Err(DdbError::validation(format!(
            "{count} validation error{plural} detected: {}",
            self.0.join("; ")
        )))
    }
}

/// Checks a table name: `[a-zA-Z0-9_.-]+`, 3 to 255 characters.
///
/// The error is DynamoDB's, e.g. `1 validation error detected: Value 'ab' at 'tableName' failed
/// to satisfy constraint: Member must have length greater than or equal to 3`.
pub fn validate_table_name(name: &str) -> crate::Result<()> {
    let mut violations = Violations::default();
    check_name(name, "tableName", &mut violations);
    violations.into_result()
}

/// Checks an index name as a request's top-level `IndexName` (Query, Scan): same rules as a
/// table name, reported at `indexName`.
pub fn validate_index_name(name: &str) -> crate::Result<()> {
    let mut violations = Violations::default();
    check_name(name, "indexName", &mut violations);
    violations.into_result()
}

fn check_name(name: &str, path: &str, out: &mut Violations) {
    let pattern_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    // DynamoDB lists the pattern violation before the length one.
    if !pattern_ok {
        out.push(
            Some(name),
            path,
            format_args!("Member must satisfy regular expression pattern: {NAME_PATTERN}"),
        );
    }
    check_length(name, path, NAME_MIN_LEN, NAME_MAX_LEN, out);
}

/// Length as DynamoDB (Java) counts it: UTF-16 code units.
fn check_length(value: &str, path: &str, min: usize, max: usize, out: &mut Violations) {
    let len = value.encode_utf16().count();
    if len < min {
        out.push(
            Some(value),
            path,
            format_args!("Member must have length greater than or equal to {min}"),
        );
    } else if len > max {
        out.push(
            Some(value),
            path,
            format_args!("Member must have length less than or equal to {max}"),
        );
    }
}

/// Missing required members of a `CreateTable` body, reported as DynamoDB does rather than as
/// serde's "missing field". `null` counts as missing, as it does for DynamoDB.
pub(super) fn check_required_members(body: &Value) -> crate::Result<()> {
    let Some(members) = body.as_object() else {
        // Not an object: serde reports the shape as a SerializationException.
        return Ok(());
    };
    let present = |name: &str| members.get(name).is_some_and(|v| !v.is_null());
    if !present("TableName") {
        return Err(DdbError::validation(
            "The parameter 'TableName' is required but was not present in the request",
        ));
    }
    if present("AttributeDefinitions") && present("KeySchema") {
        return Ok(());
    }
    // DynamoDB reports these together with the other shape constraints it can check.
    let mut violations = Violations::default();
    if !present("AttributeDefinitions") {
        violations.push(None, "attributeDefinitions", NOT_NULL);
    }
    if let Some(name) = members.get("TableName").and_then(Value::as_str) {
        check_name(name, "tableName", &mut violations);
    }
    if !present("KeySchema") {
        violations.push(None, "keySchema", NOT_NULL);
    }
    violations.into_result()
}

/// `[a, b]`, the way DynamoDB prints a list of names.
pub(super) fn list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    format!("[{}]", items.into_iter().collect::<Vec<_>>().join(", "))
}

/// A `KeySchema` as DynamoDB echoes it in a constraint message.
fn render_key_schema(key_schema: &[KeySchemaElement]) -> String {
    let elements: Vec<String> = key_schema
        .iter()
        .map(|e| {
            format!(
                "KeySchemaElement(attributeName={}, keyType={})",
                e.attribute_name,
                e.key_type.as_str()
            )
        })
        .collect();
    format!("[{}]", elements.join(", "))
}

/// Phase one: the API model's constraints, all reported together.
///
/// DynamoDB's order among fields is its own; this one matches every ordering that was observed
/// (attribute definitions, table name, throughput, key schema; global before local indexes;
/// within an index: name, throughput, key schema, projection; write before read capacity).
pub(super) fn check_constraints(input: &CreateTableInput) -> crate::Result<()> {
    let mut out = Violations::default();
    for (i, definition) in input.attribute_definitions.iter().enumerate() {
        check_length(
            &definition.attribute_name,
            &format!("attributeDefinitions.{}.member.attributeName", i + 1),
            ATTRIBUTE_NAME_MIN_LEN,
            ATTRIBUTE_NAME_MAX_LEN,
            &mut out,
        );
    }
    check_name(&input.table_name, "tableName", &mut out);
    if let Some(throughput) = &input.provisioned_throughput {
        check_capacity(throughput, "provisionedThroughput", &mut out);
    }
    check_key_schema_shape(&input.key_schema, "keySchema", &mut out);
    for (i, gsi) in input.global_secondary_indexes.iter().flatten().enumerate() {
        let base = format!("globalSecondaryIndexes.{}.member", i + 1);
        check_name(&gsi.index_name, &format!("{base}.indexName"), &mut out);
        if let Some(throughput) = &gsi.provisioned_throughput {
            check_capacity(
                throughput,
                &format!("{base}.provisionedThroughput"),
                &mut out,
            );
        }
        check_key_schema_shape(&gsi.key_schema, &format!("{base}.keySchema"), &mut out);
        check_non_key_shape(&gsi.projection, &base, &mut out);
    }
    for (i, lsi) in input.local_secondary_indexes.iter().flatten().enumerate() {
        let base = format!("localSecondaryIndexes.{}.member", i + 1);
        check_name(&lsi.index_name, &format!("{base}.indexName"), &mut out);
        check_key_schema_shape(&lsi.key_schema, &format!("{base}.keySchema"), &mut out);
        check_non_key_shape(&lsi.projection, &base, &mut out);
    }
    out.into_result()
}

fn check_capacity(throughput: &ProvisionedThroughput, path: &str, out: &mut Violations) {
    let fields = [
        ("writeCapacityUnits", throughput.write_capacity_units),
        ("readCapacityUnits", throughput.read_capacity_units),
    ];
    for (field, units) in fields {
        if units < 1 {
            out.push(
                Some(&units.to_string()),
                &format!("{path}.{field}"),
                "Member must have value greater than or equal to 1",
            );
        }
    }
}

fn check_key_schema_shape(key_schema: &[KeySchemaElement], path: &str, out: &mut Violations) {
    if key_schema.is_empty() {
        out.push(
            Some("[]"),
            path,
            "Member must have length greater than or equal to 1",
        );
    } else if key_schema.len() > KEY_SCHEMA_MAX_LEN {
        out.push(
            Some(&render_key_schema(key_schema)),
            path,
            format_args!("Member must have length less than or equal to {KEY_SCHEMA_MAX_LEN}"),
        );
    }
    for (i, element) in key_schema.iter().enumerate() {
        check_length(
            &element.attribute_name,
            &format!("{path}.{}.member.attributeName", i + 1),
            ATTRIBUTE_NAME_MIN_LEN,
            ATTRIBUTE_NAME_MAX_LEN,
            out,
        );
    }
}

fn check_non_key_shape(projection: &Projection, index_path: &str, out: &mut Violations) {
    let Some(names) = &projection.non_key_attributes else {
        return;
    };
    let path = format!("{index_path}.projection.nonKeyAttributes");
    if names.is_empty() {
        out.push(
            Some("[]"),
            &path,
            "Member must have length greater than or equal to 1",
        );
    } else if names.len() > NON_KEY_ATTRIBUTES_PER_INDEX {
        out.push(
            Some(&list(names.iter().map(String::as_str))),
            &path,
            format_args!(
                "Member must have length less than or equal to {NON_KEY_ATTRIBUTES_PER_INDEX}"
            ),
        );
    }
    for (i, name) in names.iter().enumerate() {
        check_length(
            name,
            &format!("{path}.{}.member", i + 1),
            ATTRIBUTE_NAME_MIN_LEN,
            ATTRIBUTE_NAME_MAX_LEN,
            out,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::KeyType;

    fn message(result: crate::Result<()>) -> String {
        let err = result.unwrap_err();
        assert_eq!(err.name(), "ValidationException");
        err.message().to_owned()
    }

    #[test]
    fn table_name_accepts_the_pattern_and_length_bounds() {
        validate_table_name("abc").unwrap();
        validate_table_name("Az09_.-").unwrap();
        validate_table_name(&"a".repeat(255)).unwrap();
    }

    #[test]
    fn table_name_too_short() {
        assert_eq!(
            message(validate_table_name("ab")),
            "1 validation error detected: Value 'ab' at 'tableName' failed to satisfy \
             constraint: Member must have length greater than or equal to 3"
        );
    }

    #[test]
    fn table_name_too_long() {
        let name = "a".repeat(256);
        assert_eq!(
            message(validate_table_name(&name)),
            format!(
                "1 validation error detected: Value '{name}' at 'tableName' failed to satisfy \
                 constraint: Member must have length less than or equal to 255"
            )
        );
    }

    #[test]
    fn table_name_bad_pattern_and_length_are_reported_together() {
        assert_eq!(
            message(validate_table_name("a;")),
            "2 validation errors detected: Value 'a;' at 'tableName' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; \
             Value 'a;' at 'tableName' failed to satisfy constraint: Member must have length \
             greater than or equal to 3"
        );
        assert_eq!(
            message(validate_table_name("abc;")),
            "1 validation error detected: Value 'abc;' at 'tableName' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
        );
    }

    #[test]
    fn empty_name_breaks_pattern_and_length() {
        assert!(message(validate_table_name("")).starts_with("2 validation errors detected"));
    }

    #[test]
    fn index_name_is_reported_at_index_name() {
        validate_index_name("by_email").unwrap();
        assert_eq!(
            message(validate_index_name("é-x")),
            "1 validation error detected: Value 'é-x' at 'indexName' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
        );
    }

    #[test]
    fn length_counts_utf16_units_like_java() {
        let mut out = Violations::default();
        // One supplementary character is two UTF-16 units.
        check_length("\u{1F600}", "x", 2, 2, &mut out);
        out.into_result().unwrap();
    }

    #[test]
    fn violations_are_capped_at_ten() {
        let mut out = Violations::default();
        for i in 0..12 {
            out.push(None, &format!("f{i}"), NOT_NULL);
        }
        let text = message(out.into_result());
        assert!(text.starts_with("10 validation errors detected: Value null at 'f0'"));
        assert!(
            text.ends_with(
                "Value null at 'f9' failed to satisfy constraint: Member must not be null"
            )
        );
    }

    #[test]
    fn required_members() {
        check_required_members(&serde_json::json!({
            "TableName": "abc", "AttributeDefinitions": [], "KeySchema": []
        }))
        .unwrap();
        assert_eq!(
            message(check_required_members(&serde_json::json!({}))),
            "The parameter 'TableName' is required but was not present in the request"
        );
        assert_eq!(
            message(check_required_members(&serde_json::json!({
                "TableName": "abc;", "AttributeDefinitions": null
            }))),
            "3 validation errors detected: Value null at 'attributeDefinitions' failed to \
             satisfy constraint: Member must not be null; Value 'abc;' at 'tableName' failed to \
             satisfy constraint: Member must satisfy regular expression pattern: \
             [a-zA-Z0-9_.-]+; Value null at 'keySchema' failed to satisfy constraint: Member \
             must not be null"
        );
    }

    #[test]
    fn key_schema_renders_like_dynamodb() {
        let key_schema = vec![
            KeySchemaElement {
                attribute_name: "pk".into(),
                key_type: KeyType::Hash,
            },
            KeySchemaElement {
                attribute_name: "sk".into(),
                key_type: KeyType::Range,
            },
        ];
        assert_eq!(
            render_key_schema(&key_schema),
            "[KeySchemaElement(attributeName=pk, keyType=HASH), \
             KeySchemaElement(attributeName=sk, keyType=RANGE)]"
        );
    }
}
