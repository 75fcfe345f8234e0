//! The snapshot manifest: the commit point of a snapshot. A snapshot exists iff its manifest
//! is durable and verifies; files it does not name are not part of it.
//!
//! On disk: one line of compact JSON, then `xxh3-128 <32 lowercase hex digits>` and a newline,
//! the hash being of the exact bytes of the JSON line (without its newline).

use std::io;
use std::path::Path;

use ddb_io::{Io, OpenOptions, error_at, publish_atomically};
use ddb_model::Fingerprint;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_128;

use crate::error::{Damage, Result, SnapshotError};
use crate::format::{FIRST_BLOCK_OFFSET, FORMAT_VERSION, TRAILER_BYTES};

/// The manifest's file name inside a snapshot directory.
pub const MANIFEST_FILE_NAME: &str = "snapshot.manifest";
/// Prefix of the checksum line.
pub const CHECKSUM_PREFIX: &str = "xxh3-128 ";
/// Largest manifest a reader accepts.
pub const MANIFEST_BYTES_MAX: u64 = 64 << 20;

/// One file of a snapshot, as the writer reports it and the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// File name inside the snapshot directory.
    pub name: String,
    pub size_bytes: u64,
    pub row_count: u64,
    pub first_key: Vec<u8>,
    pub last_key: Vec<u8>,
    /// xxh3-128 of the whole file, 32 lowercase hex digits.
    pub xxh3_128: String,
    /// The trailer's `footer_checksum`. The footer holds every chunk's checksum, so checking
    /// this at open binds the whole file to its entry without reading it.
    pub footer_xxh3_64: u64,
    /// The logical fingerprint of the file's rows (key + item).
    pub fingerprint: Fingerprint,
}

/// Sums over the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    pub files: u64,
    pub rows: u64,
    pub bytes: u64,
    /// The files' fingerprints combined: the fingerprint of the whole snapshot.
    pub fingerprint: Fingerprint,
}

/// A snapshot: which files, of which table, reflecting the log up to which LSN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotManifest {
    pub format_version: u32,
    pub table_id: [u8; 16],
    /// The snapshot holds every mutation with an LSN up to this one.
    pub lsn: u64,
    /// The snapshot was built from the snapshot at this LSN and the log records in
    /// `(base_lsn, lsn]`; `base_lsn == lsn` for one written directly (not by a merge).
    pub base_lsn: u64,
    /// In key order, key ranges disjoint.
    pub files: Vec<FileEntry>,
    pub totals: Totals,
}

#[derive(Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct WireFingerprint {
    items: u64,
    item_bytes: u64,
    hash: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireEntry {
    name: String,
    size_bytes: u64,
    row_count: u64,
    first_key: String,
    last_key: String,
    xxh3_128: String,
    footer_xxh3_64: String,
    fingerprint: WireFingerprint,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireTotals {
    files: u64,
    rows: u64,
    bytes: u64,
    fingerprint: WireFingerprint,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    format_version: u32,
    table_id: String,
    lsn: u64,
    base_lsn: u64,
    files: Vec<WireEntry>,
    totals: WireTotals,
}

fn wire_fingerprint(f: &Fingerprint) -> WireFingerprint {
    WireFingerprint {
        items: f.items,
        item_bytes: f.item_bytes,
        hash: format!("{:032x}", f.hash),
    }
}

impl Totals {
    /// The sums over `files`.
    pub fn of(files: &[FileEntry]) -> Self {
        let mut fingerprint = Fingerprint::default();
        for f in files {
            fingerprint.combine(&f.fingerprint);
        }
        Self {
            files: files.len() as u64,
            rows: files.iter().map(|f| f.row_count).sum(),
            bytes: files.iter().map(|f| f.size_bytes).sum(),
            fingerprint,
        }
    }

    fn wire(&self) -> WireTotals {
        WireTotals {
            files: self.files,
            rows: self.rows,
            bytes: self.bytes,
            fingerprint: wire_fingerprint(&self.fingerprint),
        }
    }
}

/// Serialized as in the manifest (the fingerprint hash as 32 lowercase hex digits).
impl Serialize for Totals {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        self.wire().serialize(serializer)
    }
}

impl FileEntry {
    fn wire(&self) -> WireEntry {
        WireEntry {
            name: self.name.clone(),
            size_bytes: self.size_bytes,
            row_count: self.row_count,
            first_key: hex(&self.first_key),
            last_key: hex(&self.last_key),
            xxh3_128: self.xxh3_128.clone(),
            footer_xxh3_64: format!("{:016x}", self.footer_xxh3_64),
            fingerprint: wire_fingerprint(&self.fingerprint),
        }
    }
}

/// Serialized as in the manifest: keys as lowercase hex.
impl Serialize for FileEntry {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        self.wire().serialize(serializer)
    }
}

impl SnapshotManifest {
    fn wire(&self) -> Wire {
        Wire {
            format_version: self.format_version,
            table_id: hex(&self.table_id),
            lsn: self.lsn,
            base_lsn: self.base_lsn,
            files: self.files.iter().map(FileEntry::wire).collect(),
            totals: self.totals.wire(),
        }
    }
}

/// Serialized exactly as the manifest's JSON line (table id and keys as lowercase hex).
impl Serialize for SnapshotManifest {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        self.wire().serialize(serializer)
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Lowercase hex only, so every value has exactly one spelling.
fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2)
        || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A file name a manifest may list: a plain `.snap` name in the snapshot directory.
pub fn is_valid_file_name(name: &str) -> bool {
    name.len() > ".snap".len()
        && name.ends_with(".snap")
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0'])
}

impl SnapshotManifest {
    /// A manifest for `files` (as returned by the writer), with the totals computed, for a
    /// snapshot written directly at `lsn` (`base_lsn == lsn`; see [`Self::with_base_lsn`]).
    pub fn new(table_id: [u8; 16], lsn: u64, files: Vec<FileEntry>) -> Self {
        let totals = Totals::of(&files);
        Self {
            format_version: FORMAT_VERSION,
            table_id,
            lsn,
            base_lsn: lsn,
            files,
            totals,
        }
    }

    /// Records that the snapshot was merged from the snapshot at `base_lsn` and the log
    /// records in `(base_lsn, lsn]`.
    #[must_use]
    pub fn with_base_lsn(mut self, base_lsn: u64) -> Self {
        self.base_lsn = base_lsn;
        self
    }

    /// The manifest's bytes: the JSON line, then the checksum line.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut out = serde_json::to_vec(&self.wire()).map_err(io::Error::other)?;
        let checksum = xxh3_128(&out);
        out.extend_from_slice(format!("\n{CHECKSUM_PREFIX}{checksum:032x}\n").as_bytes());
        Ok(out)
    }

    /// Publishes the manifest atomically as `dir/snapshot.manifest`: from then on the
    /// snapshot exists. The files must already be durable (the writer syncs them).
    pub fn publish(&self, io: &dyn Io, dir: &Path) -> Result<()> {
        self.check(&dir.join(MANIFEST_FILE_NAME))?;
        let bytes = self.encode()?;
        publish_atomically(io, dir, MANIFEST_FILE_NAME, &bytes)
            .map_err(|e| error_at("publish", &dir.join(MANIFEST_FILE_NAME), e))?;
        Ok(())
    }

    /// Loads and checks `dir/snapshot.manifest`: checksum and every rule.
    pub fn load(io: &dyn Io, dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST_FILE_NAME);
        let file = io
            .open(&path, OpenOptions::read_only())
            .map_err(|e| error_at("open", &path, e))?;
        let len = file.len().map_err(|e| error_at("stat", &path, e))?;
        if len > MANIFEST_BYTES_MAX {
            return Err(SnapshotError::corrupt(
                &path,
                Damage::Manifest,
                0,
                format!("a manifest of at most {MANIFEST_BYTES_MAX} bytes"),
                format!("{len} bytes"),
            ));
        }
        let mut bytes = vec![0u8; usize::try_from(len).unwrap_or_default()];
        file.read_exact_at(&mut bytes, 0)
            .map_err(|e| error_at("read", &path, e))?;
        Self::decode(&path, &bytes)
    }

    /// Decodes and checks manifest bytes (`path` only names them in errors).
    pub fn decode(path: &Path, bytes: &[u8]) -> Result<Self> {
        let bad = |offset: usize, expected: &str, found: String| {
            SnapshotError::corrupt(path, Damage::Manifest, offset as u64, expected, found)
        };
        let Some(newline) = bytes.iter().position(|&b| b == b'\n') else {
            return Err(bad(
                0,
                "a JSON line ending in a newline",
                "no newline".into(),
            ));
        };
        let (json, rest) = bytes.split_at(newline);
        let line = rest.get(1..).unwrap_or_default();
        let line_at = newline + 1;
        let digits = line
            .strip_prefix(CHECKSUM_PREFIX.as_bytes())
            .and_then(|l| l.strip_suffix(b"\n"))
            .and_then(|d| std::str::from_utf8(d).ok())
            .filter(|d| d.len() == 32)
            .and_then(unhex);
        let Some(digits) = digits else {
            // With the separator damaged the only newline is the last byte: name that.
            return Err(bad(
                line_at.min(bytes.len().saturating_sub(1)),
                "a last line `xxh3-128 ` + 32 lowercase hex digits + newline",
                format!("{:?}", String::from_utf8_lossy(line)),
            ));
        };
        let computed = xxh3_128(json);
        if hex(&digits) != format!("{computed:032x}") {
            return Err(bad(
                line_at + CHECKSUM_PREFIX.len(),
                &format!("the checksum of the JSON line, {computed:032x}"),
                hex(&digits),
            ));
        }
        let wire: Wire = serde_json::from_slice(json)
            .map_err(|e| bad(e.column().saturating_sub(1), "manifest JSON", e.to_string()))?;
        let key = |text: &str, what: &str| {
            unhex(text).ok_or_else(|| bad(0, &format!("{what} in lowercase hex"), text.to_owned()))
        };
        let table_id: [u8; 16] = key(&wire.table_id, "table_id")?
            .try_into()
            .map_err(|_| bad(0, "a 16-byte table_id", wire.table_id.clone()))?;
        let number = |text: &str, digits: usize, what: &str| {
            let wrong = || {
                bad(
                    0,
                    &format!("{what}: {digits} lowercase hex digits"),
                    text.to_owned(),
                )
            };
            if text.len() != digits || unhex(text).is_none() {
                return Err(wrong());
            }
            u128::from_str_radix(text, 16).map_err(|_| wrong())
        };
        let fingerprint = |f: &WireFingerprint, what: &str| -> Result<Fingerprint> {
            Ok(Fingerprint {
                items: f.items,
                item_bytes: f.item_bytes,
                hash: number(&f.hash, 32, &format!("{what} fingerprint hash"))?,
            })
        };
        let mut files = Vec::with_capacity(wire.files.len());
        for (i, f) in wire.files.iter().enumerate() {
            let footer = number(&f.footer_xxh3_64, 16, &format!("file {i} footer_xxh3_64"))?;
            files.push(FileEntry {
                name: f.name.clone(),
                size_bytes: f.size_bytes,
                row_count: f.row_count,
                first_key: key(&f.first_key, "first_key")?,
                last_key: key(&f.last_key, "last_key")?,
                xxh3_128: f.xxh3_128.clone(),
                footer_xxh3_64: u64::try_from(footer).unwrap_or_default(),
                fingerprint: fingerprint(&f.fingerprint, &format!("file {i}"))?,
            });
        }
        let totals = Totals {
            files: wire.totals.files,
            rows: wire.totals.rows,
            bytes: wire.totals.bytes,
            fingerprint: fingerprint(&wire.totals.fingerprint, "totals")?,
        };
        let manifest = Self {
            format_version: wire.format_version,
            table_id,
            lsn: wire.lsn,
            base_lsn: wire.base_lsn,
            files,
            totals,
        };
        manifest.check(path)?;
        Ok(manifest)
    }

    /// The rules of a manifest's content (offsets name the JSON line, at 0).
    fn check(&self, path: &Path) -> Result<()> {
        let bad = |expected: String, found: String| {
            SnapshotError::corrupt(path, Damage::Manifest, 0, expected, found)
        };
        if self.format_version != FORMAT_VERSION {
            return Err(bad(
                format!("format_version {FORMAT_VERSION}"),
                self.format_version.to_string(),
            ));
        }
        if self.base_lsn > self.lsn {
            return Err(bad(
                format!("base_lsn <= lsn {}", self.lsn),
                format!("base_lsn {}", self.base_lsn),
            ));
        }
        let smallest = FIRST_BLOCK_OFFSET + TRAILER_BYTES as u64;
        for (i, f) in self.files.iter().enumerate() {
            let hash_ok = f.xxh3_128.len() == 32 && unhex(&f.xxh3_128).is_some();
            if !is_valid_file_name(&f.name)
                || f.size_bytes < smallest
                || f.row_count == 0
                || f.first_key.is_empty()
                || f.first_key > f.last_key
                || !hash_ok
                || f.fingerprint.items != f.row_count
            {
                return Err(bad(
                    format!(
                        "file {i}: a .snap name, at least {smallest} bytes, rows, first_key <= last_key, a 128-bit hash, a fingerprint of row_count items"
                    ),
                    format!("{f:?}"),
                ));
            }
            if i > 0
                && self
                    .files
                    .get(i - 1)
                    .is_some_and(|p| p.last_key >= f.first_key || p.name >= f.name)
            {
                return Err(bad(
                    format!("file {i}: names and key ranges increasing from the previous file"),
                    f.name.clone(),
                ));
            }
        }
        let totals = Totals::of(&self.files);
        if totals != self.totals {
            return Err(bad(
                format!("totals {totals:?}"),
                format!("{:?}", self.totals),
            ));
        }
        Ok(())
    }
}
