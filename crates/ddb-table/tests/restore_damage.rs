//! A damaged backup is refused by restore: every corruption of the backup mutation test
//! (`crates/ddb-backup/tests/corruption.rs`: byte flips in each structural region of every
//! artifact — leading magic, each row group's first, middle and last byte, the page index,
//! the footer, its length, the trailing magic — truncation, an appended byte, deletion, two
//! artifacts swapped, flips and truncation of the manifest, and re-checksummed manifest edits)
//! applied to a copy of a database's backup directory, which is then restored by path.
//!
//! For every case: the request is refused with ValidationException (the manifest does not
//! load), or the job fails (`run_restore_jobs` errs and `restore_failure` names it); then
//! DescribeTable of the target is ResourceNotFoundException and `tables/` holds no directory
//! for it. The intact copy restores, exactly, as a control.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ddb_backup::{BackupManifest, MANIFEST_FILE};
use ddb_io::Io;
use ddb_model::ErrorKind;
use ddb_table::{Database, DatabaseOptions};
use serde_json::{Value, json};

const SRC: &str = "orders";

fn io() -> Arc<dyn Io> {
    ddb_io::select_backend(ddb_io::BackendChoice::from_env().unwrap()).unwrap()
}

fn options() -> DatabaseOptions {
    let mut options = DatabaseOptions {
        io: Some(io()),
        ..DatabaseOptions::default()
    };
    options.table.background = false;
    options.table.snapshot_block_bytes = 4096;
    // Several artifacts of several row groups each.
    options.backup.row_group_bytes = 2 << 10;
    options.backup.artifact_bytes = 7 << 10;
    options.backup.worker = false;
    options
}

fn definition() -> Value {
    json!({
        "TableName": SRC,
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "at", "AttributeType": "N"},
            {"AttributeName": "rank", "AttributeType": "S"},
            {"AttributeName": "shop", "AttributeType": "S"}
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"}
        ],
        "LocalSecondaryIndexes": [
            {
                "IndexName": "by_at",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "at", "KeyType": "RANGE"}
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"}
            },
            {
                "IndexName": "by_rank",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "rank", "KeyType": "RANGE"}
                ],
                "Projection": {"ProjectionType": "ALL"}
            }
        ],
        "GlobalSecondaryIndexes": [{
            "IndexName": "by_shop",
            "KeySchema": [{"AttributeName": "shop", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"}
        }],
        "BillingMode": "PAY_PER_REQUEST"
    })
}

/// The source table (a checkpoint and a log tail) and an AVAILABLE backup of it: its directory
/// and manifest.
fn make_backup(db: &Database) -> (PathBuf, BackupManifest) {
    db.call("CreateTable", &definition()).unwrap();
    let put = |n: u64| {
        let mut item = json!({
            "pk": {"S": format!("user#{:02}", n % 9)},
            "sk": {"N": (n / 9).to_string()},
            "at": {"N": ((n * 37) % 101).to_string()},
            "body": {"S": format!("{n}:{}", "x".repeat((n % 50) as usize))},
        });
        if !n.is_multiple_of(3) {
            item["rank"] = json!({"S": format!("r{}", n % 7)});
        }
        if n.is_multiple_of(2) {
            item["shop"] = json!({"S": format!("s{}", n % 5)});
        }
        db.call("PutItem", &json!({"TableName": SRC, "Item": item}))
            .unwrap();
    };
    for n in 0..200 {
        put(n);
    }
    db.checkpoint(SRC).unwrap();
    for n in 150..260 {
        put(n);
    }
    let response = db
        .call(
            "CreateBackup",
            &json!({"TableName": SRC, "BackupName": "to-damage"}),
        )
        .unwrap();
    let arn = response["BackupDetails"]["BackupArn"].as_str().unwrap();
    db.run_backup_jobs().unwrap();
    let dir = db.backup(arn).unwrap().dir;
    let manifest = BackupManifest::load(&*io(), &dir).unwrap();
    (dir, manifest)
}

/// One damage: its name and what it does to a copy of the backup directory.
struct Case {
    name: String,
    apply: Box<dyn Fn(&Path)>,
}

fn flip(file: PathBuf, offset: u64) -> Box<dyn Fn(&Path)> {
    Box::new(move |dir: &Path| {
        let path = dir.join(&file);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[offset as usize] ^= 0x5a;
        std::fs::write(&path, bytes).unwrap();
    })
}

/// Rewrites the manifest through `edit` and re-checksums it.
fn edit_manifest(edit: impl Fn(&mut BackupManifest) + 'static) -> Box<dyn Fn(&Path)> {
    Box::new(move |dir: &Path| {
        let path = dir.join(MANIFEST_FILE);
        let mut manifest = BackupManifest::decode(&path, &std::fs::read(&path).unwrap()).unwrap();
        edit(&mut manifest);
        std::fs::write(&path, manifest.encode().unwrap()).unwrap();
    })
}

fn truncate(file: PathBuf) -> Box<dyn Fn(&Path)> {
    Box::new(move |d: &Path| {
        let p = d.join(&file);
        let b = std::fs::read(&p).unwrap();
        std::fs::write(&p, &b[..b.len() - 1]).unwrap();
    })
}

fn append(file: PathBuf, byte: u8) -> Box<dyn Fn(&Path)> {
    Box::new(move |d: &Path| {
        let p = d.join(&file);
        let mut b = std::fs::read(&p).unwrap();
        b.push(byte);
        std::fs::write(&p, b).unwrap();
    })
}

/// The mutation set of `ddb-backup`'s corruption test, for the backup in `dir`.
fn cases(dir: &Path, manifest: &BackupManifest) -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    let mut add = |name: String, apply: Box<dyn Fn(&Path)>| cases.push(Case { name, apply });
    for a in &manifest.artifacts {
        let file = PathBuf::from(&a.path);
        let bytes = std::fs::read(dir.join(&file)).unwrap();
        let size = bytes.len() as u64;
        let footer_len = u64::from(u32::from_le_bytes(
            bytes[bytes.len() - 8..bytes.len() - 4].try_into().unwrap(),
        ));
        let footer_start = size - 8 - footer_len;
        add(format!("{}: leading magic", a.path), flip(file.clone(), 1));
        for rg in &a.row_groups {
            for offset in [rg.start, (rg.start + rg.end) / 2, rg.end - 1] {
                add(
                    format!("{}: row group {} byte {offset}", a.path, rg.index),
                    flip(file.clone(), offset),
                );
            }
        }
        // Between the last row group and the footer: the page index.
        let last_end = a.row_groups.last().unwrap().end;
        if last_end < footer_start {
            add(
                format!("{}: page index", a.path),
                flip(file.clone(), (last_end + footer_start) / 2),
            );
        }
        for offset in [footer_start, footer_start + footer_len / 2, size - 9] {
            add(
                format!("{}: footer byte {offset}", a.path),
                flip(file.clone(), offset),
            );
        }
        add(
            format!("{}: footer length", a.path),
            flip(file.clone(), size - 8),
        );
        add(
            format!("{}: trailing magic", a.path),
            flip(file.clone(), size - 2),
        );
        add(format!("{}: truncated", a.path), truncate(file.clone()));
        add(
            format!("{}: byte appended", a.path),
            append(file.clone(), 0),
        );
        let f = file.clone();
        add(
            format!("{}: deleted", a.path),
            Box::new(move |d: &Path| std::fs::remove_file(d.join(&f)).unwrap()),
        );
    }
    let (first, second) = (
        PathBuf::from(&manifest.artifacts[0].path),
        PathBuf::from(&manifest.artifacts[1].path),
    );
    add(
        "two artifacts swapped".into(),
        Box::new(move |d: &Path| {
            let (a, b) = (
                std::fs::read(d.join(&first)).unwrap(),
                std::fs::read(d.join(&second)).unwrap(),
            );
            std::fs::write(d.join(&first), b).unwrap();
            std::fs::write(d.join(&second), a).unwrap();
        }),
    );
    let m = PathBuf::from(MANIFEST_FILE);
    let len = std::fs::read(dir.join(MANIFEST_FILE)).unwrap().len() as u64;
    for (name, offset) in [
        ("manifest: first byte", 0),
        ("manifest: body", len / 3),
        ("manifest: body late", len * 2 / 3),
        ("manifest: checksum digit", len - 10),
        ("manifest: closing brace", len - 2),
    ] {
        add(name.into(), flip(m.clone(), offset));
    }
    add("manifest: truncated".into(), truncate(m.clone()));
    add("manifest: byte appended".into(), append(m, b'\n'));
    let mut edit = |name: &str, f: Box<dyn Fn(&Path)>| {
        add(format!("re-checksummed manifest: {name}"), f);
    };
    edit(
        "artifact row count",
        edit_manifest(|m| {
            m.artifacts[0].rows += 1;
            m.totals.rows += 1;
            m.artifacts[0].row_groups[0].rows += 1;
            m.artifacts[0].fingerprint.items += 1;
            m.totals.fingerprint.items += 1;
        }),
    );
    edit(
        "artifact hash",
        edit_manifest(|m| m.artifacts[1].xxh3_128 ^= 1),
    );
    edit(
        "row group hash",
        edit_manifest(|m| m.artifacts[0].row_groups[1].xxh3_128 ^= 1),
    );
    edit(
        "footer hash",
        edit_manifest(|m| m.artifacts[0].footer_xxh3_128 ^= 1),
    );
    edit(
        "artifact size",
        edit_manifest(|m| {
            m.artifacts[0].size += 1;
            m.totals.artifact_bytes += 1;
        }),
    );
    edit(
        "marker lsn (kv metadata)",
        edit_manifest(|m| m.marker.lsn += 1),
    );
    edit(
        "table name (kv metadata)",
        edit_manifest(|m| m.backup.table_name.push('x')),
    );
    edit(
        "first key",
        edit_manifest(|m| {
            let k = &mut m.artifacts[0].first_key;
            k.push(0);
            m.artifacts[0].row_groups[0].first_key = k.clone();
        }),
    );
    edit(
        "fingerprint",
        edit_manifest(|m| {
            m.artifacts[1].fingerprint.hash ^= 1 << 77;
            m.totals.fingerprint.hash ^= 1 << 77;
        }),
    );
    edit(
        "item bytes",
        edit_manifest(|m| {
            m.artifacts[0].item_bytes += 1;
            m.artifacts[0].fingerprint.item_bytes += 1;
            m.totals.item_bytes += 1;
            m.totals.fingerprint.item_bytes += 1;
        }),
    );
    edit(
        "typed column type",
        edit_manifest(|m| {
            m.attribute_columns[2].attribute_type = ddb_model::ScalarAttributeType::B;
        }),
    );
    cases
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn table_dirs(db: &Database) -> BTreeSet<String> {
    std::fs::read_dir(db.root().join("tables"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect()
}

fn restore(db: &Database, target: &str, dir: &Path) -> ddb_model::Result<Value> {
    db.call(
        "RestoreTableFromBackup",
        &json!({"TargetTableName": target, "BackupArn": dir.to_str().unwrap()}),
    )
}

#[test]
fn every_damage_of_a_backup_is_refused_by_restore_and_leaves_no_table() {
    let root = tempfile::tempdir().unwrap();
    let db = Database::open(&root.path().join("db"), options()).unwrap();
    let (dir, manifest) = make_backup(&db);
    let row_groups: usize = manifest.artifacts.iter().map(|a| a.row_groups.len()).sum();
    assert!(
        manifest.artifacts.len() >= 3 && row_groups >= 8,
        "{} artifacts, {row_groups} row groups",
        manifest.artifacts.len()
    );
    assert!(manifest.attribute_columns.len() >= 3);
    let copies = tempfile::tempdir().unwrap();

    // The control: the intact copy restores, exactly.
    let intact = copies.path().join("intact");
    copy_dir(&dir, &intact);
    restore(&db, "intact", &intact).unwrap();
    db.run_restore_jobs().unwrap();
    let described = db
        .call("DescribeTable", &json!({"TableName": "intact"}))
        .unwrap();
    assert_eq!(described["Table"]["TableStatus"], "ACTIVE");
    assert_eq!(described["Table"]["ItemCount"], manifest.totals.rows);
    let before = table_dirs(&db);
    assert_eq!(before.len(), 2);

    let cases = cases(&dir, &manifest);
    let (mut refused, mut failed) = (0, 0);
    for (i, case) in cases.iter().enumerate() {
        let copy = copies.path().join(format!("case-{i}"));
        copy_dir(&dir, &copy);
        (case.apply)(&copy);
        let target = format!("damaged{i}");
        let ctx = format!("case {i} ({})", case.name);
        match restore(&db, &target, &copy) {
            Err(e) => {
                assert_eq!(
                    e.kind(),
                    ErrorKind::Validation,
                    "{ctx}: refused, but not as a validation error: {e}"
                );
                assert!(e.message().contains("does not load"), "{ctx}: {e}");
                refused += 1;
            }
            Ok(response) => {
                assert_eq!(response["TableDescription"]["TableStatus"], "CREATING");
                let ran = db.run_restore_jobs();
                assert!(ran.is_err(), "{ctx}: the damaged backup restored");
                let failure = db.restore_failure(&target);
                assert!(failure.is_some(), "{ctx}: no failure recorded: {ran:?}");
                failed += 1;
            }
        }
        let described = db.call("DescribeTable", &json!({"TableName": target}));
        assert_eq!(
            described.map(|_| ()).unwrap_err().kind(),
            ErrorKind::ResourceNotFound,
            "{ctx}: the target is left"
        );
        assert_eq!(table_dirs(&db), before, "{ctx}: a table directory is left");
        std::fs::remove_dir_all(&copy).unwrap();
    }
    println!(
        "damaged-backup restore cases: {} ({refused} refused at the request, {failed} failed in \
         the job), over {} artifacts with {row_groups} row groups",
        cases.len(),
        manifest.artifacts.len()
    );
    assert_eq!(refused + failed, cases.len());
    assert!(cases.len() > 50, "{} cases", cases.len());
    // The database is unharmed: the control still reads.
    assert_eq!(
        db.call("Scan", &json!({"TableName": "intact", "Select": "COUNT"}))
            .unwrap()["Count"],
        manifest.totals.rows
    );
}
