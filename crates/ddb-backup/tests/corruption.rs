//! The corruption mutation test: every structural region of every artifact and of the
//! manifest damaged in turn, plus truncation, extension, swaps, deletion and re-checksummed
//! manifest edits; each case must be reported by `verify(Bytes)` and `verify(Deep)` (and by
//! `verify(Structure)` where it is structural).
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use ddb_backup::{BackupManifest, MANIFEST_FILE, VerifyLevel, verify};

/// What a case damages and whether Structure must see it.
struct Case {
    name: String,
    structural: bool,
    deep_only: bool,
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

fn copy_dir(from: &Path, to: &Path) {
    for (rel, bytes) in snapshot_dir(from) {
        let path = to.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

#[test]
fn every_damage_is_detected() {
    let root = tempfile::tempdir().unwrap();
    let (dir, manifest) = small_backup(root.path());
    assert!(
        manifest.artifacts.len() >= 2,
        "{} artifacts",
        manifest.artifacts.len()
    );
    assert!(
        manifest
            .artifacts
            .iter()
            .map(|a| a.row_groups.len())
            .sum::<usize>()
            >= 4
    );
    let mut cases: Vec<Case> = Vec::new();
    for a in &manifest.artifacts {
        let file = PathBuf::from(&a.path);
        let bytes = std::fs::read(dir.join(&file)).unwrap();
        let size = bytes.len() as u64;
        let footer_len = u64::from(u32::from_le_bytes(
            bytes[bytes.len() - 8..bytes.len() - 4].try_into().unwrap(),
        ));
        let footer_start = size - 8 - footer_len;
        let mut add = |name: String, structural: bool, apply: Box<dyn Fn(&Path)>| {
            cases.push(Case {
                name,
                structural,
                deep_only: false,
                apply,
            });
        };
        add(
            format!("{}: leading magic", a.path),
            true,
            flip(file.clone(), 1),
        );
        for rg in &a.row_groups {
            for offset in [rg.start, (rg.start + rg.end) / 2, rg.end - 1] {
                add(
                    format!("{}: row group {} byte {offset}", a.path, rg.index),
                    false,
                    flip(file.clone(), offset),
                );
            }
        }
        // Between the last row group and the footer: the page index.
        let last_end = a.row_groups.last().unwrap().end;
        if last_end < footer_start {
            add(
                format!("{}: page index", a.path),
                false,
                flip(file.clone(), (last_end + footer_start) / 2),
            );
        }
        for offset in [footer_start, footer_start + footer_len / 2, size - 9] {
            add(
                format!("{}: footer byte {offset}", a.path),
                true,
                flip(file.clone(), offset),
            );
        }
        add(
            format!("{}: footer length", a.path),
            true,
            flip(file.clone(), size - 8),
        );
        add(
            format!("{}: trailing magic", a.path),
            true,
            flip(file.clone(), size - 2),
        );
        let f = file.clone();
        add(
            format!("{}: truncated", a.path),
            true,
            Box::new(move |d: &Path| {
                let p = d.join(&f);
                let b = std::fs::read(&p).unwrap();
                std::fs::write(&p, &b[..b.len() - 1]).unwrap();
            }),
        );
        let f = file.clone();
        add(
            format!("{}: byte appended", a.path),
            true,
            Box::new(move |d: &Path| {
                let p = d.join(&f);
                let mut b = std::fs::read(&p).unwrap();
                b.push(0);
                std::fs::write(&p, b).unwrap();
            }),
        );
        let f = file.clone();
        add(
            format!("{}: deleted", a.path),
            true,
            Box::new(move |d: &Path| std::fs::remove_file(d.join(&f)).unwrap()),
        );
    }
    let (first, second) = (
        PathBuf::from(&manifest.artifacts[0].path),
        PathBuf::from(&manifest.artifacts[1].path),
    );
    cases.push(Case {
        name: "two artifacts swapped".into(),
        structural: true,
        deep_only: false,
        apply: Box::new(move |d: &Path| {
            let (a, b) = (
                std::fs::read(d.join(&first)).unwrap(),
                std::fs::read(d.join(&second)).unwrap(),
            );
            std::fs::write(d.join(&first), b).unwrap();
            std::fs::write(d.join(&second), a).unwrap();
        }),
    });
    let manifest_bytes = std::fs::read(dir.join(MANIFEST_FILE)).unwrap();
    let m = PathBuf::from(MANIFEST_FILE);
    let len = manifest_bytes.len() as u64;
    for (name, offset) in [
        ("manifest: first byte", 0),
        ("manifest: body", len / 3),
        ("manifest: body late", len * 2 / 3),
        ("manifest: checksum digit", len - 10),
        ("manifest: closing brace", len - 2),
    ] {
        cases.push(Case {
            name: name.into(),
            structural: true,
            deep_only: false,
            apply: flip(m.clone(), offset),
        });
    }
    cases.push(Case {
        name: "manifest: truncated".into(),
        structural: true,
        deep_only: false,
        apply: Box::new(|d: &Path| {
            let p = d.join(MANIFEST_FILE);
            let b = std::fs::read(&p).unwrap();
            std::fs::write(&p, &b[..b.len() - 1]).unwrap();
        }),
    });
    cases.push(Case {
        name: "manifest: byte appended".into(),
        structural: true,
        deep_only: false,
        apply: Box::new(|d: &Path| {
            let p = d.join(MANIFEST_FILE);
            let mut b = std::fs::read(&p).unwrap();
            b.push(b'\n');
            std::fs::write(&p, b).unwrap();
        }),
    });
    let mut edit = |name: &str, structural: bool, deep_only: bool, f: Box<dyn Fn(&Path)>| {
        cases.push(Case {
            name: format!("re-checksummed manifest: {name}"),
            structural,
            deep_only,
            apply: f,
        });
    };
    edit(
        "artifact row count",
        true,
        false,
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
        false,
        false,
        edit_manifest(|m| m.artifacts[1].xxh3_128 ^= 1),
    );
    edit(
        "row group hash",
        false,
        false,
        edit_manifest(|m| m.artifacts[0].row_groups[1].xxh3_128 ^= 1),
    );
    edit(
        "footer hash",
        true,
        false,
        edit_manifest(|m| m.artifacts[0].footer_xxh3_128 ^= 1),
    );
    edit(
        "artifact size",
        true,
        false,
        edit_manifest(|m| {
            m.artifacts[0].size += 1;
            m.totals.artifact_bytes += 1;
        }),
    );
    edit(
        "marker lsn (kv metadata)",
        true,
        false,
        edit_manifest(|m| m.marker.lsn += 1),
    );
    edit(
        "table name (kv metadata)",
        true,
        false,
        edit_manifest(|m| m.backup.table_name.push('x')),
    );
    edit(
        "first key",
        false,
        true,
        edit_manifest(|m| {
            let k = &mut m.artifacts[0].first_key;
            k.push(0);
            m.artifacts[0].row_groups[0].first_key = k.clone();
        }),
    );
    edit(
        "fingerprint",
        false,
        true,
        edit_manifest(|m| {
            m.artifacts[1].fingerprint.hash ^= 1 << 77;
            m.totals.fingerprint.hash ^= 1 << 77;
        }),
    );
    edit(
        "item bytes",
        false,
        true,
        edit_manifest(|m| {
            m.artifacts[0].item_bytes += 1;
            m.artifacts[0].fingerprint.item_bytes += 1;
            m.totals.item_bytes += 1;
            m.totals.fingerprint.item_bytes += 1;
        }),
    );
    edit(
        "typed column type",
        true,
        false,
        edit_manifest(|m| {
            m.attribute_columns[2].attribute_type = ddb_model::ScalarAttributeType::B
        }),
    );

    let mut counts = [0usize; 3];
    let total = cases.len();
    for (i, case) in cases.iter().enumerate() {
        let copy = root.path().join(format!("case-{i}"));
        copy_dir(&dir, &copy);
        (case.apply)(&copy);
        let detected = |level: VerifyLevel| match verify(io(), &copy, level) {
            Ok(report) => !report.is_sound(),
            Err(_) => true,
        };
        let (structure, bytes, deep) = (
            detected(VerifyLevel::Structure),
            detected(VerifyLevel::Bytes),
            detected(VerifyLevel::Deep),
        );
        assert!(deep, "deep missed: {}", case.name);
        if !case.deep_only {
            assert!(bytes, "bytes missed: {}", case.name);
        }
        if case.structural {
            assert!(structure, "structure missed: {}", case.name);
        }
        counts[0] += usize::from(structure);
        counts[1] += usize::from(bytes);
        counts[2] += usize::from(deep);
    }
    let deep_only = cases.iter().filter(|c| c.deep_only).count();
    let structural = cases.iter().filter(|c| c.structural).count();
    println!(
        "corruption cases: {total} ({structural} structural, {deep_only} deep-only); detected: structure {}, bytes {}, deep {}",
        counts[0], counts[1], counts[2]
    );
    assert_eq!(counts[2], total);
    assert!(counts[1] >= total - deep_only);
    assert!(total >= 40, "{total} cases");
    // The deep-only cases are invisible to Bytes (they are consistent with the bytes).
    assert_eq!(counts[1], total - deep_only);
}

#[test]
fn verify_names_the_damaged_artifact_and_row_group() {
    let root = tempfile::tempdir().unwrap();
    let (dir, manifest) = small_backup(root.path());
    let a = &manifest.artifacts[1];
    let rg = &a.row_groups[0];
    flip(PathBuf::from(&a.path), rg.start + 3)(&dir);
    let report = verify(io(), &dir, VerifyLevel::Bytes).unwrap();
    assert!(
        report.problems.iter().any(|p| p.file.ends_with(&a.path)
            && p.row_group == Some(0)
            && p.offset == Some(rg.start)),
        "{:?}",
        report.problems
    );
    let line = report
        .problems
        .iter()
        .find(|p| p.row_group == Some(0))
        .unwrap()
        .to_string();
    assert!(
        line.contains(&a.path)
            && line.contains("row group 0")
            && line.contains("expected row group xxh3-128"),
        "{line}"
    );
    let deep = verify(io(), &dir, VerifyLevel::Deep).unwrap();
    assert!(!deep.is_sound());
}
