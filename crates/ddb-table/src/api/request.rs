//! Shared request parsing: the members of a request object with DynamoDB's serialisation
//! errors, the model validator's constraint messages, and DynamoDB JSON items.
//!
//! DynamoDB checks a request in two phases: first the JSON types of the members
//! (`SerializationException`), then the model constraints (`1 validation error detected: ...`),
//! then the operation's own rules. The messages for a member of the wrong JSON type are the
//! ones dynalite's suite recorded from DynamoDB (its Java deserialiser's wording).

use std::collections::BTreeMap;

use ddb_model::expr::ExpressionAttributes;
use ddb_model::{AttributeValue, DdbError, ErrorKind, Item, Result, parse_item, parse_value};
use serde_json::{Map, Value};

/// A request object. A member that is JSON `null` counts as absent, as in DynamoDB.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request<'a> {
    members: &'a Map<String, Value>,
}

/// The JSON type a member should have, for the serialisation error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    String,
    Boolean,
    Integer,
    List,
    Map,
}

fn type_error(shape: Shape, found: &Value) -> DdbError {
    let message = match (shape, found) {
        (_, Value::Array(_)) if shape != Shape::List => {
            "Start of list found where not expected".to_owned()
        }
        (Shape::List, Value::Object(_)) | (Shape::String | Shape::Boolean, Value::Object(_)) => {
            "Start of structure or map found where not expected.".to_owned()
        }
        (Shape::Integer, Value::Object(_)) => {
            "Start of structure or map found where not expected.".to_owned()
        }
        (Shape::List, _) => "Expected list or null".to_owned(),
        (Shape::Map, _) => "Expected map or null".to_owned(),
        (_, Value::Bool(_)) => format!(
            "class java.lang.Boolean can not be converted to an {}",
            shape_name(shape)
        ),
        (_, Value::Number(_)) => format!(
            "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted \
             to an {}",
            shape_name(shape)
        ),
        (_, Value::String(s)) => match shape {
            Shape::Boolean => format!("'{s}' can not be converted to an Boolean"),
            _ => format!(
                "class java.lang.String can not be converted to an {}",
                shape_name(shape)
            ),
        },
        _ => format!("Expected {}", shape_name(shape)),
    };
    DdbError::serialization(message)
}

fn shape_name(shape: Shape) -> &'static str {
    match shape {
        Shape::String => "String",
        Shape::Boolean => "Boolean",
        Shape::Integer => "Integer",
        Shape::List => "List",
        Shape::Map => "Map",
    }
}

impl<'a> Request<'a> {
    /// The request body must be a JSON object.
    pub(crate) fn new(body: &'a Value) -> Result<Self> {
        match body {
            Value::Object(members) => Ok(Self { members }),
            other => Err(type_error(Shape::Map, other)),
        }
    }

    pub(crate) fn from_map(members: &'a Map<String, Value>) -> Self {
        Self { members }
    }

    /// The member `name`, unless absent or `null`.
    pub(crate) fn get(&self, name: &str) -> Option<&'a Value> {
        self.members.get(name).filter(|v| !v.is_null())
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub(crate) fn str(&self, name: &str) -> Result<Option<&'a str>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(type_error(Shape::String, other)),
        }
    }

    pub(crate) fn bool(&self, name: &str) -> Result<Option<bool>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            // DynamoDB's deserialiser also takes these spellings of a boolean.
            Some(Value::String(s)) => match s.to_ascii_uppercase().as_str() {
                "TRUE" | "1" | "YES" => Ok(Some(true)),
                "FALSE" | "0" | "NO" => Ok(Some(false)),
                _ => Err(type_error(Shape::Boolean, &Value::String(s.clone()))),
            },
            Some(other) => Err(type_error(Shape::Boolean, other)),
        }
    }

    /// An integer member; a fractional number is truncated towards minus infinity, as DynamoDB
    /// does.
    pub(crate) fn int(&self, name: &str) -> Result<Option<i64>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => {
                if let Some(i) = n.as_i64() {
                    return Ok(Some(i));
                }
                let float = n.as_f64().unwrap_or(f64::MAX).floor();
                // Out-of-range values saturate; the range checks that follow reject them.
                let clamped = float.clamp(i64::MIN as f64, i64::MAX as f64);
                #[allow(clippy::cast_possible_truncation, reason = "clamped to the i64 range")]
                let int = clamped as i64;
                Ok(Some(int))
            }
            Some(other) => Err(type_error(Shape::Integer, other)),
        }
    }

    pub(crate) fn object(&self, name: &str) -> Result<Option<&'a Map<String, Value>>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(other) => Err(type_error(Shape::Map, other)),
        }
    }

    pub(crate) fn list(&self, name: &str) -> Result<Option<&'a Vec<Value>>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(l)) => Ok(Some(l)),
            Some(other) => Err(type_error(Shape::List, other)),
        }
    }

    /// A map of attribute values (`Item`, `Key`, `ExclusiveStartKey`) as an item.
    pub(crate) fn item(&self, name: &str) -> Result<Option<Item>> {
        match self.get(name) {
            None => Ok(None),
            Some(value @ Value::Object(_)) => item_from_json(value).map(Some),
            Some(other) => Err(type_error(Shape::Map, other)),
        }
    }

    /// `ExpressionAttributeNames`.
    pub(crate) fn names(&self) -> Result<Option<BTreeMap<String, String>>> {
        let Some(map) = self.object("ExpressionAttributeNames")? else {
            return Ok(None);
        };
        let mut out = BTreeMap::new();
        for (key, value) in map {
            match value {
                Value::String(s) => {
                    out.insert(key.clone(), s.clone());
                }
                Value::Null => {}
                other => return Err(type_error(Shape::String, other)),
            }
        }
        Ok(Some(out))
    }

    /// `ExpressionAttributeValues`. A value DynamoDB's rules refuse (an empty set, a bad
    /// number) is reported as DynamoDB reports it for this map.
    pub(crate) fn values(&self) -> Result<Option<BTreeMap<String, AttributeValue>>> {
        let Some(map) = self.object("ExpressionAttributeValues")? else {
            return Ok(None);
        };
        let mut out = BTreeMap::new();
        for (key, value) in map {
            if value.is_null() {
                continue;
            }
            let parsed = value_from_json(value).map_err(|err| {
                if err.kind() == ErrorKind::Validation {
                    DdbError::validation(format!(
                        "ExpressionAttributeValues contains invalid value: {} for key {key}",
                        err.message()
                    ))
                } else {
                    err
                }
            })?;
            out.insert(key.clone(), parsed);
        }
        Ok(Some(out))
    }

    /// An enum member checked against DynamoDB's value set (`path` is the member's name in
    /// the validator's camelCase).
    pub(crate) fn enumeration(
        &self,
        name: &str,
        path: &str,
        allowed: &[&str],
        violations: &mut Violations,
    ) -> Result<Option<&'a str>> {
        let value = self.str(name)?;
        if let Some(v) = value
            && !allowed.contains(&v)
        {
            violations.push(
                Some(v),
                path,
                format!(
                    "Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                ),
            );
            return Ok(None);
        }
        Ok(value)
    }

    /// `TableName`: required and well formed.
    pub(crate) fn table_name(&self, violations: &mut Violations) -> Result<Option<&'a str>> {
        let name = self.str("TableName")?;
        match name {
            None => violations.push(None, "tableName", "Member must not be null"),
            Some(n) => violations.absorb(ddb_model::table::validate_table_name(n)),
        }
        Ok(name)
    }

    /// `ReturnConsumedCapacity` and `ReturnItemCollectionMetrics` are accepted and checked;
    /// the engine has no capacity accounting, so responses never carry them.
    pub(crate) fn capacity_members(&self, violations: &mut Violations, writes: bool) -> Result<()> {
        self.enumeration(
            "ReturnConsumedCapacity",
            "returnConsumedCapacity",
            &["INDEXES", "TOTAL", "NONE"],
            violations,
        )?;
        if writes {
            self.enumeration(
                "ReturnItemCollectionMetrics",
                "returnItemCollectionMetrics",
                &["SIZE", "NONE"],
                violations,
            )?;
        }
        Ok(())
    }
}

/// The placeholder maps of a request, parsed; [`ExpressionMaps::attributes`] checks them.
#[derive(Debug, Default)]
pub(crate) struct ExpressionMaps {
    names: Option<BTreeMap<String, String>>,
    values: Option<BTreeMap<String, AttributeValue>>,
}

impl ExpressionMaps {
    pub(crate) fn from_request(request: &Request<'_>) -> Result<Self> {
        Ok(Self {
            names: request.names()?,
            values: request.values()?,
        })
    }

    pub(crate) fn attributes(&self) -> Result<ExpressionAttributes<'_>> {
        ExpressionAttributes::new(self.names.as_ref(), self.values.as_ref())
    }
}

/// A DynamoDB JSON item from its JSON tree (the model's decoder reads text).
pub(crate) fn item_from_json(value: &Value) -> Result<Item> {
    parse_item(&value.to_string())
}

pub(crate) fn value_from_json(value: &Value) -> Result<AttributeValue> {
    parse_value(&value.to_string())
}

/// An item as DynamoDB JSON in a response.
pub(crate) fn item_to_json(item: &Item) -> Result<Value> {
    serde_json::from_str(&item.to_canonical_json()).map_err(|e| {
        DdbError::new(
            ErrorKind::InternalServerError,
            format!("encoding an item as DynamoDB JSON: {e}"),
        )
    })
}

/// Constraint violations in the model validator's format:
/// `N validation error(s) detected: Value 'v' at 'path' failed to satisfy constraint: ...`.
#[derive(Debug, Default)]
pub(crate) struct Violations {
    messages: Vec<String>,
}

/// DynamoDB lists at most this many violations.
const VIOLATIONS_LISTED_MAX: usize = 10;

impl Violations {
    pub(crate) fn push(&mut self, value: Option<&str>, path: &str, constraint: impl AsRef<str>) {
        let value = value.map_or_else(|| "null".to_owned(), |v| format!("'{v}'"));
        self.messages.push(format!(
            "Value {value} at '{path}' failed to satisfy constraint: {}",
            constraint.as_ref()
        ));
    }

    /// A rule DynamoDB reports in the validator's envelope without a `Value ... at` part
    /// (Query's Select rules).
    pub(crate) fn push_bare(&mut self, message: impl Into<String>) {
        self.messages.push(message.into());
    }

    /// Takes the violations of an error the model already formatted this way.
    pub(crate) fn absorb(&mut self, result: Result<()>) {
        if let Err(err) = result {
            let message = err.message();
            let listed = message
                .split_once(" detected: ")
                .map_or(message, |(_, rest)| rest);
            self.messages
                .extend(listed.split("; ").map(ToOwned::to_owned));
        }
    }

    pub(crate) fn into_result(mut self) -> Result<()> {
        if self.messages.is_empty() {
            return Ok(());
        }
        self.messages.truncate(VIOLATIONS_LISTED_MAX);
        let count = self.messages.len();
        let plural = if count == 1 { "" } else { "s" };
        Err(DdbError::validation(format!(
            "{count} validation error{plural} detected: {}",
            self.messages.join("; ")
        )))
    }
}

/// DynamoDB's rules on mixing expression and legacy (non-expression) parameters, then this
/// layer's refusal of the legacy ones.
///
/// The mixing and "can only be specified" messages are DynamoDB's (dynalite's
/// `validateExpressionParams`, built against DynamoDB). The refusal is ours: the legacy
/// parameters are not implemented, and a request that uses them fails loudly instead of
/// being half understood.
pub(crate) fn check_expression_params(
    request: &Request<'_>,
    expressions: &[&str],
    legacy: &[&str],
) -> Result<()> {
    let used: Vec<&str> = expressions
        .iter()
        .copied()
        .filter(|p| request.has(p))
        .collect();
    if !used.is_empty() {
        // KeyConditions without KeyConditionExpression may go with the other expressions.
        let key_conditions_alone =
            request.has("KeyConditions") && !request.has("KeyConditionExpression");
        let legacy_used: Vec<&str> = legacy
            .iter()
            .copied()
            .filter(|p| request.has(p) && !(key_conditions_alone && *p == "KeyConditions"))
            .collect();
        if !legacy_used.is_empty() {
            return Err(DdbError::validation(format!(
                "Can not use both expression and non-expression parameters in the same request: \
                 Non-expression parameters: {{{}}} Expression parameters: {{{}}}",
                legacy_used.join(", "),
                used.join(", ")
            )));
        }
    }
    if request.has("ExpressionAttributeNames") && used.is_empty() {
        return Err(DdbError::validation(
            "ExpressionAttributeNames can only be specified when using expressions",
        ));
    }
    let value_expressions: Vec<&str> = expressions
        .iter()
        .copied()
        .filter(|p| *p != "ProjectionExpression")
        .collect();
    if !value_expressions.is_empty()
        && request.has("ExpressionAttributeValues")
        && value_expressions.iter().all(|p| !request.has(p))
    {
        let verb = if value_expressions.len() > 1 {
            "are"
        } else {
            "is"
        };
        return Err(DdbError::validation(format!(
            "ExpressionAttributeValues can only be specified when using expressions: {} {verb} null",
            value_expressions.join(" and ")
        )));
    }
    if let Some(parameter) = legacy.iter().find(|p| request.has(p)) {
        return Err(legacy_refused(parameter));
    }
    Ok(())
}

/// Our message (not DynamoDB's: DynamoDB implements these parameters).
pub(crate) fn legacy_refused(parameter: &str) -> DdbError {
    let instead = match parameter {
        "Expected" | "ConditionalOperator" => "ConditionExpression",
        "AttributeUpdates" => "UpdateExpression",
        "KeyConditions" => "KeyConditionExpression",
        "QueryFilter" | "ScanFilter" => "FilterExpression",
        _ => "ProjectionExpression",
    };
    DdbError::validation(format!(
        "The legacy parameter {parameter} is not supported by this implementation; use \
         {instead} instead"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn member_type_errors_are_serialization_exceptions() {
        let body = json!({"TableName": 5, "Limit": "x", "ConsistentRead": [], "Key": "k"});
        let request = Request::new(&body).unwrap();
        let err = request.str("TableName").unwrap_err();
        assert_eq!(err.name(), "SerializationException");
        assert_eq!(
            err.message(),
            "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String"
        );
        assert_eq!(
            request.int("Limit").unwrap_err().message(),
            "class java.lang.String can not be converted to an Integer"
        );
        assert_eq!(
            request.bool("ConsistentRead").unwrap_err().message(),
            "Start of list found where not expected"
        );
        assert_eq!(
            request.item("Key").unwrap_err().message(),
            "Expected map or null"
        );
        assert!(Request::new(&json!([1])).is_err());
    }

    #[test]
    fn violations_use_the_validator_envelope() {
        let mut v = Violations::default();
        v.push(
            Some("x"),
            "returnValues",
            "Member must satisfy enum value set: [A]",
        );
        v.push(None, "key", "Member must not be null");
        assert_eq!(
            v.into_result().unwrap_err().message(),
            "2 validation errors detected: Value 'x' at 'returnValues' failed to satisfy \
             constraint: Member must satisfy enum value set: [A]; Value null at 'key' failed to \
             satisfy constraint: Member must not be null"
        );
    }
}
