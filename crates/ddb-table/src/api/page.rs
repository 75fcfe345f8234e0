//! One page of a Query or Scan: read entries in key order, count and size what was
//! evaluated, filter, project, and say where the next page starts.
//!
//! DynamoDB's page rule (its developer guide; dynalite's `queryTable`): the read stops
//! *before* evaluating another entry once `Limit` entries were evaluated or once the entries
//! evaluated add up to 1 MB; the entry that crosses 1 MB is still part of the page. `Limit`
//! and the 1 MB count entries before the filter, so a page may return fewer items than it
//! evaluated, even none. The size of an entry is its DynamoDB item size
//! ([`Item::size_bytes`]): of the index entry for an index read, of the table item when an LSI
//! read fetches it. (dynalite counts a storage-format size slightly larger than the item size;
//! DynamoDB does not document the exact count.) When the read stopped for either reason the
//! response has `LastEvaluatedKey`: the table key and, for an index, the index key of the
//! last entry evaluated (filtered out or not), even if no entry follows, as DynamoDB does.

use std::ops::Bound;

use ddb_model::expr::{ConditionExpression, ProjectionExpression};
use ddb_model::key::decode_component;
use ddb_model::{DdbError, ErrorKind, IndexSchema, Item, Result, TableSchema};
use serde_json::{Map, Value};

use super::request::item_to_json;
use crate::store::TableStore;

/// The most data one page evaluates.
pub(crate) const PAGE_BYTES_MAX: usize = 1024 * 1024;

/// What a Query or Scan returns of each item (`Select`, resolved).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Select {
    /// The whole table item (fetched from the table for an LSI that projects less).
    AllAttributes,
    /// The index entry as it is.
    AllProjected,
    /// The `ProjectionExpression`.
    Specific,
    Count,
}

/// A parallel scan's share: entries whose partition key hashes to `segment`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segment {
    pub(crate) segment: u64,
    pub(crate) total: u64,
}

/// Everything one page needs.
pub(crate) struct PagePlan<'a> {
    pub(crate) table: &'a dyn TableStore,
    pub(crate) index: Option<&'a IndexSchema>,
    pub(crate) lower: Bound<Vec<u8>>,
    pub(crate) upper: Bound<Vec<u8>>,
    pub(crate) forward: bool,
    pub(crate) limit: Option<usize>,
    pub(crate) filter: Option<&'a ConditionExpression>,
    pub(crate) projection: Option<&'a ProjectionExpression>,
    pub(crate) select: Select,
    /// Read each entry's table item with `get` (an LSI that does not project what the request
    /// needs).
    pub(crate) fetch_table_item: bool,
    pub(crate) segment: Option<Segment>,
}

/// Whether a page bound leaves no key at all. (A `BTreeMap` range over such bounds panics, so
/// no store is asked for one.)
fn is_empty_range(lower: &Bound<Vec<u8>>, upper: &Bound<Vec<u8>>) -> bool {
    match (lower, upper) {
        (Bound::Included(l), Bound::Included(u)) => l > u,
        (Bound::Included(l), Bound::Excluded(u))
        | (Bound::Excluded(l), Bound::Included(u))
        | (Bound::Excluded(l), Bound::Excluded(u)) => l >= u,
        _ => false,
    }
}

/// The segment of an entry: a stable hash (xxh3) of its encoded partition key component,
/// modulo the segment count. Every entry of one partition lands in one segment, and the
/// assignment never changes between pages or runs.
fn segment_of(key: &[u8], total: u64) -> Result<u64> {
    let (_, end) = decode_component(key, 0).map_err(|e| {
        DdbError::new(
            ErrorKind::InternalServerError,
            format!("the store returned a malformed key: {e}"),
        )
    })?;
    let partition = key.get(..end).unwrap_or(key);
    Ok(xxhash_rust::xxh3::xxh3_64(partition) % total.max(1))
}

/// The table key and index key attributes of an entry: a `LastEvaluatedKey`.
pub(crate) fn key_attributes(
    schema: &TableSchema,
    index: Option<&IndexSchema>,
    entry: &Item,
) -> Item {
    schema
        .key
        .attributes()
        .chain(index.into_iter().flat_map(|i| i.key.attributes()))
        .filter_map(|attr| Some((attr.name.clone(), entry.get(&attr.name)?.clone())))
        .collect()
}

fn count(n: usize) -> Value {
    Value::from(u64::try_from(n).unwrap_or(u64::MAX))
}

pub(crate) fn run(plan: &PagePlan<'_>) -> Result<Value> {
    let schema = plan.table.schema();
    let mut items = Vec::new();
    let mut matched = 0usize;
    let mut scanned = 0usize;
    let mut size_bytes = 0usize;
    let mut last: Option<Item> = None;
    let mut stopped = false;
    if !is_empty_range(&plan.lower, &plan.upper) {
        let mut entries = plan.table.range(
            plan.index.map(|i| i.name.as_str()),
            plan.lower.as_ref().map(Vec::as_slice),
            plan.upper.as_ref().map(Vec::as_slice),
            plan.forward,
        )?;
        loop {
            if plan.limit.is_some_and(|l| scanned >= l) || size_bytes >= PAGE_BYTES_MAX {
                stopped = true;
                break;
            }
            let Some(entry) = entries.next() else { break };
            let (key, entry) = entry?;
            if let Some(Segment { segment, total }) = plan.segment
                && segment_of(&key, total)? != segment
            {
                continue;
            }
            let item = if plan.fetch_table_item {
                let table_key = schema.table_key(&entry)?;
                // An entry whose item is gone (a concurrent delete) is read as the entry.
                plan.table.get(&table_key)?.unwrap_or_else(|| entry.clone())
            } else {
                entry.clone()
            };
            scanned += 1;
            size_bytes = size_bytes.saturating_add(item.size_bytes());
            last = Some(key_attributes(schema, plan.index, &entry));
            if plan.filter.is_some_and(|f| !f.evaluate(Some(&item))) {
                continue;
            }
            matched += 1;
            match plan.select {
                Select::Count => {}
                Select::Specific => {
                    if let Some(projection) = plan.projection {
                        items.push(item_to_json(&projection.apply(&item))?);
                    }
                }
                Select::AllAttributes | Select::AllProjected => items.push(item_to_json(&item)?),
            }
        }
    }
    let mut out = Map::new();
    out.insert("Count".to_owned(), count(matched));
    out.insert("ScannedCount".to_owned(), count(scanned));
    if plan.select != Select::Count {
        out.insert("Items".to_owned(), Value::Array(items));
    }
    if let (true, Some(last)) = (stopped, last) {
        out.insert("LastEvaluatedKey".to_owned(), item_to_json(&last)?);
    }
    Ok(Value::Object(out))
}

/// A `Limit` as a count (it was checked to be at least 1).
pub(crate) fn limit_count(limit: Option<i64>) -> Option<usize> {
    limit.map(|l| usize::try_from(l).unwrap_or(usize::MAX))
}
