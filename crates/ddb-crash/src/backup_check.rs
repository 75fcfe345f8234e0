//! An AVAILABLE backup, checked without the engine: `ddb_backup`'s deep verification (every
//! artifact and row group hash, every row decoded against its item, key order, counts and
//! fingerprints, as `ddbfmt verify --deep`), then its rows read back and compared with the
//! model of its table at the cut.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use ddb_io::Io;
use ddb_model::Item;

use crate::check::compare_tables;
use crate::model::BackupModel;
use crate::schema::key_string;

/// Verifies the backup in `dir` deeply and compares its rows with `model.cut`; returns the
/// number of rows compared.
pub fn check_backup(
    io: &Arc<dyn Io>,
    arn: &str,
    dir: &Path,
    model: &BackupModel,
) -> Result<u64, String> {
    let report =
        ddb_backup::verify(Arc::clone(io), dir, ddb_backup::VerifyLevel::Deep).map_err(|e| {
            format!(
                "backup {arn} ({}): deep verification could not run: {e}",
                dir.display()
            )
        })?;
    if !report.is_sound() {
        let problems: Vec<String> = report
            .problems
            .iter()
            .take(5)
            .map(ToString::to_string)
            .collect();
        return Err(format!(
            "backup {arn} ({}) is AVAILABLE but deep verification found {} problem(s): {}",
            dir.display(),
            report.problems.len(),
            problems.join("; ")
        ));
    }
    let rows = backup_items(io, dir, &model.cut.keys)
        .map_err(|e| format!("backup {arn} ({}): {e}", dir.display()))?;
    let what = format!("backup {arn} ({} of {})", model.name, model.table);
    compare_tables(&what, &model.cut.items, &rows)?;
    Ok(u64::try_from(rows.len()).unwrap_or(u64::MAX))
}

/// Every row of a published backup, keyed as the model keys items.
pub fn backup_items(
    io: &Arc<dyn Io>,
    dir: &Path,
    keys: &[String],
) -> Result<BTreeMap<String, Item>, String> {
    let reader = ddb_backup::BackupReader::open(Arc::clone(io), dir).map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    for row in reader.rows() {
        let row = row.map_err(|e| e.to_string())?;
        let text = std::str::from_utf8(&row.item).map_err(|e| format!("row not UTF-8: {e}"))?;
        let item = ddb_model::parse_item(text).map_err(|e| format!("row: {}", e.message()))?;
        let key = key_string(&item, keys)?;
        if out.insert(key.clone(), item).is_some() {
            return Err(format!("two rows with key {key}"));
        }
    }
    Ok(out)
}
