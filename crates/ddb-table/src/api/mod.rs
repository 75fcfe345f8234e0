//! DynamoDB's request and response shapes over the engine: each operation takes the request
//! JSON (as the wire and `--cli-input-json` carry it) and returns the response JSON.
//!
//! Architecture invariant: this layer sees tables only through [`crate::store::Tables`] and
//! [`crate::store::TableStore`]; it never touches storage.

mod batch;
pub mod data;
pub mod memory;
mod page;
mod paths;
mod query;
mod read;
mod request;
mod scan;
mod write;
