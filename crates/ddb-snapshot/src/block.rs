//! Decoding one block from its stored column chunks, checking it against its block-index
//! entry: chunk checksums, row counts, strictly increasing keys matching the entry's first and
//! last key, and the zone maps of the typed columns.

use std::path::Path;

use crate::chunk;
use crate::error::{Damage, Result, SnapshotError};
use crate::footer::BlockMeta;
use crate::row::{Columns, Row};

/// Decodes block `meta`; `stored(c)` gives the stored bytes of chunk `c` (key, attributes,
/// item), at least for the chunks `columns` selects.
pub(crate) fn decode_block<'a>(
    path: &Path,
    meta: &BlockMeta,
    columns: Columns,
    stored: impl Fn(usize) -> Option<&'a [u8]>,
) -> Result<Vec<Row>> {
    let count = meta.chunks.len();
    let column = |c: usize, optional: bool| -> Result<Vec<Option<Vec<u8>>>> {
        let offset = meta.chunk_offset(c);
        let (Some(chunk_meta), Some(bytes)) = (meta.chunks.get(c), stored(c)) else {
            return Err(SnapshotError::InvalidInput(format!(
                "chunk {c} of the block at {} was not read",
                meta.offset
            )));
        };
        let raw = chunk::open(path, offset, chunk_meta, bytes)?;
        chunk::values(path, offset, &raw, meta.row_count, optional)
    };

    let key_offset = meta.chunk_offset(0);
    let keys: Vec<Vec<u8>> = column(0, false)?.into_iter().flatten().collect();
    for pair in keys.windows(2) {
        if let [a, b] = pair {
            if a >= b {
                return Err(SnapshotError::corrupt(
                    path,
                    Damage::Block,
                    key_offset,
                    "strictly increasing keys in the block",
                    format!("{b:02x?} after {a:02x?}"),
                ));
            }
        }
    }
    if keys.first() != Some(&meta.first_key) || keys.last() != Some(&meta.last_key) {
        return Err(SnapshotError::corrupt(
            path,
            Damage::Block,
            key_offset,
            "the block index's first and last key",
            "other keys in the key chunk",
        ));
    }

    let mut attrs: Vec<Vec<Option<Vec<u8>>>> = Vec::new();
    if columns.attrs {
        for (a, zone) in meta.zones.iter().enumerate() {
            let values = column(a + 1, true)?;
            let present = values.iter().flatten();
            let computed = present.clone().min().cloned().zip(present.max().cloned());
            if computed != *zone {
                return Err(SnapshotError::corrupt(
                    path,
                    Damage::Block,
                    meta.chunk_offset(a + 1),
                    format!("values matching the zone map {zone:02x?}"),
                    format!("{computed:02x?}"),
                ));
            }
            attrs.push(values);
        }
    }
    let items: Vec<Vec<u8>> = if columns.item {
        column(count.saturating_sub(1), false)?
            .into_iter()
            .flatten()
            .collect()
    } else {
        Vec::new()
    };

    let mut rows = Vec::with_capacity(keys.len());
    for (i, key) in keys.into_iter().enumerate() {
        let row_attrs = attrs
            .iter_mut()
            .map(|values| values.get_mut(i).and_then(Option::take))
            .collect();
        let item = items.get(i).cloned().unwrap_or_default();
        rows.push(Row {
            key,
            item,
            attrs: row_attrs,
        });
    }
    Ok(rows)
}
