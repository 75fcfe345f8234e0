//! BatchWriteItem and BatchGetItem.
//!
//! Every request of a batch is checked before anything is written or read, so a batch with
//! one bad request fails whole. Writes are applied table by table, each table's share as one
//! atomic [`TableStore::apply_batch`](crate::store::TableStore::apply_batch): DynamoDB makes
//! no promise across tables either, and nothing is ever left unprocessed
//! (`UnprocessedItems` / `UnprocessedKeys` are always empty).

use std::collections::HashSet;

use ddb_model::expr::{ProjectionExpression, Usage};
use ddb_model::{DdbError, ITEM_SIZE_BYTES_MAX, Item, Result};
use serde_json::{Map, Value};

use super::request::{
    ExpressionMaps, Request, Violations, check_expression_params, item_from_json, item_to_json,
};
use crate::store::{Change, Tables};

/// DynamoDB's limits: requests in one BatchWriteItem, keys in one BatchGetItem.
const BATCH_WRITE_REQUESTS_MAX: usize = 25;
const BATCH_GET_KEYS_MAX: usize = 100;

fn duplicates() -> DdbError {
    DdbError::validation("Provided list of item keys contains duplicates")
}

/// `RequestItems`: required, a non-empty map keyed by valid table names.
fn request_items<'a>(
    request: &Request<'a>,
    violations: &mut Violations,
) -> Result<Option<&'a Map<String, Value>>> {
    let items = request.object("RequestItems")?;
    match items {
        None => violations.push(None, "requestItems", "Member must not be null"),
        Some(map) if map.is_empty() => violations.push(
            Some("{}"),
            "requestItems",
            "Member must have length greater than or equal to 1",
        ),
        Some(map) => {
            let bad_name = map
                .keys()
                .any(|name| ddb_model::table::validate_table_name(name).is_err());
            if bad_name {
                violations.push(
                    None,
                    "requestItems",
                    "Map keys must satisfy constraint: [Member must have length less than or \
                     equal to 255, Member must have length greater than or equal to 3, Member \
                     must satisfy regular expression pattern: [a-zA-Z0-9_.-]+]",
                );
            }
        }
    }
    Ok(items)
}

enum Write {
    Put(Item),
    Delete(Item),
}

fn write_request(value: &Value) -> Result<Write> {
    let not_one = || {
        // DynamoDB's (odd) message for a write request without exactly one member, as
        // dynalite's suite records it.
        DdbError::validation(
            "Supplied AttributeValue has more than one datatypes set, must contain exactly one \
             of the supported datatypes",
        )
    };
    let Value::Object(members) = value else {
        return Err(DdbError::serialization("Expected null"));
    };
    let request = Request::from_map(members);
    let put = request.object("PutRequest")?;
    let delete = request.object("DeleteRequest")?;
    match (put, delete) {
        (Some(put), None) => {
            let item = Request::from_map(put).item("Item")?.ok_or_else(|| {
                DdbError::validation(
                    "1 validation error detected: Value null at \
                     'requestItems.member.putRequest.item' failed to satisfy constraint: Member \
                     must not be null",
                )
            })?;
            if item.size_bytes() > ITEM_SIZE_BYTES_MAX {
                return Err(DdbError::validation(
                    "Item size has exceeded the maximum allowed size",
                ));
            }
            Ok(Write::Put(item))
        }
        (None, Some(delete)) => {
            let key = Request::from_map(delete).item("Key")?.ok_or_else(|| {
                DdbError::validation(
                    "1 validation error detected: Value null at \
                     'requestItems.member.deleteRequest.key' failed to satisfy constraint: \
                     Member must not be null",
                )
            })?;
            Ok(Write::Delete(key))
        }
        _ => Err(not_one()),
    }
}

pub(crate) fn batch_write_item(tables: &dyn Tables, body: &Value) -> Result<Value> {
    let request = Request::new(body)?;
    let mut violations = Violations::default();
    request.capacity_members(&mut violations, true)?;
    let items = request_items(&request, &mut violations)?;
    let mut parsed: Vec<(&str, Vec<Write>)> = Vec::new();
    if let Some(items) = items {
        for (table, requests) in items {
            let Value::Array(requests) = requests else {
                return Err(DdbError::serialization("Expected list or null"));
            };
            if requests.is_empty() || requests.len() > BATCH_WRITE_REQUESTS_MAX {
                // DynamoDB prints the map's Java rendering as the value; we name the table.
                violations.push(
                    Some(&format!("{{{table}=[{} write requests]}}", requests.len())),
                    "requestItems",
                    "Map value must satisfy constraint: [Member must have length less than or \
                     equal to 25, Member must have length greater than or equal to 1]",
                );
            }
            parsed.push((table, Vec::new()));
            if let Some((_, writes)) = parsed.last_mut() {
                for request in requests {
                    writes.push(write_request(request)?);
                }
            }
        }
    }
    violations.into_result()?;
    let total: usize = parsed.iter().map(|(_, writes)| writes.len()).sum();
    if total > BATCH_WRITE_REQUESTS_MAX {
        return Err(DdbError::validation(
            "Too many items requested for the BatchWriteItem call",
        ));
    }

    let mut plans = Vec::with_capacity(parsed.len());
    for (name, writes) in parsed {
        let table = tables.table(name)?;
        let schema = table.schema();
        let mut seen = HashSet::new();
        let mut changes = Vec::with_capacity(writes.len());
        for write in writes {
            let (key, change) = match write {
                Write::Put(item) => {
                    // DynamoDB reports a put item without its key as a key mismatch here
                    // (dynalite rewrites the PutItem messages the same way).
                    table
                        .write_schema()
                        .validate_item(&item)
                        .map_err(key_mismatch)?;
                    (
                        schema.table_key(&item).map_err(key_mismatch)?,
                        Change::Put(item),
                    )
                }
                Write::Delete(key) => {
                    schema.validate_key(&key)?;
                    (schema.table_key(&key)?, Change::Delete)
                }
            };
            if !seen.insert(key.clone()) {
                return Err(duplicates());
            }
            changes.push((key, change));
        }
        plans.push((table, changes));
    }
    for (table, changes) in plans {
        table.apply_batch(changes)?;
    }
    let mut out = Map::new();
    out.insert("UnprocessedItems".to_owned(), Value::Object(Map::new()));
    Ok(Value::Object(out))
}

fn key_mismatch(err: DdbError) -> DdbError {
    let message = err.message();
    if message.contains("Missing the key") || message.contains("Type mismatch for key") {
        DdbError::validation("The provided key element does not match the schema")
    } else {
        err
    }
}

/// One table's share of a BatchGetItem.
struct TableKeys<'a> {
    table: &'a str,
    keys: Vec<Item>,
    projection: Option<ProjectionExpression>,
}

pub(crate) fn batch_get_item(tables: &dyn Tables, body: &Value) -> Result<Value> {
    let request = Request::new(body)?;
    let mut violations = Violations::default();
    request.capacity_members(&mut violations, false)?;
    let items = request_items(&request, &mut violations)?;
    let mut shares = Vec::new();
    let mut total = 0usize;
    if let Some(items) = items {
        for (table, share) in items {
            let Value::Object(share) = share else {
                return Err(DdbError::serialization("Expected null"));
            };
            let share = Request::from_map(share);
            share.bool("ConsistentRead")?;
            let keys = share.list("Keys")?;
            match keys {
                None => violations.push(
                    None,
                    &format!("requestItems.{table}.member.keys"),
                    "Member must not be null",
                ),
                Some(keys) if keys.is_empty() || keys.len() > BATCH_GET_KEYS_MAX => violations.push(
                    None,
                    &format!("requestItems.{table}.member.keys"),
                    "Member must have length less than or equal to 100, Member must have length \
                     greater than or equal to 1",
                ),
                Some(_) => {}
            }
            shares.push((table.as_str(), share, keys));
        }
    }
    violations.into_result()?;
    let mut parsed = Vec::with_capacity(shares.len());
    for (table, share, keys) in shares {
        check_expression_params(&share, &["ProjectionExpression"], &["AttributesToGet"])?;
        let mut seen = HashSet::new();
        let mut parsed_keys = Vec::new();
        for key in keys.into_iter().flatten() {
            let key = item_from_json(key)?;
            if !seen.insert(key.clone()) {
                return Err(duplicates());
            }
            total += 1;
            if total > BATCH_GET_KEYS_MAX {
                return Err(DdbError::validation(
                    "Too many items requested for the BatchGetItem call",
                ));
            }
            parsed_keys.push(key);
        }
        let maps = ExpressionMaps::from_request(&share)?;
        let attrs = maps.attributes()?;
        let mut usage = Usage::default();
        let projection = share
            .str("ProjectionExpression")?
            .map(|text| ProjectionExpression::parse(text, &attrs, &mut usage))
            .transpose()?;
        attrs.check_unused(&usage)?;
        parsed.push(TableKeys {
            table,
            keys: parsed_keys,
            projection,
        });
    }

    let mut responses = Map::new();
    for share in parsed {
        let table = tables.table(share.table)?;
        let mut found = Vec::new();
        for key in &share.keys {
            table.schema().validate_key(key)?;
            let encoded = table.schema().table_key(key)?;
            if let Some(item) = table.get(&encoded)? {
                let item = match &share.projection {
                    Some(p) => p.apply(&item),
                    None => item,
                };
                found.push(item_to_json(&item)?);
            }
        }
        responses.insert(share.table.to_owned(), Value::Array(found));
    }
    let mut out = Map::new();
    out.insert("Responses".to_owned(), Value::Object(responses));
    out.insert("UnprocessedKeys".to_owned(), Value::Object(Map::new()));
    Ok(Value::Object(out))
}
