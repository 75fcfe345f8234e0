//! Tables over the log and snapshots: the database directory, item operations in DynamoDB's
//! shapes, LSIs maintained with the write, GSIs maintained asynchronously (with online
//! backfill), checkpoints and recovery.
#![forbid(unsafe_code)]

pub mod api;
pub mod audit;
pub mod backups;
pub mod catalog;
pub mod checkpoint;
pub mod db;
mod db_recovery;
pub mod error;
pub mod files;
mod gsi;
pub mod handle;
pub mod index;
mod index_build;
pub mod layers;
mod recovery;
pub mod restore;
pub mod retention;
pub mod state_file;
pub mod store;
pub mod table;
pub mod transfer;
mod update_table;
pub mod verify;

pub use db::{Database, DatabaseOptions, WaitFor};
pub use error::{Error, Result};
pub use store::{Change, IndexReadState, TableStore, Tables};
