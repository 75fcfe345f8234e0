//! Stage 2 of the demo: the log. Concurrent writers append the generated items in batches of
//! 1 to 25 (BatchWriteItem's limit) with group commit; the log is then read back, every record
//! checked against what was written, and verified byte for byte.

use std::io::Write;
use std::sync::mpsc::{Receiver, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ddb_log::verify::verify_log;
use ddb_log::{Log, LogOptions, LogReader, Mutation, MutationKind, RecordType};
use ddb_model::{TableSchema, parse_item};
use xxhash_rust::xxh3::xxh3_64;

use super::{DemoArgs, DemoError, Rng, generate_item, mb_per_s};

/// Batches queued between the generator and the writers: enough to keep writers busy, bounded
/// so memory does not grow with `--items`.
const QUEUE_BATCHES: usize = 256;

/// An order-independent fingerprint of a set of (key, value) records: writers interleave, so
/// the log's order is not the generator's.
fn fingerprint(key: &[u8], value: &[u8]) -> u64 {
    xxh3_64(key) ^ xxh3_64(value).rotate_left(17)
}

pub(super) fn run(
    args: &DemoArgs,
    schema: &TableSchema,
    out: &mut dyn Write,
) -> Result<(), DemoError> {
    let io = ddb_io::BackendChoice::from_env().and_then(ddb_io::select_backend)?;
    let (dir, remove_after) = match &args.dir {
        Some(dir) => (dir.clone(), !args.keep),
        None => (
            std::env::temp_dir().join(format!("ddbfmt-demo-{}", std::process::id())),
            !args.keep,
        ),
    };
    let log_dir = dir.join("log");
    if io.exists(&log_dir)? && !io.read_dir(&log_dir)?.is_empty() {
        return Err(DemoError::Check(format!(
            "{} already holds a log; pick another --dir",
            log_dir.display()
        )));
    }
    writeln!(
        out,
        "stage 2 of the story: the log ({} backend, {} writers, group commit) in {}",
        io.name(),
        args.writers,
        log_dir.display()
    )?;
    let log = Arc::new(Log::open(
        Arc::clone(&io),
        &log_dir,
        LogOptions::new(*b"ddbfmt-demo-tabl"),
    )?);

    // Writers take batches from a bounded queue; the generator fills it.
    let (sender, receiver) = sync_channel::<Vec<Mutation>>(QUEUE_BATCHES);
    let receiver = Arc::new(Mutex::new(receiver));
    let started = Instant::now();
    let writers: Vec<_> = (0..args.writers.max(1))
        .map(|_| {
            let log = Arc::clone(&log);
            let receiver = Arc::clone(&receiver);
            std::thread::spawn(move || write_batches(&log, &receiver))
        })
        .collect();
    let mut rng = Rng(args.seed);
    let mut batch_rng = Rng(args.seed ^ 0xBA7C4);
    let (mut expected, mut bytes, mut batches) = (0u64, 0usize, 0u64);
    let mut batch = Vec::new();
    let mut wanted = 1 + batch_rng.below(25);
    let mut generation = Ok(());
    for index in 0..args.items {
        let item = match generate_item(&mut rng, index) {
            Ok(item) => item,
            Err(e) => {
                generation = Err(e);
                break;
            }
        };
        let key = match schema.table_key(&item) {
            Ok(key) => key,
            Err(e) => {
                generation = Err(e.into());
                break;
            }
        };
        let value = item.to_canonical_json().into_bytes();
        expected ^= fingerprint(&key, &value);
        bytes += value.len();
        batch.push(Mutation {
            kind: MutationKind::Put(value),
            key,
        });
        if batch.len() as u64 == wanted || index + 1 == args.items {
            batches += 1;
            wanted = 1 + batch_rng.below(25);
            if sender.send(std::mem::take(&mut batch)).is_err() {
                break; // A writer failed; its error is reported below.
            }
        }
    }
    drop(sender);
    let mut appended = 0u64;
    for writer in writers {
        appended += writer
            .join()
            .map_err(|_| DemoError::Check("a writer thread panicked".into()))??;
    }
    generation?;
    let write_s = started.elapsed().as_secs_f64();
    let segments = log.segments().len();
    drop(log);

    let started = Instant::now();
    let reader = LogReader::open(Arc::clone(&io), &log_dir)?;
    let (mut seen, mut records) = (0u64, 0u64);
    for record in reader.read_from(reader.first_lsn())? {
        let record = record?;
        if record.record_type != RecordType::Put {
            return Err(DemoError::Check(format!(
                "LSN {}: a record nobody wrote",
                record.lsn
            )));
        }
        seen ^= fingerprint(&record.key, &record.value);
        records += 1;
    }
    let read_s = started.elapsed().as_secs_f64();
    if records != args.items || appended != args.items || seen != expected {
        return Err(DemoError::Check(format!(
            "the log holds {records} records ({appended} acknowledged) for {} items written, or their bytes differ",
            args.items
        )));
    }
    // Spot-check the items decode back to themselves (the fingerprint already covers bytes).
    for record in reader.read_from(reader.first_lsn())?.take(1_000) {
        let record = record?;
        let text =
            std::str::from_utf8(&record.value).map_err(|e| DemoError::Check(e.to_string()))?;
        let item = parse_item(text)?;
        if item.to_canonical_json() != text || schema.table_key(&item)? != record.key {
            return Err(DemoError::Check(format!(
                "LSN {}: item or key does not round-trip",
                record.lsn
            )));
        }
    }
    let started = Instant::now();
    let report = verify_log(io.as_ref(), &log_dir, true)?;
    let verify_s = started.elapsed().as_secs_f64();
    if !report.is_sound() {
        return Err(DemoError::Check(format!(
            "verify found {} problem(s) in {}",
            report.findings.len(),
            log_dir.display()
        )));
    }

    let n = args.items as f64;
    writeln!(
        out,
        "  append          {:>10.0} items/s  ({:.1} MB/s of items, {batches} batches, {segments} segment(s), durable on return)",
        n / write_s.max(1e-9),
        mb_per_s(bytes, write_s)
    )?;
    writeln!(
        out,
        "  read back       {:>10.0} items/s  ({:.1} MB/s of items)",
        n / read_s.max(1e-9),
        mb_per_s(bytes, read_s)
    )?;
    writeln!(
        out,
        "  verify --deep   {:>10.0} items/s",
        n / verify_s.max(1e-9)
    )?;
    writeln!(
        out,
        "log checks passed: {} items acknowledged, read back byte for byte, every key and item canonical",
        args.items
    )?;
    if remove_after {
        std::fs::remove_dir_all(&dir)
            .map_err(|e| DemoError::Output(ddb_io::error_at("remove", &dir, e)))?;
    } else {
        writeln!(
            out,
            "kept: {} (try `ddbfmt inspect {}`)",
            log_dir.display(),
            log_dir.display()
        )?;
    }
    Ok(())
}

/// A writer thread: appends batches until the queue closes; returns how many items it appended.
fn write_batches(log: &Log, receiver: &Mutex<Receiver<Vec<Mutation>>>) -> Result<u64, DemoError> {
    let mut appended = 0u64;
    loop {
        let next = receiver
            .lock()
            .map_err(|_| DemoError::Check("queue lock poisoned".into()))?
            .recv();
        let Ok(batch) = next else { return Ok(appended) };
        let count = batch.len() as u64;
        log.append(batch)?;
        appended += count;
    }
}
