//! PutItem, DeleteItem and UpdateItem.
//!
//! Each write runs in DynamoDB's order: member types and constraints; the expression/legacy
//! parameter rules; the `ReturnValues` rule; the item's values and size; the expressions
//! (update, then condition) and the unused-placeholder rule; then, against the table, the key
//! or item against the schema, and finally the condition against the current item inside
//! [`TableStore::apply`](crate::store::TableStore::apply), so the check and the write are one
//! atomic step.
//!
//! With `ReturnValuesOnConditionCheckFailure = ALL_OLD`, a `ConditionalCheckFailedException`
//! carries the item it was checked against ([`DdbError::item`]; none if there was no item).

use ddb_model::expr::{ConditionExpression, ExpressionKind, UpdateExpression, Usage};
use ddb_model::{DdbError, ITEM_SIZE_BYTES_MAX, Item, Result};
use serde_json::{Map, Value};

use super::paths::project_paths;
use super::request::{ExpressionMaps, Request, Violations, check_expression_params, item_to_json};
use crate::store::{Change, Tables};

const RETURN_VALUES: [&str; 5] = ["ALL_NEW", "UPDATED_OLD", "ALL_OLD", "NONE", "UPDATED_NEW"];

/// The members every write has: table name, `ReturnValues`, the capacity members and
/// `ReturnValuesOnConditionCheckFailure`, with the item or key member `what` (required).
struct WriteMembers<'a> {
    table: &'a str,
    return_values: &'a str,
    /// `ReturnValuesOnConditionCheckFailure = ALL_OLD`.
    old_on_failure: bool,
    target: Item,
}

fn write_members<'a>(
    request: &Request<'a>,
    target: &str,
    target_path: &str,
) -> Result<WriteMembers<'a>> {
    let mut violations = Violations::default();
    let table = request.table_name(&mut violations)?;
    let return_values = request.enumeration(
        "ReturnValues",
        "returnValues",
        &RETURN_VALUES,
        &mut violations,
    )?;
    let on_failure = request.enumeration(
        "ReturnValuesOnConditionCheckFailure",
        "returnValuesOnConditionCheckFailure",
        &["ALL_OLD", "NONE"],
        &mut violations,
    )?;
    request.capacity_members(&mut violations, true)?;
    // Types first (a serialisation error wins over every constraint), then constraints.
    let item = request.item(target);
    if !request.has(target) {
        violations.push(None, target_path, "Member must not be null");
    }
    let item = item?;
    violations.into_result()?;
    match (table, item) {
        (Some(table), Some(target)) => Ok(WriteMembers {
            table,
            return_values: return_values.unwrap_or("NONE"),
            old_on_failure: on_failure == Some("ALL_OLD"),
            target,
        }),
        // Unreachable: a missing member was reported above.
        _ => Err(DdbError::validation(
            "The request is missing a required member",
        )),
    }
}

fn only_all_old_or_none(return_values: &str) -> Result<()> {
    if return_values == "ALL_OLD" || return_values == "NONE" {
        Ok(())
    } else {
        Err(DdbError::validation(
            "ReturnValues can only be ALL_OLD or NONE",
        ))
    }
}

fn attributes_response(item: Option<&Item>) -> Result<Value> {
    let mut out = Map::new();
    if let Some(item) = item.filter(|i| !i.is_empty()) {
        out.insert("Attributes".to_owned(), item_to_json(item)?);
    }
    Ok(Value::Object(out))
}

fn parse_condition(
    request: &Request<'_>,
    attrs: &ddb_model::expr::ExpressionAttributes<'_>,
    usage: &mut Usage,
) -> Result<Option<ConditionExpression>> {
    request
        .str("ConditionExpression")?
        .map(|text| ConditionExpression::parse(text, ExpressionKind::Condition, attrs, usage))
        .transpose()
}

/// The write's condition against the current item; a failure carries the item if the request
/// asked for it.
fn check(
    condition: Option<&ConditionExpression>,
    item: Option<&Item>,
    old_on_failure: bool,
) -> Result<()> {
    condition.map_or(Ok(()), |c| {
        c.check(item).map_err(|e| {
            if old_on_failure {
                e.with_item(item.cloned())
            } else {
                e
            }
        })
    })
}

pub(crate) fn put_item(tables: &dyn Tables, body: &Value) -> Result<Value> {
    let request = Request::new(body)?;
    let members = write_members(&request, "Item", "item")?;
    check_expression_params(
        &request,
        &["ConditionExpression"],
        &["Expected", "ConditionalOperator"],
    )?;
    only_all_old_or_none(members.return_values)?;
    if members.target.size_bytes() > ITEM_SIZE_BYTES_MAX {
        return Err(DdbError::validation(
            "Item size has exceeded the maximum allowed size",
        ));
    }
    let maps = ExpressionMaps::from_request(&request)?;
    let attrs = maps.attributes()?;
    let mut usage = Usage::default();
    let condition = parse_condition(&request, &attrs, &mut usage)?;
    attrs.check_unused(&usage)?;

    let table = tables.table(members.table)?;
    let item = members.target;
    table.write_schema().validate_item(&item)?;
    let key = table.schema().table_key(&item)?;
    let old = table.apply(&key, &mut |old| {
        check(condition.as_ref(), old, members.old_on_failure)?;
        Ok(Change::Put(item.clone()))
    })?;
    let returned = (members.return_values == "ALL_OLD")
        .then_some(old)
        .flatten();
    attributes_response(returned.as_ref())
}

pub(crate) fn delete_item(tables: &dyn Tables, body: &Value) -> Result<Value> {
    let request = Request::new(body)?;
    let members = write_members(&request, "Key", "key")?;
    check_expression_params(
        &request,
        &["ConditionExpression"],
        &["Expected", "ConditionalOperator"],
    )?;
    only_all_old_or_none(members.return_values)?;
    let maps = ExpressionMaps::from_request(&request)?;
    let attrs = maps.attributes()?;
    let mut usage = Usage::default();
    let condition = parse_condition(&request, &attrs, &mut usage)?;
    attrs.check_unused(&usage)?;

    let table = tables.table(members.table)?;
    table.schema().validate_key(&members.target)?;
    let key = table.schema().table_key(&members.target)?;
    let old = table.apply(&key, &mut |old| {
        check(condition.as_ref(), old, members.old_on_failure)?;
        Ok(Change::Delete)
    })?;
    let returned = (members.return_values == "ALL_OLD")
        .then_some(old)
        .flatten();
    attributes_response(returned.as_ref())
}

pub(crate) fn update_item(tables: &dyn Tables, body: &Value) -> Result<Value> {
    let request = Request::new(body)?;
    let members = write_members(&request, "Key", "key")?;
    check_expression_params(
        &request,
        &["UpdateExpression", "ConditionExpression"],
        &["AttributeUpdates", "Expected", "ConditionalOperator"],
    )?;
    let maps = ExpressionMaps::from_request(&request)?;
    let attrs = maps.attributes()?;
    let mut usage = Usage::default();
    let update = request
        .str("UpdateExpression")?
        .map(|text| UpdateExpression::parse(text, &attrs, &mut usage))
        .transpose()?;
    let condition = parse_condition(&request, &attrs, &mut usage)?;
    attrs.check_unused(&usage)?;

    let table = tables.table(members.table)?;
    let schema = table.schema();
    let write_schema = table.write_schema();
    let key_item = members.target;
    schema.validate_key(&key_item)?;
    if let Some(update) = &update {
        update.check_key_attributes(&schema.key)?;
    }
    let key = schema.table_key(&key_item)?;
    let mut new_item: Option<Item> = None;
    let old = table.apply(&key, &mut |old| {
        new_item = None;
        check(condition.as_ref(), old, members.old_on_failure)?;
        let mut updated = match &update {
            Some(update) => update.apply(old)?,
            None => old.cloned().unwrap_or_default(),
        };
        // DynamoDB does not create an item for an update that leaves it empty (a REMOVE of
        // attributes that never existed): Alternator's test_update_item_returnvalues_all_new,
        // run against DynamoDB. Nothing is written.
        if old.is_none() && updated.is_empty() && update.is_some() {
            return Ok(Change::Keep);
        }
        for (name, value) in key_item.iter() {
            updated.insert(name.clone(), value.clone());
        }
        write_schema.validate_item(&updated)?;
        new_item = Some(updated.clone());
        Ok(Change::Put(updated))
    })?;
    let touched = || {
        update
            .iter()
            .flat_map(|u| u.actions().iter().map(|a| a.path()))
    };
    let returned = match members.return_values {
        "ALL_OLD" => old,
        "ALL_NEW" => new_item,
        "UPDATED_OLD" => old.map(|o| project_paths(&o, touched())),
        "UPDATED_NEW" => new_item.map(|n| project_paths(&n, touched())),
        _ => None,
    };
    attributes_response(returned.as_ref())
}
