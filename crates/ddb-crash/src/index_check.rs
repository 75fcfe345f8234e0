//! Check 4: every ACTIVE index of a table holds exactly the projection of the table's items —
//! by a Scan of the index, and by a Query of the index for every partition value present
//! (whose results must also come in sort key order).

use std::collections::BTreeMap;

use ddb_model::{Item, KeyValue};
use ddb_table::Database;
use serde_json::{Value, json};

use crate::check::{call, compare_tables, describe, scan_items};
use crate::model::TableModel;
use crate::schema::{item_of, key_string};

/// An index as DescribeTable shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDef {
    pub name: String,
    pub global: bool,
    pub hash: String,
    pub range: Option<String>,
    /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
    pub projection: String,
    pub non_key: Vec<String>,
    /// `IndexStatus` (LSIs: always ACTIVE).
    pub status: String,
    /// `ItemCount` as DescribeTable gives it.
    pub item_count: Option<u64>,
}

/// The LSIs and GSIs of a table description.
pub fn index_defs(description: &Value) -> Vec<IndexDef> {
    let mut out = Vec::new();
    for (member, global) in [
        ("LocalSecondaryIndexes", false),
        ("GlobalSecondaryIndexes", true),
    ] {
        for index in description[member].as_array().into_iter().flatten() {
            let key = |kind: &str| {
                crate::at(index, "/KeySchema")
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|k| crate::at(k, "/KeyType") == kind)
                    .and_then(|k| crate::at(k, "/AttributeName").as_str())
                    .map(str::to_owned)
            };
            out.push(IndexDef {
                name: crate::at(index, "/IndexName")
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                global,
                hash: key("HASH").unwrap_or_default(),
                range: key("RANGE"),
                projection: crate::at(index, "/Projection/ProjectionType")
                    .as_str()
                    .unwrap_or("ALL")
                    .to_owned(),
                non_key: crate::at(index, "/Projection/NonKeyAttributes")
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a.as_str().map(str::to_owned))
                    .collect(),
                item_count: crate::at(index, "/ItemCount").as_u64(),
                status: if global {
                    crate::at(index, "/IndexStatus")
                        .as_str()
                        .unwrap_or_default()
                        .to_owned()
                } else {
                    "ACTIVE".to_owned()
                },
            });
        }
    }
    out
}

/// The index entry of `item` (`None`: the item lacks an index key attribute — sparse).
pub fn project(table_keys: &[String], index: &IndexDef, item: &Item) -> Option<Item> {
    let index_keys: Vec<&String> = std::iter::once(&index.hash)
        .chain(index.range.as_ref())
        .collect();
    if index_keys.iter().any(|k| item.get(k).is_none()) {
        return None;
    }
    if index.projection == "ALL" {
        return Some(item.clone());
    }
    let mut out = Item::new();
    let include = index.non_key.iter();
    for name in table_keys.iter().chain(index_keys).chain(include) {
        if let Some(value) = item.get(name) {
            out.insert(name.clone(), value.clone());
        }
    }
    Some(out)
}

/// Checks every index of `name` against `table`; returns (indexes checked, indexes skipped
/// because they are backfilling). `strict`: a backfilling index is an error.
pub fn check_indexes(
    db: &Database,
    name: &str,
    table: &TableModel,
    strict: bool,
) -> Result<(u64, u64), String> {
    let description = describe(db, name)?;
    let (mut checked, mut backfilling) = (0, 0);
    for index in index_defs(&description) {
        if index.status != "ACTIVE" {
            if strict || index.status != "CREATING" {
                return Err(format!(
                    "index {} of {name} is {}{}",
                    index.name,
                    index.status,
                    if strict { " at the final check" } else { "" }
                ));
            }
            backfilling += 1;
            continue;
        }
        check_index(db, name, table, &index)?;
        checked += 1;
    }
    Ok((checked, backfilling))
}

fn check_index(
    db: &Database,
    name: &str,
    table: &TableModel,
    index: &IndexDef,
) -> Result<(), String> {
    let what = format!("index {} of {name}", index.name);
    let mut expected = BTreeMap::new();
    for (key, item) in &table.items {
        if let Some(entry) = project(&table.keys, index, item) {
            expected.insert(key.clone(), entry);
        }
    }
    let found = scan_items(db, name, Some(&index.name), &table.keys)?;
    compare_tables(&format!("{what} (Scan)"), &expected, &found)?;
    let want = u64::try_from(expected.len()).unwrap_or(u64::MAX);
    if index.item_count != Some(want) {
        return Err(format!(
            "{what}: DescribeTable says ItemCount {:?}, the index holds {want} entries",
            index.item_count
        ));
    }
    // A Query per partition value present.
    let mut partitions: BTreeMap<String, (Value, BTreeMap<String, Item>)> = BTreeMap::new();
    for (key, entry) in &expected {
        let Some(value) = entry.get(&index.hash) else {
            continue;
        };
        let text = value.to_canonical_json();
        let json: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        partitions
            .entry(text)
            .or_insert_with(|| (json, BTreeMap::new()))
            .1
            .insert(key.clone(), entry.clone());
    }
    for (text, (value, want)) in partitions {
        let got = query_partition(db, name, index, &value, &table.keys)?;
        compare_tables(
            &format!("{what} (Query {} = {text})", index.hash),
            &want,
            &got,
        )?;
    }
    Ok(())
}

/// Every entry of one index partition, checking that they come in sort key order.
fn query_partition(
    db: &Database,
    table: &str,
    index: &IndexDef,
    value: &Value,
    keys: &[String],
) -> Result<BTreeMap<String, Item>, String> {
    let mut request = json!({
        "TableName": table,
        "IndexName": index.name,
        "KeyConditionExpression": "#h = :h",
        "ExpressionAttributeNames": {"#h": index.hash},
        "ExpressionAttributeValues": {":h": value},
        "Limit": 50
    });
    let mut out = BTreeMap::new();
    let mut previous: Option<Vec<u8>> = None;
    loop {
        let page = call(db, "Query", &request)?;
        for value in crate::at(&page, "/Items").as_array().into_iter().flatten() {
            let item = item_of(value)?;
            if let Some(range) = &index.range {
                let encoded = item
                    .get(range)
                    .and_then(KeyValue::from_attribute)
                    .map(|k| {
                        let mut out = Vec::new();
                        k.encode(&mut out);
                        out
                    })
                    .ok_or_else(|| {
                        format!("Query of {} returned an entry without {range}", index.name)
                    })?;
                if previous.as_ref().is_some_and(|p| *p > encoded) {
                    return Err(format!(
                        "Query of index {} of {table} returned entries out of {range} order",
                        index.name
                    ));
                }
                previous = Some(encoded);
            }
            out.insert(key_string(&item, keys)?, item);
        }
        match page.get("LastEvaluatedKey") {
            Some(k) => crate::set(&mut request, "ExclusiveStartKey", k.clone()),
            None => return Ok(out),
        }
    }
}
