//! The artifact columns: `_key`, one typed column per attribute of the table's
//! `AttributeDefinitions`, `_item`; the name escaping that keeps attribute names and the two
//! reserved names apart; the Parquet schema; and the extraction of typed values from canonical
//! item JSON without decoding the item.

use std::sync::Arc;

use base64::Engine as _;
use ddb_model::ScalarAttributeType;
use parquet::basic::{LogicalType, Repetition, Type as PhysicalType};
use parquet::schema::types::{Type, TypePtr};
use serde::{Deserialize, Serialize};

/// The order-preserving table key (`formats/key`).
pub const KEY_COLUMN: &str = "_key";
/// The canonical item JSON (`formats/item-json`).
pub const ITEM_COLUMN: &str = "_item";

/// The column name of an attribute: the name itself, with one more `_` in front when it starts
/// with `_`. Reserved names start with exactly one `_` followed by a letter, so no attribute can
/// map onto them, and [`attribute_of_column`] inverts this.
pub fn column_of_attribute(attribute: &str) -> String {
    if attribute.starts_with('_') {
        format!("_{attribute}")
    } else {
        attribute.to_owned()
    }
}

/// The attribute a typed column holds; `None` for the reserved names.
pub fn attribute_of_column(column: &str) -> Option<&str> {
    if column == KEY_COLUMN || column == ITEM_COLUMN {
        return None;
    }
    Some(column.strip_prefix('_').unwrap_or(column))
}

/// One typed column of the manifest's `attribute_columns`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeColumn {
    pub attribute: String,
    pub column: String,
    #[serde(rename = "type")]
    pub attribute_type: ScalarAttributeType,
}

impl AttributeColumn {
    pub fn new(attribute: &str, attribute_type: ScalarAttributeType) -> Self {
        Self {
            attribute: attribute.to_owned(),
            column: column_of_attribute(attribute),
            attribute_type,
        }
    }
}

/// The Parquet schema of an artifact with these typed columns.
pub fn parquet_schema(columns: &[AttributeColumn]) -> parquet::errors::Result<TypePtr> {
    let mut fields = Vec::with_capacity(columns.len() + 2);
    fields.push(Arc::new(
        Type::primitive_type_builder(KEY_COLUMN, PhysicalType::BYTE_ARRAY)
            .with_repetition(Repetition::REQUIRED)
            .build()?,
    ));
    for column in columns {
        let builder = Type::primitive_type_builder(&column.column, PhysicalType::BYTE_ARRAY)
            .with_repetition(Repetition::OPTIONAL);
        let builder = match column.attribute_type {
            ScalarAttributeType::S | ScalarAttributeType::N => {
                builder.with_logical_type(Some(LogicalType::String))
            }
            ScalarAttributeType::B => builder,
        };
        fields.push(Arc::new(builder.build()?));
    }
    fields.push(Arc::new(
        Type::primitive_type_builder(ITEM_COLUMN, PhysicalType::BYTE_ARRAY)
            .with_repetition(Repetition::REQUIRED)
            .with_logical_type(Some(LogicalType::Json))
            .build()?,
    ));
    Ok(Arc::new(
        Type::group_type_builder("ddb_backup")
            .with_fields(fields)
            .build()?,
    ))
}

/// A typed column value as stored: S as its UTF-8 bytes, N as its canonical decimal string, B
/// as the raw bytes. `None`: the item lacks the attribute or holds it with another type.
pub type TypedValue = Option<Vec<u8>>;

/// The typed values of `item` (canonical item JSON) for `columns`, read from the top level of
/// the JSON text without decoding the item. Errors say what was malformed.
pub fn typed_values(item: &[u8], columns: &[AttributeColumn]) -> Result<Vec<TypedValue>, String> {
    let mut out: Vec<TypedValue> = vec![None; columns.len()];
    if columns.is_empty() {
        return Ok(out);
    }
    // Names are sorted by UTF-8 bytes in canonical JSON: once past the largest wanted name
    // nothing more can match.
    let largest = columns
        .iter()
        .map(|c| c.attribute.as_bytes())
        .max()
        .unwrap_or_default();
    let mut scan = Scanner {
        bytes: item,
        pos: 0,
    };
    scan.expect(b'{')?;
    if scan.peek() == Some(b'}') {
        return Ok(out);
    }
    loop {
        let (name_raw, escaped) = scan.string()?;
        let name: std::borrow::Cow<'_, [u8]> = if escaped {
            unescape(name_raw)?.into_bytes().into()
        } else {
            name_raw.into()
        };
        scan.expect(b':')?;
        let value_start = scan.pos;
        scan.skip_value()?;
        let value = item.get(value_start..scan.pos).unwrap_or_default();
        if let Some(index) = columns
            .iter()
            .position(|c| c.attribute.as_bytes() == name.as_ref())
            && let Some(slot) = out.get_mut(index)
            && let Some(column) = columns.get(index)
        {
            *slot = scalar(value, column.attribute_type)?;
        }
        if name.as_ref() >= largest {
            return Ok(out);
        }
        match scan.next_byte()? {
            b',' => {}
            b'}' => return Ok(out),
            other => {
                return Err(format!(
                    "',' or '}}' at byte {}, found {:?}",
                    scan.pos - 1,
                    char::from(other)
                ));
            }
        }
    }
}

/// The stored value of an attribute value's JSON if it is `{"<wanted>":"..."}`.
fn scalar(value: &[u8], wanted: ScalarAttributeType) -> Result<TypedValue, String> {
    let tag = match wanted {
        ScalarAttributeType::S => &b"{\"S\":\""[..],
        ScalarAttributeType::N => &b"{\"N\":\""[..],
        ScalarAttributeType::B => &b"{\"B\":\""[..],
    };
    let Some(rest) = value.strip_prefix(tag) else {
        return Ok(None);
    };
    let Some(content) = rest.strip_suffix(b"\"}") else {
        return Err("an attribute value closing with \"}".to_owned());
    };
    match wanted {
        ScalarAttributeType::S => {
            if content.contains(&b'\\') {
                Ok(Some(unescape(content)?.into_bytes()))
            } else {
                std::str::from_utf8(content).map_err(|e| format!("UTF-8 text: {e}"))?;
                Ok(Some(content.to_vec()))
            }
        }
        ScalarAttributeType::N => Ok(Some(content.to_vec())),
        ScalarAttributeType::B => base64::engine::general_purpose::STANDARD
            .decode(content)
            .map(Some)
            .map_err(|e| format!("base64 binary: {e}")),
    }
}

/// Decodes the content of a JSON string (between its quotes).
fn unescape(content: &[u8]) -> Result<String, String> {
    let mut quoted = Vec::with_capacity(content.len() + 2);
    quoted.push(b'"');
    quoted.extend_from_slice(content);
    quoted.push(b'"');
    serde_json::from_slice(&quoted).map_err(|e| format!("a JSON string: {e}"))
}

struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn next_byte(&mut self) -> Result<u8, String> {
        let b = self
            .peek()
            .ok_or_else(|| format!("more JSON at byte {}, found the end", self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    fn expect(&mut self, wanted: u8) -> Result<(), String> {
        let at = self.pos;
        let found = self.next_byte()?;
        if found == wanted {
            Ok(())
        } else {
            Err(format!(
                "{:?} at byte {at}, found {:?}",
                char::from(wanted),
                char::from(found)
            ))
        }
    }

    /// A string: its raw content and whether it holds escapes.
    fn string(&mut self) -> Result<(&'a [u8], bool), String> {
        self.expect(b'"')?;
        let start = self.pos;
        let mut escaped = false;
        loop {
            match self.next_byte()? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.next_byte()?;
                }
                _ => {}
            }
        }
        Ok((
            self.bytes.get(start..self.pos - 1).unwrap_or_default(),
            escaped,
        ))
    }

    /// Skips one value (canonical JSON has no whitespace): an object, array, string or literal.
    fn skip_value(&mut self) -> Result<(), String> {
        let mut depth = 0usize;
        loop {
            match self.next_byte()? {
                b'"' => {
                    self.pos -= 1;
                    self.string()?;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth
                        .checked_sub(1)
                        .ok_or_else(|| format!("a value at byte {}", self.pos - 1))?;
                }
                _ => {}
            }
            if depth == 0 {
                // A literal (true, false, null, a number) ends before a ',' or a closing bracket.
                while let Some(b) = self.peek() {
                    if matches!(b, b',' | b'}' | b']') || depth > 0 {
                        break;
                    }
                    if !b.is_ascii_alphanumeric() && !matches!(b, b'.' | b'-' | b'+') {
                        break;
                    }
                    self.pos += 1;
                }
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_is_reversible_and_avoids_reserved_names() {
        for name in ["a", "_key", "_item", "__x", "_", "key"] {
            let column = column_of_attribute(name);
            assert_ne!(column, KEY_COLUMN);
            assert_ne!(column, ITEM_COLUMN);
            assert_eq!(attribute_of_column(&column), Some(name));
        }
        assert_eq!(column_of_attribute("_x"), "__x");
        assert_eq!(attribute_of_column("_key"), None);
    }

    #[test]
    fn extracts_top_level_scalars_only() {
        let columns = vec![
            AttributeColumn::new("b", ScalarAttributeType::B),
            AttributeColumn::new("n", ScalarAttributeType::N),
            AttributeColumn::new("s", ScalarAttributeType::S),
            AttributeColumn::new("t", ScalarAttributeType::S),
            AttributeColumn::new("z", ScalarAttributeType::S),
        ];
        let item = br#"{"a":{"M":{"s":{"S":"inner"}}},"b":{"B":"AAEC"},"n":{"N":"-1.5"},"s":{"S":"q\"\n"},"t":{"N":"1"},"u":{"L":[{"S":"}"}]}}"#;
        let values = typed_values(item, &columns).unwrap();
        assert_eq!(
            values,
            vec![
                Some(vec![0, 1, 2]),
                Some(b"-1.5".to_vec()),
                Some(b"q\"\n".to_vec()),
                None,
                None
            ]
        );
        assert_eq!(typed_values(b"{}", &columns).unwrap(), vec![None; 5]);
        assert!(typed_values(br#"{"b":{"B":"AAEC"}"#, &columns).is_err());
        assert!(typed_values(b"", &columns).is_err());
    }
}
