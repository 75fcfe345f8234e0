//! `inspect`, `dump` and `verify` of an export directory in DynamoDB's S3 export layout
//! (`…/AWSDynamoDB/<ExportId>/` with `manifest-summary.json`; `formats/export`).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use ddb_export::{Compression, ImportSource, MANIFEST_SUMMARY_FILE};
use ddb_io::Io;
use serde_json::{Value, json};

use crate::files::Outcome;

fn io_err(e: std::io::Error) -> String {
    format!("cannot write the output: {e}")
}

/// Whether `dir` is an export directory (it holds `manifest-summary.json`).
pub fn is_export_dir(io: &dyn Io, dir: &Path) -> bool {
    io.exists(&dir.join(MANIFEST_SUMMARY_FILE)).unwrap_or(false)
}

fn summary(io: &dyn Io, dir: &Path) -> Result<Value, String> {
    let path = dir.join(MANIFEST_SUMMARY_FILE);
    let read = || -> std::io::Result<Vec<u8>> {
        let file = io.open(&path, ddb_io::OpenOptions::read_only())?;
        let len = file.len()?;
        if len > 16 << 20 {
            return Err(std::io::Error::other("larger than 16 MiB: not a summary"));
        }
        let mut bytes = vec![0u8; usize::try_from(len).unwrap_or(0)];
        file.read_exact_at(&mut bytes, 0)?;
        Ok(bytes)
    };
    let bytes = read().map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: not JSON: {e}", path.display()))
}

/// Reads every data file the manifest lists: MD5s, item counts and every line checked.
/// Returns (items, problems).
fn read_all(
    io: &Arc<dyn Io>,
    dir: &Path,
    mut on_item: impl FnMut(&ddb_export::ImportItem) -> Result<(), String>,
) -> Result<(u64, Vec<String>, usize), String> {
    let source = ImportSource::open(Arc::clone(io), dir, None, Compression::Gzip)
        .map_err(|e| e.to_string())?;
    let mut items = 0u64;
    let mut problems = Vec::new();
    for line in source.items() {
        match line {
            Ok(item) => {
                items += 1;
                on_item(&item)?;
            }
            Err(e) => problems.push(e.to_string()),
        }
    }
    Ok((items, problems, source.files().len()))
}

/// `ddbfmt verify EXPORT_DIR`: every data file's MD5 and item count against
/// `manifest-files.json`, every line a DynamoDB item, the total against `manifest-summary.json`.
pub fn verify(
    io: &Arc<dyn Io>,
    dir: &Path,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<Outcome, String> {
    let summary = summary(io.as_ref(), dir)?;
    let (items, mut problems, files) = read_all(io, dir, |_| Ok(()))?;
    let expected = summary.get("itemCount").and_then(Value::as_u64);
    if expected != Some(items) {
        problems.push(format!(
            "{}: itemCount {} but the data files hold {items} items",
            dir.join(MANIFEST_SUMMARY_FILE).display(),
            expected.map_or_else(|| "missing".to_owned(), |n| n.to_string())
        ));
    }
    if as_json {
        let report = json!({"path": dir, "kind": "export", "files": files, "items": items,
                            "problems": problems, "sound": problems.is_empty()});
        writeln!(out, "{report}").map_err(io_err)?;
    } else {
        for problem in &problems {
            writeln!(out, "DAMAGED {problem}").map_err(io_err)?;
        }
        writeln!(
            out,
            "{}: export, {files} data files, {items} items: {}",
            dir.display(),
            if problems.is_empty() {
                "sound".to_owned()
            } else {
                format!("{} problems", problems.len())
            }
        )
        .map_err(io_err)?;
    }
    Ok(if problems.is_empty() {
        Outcome::Sound
    } else {
        Outcome::Damaged
    })
}

/// `ddbfmt inspect EXPORT_DIR`: the summary and the data files.
pub fn inspect(
    io: &Arc<dyn Io>,
    dir: &Path,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<Outcome, String> {
    let summary = summary(io.as_ref(), dir)?;
    let source = ImportSource::open(Arc::clone(io), dir, None, Compression::Gzip)
        .map_err(|e| e.to_string())?;
    let files: Vec<String> = source
        .files()
        .iter()
        .map(|p| p.strip_prefix(dir).unwrap_or(p).display().to_string())
        .collect();
    if as_json {
        writeln!(
            out,
            "{}",
            json!({"path": dir, "kind": "export", "summary": summary, "files": files})
        )
        .map_err(io_err)?;
        return Ok(Outcome::Sound);
    }
    let field = |name: &str| {
        summary
            .get(name)
            .map_or_else(String::new, ToString::to_string)
    };
    writeln!(out, "export {}", dir.display()).map_err(io_err)?;
    for name in [
        "exportArn",
        "tableArn",
        "exportTime",
        "startTime",
        "endTime",
        "itemCount",
        "billedSizeBytes",
        "outputFormat",
        "exportType",
    ] {
        writeln!(out, "  {name:<16} {}", field(name)).map_err(io_err)?;
    }
    writeln!(out, "  data files ({}):", files.len()).map_err(io_err)?;
    for file in files {
        writeln!(out, "    {file}").map_err(io_err)?;
    }
    Ok(Outcome::Sound)
}

/// `ddbfmt dump EXPORT_DIR`: every item as a DynamoDB JSON line, in file order.
pub fn dump(
    io: &Arc<dyn Io>,
    dir: &Path,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome, String> {
    let (_, problems, _) = read_all(io, dir, |item| {
        writeln!(out, "{}", item.item.to_canonical_json()).map_err(io_err)
    })?;
    for problem in &problems {
        writeln!(err, "ddbfmt dump: {problem}").map_err(io_err)?;
    }
    Ok(if problems.is_empty() {
        Outcome::Sound
    } else {
        Outcome::Damaged
    })
}
