//! The data plane: PutItem, GetItem, DeleteItem, UpdateItem, BatchWriteItem, BatchGetItem,
//! Query, Scan.

use ddb_model::{DdbError, Result};
use serde_json::Value;

use crate::store::Tables;

/// Runs the data-plane operation `operation` (DynamoDB's name, e.g. `PutItem`); `None` if it
/// is not a data-plane operation.
pub fn dispatch(_tables: &dyn Tables, operation: &str, _request: &Value) -> Option<Result<Value>> {
    match operation {
        "PutItem" | "GetItem" | "DeleteItem" | "UpdateItem" | "BatchWriteItem" | "BatchGetItem"
        | "Query" | "Scan" => Some(Err(DdbError::validation("not implemented yet"))),
        _ => None,
    }
}
