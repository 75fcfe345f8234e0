//! Error paths: bad log sequences and damaged spill runs give named errors, never wrong output
//! or a panic, and leave no spill file behind.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use common::{Rng, history};
use ddb_io::{Io, IoFile, OpenOptions, SimIo};
use ddb_log::{LogError, Record};
use ddb_merge::{MergeError, MergeOptions, MergeResult, VecSinkFactory, VecSnapshot, merge};

fn options(partitions: usize, memory_budget_bytes: usize) -> MergeOptions {
    MergeOptions {
        partitions,
        memory_budget_bytes,
        spill_dir: PathBuf::from("/spill"),
    }
}

fn run(
    io: Arc<dyn Io>,
    snapshot: &VecSnapshot,
    log: Vec<Record>,
    cut: u64,
    options: &MergeOptions,
) -> Result<MergeResult, MergeError> {
    let log: Vec<Result<Record, LogError>> = log.into_iter().map(Ok).collect();
    merge(
        io,
        Some(snapshot),
        log,
        cut,
        options,
        &VecSinkFactory::new(),
    )
}

fn no_spill_files(io: &dyn Io) {
    assert_eq!(
        io.read_dir(Path::new("/spill")).unwrap(),
        Vec::<OsString>::new()
    );
}

/// A history whose log spills several runs with a zero budget.
fn setup() -> (VecSnapshot, Vec<Record>, u64) {
    let mut rng = Rng(42);
    let h = history(&mut rng, 50, 40, 60);
    let snapshot = VecSnapshot::new(h.snapshot_lsn, h.snapshot.clone()).unwrap();
    let cut = *h.cuts.last().unwrap();
    (snapshot, h.records, cut)
}

#[test]
fn lsn_gap_is_named_and_spill_files_removed() {
    let (snapshot, mut log, cut) = setup();
    let removed = log.remove(30);
    let io: Arc<dyn Io> = Arc::new(SimIo::new(1));
    let err = run(io.clone(), &snapshot, log, cut, &options(3, 0)).unwrap_err();
    match err {
        MergeError::LsnGap { expected, found } => {
            assert_eq!(expected, removed.lsn);
            assert_eq!(found, removed.lsn + 1);
        }
        other => panic!("expected LsnGap, got {other}"),
    }
    no_spill_files(&*io);
}

#[test]
fn record_beyond_cut_is_refused() {
    let (snapshot, log, _) = setup();
    let cut = log[40].lsn;
    let io: Arc<dyn Io> = Arc::new(SimIo::new(2));
    let err = run(io.clone(), &snapshot, log, cut, &options(2, 0)).unwrap_err();
    assert!(
        matches!(err, MergeError::RecordBeyondCut { lsn, cut: c } if lsn == cut + 1 && c == cut),
        "{err}"
    );
    no_spill_files(&*io);
}

#[test]
fn other_sequence_errors_are_named() {
    let (snapshot, log, cut) = setup();
    let io: Arc<dyn Io> = Arc::new(SimIo::new(3));
    // The log stops short of the cut.
    let short: Vec<Record> = log.iter().filter(|r| r.lsn < cut - 5).cloned().collect();
    let err = run(io.clone(), &snapshot, short, cut, &options(2, 0)).unwrap_err();
    assert!(
        matches!(err, MergeError::LogEndsBeforeCut { last, .. } if last == cut - 6),
        "{err}"
    );
    // A cut inside a batch.
    let inside = log.iter().find(|r| !r.end_of_batch).unwrap().lsn;
    let partial: Vec<Record> = log.iter().filter(|r| r.lsn <= inside).cloned().collect();
    let err = run(io.clone(), &snapshot, partial, inside, &options(2, 0)).unwrap_err();
    assert!(
        matches!(err, MergeError::CutInsideBatch { cut } if cut == inside),
        "{err}"
    );
    // A record the snapshot already holds.
    let mut old = log.clone();
    old.insert(
        0,
        Record {
            lsn: snapshot_lsn(&snapshot),
            ..log[0].clone()
        },
    );
    let err = run(io.clone(), &snapshot, old, cut, &options(2, 0)).unwrap_err();
    assert!(
        matches!(err, MergeError::RecordBeforeSnapshot { .. }),
        "{err}"
    );
    // A cut before the snapshot.
    if snapshot_lsn(&snapshot) > 0 {
        let err = run(
            io.clone(),
            &snapshot,
            Vec::new(),
            snapshot_lsn(&snapshot) - 1,
            &options(2, 0),
        )
        .unwrap_err();
        assert!(matches!(err, MergeError::CutBeforeSnapshot { .. }), "{err}");
    }
    let err = run(io.clone(), &snapshot, log, cut, &options(0, 0)).unwrap_err();
    assert!(matches!(err, MergeError::InvalidOptions(_)), "{err}");
    no_spill_files(&*io);
}

fn snapshot_lsn(snapshot: &VecSnapshot) -> u64 {
    ddb_merge::SnapshotInput::lsn(snapshot)
}

/// An `Io` that flips one bit of byte `flip_at` of every spill file as it is read back, and
/// records the largest spill file it saw.
#[derive(Debug)]
struct CorruptingIo {
    inner: SimIo,
    flip_at: Option<u64>,
    largest_spill: AtomicU64,
}

#[derive(Debug)]
struct CorruptingFile {
    inner: Arc<dyn IoFile>,
    flip_at: Option<u64>,
}

impl IoFile for CorruptingFile {
    fn path(&self) -> &Path {
        self.inner.path()
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let n = self.inner.read_at(buf, offset)?;
        if let Some(at) = self.flip_at
            && (offset..offset + n as u64).contains(&at)
        {
            buf[(at - offset) as usize] ^= 0x10;
        }
        Ok(n)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        self.inner.write_at(buf, offset)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.inner.sync_data()
    }
    fn sync_all(&self) -> io::Result<()> {
        self.inner.sync_all()
    }
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.inner.set_len(len)
    }
}

impl Io for CorruptingIo {
    fn name(&self) -> &'static str {
        "corrupting"
    }
    fn open(&self, path: &Path, options: OpenOptions) -> io::Result<Arc<dyn IoFile>> {
        let inner = self.inner.open(path, options)?;
        if options.write {
            return Ok(inner);
        }
        self.largest_spill
            .fetch_max(inner.len()?, Ordering::Relaxed);
        Ok(Arc::new(CorruptingFile {
            inner,
            flip_at: self.flip_at,
        }))
    }
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.inner.create_dir_all(path)
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<OsString>> {
        self.inner.read_dir(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.inner.remove_file(path)
    }
    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        self.inner.remove_dir(path)
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.inner.sync_dir(path)
    }
    fn exists(&self, path: &Path) -> io::Result<bool> {
        self.inner.exists(path)
    }
}

#[test]
fn every_flipped_spill_byte_is_a_named_error() {
    let (snapshot, log, cut) = setup();
    // A budget that makes a few runs of a few entries each.
    let budget = 600;
    let clean = Arc::new(CorruptingIo {
        inner: SimIo::new(4),
        flip_at: None,
        largest_spill: AtomicU64::new(0),
    });
    let good = run(
        clean.clone(),
        &snapshot,
        log.clone(),
        cut,
        &options(1, budget),
    )
    .unwrap();
    assert!(
        good.spilled_runs >= 2,
        "the test needs spill runs: {}",
        good.spilled_runs
    );
    let largest = clean.largest_spill.load(Ordering::Relaxed);
    assert!(largest > 100);
    for partitions in [1, 3] {
        for flip_at in 0..largest {
            let io = Arc::new(CorruptingIo {
                inner: SimIo::new(flip_at),
                flip_at: Some(flip_at),
                largest_spill: AtomicU64::new(0),
            });
            match run(
                io.clone(),
                &snapshot,
                log.clone(),
                cut,
                &options(partitions, budget),
            ) {
                Err(MergeError::CorruptSpill { path, offset, .. }) => {
                    assert!(path.starts_with("/spill"), "{}", path.display());
                    assert!(offset <= largest);
                }
                Err(other) => panic!("flip at {flip_at}: expected CorruptSpill, got {other}"),
                // Runs shorter than `flip_at` are read intact; only those may pass, and then
                // the output must be the clean one.
                Ok(result) => {
                    assert_eq!(
                        result.fingerprint, good.fingerprint,
                        "flip at {flip_at}: wrong output"
                    );
                    assert!(io.largest_spill.load(Ordering::Relaxed) <= flip_at);
                }
            }
            no_spill_files(&io.inner);
        }
    }
}
