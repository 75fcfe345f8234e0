//! The child's choice of the next operation: writes on a small key space (most of the time),
//! checkpoints, backups, restores, PITR marks and restores, online GSI creation and deletion,
//! DeleteBackup and DeleteTable of restored tables, and waits for background work.

use std::collections::{BTreeMap, BTreeSet};

use crate::check::{describe, list_backups};
use crate::child::{Child, gsi_statuses};
use crate::protocol::{BatchWrite, Op, WaitWhat};
use crate::schema::{self, BASE_TABLES, T1, T2};

/// At most this many live backups and restored tables (each check reads them all).
const MAX_BACKUPS: usize = 5;
const MAX_RESTORED: usize = 5;

impl Child<'_> {
    /// Chooses and runs the next op.
    pub(crate) fn step(&mut self) -> Result<(), String> {
        if let Some(table) = BASE_TABLES.iter().find(|t| !self.base.contains(**t)) {
            let op = Op::CreateTable {
                table: (*table).to_owned(),
            };
            return self.run(op).map(drop);
        }
        if !self.pitr.contains(T1) || (!self.pitr.contains(T2) && self.rng.percent(3)) {
            let table = if self.pitr.contains(T1) { T2 } else { T1 };
            return self
                .run(Op::EnablePitr {
                    table: table.to_owned(),
                })
                .map(drop);
        }
        let roll = self.rng.below(100);
        let op = match roll {
            0..=64 => Some(self.write_op()),
            65..=67 => Some(Op::Checkpoint {
                table: self.base_table(),
            }),
            68..=71 => self.backup_op()?,
            72..=74 => self.delete_backup_op()?,
            75..=78 => self.restore_op()?,
            79..=82 => {
                let table = self.base_table();
                if self.pitr.contains(&table) {
                    self.mark(&table)?;
                }
                None
            }
            83..=86 => self.pitr_op(),
            87..=89 => self.gsi_op()?,
            90..=92 => self.delete_table_op()?,
            _ => self.wait_op()?,
        };
        match op {
            Some(op) => self.run(op).map(drop),
            // Nothing of the chosen kind can run now: a write instead.
            None => {
                let op = self.write_op();
                self.run(op).map(drop)
            }
        }
    }

    fn base_table(&mut self) -> String {
        if self.rng.percent(70) { T1 } else { T2 }.to_owned()
    }

    fn write_op(&mut self) -> Op {
        let table = self.base_table();
        let roll = self.rng.below(100);
        if roll < 50 {
            let key = schema::random_key(&mut self.rng, &table);
            let v = self.next_version();
            Op::Put {
                item: schema::random_item(&mut self.rng, &table, &key, v),
                table,
            }
        } else if roll < 75 {
            let key = schema::random_key(&mut self.rng, &table);
            let mut set = BTreeMap::new();
            set.insert(
                "v".to_owned(),
                serde_json::json!({"N": self.next_version().to_string()}),
            );
            let mut remove = Vec::new();
            for name in schema::optional_attributes(&table) {
                if self.rng.percent(40) {
                    match schema::random_attribute(&mut self.rng, name) {
                        Some(value) => {
                            set.insert((*name).to_owned(), value);
                        }
                        None => remove.push((*name).to_owned()),
                    }
                }
            }
            Op::Update {
                table,
                key,
                set,
                remove,
            }
        } else if roll < 87 {
            Op::Delete {
                key: schema::random_key(&mut self.rng, &table),
                table,
            }
        } else {
            self.batch_op()
        }
    }

    fn batch_op(&mut self) -> Op {
        let count = if self.rng.percent(30) {
            25
        } else {
            self.rng.range(1, 25)
        };
        let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
        let mut writes = Vec::new();
        for _ in 0..count {
            let table = self.base_table();
            let key = schema::random_key(&mut self.rng, &table);
            if !seen.insert((table.clone(), key.to_string())) {
                continue;
            }
            if self.rng.percent(70) {
                let v = self.next_version();
                let item = schema::random_item(&mut self.rng, &table, &key, v);
                writes.push(BatchWrite {
                    table,
                    put: Some(item),
                    delete: None,
                });
            } else {
                writes.push(BatchWrite {
                    table,
                    put: None,
                    delete: Some(key),
                });
            }
        }
        Op::Batch { writes }
    }

    /// Backups by ARN: (table, AVAILABLE?).
    fn backups(&self) -> Result<Vec<(String, String, bool)>, String> {
        Ok(list_backups(&self.db)?
            .into_iter()
            .map(|(arn, b)| (arn, b.table, b.status == "AVAILABLE"))
            .collect())
    }

    fn backup_op(&mut self) -> Result<Option<Op>, String> {
        if self.backups()?.len() >= MAX_BACKUPS {
            return self.delete_backup_op();
        }
        let table = self.base_table();
        Ok(Some(Op::Backup {
            name: self.unique_name("b"),
            table,
        }))
    }

    fn delete_backup_op(&mut self) -> Result<Option<Op>, String> {
        let available: Vec<String> = self
            .backups()?
            .into_iter()
            .filter(|b| b.2)
            .map(|b| b.0)
            .collect();
        if available.is_empty() {
            return Ok(None);
        }
        Ok(pick(&mut self.rng, &available).map(|arn| Op::DeleteBackup { arn }))
    }

    fn restore_op(&mut self) -> Result<Option<Op>, String> {
        if self.restored.len() >= MAX_RESTORED {
            return self.delete_table_op();
        }
        let available: Vec<String> = self
            .backups()?
            .into_iter()
            .filter(|b| b.2)
            .map(|b| b.0)
            .collect();
        if available.is_empty() {
            return Ok(None);
        }
        let target = self.unique_name("r");
        Ok(pick(&mut self.rng, &available).map(|arn| Op::Restore { target, arn }))
    }

    fn pitr_op(&mut self) -> Option<Op> {
        if self.restored.len() >= MAX_RESTORED || self.pitr.is_empty() {
            return None;
        }
        let usable: Vec<(String, u64)> = self
            .marks
            .iter()
            .filter(|m| m.writes_after > 0 && self.pitr.contains(&m.table))
            .map(|m| (m.table.clone(), m.time_us))
            .collect();
        let target = self.unique_name("p");
        if usable.is_empty() || self.rng.percent(20) {
            let tables: Vec<String> = self.pitr.iter().cloned().collect();
            let source = pick(&mut self.rng, &tables)?;
            return Some(Op::Pitr {
                target,
                source,
                time_us: None,
            });
        }
        let (source, time_us) = pick(&mut self.rng, &usable)?;
        Some(Op::Pitr {
            target,
            source,
            time_us: Some(time_us),
        })
    }

    fn gsi_op(&mut self) -> Result<Option<Op>, String> {
        let table = self.base_table();
        let statuses = gsi_statuses(&describe(&self.db, &table)?);
        if statuses.values().any(|s| s != "ACTIVE") {
            return Ok(None);
        }
        let online: Vec<String> = schema::online_gsis(&table)
            .into_iter()
            .map(|g| g.0)
            .collect();
        let missing: Vec<&String> = online
            .iter()
            .filter(|g| !statuses.contains_key(*g))
            .collect();
        let present: Vec<&String> = online
            .iter()
            .filter(|g| statuses.contains_key(*g))
            .collect();
        if !missing.is_empty() && (present.is_empty() || self.rng.percent(75)) {
            return Ok(pick(&mut self.rng, &missing).map(|index| Op::CreateGsi {
                table,
                index: index.clone(),
            }));
        }
        if present.is_empty() {
            return Ok(None);
        }
        Ok(pick(&mut self.rng, &present).map(|index| Op::DeleteGsi {
            table,
            index: index.clone(),
        }))
    }

    fn delete_table_op(&mut self) -> Result<Option<Op>, String> {
        let mut active = Vec::new();
        for table in &self.restored {
            if crate::at(&describe(&self.db, table)?, "/TableStatus") == "ACTIVE" {
                active.push(table.clone());
            }
        }
        if active.len() < 2 {
            return Ok(None);
        }
        Ok(pick(&mut self.rng, &active).map(|table| Op::DeleteTable { table }))
    }

    /// A wait for some background work in progress (a backup job, a restore, a backfill).
    fn wait_op(&mut self) -> Result<Option<Op>, String> {
        let mut candidates = Vec::new();
        for (arn, _, available) in self.backups()? {
            if !available {
                candidates.push(WaitWhat::Backup(arn));
            }
        }
        let tables: Vec<String> = self.base.iter().chain(&self.restored).cloned().collect();
        for table in tables {
            let description = describe(&self.db, &table)?;
            if crate::at(&description, "/TableStatus") == "CREATING" {
                candidates.push(WaitWhat::Restore(table));
                continue;
            }
            for (index, status) in gsi_statuses(&description) {
                if status == "CREATING" {
                    candidates.push(WaitWhat::Gsi {
                        table: table.clone(),
                        index,
                    });
                }
            }
        }
        if candidates.is_empty() {
            return Ok(None);
        }
        Ok(pick(&mut self.rng, &candidates).map(|what| Op::Wait { what }))
    }
}

/// A random element.
fn pick<T: Clone>(rng: &mut crate::rng::Rng, from: &[T]) -> Option<T> {
    from.get(rng.index(from.len())).cloned()
}
