//! PutItem, DeleteItem, UpdateItem and BatchWriteItem on the item list.
//!
//! Order of checks, as DynamoDB: the request (item or key against the schema, expressions
//! parsed in DynamoDB's order, unused placeholders), then the condition against the item as
//! it is, then (UpdateItem) the update applied and the new item validated.

use ddb_model::expr::{
    ConditionExpression, ExpressionAttributes, ExpressionKind, Step, UpdateExpression, Usage,
};
use ddb_model::{Item, TableSchema};
use serde_json::{Value, json};

use super::order::key_item;
use super::{
    Model, ModelResult, Request, Table, item_from_json, item_to_json, service, validation,
};

/// The position of the item with key `key` in `table.items`.
fn position(table: &Table, key: &Item) -> Option<usize> {
    table
        .items
        .iter()
        .position(|item| key_item(item, &table.schema.key) == *key)
}

/// Parses the ConditionExpression of a write, with the request's placeholder maps.
struct Expressions {
    condition: Option<ConditionExpression>,
    update: Option<UpdateExpression>,
}

fn expressions(req: &Request<'_>, with_update: bool) -> ModelResult<Expressions> {
    let names = req.names();
    let values = req.values()?;
    let attrs = ExpressionAttributes::new(names.as_ref(), values.as_ref()).map_err(service)?;
    let mut usage = Usage::default();
    let update = if with_update {
        let text = req.str("UpdateExpression").expect("UpdateExpression");
        Some(UpdateExpression::parse(text, &attrs, &mut usage).map_err(service)?)
    } else {
        None
    };
    let condition = req
        .str("ConditionExpression")
        .map(|text| ConditionExpression::parse(text, ExpressionKind::Condition, &attrs, &mut usage))
        .transpose()
        .map_err(service)?;
    attrs.check_unused(&usage).map_err(service)?;
    Ok(Expressions { condition, update })
}

fn return_values<'a>(req: &Request<'a>, allowed: &[&str]) -> &'a str {
    let value = req.str("ReturnValues").unwrap_or("NONE");
    assert!(
        allowed.contains(&value),
        "the model does not implement ReturnValues {value} here"
    );
    value
}

fn attributes_response(item: Option<&Item>) -> Value {
    match item {
        Some(item) if !item.is_empty() => json!({ "Attributes": item_to_json(item) }),
        _ => json!({}),
    }
}

const WRITE_MEMBERS: [&str; 5] = [
    "TableName",
    "ConditionExpression",
    "ExpressionAttributeNames",
    "ExpressionAttributeValues",
    "ReturnValues",
];

pub fn put_item(model: &mut Model, request: &Value) -> ModelResult {
    let req = Request(request);
    let mut known = WRITE_MEMBERS.to_vec();
    known.push("Item");
    req.only(&known);
    let table = model.table_mut(req.table_name())?;
    let item = req.item("Item")?.expect("Item");
    table.schema.validate_item(&item).map_err(service)?;
    let returns = return_values(&req, &["NONE", "ALL_OLD"]);
    let exprs = expressions(&req, false)?;
    let key = key_item(&item, &table.schema.key);
    let at = position(table, &key);
    let old = at.map(|i| table.items[i].clone());
    if let Some(condition) = &exprs.condition {
        condition.check(old.as_ref()).map_err(service)?;
    }
    match at {
        Some(i) => table.items[i] = item,
        None => table.items.push(item),
    }
    Ok(match returns {
        "ALL_OLD" => attributes_response(old.as_ref()),
        _ => json!({}),
    })
}

pub fn delete_item(model: &mut Model, request: &Value) -> ModelResult {
    let req = Request(request);
    let mut known = WRITE_MEMBERS.to_vec();
    known.push("Key");
    req.only(&known);
    let table = model.table_mut(req.table_name())?;
    let key = req.item("Key")?.expect("Key");
    table.schema.validate_key(&key).map_err(service)?;
    let returns = return_values(&req, &["NONE", "ALL_OLD"]);
    let exprs = expressions(&req, false)?;
    let at = position(table, &key);
    let old = at.map(|i| table.items[i].clone());
    if let Some(condition) = &exprs.condition {
        condition.check(old.as_ref()).map_err(service)?;
    }
    if let Some(i) = at {
        table.items.remove(i);
    }
    Ok(match returns {
        "ALL_OLD" => attributes_response(old.as_ref()),
        _ => json!({}),
    })
}

pub fn update_item(model: &mut Model, request: &Value) -> ModelResult {
    let req = Request(request);
    let mut known = WRITE_MEMBERS.to_vec();
    known.extend(["Key", "UpdateExpression"]);
    req.only(&known);
    let table = model.table_mut(req.table_name())?;
    let key = req.item("Key")?.expect("Key");
    table.schema.validate_key(&key).map_err(service)?;
    let returns = return_values(
        &req,
        &["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"],
    );
    let exprs = expressions(&req, true)?;
    let update = exprs.update.expect("parsed");
    update
        .check_key_attributes(&table.schema.key)
        .map_err(service)?;
    let at = position(table, &key);
    let old = at.map(|i| table.items[i].clone());
    if let Some(condition) = &exprs.condition {
        condition.check(old.as_ref()).map_err(service)?;
    }
    // UpdateItem creates a missing item: the key plus whatever the update sets — unless the
    // update sets nothing (only REMOVE/DELETE of absent attributes): DynamoDB then creates no
    // item (ScyllaDB Alternator's tests, run against DynamoDB).
    let mut new = update.apply(old.as_ref()).map_err(service)?;
    if old.is_none() && new.is_empty() {
        return Ok(json!({}));
    }
    for (name, value) in key.iter() {
        new.insert(name.clone(), value.clone());
    }
    table.schema.validate_item(&new).map_err(service)?;
    match at {
        Some(i) => table.items[i] = new.clone(),
        None => table.items.push(new.clone()),
    }
    // UPDATED_*: the top-level attributes the update's actions name (the differential test
    // only generates top-level paths; DynamoDB narrows nested paths further).
    let updated = |item: &Item| -> Item {
        item.iter()
            .filter(|(name, _)| {
                update.actions().iter().any(
                    |action| matches!(action.path().0.first(), Some(Step::Key(n)) if n == *name),
                )
            })
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect()
    };
    Ok(match returns {
        "ALL_OLD" => attributes_response(old.as_ref()),
        "UPDATED_OLD" => attributes_response(old.as_ref().map(updated).as_ref()),
        "ALL_NEW" => attributes_response(Some(&new)),
        "UPDATED_NEW" => attributes_response(Some(&updated(&new))),
        _ => json!({}),
    })
}

/// One change of a BatchWriteItem, checked.
enum Change {
    Put(Item),
    Delete(Item),
}

pub fn batch_write_item(model: &mut Model, request: &Value) -> ModelResult {
    let req = Request(request);
    req.only(&["RequestItems"]);
    let tables = req
        .get("RequestItems")
        .and_then(Value::as_object)
        .expect("RequestItems");
    // Validate everything first: one bad request fails the whole batch, nothing written.
    let mut plan: Vec<(String, Vec<Change>)> = Vec::new();
    for (name, requests) in tables {
        let table = model.table(name)?;
        let mut changes = Vec::new();
        let mut keys: Vec<Item> = Vec::new();
        for request in requests.as_array().expect("a list of write requests") {
            let change = change_of(&table.schema, request)?;
            let key = match &change {
                Change::Put(item) => key_item(item, &table.schema.key),
                Change::Delete(key) => key.clone(),
            };
            if keys.contains(&key) {
                return Err(validation("Provided list of item keys contains duplicates"));
            }
            keys.push(key);
            changes.push(change);
        }
        plan.push((name.clone(), changes));
    }
    for (name, changes) in plan {
        let table = model.table_mut(&name)?;
        for change in changes {
            match change {
                Change::Put(item) => {
                    let key = key_item(&item, &table.schema.key);
                    match position(table, &key) {
                        Some(i) => table.items[i] = item,
                        None => table.items.push(item),
                    }
                }
                Change::Delete(key) => {
                    if let Some(i) = position(table, &key) {
                        table.items.remove(i);
                    }
                }
            }
        }
    }
    Ok(json!({ "UnprocessedItems": {} }))
}

fn change_of(schema: &TableSchema, request: &Value) -> ModelResult<Change> {
    if let Some(put) = request.get("PutRequest") {
        let item = item_from_json(put.get("Item").expect("PutRequest.Item"))?;
        schema.validate_item(&item).map_err(service)?;
        return Ok(Change::Put(item));
    }
    let delete = request
        .get("DeleteRequest")
        .expect("PutRequest or DeleteRequest");
    let key = item_from_json(delete.get("Key").expect("DeleteRequest.Key"))?;
    schema.validate_key(&key).map_err(service)?;
    Ok(Change::Delete(key))
}
