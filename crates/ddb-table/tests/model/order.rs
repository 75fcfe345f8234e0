//! DynamoDB's order, computed from attribute values, and index contents derived from items.

use std::cmp::Ordering;

use ddb_model::{AttributeValue, IndexKind, IndexSchema, Item, KeyDef, ResolvedProjection};

use super::Table;

/// `N` numerically, `S` by UTF-8 bytes, `B` by unsigned bytes. Written out here rather than
/// taken from the key encoding, so that the engine's encoding is checked against it.
pub fn compare(a: &AttributeValue, b: &AttributeValue) -> Ordering {
    match (a, b) {
        (AttributeValue::N(x), AttributeValue::N(y)) => x.cmp(y),
        (AttributeValue::S(x), AttributeValue::S(y)) => x.as_bytes().cmp(y.as_bytes()),
        (AttributeValue::B(x), AttributeValue::B(y)) => x.as_slice().cmp(y.as_slice()),
        _ => panic!("key values of different types compared: {a:?} {b:?}"),
    }
}

/// Lexicographic order of key tuples (every component compared with [`compare`]).
pub fn compare_keys(a: &[AttributeValue], b: &[AttributeValue]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = compare(x, y);
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

/// The value of key attribute `attr` in `item` if it has the declared type.
fn key_value<'a>(item: &'a Item, attr: &ddb_model::KeyAttribute) -> Option<&'a AttributeValue> {
    let value = item.get(&attr.name)?;
    let matches = matches!(
        (value, attr.attribute_type),
        (AttributeValue::S(_), ddb_model::ScalarAttributeType::S)
            | (AttributeValue::N(_), ddb_model::ScalarAttributeType::N)
            | (AttributeValue::B(_), ddb_model::ScalarAttributeType::B)
    );
    matches.then_some(value)
}

/// The key components of `item` under `key` (partition, then sort), or `None` if one is
/// missing or of another type.
pub fn key_tuple(item: &Item, key: &KeyDef) -> Option<Vec<AttributeValue>> {
    key.attributes()
        .map(|attr| key_value(item, attr).cloned())
        .collect()
}

/// The key attributes of `item` under `key`, as an item.
pub fn key_item(item: &Item, key: &KeyDef) -> Item {
    key.attributes()
        .filter_map(|attr| Some((attr.name.clone(), item.get(&attr.name)?.clone())))
        .collect()
}

/// One entry of a table or index as a read sees it.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// Its position: table key, or index key followed by table key.
    pub order: Vec<AttributeValue>,
    /// What the table or index holds: the whole item, or the projected item.
    pub entry: Item,
    /// The table item it came from (LSI reads may fetch attributes from it).
    pub item: &'a Item,
}

/// Every entry of the table (`index: None`) or of the index, in ascending order.
pub fn entries<'a>(table: &'a Table, index: Option<&IndexSchema>) -> Vec<Entry<'a>> {
    let table_key = &table.schema.key;
    let mut out: Vec<Entry<'a>> = table
        .items
        .iter()
        .filter_map(|item| {
            let table_order = key_tuple(item, table_key).expect("stored items have their key");
            let Some(index) = index else {
                return Some(Entry {
                    order: table_order,
                    entry: item.clone(),
                    item,
                });
            };
            // Sparse: an item is in the index only with every index key attribute, typed.
            let mut order = key_tuple(item, &index.key)?;
            order.extend(table_order);
            Some(Entry {
                order,
                entry: project(item, table_key, index),
                item,
            })
        })
        .collect();
    out.sort_by(|a, b| compare_keys(&a.order, &b.order));
    out
}

/// The index entry of `item`: table key, index key and the projected attributes.
pub fn project(item: &Item, table_key: &KeyDef, index: &IndexSchema) -> Item {
    item.iter()
        .filter(|(name, _)| {
            table_key.contains(name)
                || index.key.contains(name)
                || match &index.projection {
                    ResolvedProjection::KeysOnly => false,
                    ResolvedProjection::Include(names) => names.iter().any(|n| n == *name),
                    ResolvedProjection::All => true,
                }
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// Whether `index` is an LSI (whose reads can fetch non-projected attributes from the table).
pub fn is_local(index: &IndexSchema) -> bool {
    index.kind == IndexKind::Local
}
