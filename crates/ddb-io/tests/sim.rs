//! The simulated disk's crash model: what survives a crash, what does not, and the faults it
//! injects. Every test that draws randomness names its seed in its assertion messages.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ddb_io::publish::is_publish_temp;
use ddb_io::sim::SECTOR_BYTES;
use ddb_io::{
    ALIGNMENT, AlignedBuf, CrashOptions, Io, IoFile, OpenOptions, SimIo, publish_atomically,
};

fn disk(seed: u64) -> (SimIo, PathBuf) {
    let sim = SimIo::new(seed);
    let dir = PathBuf::from("/data");
    sim.create_dir_all(&dir).unwrap();
    (sim, dir)
}

fn read_all(io: &dyn Io, path: &Path) -> Vec<u8> {
    let file = io.open(path, OpenOptions::read_only()).unwrap();
    let mut buf = vec![0u8; file.len().unwrap() as usize];
    file.read_exact_at(&mut buf, 0).unwrap();
    buf
}

fn create(io: &dyn Io, path: &Path) -> Arc<dyn IoFile> {
    io.open(
        path,
        OpenOptions {
            create: true,
            ..OpenOptions::read_write()
        },
    )
    .unwrap()
}

#[test]
fn unsynced_data_is_dropped_and_synced_data_survives() {
    let (sim, dir) = disk(1);
    let path = dir.join("f");
    let file = create(&sim, &path);
    file.write_all_at(b"durable", 0).unwrap();
    file.sync_data().unwrap();
    sim.sync_dir(&dir).unwrap();
    file.write_all_at(b"DURABLE and more", 0).unwrap();
    assert_eq!(read_all(&sim, &path), b"DURABLE and more");
    assert_eq!(sim.durable_len(&path).unwrap(), 7);
    assert_eq!(sim.unsynced_bytes(&path).unwrap(), 16);
    sim.crash(CrashOptions::clean());
    assert_eq!(read_all(&sim, &path), b"durable");
    assert_eq!(sim.unsynced_bytes(&path).unwrap(), 0);
    assert_eq!(sim.crashes(), 1);
}

#[test]
fn write_all_at_durable_survives() {
    let (sim, dir) = disk(1);
    let path = dir.join("f");
    create(&sim, &path).write_all_at_durable(b"abc", 0).unwrap();
    sim.sync_dir(&dir).unwrap();
    sim.crash(CrashOptions::clean());
    assert_eq!(read_all(&sim, &path), b"abc");
}

#[test]
fn a_synced_file_in_an_unsynced_directory_vanishes() {
    let (sim, dir) = disk(1);
    let path = dir.join("new");
    let file = create(&sim, &path);
    file.write_all_at_durable(b"synced data", 0).unwrap();
    file.sync_all().unwrap();
    assert_eq!(sim.files(), std::slice::from_ref(&path));
    assert!(sim.durable_files().is_empty());
    sim.crash(CrashOptions::torn());
    assert!(!sim.exists(&path).unwrap());
    assert!(sim.read_dir(&dir).unwrap().is_empty());
    // The same file survives once its directory is synced.
    let file = create(&sim, &path);
    file.write_all_at_durable(b"synced data", 0).unwrap();
    sim.sync_dir(&dir).unwrap();
    sim.crash(CrashOptions::torn());
    assert_eq!(read_all(&sim, &path), b"synced data");
}

#[test]
fn rename_and_remove_revert_without_sync_dir() {
    let (sim, dir) = disk(1);
    let (a, b, c) = (dir.join("a"), dir.join("b"), dir.join("c"));
    create(&sim, &a).write_all_at_durable(b"A", 0).unwrap();
    create(&sim, &c).write_all_at_durable(b"C", 0).unwrap();
    sim.sync_dir(&dir).unwrap();
    sim.rename(&a, &b).unwrap();
    sim.remove_file(&c).unwrap();
    assert_eq!(sim.read_dir(&dir).unwrap(), ["b"]);
    sim.crash(CrashOptions::clean());
    assert_eq!(sim.read_dir(&dir).unwrap(), ["a", "c"]);
    assert_eq!(read_all(&sim, &a), b"A");
    assert_eq!(read_all(&sim, &c), b"C");
    sim.rename(&a, &b).unwrap();
    sim.remove_file(&c).unwrap();
    sim.sync_dir(&dir).unwrap();
    sim.crash(CrashOptions::clean());
    assert_eq!(sim.read_dir(&dir).unwrap(), ["b"]);
    assert_eq!(read_all(&sim, &b), b"A");
}

#[test]
fn a_rename_across_directories_needs_both_synced() {
    for (sync_source, sync_target, expect) in [
        (false, false, ["x/f"].as_slice()),
        (true, false, [].as_slice()),
        (false, true, ["x/f", "y/g"].as_slice()),
        (true, true, ["y/g"].as_slice()),
    ] {
        let sim = SimIo::new(1);
        let (x, y) = (Path::new("x"), Path::new("y"));
        sim.create_dir_all(x).unwrap();
        sim.create_dir_all(y).unwrap();
        create(&sim, &x.join("f"))
            .write_all_at_durable(b"F", 0)
            .unwrap();
        sim.sync_dir(x).unwrap();
        sim.rename(&x.join("f"), &y.join("g")).unwrap();
        if sync_source {
            sim.sync_dir(x).unwrap();
        }
        if sync_target {
            sim.sync_dir(y).unwrap();
        }
        sim.crash(CrashOptions::clean());
        let expect: Vec<PathBuf> = expect.iter().map(PathBuf::from).collect();
        assert_eq!(
            sim.files(),
            expect,
            "source synced {sync_source}, target {sync_target}"
        );
        for path in &expect {
            assert_eq!(read_all(&sim, path), b"F");
        }
    }
}

#[test]
fn unsynced_dir_ops_may_persist_in_order_when_asked() {
    let mut outcomes = std::collections::BTreeSet::new();
    for seed in 0..200 {
        let (sim, dir) = disk(seed);
        create(&sim, &dir.join("a"))
            .write_all_at_durable(b"A", 0)
            .unwrap();
        sim.sync_dir(&dir).unwrap();
        sim.rename(&dir.join("a"), &dir.join("b")).unwrap();
        create(&sim, &dir.join("c"));
        sim.crash(CrashOptions::torn_with_dir_ops());
        let names = sim.read_dir(&dir).unwrap();
        let names: Vec<&str> = names.iter().map(|n| n.to_str().unwrap()).collect();
        // Metadata commits in order: "c" (created later) never survives without the rename.
        assert!(
            [vec!["a"], vec!["b"], vec!["b", "c"]].contains(&names),
            "seed {seed}: {names:?}"
        );
        outcomes.insert(names.join(","));
    }
    assert_eq!(outcomes.len(), 3, "{outcomes:?}");
}

/// Checks one crash point of a publication: the target holds the old or the new bytes.
fn check_publication(sim: &SimIo, dir: &Path, old: &[u8], new: &[u8], what: &str) -> bool {
    let got = read_all(sim, &dir.join("manifest"));
    assert!(got == old || got == new, "{what}: got {got:?}");
    for name in sim.read_dir(dir).unwrap() {
        let name = name.to_str().unwrap();
        assert!(
            name == "manifest" || is_publish_temp(name),
            "{what}: {name}"
        );
    }
    got == new
}

#[test]
fn publish_atomically_leaves_old_or_new_after_a_crash_at_every_step() {
    let (old, new) = (
        b"old manifest".as_slice(),
        b"the new, longer manifest".as_slice(),
    );
    for options in [
        CrashOptions::clean(),
        CrashOptions::torn(),
        CrashOptions::torn_with_dir_ops(),
    ] {
        for seed in 0..20 {
            let mut saw = [false; 2];
            for step in 0.. {
                let (sim, dir) = disk(seed);
                publish_atomically(&sim, &dir, "manifest", old).unwrap();
                sim.fail_after_ops(step);
                let published = publish_atomically(&sim, &dir, "manifest", new);
                let fault_fired = published.is_err();
                if let Err(e) = &published {
                    assert!(e.to_string().contains("injected"), "{e}");
                }
                sim.crash(options);
                let what = format!("seed {seed}, failure at operation {step}, {options:?}");
                let is_new = check_publication(&sim, &dir, old, new, &what);
                assert!(fault_fired || is_new, "{what}: published but lost");
                saw[usize::from(is_new)] = true;
                if !fault_fired {
                    break;
                }
                assert!(step < 20, "{what}: publication never finished");
            }
            assert_eq!(saw, [true, true], "seed {seed}");
        }
    }
}

/// The classic bug the torn-directory crash exists to catch: rename without fsyncing the data.
fn publish_without_fsync(io: &dyn Io, dir: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temp = dir.join(".manifest.tmp-broken");
    io.open(&temp, OpenOptions::create_new())?
        .write_all_at(bytes, 0)?;
    io.rename(&temp, &dir.join("manifest"))?;
    io.sync_dir(dir)
}

#[test]
fn the_publication_check_catches_a_missing_fsync() {
    let mut caught = None;
    'search: for seed in 0..20 {
        for step in 0..6 {
            let (sim, dir) = disk(seed);
            publish_atomically(&sim, &dir, "manifest", b"old").unwrap();
            sim.fail_after_ops(step);
            let _ = publish_without_fsync(&sim, &dir, b"new bytes");
            sim.crash(CrashOptions::torn_with_dir_ops());
            let got = read_all(&sim, &dir.join("manifest"));
            if got != b"old" && got != b"new bytes" {
                caught = Some((seed, step, got));
                break 'search;
            }
        }
    }
    assert!(
        caught.is_some(),
        "a rename of unsynced data always looked atomic"
    );
}

#[test]
fn torn_writes_hold_only_written_bytes() {
    // Each write fills with its own byte value, so every byte names the write it came from.
    let mut prefix_cut = false;
    let mut sector_hole = false;
    for seed in 0..300 {
        let (sim, dir) = disk(seed);
        let path = dir.join("f");
        let file = create(&sim, &path);
        let old = vec![1u8; 3000];
        file.write_all_at_durable(&old, 0).unwrap();
        sim.sync_dir(&dir).unwrap();
        let writes = [(100usize, 2u8, 1500usize), (2500, 3, 2000), (0, 4, 700)];
        for &(offset, value, len) in &writes {
            file.write_all_at(&vec![value; len], offset as u64).unwrap();
        }
        sim.crash(CrashOptions {
            tear_unsynced_writes: true,
            reorder_sectors_percent: 50,
            persist_unsynced_dir_ops: false,
        });
        let got = read_all(&sim, &path);
        // The length is the old one, the new one, or (a cut extending write) in between.
        assert!(
            (3000..=4500).contains(&got.len()),
            "seed {seed}: length {}",
            got.len()
        );
        for (i, &byte) in got.iter().enumerate() {
            let written_here = writes
                .iter()
                .any(|&(offset, value, len)| value == byte && (offset..offset + len).contains(&i));
            let old_here = i < old.len() && byte == old[i];
            // Where the file grew, a sector not yet written reads as a hole, as on ext4.
            let hole = i >= old.len() && byte == 0;
            assert!(
                written_here || old_here || hole,
                "seed {seed}: byte {byte} at {i} was never written there"
            );
        }
        // A prefix tear: the second write reached the disk only partly, from its start, cut
        // inside a sector (a sector tear only ends on sector boundaries).
        let second = &got.get(2500..).unwrap_or_default();
        let threes = second.iter().take_while(|&&b| b == 3).count();
        if threes > 0 && threes < 500 && (2500 + threes) % SECTOR_BYTES != 0 {
            prefix_cut = true;
        }
        // A sector tear: a later sector of the first write persisted without an earlier one.
        if got[100] == 1 && got[1500] == 2 {
            sector_hole = true;
        }
    }
    assert!(prefix_cut, "no seed cut a write inside a sector");
    assert!(sector_hole, "no seed persisted sectors out of order");
}

/// Runs a fixed workload with torn crashes and returns every file's bytes.
fn workload(seed: u64) -> Vec<(PathBuf, Vec<u8>)> {
    let (sim, dir) = disk(seed);
    for round in 0..5u8 {
        for name in ["a", "b", "c"] {
            let file = create(&sim, &dir.join(name));
            file.write_all_at(&vec![round; 700], u64::from(round) * 300)
                .unwrap();
            if round % 2 == 0 {
                file.sync_data().unwrap();
            }
        }
        sim.sync_dir(&dir).unwrap();
        sim.crash(CrashOptions::torn());
        sim.flip_random_bit(&dir.join("a")).unwrap();
    }
    sim.files()
        .into_iter()
        .map(|p| (p.clone(), read_all(&sim, &p)))
        .collect()
}

#[test]
fn the_same_seed_replays_exactly() {
    assert_eq!(workload(7), workload(7));
    let distinct: std::collections::BTreeSet<_> = (0..8).map(workload).collect();
    assert!(distinct.len() > 1, "the seed changes nothing");
}

#[test]
fn handles_from_before_a_crash_fail() {
    let (sim, dir) = disk(1);
    let path = dir.join("f");
    let file = create(&sim, &path);
    file.write_all_at_durable(b"abc", 0).unwrap();
    sim.sync_dir(&dir).unwrap();
    sim.crash(CrashOptions::clean());
    let mut buf = [0u8; 3];
    let errors = [
        file.read_at(&mut buf, 0).unwrap_err(),
        file.write_at(b"x", 0).unwrap_err(),
        file.sync_data().unwrap_err(),
        file.sync_all().unwrap_err(),
        file.len().unwrap_err(),
        file.set_len(0).unwrap_err(),
    ];
    for err in errors {
        assert!(
            err.to_string().contains("from before the simulated crash"),
            "{err}"
        );
        assert!(err.to_string().contains("/data/f"), "{err}");
    }
    // A fresh handle works and the stale write did not happen.
    assert_eq!(read_all(&sim, &path), b"abc");
}

#[test]
fn o_direct_misalignment_is_einval() {
    let (sim, dir) = disk(1);
    let path = dir.join("direct");
    let file = sim
        .open(&path, OpenOptions::create_new().direct(true))
        .unwrap();
    let mut buf = AlignedBuf::zeroed(ALIGNMENT * 2).unwrap();
    buf.as_mut_slice().fill(9);
    file.write_all_at(buf.as_slice(), 0).unwrap();
    // Slicing one byte into an aligned buffer gives a misaligned address.
    let mut big = AlignedBuf::zeroed(ALIGNMENT * 3).unwrap();
    let errors = [
        file.write_at(&buf.as_slice()[..100], 0).unwrap_err(),
        file.write_at(&buf.as_slice()[..ALIGNMENT], 512)
            .unwrap_err(),
        file.read_at(&mut big.as_mut_slice()[1..=ALIGNMENT], 0)
            .unwrap_err(),
        file.read_at(&mut buf.as_mut_slice()[..ALIGNMENT], 1)
            .unwrap_err(),
        file.read_at(&mut buf.as_mut_slice()[..1000], 0)
            .unwrap_err(),
    ];
    for err in errors {
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(
            err.to_string().contains("O_DIRECT") && err.to_string().contains("/data/direct"),
            "{err}"
        );
    }
    assert_eq!(
        file.read_at(&mut big.as_mut_slice()[..ALIGNMENT], ALIGNMENT as u64)
            .unwrap(),
        ALIGNMENT
    );
    assert!(big.as_slice()[..ALIGNMENT].iter().all(|&b| b == 9));
    // A buffered handle of the same file has no such rule.
    let buffered = sim.open(&path, OpenOptions::read_only()).unwrap();
    let mut small = [0u8; 3];
    assert_eq!(buffered.read_at(&mut small, 1).unwrap(), 3);
}

#[test]
fn injected_write_and_sync_failures() {
    let (sim, dir) = disk(1);
    let path = dir.join("log");
    let file = create(&sim, &path);
    sim.sync_dir(&dir).unwrap();
    sim.fail_after_writes(2);
    file.write_all_at(b"one", 0).unwrap();
    file.write_all_at(b"two", 3).unwrap();
    let err = file.write_all_at(b"three", 6).unwrap_err();
    assert!(
        err.to_string().contains("EIO") && err.to_string().contains("/data/log"),
        "{err}"
    );
    file.write_all_at(b"four", 6).unwrap();
    assert_eq!(read_all(&sim, &path), b"onetwofour");
    // A failed fsync loses the unsynced writes for good, though reads still see them and the
    // next fsync succeeds: exactly the trap a log must poison itself against.
    sim.fail_next_sync();
    assert!(
        file.sync_data()
            .unwrap_err()
            .to_string()
            .contains("fdatasync")
    );
    file.write_all_at(b"five", 10).unwrap();
    file.sync_data().unwrap();
    assert_eq!(read_all(&sim, &path), b"onetwofourfive");
    sim.crash(CrashOptions::clean());
    assert_eq!(read_all(&sim, &path), b"\0\0\0\0\0\0\0\0\0\0five");
}

#[test]
fn fail_after_ops_counts_every_disk_change() {
    let (sim, dir) = disk(1);
    let before = sim.mutations();
    sim.fail_after_ops(3);
    let file = create(&sim, &dir.join("f")); // 1
    file.write_all_at(b"x", 0).unwrap(); // 2
    file.sync_all().unwrap(); // 3
    let err = sim.rename(&dir.join("f"), &dir.join("g")).unwrap_err(); // 4 fails
    assert!(err.to_string().contains("rename /data/f"), "{err}");
    assert!(sim.exists(&dir.join("f")).unwrap());
    sim.rename(&dir.join("f"), &dir.join("g")).unwrap(); // the fault fires once
    assert_eq!(sim.mutations() - before, 5);
    sim.fail_after_ops(0);
    sim.clear_faults();
    sim.sync_dir(&dir).unwrap();
}

#[test]
fn posix_file_semantics() {
    let (sim, dir) = disk(1);
    let path = dir.join("f");
    let err = sim
        .open(&dir.join("nodir/f"), OpenOptions::create_new())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("/data/nodir/f"), "{err}");
    let file = sim.open(&path, OpenOptions::create_new()).unwrap();
    assert_eq!(
        sim.open(&path, OpenOptions::create_new())
            .unwrap_err()
            .kind(),
        ErrorKind::AlreadyExists
    );
    assert_eq!(
        sim.open(&dir, OpenOptions::read_only()).unwrap_err().kind(),
        ErrorKind::IsADirectory
    );
    file.write_all_at(b"xy", 5).unwrap();
    let mut buf = [9u8; 10];
    assert_eq!(file.read_at(&mut buf, 0).unwrap(), 7);
    assert_eq!(&buf[..7], b"\0\0\0\0\0xy");
    assert_eq!(file.read_at(&mut buf, 7).unwrap(), 0);
    assert_eq!(file.read_at(&mut buf, 1 << 40).unwrap(), 0);
    let read_only = sim.open(&path, OpenOptions::read_only()).unwrap();
    assert!(
        read_only
            .write_at(b"z", 0)
            .unwrap_err()
            .to_string()
            .contains("EBADF")
    );
    assert!(read_only.set_len(0).is_err());
    // A length change is durable only after a sync.
    file.sync_data().unwrap();
    sim.sync_dir(&dir).unwrap();
    file.set_len(2).unwrap();
    sim.crash(CrashOptions::clean());
    assert_eq!(sim.durable_len(&path).unwrap(), 7);
    let file = sim.open(&path, OpenOptions::read_write()).unwrap();
    file.set_len(2).unwrap();
    file.sync_all().unwrap();
    sim.crash(CrashOptions::clean());
    assert_eq!(read_all(&sim, &path), b"\0\0");
    // Truncate on open empties the file, durably only after a sync.
    let file = sim
        .open(
            &path,
            OpenOptions {
                truncate: true,
                ..OpenOptions::read_write()
            },
        )
        .unwrap();
    assert_eq!(file.len().unwrap(), 0);
    sim.crash(CrashOptions::clean());
    assert_eq!(sim.durable_len(&path).unwrap(), 2);
    // An absurd offset fails like a full disk instead of allocating it.
    let file = sim.open(&path, OpenOptions::read_write()).unwrap();
    assert_eq!(
        file.write_at(b"x", 1 << 50).unwrap_err().kind(),
        ErrorKind::FileTooLarge
    );
}

#[test]
fn an_unlinked_open_file_lives_until_the_crash() {
    let (sim, dir) = disk(1);
    let path = dir.join("f");
    let file = create(&sim, &path);
    file.write_all_at_durable(b"abc", 0).unwrap();
    sim.sync_dir(&dir).unwrap();
    sim.remove_file(&path).unwrap();
    sim.sync_dir(&dir).unwrap();
    file.write_all_at(b"d", 3).unwrap();
    let mut buf = [0u8; 4];
    file.read_exact_at(&mut buf, 0).unwrap();
    assert_eq!(&buf, b"abcd");
    assert!(!sim.exists(&path).unwrap());
    sim.crash(CrashOptions::clean());
    assert!(sim.files().is_empty());
}

#[test]
fn bit_flips_corrupt_durable_bytes() {
    let (sim, dir) = disk(3);
    let path = dir.join("f");
    create(&sim, &path)
        .write_all_at_durable(&[0u8; 64], 0)
        .unwrap();
    sim.sync_dir(&dir).unwrap();
    sim.flip_bit(&path, 10, 3).unwrap();
    assert_eq!(read_all(&sim, &path)[10], 8);
    assert!(sim.flip_bit(&path, 64, 0).is_err());
    assert!(sim.flip_bit(&path, 0, 8).is_err());
    let (offset, bit) = sim.flip_random_bit(&path).unwrap();
    sim.crash(CrashOptions::clean());
    let bytes = read_all(&sim, &path);
    let mut expected = [0u8; 64];
    expected[10] ^= 8;
    expected[offset as usize] ^= 1 << bit;
    assert_eq!(bytes, expected, "seed {}", sim.seed());
    assert_eq!(SimIo::new(3).seed(), 3);
}

#[test]
fn directories_and_relative_paths() {
    let sim = SimIo::new(1);
    sim.create_dir_all(Path::new("a/./b/../c")).unwrap();
    assert_eq!(sim.read_dir(Path::new("a")).unwrap(), ["c"]);
    create(&sim, Path::new("a/c/f"));
    assert_eq!(sim.read_dir(Path::new("a/c/")).unwrap(), ["f"]);
    assert!(sim.exists(Path::new("./a/c/f")).unwrap());
    assert_eq!(
        sim.read_dir(Path::new("a/c/f")).unwrap_err().kind(),
        ErrorKind::NotADirectory
    );
    assert_eq!(
        sim.read_dir(Path::new("zz")).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        sim.create_dir_all(Path::new("a/c/f")).unwrap_err().kind(),
        ErrorKind::AlreadyExists
    );
    // Directories are durable at once; their entries are not.
    sim.crash(CrashOptions::clean());
    assert_eq!(sim.read_dir(Path::new("a")).unwrap(), ["c"]);
    assert!(sim.read_dir(Path::new("a/c")).unwrap().is_empty());
}

#[test]
fn many_threads_share_one_disk() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SimIo>();
    let (sim, dir) = disk(1);
    std::thread::scope(|scope| {
        for t in 0..8u8 {
            let (sim, dir) = (sim.clone(), dir.clone());
            scope.spawn(move || {
                let file = create(&sim, &dir.join(format!("t{t}")));
                for i in 0..100u64 {
                    file.write_all_at_durable(&[t], i).unwrap();
                }
            });
        }
    });
    sim.sync_dir(&dir).unwrap();
    sim.crash(CrashOptions::torn());
    for t in 0..8u8 {
        assert_eq!(read_all(&sim, &dir.join(format!("t{t}"))), vec![t; 100]);
    }
}

#[test]
fn a_power_cut_crashes_before_the_operation_with_unsynced_writes_pending() {
    use ddb_io::sim::{CrashOptions, SimIo};
    use ddb_io::{Io, OpenOptions};
    use std::path::Path;
    for seed in 0..50 {
        let sim = SimIo::new(seed);
        let path = Path::new("/cut");
        let file = sim.open(path, OpenOptions::create_new()).unwrap();
        file.write_all_at(b"durable-", 0).unwrap();
        file.sync_all().unwrap();
        sim.sync_dir(Path::new("/")).unwrap();
        file.write_all_at(b"pending-pending-pending", 8).unwrap();
        sim.cut_power_after_ops(0, CrashOptions::torn());
        let err = file.sync_data().unwrap_err();
        assert!(err.to_string().contains("simulated power cut"), "{err}");
        assert_eq!(sim.crashes(), 1);
        // The handle is from before the crash; the disk kept the synced bytes and part of the
        // pending write, nothing else.
        assert!(file.write_all_at(b"x", 0).is_err());
        let after = sim.open(path, OpenOptions::read_only()).unwrap();
        let mut bytes = vec![0u8; after.len().unwrap() as usize];
        after.read_exact_at(&mut bytes, 0).unwrap();
        // Every byte is the synced one, a pending one, or zero (a size that grew before its
        // data reached the disk, with sectors persisted out of order).
        let full = b"durable-pending-pending-pending";
        assert!(
            bytes.len() >= 8 && bytes.len() <= full.len(),
            "seed {seed}: {} bytes",
            bytes.len()
        );
        assert_eq!(&bytes[..8], b"durable-", "seed {seed}");
        assert!(
            bytes
                .iter()
                .zip(full)
                .all(|(got, want)| got == want || *got == 0),
            "seed {seed}: {:?}",
            String::from_utf8_lossy(&bytes)
        );
    }
}
