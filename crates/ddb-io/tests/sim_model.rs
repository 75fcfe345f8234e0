//! Model test of the simulated disk: random sequences of writes, syncs, renames, removals,
//! directory syncs and crashes, checked against a small model of what must survive.
//!
//! The model knows which bytes each file had at its last sync and which values were written
//! at each position since. After a crash, every file whose entry was durable must exist, no
//! other file may, and each byte must be the synced one (clean crash) or, when writes are
//! torn, the synced one, a value written there since, or a zero where the file grew.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use ddb_io::{CrashOptions, Io, OpenOptions, SimIo};
use proptest::prelude::*;

const DIRS: [&str; 2] = ["a", "b"];
const PATHS: [&str; 4] = ["a/x", "a/y", "b/x", "b/y"];

#[derive(Debug, Clone)]
enum Op {
    Write { path: usize, offset: u16, len: u16 },
    Sync { path: usize },
    Rename { from: usize, to: usize },
    Remove { path: usize },
    SyncDir { dir: usize },
    Crash { torn: bool },
}

fn op() -> impl Strategy<Value = Op> {
    let path = 0..PATHS.len();
    prop_oneof![
        4 => (path.clone(), 0..3000u16, 1..1200u16)
            .prop_map(|(path, offset, len)| Op::Write { path, offset, len }),
        2 => path.clone().prop_map(|path| Op::Sync { path }),
        1 => (path.clone(), path.clone()).prop_map(|(from, to)| Op::Rename { from, to }),
        1 => path.prop_map(|path| Op::Remove { path }),
        2 => (0..DIRS.len()).prop_map(|dir| Op::SyncDir { dir }),
        1 => any::<bool>().prop_map(|torn| Op::Crash { torn }),
    ]
}

/// One file (inode) of the model.
#[derive(Debug, Default)]
struct File {
    current: Vec<u8>,
    synced: Vec<u8>,
    /// Per byte position, the values written there since the last sync.
    since_sync: BTreeMap<usize, BTreeSet<u8>>,
}

#[derive(Debug, Default)]
struct Model {
    files: Vec<File>,
    /// Path index → file index, as reads see it and as a crash would leave it.
    current: BTreeMap<usize, usize>,
    durable: BTreeMap<usize, usize>,
    next_value: u8,
}

fn dir_of(path: usize) -> &'static str {
    PATHS[path].split('/').next().unwrap()
}

fn read_all(io: &dyn Io, path: &Path) -> Vec<u8> {
    let file = io.open(path, OpenOptions::read_only()).unwrap();
    let mut buf = vec![0u8; file.len().unwrap() as usize];
    file.read_exact_at(&mut buf, 0).unwrap();
    buf
}

fn paths_of(entries: &BTreeMap<usize, usize>) -> Vec<PathBuf> {
    entries.keys().map(|&p| PathBuf::from(PATHS[p])).collect()
}

fn run(seed: u64, ops: &[Op]) -> Result<(), TestCaseError> {
    let sim = SimIo::new(seed);
    for dir in DIRS {
        sim.create_dir_all(Path::new(dir)).unwrap();
    }
    let mut model = Model::default();
    for (step, op) in ops.iter().enumerate() {
        let at = format!("seed {seed}, step {step}: {op:?}");
        match *op {
            Op::Write { path, offset, len } => {
                let id = *model.current.entry(path).or_insert_with(|| {
                    model.files.push(File::default());
                    model.files.len() - 1
                });
                // Values cycle through 1..=255 so a zero always means "never written".
                model.next_value = model.next_value % 255 + 1;
                let value = model.next_value;
                let (offset, len) = (usize::from(offset), usize::from(len));
                let file = &mut model.files[id];
                if file.current.len() < offset + len {
                    file.current.resize(offset + len, 0);
                }
                file.current[offset..offset + len].fill(value);
                for i in offset..offset + len {
                    file.since_sync.entry(i).or_default().insert(value);
                }
                let options = OpenOptions {
                    create: true,
                    ..OpenOptions::read_write()
                };
                let handle = sim.open(Path::new(PATHS[path]), options).unwrap();
                handle
                    .write_all_at(&vec![value; len], offset as u64)
                    .unwrap();
            }
            Op::Sync { path } => {
                let opened = sim.open(Path::new(PATHS[path]), OpenOptions::read_write());
                match model.current.get(&path) {
                    Some(&id) => {
                        opened.unwrap().sync_data().unwrap();
                        let file = &mut model.files[id];
                        file.synced = file.current.clone();
                        file.since_sync.clear();
                    }
                    None => {
                        prop_assert_eq!(opened.unwrap_err().kind(), ErrorKind::NotFound, "{}", at)
                    }
                }
            }
            Op::Rename { from, to } => {
                let renamed = sim.rename(Path::new(PATHS[from]), Path::new(PATHS[to]));
                match model.current.get(&from).copied() {
                    Some(id) => {
                        renamed.unwrap();
                        if from != to {
                            model.current.remove(&from);
                            model.current.insert(to, id);
                        }
                    }
                    None => {
                        prop_assert_eq!(renamed.unwrap_err().kind(), ErrorKind::NotFound, "{}", at)
                    }
                }
            }
            Op::Remove { path } => {
                let removed = sim.remove_file(Path::new(PATHS[path]));
                match model.current.remove(&path) {
                    Some(_) => removed.unwrap(),
                    None => {
                        prop_assert_eq!(removed.unwrap_err().kind(), ErrorKind::NotFound, "{}", at)
                    }
                }
            }
            Op::SyncDir { dir } => {
                sim.sync_dir(Path::new(DIRS[dir])).unwrap();
                for path in (0..PATHS.len()).filter(|&p| dir_of(p) == DIRS[dir]) {
                    match model.current.get(&path) {
                        Some(&id) => model.durable.insert(path, id),
                        None => model.durable.remove(&path),
                    };
                }
            }
            Op::Crash { torn } => {
                sim.crash(if torn {
                    CrashOptions::torn()
                } else {
                    CrashOptions::clean()
                });
                prop_assert_eq!(sim.files(), paths_of(&model.durable), "{}", at);
                for (&path, &id) in &model.durable {
                    let got = read_all(&sim, Path::new(PATHS[path]));
                    let file = &model.files[id];
                    check_survivor(&got, file, torn, &format!("{at}, {}", PATHS[path]))?;
                }
                // What is on disk now is the new truth: adopt it.
                for (&path, &id) in &model.durable {
                    let got = read_all(&sim, Path::new(PATHS[path]));
                    let file = &mut model.files[id];
                    file.synced.clone_from(&got);
                    file.current = got;
                    file.since_sync.clear();
                }
                model.current = model.durable.clone();
            }
        }
        // Between crashes, reads see exactly what was written, under the current names.
        prop_assert_eq!(sim.files(), paths_of(&model.current), "{}", at);
        for (&path, &id) in &model.current {
            let got = read_all(&sim, Path::new(PATHS[path]));
            prop_assert!(
                got == model.files[id].current,
                "{}: {} differs",
                at,
                PATHS[path]
            );
        }
    }
    Ok(())
}

fn check_survivor(got: &[u8], file: &File, torn: bool, at: &str) -> Result<(), TestCaseError> {
    if !torn {
        prop_assert!(
            got == file.synced,
            "{}: clean crash did not leave the synced bytes",
            at
        );
        return Ok(());
    }
    // Without truncation in the workload, a crash never shortens a file below its synced length.
    prop_assert!(got.len() >= file.synced.len(), "{}: synced bytes lost", at);
    prop_assert!(
        got.len() <= file.current.len().max(file.synced.len()),
        "{}: grew past any write",
        at
    );
    for (i, &byte) in got.iter().enumerate() {
        let synced = file.synced.get(i) == Some(&byte);
        let written = file
            .since_sync
            .get(&i)
            .is_some_and(|values| values.contains(&byte));
        let hole = i >= file.synced.len() && byte == 0;
        prop_assert!(
            synced || written || hole,
            "{}: byte {} at {} was never written",
            at,
            byte,
            i
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_disk_keeps_what_was_synced_and_invents_nothing(
        seed in any::<u64>(),
        ops in proptest::collection::vec(op(), 1..60),
    ) {
        run(seed, &ops)?;
    }
}
