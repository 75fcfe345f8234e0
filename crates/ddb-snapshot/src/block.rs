//! Decoding one block from its stored column chunks, checking it against its block-index
//! entry: chunk checksums, row counts, strictly increasing keys matching the entry's first and
//! last key, and the zone maps of the typed columns.

use std::path::Path;

use crate::chunk;
use crate::error::{Damage, Result, SnapshotError};
use crate::footer::BlockMeta;
use crate::row::{Columns, Row};

/// The values of one column chunk of a block.
type Values = Vec<Option<Vec<u8>>>;

/// The pieces of a block's decode, over `stored(c)`: the stored bytes of chunk `c`.
struct BlockDecoder<'m, F> {
    path: &'m Path,
    meta: &'m BlockMeta,
    stored: F,
}

impl<'m, 'a, F: Fn(usize) -> Option<&'a [u8]>> BlockDecoder<'m, F> {
    /// Column `c`, checked (checksum, raw size, values filling it) and split into values.
    fn column(&self, c: usize, optional: bool) -> Result<Values> {
        let offset = self.meta.chunk_offset(c);
        let (Some(chunk_meta), Some(bytes)) = (self.meta.chunks.get(c), (self.stored)(c)) else {
            return Err(SnapshotError::InvalidInput(format!(
                "chunk {c} of the block at {} was not read",
                self.meta.offset
            )));
        };
        let raw = chunk::open(self.path, offset, chunk_meta, bytes)?;
        chunk::values(self.path, offset, &raw, self.meta.row_count, optional)
    }

    /// The key column, checked: strictly increasing, first and last as in the block index.
    fn keys(&self) -> Result<Vec<Vec<u8>>> {
        let key_offset = self.meta.chunk_offset(0);
        let keys: Vec<Vec<u8>> = self.column(0, false)?.into_iter().flatten().collect();
        if let Some(pair) = keys.windows(2).find(|pair| pair.first() >= pair.get(1)) {
            return Err(SnapshotError::corrupt(
                self.path,
                Damage::Block,
                key_offset,
                "strictly increasing keys in the block",
                format!("{:02x?} after {:02x?}", pair.get(1), pair.first()),
            ));
        }
        if keys.first() != Some(&self.meta.first_key) || keys.last() != Some(&self.meta.last_key) {
            return Err(SnapshotError::corrupt(
                self.path,
                Damage::Block,
                key_offset,
                "the block index's first and last key",
                "other keys in the key chunk",
            ));
        }
        Ok(keys)
    }

    /// Typed column `a` (attribute index), checked against its zone map.
    fn attribute(&self, a: usize) -> Result<Values> {
        let values = self.column(a + 1, true)?;
        let present = values.iter().flatten();
        let computed = present.clone().min().cloned().zip(present.max().cloned());
        let zone = self.meta.zones.get(a).cloned().flatten();
        if computed != zone {
            return Err(SnapshotError::corrupt(
                self.path,
                Damage::Block,
                self.meta.chunk_offset(a + 1),
                format!("values matching the zone map {zone:02x?}"),
                format!("{computed:02x?}"),
            ));
        }
        Ok(values)
    }

    /// The item column.
    fn items(&self) -> Result<Vec<Vec<u8>>> {
        let last = self.meta.chunks.len().saturating_sub(1);
        Ok(self.column(last, false)?.into_iter().flatten().collect())
    }
}

/// Decodes block `meta`; `stored(c)` gives the stored bytes of chunk `c` (key, attributes,
/// item), at least for the chunks `columns` selects.
pub(crate) fn decode_block<'a>(
    path: &Path,
    meta: &BlockMeta,
    columns: Columns,
    stored: impl Fn(usize) -> Option<&'a [u8]>,
) -> Result<Vec<Row>> {
    let block = BlockDecoder { path, meta, stored };
    let keys = block.keys()?;
    let mut attrs: Vec<std::vec::IntoIter<Option<Vec<u8>>>> = Vec::new();
    if columns.attrs {
        for a in 0..meta.zones.len() {
            attrs.push(block.attribute(a)?.into_iter());
        }
    }
    let mut items = match columns.item {
        true => block.items()?.into_iter(),
        false => Vec::new().into_iter(),
    };
    // Every column holds row_count values (chunk::values checked), so the iterators run
    // side by side; values move into the rows, none is copied.
    let rows = keys
        .into_iter()
        .map(|key| Row {
            key,
            item: items.next().unwrap_or_default(),
            attrs: attrs.iter_mut().map(|a| a.next().flatten()).collect(),
        })
        .collect();
    Ok(rows)
}

/// The row with `key` in block `meta`, if any: the key column is decoded and searched first,
/// and the other selected columns only when the key is there. Checks as [`decode_block`] does
/// for the columns it decodes.
pub(crate) fn decode_row<'a>(
    path: &Path,
    meta: &BlockMeta,
    key: &[u8],
    columns: Columns,
    stored: impl Fn(usize) -> Option<&'a [u8]>,
) -> Result<Option<Row>> {
    let block = BlockDecoder { path, meta, stored };
    let keys = block.keys()?;
    let Ok(index) = keys.binary_search_by(|k| k.as_slice().cmp(key)) else {
        return Ok(None);
    };
    let mut attrs = Vec::new();
    if columns.attrs {
        for a in 0..meta.zones.len() {
            attrs.push(block.attribute(a)?.into_iter().nth(index).flatten());
        }
    }
    let item = match columns.item {
        true => block.items()?.into_iter().nth(index).unwrap_or_default(),
        false => Vec::new(),
    };
    Ok(keys
        .into_iter()
        .nth(index)
        .map(|key| Row { key, item, attrs }))
}
