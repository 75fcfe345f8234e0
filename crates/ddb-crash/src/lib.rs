//! The whole-system crash loop (`ddb-crash-loop`), as a library: the child's workload, the
//! parent's model of every acknowledged effect, and the checker that compares a database
//! directory with that model after a SIGKILL.
//!
//! See the crate's README.md for what runs, what is checked and how to replay a seed.
#![forbid(unsafe_code)]

pub mod backup_check;
pub mod check;
mod check_resolve;
pub mod child;
pub mod index_check;
pub mod model;
pub mod parent;
pub mod protocol;
pub mod rng;
pub mod schema;
mod workload;

use std::sync::Arc;

use ddb_io::Io;
use ddb_table::DatabaseOptions;
use serde_json::Value;

static NULL: Value = Value::Null;

/// The member of `value` at a JSON pointer (`Null` when absent): reads of responses without
/// indexing that could panic.
pub fn at<'a>(value: &'a Value, pointer: &str) -> &'a Value {
    value.pointer(pointer).unwrap_or(&NULL)
}

/// Sets member `name` of a request object.
pub fn set(request: &mut Value, name: &str, member: Value) {
    if let Some(map) = request.as_object_mut() {
        map.insert(name.to_owned(), member);
    }
}

/// The I/O backend both processes use: `DDB_IO_BACKEND` (io_uring where available, else std).
pub fn io_from_env() -> Result<Arc<dyn Io>, String> {
    let choice = ddb_io::BackendChoice::from_env().map_err(|e| format!("DDB_IO_BACKEND: {e}"))?;
    ddb_io::select_backend(choice).map_err(|e| format!("I/O backend: {e}"))
}

/// How the child opens the database (`background`: true), and how the parent opens it to
/// check (`false`: no background thread and no backup or restore worker, so nothing moves
/// while it looks). Small budgets make checkpoints, log rotation, spills, several backup
/// artifacts and row groups happen within a short run.
pub fn database_options(io: Arc<dyn Io>, background: bool) -> DatabaseOptions {
    let mut options = DatabaseOptions {
        io: Some(io),
        ..DatabaseOptions::default()
    };
    options.table.memtable_budget_bytes = 256 << 10;
    options.table.snapshot_block_bytes = 4096;
    options.table.merge_memory_bytes = 256 << 10;
    options.table.log_segment_bytes = 256 << 10;
    options.table.background = background;
    options.backup.row_group_bytes = 16 << 10;
    options.backup.artifact_bytes = 64 << 10;
    options.backup.worker = background;
    options
}
