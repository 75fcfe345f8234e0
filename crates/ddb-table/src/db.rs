//! The database directory: its lock, the catalog of tables, the tables and their background
//! work.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ddb_model::{DdbError, Result as DdbResult};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::store::{TableStore, Tables};

/// How a database is opened.
#[derive(Debug, Clone)]
pub struct DatabaseOptions {
    /// The I/O backend; `None`: chosen from `DDB_IO_BACKEND` (io_uring where available).
    pub io: Option<Arc<dyn ddb_io::Io>>,
    /// Open for inspection: no lock, no recovery writes, no background work, writes refused.
    pub read_only: bool,
}

impl Default for DatabaseOptions {
    fn default() -> Self {
        Self {
            io: None,
            read_only: false,
        }
    }
}

/// What [`Database::wait`] waits for (the `aws dynamodb wait` conditions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitFor {
    TableExists(String),
    TableNotExists(String),
    IndexActive { table: String, index: String },
}

/// An open database directory.
#[derive(Debug)]
pub struct Database {}

impl Database {
    pub fn open(_dir: &Path, _options: DatabaseOptions) -> Result<Arc<Database>> {
        Err(Error::Unavailable("not implemented yet".to_owned()))
    }

    /// Runs the operation `operation` (DynamoDB's name: `CreateTable`, `PutItem`, ...) with the
    /// request JSON DynamoDB takes, returning the response JSON.
    pub fn call(&self, _operation: &str, _request: &Value) -> DdbResult<Value> {
        Err(DdbError::validation("not implemented yet"))
    }

    /// Waits until `what` holds (running the database's background work meanwhile); `false`
    /// if `timeout` passed first.
    pub fn wait(&self, _what: &WaitFor, _timeout: Duration) -> DdbResult<bool> {
        Err(DdbError::validation("not implemented yet"))
    }

    /// Checkpoints the table now (`ddbfmt checkpoint`).
    pub fn checkpoint(&self, _table: &str) -> DdbResult<()> {
        Err(DdbError::validation("not implemented yet"))
    }
}

impl Tables for Database {
    fn table(&self, _name: &str) -> DdbResult<Arc<dyn TableStore>> {
        Err(DdbError::validation("not implemented yet"))
    }
}
