//! Resolving the op in flight at the kill: it may have happened or not, and the database must
//! show exactly one of the two states — for a BatchWriteItem, all or nothing per table.

use std::collections::{BTreeMap, BTreeSet};

use ddb_model::Item;
use ddb_table::Database;
use serde_json::json;

use crate::check::{ListedBackup, call, describe};
use crate::model::{KeyChange, Model};
use crate::protocol::{Ack, Op};
use crate::schema::short;

/// Resolves `model.pending` (which must be set) into the model; returns a description.
pub fn resolve(
    db: &Database,
    model: &mut Model,
    tables: &BTreeSet<String>,
    backups: &BTreeMap<String, ListedBackup>,
) -> Result<String, String> {
    let Some(pending) = model.pending.take() else {
        return Ok("nothing in flight".to_owned());
    };
    let op = &pending.op;
    let what = format!("{} {}", pending.seq, op.summary());
    let mut ack = Ack::default();
    let happened = match op {
        Op::Put { .. } | Op::Update { .. } | Op::Delete { .. } | Op::Batch { .. } => {
            let changes = model.changes(op)?;
            let mut outcome = Vec::new();
            let mut by_table: BTreeMap<&str, Vec<&KeyChange>> = BTreeMap::new();
            for c in &changes {
                by_table.entry(&c.table).or_default().push(c);
            }
            for (table, changes) in by_table {
                let applied = resolve_writes(db, model, table, &changes)
                    .map_err(|e| format!("the unacknowledged {what}: {e}"))?;
                if applied {
                    for c in changes {
                        if let Some(t) = model.tables.get_mut(table) {
                            match &c.new {
                                Some(item) => t.items.insert(c.key.clone(), item.clone()),
                                None => t.items.remove(&c.key),
                            };
                        }
                    }
                }
                outcome.push(format!("{table}: {}", if applied { "new" } else { "old" }));
            }
            return Ok(format!("{what}: {}", outcome.join(", ")));
        }
        Op::CreateTable { table } | Op::Restore { target: table, .. } => tables.contains(table),
        Op::Pitr { target, .. } => tables.contains(target),
        Op::DeleteTable { table } => !tables.contains(table),
        Op::Backup { table, name } => {
            let found: Vec<&String> = backups
                .iter()
                .filter(|(arn, b)| {
                    &b.name == name && &b.table == table && !model.backups.contains_key(*arn)
                })
                .map(|(arn, _)| arn)
                .collect();
            match found.as_slice() {
                [] => false,
                [arn] => {
                    ack.arn = Some((*arn).clone());
                    true
                }
                _ => {
                    return Err(format!(
                        "the unacknowledged {what} made {} backups",
                        found.len()
                    ));
                }
            }
        }
        Op::DeleteBackup { arn } => !backups.contains_key(arn),
        Op::EnablePitr { table } => {
            let response = call(
                db,
                "DescribeContinuousBackups",
                &json!({"TableName": table}),
            )?;
            crate::at(
                &response,
                "/ContinuousBackupsDescription/PointInTimeRecoveryDescription/PointInTimeRecoveryStatus",
            ) == "ENABLED"
        }
        Op::CreateGsi { table, index } | Op::DeleteGsi { table, index } => {
            let has = crate::at(&describe(db, table)?, "/GlobalSecondaryIndexes")
                .as_array()
                .into_iter()
                .flatten()
                .any(|g| crate::at(g, "/IndexName") == index.as_str());
            has == matches!(op, Op::CreateGsi { .. })
        }
        Op::Checkpoint { .. } | Op::Wait { .. } => false,
    };
    if happened {
        model.apply(op, &ack)?;
    }
    Ok(format!(
        "{what}: {}",
        if happened {
            "happened"
        } else {
            "did not happen"
        }
    ))
}

/// Whether the writes of one table were applied: every key shows its new state (true) or
/// every key its old one (false); anything else is an error.
fn resolve_writes(
    db: &Database,
    model: &Model,
    table: &str,
    changes: &[&KeyChange],
) -> Result<bool, String> {
    if !model.tables.contains_key(table) {
        return Err(format!("no table {table} in the model"));
    }
    let mut all_new = true;
    let mut all_old = true;
    let mut shown = Vec::new();
    for c in changes {
        let found = get_item(db, table, c)?;
        let is_new = found == c.new;
        let is_old = found == c.old;
        all_new &= is_new;
        all_old &= is_old;
        if !is_new && !is_old {
            return Err(format!(
                "table {table} key {} shows {}, neither the old {} nor the new {}",
                c.key,
                show(found.as_ref()),
                show(c.old.as_ref()),
                show(c.new.as_ref())
            ));
        }
        shown.push(format!("{}={}", c.key, if is_new { "new" } else { "old" }));
    }
    if all_new {
        Ok(true)
    } else if all_old {
        Ok(false)
    } else {
        Err(format!(
            "table {table} shows a partly applied write (all or nothing per table): {}",
            shown.join(", ")
        ))
    }
}

fn show(item: Option<&Item>) -> String {
    item.map_or_else(|| "absent".to_owned(), short)
}

fn get_item(db: &Database, table: &str, change: &KeyChange) -> Result<Option<Item>, String> {
    // The model's key is the canonical DynamoDB JSON of the key attributes.
    let key: serde_json::Value =
        serde_json::from_str(&change.key).map_err(|e| format!("key JSON {}: {e}", change.key))?;
    let response = call(
        db,
        "GetItem",
        &json!({"TableName": table, "Key": key, "ConsistentRead": true}),
    )?;
    match response.get("Item") {
        Some(item) => Ok(Some(crate::schema::item_of(item)?)),
        None => Ok(None),
    }
}
