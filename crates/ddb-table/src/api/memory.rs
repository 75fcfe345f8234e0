//! [`MemoryTables`]: the store contract over `BTreeMap`s, for tests of the request layer and of
//! anything built on it. Every table and index map is updated under one lock with the write, so
//! GSIs are strongly consistent here (the engine's are eventually consistent; a test that
//! passes here does not depend on GSI lag).
//!
//! Index entries hold what the contract says: the table key, the index key and the projected
//! attributes. An item lacking an index key attribute is not in that index (sparse indexes).

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use ddb_model::{DdbError, ErrorKind, IndexSchema, Item, ResolvedProjection, Result, TableSchema};

use crate::store::{Change, IndexReadState, TableStore, Tables};

/// Tables kept in memory.
#[derive(Debug, Default)]
pub struct MemoryTables {
    tables: RwLock<BTreeMap<String, Arc<MemoryTable>>>,
}

impl MemoryTables {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an empty table (replacing one of the same name); every index starts readable.
    pub fn create(&self, name: &str, schema: TableSchema) -> Arc<MemoryTable> {
        let table = Arc::new(MemoryTable::new(name, schema));
        let mut tables = self.tables.write().unwrap_or_else(|e| e.into_inner());
        tables.insert(name.to_owned(), Arc::clone(&table));
        table
    }

    /// The table called `name`, as its concrete type (for test set-up).
    pub fn get(&self, name: &str) -> Option<Arc<MemoryTable>> {
        let tables = self.tables.read().unwrap_or_else(|e| e.into_inner());
        tables.get(name).cloned()
    }
}

impl Tables for MemoryTables {
    fn table(&self, name: &str) -> Result<Arc<dyn TableStore>> {
        match self.get(name) {
            Some(table) => Ok(table),
            None => Err(DdbError::new(
                ErrorKind::ResourceNotFound,
                "Requested resource not found",
            )),
        }
    }
}

#[derive(Debug, Default)]
struct Data {
    items: BTreeMap<Vec<u8>, Item>,
    indexes: BTreeMap<String, BTreeMap<Vec<u8>, Item>>,
}

/// One table in memory.
#[derive(Debug)]
pub struct MemoryTable {
    name: String,
    schema: TableSchema,
    states: RwLock<BTreeMap<String, IndexReadState>>,
    data: Mutex<Data>,
}

impl MemoryTable {
    fn new(name: &str, schema: TableSchema) -> Self {
        let states = schema
            .indexes
            .iter()
            .map(|i| (i.name.clone(), IndexReadState::Readable))
            .collect();
        let indexes = schema
            .indexes
            .iter()
            .map(|i| (i.name.clone(), BTreeMap::new()))
            .collect();
        Self {
            name: name.to_owned(),
            schema,
            states: RwLock::new(states),
            data: Mutex::new(Data {
                items: BTreeMap::new(),
                indexes,
            }),
        }
    }

    /// Marks an index readable or backfilling (its entries are maintained either way).
    pub fn set_index_state(&self, index: &str, state: IndexReadState) {
        let mut states = self.states.write().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = states.get_mut(index) {
            *slot = state;
        }
    }

    /// How many items the table holds.
    pub fn len(&self) -> usize {
        self.lock().items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entries of one index, in key order (for tests of index maintenance).
    pub fn index_entries(&self, index: &str) -> Vec<(Vec<u8>, Item)> {
        self.lock()
            .indexes
            .get(index)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    fn lock(&self) -> MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What the engine checks of a put: the item is valid for the table and its indexes, and it
    /// has the key it is stored under.
    fn check_put(&self, key: &[u8], item: &Item) -> Result<()> {
        self.schema.validate_item(item)?;
        if self.schema.table_key(item)? != key {
            return Err(DdbError::new(
                ErrorKind::InternalServerError,
                "a put's item does not have the key it is written under",
            ));
        }
        Ok(())
    }

    fn write(&self, data: &mut Data, key: &[u8], change: Change) -> Option<Item> {
        let old = match change {
            Change::Put(item) => data.items.insert(key.to_vec(), item),
            Change::Delete => data.items.remove(key),
            Change::Keep => return data.items.get(key).cloned(),
        };
        let new = data.items.get(key);
        for index in &self.schema.indexes {
            let Some(entries) = data.indexes.get_mut(&index.name) else {
                continue;
            };
            if let Some(old_key) = old.as_ref().and_then(|o| self.schema.index_key(index, o)) {
                entries.remove(&old_key);
            }
            if let Some(new) = new
                && let Some(new_key) = self.schema.index_key(index, new)
            {
                entries.insert(new_key, project(&self.schema, index, new));
            }
        }
        old
    }
}

/// The index entry of an item: table key, index key and the projected attributes.
fn project(schema: &TableSchema, index: &IndexSchema, item: &Item) -> Item {
    if index.projection == ResolvedProjection::All {
        return item.clone();
    }
    item.iter()
        .filter(|(name, _)| {
            schema.key.contains(name) || index.key.contains(name) || index.projection.includes(name)
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// Whether a `BTreeMap::range` over these bounds would panic (start after end, or equal and
/// both excluded); such a range is empty.
fn is_empty_range(lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> bool {
    match (lower, upper) {
        (Bound::Included(l), Bound::Included(u)) => l > u,
        (Bound::Included(l) | Bound::Excluded(l), Bound::Excluded(u))
        | (Bound::Excluded(l), Bound::Included(u)) => l >= u,
        _ => false,
    }
}

impl TableStore for MemoryTable {
    fn name(&self) -> &str {
        &self.name
    }

    fn schema(&self) -> &TableSchema {
        &self.schema
    }

    fn index(&self, name: &str) -> Option<(&IndexSchema, IndexReadState)> {
        let index = self.schema.index(name)?;
        let states = self.states.read().unwrap_or_else(|e| e.into_inner());
        let state = states
            .get(name)
            .copied()
            .unwrap_or(IndexReadState::Readable);
        Some((index, state))
    }

    fn get(&self, key: &[u8]) -> Result<Option<Item>> {
        Ok(self.lock().items.get(key).cloned())
    }

    fn apply(
        &self,
        key: &[u8],
        decide: &mut dyn FnMut(Option<&Item>) -> Result<Change>,
    ) -> Result<Option<Item>> {
        let mut data = self.lock();
        let change = decide(data.items.get(key))?;
        if let Change::Put(item) = &change {
            self.check_put(key, item)?;
        }
        Ok(self.write(&mut data, key, change))
    }

    fn apply_batch(&self, changes: Vec<(Vec<u8>, Change)>) -> Result<()> {
        let mut data = self.lock();
        for (key, change) in &changes {
            if let Change::Put(item) = change {
                self.check_put(key, item)?;
            }
        }
        for (key, change) in changes {
            self.write(&mut data, &key, change);
        }
        Ok(())
    }

    fn range<'a>(
        &'a self,
        index: Option<&str>,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        forward: bool,
    ) -> Result<Box<dyn Iterator<Item = Result<(Vec<u8>, Item)>> + 'a>> {
        let data = self.lock();
        let map = match index {
            None => &data.items,
            Some(name) => data.indexes.get(name).ok_or_else(|| {
                DdbError::validation(format!(
                    "The table does not have the specified index: {name}"
                ))
            })?,
        };
        // A snapshot of the range: the lock is not held while the caller iterates.
        let mut entries: Vec<Result<(Vec<u8>, Item)>> = if is_empty_range(lower, upper) {
            Vec::new()
        } else {
            map.range::<[u8], _>((lower, upper))
                .map(|(k, v)| Ok((k.clone(), v.clone())))
                .collect()
        };
        if !forward {
            entries.reverse();
        }
        Ok(Box::new(entries.into_iter()))
    }
}
