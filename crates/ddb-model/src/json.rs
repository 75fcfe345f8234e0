//! DynamoDB JSON: the decoder (full validation, DynamoDB's error names) and the canonical
//! encoder.
//!
//! # Canonical DynamoDB JSON
//! The one encoding every stored item uses (log, snapshot, backup): equal items always give
//! identical bytes, and the bytes are exactly the `Item` object of a DynamoDB export line.
//! - no whitespace anywhere;
//! - map keys (item attributes and `M` entries) in ascending UTF-8 byte order;
//! - numbers in [`Number`]'s canonical plain-decimal form;
//! - set members in ascending order (`SS` by UTF-8 bytes, `NS` numerically, `BS` by unsigned
//!   bytes);
//! - binary as standard base64 with `=` padding;
//! - strings escape `"` and `\` with a backslash, control characters U+0000–U+001F as `\b`,
//!   `\t`, `\n`, `\f`, `\r` or `\u00xx` (lowercase hex), and nothing else (non-ASCII stays raw
//!   UTF-8). This is also what `serde_json` writes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;

use crate::error::{DdbError, Result};
use crate::number::Number;
use crate::value::{AttributeValue, Item, NESTING_LEVELS_MAX, empty_set_error, nesting_error};

/// The type descriptors of DynamoDB JSON, in the order DynamoDB documents them.
pub const TYPE_DESCRIPTORS: [&str; 10] =
    ["S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"];

// ---------------------------------------------------------------------------------------------
// Decoding

/// Parses a DynamoDB JSON attribute value such as `{"S":"x"}`.
pub fn parse_value(text: &str) -> Result<AttributeValue> {
    value_from_json(&parse_json(text)?)
}

/// Parses a bare DynamoDB JSON item: `{"name":{"S":"x"}, ...}`.
pub fn parse_item(text: &str) -> Result<Item> {
    item_from_json(&parse_json(text)?)
}

/// Parses text as JSON, reporting malformed JSON as a `SerializationException` with its line and
/// column.
pub fn parse_json(text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| DdbError::serialization(format!("Invalid JSON: {e}")))
}

/// Converts a parsed JSON object of attribute values into an [`Item`].
pub fn item_from_json(json: &Value) -> Result<Item> {
    let Value::Object(map) = json else {
        return Err(DdbError::serialization(format!(
            "Expected an item (a JSON object of attribute values), found {}",
            kind_of(json)
        )));
    };
    let mut item = Item::new();
    for (name, value) in map {
        item.insert(name.clone(), decode(value, 1)?);
    }
    Ok(item)
}

/// Converts a parsed JSON attribute value (`{"N":"1"}`) into an [`AttributeValue`].
pub fn value_from_json(json: &Value) -> Result<AttributeValue> {
    decode(json, 1)
}

fn decode(json: &Value, level: usize) -> Result<AttributeValue> {
    if level > NESTING_LEVELS_MAX {
        return Err(nesting_error());
    }
    let Value::Object(map) = json else {
        return Err(DdbError::serialization(format!(
            "Expected an attribute value (a JSON object such as {{\"S\":\"text\"}}), found {}",
            kind_of(json)
        )));
    };
    let mut entries = map.iter();
    let Some((descriptor, body)) = entries.next() else {
        return Err(DdbError::validation(
            "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes",
        ));
    };
    if entries.next().is_some() {
        return Err(DdbError::validation(
            "Supplied AttributeValue has more than one datatypes set, must contain exactly one of \
             the supported datatypes",
        ));
    }
    match descriptor.as_str() {
        "S" => Ok(AttributeValue::S(expect_str(descriptor, body)?.to_owned())),
        "N" => Ok(AttributeValue::N(Number::parse(expect_str(
            descriptor, body,
        )?)?)),
        "B" => Ok(AttributeValue::B(decode_base64(expect_str(
            descriptor, body,
        )?)?)),
        "BOOL" => match body {
            Value::Bool(b) => Ok(AttributeValue::Bool(*b)),
            other => Err(wrong_json_type(descriptor, "true or false", other)),
        },
        "NULL" => match body {
            Value::Bool(true) => Ok(AttributeValue::Null),
            Value::Bool(false) => Err(DdbError::validation(
                "One or more parameter values were invalid: Null attribute value types must have \
                 the value of true",
            )),
            other => Err(wrong_json_type(descriptor, "true", other)),
        },
        "M" => match body {
            Value::Object(entries) => {
                let mut map = BTreeMap::new();
                for (name, value) in entries {
                    map.insert(name.clone(), decode(value, level + 1)?);
                }
                Ok(AttributeValue::M(map))
            }
            other => Err(wrong_json_type(descriptor, "a JSON object", other)),
        },
        "L" => match body {
            Value::Array(elements) => Ok(AttributeValue::L(
                elements
                    .iter()
                    .map(|e| decode(e, level + 1))
                    .collect::<Result<_>>()?,
            )),
            other => Err(wrong_json_type(descriptor, "a JSON array", other)),
        },
        "SS" => {
            let members = set_members(descriptor, body)?;
            let set: BTreeSet<String> = members.iter().map(|m| (*m).to_owned()).collect();
            check_set(descriptor, &members, set.len())?;
            Ok(AttributeValue::Ss(set))
        }
        "NS" => {
            let members = set_members(descriptor, body)?;
            let set = members
                .iter()
                .map(|m| Number::parse(m))
                .collect::<Result<BTreeSet<_>, _>>()?;
            check_set(descriptor, &members, set.len())?;
            Ok(AttributeValue::Ns(set))
        }
        "BS" => {
            let members = set_members(descriptor, body)?;
            let set = members
                .iter()
                .map(|m| decode_base64(m))
                .collect::<Result<BTreeSet<_>>>()?;
            check_set(descriptor, &members, set.len())?;
            Ok(AttributeValue::Bs(set))
        }
        other => Err(DdbError::serialization(format!(
            "Unknown attribute value type '{other}'; expected one of {}",
            TYPE_DESCRIPTORS.join(", ")
        ))),
    }
}

fn expect_str<'a>(descriptor: &str, body: &'a Value) -> Result<&'a str> {
    match body {
        Value::String(s) => Ok(s),
        other => Err(wrong_json_type(descriptor, "a JSON string", other)),
    }
}

fn set_members<'a>(descriptor: &str, body: &'a Value) -> Result<Vec<&'a str>> {
    let Value::Array(elements) = body else {
        return Err(wrong_json_type(descriptor, "a JSON array of strings", body));
    };
    elements.iter().map(|e| expect_str(descriptor, e)).collect()
}

/// Rejects an empty set and a set whose members collapsed (duplicates, numerically for `NS`).
fn check_set(descriptor: &str, members: &[&str], distinct: usize) -> Result<()> {
    if members.is_empty() {
        return Err(empty_set_error(descriptor));
    }
    if distinct != members.len() {
        let listed = format!("[{}]", members.join(", "));
        let message = if descriptor == "BS" {
            format!("Input collection {listed}of type BS contains duplicates.")
        } else {
            format!("Input collection {listed} contains duplicates.")
        };
        return Err(DdbError::validation(format!(
            "One or more parameter values were invalid: {message}"
        )));
    }
    Ok(())
}

fn decode_base64(text: &str) -> Result<Vec<u8>> {
    BASE64.decode(text).map_err(|e| {
        DdbError::serialization(format!(
            "'{}' can not be converted to a Blob: {e}",
            abbreviate(text)
        ))
    })
}

fn wrong_json_type(descriptor: &str, expected: &str, found: &Value) -> DdbError {
    DdbError::serialization(format!(
        "Attribute value of type {descriptor} must be {expected}, found {}",
        kind_of(found)
    ))
}

fn kind_of(value: &Value) -> String {
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    let mut text = value.to_string();
    if text.len() > 60 {
        text = format!("{}...", abbreviate(&text));
    }
    format!("{kind} ({text})")
}

fn abbreviate(text: &str) -> &str {
    let mut end = text.len().min(60);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Input documents: the shapes users feed a loader.

/// One write of a `BatchWriteItem` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteRequest {
    /// `{"PutRequest":{"Item":{...}}}`
    Put(Item),
    /// `{"DeleteRequest":{"Key":{...}}}`
    Delete(Item),
}

/// A JSON document as users hand it to `ddbfmt load` and friends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputDocument {
    /// A bare item, or the `Item` of an export line `{"Item":{...}}`.
    Item(Item),
    /// A `BatchWriteItem` request: `{"Table":[{"PutRequest":...}, ...]}`, optionally wrapped in
    /// `{"RequestItems": ...}`. Tables in document order, requests in file order.
    BatchWrite(Vec<(String, Vec<WriteRequest>)>),
}

/// Recognises the three input shapes.
///
/// - An object whose values are all arrays is a `BatchWriteItem` request (an item's values are
///   always objects), as is `{"RequestItems":{...}}`.
/// - `{"Item":{...}}` is an export line, unless its inner object is itself an attribute value
///   (a single key that is a type descriptor, as in `{"Item":{"M":{...}}}`), which is read as a
///   bare item with one attribute named `Item`. (The other reading, an exported item whose only
///   attribute is named `S`, `M`, ..., cannot be a table's item: it would lack its key unless
///   the key is named so.)
/// - Anything else is a bare item.
pub fn parse_input_document(text: &str) -> Result<InputDocument> {
    input_document_from_json(&parse_json(text)?)
}

/// [`parse_input_document`] on already-parsed JSON.
pub fn input_document_from_json(json: &Value) -> Result<InputDocument> {
    let Value::Object(map) = json else {
        return Err(DdbError::serialization(format!(
            "Expected a JSON object (an item, {{\"Item\":...}} or a BatchWriteItem request), found {}",
            kind_of(json)
        )));
    };
    if let (1, Some(Value::Object(inner))) = (map.len(), map.get("RequestItems")) {
        return batch_write_from_json(inner);
    }
    if !map.is_empty() && map.values().all(Value::is_array) {
        return batch_write_from_json(map);
    }
    if let (1, Some(inner @ Value::Object(inner_map))) = (map.len(), map.get("Item")) {
        let looks_like_value = inner_map.len() == 1
            && inner_map
                .keys()
                .all(|k| TYPE_DESCRIPTORS.contains(&k.as_str()));
        if !looks_like_value {
            return Ok(InputDocument::Item(item_from_json(inner)?));
        }
    }
    Ok(InputDocument::Item(item_from_json(json)?))
}

fn batch_write_from_json(tables: &serde_json::Map<String, Value>) -> Result<InputDocument> {
    let mut out = Vec::with_capacity(tables.len());
    for (table, requests) in tables {
        let Value::Array(requests) = requests else {
            return Err(DdbError::serialization(format!(
                "RequestItems[{table}] must be an array of write requests, found {}",
                kind_of(requests)
            )));
        };
        let mut writes = Vec::with_capacity(requests.len());
        for (index, request) in requests.iter().enumerate() {
            let write = write_request_from_json(request)
                .map_err(|e| e.with_context(format!("RequestItems[{table}][{index}]")))?;
            writes.push(write);
        }
        out.push((table.clone(), writes));
    }
    Ok(InputDocument::BatchWrite(out))
}

fn write_request_from_json(request: &Value) -> Result<WriteRequest> {
    let shape_error = || {
        DdbError::serialization(format!(
            "Expected {{\"PutRequest\":{{\"Item\":...}}}} or {{\"DeleteRequest\":{{\"Key\":...}}}}, found {}",
            kind_of(request)
        ))
    };
    let Value::Object(map) = request else {
        return Err(shape_error());
    };
    if map.len() != 1 {
        return Err(shape_error());
    }
    if let Some(Value::Object(put)) = map.get("PutRequest") {
        let item = put
            .get("Item")
            .filter(|_| put.len() == 1)
            .ok_or_else(shape_error)?;
        return Ok(WriteRequest::Put(item_from_json(item)?));
    }
    if let Some(Value::Object(delete)) = map.get("DeleteRequest") {
        let key = delete
            .get("Key")
            .filter(|_| delete.len() == 1)
            .ok_or_else(shape_error)?;
        return Ok(WriteRequest::Delete(item_from_json(key)?));
    }
    Err(shape_error())
}

// ---------------------------------------------------------------------------------------------
// Canonical encoding

impl AttributeValue {
    /// The canonical DynamoDB JSON of this value (see the module documentation).
    pub fn to_canonical_json(&self) -> String {
        let mut out = String::new();
        write_value(&mut out, self);
        out
    }
}

impl Item {
    /// The canonical DynamoDB JSON of this item (see the module documentation).
    pub fn to_canonical_json(&self) -> String {
        let mut out = String::with_capacity(64 * self.len());
        self.write_canonical_json(&mut out);
        out
    }

    /// Appends the canonical DynamoDB JSON of this item to `out`.
    pub fn write_canonical_json(&self, out: &mut String) {
        write_map(out, self.iter());
    }

    /// Parses a bare DynamoDB JSON item (see [`parse_item`]).
    pub fn from_dynamodb_json(text: &str) -> Result<Item> {
        parse_item(text)
    }
}

fn write_map<'a>(
    out: &mut String,
    entries: impl Iterator<Item = (&'a String, &'a AttributeValue)>,
) {
    out.push('{');
    for (i, (name, value)) in entries.enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, name);
        out.push(':');
        write_value(out, value);
    }
    out.push('}');
}

fn write_value(out: &mut String, value: &AttributeValue) {
    out.push_str("{\"");
    out.push_str(value.type_name());
    out.push_str("\":");
    match value {
        AttributeValue::S(s) => write_string(out, s),
        AttributeValue::N(n) => {
            // Canonical numbers contain only `-`, digits and `.`: nothing to escape.
            let _ = write!(out, "\"{n}\"");
        }
        AttributeValue::B(b) => write_base64(out, b),
        AttributeValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        AttributeValue::Null => out.push_str("true"),
        AttributeValue::M(map) => write_map(out, map.iter()),
        AttributeValue::L(list) => write_list(out, list.iter(), write_value),
        AttributeValue::Ss(set) => write_list(out, set.iter(), |out, s| write_string(out, s)),
        AttributeValue::Ns(set) => write_list(out, set.iter(), |out, n| {
            let _ = write!(out, "\"{n}\"");
        }),
        AttributeValue::Bs(set) => write_list(out, set.iter(), |out, b| write_base64(out, b)),
    }
    out.push('}');
}

fn write_list<T>(
    out: &mut String,
    items: impl Iterator<Item = T>,
    write_one: impl Fn(&mut String, T),
) {
    out.push('[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_one(out, item);
    }
    out.push(']');
}

fn write_base64(out: &mut String, bytes: &[u8]) {
    out.push('"');
    BASE64.encode_string(bytes, out);
    out.push('"');
}

/// Writes `s` as a JSON string with the canonical escapes.
pub(crate) fn write_string(out: &mut String, s: &str) {
    out.push('"');
    let mut clean_from = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        // Every byte that needs escaping is ASCII, so `i` is a char boundary.
        out.push_str(s.get(clean_from..i).unwrap_or_default());
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
        clean_from = i + 1;
    }
    out.push_str(s.get(clean_from..).unwrap_or_default());
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err_of(text: &str) -> (String, String) {
        let err = parse_value(text).unwrap_err();
        (err.name().to_owned(), err.message().to_owned())
    }

    #[test]
    fn every_type_round_trips_canonically() {
        let cases = [
            (r#"{"S":"hé\"\\\n\u0001"}"#, r#"{"S":"hé\"\\\n\u0001"}"#),
            (r#"{"N":"001.500"}"#, r#"{"N":"1.5"}"#),
            (r#"{"B":"AAEC/w=="}"#, r#"{"B":"AAEC/w=="}"#),
            (r#"{"BOOL":false}"#, r#"{"BOOL":false}"#),
            (r#"{"NULL":true}"#, r#"{"NULL":true}"#),
            (
                r#"{"M":{"b":{"N":"2"},"a":{"S":"x"}}}"#,
                r#"{"M":{"a":{"S":"x"},"b":{"N":"2"}}}"#,
            ),
            (
                r#"{"L":[{"N":"1E1"},{"NULL":true}]}"#,
                r#"{"L":[{"N":"10"},{"NULL":true}]}"#,
            ),
            (r#"{"SS":["b","a",""]}"#, r#"{"SS":["","a","b"]}"#),
            (
                r#"{"NS":["10","-1","2.50"]}"#,
                r#"{"NS":["-1","2.5","10"]}"#,
            ),
            (r#"{"BS":["Yg==","YQ=="]}"#, r#"{"BS":["YQ==","Yg=="]}"#),
        ];
        for (input, canonical) in cases {
            let value = parse_value(input).unwrap();
            assert_eq!(value.to_canonical_json(), canonical, "input {input}");
            assert_eq!(parse_value(canonical).unwrap(), value);
        }
    }

    #[test]
    fn malformed_attribute_values_get_dynamodbs_errors() {
        let validation = "ValidationException";
        let serialization = "SerializationException";
        let invalid = "One or more parameter values were invalid: ";
        let cases: Vec<(&str, &str, String)> = vec![
            ("{}", validation, "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes".into()),
            (r#"{"S":"a","N":"1"}"#, validation, "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes".into()),
            (r#"{"NULL":false}"#, validation, format!("{invalid}Null attribute value types must have the value of true")),
            (r#"{"SS":[]}"#, validation, format!("{invalid}An string set  may not be empty")),
            (r#"{"NS":[]}"#, validation, format!("{invalid}An number set  may not be empty")),
            (r#"{"BS":[]}"#, validation, format!("{invalid}Binary sets should not be empty")),
            (r#"{"SS":["a","a"]}"#, validation, format!("{invalid}Input collection [a, a] contains duplicates.")),
            (r#"{"NS":["1","1.0"]}"#, validation, format!("{invalid}Input collection [1, 1.0] contains duplicates.")),
            (r#"{"BS":["Yg==","Yg=="]}"#, validation, format!("{invalid}Input collection [Yg==, Yg==]of type BS contains duplicates.")),
            (r#"{"N":"x1"}"#, validation, "The parameter cannot be converted to a numeric value: x1".into()),
            (r#"{"N":"1E126"}"#, validation, "Number overflow. Attempting to store a number with magnitude larger than supported range".into()),
            (r#"{"N":1}"#, serialization, "Attribute value of type N must be a JSON string, found a number (1)".into()),
            (r#"{"BOOL":"true"}"#, serialization, "Attribute value of type BOOL must be true or false, found a string (\"true\")".into()),
            (r#"{"X":"1"}"#, serialization, "Unknown attribute value type 'X'; expected one of S, N, B, BOOL, NULL, M, L, SS, NS, BS".into()),
            (r#"["S"]"#, serialization, "Expected an attribute value (a JSON object such as {\"S\":\"text\"}), found an array ([\"S\"])".into()),
        ];
        for (input, name, message) in cases {
            assert_eq!(err_of(input), (name.to_owned(), message), "input {input}");
        }
        let (name, message) = err_of(r#"{"B":"abc"}"#);
        assert_eq!(name, serialization);
        assert!(
            message.starts_with("'abc' can not be converted to a Blob"),
            "{message}"
        );
        let (name, message) = err_of(r#"{"S":"#);
        assert_eq!(name, serialization);
        assert!(
            message.starts_with("Invalid JSON: EOF while parsing"),
            "{message}"
        );
    }

    #[test]
    fn nesting_is_checked_while_decoding() {
        let deep = |levels: usize| {
            format!(
                "{}{{\"S\":\"x\"}}{}",
                "{\"L\":[".repeat(levels - 1),
                "]}".repeat(levels - 1)
            )
        };
        assert!(parse_value(&deep(32)).is_ok());
        let err = parse_value(&deep(33)).unwrap_err();
        assert!(
            err.message()
                .starts_with("Nesting Levels have exceeded supported limits")
        );
    }

    #[test]
    fn recognises_the_three_input_shapes() {
        let bare = parse_input_document(r#"{"pk":{"S":"a"},"n":{"N":"1"}}"#).unwrap();
        let export = parse_input_document(r#"{"Item":{"pk":{"S":"a"},"n":{"N":"1"}}}"#).unwrap();
        assert_eq!(bare, export);
        // A bare item whose only attribute is called `Item`.
        let InputDocument::Item(item) =
            parse_input_document(r#"{"Item":{"M":{"a":{"S":"b"}}}}"#).unwrap()
        else {
            panic!("not an item")
        };
        assert_eq!(item.get("Item").map(AttributeValue::type_name), Some("M"));
        let InputDocument::Item(item) = parse_input_document(r#"{"Item":{"S":"x"}}"#).unwrap()
        else {
            panic!("not an item")
        };
        assert_eq!(item.get("Item"), Some(&AttributeValue::from("x")));

        let batch = r#"{"T1":[{"PutRequest":{"Item":{"pk":{"S":"a"}}}},{"DeleteRequest":{"Key":{"pk":{"S":"b"}}}}],
                       "T2":[{"PutRequest":{"Item":{"pk":{"N":"1"}}}}]}"#;
        let InputDocument::BatchWrite(tables) = parse_input_document(batch).unwrap() else {
            panic!("not a batch")
        };
        assert_eq!(tables.len(), 2);
        assert_eq!(tables[0].0, "T1");
        assert!(matches!(
            &tables[0].1[..],
            [WriteRequest::Put(_), WriteRequest::Delete(_)]
        ));
        let wrapped = format!(r#"{{"RequestItems":{batch}}}"#);
        assert_eq!(
            parse_input_document(&wrapped).unwrap(),
            InputDocument::BatchWrite(tables)
        );

        let err = parse_input_document(r#"{"T":[{"PutRequest":{"Key":{}}}]}"#).unwrap_err();
        assert_eq!(err.name(), "SerializationException");
        assert!(
            err.message()
                .starts_with("RequestItems[T][0]: Expected {\"PutRequest\""),
            "{}",
            err.message()
        );
        let err = parse_input_document("[1]").unwrap_err();
        assert_eq!(err.name(), "SerializationException");
    }

    #[test]
    fn string_escapes_match_serde_json() {
        let all_controls: String = (0u8..0x20).map(char::from).collect();
        for s in [
            "",
            "plain",
            "q\"b\\",
            "日本語 ✓ \u{2028}",
            "\u{7f}",
            all_controls.as_str(),
        ] {
            let mut ours = String::new();
            write_string(&mut ours, s);
            assert_eq!(ours, serde_json::to_string(s).unwrap(), "string {s:?}");
        }
    }
}
