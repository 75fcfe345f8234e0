//! Query: one partition of the table or of an index, in sort-key order.
//!
//! Order of checks, as dynalite's validator and `query` action (built against DynamoDB) run
//! them: member types and constraints (with the `Select` rules); expression/legacy parameters;
//! the `ExclusiveStartKey` values; a key condition at all; the expressions and unused
//! placeholders; then against the table: the index, consistent reads on a GSI, the start key's
//! shape, the key condition's schema rules, the start key against the condition, a filter on
//! key attributes, `ALL_ATTRIBUTES` on a GSI.

use std::ops::Bound;

use ddb_model::expr::{ExpressionAttributes, KeyCondition, Usage};
use ddb_model::{DdbError, Item, KeyDef, Result};
use serde_json::Value;

use super::page::{self, PagePlan};
use super::read::{
    ReadExpressions, check_all_attributes, check_filter_keys, exclusive_start_key, index_name,
    limit, must_fetch, read_expressions, resolve_index, select_mode, start_key,
};
use super::request::{ExpressionMaps, Request, Violations, check_expression_params};
use crate::store::Tables;

pub(crate) fn query(tables: &dyn Tables, body: &Value) -> Result<Value> {
    let request = Request::new(body)?;
    let mut violations = Violations::default();
    let table_name = request.table_name(&mut violations)?;
    let index_name = index_name(&request, &mut violations)?;
    let limit = limit(&request, &mut violations)?;
    request.capacity_members(&mut violations, false)?;
    let consistent_read = request.bool("ConsistentRead")?.unwrap_or(false);
    let forward = request.bool("ScanIndexForward")?.unwrap_or(true);
    let (select, select_rule) = select_mode(&request, &mut violations)?;
    if let Some(rule) = select_rule {
        violations.push_bare(rule);
    }
    violations.into_result()?;
    let Some(table_name) = table_name else {
        return Err(DdbError::validation(
            "The request is missing a required member",
        ));
    };
    check_expression_params(
        &request,
        &[
            "ProjectionExpression",
            "FilterExpression",
            "KeyConditionExpression",
        ],
        &[
            "AttributesToGet",
            "QueryFilter",
            "ConditionalOperator",
            "KeyConditions",
        ],
    )?;
    let start = exclusive_start_key(&request)?;
    let Some(key_condition_text) = request.str("KeyConditionExpression")? else {
        return Err(DdbError::validation(
            "Either the KeyConditions or KeyConditionExpression parameter must be specified in \
             the request.",
        ));
    };
    let maps = ExpressionMaps::from_request(&request)?;
    let expressions = read_expressions(&request, &maps, Some(key_condition_text))?;

    let table = tables.table(table_name)?;
    let schema = table.schema();
    let index = resolve_index(table.as_ref(), index_name, consistent_read)?;
    let key_def = index.map_or(&schema.key, |i| &i.key);
    if let Some(start) = &start {
        // Shape first: the count of attributes, then each queried key attribute.
        start_key(schema, index, start)?;
    }
    let condition = parse_key_condition(key_condition_text, &maps, key_def)?;
    let (mut lower, mut upper) = condition.encoded_bounds();
    if let Some(start) = &start {
        check_start_in_range(&condition, start, key_def)?;
        let bytes = start_key(schema, index, start)?;
        if forward {
            lower = Bound::Excluded(bytes);
        } else {
            upper = Bound::Excluded(bytes);
        }
    }
    check_filter_keys(expressions.filter.as_ref(), key_def)?;
    check_all_attributes(index, select)?;
    run(&RunArgs {
        table: table.as_ref(),
        index,
        lower,
        upper,
        forward,
        limit,
        select,
        expressions: &expressions,
    })
}

struct RunArgs<'a> {
    table: &'a dyn crate::store::TableStore,
    index: Option<&'a ddb_model::IndexSchema>,
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    forward: bool,
    limit: Option<i64>,
    select: page::Select,
    expressions: &'a ReadExpressions,
}

fn run(args: &RunArgs<'_>) -> Result<Value> {
    let plan = PagePlan {
        table: args.table,
        index: args.index,
        lower: args.lower.clone(),
        upper: args.upper.clone(),
        forward: args.forward,
        limit: page::limit_count(args.limit),
        filter: args.expressions.filter.as_ref(),
        projection: args.expressions.projection.as_ref(),
        select: args.select,
        fetch_table_item: must_fetch(
            args.table.schema(),
            args.index,
            args.select,
            args.expressions,
        ),
        segment: None,
    };
    page::run(&plan)
}

/// The key condition against the queried key, with the request's placeholders (their use was
/// recorded when the expressions were first parsed).
fn parse_key_condition(text: &str, maps: &ExpressionMaps, key: &KeyDef) -> Result<KeyCondition> {
    let attrs: ExpressionAttributes<'_> = maps.attributes()?;
    KeyCondition::parse(text, &attrs, &mut Usage::default(), key)
}

/// The start key must lie in the range the condition selects. (dynalite's messages; its
/// order: the partition key value, then the sort key predicate.)
fn check_start_in_range(condition: &KeyCondition, start: &Item, key: &KeyDef) -> Result<()> {
    if start.get(&key.partition.name) != Some(&condition.partition) {
        return Err(DdbError::validation(
            "The provided starting key is outside query boundaries based on provided conditions",
        ));
    }
    if !condition.matches(start, key) {
        return Err(DdbError::validation(
            "The provided starting key does not match the range key predicate",
        ));
    }
    Ok(())
}
