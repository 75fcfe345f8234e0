//! The parent's model of the database, built from the child's acknowledgements only.
//!
//! Per base table: key → item as the ACKs say. Per backup ARN: its table at the request (the
//! cut). Per restore target: the content it must have (the backup's cut, or the source at the
//! PITR mark). The one op that had a BEGIN and no ACK when the child died is `pending`: the
//! check resolves it by what the database shows.

use std::collections::{BTreeMap, BTreeSet};

use ddb_model::Item;

use crate::protocol::{Ack, Line, Op};
use crate::schema::{self, item_of, key_string};

/// Items of one table, by [`key_string`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableModel {
    /// Key attributes, partition key first.
    pub keys: Vec<String>,
    pub items: BTreeMap<String, Item>,
}

impl TableModel {
    pub fn new(keys: Vec<String>) -> Self {
        Self {
            keys,
            items: BTreeMap::new(),
        }
    }
}

/// A backup the child's CreateBackup got acknowledged.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupModel {
    pub table: String,
    pub name: String,
    /// The table at the request: exactly what the backup must hold.
    pub cut: TableModel,
}

/// Where a restored table's content comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum RestoreSource {
    Backup(String),
    Pitr {
        source: String,
        time_us: Option<u64>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct RestoreModel {
    pub source: RestoreSource,
    pub expected: TableModel,
}

/// The op in flight when the child died.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub seq: String,
    pub op: Op,
}

/// One key's change by a write: the item before and after (`None`: absent).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyChange {
    pub table: String,
    pub key: String,
    pub old: Option<Item>,
    pub new: Option<Item>,
}

#[derive(Debug, Clone, Default)]
pub struct Model {
    /// Base tables (the ones the child writes).
    pub tables: BTreeMap<String, TableModel>,
    pub backups: BTreeMap<String, BackupModel>,
    /// ARNs whose DeleteBackup was acknowledged: never listed again.
    pub deleted_backups: BTreeSet<String>,
    pub restores: BTreeMap<String, RestoreModel>,
    /// Restored tables whose DeleteTable was acknowledged.
    pub deleted_tables: BTreeSet<String>,
    /// The GSIs of each base table, as acknowledged.
    pub gsis: BTreeMap<String, BTreeSet<String>>,
    /// Base tables with PITR enabled (acknowledged).
    pub pitr: BTreeSet<String>,
    /// PITR marks of the current generation: (table, time µs) → the table at that time.
    pub marks: BTreeMap<(String, u64), TableModel>,
    pub pending: Option<Pending>,
    /// ACK lines applied over the whole run.
    pub acks: u64,
    /// ERR lines (refused requests) over the whole run.
    pub refusals: u64,
}

impl Model {
    /// Applies one line of the child's output.
    pub fn line(&mut self, line: &Line) -> Result<(), String> {
        match line {
            Line::Begin { seq, op, .. } => {
                if let Some(p) = &self.pending {
                    return Err(format!(
                        "BEGIN {seq} while {} ({}) is unacknowledged",
                        p.seq,
                        p.op.summary()
                    ));
                }
                self.pending = Some(Pending {
                    seq: seq.clone(),
                    op: op.clone(),
                });
                Ok(())
            }
            Line::Ack { seq, ack, .. } => {
                let pending = self.take_pending(seq)?;
                self.acks += 1;
                self.apply(&pending.op, ack)
            }
            Line::Err { seq, .. } => {
                self.take_pending(seq)?;
                self.refusals += 1;
                Ok(())
            }
            Line::Mark {
                table,
                time_us,
                seq,
            } => {
                if let Some(p) = &self.pending {
                    return Err(format!("MARK after {seq} while {} is in flight", p.seq));
                }
                let state = self
                    .tables
                    .get(table)
                    .cloned()
                    .ok_or_else(|| format!("MARK of unknown table {table}"))?;
                self.marks.insert((table.clone(), *time_us), state);
                Ok(())
            }
            Line::Start { .. } | Line::Opened | Line::Fatal(_) | Line::Done => Ok(()),
        }
    }

    fn take_pending(&mut self, seq: &str) -> Result<Pending, String> {
        match self.pending.take() {
            Some(p) if p.seq == seq => Ok(p),
            Some(p) => Err(format!("ACK/ERR {seq} but the op in flight is {}", p.seq)),
            None => Err(format!("ACK/ERR {seq} without a BEGIN")),
        }
    }

    /// Starts a generation: marks are only used within the generation that took them.
    pub fn new_generation(&mut self) {
        self.marks.clear();
    }

    /// The table model of a base table or restore target.
    pub fn table(&self, name: &str) -> Option<&TableModel> {
        self.tables
            .get(name)
            .or_else(|| self.restores.get(name).map(|r| &r.expected))
    }

    /// The key changes a write op makes, from the model's current state.
    pub fn changes(&self, op: &Op) -> Result<Vec<KeyChange>, String> {
        let table_model = |table: &str| {
            self.tables
                .get(table)
                .ok_or_else(|| format!("write to a table the model does not have: {table}"))
        };
        let change = |table: &str, new_item: Option<Item>, key_item: &Item| {
            let model = table_model(table)?;
            let key = key_string(key_item, &model.keys)?;
            Ok::<KeyChange, String>(KeyChange {
                table: table.to_owned(),
                old: model.items.get(&key).cloned(),
                key,
                new: new_item,
            })
        };
        match op {
            Op::Put { table, item } => {
                let item = item_of(item)?;
                Ok(vec![change(table, Some(item.clone()), &item)?])
            }
            Op::Delete { table, key } => Ok(vec![change(table, None, &item_of(key)?)?]),
            Op::Update {
                table,
                key,
                set,
                remove,
            } => {
                let key_item = item_of(key)?;
                let mut c = change(table, None, &key_item)?;
                let mut item = c.old.clone().unwrap_or(key_item);
                for (name, value) in set {
                    let value = ddb_model::parse_value(&value.to_string())
                        .map_err(|e| format!("bad SET value of {name}: {}", e.message()))?;
                    item.insert(name.clone(), value);
                }
                for name in remove {
                    item.remove(name);
                }
                c.new = Some(item);
                Ok(vec![c])
            }
            Op::Batch { writes } => writes
                .iter()
                .map(|w| match (&w.put, &w.delete) {
                    (Some(item), None) => {
                        let item = item_of(item)?;
                        change(&w.table, Some(item.clone()), &item)
                    }
                    (None, Some(key)) => change(&w.table, None, &item_of(key)?),
                    _ => Err("a batch write that is neither a put nor a delete".to_owned()),
                })
                .collect(),
            _ => Ok(Vec::new()),
        }
    }

    /// Applies an acknowledged op.
    pub fn apply(&mut self, op: &Op, ack: &Ack) -> Result<(), String> {
        for c in self.changes(op)? {
            let model = self
                .tables
                .get_mut(&c.table)
                .ok_or_else(|| format!("no table {}", c.table))?;
            match c.new {
                Some(item) => model.items.insert(c.key, item),
                None => model.items.remove(&c.key),
            };
        }
        match op {
            Op::CreateTable { table } => {
                self.tables.insert(
                    table.clone(),
                    TableModel::new(schema::key_attributes(table)),
                );
                self.gsis.insert(
                    table.clone(),
                    schema::initial_gsis(table).into_iter().collect(),
                );
            }
            Op::Backup { table, name } => {
                let arn = ack
                    .arn
                    .clone()
                    .ok_or_else(|| format!("ACK of backup {name} without an ARN"))?;
                let cut = self
                    .tables
                    .get(table)
                    .cloned()
                    .ok_or_else(|| format!("backup of unknown table {table}"))?;
                self.backups.insert(
                    arn,
                    BackupModel {
                        table: table.clone(),
                        name: name.clone(),
                        cut,
                    },
                );
            }
            Op::DeleteBackup { arn } => {
                self.backups.remove(arn);
                self.deleted_backups.insert(arn.clone());
            }
            Op::Restore { target, arn } => {
                let expected = self
                    .backups
                    .get(arn)
                    .map(|b| b.cut.clone())
                    .ok_or_else(|| {
                        format!("restore {target} of a backup not in the model: {arn}")
                    })?;
                self.restores.insert(
                    target.clone(),
                    RestoreModel {
                        source: RestoreSource::Backup(arn.clone()),
                        expected,
                    },
                );
            }
            Op::Pitr {
                target,
                source,
                time_us,
            } => {
                let expected = match time_us {
                    Some(t) => self
                        .marks
                        .get(&(source.clone(), *t))
                        .cloned()
                        .ok_or_else(|| {
                            format!("pitr {target} at {t}: no MARK of {source} at that time")
                        })?,
                    None => self
                        .tables
                        .get(source)
                        .cloned()
                        .ok_or_else(|| format!("pitr of unknown table {source}"))?,
                };
                self.restores.insert(
                    target.clone(),
                    RestoreModel {
                        source: RestoreSource::Pitr {
                            source: source.clone(),
                            time_us: *time_us,
                        },
                        expected,
                    },
                );
            }
            Op::EnablePitr { table } => {
                self.pitr.insert(table.clone());
            }
            Op::CreateGsi { table, index } => {
                self.gsis
                    .entry(table.clone())
                    .or_default()
                    .insert(index.clone());
            }
            Op::DeleteGsi { table, index } => {
                if let Some(set) = self.gsis.get_mut(table) {
                    set.remove(index);
                }
            }
            Op::DeleteTable { table } => {
                self.restores.remove(table);
                self.deleted_tables.insert(table.clone());
            }
            Op::Put { .. }
            | Op::Update { .. }
            | Op::Delete { .. }
            | Op::Batch { .. }
            | Op::Checkpoint { .. }
            | Op::Wait { .. } => {}
        }
        Ok(())
    }
}
