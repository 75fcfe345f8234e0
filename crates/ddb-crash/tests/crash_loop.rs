//! The crash loop, CI-sized: real child processes killed with SIGKILL at seeded points, a check
//! of every acknowledged effect after each kill, and a final generation that runs to a clean end.
//! `DDB_CRASH_SEED` and `DDB_CRASH_KILLS` override the seed and the number of kills.
//! And the checker itself: it must report a write the model acknowledged but the database lacks.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::process::Command;

use ddb_crash::child::{ChildOptions, run_child};
use ddb_crash::model::Model;
use ddb_crash::protocol::{Ack, Op, parse_line};
use serde_json::json;

const DEFAULT_SEED: u64 = 20_251_207;
const DEFAULT_KILLS: u64 = 20;

fn seed() -> u64 {
    std::env::var("DDB_CRASH_SEED").map_or(DEFAULT_SEED, |s| s.parse().expect("DDB_CRASH_SEED"))
}

fn kills() -> u64 {
    std::env::var("DDB_CRASH_KILLS").map_or(DEFAULT_KILLS, |s| s.parse().expect("DDB_CRASH_KILLS"))
}

/// The number printed before `label` in the summary line.
fn count(summary: &str, label: &str) -> u64 {
    let at = summary
        .find(label)
        .unwrap_or_else(|| panic!("no {label:?} in {summary:?}"));
    let after = &summary[at + label.len()..];
    after
        .trim_start()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// Runs the loop and returns its output, asserting success and the summary's counts.
fn run_loop(backend: Option<&str>, kills: u64, seed: u64) -> String {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let mut command = Command::new(env!("CARGO_BIN_EXE_ddb-crash-loop"));
    command.args(["run", "--dir"]).arg(&db).args([
        "--seed",
        &seed.to_string(),
        "--kills",
        &kills.to_string(),
    ]);
    if let Some(backend) = backend {
        command.env("DDB_IO_BACKEND", backend);
    }
    let started = std::time::Instant::now();
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let child_stderr =
        std::fs::read_to_string(dir.path().join("db.child-stderr")).unwrap_or_default();
    println!("{stdout}");
    println!("took {:.1} s", started.elapsed().as_secs_f64());
    assert!(
        output.status.success(),
        "the crash loop failed ({}):\n{stdout}\n{stderr}\nchild stderr:\n{child_stderr}",
        output.status
    );
    assert!(stdout.starts_with(&format!("seed = {seed}\n")), "{stdout}");
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("crash loop:"))
        .expect("summary line");
    assert!(summary.contains(", 0 failed"), "{summary}");
    assert_eq!(count(summary, "crash loop:"), kills, "{summary}");
    assert_eq!(
        count(summary, "kills,"),
        kills + 1,
        "one check per generation: {summary}"
    );
    summary.to_owned()
}

#[test]
fn crash_loop_checks_every_kind_of_effect() {
    let summary = run_loop(None, kills(), seed());
    assert!(count(&summary, "crash loop:") >= 1, "{summary}");
    for label in [
        "writes checked",
        "backups verified",
        "restores compared",
        "pitr compared",
        "index checks",
    ] {
        assert!(count(&summary, label) >= 1, "no {label}: {summary}");
    }
}

#[test]
fn crash_loop_on_the_std_backend() {
    let summary = run_loop(Some("std"), 8, seed() ^ 0x5eed);
    assert!(count(&summary, "writes checked") >= 1, "{summary}");
}

/// A short in-process workload (no kill), its lines fed to a model, as the parent does.
fn workload(dir: &std::path::Path, ops: u64) -> Model {
    let mut out = Vec::new();
    let options = ChildOptions {
        dir: dir.to_owned(),
        seed: 7,
        generation: 0,
        ops,
        final_run: true,
    };
    run_child(&options, &mut out).unwrap();
    let mut model = Model::default();
    for line in String::from_utf8(out).unwrap().lines() {
        model.line(&parse_line(line).unwrap()).unwrap();
    }
    assert!(model.pending.is_none());
    model
}

#[test]
fn the_checker_reports_a_lost_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let model = workload(&db, 60);
    let io = ddb_crash::io_from_env().unwrap();
    // The model as it is: the check passes.
    ddb_crash::check::check(&io, &db, &mut model.clone(), true).unwrap();

    // One more acknowledged put the database never saw.
    let lost = Op::Put {
        table: "tb1".into(),
        item: json!({"pk": {"S": "p99"}, "sk": {"N": "1"}, "v": {"N": "424242"}}),
    };
    let mut injected = model.clone();
    injected.apply(&lost, &Ack::default()).unwrap();
    let error = ddb_crash::check::check(&io, &db, &mut injected, true).unwrap_err();
    assert!(error.contains("table tb1"), "{error}");
    assert!(error.contains("LOST"), "{error}");
    assert!(error.contains("424242"), "{error}");

    // An acknowledged overwrite the database lacks: a changed value is reported too.
    let (key, item) = model.tables["tb1"]
        .items
        .iter()
        .next()
        .map(|(k, i)| (k.clone(), i.clone()))
        .unwrap();
    let mut changed = model.clone();
    let mut newer = item.clone();
    newer.insert(
        "v",
        ddb_model::AttributeValue::N("77777777".parse().unwrap()),
    );
    changed
        .tables
        .get_mut("tb1")
        .unwrap()
        .items
        .insert(key.clone(), newer);
    let error = ddb_crash::check::check(&io, &db, &mut changed, true).unwrap_err();
    assert!(error.contains(&format!("key {key}: expected")), "{error}");

    // A backup whose cut the model remembers differently.
    if let Some(arn) = model.backups.keys().next().cloned() {
        let mut wrong = model.clone();
        let cut = &mut wrong.backups.get_mut(&arn).unwrap().cut;
        let text = if cut.keys.len() == 2 {
            r#"{"pk":{"S":"p99"},"sk":{"N":"9"},"v":{"N":"1"}}"#
        } else {
            r#"{"pk":{"S":"k999"},"v":{"N":"1"}}"#
        };
        let extra = ddb_model::parse_item(text).unwrap();
        let key = ddb_crash::schema::key_string(&extra, &cut.keys).unwrap();
        cut.items.insert(key, extra);
        let error = ddb_crash::check::check(&io, &db, &mut wrong, true).unwrap_err();
        assert!(error.contains(&format!("backup {arn}")), "{error}");
    }

    // An unacknowledged put in flight: resolved as not happened, the check passes.
    let mut in_flight = model.clone();
    in_flight.pending = Some(ddb_crash::model::Pending {
        seq: "0.999".into(),
        op: lost,
    });
    let report = ddb_crash::check::check(&io, &db, &mut in_flight, true).unwrap();
    assert!(report.resolution.unwrap().contains("old"));
}
