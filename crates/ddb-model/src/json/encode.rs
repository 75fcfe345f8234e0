//! The canonical DynamoDB JSON encoder (see the module documentation of [`super`]).

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::decode::parse_item;
use crate::error::Result;
use crate::value::{AttributeValue, Item};

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
