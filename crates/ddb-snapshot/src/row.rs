//! Rows as the writer takes them and readers return them, and column selection.

use ddb_model::{KeyValue, ScalarAttributeType, parse_item};

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
pub fn attrs_from_item(
    item_json: &[u8],
    attribute_names: &[(String, ScalarAttributeType)],
) -> Result<Vec<Option<Vec<u8>>>> {
    let text = std::str::from_utf8(item_json)
        .map_err(|e| SnapshotError::InvalidInput(format!("item JSON is not UTF-8: {e}")))?;
    let item = parse_item(text)?;
    Ok(attribute_names
        .iter()
        .map(|(name, wanted)| {
            let value = KeyValue::from_attribute(item.get(name)?)?;
            (value.attribute_type() == *wanted).then(|| {
                let mut out = Vec::new();
                value.encode(&mut out);
                out
            })
        })
        .collect())
}
