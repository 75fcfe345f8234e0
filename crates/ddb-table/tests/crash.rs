//! Crash safety of tables on the simulated disk: a seeded workload (puts, updates, deletes,
//! BatchWriteItem, checkpoints, GSI catch-up, and an UpdateTable that adds a GSI with its
//! backfill) is cut by a power failure after `n` disk operations, for `n` spread over the whole
//! workload and for clean, torn and torn-with-directory-changes crashes. After each crash the
//! database is reopened and:
//! - the table holds exactly the acknowledged writes — or, for the one call the crash
//!   interrupted, its effect or none (never part of it), and nothing never written;
//! - the LSI holds exactly what the items imply (sparse, projected, ordered by index key then
//!   table key; derived here independently of the engine), before any catch-up;
//! - every GSI does after `run_pending_work`, including one whose backfill the crash
//!   interrupted, which becomes ACTIVE;
//! - DescribeTable's item counts (table and indexes) match;
//! - writes, checkpoints and another reopen work after recovery.
//!
//! On failure the message names the replay: `DDB_SIM_SEED=<case> DDB_CRASH_POINT=<n>
//! DDB_CRASH_MODE=<mode>`. `DDB_CRASH_ITERATIONS=<cases>` runs longer (default 4 cases).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "crash/fence.rs"]
mod fence;
#[path = "crash/model.rs"]
mod model;
#[path = "crash/workload.rs"]
mod workload;

use std::ops::Bound;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::Path;
use std::sync::Arc;

use ddb_io::Io;
use ddb_io::sim::{CrashOptions, SimIo, seed_from_env};
use ddb_model::Item;
use ddb_table::table::TableConfig;
use ddb_table::{Database, DatabaseOptions, Tables};
use serde_json::json;

use fence::Fenced;
use model::{
    GSI_BY_G, GSI_BY_H, GSI_BY_NOTE, IndexDef, LSI_BY_LV, Model, TABLE, create_gsi_request,
    create_table_request, row_item,
};
use workload::{Generator, Op, Rng, Shape};

/// A crash mode: its name in `DDB_CRASH_MODE` and its options.
type Mode = (&'static str, fn() -> CrashOptions);

const MODES: [Mode; 3] = [
    ("clean", CrashOptions::clean),
    ("torn", CrashOptions::torn),
    ("dirops", CrashOptions::torn_with_dir_ops),
];

fn options(io: Arc<dyn Io>) -> DatabaseOptions {
    DatabaseOptions {
        io: Some(io),
        read_only: false,
        table: TableConfig {
            background: false,
            // Small, so that writes ask for checkpoints and logs rotate and are trimmed.
            memtable_budget_bytes: 12 << 10,
            snapshot_block_bytes: 4096,
            log_segment_bytes: 6 << 10,
            ..TableConfig::default()
        },
        backup: ddb_table::backups::BackupOptions::default(),
    }
}

fn open(dir: &Path, sim: &SimIo) -> ddb_table::Result<Arc<Database>> {
    Database::open(dir, options(Arc::new(Fenced::new(sim))))
}

/// Runs one step; `Err` carries the error text.
fn execute(db: &Database, op: &Op) -> Result<(), String> {
    let text = |e: &dyn std::fmt::Display| e.to_string();
    match op {
        Op::CreateTable => db
            .call("CreateTable", &create_table_request())
            .map(drop)
            .map_err(|e| text(&e)),
        Op::Call(operation, request) => {
            let response = db.call(operation, request).map_err(|e| text(&e))?;
            if let Some(unprocessed) = response.get("UnprocessedItems") {
                assert_eq!(unprocessed, &json!({}), "{operation}: unprocessed items");
            }
            Ok(())
        }
        Op::Checkpoint => db.checkpoint(TABLE).map(drop).map_err(|e| text(&e)),
        Op::RunPending => db
            .engine_table(TABLE)
            .map_err(|e| text(&e))?
            .run_pending_work()
            .map_err(|e| text(&e)),
        Op::CreateGsi => db
            .call("UpdateTable", &create_gsi_request())
            .map(drop)
            .map_err(|e| text(&e)),
    }
}

/// What a run of steps left: the acknowledged state and, if the crash interrupted a call that
/// failed, the state had it landed.
#[derive(Debug)]
struct Ran {
    db: Option<Arc<Database>>,
    acked: Model,
    in_flight: Option<Model>,
    /// Whether the power was cut during the run.
    cut: bool,
    /// What was running when it was: `open`, or the step's kind.
    cut_during: &'static str,
}

fn kind(op: &Op) -> &'static str {
    match op {
        Op::CreateTable => "CreateTable",
        Op::Call(operation, _) => operation,
        Op::Checkpoint => "checkpoint",
        Op::RunPending => "run_pending_work",
        Op::CreateGsi => "UpdateTable",
    }
}

/// Opens the database and runs `steps` until the power is cut (the process is then dead:
/// every later operation of it fails, see [`Fenced`]).
fn run(dir: &Path, sim: &SimIo, start: &Model, steps: &[(Op, Model)], ctx: &str) -> Ran {
    let crashes = sim.crashes();
    let db = match open(dir, sim) {
        Ok(db) => db,
        Err(e) => {
            assert!(sim.crashes() > crashes, "{ctx}: open failed: {e}");
            return Ran {
                db: None,
                acked: start.clone(),
                in_flight: None,
                cut: true,
                cut_during: "open",
            };
        }
    };
    let mut acked = start.clone();
    for (i, (op, after)) in steps.iter().enumerate() {
        let result = execute(&db, op);
        let cut = sim.crashes() > crashes;
        match result {
            Ok(()) => acked = after.clone(),
            Err(_) if cut => {
                return Ran {
                    db: Some(db),
                    acked,
                    in_flight: Some(after.clone()),
                    cut,
                    cut_during: kind(op),
                };
            }
            Err(e) => panic!("{ctx}: step {i} {op:?} failed without a crash: {e}"),
        }
        if cut {
            // Acknowledged although the power failed during the call: it must be durable.
            return Ran {
                db: Some(db),
                acked,
                in_flight: None,
                cut,
                cut_during: kind(op),
            };
        }
    }
    Ran {
        db: Some(db),
        acked,
        in_flight: None,
        cut: false,
        cut_during: "nothing (past the end)",
    }
}

fn read_all(db: &Database, index: Option<&str>, forward: bool, ctx: &str) -> Vec<Item> {
    let table = db.table(TABLE).unwrap_or_else(|e| panic!("{ctx}: {e}"));
    let mut out: Vec<Item> = table
        .range(index, Bound::Unbounded, Bound::Unbounded, forward)
        .unwrap_or_else(|e| panic!("{ctx}: range {index:?}: {e}"))
        .map(|r| {
            r.unwrap_or_else(|e| panic!("{ctx}: range {index:?}: {e}"))
                .1
        })
        .collect();
    if !forward {
        out.reverse();
    }
    out
}

/// Asserts that `index` (both directions) holds exactly what `model`'s items imply.
fn check_index(db: &Database, index: &IndexDef, model: &Model, ctx: &str) {
    let want = index.expected(&model.items);
    for forward in [true, false] {
        let got = read_all(db, Some(index.name), forward, ctx);
        if got != want {
            panic!(
                "{ctx}: index {} ({}) differs from what the items imply: {} entries, want {}\n{}",
                index.name,
                if forward { "forward" } else { "backward" },
                got.len(),
                want.len(),
                first_difference(&got, &want)
            );
        }
    }
}

fn first_difference(got: &[Item], want: &[Item]) -> String {
    let at = got
        .iter()
        .zip(want)
        .position(|(g, w)| g != w)
        .unwrap_or(got.len().min(want.len()));
    format!(
        "first difference at {at}: got {:?}, want {:?}",
        got.get(at).map(Item::to_canonical_json),
        want.get(at).map(Item::to_canonical_json)
    )
}

fn describe(db: &Database, ctx: &str) -> serde_json::Value {
    db.call("DescribeTable", &json!({"TableName": TABLE}))
        .unwrap_or_else(|e| panic!("{ctx}: DescribeTable: {e}"))["Table"]
        .clone()
}

fn index_description<'a>(
    table: &'a serde_json::Value,
    name: &str,
) -> Option<&'a serde_json::Value> {
    ["LocalSecondaryIndexes", "GlobalSecondaryIndexes"]
        .iter()
        .filter_map(|list| table[*list].as_array())
        .flatten()
        .find(|i| i["IndexName"] == name)
}

/// Checks the reopened database against the candidate states and returns the one it is in.
/// Runs `run_pending_work` (GSI catch-up and any interrupted backfill) on the way.
fn check(db: &Database, candidates: &[&Model], ctx: &str) -> Model {
    let tables = db
        .call("ListTables", &json!({}))
        .unwrap_or_else(|e| panic!("{ctx}: ListTables: {e}"));
    let exists = tables["TableNames"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n == TABLE);
    if !exists {
        return (*candidates
            .iter()
            .find(|m| !m.table_exists)
            .unwrap_or_else(|| panic!("{ctx}: the table is gone after the crash")))
        .clone();
    }
    let described = describe(db, ctx);
    assert_eq!(described["TableStatus"], "ACTIVE", "{ctx}: {described}");
    let by_h = index_description(&described, GSI_BY_H.name).is_some();
    let items = read_all(db, None, true, ctx);
    let model = candidates
        .iter()
        .find(|m| {
            m.table_exists
                && m.by_h == by_h
                && m.items.len() == items.len()
                && m.items.values().map(row_item).eq(items.iter().cloned())
        })
        .map(|m| (*m).clone())
        .unwrap_or_else(|| {
            let acked = candidates[0];
            let want: Vec<Item> = acked.items.values().map(row_item).collect();
            panic!(
                "{ctx}: the reopened table ({} items, by_h {by_h}) is none of the {} allowed \
                 states; vs the acknowledged one ({} items, by_h {}): {}",
                items.len(),
                candidates.len(),
                want.len(),
                acked.by_h,
                first_difference(&items, &want)
            )
        });
    assert_eq!(
        read_all(db, None, false, ctx),
        items,
        "{ctx}: backward scan"
    );
    // LSIs are exact at once, before any catch-up.
    check_index(db, &LSI_BY_LV, &model, ctx);
    let table = db.engine_table(TABLE).unwrap();
    table
        .run_pending_work()
        .unwrap_or_else(|e| panic!("{ctx}: run_pending_work after recovery: {e}"));
    let mut indexes = vec![LSI_BY_LV, GSI_BY_G, GSI_BY_NOTE];
    if model.by_h {
        indexes.push(GSI_BY_H);
    }
    let described = describe(db, ctx);
    assert_eq!(
        described["ItemCount"],
        json!(model.items.len()),
        "{ctx}: ItemCount"
    );
    for index in &indexes {
        check_index(db, index, &model, ctx);
        let description = index_description(&described, index.name)
            .unwrap_or_else(|| panic!("{ctx}: index {} not described", index.name));
        if !index.local {
            assert_eq!(
                description["IndexStatus"], "ACTIVE",
                "{ctx}: {}",
                index.name
            );
            assert!(
                description.get("Backfilling").is_none_or(|b| b != true),
                "{ctx}: {description}"
            );
        }
        assert_eq!(
            description["ItemCount"],
            json!(index.expected(&model.items).len()),
            "{ctx}: ItemCount of {}",
            index.name
        );
    }
    model
}

/// Where the power is cut.
#[derive(Debug, Clone, Copy)]
struct Point {
    /// After this many disk operations of the workload.
    n: u64,
    /// Index into [`MODES`].
    mode: usize,
    /// Again after this many disk operations of the recovery, if set.
    second_cut: Option<u64>,
}

impl Point {
    fn context(&self, seed: u64) -> String {
        let name = MODES[self.mode].0;
        let second = self
            .second_cut
            .map(|m| format!(" DDB_CRASH_RECOVERY_POINT={m}"))
            .unwrap_or_default();
        format!(
            "crash point {} ({name} crash, then {:?} during recovery) — replay: \
             DDB_SIM_SEED={seed} DDB_CRASH_POINT={} DDB_CRASH_MODE={name}{second}",
            self.n, self.second_cut, self.n
        )
    }
}

/// What one crash point exercised.
#[derive(Debug, Default)]
struct Coverage {
    /// Crash points by what was running when the power was cut.
    cut_during: std::collections::BTreeMap<&'static str, u64>,
    /// Interrupted calls whose effect survived, and those whose effect did not.
    landed: u64,
    lost: u64,
    /// Crash points where an interrupted backfill was resumed on reopen.
    backfill_resumed: u64,
    /// Crash points where the power was cut a second time, during recovery.
    recovery_cut: u64,
}

/// One crash point of one case.
fn crash_point(dir: &Path, seed: u64, shape: Shape, point: Point, coverage: &mut Coverage) {
    let Point {
        n,
        mode,
        second_cut,
    } = point;
    let ctx = &point.context(seed);
    let workload = Generator::new(seed).generate(shape);
    let (_, crash) = MODES[mode];
    let sim = SimIo::new(seed ^ n.rotate_left(24) ^ (mode as u64) << 60);
    sim.cut_power_after_ops(n, crash());
    let ran = run(dir, &sim, &Model::default(), &workload.steps, ctx);
    if !ran.cut {
        // Past the workload's end: crash with nothing in flight.
        sim.crash(crash());
    }
    drop(ran.db);
    sim.clear_faults();

    let mut candidates = vec![&ran.acked];
    candidates.extend(ran.in_flight.as_ref());
    if let Some(m) = second_cut {
        // Cut the power again during recovery: the reopen, its cleanup, GSI catch-up and a
        // resumed backfill or requested checkpoint. None of it changes what the table holds.
        let crashes = sim.crashes();
        sim.cut_power_after_ops(m, crash());
        let recovering = open(dir, &sim);
        let result = match &recovering {
            Ok(db) => match db.engine_table(TABLE) {
                Ok(table) => table.run_pending_work().map_err(|e| e.to_string()),
                Err(_) => Ok(()),
            },
            Err(e) => Err(e.to_string()),
        };
        let cut = sim.crashes() > crashes;
        if let Err(e) = result {
            assert!(cut, "{ctx}: recovery failed without a crash: {e}");
        }
        if cut {
            coverage.recovery_cut += 1;
        } else {
            sim.crash(crash());
        }
        drop(recovering);
        sim.clear_faults();
    }
    let db = open(dir, &sim).unwrap_or_else(|e| panic!("{ctx}: reopen after the crash: {e}"));
    if let Ok(table) = db.engine_table(TABLE)
        && table.shape().backfilling.contains(GSI_BY_H.name)
    {
        coverage.backfill_resumed += 1;
    }
    let recovered = check(&db, &candidates, &format!("{ctx}, after the crash"));
    *coverage.cut_during.entry(ran.cut_during).or_default() += 1;
    if let Some(in_flight) = &ran.in_flight
        && in_flight != &ran.acked
    {
        if &recovered == in_flight {
            coverage.landed += 1;
        } else {
            coverage.lost += 1;
        }
    }

    // Writes work after recovery, and survive a checkpoint and another reopen.
    let mut generator = Generator::new(seed ^ n ^ 0xAF7E_2000);
    let mut model = recovered.clone();
    let mut steps = Vec::new();
    if !model.table_exists {
        model.table_exists = true;
        steps.push((Op::CreateTable, model.clone()));
    }
    generator.set_h_numeric_only(model.by_h);
    generator.extend_writes(&mut model, 12, &mut steps);
    steps.push((Op::Checkpoint, model.clone()));
    generator.extend_writes(&mut model, 4, &mut steps);
    steps.push((Op::RunPending, model.clone()));
    for (i, (op, _)) in steps.iter().enumerate() {
        execute(&db, op).unwrap_or_else(|e| panic!("{ctx}: write {i} after recovery: {e}"));
    }
    check(
        &db,
        &[&model],
        &format!("{ctx}, after writes after recovery"),
    );
    drop(db);
    // Everything acknowledged is durable: even a crash that drops all unsynced data keeps it.
    sim.crash(CrashOptions::clean());
    let db = open(dir, &sim).unwrap_or_else(|e| panic!("{ctx}: second reopen: {e}"));
    check(&db, &[&model], &format!("{ctx}, after the second reopen"));
    assert_no_leftovers(&sim, ctx);
}

/// Recovery removed what interrupted work left: publication temporaries and work files.
fn assert_no_leftovers(sim: &SimIo, ctx: &str) {
    let leftovers: Vec<_> = sim
        .files()
        .into_iter()
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            ddb_io::publish::is_publish_temp(&name)
                || path.parent().is_some_and(|p| p.ends_with("work"))
        })
        .collect();
    assert!(
        leftovers.is_empty(),
        "{ctx}: files left behind: {leftovers:?}"
    );
}

/// The disk operations of the whole workload of a case, run without a crash (and checked).
fn measure(dir: &Path, seed: u64, shape: Shape) -> u64 {
    let workload = Generator::new(seed).generate(shape);
    let sim = SimIo::new(seed);
    let ctx = format!("seed {seed} without a crash");
    let ran = run(dir, &sim, &Model::default(), &workload.steps, &ctx);
    assert!(!ran.cut);
    let ops = sim.mutations();
    let db = ran.db.unwrap();
    let expected = &workload.steps.last().unwrap().1;
    assert_eq!(&check(&db, &[expected], &ctx), expected);
    ops
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| {
        v.parse()
            .unwrap_or_else(|e| panic!("{name}={v}: expected a number: {e}"))
    })
}

fn shape_of(seed: u64) -> Shape {
    Shape {
        writes: 90,
        // One case in four never adds a GSI: crashes in a steady state only.
        add_gsi: seed % 4 != 3,
    }
}

#[test]
fn reopen_after_a_power_cut_yields_the_acknowledged_state_and_consistent_indexes() {
    let replay = std::env::var_os("DDB_SIM_SEED").is_some();
    let base = seed_from_env(0x7AB1E).unwrap();
    let cases = if replay {
        1
    } else {
        env_u64("DDB_CRASH_ITERATIONS").unwrap_or(4)
    };
    let points_per_case = 75u64;
    let only_point = env_u64("DDB_CRASH_POINT");
    let only_mode = std::env::var("DDB_CRASH_MODE").ok().map(|m| {
        MODES
            .iter()
            .position(|(name, _)| *name == m)
            .unwrap_or_else(|| panic!("DDB_CRASH_MODE={m}: expected clean, torn or dirops"))
    });
    // The lock is a real `flock` whose pid write is fsynced: on tmpfs that costs nothing.
    let shm = Path::new("/dev/shm");
    let only_second = env_u64("DDB_CRASH_RECOVERY_POINT");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .unwrap();
    let mut points = 0u64;
    let mut coverage = Coverage::default();
    for case in 0..cases {
        let seed = base + case;
        let shape = shape_of(seed);
        let total = measure(dir.path(), seed, shape);
        let mut rng = Rng(seed);
        let chosen: Vec<Point> = match only_point {
            Some(n) => vec![Point {
                n,
                mode: only_mode.unwrap_or(0),
                second_cut: only_second,
            }],
            None => (0..points_per_case)
                .map(|j| {
                    // Stratified over the whole workload, plus one point past its end.
                    let low = j * total / points_per_case;
                    let width = (total / points_per_case).max(1);
                    let n = if j == points_per_case - 1 {
                        total
                    } else {
                        low + rng.below(width)
                    };
                    // Every other point also cuts the power during recovery. A plain recovery
                    // takes a few dozen disk operations; one that resumes a backfill, over a
                    // hundred.
                    let second_cut = (j % 2 == 1).then(|| {
                        let range = if rng.chance(30) { 140 } else { 45 };
                        rng.below(range)
                    });
                    Point {
                        n,
                        mode: only_mode.unwrap_or((j % 3) as usize),
                        second_cut,
                    }
                })
                .collect(),
        };
        for point in chosen {
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                crash_point(dir.path(), seed, shape, point, &mut coverage);
            }));
            if let Err(panic) = outcome {
                eprintln!(
                    "FAILED at {} (the workload has {total} disk operations)",
                    point.context(seed)
                );
                resume_unwind(panic);
            }
            points += 1;
        }
    }
    eprintln!("{points} crash points recovered: {coverage:?}");
    // The sweep must keep reaching every kind of step it is meant to crash.
    if !replay && only_point.is_none() {
        for during in [
            "checkpoint",
            "run_pending_work",
            "PutItem",
            "BatchWriteItem",
        ] {
            assert!(
                coverage.cut_during.get(during).is_some_and(|&n| n > 0),
                "no crash point during {during}: {coverage:?}"
            );
        }
        assert!(
            coverage.landed > 0
                && coverage.lost > 0
                && coverage.backfill_resumed > 0
                && coverage.recovery_cut > 0,
            "{coverage:?}"
        );
    }
}

/// A crash between a state file's temporary and its rename, with the directory change durable,
/// leaves the temporary behind (what the crash points with `dirops` found); the next open must
/// remove it, or every such crash leaks a file for good.
#[test]
fn an_interrupted_publication_leaves_no_temporary_behind() {
    let sim = SimIo::new(1);
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), &sim).unwrap();
    db.call("CreateTable", &create_table_request()).unwrap();
    drop(db);
    let tables = dir.path().join("tables");
    let table_dir = tables.join(&sim.read_dir(&tables).unwrap()[0]);
    // What `publish_atomically` leaves when the power fails after the temporary is created
    // and its directory entry reached the disk.
    for (parent, name) in [
        (dir.path(), ".CATALOG.tmp-1-1"),
        (table_dir.as_path(), ".CURRENT.tmp-1-2"),
    ] {
        let file = sim
            .open(&parent.join(name), ddb_io::OpenOptions::create_new())
            .unwrap();
        file.write_all_at(b"{", 0).unwrap();
        file.sync_all().unwrap();
        sim.sync_dir(parent).unwrap();
    }
    sim.crash(CrashOptions::clean());
    let db = open(dir.path(), &sim).unwrap();
    assert_no_leftovers(&sim, "reopen");
    check(
        &db,
        &[&Model {
            table_exists: true,
            ..Model::default()
        }],
        "reopen",
    );
}

/// An I/O error (not a crash) in the middle of a checkpoint or of background work (catch-up,
/// a backfill, a requested checkpoint) fails that step only: the table stays writable, a later
/// checkpoint or backfill succeeds, and after a crash the acknowledged state is all there.
#[test]
fn an_io_error_in_a_checkpoint_or_a_backfill_fails_only_that_step() {
    let replay = std::env::var_os("DDB_SIM_SEED").is_some();
    let base = seed_from_env(0xE10).unwrap();
    let cases = if replay { 1 } else { 24 };
    let dir = tempfile::tempdir_in(if Path::new("/dev/shm").is_dir() {
        "/dev/shm"
    } else {
        "/tmp"
    })
    .unwrap();
    let mut failed_steps = 0;
    for case in 0..cases {
        let seed = base + case;
        let workload = Generator::new(seed).generate(shape_of(seed));
        let mut rng = Rng(seed ^ 0xF00);
        let sim = SimIo::new(seed);
        let ctx = format!("seed {seed} (replay: DDB_SIM_SEED={seed})");
        let db = open(dir.path(), &sim).unwrap();
        for (i, (op, _)) in workload.steps.iter().enumerate() {
            let background = matches!(op, Op::Checkpoint | Op::RunPending);
            if background && rng.chance(40) {
                sim.fail_after_ops(rng.below(60));
            }
            match execute(&db, op) {
                Ok(()) => {}
                Err(e) if background => {
                    failed_steps += 1;
                    assert!(e.contains("injected"), "{ctx}: step {i}: {e}");
                }
                Err(e) => panic!("{ctx}: step {i} {op:?} failed after an I/O error earlier: {e}"),
            }
            sim.clear_faults();
        }
        let model = &workload.steps.last().unwrap().1;
        execute(&db, &Op::Checkpoint).unwrap_or_else(|e| panic!("{ctx}: last checkpoint: {e}"));
        check(&db, &[model], &format!("{ctx}, before the crash"));
        drop(db);
        sim.crash(CrashOptions::torn());
        let db = open(dir.path(), &sim).unwrap_or_else(|e| panic!("{ctx}: reopen: {e}"));
        check(&db, &[model], &format!("{ctx}, after the crash"));
    }
    assert!(
        replay || failed_steps > 20,
        "only {failed_steps} steps failed"
    );
}
