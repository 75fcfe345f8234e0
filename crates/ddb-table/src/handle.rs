//! A table as one request sees it: the [`TableStore`] the request layer works with.

use std::ops::Bound;
use std::sync::Arc;

use ddb_model::{DdbError, IndexSchema, Item, TableSchema};

use crate::store::{Change, IndexReadState, TableStore};
use crate::table::{Shape, Table, decode_item};

/// A table as one request sees it: the table and its shape at the start of the request.
#[derive(Debug)]
pub struct TableHandle {
    pub(crate) table: Arc<Table>,
    pub(crate) shape: Arc<Shape>,
}

impl TableHandle {
    pub fn new(table: Arc<Table>) -> TableHandle {
        let shape = table.shape();
        TableHandle { table, shape }
    }
}

impl TableStore for TableHandle {
    fn name(&self) -> &str {
        &self.table.name
    }

    fn schema(&self) -> &TableSchema {
        &self.shape.schema
    }

    fn write_schema(&self) -> std::borrow::Cow<'_, TableSchema> {
        std::borrow::Cow::Borrowed(&self.shape.write_schema)
    }

    fn index(&self, name: &str) -> Option<(&IndexSchema, IndexReadState)> {
        let index = self.shape.schema.index(name)?;
        let state = if self.shape.backfilling.contains(name) {
            IndexReadState::Backfilling
        } else {
            IndexReadState::Readable
        };
        Some((index, state))
    }

    fn get(&self, key: &[u8]) -> ddb_model::Result<Option<Item>> {
        Ok(self.table.get(key)?)
    }

    fn apply(
        &self,
        key: &[u8],
        decide: &mut dyn FnMut(Option<&Item>) -> ddb_model::Result<Change>,
    ) -> ddb_model::Result<Option<Item>> {
        Ok(self.table.apply_one(&self.shape, key, decide)?)
    }

    fn apply_batch(&self, changes: Vec<(Vec<u8>, Change)>) -> ddb_model::Result<()> {
        Ok(self.table.apply_many(&self.shape, changes)?)
    }

    fn range<'a>(
        &'a self,
        index: Option<&str>,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        forward: bool,
    ) -> ddb_model::Result<crate::store::Entries<'a>> {
        if let Some(name) = index
            && self.shape.backfilling.contains(name)
        {
            return Err(DdbError::validation(format!(
                "Cannot read from backfilling global secondary index: {name}"
            )));
        }
        let range = self.table.range(index, lower, upper, forward)?;
        Ok(Box::new(range.map(|entry| {
            let (key, bytes) = entry?;
            Ok((key, decode_item(&bytes)?))
        })))
    }
}
