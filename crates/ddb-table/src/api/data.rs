//! The data plane: PutItem, GetItem, DeleteItem, UpdateItem, BatchWriteItem, BatchGetItem,
//! Query, Scan.

use ddb_model::Result;
use serde_json::Value;

use super::{batch, query, read, scan, write};
use crate::store::Tables;

/// Runs the data-plane operation `operation` (DynamoDB's name, e.g. `PutItem`); `None` if it
/// is not a data-plane operation.
pub fn dispatch(tables: &dyn Tables, operation: &str, request: &Value) -> Option<Result<Value>> {
    let run = match operation {
        "PutItem" => write::put_item,
        "GetItem" => read::get_item,
        "DeleteItem" => write::delete_item,
        "UpdateItem" => write::update_item,
        "BatchWriteItem" => batch::batch_write_item,
        "BatchGetItem" => batch::batch_get_item,
        "Query" => query::query,
        "Scan" => scan::scan,
        _ => return None,
    };
    Some(run(tables, request))
}
