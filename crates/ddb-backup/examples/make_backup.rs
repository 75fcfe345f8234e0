//! Builds a backup of the shared movie data set (`../shared/data/moviedata.json` from the
//! repository root: 4,609 movies, key `year` (N) + `title` (S), a GSI on `genre` + `rating`)
//! into the directory given, from an in-memory snapshot of most movies plus a log holding the
//! rest, some updates and some deletes; prints the manifest's row count. CI runs it and then
//! checks the result with pyarrow and DuckDB (`formats/backup/tools/interop.py`).
//!
//!     cargo run -p ddb-backup --example make_backup -- target/interop-backup

use std::collections::BTreeMap;
use std::error::Error;
use std::path::PathBuf;
use std::sync::Arc;

use ddb_backup::{BackupIdentity, BuildOptions, BuildRequest, build, remove_backup_files};
use ddb_io::{Io, StdIo};
use ddb_log::{Record, RecordType};
use ddb_merge::{Row, VecSnapshot};
use ddb_model::{
    IndexKind, IndexSchema, KeyAttribute, KeyDef, ResolvedProjection, ScalarAttributeType,
    TableSchema, parse_item,
};
use serde_json::{Map, Value, json};

/// Plain JSON → DynamoDB JSON.
fn ddb(plain: &Value) -> Value {
    match plain {
        Value::Number(n) => json!({"N": n.to_string()}),
        Value::String(s) => json!({"S": s}),
        Value::Bool(b) => json!({"BOOL": b}),
        Value::Null => json!({"NULL": true}),
        Value::Array(list) => json!({"L": list.iter().map(ddb).collect::<Vec<_>>()}),
        Value::Object(map) => json!({"M": ddb_map(map)}),
    }
}

fn ddb_map(map: &Map<String, Value>) -> Value {
    Value::Object(map.iter().map(|(k, v)| (k.clone(), ddb(v))).collect())
}

fn schema() -> TableSchema {
    let mut schema = TableSchema::new(KeyDef {
        partition: KeyAttribute::new("year", ScalarAttributeType::N),
        sort: Some(KeyAttribute::new("title", ScalarAttributeType::S)),
    });
    schema.indexes.push(IndexSchema {
        name: "by_genre".into(),
        kind: IndexKind::Global,
        key: KeyDef {
            partition: KeyAttribute::new("genre", ScalarAttributeType::S),
            sort: Some(KeyAttribute::new("rating", ScalarAttributeType::N)),
        },
        projection: ResolvedProjection::All,
    });
    schema
}

/// (key, canonical item) of a movie, with `genre` and `rating` lifted from `info` (sparse:
/// some movies have neither) and `extra` attributes added.
fn movie(
    schema: &TableSchema,
    plain: &Value,
    extra: &[(&str, Value)],
) -> Result<(Vec<u8>, Vec<u8>), Box<dyn Error>> {
    let Value::Object(mut item) = ddb_map(plain.as_object().ok_or("a movie is not an object")?)
    else {
        return Err("not an object".into());
    };
    let info = plain.get("info");
    if let Some(rating) = info.and_then(|i| i.get("rating")) {
        item.insert("rating".into(), ddb(rating));
    }
    if let Some(genre) = info.and_then(|i| i.get("genres")).and_then(|g| g.get(0)) {
        item.insert("genre".into(), ddb(genre));
    }
    for (name, value) in extra {
        item.insert((*name).into(), value.clone());
    }
    let parsed = parse_item(&Value::Object(item).to_string())?;
    Ok((
        schema.table_key(&parsed)?,
        parsed.to_canonical_json().into_bytes(),
    ))
}

fn main() -> Result<(), Box<dyn Error>> {
    let dir = PathBuf::from(std::env::args().nth(1).ok_or("usage: make_backup DIR")?);
    let data =
        std::env::var("MOVIEDATA").unwrap_or_else(|_| "../shared/data/moviedata.json".into());
    let Value::Array(movies) = serde_json::from_str(&std::fs::read_to_string(&data)?)? else {
        return Err(format!("{data}: not a JSON array").into());
    };
    let schema = schema();
    let io: Arc<dyn Io> = Arc::new(StdIo::new());
    if dir.exists() {
        remove_backup_files(&*io, &dir)?;
    }

    // Snapshot at LSN 3000 with the first 3000 movies; the log puts the rest, then updates
    // every 7th movie and deletes every 101st.
    let snapshot_lsn = 3000u64;
    let mut snapshot = BTreeMap::new();
    let mut log = Vec::new();
    let mut lsn = snapshot_lsn;
    let mut push = |record_type, key: Vec<u8>, value: Vec<u8>| {
        lsn += 1;
        log.push(Record {
            record_type,
            end_of_batch: true,
            lsn,
            timestamp_us: lsn * 1000,
            key,
            value,
        });
    };
    for (i, plain) in movies.iter().enumerate() {
        let (key, item) = movie(&schema, plain, &[])?;
        if i < 3000 {
            snapshot.insert(key, item);
        } else {
            push(RecordType::Put, key, item);
        }
    }
    for (i, plain) in movies.iter().enumerate() {
        if i % 7 == 0 {
            let (key, item) = movie(&schema, plain, &[("_restored", json!({"BOOL": true}))])?;
            push(RecordType::Put, key, item);
        }
        if i % 101 == 50 {
            let (key, _) = movie(&schema, plain, &[])?;
            push(RecordType::Delete, key, Vec::new());
        }
    }
    let snapshot = VecSnapshot::new(
        snapshot_lsn,
        snapshot
            .into_iter()
            .map(|(key, item)| Row {
                key,
                item,
                attrs: None,
            })
            .collect(),
    )?;
    let cut = lsn;
    let request = BuildRequest {
        identity: BackupIdentity {
            backup_arn:
                "arn:aws:dynamodb:local:000000000000:table/Movies/backup/01700000000000-00000001"
                    .into(),
            backup_name: "movies-interop".into(),
            backup_type: "USER".into(),
            table_name: "Movies".into(),
            table_arn: "arn:aws:dynamodb:local:000000000000:table/Movies".into(),
            table_id: "4d6f766965734d6f766965734d6f7669".into(),
            request_time_ms: 1_700_000_000_000,
        },
        marker_lsn: cut,
        marker_time_ms: 1_700_000_000_000,
        source_table: json!({
            "TableName": "Movies",
            "KeySchema": schema.key.key_schema(),
            "AttributeDefinitions": schema.attribute_definitions(),
        }),
        schema,
        expires_at_ms: None,
    };
    let work = tempdir_for(&dir);
    let options = BuildOptions {
        partitions: 2,
        spill_dir: work,
        row_group_bytes: 512 << 10,
        artifact_bytes: 1 << 20,
        ..BuildOptions::default()
    };
    let manifest = build(
        Arc::clone(&io),
        &dir,
        &request,
        Some(&snapshot),
        log.into_iter().map(Ok),
        &options,
    )?;
    println!("{}", manifest.total_rows());
    Ok(())
}

/// Scratch for spill runs beside the backup.
fn tempdir_for(dir: &std::path::Path) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.with_file_name(format!(".{name}.work"))
}
