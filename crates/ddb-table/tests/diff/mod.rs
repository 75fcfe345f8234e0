//! The differential test's machinery: a system under test (the engine, or the model itself
//! when checking the generator), one random sequence of operations applied to it and to the
//! model, and the comparison of every response.

pub mod requests;
pub mod shapes;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ddb_table::{Database, DatabaseOptions, WaitFor};
use serde_json::{Value, json};

use crate::model::{Model, ModelError};
use requests::Rng;
use shapes::Shape;

/// What the sequence runs against besides the model.
pub trait System {
    fn call(&mut self, operation: &str, request: &Value) -> Result<Value, ModelError>;
    /// Closes and reopens the database (recovery from the log and the last checkpoint).
    fn reopen(&mut self);
    fn checkpoint(&mut self, table: &str);
    /// Waits until every GSI of `table` reflects every write acknowledged so far.
    fn catch_up_gsis(&mut self, table: &str);
    /// Waits until the table (and its GSIs) can be read and written.
    fn table_ready(&mut self, shape: &Shape);
}

const WAIT_TIMEOUT: Duration = Duration::from_secs(60);

/// The engine: a database directory in a temporary directory.
pub struct Engine {
    dir: tempfile::TempDir,
    db: Option<Arc<Database>>,
}

impl Engine {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = open(dir.path());
        Self { dir, db: Some(db) }
    }

    fn db(&self) -> &Database {
        self.db.as_ref().expect("open")
    }

    fn wait(&self, what: WaitFor) {
        let reached = self
            .db()
            .wait(&what, WAIT_TIMEOUT)
            .unwrap_or_else(|e| panic!("wait {what:?}: {e}"));
        assert!(
            reached,
            "wait {what:?}: not reached within {WAIT_TIMEOUT:?}"
        );
    }
}

fn open(dir: &Path) -> Arc<Database> {
    Database::open(dir, DatabaseOptions::default())
        .unwrap_or_else(|e| panic!("Database::open {}: {e}", dir.display()))
}

impl System for Engine {
    fn call(&mut self, operation: &str, request: &Value) -> Result<Value, ModelError> {
        self.db()
            .call(operation, request)
            .map_err(|e| (e.name().to_owned(), e.message().to_owned()))
    }

    fn reopen(&mut self) {
        // Drop the test's handle first: closing it must release the directory lock (the
        // engine's background work must not keep the database open behind it).
        drop(self.db.take());
        self.db = Some(open(self.dir.path()));
    }

    fn checkpoint(&mut self, table: &str) {
        self.db()
            .checkpoint(table)
            .unwrap_or_else(|e| panic!("checkpoint {table}: {e}"));
    }

    fn catch_up_gsis(&mut self, table: &str) {
        // TODO(engine): the variant the engine adds to `ddb_table::WaitFor`:
        //     /// Every GSI of `table` reflects every write acknowledged before the call.
        //     GsiCaughtUp { table: String },
        self.wait(WaitFor::GsiCaughtUp {
            table: table.to_owned(),
        });
    }

    fn table_ready(&mut self, shape: &Shape) {
        self.wait(WaitFor::TableExists(shape.table.to_owned()));
        for index in shape.indexes.iter().filter(|i| !i.local) {
            self.wait(WaitFor::IndexActive {
                table: shape.table.to_owned(),
                index: index.name.to_owned(),
            });
        }
    }
}

/// The model as the system under test: checks that the generator only produces what the
/// model implements and that the comparison machinery works, while the engine is not there.
pub struct ModelSystem(pub Model);

impl System for ModelSystem {
    fn call(&mut self, operation: &str, request: &Value) -> Result<Value, ModelError> {
        self.0.call(operation, request)
    }
    fn reopen(&mut self) {}
    fn checkpoint(&mut self, _table: &str) {}
    fn catch_up_gsis(&mut self, _table: &str) {}
    fn table_ready(&mut self, _shape: &Shape) {}
}

/// The model with one lie in its answers, to check that the comparison catches lies.
pub struct LyingModel {
    pub model: Model,
    pub lie: fn(&str, &mut Value),
}

impl System for LyingModel {
    fn call(&mut self, operation: &str, request: &Value) -> Result<Value, ModelError> {
        let mut response = self.model.call(operation, request)?;
        (self.lie)(operation, &mut response);
        Ok(response)
    }
    fn reopen(&mut self) {}
    fn checkpoint(&mut self, _table: &str) {}
    fn catch_up_gsis(&mut self, _table: &str) {}
    fn table_ready(&mut self, _shape: &Shape) {}
}

/// What a sequence exercised, so a test can assert the interesting cases happened.
#[derive(Debug, Default)]
pub struct Stats {
    pub calls: BTreeMap<String, usize>,
    pub errors: BTreeMap<String, usize>,
    /// Every distinct error message the model gave.
    pub messages: std::collections::BTreeSet<String>,
    /// Read pages that carried a LastEvaluatedKey.
    pub continued_pages: usize,
    /// Pages stopped by the 1 MB rule rather than by Limit.
    pub size_stopped_pages: usize,
    pub reopens: usize,
    pub checkpoints: usize,
}

/// One failure: everything needed to replay it.
fn fail(seed: u64, shape: &Shape, step: usize, what: &str, detail: String) -> ! {
    panic!(
        "differential mismatch: shape {} seed {seed} step {step}: {what}\n{detail}\n\
         replay: DDB_DIFF_SHAPE={} DDB_DIFF_SEED={seed} cargo test -p ddb-table --test differential",
        shape.name, shape.name
    );
}

/// Runs `steps` random operations on `shape` against the model and `system`.
pub fn run(shape: &Shape, seed: u64, steps: usize, system: &mut dyn System) -> Stats {
    let mut rng = Rng::new(seed ^ 0x5EED_D1FF_0000_0001);
    let mut model = Model::new();
    let mut stats = Stats::default();
    let create = shape.create_table();
    let expected = model.call("CreateTable", &create);
    let got = system.call("CreateTable", &create);
    compare_create(&expected, &got).unwrap_or_else(|d| fail(seed, shape, 0, "CreateTable", d));
    system.table_ready(shape);

    for step in 1..=steps {
        let roll = rng.below(1000);
        let (operation, request) = match roll {
            0..=279 => ("PutItem", requests::put_request(&mut rng, shape, &model)),
            280..=379 => (
                "DeleteItem",
                requests::delete_request(&mut rng, shape, &model),
            ),
            380..=579 => (
                "UpdateItem",
                requests::update_request(&mut rng, shape, &model),
            ),
            580..=659 => ("GetItem", requests::get_request(&mut rng, shape, &model)),
            660..=839 => ("Query", requests::query_request(&mut rng, shape, &model)),
            840..=919 => ("Scan", requests::scan_request(&mut rng, shape)),
            920..=969 => (
                "BatchWriteItem",
                requests::batch_request(&mut rng, shape, &model),
            ),
            970..=984 => {
                system.reopen();
                stats.reopens += 1;
                continue;
            }
            _ => {
                system.checkpoint(shape.table);
                stats.checkpoints += 1;
                continue;
            }
        };
        *stats.calls.entry(operation.to_owned()).or_default() += 1;
        if std::env::var("DDB_DIFF_TRACE").is_ok() {
            let all = serde_json::json!({"TableName": shape.table});
            let m = model.call("Scan", &all);
            let e = system.call("Scan", &all);
            if format!("{m:?}") != format!("{e:?}") {
                eprintln!("DIVERGED before step {step}:\nMODEL {m:?}\nENGINE {e:?}");
                panic!("diverged");
            }
            eprintln!("step {step} {operation} {request}");
        }
        if operation == "Query" || operation == "Scan" {
            read_all_pages(
                shape, seed, step, operation, request, &mut model, system, &mut stats,
            );
            continue;
        }
        let expected = model.call(operation, &request);
        let got = system.call(operation, &request);
        if let Err((name, message)) = &expected {
            *stats.errors.entry(name.clone()).or_default() += 1;
            stats.messages.insert(message.clone());
        }
        compare(&expected, &got)
            .unwrap_or_else(|d| fail(seed, shape, step, operation, describe(&request, d)));
    }
    // Finally the whole table, and every index, must agree.
    for index in std::iter::once(None).chain(shape.indexes.iter().map(|i| Some(i.name))) {
        let mut request = json!({"TableName": shape.table});
        if let Some(name) = index {
            request["IndexName"] = json!(name);
        }
        read_all_pages(
            shape,
            seed,
            steps + 1,
            "Scan",
            request,
            &mut model,
            system,
            &mut stats,
        );
    }
    stats
}

/// Issues a Query or Scan and then every following page, comparing each.
#[allow(clippy::too_many_arguments)]
fn read_all_pages(
    shape: &Shape,
    seed: u64,
    step: usize,
    operation: &str,
    mut request: Value,
    model: &mut Model,
    system: &mut dyn System,
    stats: &mut Stats,
) {
    let is_gsi = request
        .get("IndexName")
        .and_then(Value::as_str)
        .is_some_and(|name| !shape.index(name).local);
    for page in 0.. {
        assert!(page < 10_000, "paging does not end");
        if is_gsi {
            system.catch_up_gsis(shape.table);
        }
        let expected = model.call(operation, &request);
        let got = system.call(operation, &request);
        compare(&expected, &got).unwrap_or_else(|d| {
            if std::env::var("DDB_DIFF_TRACE").is_ok() {
                let all = serde_json::json!({"TableName": shape.table});
                eprintln!("MODEL ALL {:?}", model.call("Scan", &all));
                eprintln!("ENGINE ALL {:?}", system.call("Scan", &all));
            }
            fail(
                seed,
                shape,
                step,
                &format!("{operation} page {page}"),
                describe(&request, d),
            )
        });
        let response = match expected {
            Ok(response) => response,
            Err((name, message)) => {
                *stats.errors.entry(name).or_default() += 1;
                stats.messages.insert(message);
                return;
            }
        };
        let Some(last) = response.get("LastEvaluatedKey") else {
            return;
        };
        stats.continued_pages += 1;
        let limit = request.get("Limit").and_then(Value::as_u64);
        if limit.is_none_or(|l| response["ScannedCount"].as_u64() < Some(l)) {
            stats.size_stopped_pages += 1;
        }
        request["ExclusiveStartKey"] = last.clone();
    }
}

fn describe(request: &Value, detail: String) -> String {
    format!("request: {request}\n{detail}")
}

/// Equal responses, or what differs. Set members are compared as sets (DynamoDB does not
/// promise an order); everything else exactly, error messages included.
fn compare(
    expected: &Result<Value, ModelError>,
    got: &Result<Value, ModelError>,
) -> Result<(), String> {
    let normal = |r: &Result<Value, ModelError>| match r {
        Ok(v) => Ok(normalise(v.clone())),
        Err(e) => Err(e.clone()),
    };
    if normal(expected) == normal(got) {
        Ok(())
    } else {
        Err(format!("model:  {}\nengine: {}", show(expected), show(got)))
    }
}

fn show(r: &Result<Value, ModelError>) -> String {
    match r {
        Ok(v) => {
            let text = v.to_string();
            if text.len() > 4000 {
                // Big fillers: show the shape, not 300 KiB of 'f'.
                format!("{}… ({} bytes)", &text[..4000], text.len())
            } else {
                text
            }
        }
        Err((name, message)) => format!("error {name}: {message}"),
    }
}

fn normalise(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        ("SS" | "NS" | "BS", Value::Array(mut members)) => {
                            members.sort_by_key(Value::to_string);
                            Value::Array(members)
                        }
                        (_, v) => normalise(v),
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(normalise).collect()),
        other => other,
    }
}

/// CreateTable: the parts of the description that do not depend on time or identity.
fn compare_create(
    expected: &Result<Value, ModelError>,
    got: &Result<Value, ModelError>,
) -> Result<(), String> {
    let summary = |r: &Result<Value, ModelError>| -> Result<Value, ModelError> {
        let v = r.clone()?;
        let d = &v["TableDescription"];
        let indexes = |list: &Value| -> Value {
            list.as_array()
                .map(|list| {
                    list.iter()
                        .map(|i| {
                            json!({"IndexName": i["IndexName"], "KeySchema": i["KeySchema"],
                                   "Projection": i["Projection"]})
                        })
                        .collect()
                })
                .unwrap_or(Value::Null)
        };
        Ok(json!({
            "TableName": d["TableName"],
            "KeySchema": d["KeySchema"],
            "AttributeDefinitions": d["AttributeDefinitions"],
            "LocalSecondaryIndexes": indexes(&d["LocalSecondaryIndexes"]),
            "GlobalSecondaryIndexes": indexes(&d["GlobalSecondaryIndexes"]),
        }))
    };
    compare(&summary(expected), &summary(got))
}
