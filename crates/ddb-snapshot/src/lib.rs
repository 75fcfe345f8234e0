//! Snapshots: a table (or index) at one LSN as key-sorted columnar files plus a manifest that
//! commits them (normative text: `formats/snapshot/SPEC.md`).
//!
//! A file holds rows — the order-preserving key, the canonical item JSON, and the typed values
//! of the table's `AttributeDefinitions` — in 4 KiB-aligned blocks of independently compressed,
//! checksummed column chunks, with a checksummed footer (block index, zone maps) and a trailer
//! ending in a magic. Index snapshots use the same format, sorted by index key then table key.
//!
//! Architecture invariant: this crate does no I/O of its own; every byte goes through `ddb_io`.
#![forbid(unsafe_code)]

mod block;
mod chunk;
pub mod error;
pub mod footer;
pub mod format;
pub mod manifest;
pub mod reader;
pub mod row;
pub mod scan;
pub mod snapshot;
pub mod verify;
pub mod writer;

pub use error::{Damage, Result, SnapshotError};
pub use footer::{BlockMeta, ChunkMeta, Codec, Footer, ZoneMap};
pub use manifest::{FileEntry, MANIFEST_FILE_NAME, SnapshotManifest, Totals};
pub use reader::SnapshotFile;
pub use row::{Columns, Row, attrs_from_item};
pub use scan::Scan;
pub use snapshot::SnapshotReader;
pub use verify::{Report, verify};
pub use writer::{SnapshotWriter, WriterOptions, file_name};
