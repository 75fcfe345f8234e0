//! The child: opens the database with background work on and runs a seeded workload, one
//! logical operation at a time, printing `BEGIN` before each request and `ACK` after the
//! engine acknowledged it (see [`crate::protocol`]). It continues from whatever state the
//! database is in: it discovers tables, backups, GSIs and PITR settings by asking the engine.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ddb_table::{Database, WaitFor};
use serde_json::{Value, json};

use crate::check::{describe, list_backups, list_tables};
use crate::protocol::{Ack, BatchWrite, Op, WaitWhat, ack_line, begin_line};
use crate::rng::Rng;
use crate::schema::{self, BASE_TABLES};

/// How long a Wait op waits in a killed generation, and at the end of the final one.
const WAIT: Duration = Duration::from_secs(30);
const FINAL_WAIT: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
pub struct ChildOptions {
    pub dir: PathBuf,
    /// The run's seed; the workload's is derived from it and the generation.
    pub seed: u64,
    pub generation: u64,
    /// Ops to run (the parent kills a non-final child long before).
    pub ops: u64,
    /// The final generation: after its ops, wait until every backup is AVAILABLE, every
    /// restore ACTIVE and every index ACTIVE.
    pub final_run: bool,
}

/// A PITR restore time the child took (after an ACK, with the clock past it before the next
/// write).
#[derive(Debug, Clone)]
pub(crate) struct Mark {
    pub table: String,
    pub time_us: u64,
    /// Acknowledged writes to `table` since: a restore needs one (the latest restorable time is
    /// the last commit).
    pub writes_after: u64,
}

/// What the child knows of the database (asked of the engine, never remembered across
/// generations).
pub(crate) struct Child<'a> {
    pub db: Arc<Database>,
    pub rng: Rng,
    pub generation: u64,
    out: &'a mut dyn Write,
    ops: u64,
    versions: u64,
    pub base: BTreeSet<String>,
    pub restored: BTreeSet<String>,
    pub pitr: BTreeSet<String>,
    pub marks: Vec<Mark>,
    /// In the final generation's waits (longer timeouts).
    finishing: bool,
}

/// Runs the child's workload, printing the protocol to `out`.
pub fn run_child(options: &ChildOptions, out: &mut dyn Write) -> Result<(), String> {
    emit(
        out,
        &format!("START {} {}", options.generation, std::process::id()),
    )?;
    let opened = crate::io_from_env().and_then(|io| {
        Database::open(&options.dir, crate::database_options(io, true))
            .map_err(|e| format!("open {}: {e}", options.dir.display()))
    });
    let db = match opened {
        Ok(db) => db,
        Err(e) => {
            let _ = emit(out, &format!("FATAL {e}"));
            return Err(e);
        }
    };
    emit(out, &format!("OPENED {}", options.generation))?;
    let mut child = Child {
        db,
        rng: Rng::derive(options.seed, options.generation + 1),
        generation: options.generation,
        out,
        ops: 0,
        versions: 0,
        base: BTreeSet::new(),
        restored: BTreeSet::new(),
        pitr: BTreeSet::new(),
        marks: Vec::new(),
        finishing: false,
    };
    let result = child.discover().and_then(|()| {
        for _ in 0..options.ops {
            child.step()?;
        }
        if options.final_run {
            child.finish()?;
        }
        Ok(())
    });
    if let Err(e) = &result {
        let _ = emit(child.out, &format!("FATAL {e}"));
        return result;
    }
    let ops = child.ops;
    emit(child.out, &format!("DONE {} {ops}", options.generation))
}

fn emit(out: &mut dyn Write, line: &str) -> Result<(), String> {
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|e| format!("stdout: {e}"))
}

/// Error names a request may be refused with (no effect); any other error is fatal.
fn allowed_refusal(op: &Op, name: &str) -> bool {
    match op {
        Op::DeleteBackup { .. } => name == "BackupInUseException",
        Op::DeleteTable { .. } => name == "ResourceInUseException",
        Op::CreateGsi { .. } | Op::DeleteGsi { .. } => {
            name == "LimitExceededException" || name == "ResourceInUseException"
        }
        _ => false,
    }
}

impl Child<'_> {
    /// Learns the tables, restores and PITR settings from the engine.
    fn discover(&mut self) -> Result<(), String> {
        for name in list_tables(&self.db)? {
            if BASE_TABLES.contains(&name.as_str()) {
                let response =
                    self.call("DescribeContinuousBackups", &json!({"TableName": name}))?;
                if crate::at(
                    &response,
                    "/ContinuousBackupsDescription/PointInTimeRecoveryDescription/PointInTimeRecoveryStatus",
                ) == "ENABLED"
                {
                    self.pitr.insert(name.clone());
                }
                self.base.insert(name);
            } else {
                self.restored.insert(name);
            }
        }
        Ok(())
    }

    pub fn call(&self, operation: &str, request: &Value) -> Result<Value, String> {
        crate::check::call(&self.db, operation, request)
    }

    /// A version number unique over the run.
    pub fn next_version(&mut self) -> u64 {
        self.versions += 1;
        self.generation * 100_000_000 + self.versions
    }

    /// A name unique over the run.
    pub fn unique_name(&mut self, prefix: &str) -> String {
        format!("{prefix}{}_{}", self.generation, self.ops + 1)
    }

    /// Takes a PITR mark of `table`: the time now (after the last ACK), then spins until the
    /// clock has passed it, so every acknowledged write is at or before it and every later one
    /// after it.
    pub fn mark(&mut self, table: &str) -> Result<(), String> {
        use ddb_log::Clock as _;
        let clock = ddb_log::SystemClock;
        let time_us = clock.now_us();
        while clock.now_us() <= time_us {
            std::hint::spin_loop();
        }
        let seq = format!("{}.{}", self.generation, self.ops);
        emit(self.out, &format!("MARK {table} {time_us} {seq}"))?;
        self.marks.push(Mark {
            table: table.to_owned(),
            time_us,
            writes_after: 0,
        });
        Ok(())
    }

    /// Runs one op: BEGIN, the request, then ACK (or ERR for an allowed refusal).
    pub fn run(&mut self, op: Op) -> Result<Ack, String> {
        self.ops += 1;
        let seq = format!("{}.{}", self.generation, self.ops);
        emit(self.out, &begin_line(&seq, &op))?;
        match self.execute(&op) {
            Ok(ack) => {
                let mut summary = op.summary();
                if let Some(arn) = &ack.arn {
                    summary = format!("{summary} {arn}");
                }
                if let Some(done) = ack.done {
                    summary = format!("{summary} done={done}");
                }
                emit(self.out, &ack_line(&seq, &summary, &ack))?;
                self.after(&op);
                Ok(ack)
            }
            Err((name, message)) if allowed_refusal(&op, &name) => {
                emit(self.out, &format!("ERR {seq} {name}: {message}"))?;
                Ok(Ack::default())
            }
            Err((name, message)) => Err(format!("{seq} {}: {name}: {message}", op.summary())),
        }
    }

    /// Bookkeeping after an ACK.
    fn after(&mut self, op: &Op) {
        let mut written: Vec<&str> = Vec::new();
        match op {
            Op::CreateTable { table } => {
                self.base.insert(table.clone());
            }
            Op::Put { table, .. } | Op::Update { table, .. } | Op::Delete { table, .. } => {
                written.push(table);
            }
            Op::Batch { writes } => written.extend(writes.iter().map(|w| w.table.as_str())),
            Op::EnablePitr { table } => {
                self.pitr.insert(table.clone());
            }
            Op::Restore { target, .. } | Op::Pitr { target, .. } => {
                self.restored.insert(target.clone());
            }
            Op::DeleteTable { table } => {
                self.restored.remove(table);
            }
            _ => {}
        }
        for mark in &mut self.marks {
            if written.contains(&mark.table.as_str()) {
                mark.writes_after += 1;
            }
        }
    }

    fn execute(&mut self, op: &Op) -> Result<Ack, (String, String)> {
        let db = Arc::clone(&self.db);
        let call = |operation: &str, request: Value| {
            db.call(operation, &request)
                .map_err(|e| (e.name().to_owned(), e.message().to_owned()))
        };
        let fatal = |message: String| ("Unexpected".to_owned(), message);
        let mut ack = Ack::default();
        match op {
            Op::CreateTable { table } => {
                call("CreateTable", schema::definition(table))?;
            }
            Op::Put { table, item } => {
                call("PutItem", json!({"TableName": table, "Item": item}))?;
            }
            Op::Update {
                table,
                key,
                set,
                remove,
            } => {
                call("UpdateItem", update_request(table, key, set, remove))?;
            }
            Op::Delete { table, key } => {
                call("DeleteItem", json!({"TableName": table, "Key": key}))?;
            }
            Op::Batch { writes } => {
                let response = call("BatchWriteItem", batch_request(writes))?;
                if crate::at(&response, "/UnprocessedItems")
                    .as_object()
                    .is_some_and(|m| !m.is_empty())
                {
                    return Err(fatal(format!("UnprocessedItems: {response}")));
                }
            }
            Op::Checkpoint { table } => {
                db.checkpoint(table)
                    .map_err(|e| (e.name().to_owned(), e.message().to_owned()))?;
            }
            Op::Backup { table, name } => {
                let response = call(
                    "CreateBackup",
                    json!({"TableName": table, "BackupName": name}),
                )?;
                let arn = crate::at(&response, "/BackupDetails/BackupArn").as_str();
                ack.arn = Some(
                    arn.ok_or_else(|| fatal(format!("no BackupArn: {response}")))?
                        .to_owned(),
                );
            }
            Op::DeleteBackup { arn } => {
                call("DeleteBackup", json!({"BackupArn": arn}))?;
            }
            Op::Restore { target, arn } => {
                call(
                    "RestoreTableFromBackup",
                    json!({"TargetTableName": target, "BackupArn": arn}),
                )?;
            }
            Op::EnablePitr { table } => {
                call(
                    "UpdateContinuousBackups",
                    json!({"TableName": table, "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}}),
                )?;
            }
            Op::Pitr {
                target,
                source,
                time_us,
            } => {
                let mut request = json!({"SourceTableName": source, "TargetTableName": target});
                match time_us {
                    #[allow(clippy::cast_precision_loss)] // exact below 2^53 µs (year 2255)
                    Some(t) => crate::set(&mut request, "RestoreDateTime", json!(*t as f64 / 1e6)),
                    None => crate::set(&mut request, "UseLatestRestorableTime", json!(true)),
                }
                call("RestoreTableToPointInTime", request)?;
            }
            Op::CreateGsi { table, index } => {
                let request = schema::online_gsis(table)
                    .into_iter()
                    .find(|(name, _)| name == index)
                    .map(|(_, request)| request)
                    .ok_or_else(|| fatal(format!("no GSI {index} for {table}")))?;
                call("UpdateTable", request)?;
            }
            Op::DeleteGsi { table, index } => {
                call(
                    "UpdateTable",
                    json!({"TableName": table, "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": index}}]}),
                )?;
            }
            Op::DeleteTable { table } => {
                call("DeleteTable", json!({"TableName": table}))?;
            }
            Op::Wait { what } => {
                let timeout = if self.finishing { FINAL_WAIT } else { WAIT };
                let condition = match what {
                    WaitWhat::Backup(arn) => WaitFor::BackupAvailable(arn.clone()),
                    WaitWhat::Restore(table) => WaitFor::TableExists(table.clone()),
                    WaitWhat::Gsi { table, index } => WaitFor::IndexActive {
                        table: table.clone(),
                        index: index.clone(),
                    },
                };
                let done = db
                    .wait(&condition, timeout)
                    .map_err(|e| (e.name().to_owned(), e.message().to_owned()))?;
                ack.done = Some(done);
            }
        }
        Ok(ack)
    }

    /// The final generation's end: waits until every backup is AVAILABLE, every restored
    /// table ACTIVE and every GSI of every table ACTIVE.
    fn finish(&mut self) -> Result<(), String> {
        self.finishing = true;
        let mut waits = Vec::new();
        for (arn, backup) in list_backups(&self.db)? {
            if backup.status != "AVAILABLE" {
                waits.push(WaitWhat::Backup(arn));
            }
        }
        for table in self.restored.clone() {
            waits.push(WaitWhat::Restore(table));
        }
        for op in waits {
            self.final_wait(op)?;
        }
        for table in list_tables(&self.db)? {
            let gsis = gsi_statuses(&describe(&self.db, &table)?);
            for (index, status) in gsis {
                if status != "ACTIVE" {
                    self.final_wait(WaitWhat::Gsi {
                        table: table.clone(),
                        index,
                    })?;
                }
            }
        }
        Ok(())
    }

    fn final_wait(&mut self, what: WaitWhat) -> Result<(), String> {
        let op = Op::Wait { what };
        let summary = op.summary();
        if self.run(op)?.done != Some(true) {
            return Err(format!("final {summary}: not done after {FINAL_WAIT:?}"));
        }
        Ok(())
    }
}

/// GSI name → IndexStatus of a table description.
pub(crate) fn gsi_statuses(description: &Value) -> BTreeMap<String, String> {
    crate::at(description, "/GlobalSecondaryIndexes")
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| {
            (
                crate::at(g, "/IndexName")
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                crate::at(g, "/IndexStatus")
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

fn update_request(
    table: &str,
    key: &Value,
    set: &BTreeMap<String, Value>,
    remove: &[String],
) -> Value {
    let mut names = serde_json::Map::new();
    let mut values = serde_json::Map::new();
    let mut sets = Vec::new();
    for (i, (name, value)) in set.iter().enumerate() {
        names.insert(format!("#s{i}"), json!(name));
        values.insert(format!(":s{i}"), value.clone());
        sets.push(format!("#s{i} = :s{i}"));
    }
    let mut removes = Vec::new();
    for (i, name) in remove.iter().enumerate() {
        names.insert(format!("#r{i}"), json!(name));
        removes.push(format!("#r{i}"));
    }
    let mut expression = format!("SET {}", sets.join(", "));
    if !removes.is_empty() {
        expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
    }
    json!({
        "TableName": table,
        "Key": key,
        "UpdateExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values
    })
}

fn batch_request(writes: &[BatchWrite]) -> Value {
    let mut items: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for w in writes {
        let request = match (&w.put, &w.delete) {
            (Some(item), _) => json!({"PutRequest": {"Item": item}}),
            (None, key) => json!({"DeleteRequest": {"Key": key}}),
        };
        items.entry(&w.table).or_default().push(request);
    }
    json!({"RequestItems": items})
}
