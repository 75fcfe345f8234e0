//! Index entries: what an item contributes to a secondary index.
//!
//! An entry's key is `TableSchema::index_key` (index key components, then the table key
//! components); its value is the projected item — the table key, the index key and the
//! projection's attributes — as canonical DynamoDB JSON. An item lacking an index key attribute,
//! or holding one of another type, is not in the index (sparse index).

use std::sync::Arc;

use ddb_model::{IndexSchema, Item, ResolvedProjection, TableSchema};

/// The projected item `item` contributes to `index`.
pub fn project(table: &TableSchema, index: &IndexSchema, item: &Item) -> Item {
    if matches!(index.projection, ResolvedProjection::All) {
        return item.clone();
    }
    let mut out = Item::new();
    for (name, value) in item.iter() {
        let keep =
            table.key.contains(name) || index.key.contains(name) || index.projection.includes(name);
        if keep {
            out.insert(name.clone(), value.clone());
        }
    }
    out
}

/// An index entry: its key bytes, the projected item and its canonical bytes.
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: Vec<u8>,
    pub item: Item,
    pub bytes: Arc<[u8]>,
}

/// The entry of `item` in `index`, or `None` if the item is not in it (a key attribute
/// missing, or a violation: see [`is_violation`]).
pub fn entry(table: &TableSchema, index: &IndexSchema, item: &Item) -> Option<Entry> {
    let key = table.index_key(index, item)?;
    if is_violation(index, item) {
        return None;
    }
    let projected = project(table, index, item);
    let bytes = Arc::from(projected.to_canonical_json().into_bytes());
    Some(Entry {
        key,
        item: projected,
        bytes,
    })
}

/// The DynamoDB size of the entry `item` contributes to `index`, if it is in it (what an
/// item collection is charged), without encoding it.
pub fn entry_size(table: &TableSchema, index: &IndexSchema, item: &Item) -> Option<usize> {
    table.index_key(index, item)?;
    if is_violation(index, item) {
        return None;
    }
    if matches!(index.projection, ResolvedProjection::All) {
        return Some(item.size_bytes());
    }
    Some(project(table, index, item).size_bytes())
}

/// Whether a backfill skips `item` for `index` as a violation: it has an index key attribute
/// but of the wrong type, empty, or too large (DynamoDB reports these as index key
/// violations instead of failing the backfill).
pub fn is_violation(index: &IndexSchema, item: &Item) -> bool {
    TableSchema::validate_index_key(index, item).is_err()
}

/// The changes a write from `old` to `new` makes to `index`: keys to delete and entries to
/// put, in that order (an entry whose key did not change is only put).
pub fn changes(
    table: &TableSchema,
    index: &IndexSchema,
    old: Option<&Item>,
    new: Option<&Item>,
) -> (Option<Vec<u8>>, Option<Entry>) {
    let old_key = old
        .filter(|item| !is_violation(index, item))
        .and_then(|item| table.index_key(index, item));
    let new_entry = new.and_then(|item| entry(table, index, item));
    let delete = match (&old_key, &new_entry) {
        (Some(old), Some(new)) if *old == new.key => None,
        (Some(old), _) => Some(old.clone()),
        (None, _) => None,
    };
    (delete, new_entry)
}
