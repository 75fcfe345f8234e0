//! Differential test: random operation sequences applied to the reference model
//! (`tests/model/`) and to the engine (`Database::call` on a temporary directory), every
//! response compared — items, order, Count/ScannedCount, LastEvaluatedKey, error names and
//! messages. Sequences reopen the database and checkpoint the table at random points, so
//! recovery and checkpoints are compared against the model too.
//!
//! Deterministic from a seed; a failure prints the shape, the seed and the step. Knobs:
//! - `DDB_DIFF_ITERATIONS`: seeds per table shape (default 3);
//! - `DDB_DIFF_STEPS`: operations per sequence (default 200);
//! - `DDB_DIFF_SEED` (with `DDB_DIFF_SHAPE`): replay one sequence.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod diff;
mod model;

use diff::shapes::{self, Shape};
use diff::{Engine, LyingModel, ModelSystem, Stats, run};
use model::Model;
use serde_json::Value;

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text} is not a number")),
        Err(_) => default,
    }
}

/// The (shape, seed) pairs to run: every shape × `DDB_DIFF_ITERATIONS` seeds, or the one
/// sequence `DDB_DIFF_SEED` names.
fn cases() -> Vec<(Shape, u64)> {
    let only_shape = std::env::var("DDB_DIFF_SHAPE").ok();
    let shapes: Vec<Shape> = shapes::all()
        .into_iter()
        .filter(|s| only_shape.as_deref().is_none_or(|name| name == s.name))
        .collect();
    assert!(
        !shapes.is_empty(),
        "DDB_DIFF_SHAPE={only_shape:?} names no shape"
    );
    let seeds: Vec<u64> = match std::env::var("DDB_DIFF_SEED") {
        Ok(_) => vec![env_number("DDB_DIFF_SEED", 0)],
        Err(_) => (1..=env_number("DDB_DIFF_ITERATIONS", 3)).collect(),
    };
    shapes
        .into_iter()
        .flat_map(|shape| seeds.iter().map(move |&seed| (shape.clone(), seed)))
        .collect()
}

fn steps() -> usize {
    usize::try_from(env_number("DDB_DIFF_STEPS", 200)).unwrap()
}

#[test]
fn engine_matches_the_model() {
    for (shape, seed) in cases() {
        let mut engine = Engine::new();
        let stats = run(&shape, seed, steps(), &mut engine);
        eprintln!("{} seed {seed}: {stats:?}", shape.name);
    }
}

/// The generator only produces requests the model implements (it panics otherwise), and the
/// sequences reach the cases the differential test is for.
#[test]
fn sequences_cover_the_interesting_cases() {
    let mut total = Stats::default();
    for (shape, seed) in cases() {
        let stats = run(&shape, seed, steps(), &mut ModelSystem(Model::new()));
        for (k, v) in stats.calls {
            *total.calls.entry(k).or_default() += v;
        }
        for (k, v) in stats.errors {
            *total.errors.entry(k).or_default() += v;
        }
        total.messages.extend(stats.messages);
        total.continued_pages += stats.continued_pages;
        total.size_stopped_pages += stats.size_stopped_pages;
        total.reopens += stats.reopens;
        total.checkpoints += stats.checkpoints;
    }
    eprintln!("{total:#?}");
    if std::env::var("DDB_DIFF_SEED").is_ok() {
        return; // One replayed sequence need not cover everything.
    }
    for operation in [
        "PutItem",
        "DeleteItem",
        "UpdateItem",
        "GetItem",
        "Query",
        "Scan",
        "BatchWriteItem",
    ] {
        assert!(
            total.calls.get(operation).is_some_and(|&n| n > 0),
            "no {operation}"
        );
    }
    let errors = |name: &str| total.errors.get(name).copied().unwrap_or(0);
    assert!(errors("ConditionalCheckFailedException") > 0, "{total:?}");
    assert!(errors("ValidationException") > 0, "{total:?}");
    assert!(total.continued_pages > 0, "{total:?}");
    assert!(total.size_stopped_pages > 0, "{total:?}");
    assert!(total.reopens > 0 && total.checkpoints > 0, "{total:?}");
}

fn caught(lie: fn(&str, &mut Value)) -> bool {
    std::panic::catch_unwind(|| {
        for (shape, seed) in cases() {
            let mut liar = LyingModel {
                model: Model::new(),
                lie,
            };
            run(&shape, seed, steps(), &mut liar);
        }
    })
    .is_err()
}

/// The comparison notices an engine that orders a page wrongly, loses a LastEvaluatedKey or
/// miscounts what it read.
#[test]
fn lies_are_caught() {
    assert!(caught(|operation, response| {
        if let (true, Some(Value::Array(items))) = (operation == "Query", response.get_mut("Items"))
            && items.len() >= 2
            && items[0] != items[1]
        {
            items.swap(0, 1);
        }
    }));
    assert!(caught(|_, response| {
        if let Some(object) = response.as_object_mut() {
            object.remove("LastEvaluatedKey");
        }
    }));
    assert!(caught(|operation, response| {
        if operation == "Scan" && response["ScannedCount"].as_u64() > Some(0) {
            response["ScannedCount"] = serde_json::json!(0);
        }
    }));
}
