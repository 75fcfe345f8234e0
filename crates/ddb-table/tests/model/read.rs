//! GetItem, Query and Scan, by brute force over the table's items.
//!
//! A Query or Scan page is computed from scratch every time: derive the entries of the table
//! or index, keep those the key condition selects, sort them (reversed for
//! `ScanIndexForward: false`), drop everything up to and including `ExclusiveStartKey`, then
//! read entries one by one until `Limit` entries were read or the page size rule stops it.
//! Only then the filter applies (`ScannedCount` counts entries read, `Count` those that
//! passed) and the projection. `LastEvaluatedKey` is the key of the last entry read
//! (table key, plus the index key for an index) whenever the page was stopped by `Limit` or
//! by the size rule — even if no entry follows, as DynamoDB does — and absent otherwise.

use std::cmp::Ordering;

use ddb_model::expr::{
    ConditionExpression, ExpressionAttributes, ExpressionKind, KeyCondition, ProjectionExpression,
    SortCondition, Usage,
};
use ddb_model::{AttributeValue, IndexSchema, Item, KeyDef, ResolvedProjection};
use serde_json::{Map, Value, json};

use super::order::{self, Entry, compare, compare_keys, key_item, key_tuple};
use super::{Model, ModelResult, Request, item_to_json, service, validation};

/// The page size rule: entries are read while the sum of the DynamoDB sizes
/// (`Item::size_bytes`) of the entries already read is below 1 MiB; the entry that reaches it
/// is the last of the page. The size counted is the entry's as the table or index holds it
/// (the projected item for an index; the table item when an LSI read fetches it), before the
/// filter and the ProjectionExpression, as in
/// DynamoDB ("the 1 MB limit applies before any FilterExpression") and dynalite (which also
/// keeps the entry that crosses the threshold).
pub const PAGE_SIZE_BYTES_MAX: usize = 1024 * 1024;

pub fn get_item(model: &Model, request: &Value) -> ModelResult {
    let req = Request(request);
    req.only(&[
        "TableName",
        "Key",
        "ConsistentRead",
        "ProjectionExpression",
        "ExpressionAttributeNames",
    ]);
    let table = model.table(req.table_name())?;
    let key = req.item("Key")?.expect("Key");
    table.schema.validate_key(&key).map_err(service)?;
    let names = req.names();
    let attrs = ExpressionAttributes::new(names.as_ref(), None).map_err(service)?;
    let mut usage = Usage::default();
    let projection = req
        .str("ProjectionExpression")
        .map(|text| ProjectionExpression::parse(text, &attrs, &mut usage))
        .transpose()
        .map_err(service)?;
    attrs.check_unused(&usage).map_err(service)?;
    let found = table
        .items
        .iter()
        .find(|item| key_item(item, &table.schema.key) == key);
    Ok(match found {
        None => json!({}),
        Some(item) => {
            let item = match &projection {
                Some(p) => p.apply(item),
                None => item.clone(),
            };
            json!({ "Item": item_to_json(&item) })
        }
    })
}

pub fn query(model: &Model, request: &Value) -> ModelResult {
    read(model, request, true)
}

pub fn scan(model: &Model, request: &Value) -> ModelResult {
    read(model, request, false)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Select {
    AllAttributes,
    AllProjected,
    Specific,
    Count,
}

fn read(model: &Model, request: &Value, is_query: bool) -> ModelResult {
    let req = Request(request);
    let mut known = vec![
        "TableName",
        "IndexName",
        "Select",
        "Limit",
        "ConsistentRead",
        "ExclusiveStartKey",
        "FilterExpression",
        "ProjectionExpression",
        "ExpressionAttributeNames",
        "ExpressionAttributeValues",
    ];
    if is_query {
        known.extend(["KeyConditionExpression", "ScanIndexForward"]);
    }
    req.only(&known);
    let table = model.table(req.table_name())?;
    let index: Option<&IndexSchema> = match req.str("IndexName") {
        None => None,
        Some(name) => Some(table.schema.index(name).ok_or_else(|| {
            validation(format!(
                "The table does not have the specified index: {name}"
            ))
        })?),
    };
    let target_key: &KeyDef = index.map_or(&table.schema.key, |i| &i.key);

    let names = req.names();
    let values = req.values()?;
    let attrs = ExpressionAttributes::new(names.as_ref(), values.as_ref()).map_err(service)?;
    let mut usage = Usage::default();
    let key_condition = if is_query {
        let text = req
            .str("KeyConditionExpression")
            .expect("the model needs a KeyConditionExpression");
        Some(KeyCondition::parse(text, &attrs, &mut usage, target_key).map_err(service)?)
    } else {
        None
    };
    let filter = req
        .str("FilterExpression")
        .map(|text| ConditionExpression::parse(text, ExpressionKind::Filter, &attrs, &mut usage))
        .transpose()
        .map_err(service)?;
    let projection = req
        .str("ProjectionExpression")
        .map(|text| ProjectionExpression::parse(text, &attrs, &mut usage))
        .transpose()
        .map_err(service)?;
    attrs.check_unused(&usage).map_err(service)?;

    let select = match (req.str("Select"), &projection) {
        (None, Some(_)) | (Some("SPECIFIC_ATTRIBUTES"), Some(_)) => Select::Specific,
        (None, None) if index.is_some() => Select::AllProjected,
        (None, None) | (Some("ALL_ATTRIBUTES"), None) => Select::AllAttributes,
        (Some("ALL_PROJECTED_ATTRIBUTES"), None) if index.is_some() => Select::AllProjected,
        (Some("COUNT"), None) => Select::Count,
        (select, _) => panic!("the model does not implement Select {select:?} here"),
    };
    if let (Select::AllAttributes, Some(index)) = (select, index)
        && !order::is_local(index)
        && index.projection != ResolvedProjection::All
    {
        return Err(validation(format!(
            "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not \
                 supported for global secondary index {} because its projection type is not ALL",
            index.name
        )));
    }
    let forward = req.bool("ScanIndexForward").unwrap_or(true);
    let limit = req.usize("Limit");

    let mut entries: Vec<Entry<'_>> = order::entries(table, index);
    if let Some(condition) = &key_condition {
        entries.retain(|e| matches_key_condition(&e.entry, target_key, condition));
    }
    if !forward {
        entries.reverse();
    }
    if let Some(start) = req.item("ExclusiveStartKey")? {
        let start_order = start_order(&start, &table.schema.key, index)?;
        entries.retain(|e| {
            let o = compare_keys(&e.order, &start_order);
            if forward {
                o == Ordering::Greater
            } else {
                o == Ordering::Less
            }
        });
    }

    // An LSI read that needs attributes the index does not hold reads the table item: its size
    // is what the page counts, and what the filter sees.
    let fetches = index.is_some_and(|index| {
        order::is_local(index)
            && index.projection != ddb_model::ResolvedProjection::All
            && (select == Select::AllAttributes
                || projection.as_ref().is_some_and(|p| {
                    p.top_level_names().any(|name| {
                        !(table.schema.key.contains(name)
                            || index.key.contains(name)
                            || index.projection.includes(name))
                    })
                }))
    });
    let evaluated = |e: &Entry<'_>| -> Item {
        if fetches {
            e.item.clone()
        } else {
            e.entry.clone()
        }
    };
    let mut read: Vec<&Entry<'_>> = Vec::new();
    let mut size_bytes = 0;
    let mut stopped = false;
    for entry in &entries {
        read.push(entry);
        size_bytes += evaluated(entry).size_bytes();
        if limit == Some(read.len()) || size_bytes >= PAGE_SIZE_BYTES_MAX {
            stopped = true;
            break;
        }
    }
    let last_evaluated = stopped.then(|| {
        let last = read.last().expect("a stopped page read an entry");
        let mut key = key_item(last.item, &table.schema.key);
        if let Some(index) = index {
            for (name, value) in key_item(last.item, &index.key) {
                key.insert(name, value);
            }
        }
        key
    });
    let scanned_count = read.len();
    let passed: Vec<&Entry<'_>> = read
        .into_iter()
        .filter(|e| {
            filter
                .as_ref()
                .is_none_or(|f| f.evaluate(Some(&evaluated(e))))
        })
        .collect();

    let mut response = Map::new();
    response.insert("Count".to_owned(), json!(passed.len()));
    response.insert("ScannedCount".to_owned(), json!(scanned_count));
    if select != Select::Count {
        let items: Vec<Value> = passed
            .iter()
            .map(|e| item_to_json(&output(e, index, select, projection.as_ref())))
            .collect();
        response.insert("Items".to_owned(), Value::Array(items));
    }
    if let Some(key) = last_evaluated {
        response.insert("LastEvaluatedKey".to_owned(), item_to_json(&key));
    }
    Ok(Value::Object(response))
}

/// What a read returns of one entry. An LSI read fetches from the table item what the index
/// does not hold (`ALL_ATTRIBUTES`, or a ProjectionExpression naming other attributes); a GSI
/// read only has the entry.
fn output(
    e: &Entry<'_>,
    index: Option<&IndexSchema>,
    select: Select,
    projection: Option<&ProjectionExpression>,
) -> Item {
    let fetchable: &Item = match index {
        Some(index) if !order::is_local(index) => &e.entry,
        _ => e.item,
    };
    match select {
        Select::AllAttributes => fetchable.clone(),
        Select::AllProjected => e.entry.clone(),
        Select::Specific => projection.expect("SPECIFIC_ATTRIBUTES").apply(fetchable),
        Select::Count => Item::new(),
    }
}

fn matches_key_condition(entry: &Item, key: &KeyDef, condition: &KeyCondition) -> bool {
    let Some(tuple) = key_tuple(entry, key) else {
        return false;
    };
    if compare(&tuple[0], &condition.partition) != Ordering::Equal {
        return false;
    }
    let Some(sort) = &condition.sort else {
        return true;
    };
    let value = tuple.get(1).expect("a sort condition needs a sort key");
    let cmp = |bound: &AttributeValue| compare(value, bound);
    match sort {
        SortCondition::Eq(v) => cmp(v).is_eq(),
        SortCondition::Lt(v) => cmp(v).is_lt(),
        SortCondition::Le(v) => cmp(v).is_le(),
        SortCondition::Gt(v) => cmp(v).is_gt(),
        SortCondition::Ge(v) => cmp(v).is_ge(),
        SortCondition::Between(low, high) => cmp(low).is_ge() && cmp(high).is_le(),
        SortCondition::BeginsWith(prefix) => match (value, prefix) {
            (AttributeValue::S(s), AttributeValue::S(p)) => s.as_bytes().starts_with(p.as_bytes()),
            (AttributeValue::B(b), AttributeValue::B(p)) => b.starts_with(p),
            _ => panic!("begins_with on {value:?}"),
        },
    }
}

/// The position of `ExclusiveStartKey` in the order of the table or index read.
fn start_order(
    start: &Item,
    table_key: &KeyDef,
    index: Option<&IndexSchema>,
) -> ModelResult<Vec<AttributeValue>> {
    let invalid = || {
        validation(
            "The provided starting key is invalid: The provided key element does not match the \
             schema",
        )
    };
    let mut order = Vec::new();
    if let Some(index) = index {
        order.extend(key_tuple(start, &index.key).ok_or_else(invalid)?);
    }
    order.extend(key_tuple(start, table_key).ok_or_else(invalid)?);
    Ok(order)
}
