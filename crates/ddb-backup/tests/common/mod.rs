//! Shared helpers of the backup tests: a seeded generator of tables and histories, the model
//! replay, and builds into temporary directories.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use ddb_backup::{BackupIdentity, BackupManifest, BuildOptions, BuildRequest, build};
use ddb_io::{Io, StdIo};
use ddb_log::{Record, RecordType};
use ddb_merge::{Row, VecSnapshot};
use ddb_model::{
    IndexKind, IndexSchema, KeyAttribute, KeyDef, ResolvedProjection, ScalarAttributeType,
    TableSchema, parse_item,
};

/// splitmix64.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

/// A table: partition key `pk` of `pk_type`, sort key `_sk` (N; its name needs escaping), a
/// sparse GSI on `gsi` (S) and an LSI on `__lsi` (B).
pub fn schema(pk_type: ScalarAttributeType) -> TableSchema {
    let key = KeyDef {
        partition: KeyAttribute::new("pk", pk_type),
        sort: Some(KeyAttribute::new("_sk", ScalarAttributeType::N)),
    };
    let mut schema = TableSchema::new(key.clone());
    schema.indexes.push(IndexSchema {
        name: "by_gsi".into(),
        kind: IndexKind::Global,
        key: KeyDef {
            partition: KeyAttribute::new("gsi", ScalarAttributeType::S),
            sort: None,
        },
        projection: ResolvedProjection::All,
    });
    schema.indexes.push(IndexSchema {
        name: "by_lsi".into(),
        kind: IndexKind::Local,
        key: KeyDef {
            partition: key.partition.clone(),
            sort: Some(KeyAttribute::new("__lsi", ScalarAttributeType::B)),
        },
        projection: ResolvedProjection::KeysOnly,
    });
    schema
}

fn key_value(t: ScalarAttributeType, n: u64) -> String {
    match t {
        ScalarAttributeType::S => format!(r#"{{"S":"p{}\"é"}}"#, n % 13),
        ScalarAttributeType::N => format!(r#"{{"N":"{}.{}"}}"#, (n % 13) as i64 - 6, n % 3),
        ScalarAttributeType::B => format!(
            r#"{{"B":"{}"}}"#,
            base64::engine::general_purpose::STANDARD.encode([(n % 13) as u8, 0, 255])
        ),
    }
}

/// One item for key number `n` (pk from `n % 13`, sort key from `n / 13`), version `v`.
pub fn item(schema: &TableSchema, rng: &mut Rng, n: u64, v: u64) -> (Vec<u8>, Vec<u8>) {
    let mut attrs = vec![
        format!(
            r#""pk":{}"#,
            key_value(schema.key.partition.attribute_type, n)
        ),
        format!(r#""_sk":{{"N":"{}"}}"#, n / 13),
        format!(r#""v":{{"N":"{v}"}}"#),
        format!(r#""_x":{{"S":"under {v}"}}"#),
    ];
    if rng.below(3) > 0 {
        attrs.push(format!(r#""gsi":{{"S":"g{}"}}"#, rng.below(5)));
    }
    if rng.below(2) == 0 {
        attrs.push(format!(
            r#""__lsi":{{"B":"{}"}}"#,
            base64::engine::general_purpose::STANDARD.encode(rng.next().to_be_bytes())
        ));
    }
    if rng.below(4) == 0 {
        attrs.push(
            r#""nested":{"M":{"gsi":{"S":"not top level"},"l":{"L":[{"N":"1"},{"S":"}]"}]}}}"#
                .to_owned(),
        );
    }
    let text = format!("{{{}}}", attrs.join(","));
    let parsed = parse_item(&text).unwrap();
    let key = schema.table_key(&parsed).unwrap();
    (key, parsed.to_canonical_json().into_bytes())
}

/// A history: snapshot rows at LSN `snapshot_lsn`, then single-record batches of puts and
/// deletes after it.
pub struct History {
    pub snapshot_lsn: u64,
    pub snapshot: Vec<Row>,
    pub records: Vec<Record>,
}

pub fn history(
    schema: &TableSchema,
    seed: u64,
    keys: u64,
    snapshot_rows: u64,
    records: u64,
) -> History {
    let mut rng = Rng(seed);
    let snapshot_lsn = 10 + rng.below(10);
    let mut snap = BTreeMap::new();
    for _ in 0..snapshot_rows {
        let n = rng.below(keys);
        let (key, item) = item(schema, &mut rng, n, 0);
        snap.insert(key, item);
    }
    let snapshot = snap
        .into_iter()
        .map(|(key, item)| Row {
            key,
            item,
            attrs: Some(vec![None]),
        })
        .collect();
    let mut log = Vec::new();
    for i in 0..records {
        let n = rng.below(keys);
        let (key, value) = item(schema, &mut rng, n, i + 1);
        let (record_type, value) = if rng.below(4) == 0 {
            (RecordType::Delete, Vec::new())
        } else {
            (RecordType::Put, value)
        };
        log.push(Record {
            record_type,
            end_of_batch: true,
            lsn: snapshot_lsn + 1 + i,
            timestamp_us: 1000 + i,
            key,
            value,
        });
    }
    History {
        snapshot_lsn,
        snapshot,
        records: log,
    }
}

/// The table at `cut`.
pub fn model(history: &History, cut: u64) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = history
        .snapshot
        .iter()
        .map(|r| (r.key.clone(), r.item.clone()))
        .collect();
    for record in history.records.iter().filter(|r| r.lsn <= cut) {
        match record.record_type {
            RecordType::Put => {
                model.insert(record.key.clone(), record.value.clone());
            }
            _ => {
                model.remove(&record.key);
            }
        }
    }
    model
}

pub fn request(schema: &TableSchema, cut: u64) -> BuildRequest {
    BuildRequest {
        identity: BackupIdentity {
            backup_arn:
                "arn:aws:dynamodb:local:000000000000:table/T/backup/01700000000000-abcdef01".into(),
            backup_name: "nightly".into(),
            backup_type: "USER".into(),
            table_name: "T".into(),
            table_arn: "arn:aws:dynamodb:local:000000000000:table/T".into(),
            table_id: "0123456789abcdef0123456789abcdef".into(),
            request_time_ms: 1_700_000_000_000,
        },
        marker_lsn: cut,
        marker_time_ms: 1_700_000_000_000,
        schema: schema.clone(),
        source_table: serde_json::json!({"TableName": "T", "KeySchema": schema.key.key_schema(), "ItemCount": 0}),
        expires_at_ms: None,
    }
}

pub fn options(
    work: &Path,
    partitions: usize,
    row_group_bytes: usize,
    artifact_bytes: u64,
) -> BuildOptions {
    BuildOptions {
        zstd_level: 3,
        partitions,
        memory_budget_bytes: 1 << 20,
        spill_dir: work.join("spill"),
        row_group_bytes,
        artifact_bytes,
    }
}

pub fn io() -> Arc<dyn Io> {
    Arc::new(StdIo::new())
}

/// Builds `history` at `cut` into `dir`.
pub fn build_at(
    history: &History,
    schema: &TableSchema,
    cut: u64,
    dir: &Path,
    options: &BuildOptions,
) -> BackupManifest {
    let snapshot = VecSnapshot::new(history.snapshot_lsn, history.snapshot.clone())
        .unwrap()
        .with_rows_per_hint(7);
    let log: Vec<_> = history
        .records
        .iter()
        .filter(|r| r.lsn <= cut)
        .cloned()
        .map(Ok)
        .collect();
    build(
        io(),
        dir,
        &request(schema, cut),
        Some(&snapshot),
        log,
        options,
    )
    .unwrap()
}

/// A backup with several artifacts and row groups (2 partitions), in `root/backup`.
pub fn small_backup(root: &Path) -> (PathBuf, BackupManifest) {
    let schema = schema(ScalarAttributeType::S);
    let history = history(&schema, 7, 200, 120, 150);
    let cut = history.snapshot_lsn + 120;
    let dir = root.join("backup");
    let manifest = build_at(
        &history,
        &schema,
        cut,
        &dir,
        &options(root, 2, 2_000, 6_000),
    );
    (dir, manifest)
}

/// Every file under `dir`, relative path → bytes.
pub fn snapshot_dir(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(
                    path.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&path).unwrap(),
                );
            }
        }
    }
    out
}
