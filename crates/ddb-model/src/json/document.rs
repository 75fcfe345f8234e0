//! Input documents: the shapes users hand a loader — a bare item, an export line
//! `{"Item":{...}}`, or a `BatchWriteItem` request.
//!
//! The outer structure is read as raw JSON fragments (no tree is built), and each item is then
//! decoded straight from its fragment by the streaming decoder.

use std::fmt;

use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::TYPE_DESCRIPTORS;
use super::decode::{abbreviate, parse_item, serialization_error};
use crate::error::{DdbError, Result};
use crate::value::Item;

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
    let members = object_members(
        text,
        "a JSON object (an item, {\"Item\":...} or a BatchWriteItem request)",
    )?;
    if let [(name, inner)] = members.as_slice() {
        if name == "RequestItems" && is_object(inner) {
            return batch_write(inner.get());
        }
        if name == "Item" && is_object(inner) {
            let inner_members = object_members(inner.get(), "an item")?;
            let looks_like_value = matches!(inner_members.as_slice(), [(key, _)] if TYPE_DESCRIPTORS.contains(&key.as_str()));
            if !looks_like_value {
                return parse_item(inner.get()).map(InputDocument::Item);
            }
        }
    }
    if !members.is_empty() && members.iter().all(|(_, v)| is_array(v)) {
        return batch_write(text);
    }
    parse_item(text).map(InputDocument::Item)
}

fn batch_write(text: &str) -> Result<InputDocument> {
    let tables = object_members(
        text,
        "RequestItems: a JSON object of table names to write requests",
    )?;
    let mut out = Vec::with_capacity(tables.len());
    for (table, requests) in tables {
        let requests = array_elements(requests.get()).map_err(|e| {
            e.with_context(format!(
                "RequestItems[{table}] must be an array of write requests"
            ))
        })?;
        let mut writes = Vec::with_capacity(requests.len());
        for (index, request) in requests.iter().enumerate() {
            let write = write_request(request.get())
                .map_err(|e| e.with_context(format!("RequestItems[{table}][{index}]")))?;
            writes.push(write);
        }
        out.push((table, writes));
    }
    Ok(InputDocument::BatchWrite(out))
}

fn write_request(text: &str) -> Result<WriteRequest> {
    let shape_error = || {
        DdbError::serialization(format!(
            "Expected {{\"PutRequest\":{{\"Item\":...}}}} or {{\"DeleteRequest\":{{\"Key\":...}}}}, found {}",
            abbreviate(text.trim(), 80)
        ))
    };
    let members = object_members(text, "a write request").map_err(|_| shape_error())?;
    let [(kind, body)] = members.as_slice() else {
        return Err(shape_error());
    };
    let (field, make): (&str, fn(Item) -> WriteRequest) = match kind.as_str() {
        "PutRequest" => ("Item", WriteRequest::Put),
        "DeleteRequest" => ("Key", WriteRequest::Delete),
        _ => return Err(shape_error()),
    };
    let inner = object_members(body.get(), "a write request body").map_err(|_| shape_error())?;
    match inner.as_slice() {
        [(name, item)] if name == field => parse_item(item.get()).map(make),
        _ => Err(shape_error()),
    }
}

fn is_object(raw: &RawValue) -> bool {
    raw.get().trim_start().starts_with('{')
}

fn is_array(raw: &RawValue) -> bool {
    raw.get().trim_start().starts_with('[')
}

/// The members of a JSON object in document order (duplicates kept), values unparsed.
fn object_members<'a>(text: &'a str, what: &'static str) -> Result<Vec<(String, &'a RawValue)>> {
    struct Members(&'static str);
    impl<'de> Visitor<'de> for Members {
        type Value = Vec<(String, &'de RawValue)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                out.push(entry);
            }
            Ok(out)
        }
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let members = deserializer.deserialize_map(Members(what)).and_then(|m| {
        deserializer.end()?;
        Ok(m)
    });
    members.map_err(|e| serialization_error(&e))
}

/// The elements of a JSON array, unparsed.
fn array_elements(text: &str) -> Result<Vec<&RawValue>> {
    struct Elements;
    impl<'de> Visitor<'de> for Elements {
        type Value = Vec<&'de RawValue>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON array")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(element) = seq.next_element::<&'de RawValue>()? {
                out.push(element);
            }
            Ok(out)
        }
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let elements = deserializer.deserialize_seq(Elements).and_then(|e| {
        deserializer.end()?;
        Ok(e)
    });
    elements.map_err(|e| serialization_error(&e))
}
