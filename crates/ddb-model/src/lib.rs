//! DynamoDB's data model, enforced exactly: attribute values, exact numbers, items, DynamoDB
//! JSON (with the canonical encoding every stored item uses), table definitions and their
//! validation, item validation, and the order-preserving key encoding.
//!
//! Architecture invariant: this crate does no I/O and has no notion of files; every other crate
//! of the workspace builds on it.
#![forbid(unsafe_code)]

pub mod error;
pub mod expr;
pub mod fingerprint;
pub mod json;
pub mod key;
pub mod number;
pub mod schema;
pub mod table;
pub mod value;

pub use error::{DdbError, ErrorKind, Result};
pub use fingerprint::Fingerprint;
pub use json::{InputDocument, WriteRequest, parse_input_document, parse_item, parse_value};
pub use key::{KeyDecodeError, KeyValue, decode_key, encode_key};
pub use number::{Number, NumberError, Sign};
pub use schema::{
    AttributeDefinition, IndexKind, IndexSchema, KeyAttribute, KeyDef, KeySchemaElement, KeyType,
    Projection, ProjectionType, ResolvedProjection, ScalarAttributeType, TableSchema,
};
pub use value::{AttributeValue, ITEM_SIZE_BYTES_MAX, Item, NESTING_LEVELS_MAX};
