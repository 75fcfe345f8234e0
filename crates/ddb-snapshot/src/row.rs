//! Rows as the writer takes them and readers return them, and column selection.

use ddb_model::{KeyValue, ScalarAttributeType, parse_value};

use crate::error::{Result, SnapshotError};

/// One row of a snapshot file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Row {
    /// The table key (or, in an index snapshot, index key then table key) in the
    /// order-preserving encoding; rows are sorted by it, strictly.
    pub key: Vec<u8>,
    /// The item as canonical DynamoDB JSON; empty when the item column was not read.
    pub item: Vec<u8>,
    /// `attrs[i]`: the file's i-th attribute as one order-preserving key component
    /// (`KeyValue::encode`), or `None` when the item lacks it (or has another type). Empty
    /// when the typed columns were not read.
    pub attrs: Vec<Option<Vec<u8>>>,
}

/// Which columns a read returns. The key column is always read: ranges and lookups are
/// decided on it. Unselected columns are never read from disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Columns {
    pub item: bool,
    pub attrs: bool,
}

impl Columns {
    pub const ALL: Columns = Columns {
        item: true,
        attrs: true,
    };
    pub const KEYS: Columns = Columns {
        item: false,
        attrs: false,
    };
    pub const KEYS_AND_ATTRS: Columns = Columns {
        item: false,
        attrs: true,
    };
    pub const KEYS_AND_ITEM: Columns = Columns {
        item: true,
        attrs: false,
    };
}

/// The typed values of `attribute_names` in an item given as canonical item JSON, for rows
/// whose typed values are not known yet. An attribute that is missing, or whose type differs
/// from the declared one (the item is then in no index keyed on it), is `None`.
///
/// Only the named attributes are decoded: the rest of the item is skipped as JSON text (a
/// checkpoint calls this for every row; decoding whole items was most of its time).
pub fn attrs_from_item(
    item_json: &[u8],
    attribute_names: &[(String, ScalarAttributeType)],
) -> Result<Vec<Option<Vec<u8>>>> {
    let text = std::str::from_utf8(item_json)
        .map_err(|e| SnapshotError::InvalidInput(format!("item JSON is not UTF-8: {e}")))?;
    let invalid = |e: serde_json::Error| {
        SnapshotError::InvalidInput(format!("item JSON at byte {}: {e}", e.column()))
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let raw = serde::de::DeserializeSeed::deserialize(Wanted(attribute_names), &mut de)
        .map_err(invalid)?;
    de.end().map_err(invalid)?;
    let mut attrs = Vec::with_capacity(attribute_names.len());
    for ((_, wanted), raw) in attribute_names.iter().zip(raw) {
        let Some(raw) = raw else {
            attrs.push(None);
            continue;
        };
        let value = parse_value(raw.get())?;
        attrs.push(KeyValue::from_attribute(&value).and_then(|key| {
            (key.attribute_type() == *wanted).then(|| {
                let mut out = Vec::new();
                key.encode(&mut out);
                out
            })
        }));
    }
    Ok(attrs)
}

/// Reads a JSON object, keeping the raw text of the values of the wanted names (by position)
/// and skipping every other value.
struct Wanted<'n>(&'n [(String, ScalarAttributeType)]);

/// An object key: the position of that name among the wanted ones.
struct WantedName<'n>(&'n [(String, ScalarAttributeType)]);

impl<'de> serde::de::DeserializeSeed<'de> for WantedName<'_> {
    type Value = Option<usize>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl serde::de::Visitor<'_> for WantedName<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an attribute name")
    }

    fn visit_str<E: serde::de::Error>(self, name: &str) -> std::result::Result<Self::Value, E> {
        Ok(self.0.iter().position(|(wanted, _)| wanted == name))
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Wanted<'_> {
    type Value = Vec<Option<&'de serde_json::value::RawValue>>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Wanted<'_> {
    type Value = Vec<Option<&'de serde_json::value::RawValue>>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an item: a JSON object of attributes")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut found = vec![None; self.0.len()];
        while let Some(position) = map.next_key_seed(WantedName(self.0))? {
            match position.and_then(|p| found.get_mut(p)) {
                Some(slot) => *slot = Some(map.next_value::<&'de serde_json::value::RawValue>()?),
                None => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }
}
