//! The contract between the request layer ([`crate::api`]) and the table engine: what a
//! request can ask of one table. The engine implements it for its tables; tests may implement
//! it over a `BTreeMap`.
//!
//! Keys are the order-preserving encoding of `ddb_model::key`: a table key is
//! `partition ‖ sort`; an index key is `index partition ‖ index sort ‖ table partition ‖ table
//! sort` (`TableSchema::index_key`), so index entries are unique and ordered as DynamoDB orders
//! them (ties on the index key broken by the table key).

use std::ops::Bound;
use std::sync::Arc;

use ddb_model::{IndexSchema, Item, Result, TableSchema};

/// Entries of a range read: `(key bytes, item)`.
pub type Entries<'a> = Box<dyn Iterator<Item = Result<(Vec<u8>, Item)>> + 'a>;

/// What a write does to one item.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Put(Item),
    Delete,
    /// Leave the item as it is: nothing is written (an UpdateItem that would create an empty
    /// item, for example).
    Keep,
}

/// How an index can be read right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexReadState {
    /// Queries and scans see it (an LSI always; a GSI once ACTIVE — eventually consistent).
    Readable,
    /// A GSI being built: reads are refused with
    /// `Cannot read from backfilling global secondary index: <name>`.
    Backfilling,
}

/// One table as the request layer sees it.
pub trait TableStore: Send + Sync {
    /// The table's name.
    fn name(&self) -> &str;

    /// The key schema of the table and of every index it has (backfilling GSIs included).
    fn schema(&self) -> &TableSchema;

    /// What a written item is checked against: the table key and the indexes writes must fit
    /// (LSIs and readable GSIs). A GSI being backfilled is left out: an item that does not fit
    /// its key is written, and skipped (and counted) by the index.
    fn write_schema(&self) -> std::borrow::Cow<'_, TableSchema> {
        let mut schema = self.schema().clone();
        schema.indexes.retain(|i| {
            self.index(&i.name)
                .is_some_and(|(_, s)| s == IndexReadState::Readable)
        });
        std::borrow::Cow::Owned(schema)
    }

    /// The index called `name` and whether it can be read; `None` if the table has no such
    /// index.
    fn index(&self, name: &str) -> Option<(&IndexSchema, IndexReadState)>;

    /// The item with table key `key`, strongly consistent.
    fn get(&self, key: &[u8]) -> Result<Option<Item>>;

    /// Atomically with respect to every other write of this table: reads the item with table
    /// key `key`, calls `decide` with it and applies what `decide` returns. The change is
    /// durable (and every LSI updated) before this returns. An error from `decide` is returned
    /// and nothing is written. The engine validates a `Put` item against the table and its
    /// readable indexes (key types, sizes, item collection limit) and returns the
    /// `ValidationException` DynamoDB gives. Returns the item as it was before.
    fn apply(
        &self,
        key: &[u8],
        decide: &mut dyn FnMut(Option<&Item>) -> Result<Change>,
    ) -> Result<Option<Item>>;

    /// Applies unconditional changes in order, as one atomic log batch (BatchWriteItem; the
    /// caller has checked there are no duplicate keys). Items are validated as in
    /// [`TableStore::apply`]; if one is invalid nothing is written.
    fn apply_batch(&self, changes: Vec<(Vec<u8>, Change)>) -> Result<()>;

    /// The entries of the table (`index: None`; entries are whole items) or of an index (entries
    /// are projected items: the table key, the index key and the projected attributes) whose
    /// key lies within the bounds, ascending if `forward`, else descending. Each entry is
    /// `(key bytes, item)`. A GSI is eventually consistent; the table and LSIs are strongly
    /// consistent with the writes acknowledged before the call.
    fn range<'a>(
        &'a self,
        index: Option<&str>,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        forward: bool,
    ) -> Result<Entries<'a>>;
}

/// The tables a request can name (BatchWriteItem names several).
pub trait Tables: Send + Sync {
    /// The table called `name`, readable and writable: `ResourceNotFoundException`
    /// ("Requested resource not found") if there is none or it is not ACTIVE/UPDATING yet.
    fn table(&self, name: &str) -> Result<Arc<dyn TableStore>>;
}
