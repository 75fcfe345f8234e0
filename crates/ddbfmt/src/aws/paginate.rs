//! Automatic pagination as the AWS CLI v2 does it (botocore's `PageIterator` and
//! `build_full_result`): follow the output token, merge the result keys, stop at `--max-items`
//! with a resumable `NextToken`.
//!
//! The merged output keeps botocore's accounting, quirks included, so it matches what
//! `aws dynamodb` prints for the same pages: only the first result key (`Items`,
//! `TableNames`) is cut at `--max-items`; `Count` and `ScannedCount` are the sums of the whole
//! pages fetched, and a resumed first page (`--starting-token`) adds 0 to them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ddb_model::DdbError;
use serde_json::{Map, Value};

use super::request::Paging;
use super::spec::Paginator;

/// The key botocore stores in a token for how many results of the page to skip.
const TRUNCATE_AMOUNT: &str = "boto_truncate_amount";

/// Why pagination stopped without a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageError {
    /// A request failed.
    Service(DdbError),
    /// `--starting-token` is not one this paginator issued, or the service repeated a token
    /// (botocore's `ValueError` / `PaginationError`: exit 255).
    Pagination(String),
}

/// Runs `request` through `call` page by page and returns the merged result.
pub fn paginate(
    paging: &Paging,
    request: &Value,
    call: &mut dyn FnMut(&Value) -> Result<Value, DdbError>,
) -> Result<Value, PageError> {
    let p = paging.paginator;
    let mut request = request.clone();
    let (mut next_token, starting_truncation) = match &paging.starting_token {
        Some(token) => decode_token(p, token)?,
        None => (Value::Null, 0),
    };
    set_token(&mut request, p.input_token, &next_token);
    if let (Some(size), Value::Object(map)) = (paging.page_size, &mut request) {
        map.insert(p.limit_key.to_owned(), Value::from(size));
    }
    let mut merged = Map::new();
    let mut first_page_extras = Map::new();
    let mut capacity_units_sum: Option<f64> = None;
    let mut total_items: u64 = 0;
    let mut previous_token: Option<Value> = None;
    let mut resume_token = None;
    let mut first = true;
    loop {
        let mut page = call(&request).map_err(PageError::Service)?;
        let mut truncation = 0;
        if first {
            if paging.starting_token.is_some() {
                truncation = starting_truncation;
                skip_resumed(p, &mut page, truncation);
            }
            for key in p.non_aggregate_keys {
                first_page_extras.insert(
                    (*key).to_owned(),
                    page.get(*key).cloned().unwrap_or(Value::Null),
                );
            }
            first = false;
        }
        if let Some(units) = page
            .get("ConsumedCapacity")
            .and_then(|c| c.get("CapacityUnits"))
            .and_then(Value::as_f64)
        {
            *capacity_units_sum.get_or_insert(0.0) += units;
        }
        let page_items = primary_len(p, &page);
        if let Some(max_items) = paging.max_items
            && total_items + page_items > max_items
        {
            let keep = max_items - total_items;
            truncate_primary(p, &mut page, keep);
            merge_page(p, &mut merged, page);
            resume_token = Some(encode_token(p, &next_token, Some(keep + truncation)));
            break;
        }
        let output_token = page.get(p.output_token).cloned().filter(is_present);
        merge_page(p, &mut merged, page);
        total_items += page_items;
        let Some(token) = output_token else {
            break;
        };
        if paging.max_items == Some(total_items) {
            resume_token = Some(encode_token(p, &token, None));
            break;
        }
        if previous_token.as_ref() == Some(&token) {
            return Err(PageError::Pagination(format!(
                "The same next token was received twice: {token}"
            )));
        }
        set_token(&mut request, p.input_token, &token);
        previous_token = Some(token.clone());
        next_token = token;
    }
    for (key, mut value) in first_page_extras {
        if let (Some(sum), Some(units)) = (capacity_units_sum, value.get_mut("CapacityUnits")) {
            *units = serde_json::Number::from_f64(sum).map_or(Value::Null, Value::Number);
        }
        merged.insert(key, value);
    }
    if let Some(token) = resume_token {
        merged.insert("NextToken".to_owned(), Value::String(token));
    }
    Ok(Value::Object(merged))
}

/// botocore treats a missing, null or empty token as the end.
fn is_present(token: &Value) -> bool {
    match token {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Object(m) => !m.is_empty(),
        _ => true,
    }
}

fn set_token(request: &mut Value, name: &str, token: &Value) {
    if let Value::Object(map) = request {
        if is_present(token) {
            map.insert(name.to_owned(), token.clone());
        } else {
            map.remove(name);
        }
    }
}

fn primary_len(p: &Paginator, page: &Value) -> u64 {
    p.result_keys
        .first()
        .and_then(|key| page.get(*key))
        .and_then(Value::as_array)
        .map_or(0, |a| u64::try_from(a.len()).unwrap_or(u64::MAX))
}

fn truncate_primary(p: &Paginator, page: &mut Value, keep: u64) {
    if let Some(Value::Array(items)) = p.result_keys.first().and_then(|k| page.get_mut(*k)) {
        items.truncate(usize::try_from(keep).unwrap_or(usize::MAX));
    }
}

/// The first page of a resumed pagination: drop the results the token says were printed,
/// and count the page's other result keys as zero (botocore's `_handle_first_request`).
fn skip_resumed(p: &Paginator, page: &mut Value, skip: u64) {
    let Value::Object(map) = page else {
        return;
    };
    for (index, key) in p.result_keys.iter().enumerate() {
        match map.get_mut(*key) {
            Some(Value::Array(items)) if index == 0 => {
                let skip = usize::try_from(skip).unwrap_or(usize::MAX).min(items.len());
                items.drain(..skip);
            }
            Some(value @ Value::Number(_)) if index > 0 => *value = Value::from(0),
            _ => {}
        }
    }
}

fn merge_page(p: &Paginator, merged: &mut Map<String, Value>, page: Value) {
    let Value::Object(mut page) = page else {
        return;
    };
    for key in p.result_keys {
        let Some(value) = page.remove(*key).filter(|v| !v.is_null()) else {
            continue;
        };
        match (merged.get_mut(*key), value) {
            (None, value) => {
                merged.insert((*key).to_owned(), value);
            }
            (Some(Value::Array(existing)), Value::Array(more)) => existing.extend(more),
            (Some(existing @ Value::Number(_)), Value::Number(more)) => {
                *existing = add_numbers(existing, &more);
            }
            _ => {}
        }
    }
}

fn add_numbers(a: &Value, b: &serde_json::Number) -> Value {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => Value::from(x.saturating_add(y)),
        _ => {
            let sum = a.as_f64().unwrap_or(0.0) + b.as_f64().unwrap_or(0.0);
            serde_json::Number::from_f64(sum).map_or(Value::Null, Value::Number)
        }
    }
}

/// botocore's token: base64 of `{"<input token>": <value>, "boto_truncate_amount": n}`.
fn encode_token(p: &Paginator, token: &Value, truncate_amount: Option<u64>) -> String {
    let mut map = Map::new();
    map.insert(p.input_token.to_owned(), token.clone());
    if let Some(amount) = truncate_amount {
        map.insert(TRUNCATE_AMOUNT.to_owned(), Value::from(amount));
    }
    STANDARD.encode(Value::Object(map).to_string())
}

/// The service token and the number of results to skip in `token`. A string that is not a
/// botocore token is taken as the service token itself (botocore's fallback for old tokens).
fn decode_token(p: &Paginator, token: &str) -> Result<(Value, u64), PageError> {
    let decoded = STANDARD
        .decode(token.trim())
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
    let Some(Value::Object(mut map)) = decoded else {
        return Ok((Value::String(token.to_owned()), 0));
    };
    let skip = match map.remove(TRUNCATE_AMOUNT) {
        None => 0,
        Some(n) => n
            .as_u64()
            .ok_or_else(|| PageError::Pagination(format!("Bad starting token: {token}")))?,
    };
    let value = map.remove(p.input_token);
    match value {
        Some(value) if map.is_empty() => Ok((value, skip)),
        _ => Err(PageError::Pagination(format!(
            "Bad starting token: {token}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::spec::{LIST_TABLES_PAGINATOR, QUERY_SCAN_PAGINATOR};
    use serde_json::json;

    /// A scan over items 0..n, `page` per page unless the request sets a Limit.
    fn scan_service(n: u64, page: u64) -> impl FnMut(&Value) -> Result<Value, DdbError> {
        move |request: &Value| {
            let start = request
                .get("ExclusiveStartKey")
                .and_then(|k| k["pk"]["N"].as_str())
                .map_or(0, |s| s.parse::<u64>().unwrap() + 1);
            let limit = request.get("Limit").and_then(Value::as_u64).unwrap_or(page);
            let end = (start + limit).min(n);
            let items: Vec<Value> = (start..end)
                .map(|i| json!({"pk": {"N": i.to_string()}}))
                .collect();
            let mut response = json!({
                "Items": items,
                "Count": end - start,
                "ScannedCount": end - start,
            });
            if end < n {
                response["LastEvaluatedKey"] = json!({"pk": {"N": (end - 1).to_string()}});
            }
            Ok(response)
        }
    }

    fn paging(max_items: Option<u64>, starting_token: Option<String>) -> Paging {
        Paging {
            paginator: &QUERY_SCAN_PAGINATOR,
            max_items,
            starting_token,
            page_size: None,
        }
    }

    fn keys(result: &Value) -> Vec<u64> {
        result["Items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["pk"]["N"].as_str().unwrap().parse().unwrap())
            .collect()
    }

    #[test]
    fn merges_every_page() {
        let request = json!({"TableName": "T"});
        let mut calls = 0;
        let mut service = scan_service(10, 3);
        let result = paginate(&paging(None, None), &request, &mut |r| {
            calls += 1;
            service(r)
        })
        .unwrap();
        assert_eq!(calls, 4);
        assert_eq!(keys(&result), (0..10).collect::<Vec<_>>());
        assert_eq!(result["Count"], 10);
        assert_eq!(result["ScannedCount"], 10);
        assert_eq!(result["ConsumedCapacity"], Value::Null);
        assert!(result.get("LastEvaluatedKey").is_none());
        assert!(result.get("NextToken").is_none());
    }

    #[test]
    fn max_items_and_starting_token_resume_exactly() {
        let request = json!({"TableName": "T"});
        let mut seen = Vec::new();
        let mut token = None;
        loop {
            let result = paginate(
                &paging(Some(4), token.clone()),
                &request,
                &mut scan_service(10, 3),
            )
            .unwrap();
            seen.extend(keys(&result));
            match result.get("NextToken") {
                Some(t) => token = Some(t.as_str().unwrap().to_owned()),
                None => break,
            }
        }
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn counts_follow_botocore() {
        let request = json!({"TableName": "T"});
        // Pages of 3, cut at 4: two whole pages counted.
        let result = paginate(&paging(Some(4), None), &request, &mut scan_service(10, 3)).unwrap();
        assert_eq!(keys(&result), vec![0, 1, 2, 3]);
        assert_eq!(result["Count"], 6);
        let token = result["NextToken"].as_str().unwrap();
        let decoded: Value = serde_json::from_slice(&STANDARD.decode(token).unwrap()).unwrap();
        assert_eq!(
            decoded,
            json!({"ExclusiveStartKey": {"pk": {"N": "2"}}, "boto_truncate_amount": 1})
        );
        // On a page boundary the token is the service's own, with no truncation.
        let result = paginate(&paging(Some(3), None), &request, &mut scan_service(10, 3)).unwrap();
        let decoded: Value = serde_json::from_slice(
            &STANDARD
                .decode(result["NextToken"].as_str().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(decoded, json!({"ExclusiveStartKey": {"pk": {"N": "2"}}}));
    }

    #[test]
    fn page_size_sets_the_limit_and_tokens_are_checked() {
        let request = json!({"TableName": "T"});
        let mut limits = Vec::new();
        let mut service = scan_service(5, 100);
        let mut p = paging(None, None);
        p.page_size = Some(2);
        let result = paginate(&p, &request, &mut |r| {
            limits.push(r["Limit"].clone());
            service(r)
        })
        .unwrap();
        assert_eq!(keys(&result), vec![0, 1, 2, 3, 4]);
        assert_eq!(limits, vec![json!(2); 3]);

        let bad = STANDARD.encode(r#"{"Other": 1}"#);
        let err =
            paginate(&paging(None, Some(bad)), &request, &mut scan_service(5, 2)).unwrap_err();
        assert!(matches!(err, PageError::Pagination(m) if m.starts_with("Bad starting token")));

        let mut repeat = |_: &Value| {
            Ok(json!({"Items": [], "Count": 0, "LastEvaluatedKey": {"pk": {"N": "1"}}}))
        };
        let err = paginate(&paging(None, None), &request, &mut repeat).unwrap_err();
        assert!(matches!(err, PageError::Pagination(m) if m.starts_with("The same next token")));

        let mut failing = |_: &Value| Err(DdbError::validation("nope"));
        let err = paginate(&paging(None, None), &request, &mut failing).unwrap_err();
        assert_eq!(err, PageError::Service(DdbError::validation("nope")));
    }

    #[test]
    fn consumed_capacity_units_are_summed() {
        let request = json!({"TableName": "T", "ReturnConsumedCapacity": "TOTAL"});
        let mut page = 0;
        let mut service = |_: &Value| {
            page += 1;
            let mut response = json!({"Items": [{"pk": {"N": page.to_string()}}], "Count": 1,
                "ScannedCount": 1, "ConsumedCapacity": {"TableName": "T", "CapacityUnits": 0.5}});
            if page < 3 {
                response["LastEvaluatedKey"] = json!({"pk": {"N": page.to_string()}});
            }
            Ok(response)
        };
        let result = paginate(&paging(None, None), &request, &mut service).unwrap();
        assert_eq!(
            result["ConsumedCapacity"],
            json!({"TableName": "T", "CapacityUnits": 1.5})
        );
    }

    #[test]
    fn list_tables_merges_names() {
        let names: Vec<String> = (0..5).map(|i| format!("t{i}")).collect();
        let mut service = |r: &Value| {
            let start = r
                .get("ExclusiveStartTableName")
                .and_then(Value::as_str)
                .map_or(0, |s| names.iter().position(|n| n == s).unwrap() + 1);
            let end = (start + 2).min(names.len());
            let mut response = json!({"TableNames": names[start..end]});
            if end < names.len() {
                response["LastEvaluatedTableName"] = json!(names[end - 1]);
            }
            Ok(response)
        };
        let p = Paging {
            paginator: &LIST_TABLES_PAGINATOR,
            max_items: None,
            starting_token: None,
            page_size: None,
        };
        let result = paginate(&p, &json!({}), &mut service).unwrap();
        assert_eq!(
            result,
            json!({"TableNames": ["t0", "t1", "t2", "t3", "t4"]})
        );
        // A plain table name is accepted as a starting token (botocore's fallback).
        let p = Paging {
            starting_token: Some("t2".to_owned()),
            ..p
        };
        let result = paginate(&p, &json!({}), &mut service).unwrap();
        assert_eq!(result, json!({"TableNames": ["t3", "t4"]}));
    }
}
