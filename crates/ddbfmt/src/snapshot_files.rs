//! `inspect`, `dump` and `verify` of snapshot files, snapshot manifests and snapshot
//! directories (a directory holding `snapshot.manifest`). All checking is `ddb_snapshot`'s;
//! this module only reads through its public API and prints.

use std::io::Write;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ddb_io::{Io, OpenOptions};
use ddb_snapshot::format::{FORMAT_VERSION, FileHeader, HEADER_BYTES, TRAILER_BYTES, Trailer};
use ddb_snapshot::{
    Codec, Columns, MANIFEST_FILE_NAME, Row, SnapshotError, SnapshotFile, SnapshotManifest,
};
use serde_json::{Map, Value, json};

use crate::files::{Outcome, hex};

/// The snapshot kinds a path can hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotKind {
    File(PathBuf),
    /// A manifest file (by name or by its first bytes).
    Manifest(PathBuf),
    /// A directory holding a manifest.
    Directory(PathBuf),
}

/// The first bytes of every manifest (its JSON line starts with the format version).
pub const MANIFEST_PREFIX: &[u8] = b"{\"format_version\":";

fn outcome(sound: bool) -> Outcome {
    if sound {
        Outcome::Sound
    } else {
        Outcome::Damaged
    }
}

fn io_err(e: std::io::Error) -> String {
    e.to_string()
}

/// The directory of a manifest path, and whether it is named so that its files can be found.
fn manifest_dir(path: &Path) -> Option<PathBuf> {
    (path.file_name().is_some_and(|n| n == MANIFEST_FILE_NAME))
        .then(|| path.parent().map(Path::to_path_buf).unwrap_or_default())
}

fn read_all(io: &dyn Io, path: &Path) -> Result<Vec<u8>, String> {
    let file = io
        .open(path, OpenOptions::read_only())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let len = file.len().map_err(io_err)?;
    if len > ddb_snapshot::manifest::MANIFEST_BYTES_MAX {
        return Err(format!(
            "{}: {len} bytes, larger than any manifest",
            path.display()
        ));
    }
    let mut bytes = vec![0u8; usize::try_from(len).map_err(|e| e.to_string())?];
    file.read_exact_at(&mut bytes, 0).map_err(io_err)?;
    Ok(bytes)
}

// ---------------------------------------------------------------------------------------------
// verify

/// `ddbfmt verify` of a snapshot kind.
pub fn verify(
    io: &Arc<dyn Io>,
    kind: &SnapshotKind,
    deep: bool,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<Outcome, String> {
    let (path, files, blocks, rows, errors) = match kind {
        SnapshotKind::Manifest(path) if manifest_dir(path).is_none() => {
            // A manifest under another name: its files cannot be located; check it alone.
            let bytes = read_all(io.as_ref(), path)?;
            let errors = SnapshotManifest::decode(path, &bytes).err();
            (path.clone(), 0, 0, 0, errors.into_iter().collect())
        }
        SnapshotKind::File(path) | SnapshotKind::Manifest(path) | SnapshotKind::Directory(path) => {
            let report = ddb_snapshot::verify(Arc::clone(io), path, deep);
            (
                report.path,
                report.files,
                report.blocks,
                report.rows,
                report.errors,
            )
        }
    };
    let sound = errors.is_empty();
    let what = if deep {
        "every block decompressed, key order and chunk checksums checked"
    } else if matches!(kind, SnapshotKind::File(_)) {
        "header, footer and trailer checked (blocks not read: use --deep)"
    } else {
        "manifest, whole-file hashes, headers, footers and trailers checked"
    };
    let written = if as_json {
        let value = json!({
            "path": path.display().to_string(),
            "kind": kind_name(kind),
            "sound": sound,
            "deep": deep,
            "files": files,
            "blocks": blocks,
            "rows": rows,
            "findings": errors.iter().map(|e| finding_json(&path, e)).collect::<Vec<_>>(),
        });
        writeln!(out, "{value}")
    } else {
        (|| {
            for e in &errors {
                writeln!(out, "{}", finding_text(&path, e))?;
            }
            if sound {
                writeln!(
                    out,
                    "OK: {}: {files} file(s), {blocks} block(s), {rows} row(s); {what}",
                    path.display()
                )
            } else {
                writeln!(
                    out,
                    "DAMAGED: {}: {} finding(s)",
                    path.display(),
                    errors.len()
                )
            }
        })()
    };
    written.map_err(io_err)?;
    Ok(outcome(sound))
}

fn kind_name(kind: &SnapshotKind) -> &'static str {
    match kind {
        SnapshotKind::File(_) => "snapshot-file",
        SnapshotKind::Manifest(_) => "snapshot-manifest",
        SnapshotKind::Directory(_) => "snapshot-directory",
    }
}

fn finding_json(path: &Path, error: &SnapshotError) -> Value {
    match error {
        SnapshotError::Corrupt {
            path,
            damage,
            offset,
            expected,
            found,
        } => json!({
            "path": path.display().to_string(),
            "damage": damage.name(),
            "offset": offset,
            "expected": expected,
            "found": found,
        }),
        other => json!({
            "path": path.display().to_string(),
            "offset": Value::Null,
            "error": other.to_string(),
        }),
    }
}

fn finding_text(path: &Path, error: &SnapshotError) -> String {
    match error {
        SnapshotError::Corrupt {
            path,
            damage,
            offset,
            expected,
            found,
        } => format!(
            "{}: byte {offset}: {} damaged: expected {expected}, found {found}",
            path.display(),
            damage.name()
        ),
        other => format!("{}: {other}", path.display()),
    }
}

// ---------------------------------------------------------------------------------------------
// inspect

/// `ddbfmt inspect` of a snapshot kind.
pub fn inspect(
    io: &Arc<dyn Io>,
    kind: &SnapshotKind,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<Outcome, String> {
    let (value, sound) = match kind {
        SnapshotKind::File(path) => file_json(io, path),
        SnapshotKind::Manifest(path) => manifest_json(io, path, false)?,
        SnapshotKind::Directory(dir) => manifest_json(io, &dir.join(MANIFEST_FILE_NAME), true)?,
    };
    let written = if as_json {
        writeln!(out, "{value}")
    } else {
        write_text(out, &value, 0)
    };
    written.map_err(io_err)?;
    Ok(outcome(sound))
}

/// A key as DynamoDB JSON values (null if it does not decode).
pub(crate) fn key_json(key: &[u8]) -> Value {
    match ddb_model::decode_key(key) {
        Ok(values) => Value::Array(
            values
                .iter()
                .map(|v| serde_json::from_str(&v.to_canonical_json()).unwrap_or(Value::Null))
                .collect(),
        ),
        Err(_) => Value::Null,
    }
}

fn codec_name(code: u8) -> &'static str {
    match code {
        Codec::NONE => "none",
        Codec::LZ4 => "lz4",
        Codec::ZSTD => "zstd",
        _ => "unknown",
    }
}

/// Everything `inspect` says about one file, and whether it opened cleanly. A file that does
/// not open still shows whatever of its header and trailer decodes.
fn file_json(io: &Arc<dyn Io>, path: &Path) -> (Value, bool) {
    match SnapshotFile::open(Arc::clone(io), path) {
        Ok(file) => (open_file_json(&file), true),
        Err(error) => {
            let mut value = json!({
                "path": path.display().to_string(),
                "kind": "snapshot-file",
                "findings": [finding_json(path, &error)],
            });
            if let (Some(map), Ok(raw)) = (value.as_object_mut(), raw_header_trailer(io, path)) {
                map.extend(raw);
            }
            (value, false)
        }
    }
}

/// What decodes of the header and trailer of a file that did not open.
fn raw_header_trailer(io: &Arc<dyn Io>, path: &Path) -> std::io::Result<Map<String, Value>> {
    let file = io.open(path, OpenOptions::read_only())?;
    let len = file.len()?;
    let mut map = Map::new();
    map.insert("size_bytes".into(), json!(len));
    let mut header = [0u8; HEADER_BYTES];
    let read = file.read_at(&mut header, 0)?;
    match FileHeader::decode(header.get(..read).unwrap_or_default()) {
        Ok(h) => {
            map.insert("table_id".into(), json!(hex(&h.table_id)));
            map.insert("lsn".into(), json!(h.lsn));
        }
        Err(e) => {
            map.insert(
                "header".into(),
                json!(format!(
                    "byte {}: expected {}, found {}",
                    e.offset, e.expected, e.found
                )),
            );
        }
    }
    if let Some(at) = len.checked_sub(TRAILER_BYTES as u64) {
        let mut trailer = [0u8; TRAILER_BYTES];
        file.read_exact_at(&mut trailer, at)?;
        match Trailer::decode(&trailer, at) {
            Ok(t) => {
                map.insert("rows".into(), json!(t.row_count));
                map.insert("blocks".into(), json!(t.block_count));
                map.insert("footer_offset".into(), json!(t.footer_offset));
                map.insert("footer_bytes".into(), json!(t.footer_bytes));
            }
            Err(e) => {
                map.insert(
                    "trailer".into(),
                    json!(format!(
                        "byte {}: expected {}, found {}",
                        e.offset, e.expected, e.found
                    )),
                );
            }
        }
    }
    Ok(map)
}

fn column_names(file: &SnapshotFile) -> Vec<String> {
    let mut names = vec!["key".to_owned()];
    names.extend(file.attributes().iter().map(|(n, _)| n.clone()));
    names.push("item".into());
    names
}

fn open_file_json(file: &SnapshotFile) -> Value {
    let (first, last) = file.key_range();
    let names = column_names(file);
    let mut columns = Vec::new();
    for (c, name) in names.iter().enumerate() {
        let mut codecs: Vec<&str> = Vec::new();
        let (mut stored, mut raw) = (0u64, 0u64);
        for chunk in file.blocks().iter().filter_map(|b| b.chunks.get(c)) {
            let codec = codec_name(chunk.codec);
            if !codecs.contains(&codec) {
                codecs.push(codec);
            }
            stored += u64::from(chunk.stored_bytes);
            raw += u64::from(chunk.raw_bytes);
        }
        let kind = c
            .checked_sub(1)
            .and_then(|a| file.attributes().get(a))
            .map_or("bytes".to_owned(), |(_, t)| t.to_string());
        columns.push(json!({
            "name": name,
            "type": kind,
            "codecs": codecs,
            "stored_bytes": stored,
            "raw_bytes": raw,
        }));
    }
    json!({
        "path": file.path().display().to_string(),
        "kind": "snapshot-file",
        "format_version": FORMAT_VERSION,
        "table_id": hex(&file.table_id()),
        "lsn": file.lsn(),
        "rows": file.row_count(),
        "blocks": file.blocks().len(),
        "size_bytes": file.size_bytes(),
        "footer_offset": file.footer_offset(),
        "first_key": key_json(first),
        "last_key": key_json(last),
        "first_key_hex": hex(first),
        "last_key_hex": hex(last),
        "columns": columns,
        "findings": [],
    })
}

/// A manifest (and, for a directory, each of its files).
fn manifest_json(io: &Arc<dyn Io>, path: &Path, with_files: bool) -> Result<(Value, bool), String> {
    let bytes = read_all(io.as_ref(), path)?;
    let manifest = match SnapshotManifest::decode(path, &bytes) {
        Ok(m) => m,
        Err(error) => {
            return Ok((
                json!({
                    "path": path.display().to_string(),
                    "kind": "snapshot-manifest",
                    "size_bytes": bytes.len(),
                    "findings": [finding_json(path, &error)],
                }),
                false,
            ));
        }
    };
    let dir = manifest_dir(path);
    let mut sound = true;
    let mut files = Vec::new();
    for entry in &manifest.files {
        let mut value = json!({
            "name": entry.name,
            "size_bytes": entry.size_bytes,
            "rows": entry.row_count,
            "first_key": key_json(&entry.first_key),
            "last_key": key_json(&entry.last_key),
            "first_key_hex": hex(&entry.first_key),
            "last_key_hex": hex(&entry.last_key),
            "xxh3_128": entry.xxh3_128,
        });
        if with_files && let Some(dir) = &dir {
            let (file, ok) = file_json(io, &dir.join(&entry.name));
            sound &= ok;
            if let Some(map) = value.as_object_mut() {
                map.insert("file".into(), file);
            }
        }
        files.push(value);
    }
    let value = json!({
        "path": path.display().to_string(),
        "kind": if with_files { "snapshot-directory" } else { "snapshot-manifest" },
        "format_version": manifest.format_version,
        "table_id": hex(&manifest.table_id),
        "lsn": manifest.lsn,
        "files": files,
        "totals": {
            "files": manifest.totals.files,
            "rows": manifest.totals.rows,
            "bytes": manifest.totals.bytes,
        },
        "findings": [],
    });
    Ok((value, sound))
}

/// The JSON of `inspect` as text: fields in a fixed order, one per line.
fn write_text(out: &mut dyn Write, value: &Value, depth: usize) -> std::io::Result<()> {
    let pad = "  ".repeat(depth);
    let field = |name: &str| value.get(name).map(scalar_text);
    let kind = field("kind").unwrap_or_default();
    writeln!(
        out,
        "{pad}{} {}",
        kind.replace('-', " "),
        field("path").unwrap_or_default()
    )?;
    let line = |out: &mut dyn Write, label: &str, text: Option<String>| match text {
        Some(text) => writeln!(out, "{pad}  {label:<14}{text}"),
        None => Ok(()),
    };
    line(
        out,
        "format",
        field("format_version").map(|v| format!("snapshot v{v}")),
    )?;
    line(out, "table id", field("table_id"))?;
    line(out, "LSN", field("lsn"))?;
    line(out, "rows", field("rows"))?;
    line(out, "blocks", field("blocks"))?;
    line(
        out,
        "size",
        field("size_bytes").map(|b| format!("{b} bytes")),
    )?;
    line(
        out,
        "footer at",
        field("footer_offset").map(|b| format!("byte {b}")),
    )?;
    if value.get("first_key").is_some() {
        line(
            out,
            "key range",
            Some(format!(
                "{} ..= {}",
                field("first_key").unwrap_or_default(),
                field("last_key").unwrap_or_default()
            )),
        )?;
    }
    line(out, "header", field("header"))?;
    line(out, "trailer", field("trailer"))?;
    for column in value
        .get("columns")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let get = |name: &str| column.get(name).map(scalar_text).unwrap_or_default();
        writeln!(
            out,
            "{pad}  column {:<7}{:<6}{:<10}{} bytes stored, {} raw",
            get("name"),
            get("type"),
            get("codecs"),
            get("stored_bytes"),
            get("raw_bytes")
        )?;
    }
    if let Some(totals) = value.get("totals") {
        let get = |name: &str| totals.get(name).map(scalar_text).unwrap_or_default();
        line(
            out,
            "totals",
            Some(format!(
                "{} file(s), {} row(s), {} bytes",
                get("files"),
                get("rows"),
                get("bytes")
            )),
        )?;
    }
    for entry in value
        .get("files")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let get = |name: &str| entry.get(name).map(scalar_text).unwrap_or_default();
        writeln!(
            out,
            "{pad}  file {}: {} row(s), {} bytes, keys {} ..= {}, xxh3-128 {}",
            get("name"),
            get("rows"),
            get("size_bytes"),
            get("first_key"),
            get("last_key"),
            get("xxh3_128")
        )?;
        if let Some(file) = entry.get("file") {
            write_text(out, file, depth + 2)?;
        }
    }
    for finding in value
        .get("findings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let get = |name: &str| finding.get(name).map(scalar_text).unwrap_or_default();
        let text = match finding.get("error") {
            Some(e) => format!("{}: {}", get("path"), scalar_text(e)),
            None => format!(
                "{}: byte {}: expected {}, found {}",
                get("path"),
                get("offset"),
                get("expected"),
                get("found")
            ),
        };
        line(out, "finding", Some(text))?;
    }
    Ok(())
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// dump

/// `ddbfmt dump` of a snapshot kind: every row as a JSON line, in key order. Stops at the
/// first damage (on `err`, with file and offset) after printing every row before it.
pub fn dump(
    io: &Arc<dyn Io>,
    kind: &SnapshotKind,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome, String> {
    let paths = match kind {
        SnapshotKind::File(path) => vec![path.clone()],
        SnapshotKind::Manifest(path) | SnapshotKind::Directory(path) => {
            let (manifest_path, dir) = match kind {
                SnapshotKind::Directory(_) => (path.join(MANIFEST_FILE_NAME), path.clone()),
                _ => (
                    path.clone(),
                    manifest_dir(path).ok_or_else(|| {
                        format!(
                            "{}: a manifest not named {MANIFEST_FILE_NAME}: its files cannot be located",
                            path.display()
                        )
                    })?,
                ),
            };
            let bytes = read_all(io.as_ref(), &manifest_path)?;
            match SnapshotManifest::decode(&manifest_path, &bytes) {
                Ok(m) => m.files.iter().map(|f| dir.join(&f.name)).collect(),
                Err(e) => {
                    writeln!(err, "ddbfmt dump: {}", finding_text(&manifest_path, &e))
                        .map_err(io_err)?;
                    return Ok(Outcome::Damaged);
                }
            }
        }
    };
    for path in paths {
        let damage = dump_file(io, &path, out).map_err(io_err)?;
        if let Some(e) = damage {
            writeln!(
                err,
                "ddbfmt dump: {} (every row before it was printed)",
                finding_text(&path, &e)
            )
            .map_err(io_err)?;
            return Ok(Outcome::Damaged);
        }
    }
    Ok(Outcome::Sound)
}

/// Prints the rows of one file; the damage that stopped it, if any.
fn dump_file(
    io: &Arc<dyn Io>,
    path: &Path,
    out: &mut dyn Write,
) -> std::io::Result<Option<SnapshotError>> {
    let file = match SnapshotFile::open(Arc::clone(io), path) {
        Ok(f) => f,
        Err(e) => return Ok(Some(e)),
    };
    let names: Vec<&str> = file.attributes().iter().map(|(n, _)| n.as_str()).collect();
    for row in file.scan((Bound::Unbounded, Bound::Unbounded), Columns::ALL) {
        match row {
            Ok(row) => writeln!(out, "{}", row_json(&row, &names))?,
            Err(e) => return Ok(Some(e)),
        }
    }
    Ok(None)
}

fn row_json(row: &Row, names: &[&str]) -> Value {
    let item = std::str::from_utf8(&row.item)
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .unwrap_or_else(|| Value::String(String::from_utf8_lossy(&row.item).into_owned()));
    let attrs: Map<String, Value> = names
        .iter()
        .zip(&row.attrs)
        .map(|(name, value)| {
            let value = value.as_deref().map_or(Value::Null, |v| {
                key_json(v)
                    .as_array()
                    .and_then(|a| a.first().cloned())
                    .unwrap_or(Value::Null)
            });
            ((*name).to_owned(), value)
        })
        .collect();
    json!({
        "key": key_json(&row.key),
        "key_hex": hex(&row.key),
        "item": item,
        "attrs": attrs,
    })
}
