//! A reference model of DynamoDB at the JSON API level, for the differential test.
//!
//! Deliberately simple so that it is obviously correct: a table is a plain `Vec<Item>`; every
//! read is computed by brute force from that list (select, sort, skip to the start key, take
//! one page); index contents are derived from the items on every read. Ordering comes from
//! attribute values (`N` numerically, `S` by UTF-8 bytes, `B` by unsigned bytes), never from
//! the engine's order-preserving byte encoding, so the encoding is what gets tested.
//!
//! It shares with the engine only `ddb-model` (values, DynamoDB JSON, expression parsing and
//! evaluation, CreateTable validation): it never looks at `ddb_table`'s request layer.
//!
//! Deliberate choices where DynamoDB is not the reference (see `read.rs`):
//! - Scan of a table returns items in key order (partition key value, then sort key), which is
//!   the engine's order; DynamoDB orders a scan by the hash of the partition key.
//! - Index entries with equal index keys are ordered by the table key (DynamoDB leaves the
//!   order of such ties unspecified).
//! - The 1 MB page rule is [`read::PAGE_SIZE_BYTES_MAX`] as described there.
#![allow(dead_code, unused_imports)]

mod order;
mod read;
mod write;

use std::collections::BTreeMap;

use ddb_model::table::{CreateTableInput, describe_new_table};
use ddb_model::{AttributeValue, DdbError, ErrorKind, Item, TableSchema};
use serde_json::{Value, json};

pub use order::compare;
pub use read::PAGE_SIZE_BYTES_MAX;

/// An error as the API returns it: DynamoDB's error name and the message.
pub type ModelError = (String, String);
pub type ModelResult<T = Value> = Result<T, ModelError>;

/// One table: its resolved schema and its items, in no particular order.
#[derive(Debug, Clone)]
pub struct Table {
    pub schema: TableSchema,
    pub items: Vec<Item>,
}

/// The whole model: tables by name.
#[derive(Debug, Clone, Default)]
pub struct Model {
    pub tables: BTreeMap<String, Table>,
}

impl Model {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `operation` (DynamoDB's API name) with `request` (its request JSON).
    ///
    /// Panics on an operation or a parameter the model does not implement: the generator of
    /// the differential test must not produce it, and a silent wrong answer would be worse.
    pub fn call(&mut self, operation: &str, request: &Value) -> ModelResult {
        match operation {
            "CreateTable" => self.create_table(request),
            "PutItem" => write::put_item(self, request),
            "DeleteItem" => write::delete_item(self, request),
            "UpdateItem" => write::update_item(self, request),
            "BatchWriteItem" => write::batch_write_item(self, request),
            "GetItem" => read::get_item(self, request),
            "Query" => read::query(self, request),
            "Scan" => read::scan(self, request),
            other => panic!("the model does not implement {other}"),
        }
    }

    fn create_table(&mut self, request: &Value) -> ModelResult {
        let input = CreateTableInput::from_json(&request.to_string()).map_err(service)?;
        let schema = input.validate().map_err(service)?;
        if self.tables.contains_key(&input.table_name) {
            return Err((
                ErrorKind::ResourceInUse.name().to_owned(),
                format!("Table already exists: {}", input.table_name),
            ));
        }
        let arn = format!("arn:model:table/{}", input.table_name);
        let description = describe_new_table(&input, &schema, arn, "model".to_owned(), 0.0);
        self.tables.insert(
            input.table_name.clone(),
            Table {
                schema,
                items: Vec::new(),
            },
        );
        let description = serde_json::to_value(description).expect("a description serialises");
        Ok(json!({ "TableDescription": description }))
    }

    pub(crate) fn table(&self, name: &str) -> ModelResult<&Table> {
        self.tables.get(name).ok_or_else(not_found)
    }

    pub(crate) fn table_mut(&mut self, name: &str) -> ModelResult<&mut Table> {
        self.tables.get_mut(name).ok_or_else(not_found)
    }
}

fn not_found() -> ModelError {
    (
        ErrorKind::ResourceNotFound.name().to_owned(),
        "Requested resource not found".to_owned(),
    )
}

/// A `ddb-model` error as the API reports it.
pub(crate) fn service(e: DdbError) -> ModelError {
    (e.name().to_owned(), e.message().to_owned())
}

pub(crate) fn validation(message: impl Into<String>) -> ModelError {
    (ErrorKind::Validation.name().to_owned(), message.into())
}

/// An item from DynamoDB JSON (`{"attr": {"S": "x"}, ...}`).
pub fn item_from_json(value: &Value) -> ModelResult<Item> {
    ddb_model::parse_item(&value.to_string()).map_err(service)
}

/// An attribute value from DynamoDB JSON (`{"S": "x"}`).
pub fn value_from_json(value: &Value) -> ModelResult<AttributeValue> {
    ddb_model::parse_value(&value.to_string()).map_err(service)
}

/// An item as DynamoDB JSON (canonical: numbers normalised, sets sorted).
pub fn item_to_json(item: &Item) -> Value {
    serde_json::from_str(&item.to_canonical_json()).expect("canonical JSON parses")
}

pub fn value_to_json(value: &AttributeValue) -> Value {
    serde_json::from_str(&value.to_canonical_json()).expect("canonical JSON parses")
}

/// The members of a request the model reads, with the types they must have.
pub(crate) struct Request<'a>(pub &'a Value);

impl<'a> Request<'a> {
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    pub fn str(&self, name: &str) -> Option<&'a str> {
        self.get(name).map(|v| {
            v.as_str()
                .unwrap_or_else(|| panic!("{name} is not a string"))
        })
    }

    pub fn table_name(&self) -> &'a str {
        self.str("TableName").expect("TableName")
    }

    pub fn bool(&self, name: &str) -> Option<bool> {
        self.get(name).map(|v| {
            v.as_bool()
                .unwrap_or_else(|| panic!("{name} is not a bool"))
        })
    }

    pub fn usize(&self, name: &str) -> Option<usize> {
        self.get(name).map(|v| {
            v.as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or_else(|| panic!("{name} is not a count"))
        })
    }

    pub fn item(&self, name: &str) -> ModelResult<Option<Item>> {
        self.get(name).map(item_from_json).transpose()
    }

    pub fn names(&self) -> Option<BTreeMap<String, String>> {
        self.get("ExpressionAttributeNames")
            .map(|v| serde_json::from_value(v.clone()).expect("names are strings"))
    }

    pub fn values(&self) -> ModelResult<Option<BTreeMap<String, AttributeValue>>> {
        let Some(map) = self.get("ExpressionAttributeValues") else {
            return Ok(None);
        };
        let map = map
            .as_object()
            .expect("ExpressionAttributeValues is an object");
        map.iter()
            .map(|(k, v)| Ok((k.clone(), value_from_json(v)?)))
            .collect::<ModelResult<_>>()
            .map(Some)
    }

    /// Panics if the request has a member the model does not know: it would ignore it.
    pub fn only(&self, known: &[&str]) {
        let object = self.0.as_object().expect("a request is an object");
        for name in object.keys() {
            assert!(
                known.contains(&name.as_str()),
                "the model does not implement request member {name}"
            );
        }
    }
}
