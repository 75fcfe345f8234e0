//! Scan: every entry of the table or of an index, in key order, optionally one segment of a
//! parallel scan.
//!
//! Parallel scan: an entry belongs to segment `xxh3(partition key component) % TotalSegments`
//! (see `page::segment_of`). All entries of a partition fall in one segment, the split is the
//! same on every page and every run, and segments 0..TotalSegments together return each entry
//! exactly once. Each segment still reads the whole key range (the engine has no hash-ordered
//! access), so a parallel scan divides the returned work, not the read work.

use std::ops::Bound;

use ddb_model::{DdbError, Result};
use serde_json::Value;

use super::page::{self, PagePlan, Segment};
use super::read::{
    check_all_attributes, exclusive_start_key, index_name, limit, must_fetch, read_expressions,
    resolve_index, select_mode, start_key,
};
use super::request::{ExpressionMaps, Request, Violations, check_expression_params};
use crate::store::Tables;

/// DynamoDB's bounds (API reference: `Segment` 0..=999999, `TotalSegments` 1..=1000000).
const TOTAL_SEGMENTS_MAX: i64 = 1_000_000;

fn segment_members(
    request: &Request<'_>,
    violations: &mut Violations,
) -> Result<(Option<i64>, Option<i64>)> {
    let segment = request.int("Segment")?;
    let total = request.int("TotalSegments")?;
    if let Some(s) = segment {
        if s < 0 {
            violations.push(
                Some(&s.to_string()),
                "segment",
                "Member must have value greater than or equal to 0",
            );
        } else if s > TOTAL_SEGMENTS_MAX - 1 {
            violations.push(
                Some(&s.to_string()),
                "segment",
                "Member must have value less than or equal to 999999",
            );
        }
    }
    if let Some(t) = total {
        if t < 1 {
            violations.push(
                Some(&t.to_string()),
                "totalSegments",
                "Member must have value greater than or equal to 1",
            );
        } else if t > TOTAL_SEGMENTS_MAX {
            violations.push(
                Some(&t.to_string()),
                "totalSegments",
                "Member must have value less than or equal to 1000000",
            );
        }
    }
    Ok((segment, total))
}

/// The pairing rules of `Segment` and `TotalSegments` (dynalite's messages).
fn segment(segment: Option<i64>, total: Option<i64>) -> Result<Option<Segment>> {
    match (segment, total) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(DdbError::validation(
            "The TotalSegments parameter is required but was not present in the request when \
             Segment parameter is present",
        )),
        (None, Some(_)) => Err(DdbError::validation(
            "The Segment parameter is required but was not present in the request when \
             parameter TotalSegments is present",
        )),
        (Some(s), Some(t)) if s >= t => Err(DdbError::validation(format!(
            "The Segment parameter is zero-based and must be less than parameter \
             TotalSegments: Segment: {s} is not less than TotalSegments: {t}"
        ))),
        (Some(s), Some(t)) => Ok(Some(Segment {
            segment: u64::try_from(s).unwrap_or(0),
            total: u64::try_from(t).unwrap_or(1),
        })),
    }
}

pub(crate) fn scan(tables: &dyn Tables, body: &Value) -> Result<Value> {
    let request = Request::new(body)?;
    let mut violations = Violations::default();
    let table_name = request.table_name(&mut violations)?;
    let index_name = index_name(&request, &mut violations)?;
    let limit = limit(&request, &mut violations)?;
    let (segment_number, total_segments) = segment_members(&request, &mut violations)?;
    request.capacity_members(&mut violations, false)?;
    let consistent_read = request.bool("ConsistentRead")?.unwrap_or(false);
    let (select, select_rule) = select_mode(&request, &mut violations)?;
    violations.into_result()?;
    let Some(table_name) = table_name else {
        return Err(DdbError::validation(
            "The request is missing a required member",
        ));
    };
    check_expression_params(
        &request,
        &["ProjectionExpression", "FilterExpression"],
        &["AttributesToGet", "ScanFilter", "ConditionalOperator"],
    )?;
    let start = exclusive_start_key(&request)?;
    let segment = segment(segment_number, total_segments)?;
    // Scan's Select rules come without the validator's envelope.
    if let Some(rule) = select_rule {
        return Err(DdbError::validation(rule));
    }
    let maps = ExpressionMaps::from_request(&request)?;
    let expressions = read_expressions(&request, &maps, None)?;

    let table = tables.table(table_name)?;
    let schema = table.schema();
    let index = resolve_index(table.as_ref(), index_name, consistent_read)?;
    let lower = match &start {
        Some(start) => Bound::Excluded(start_key(schema, index, start)?),
        None => Bound::Unbounded,
    };
    check_all_attributes(index, select)?;
    let plan = PagePlan {
        table: table.as_ref(),
        index,
        lower,
        upper: Bound::Unbounded,
        forward: true,
        limit: page::limit_count(limit),
        filter: expressions.filter.as_ref(),
        projection: expressions.projection.as_ref(),
        select,
        fetch_table_item: must_fetch(schema, index, select, &expressions),
        segment,
    };
    page::run(&plan)
}
