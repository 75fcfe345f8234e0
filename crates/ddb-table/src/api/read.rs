//! GetItem, and what Query and Scan share: the `Select` rules, the index a read names, the
//! `ExclusiveStartKey`, and the decision to fetch table items for an LSI.

use std::collections::BTreeSet;

use ddb_model::expr::{ConditionExpression, ExpressionKind, ProjectionExpression, Usage};
use ddb_model::{
    DdbError, IndexKind, IndexSchema, Item, KeyDef, ProjectionType, Result, TableSchema,
};
use ddb_model::{KeyValue, ResolvedProjection};
use serde_json::{Map, Value};

use super::page::Select;
use super::paths::{condition_paths, heads};
use super::request::{ExpressionMaps, Request, Violations, check_expression_params, item_to_json};
use crate::store::{IndexReadState, TableStore, Tables};

pub(crate) fn get_item(tables: &dyn Tables, body: &Value) -> Result<Value> {
    let request = Request::new(body)?;
    let mut violations = Violations::default();
    let table_name = request.table_name(&mut violations)?;
    request.capacity_members(&mut violations, false)?;
    request.bool("ConsistentRead")?;
    let key = request.item("Key");
    if !request.has("Key") {
        violations.push(None, "key", "Member must not be null");
    }
    let key = key?;
    violations.into_result()?;
    let (Some(table_name), Some(key)) = (table_name, key) else {
        return Err(DdbError::validation(
            "The request is missing a required member",
        ));
    };
    check_expression_params(&request, &["ProjectionExpression"], &["AttributesToGet"])?;
    let maps = ExpressionMaps::from_request(&request)?;
    let attrs = maps.attributes()?;
    let mut usage = Usage::default();
    let projection = request
        .str("ProjectionExpression")?
        .map(|text| ProjectionExpression::parse(text, &attrs, &mut usage))
        .transpose()?;
    attrs.check_unused(&usage)?;

    let table = tables.table(table_name)?;
    table.schema().validate_key(&key)?;
    let encoded = table.schema().table_key(&key)?;
    let mut out = Map::new();
    if let Some(item) = table.get(&encoded)? {
        let item = match &projection {
            Some(p) => p.apply(&item),
            None => item,
        };
        out.insert("Item".to_owned(), item_to_json(&item)?);
    }
    Ok(Value::Object(out))
}

/// The `Select` member and its rules, which need no table. DynamoDB reports them for Query in
/// the validator's envelope (`1 validation error detected: ...`) and for Scan without it
/// (moto's `test_dynamodb_select.py`, verified against AWS). Order: a projection with a
/// non-specific Select, SPECIFIC_ATTRIBUTES without a projection, ALL_PROJECTED_ATTRIBUTES
/// without an index.
pub(crate) fn select_mode(
    request: &Request<'_>,
    violations: &mut Violations,
) -> Result<(Select, Option<String>)> {
    let select = request.enumeration(
        "Select",
        "select",
        &[
            "SPECIFIC_ATTRIBUTES",
            "COUNT",
            "ALL_ATTRIBUTES",
            "ALL_PROJECTED_ATTRIBUTES",
        ],
        violations,
    )?;
    let projection = request.has("ProjectionExpression");
    let index = request.has("IndexName");
    let mode = match select {
        Some("COUNT") => Select::Count,
        Some("ALL_ATTRIBUTES") => Select::AllAttributes,
        Some("ALL_PROJECTED_ATTRIBUTES") => Select::AllProjected,
        Some(_) => Select::Specific,
        None if projection => Select::Specific,
        None if index => Select::AllProjected,
        None => Select::AllAttributes,
    };
    let rule = if projection && mode != Select::Specific {
        let what = match mode {
            Select::Count => "only the Count",
            Select::AllProjected => "ALL_PROJECTED_ATTRIBUTES",
            _ => "ALL_ATTRIBUTES",
        };
        Some(format!(
            "Cannot specify the ProjectionExpression when choosing to get {what}"
        ))
    } else if mode == Select::Specific && !projection {
        Some(
            "Must specify the AttributesToGet or ProjectionExpression when choosing to get \
             SPECIFIC_ATTRIBUTES"
                .to_owned(),
        )
    } else if mode == Select::AllProjected && !index {
        Some(
            "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName".to_owned(),
        )
    } else {
        None
    };
    Ok((mode, rule))
}

/// `Limit`, checked.
pub(crate) fn limit(request: &Request<'_>, violations: &mut Violations) -> Result<Option<i64>> {
    let limit = request.int("Limit")?;
    if let Some(l) = limit.filter(|l| *l < 1) {
        violations.push(
            Some(&l.to_string()),
            "limit",
            "Member must have value greater than or equal to 1",
        );
    }
    Ok(limit)
}

/// `IndexName`, checked as a name.
pub(crate) fn index_name<'a>(
    request: &Request<'a>,
    violations: &mut Violations,
) -> Result<Option<&'a str>> {
    let name = request.str("IndexName")?;
    if let Some(n) = name {
        violations.absorb(ddb_model::table::validate_index_name(n));
    }
    Ok(name)
}

/// The expressions of a read other than the key condition, parsed in DynamoDB's order with
/// the request's placeholders; `key_condition` (Query) is syntax-checked first, in its place.
pub(crate) struct ReadExpressions {
    pub(crate) filter: Option<ConditionExpression>,
    pub(crate) projection: Option<ProjectionExpression>,
}

pub(crate) fn read_expressions(
    request: &Request<'_>,
    maps: &ExpressionMaps,
    key_condition: Option<&str>,
) -> Result<ReadExpressions> {
    let attrs = maps.attributes()?;
    let mut usage = Usage::default();
    if let Some(text) = key_condition {
        // The schema rules of the key condition need the table; its syntax, names and values
        // are checked now, as DynamoDB checks them before it looks the table up.
        ConditionExpression::parse(text, ExpressionKind::KeyCondition, &attrs, &mut usage)?;
    }
    let filter = request
        .str("FilterExpression")?
        .map(|text| ConditionExpression::parse(text, ExpressionKind::Filter, &attrs, &mut usage))
        .transpose()?;
    let projection = request
        .str("ProjectionExpression")?
        .map(|text| ProjectionExpression::parse(text, &attrs, &mut usage))
        .transpose()?;
    attrs.check_unused(&usage)?;
    Ok(ReadExpressions { filter, projection })
}

/// The index a read names, with DynamoDB's errors for a missing or unreadable one.
pub(crate) fn resolve_index<'t>(
    table: &'t dyn TableStore,
    name: Option<&str>,
    consistent_read: bool,
) -> Result<Option<&'t IndexSchema>> {
    let Some(name) = name else {
        return Ok(None);
    };
    let Some((index, state)) = table.index(name) else {
        // dynalite's current wording (it names the index).
        return Err(DdbError::validation(format!(
            "The table does not have the specified index: {name}"
        )));
    };
    if state == IndexReadState::Backfilling {
        return Err(DdbError::validation(format!(
            "Cannot read from backfilling global secondary index: {name}"
        )));
    }
    if index.kind == IndexKind::Global && consistent_read {
        return Err(DdbError::validation(
            "Consistent reads are not supported on global secondary indexes",
        ));
    }
    Ok(Some(index))
}

/// `ALL_ATTRIBUTES` on a GSI that does not project everything: DynamoDB's message (moto's
/// AWS-verified `test_dynamodb_select.py`).
pub(crate) fn check_all_attributes(index: Option<&IndexSchema>, select: Select) -> Result<()> {
    match index {
        Some(index)
            if select == Select::AllAttributes
                && index.kind == IndexKind::Global
                && index.projection != ResolvedProjection::All =>
        {
            Err(DdbError::validation(format!(
                "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not \
                 supported for global secondary index {} because its projection type is not {}",
                index.name,
                ProjectionType::All.as_str()
            )))
        }
        _ => Ok(()),
    }
}

/// Whether an LSI read must fetch table items: `ALL_ATTRIBUTES`, or a filter or projection
/// that names an attribute the index does not hold (DynamoDB fetches such attributes from the
/// table for an LSI; a GSI simply does not have them).
pub(crate) fn must_fetch(
    schema: &TableSchema,
    index: Option<&IndexSchema>,
    select: Select,
    expressions: &ReadExpressions,
) -> bool {
    let Some(index) = index else {
        return false;
    };
    if index.kind != IndexKind::Local || index.projection == ResolvedProjection::All {
        return false;
    }
    if select == Select::AllAttributes {
        return true;
    }
    let mut paths = Vec::new();
    if let Some(filter) = &expressions.filter {
        condition_paths(filter.condition(), &mut paths);
    }
    if let Some(projection) = &expressions.projection {
        paths.extend(projection.paths());
    }
    heads(paths).into_iter().any(|name| {
        !(schema.key.contains(name) || index.key.contains(name) || index.projection.includes(name))
    })
}

/// The attributes a filter names that are key attributes of `key` (Query only: DynamoDB
/// refuses them, the key condition is the place for them).
pub(crate) fn check_filter_keys(filter: Option<&ConditionExpression>, key: &KeyDef) -> Result<()> {
    let Some(filter) = filter else {
        return Ok(());
    };
    let mut paths = Vec::new();
    condition_paths(filter.condition(), &mut paths);
    let named: BTreeSet<&str> = heads(paths).into_iter().collect();
    match key.attributes().find(|a| named.contains(a.name.as_str())) {
        Some(attr) => Err(DdbError::validation(format!(
            "Filter Expression can only contain non-primary key attributes: Primary key \
             attribute: {}",
            attr.name
        ))),
        None => Ok(()),
    }
}

fn invalid_start_key() -> DdbError {
    DdbError::validation("The provided starting key is invalid")
}

/// The entry key an `ExclusiveStartKey` names: the table key, or for an index the index key
/// (`TableSchema::index_key`). It must hold exactly the table key attributes and the index key
/// attributes (dynalite's checks and messages).
pub(crate) fn start_key(
    schema: &TableSchema,
    index: Option<&IndexSchema>,
    start: &Item,
) -> Result<Vec<u8>> {
    let queried = index.map_or(&schema.key, |i| &i.key);
    let mut names: BTreeSet<&str> = schema.key.attributes().map(|a| a.name.as_str()).collect();
    names.extend(queried.attributes().map(|a| a.name.as_str()));
    if start.len() != names.len() {
        return Err(invalid_start_key());
    }
    for attr in queried.attributes() {
        let value = start.get(&attr.name).ok_or_else(invalid_start_key)?;
        let typed =
            KeyValue::from_attribute(value).filter(|v| v.attribute_type() == attr.attribute_type);
        if typed.is_none() {
            return Err(DdbError::validation(
                "The provided key element does not match the schema",
            ));
        }
    }
    let table_part: Item = schema
        .key
        .attributes()
        .filter_map(|a| Some((a.name.clone(), start.get(&a.name)?.clone())))
        .collect();
    schema.validate_key(&table_part).map_err(|e| {
        DdbError::validation(format!(
            "The provided starting key is invalid: {}",
            e.message()
        ))
    })?;
    match index {
        None => schema.table_key(start),
        Some(index) => schema.index_key(index, start).ok_or_else(invalid_start_key),
    }
}

/// `ExclusiveStartKey`, its values validated as DynamoDB reports them.
pub(crate) fn exclusive_start_key(request: &Request<'_>) -> Result<Option<Item>> {
    request.item("ExclusiveStartKey").map_err(|e| {
        if e.kind() == ddb_model::ErrorKind::Validation {
            DdbError::validation(format!(
                "The provided starting key is invalid: {}",
                e.message()
            ))
        } else {
            e
        }
    })
}
