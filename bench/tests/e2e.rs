//! `ddb-bench e2e` end to end at a tiny size (2000 items, std backend, in a tempdir): the
//! report's shape and values, the backup manifest against the workload (and a loud failure when
//! they disagree), the peers' Parquet schemas and row counts, the chart; `ddb-bench plot` with
//! a peers file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

const EXE: &str = env!("CARGO_BIN_EXE_ddb-bench");

fn run(args: &[&str]) -> std::process::Output {
    let output = Command::new(EXE).args(args).output().unwrap();
    eprintln!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// (name, type, nullable) of each column of a Parquet file, and its row count.
fn parquet_shape(path: &Path) -> (Vec<(String, DataType, bool)>, i64) {
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap()).unwrap();
    let columns = builder
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone(), f.is_nullable()))
        .collect();
    (columns, builder.metadata().file_metadata().num_rows())
}

fn columns(spec: &[(&str, DataType, bool)]) -> Vec<(String, DataType, bool)> {
    spec.iter()
        .map(|(n, t, null)| ((*n).to_owned(), t.clone(), *null))
        .collect()
}

#[test]
fn e2e_at_2000_items_reports_checks_and_writes_the_peers_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("e2e");
    let out_arg = out.to_str().unwrap();
    let output = run(&[
        "e2e",
        "--items",
        "2000",
        "--backends",
        "std",
        "--out",
        out_arg,
    ]);
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("restore_gsi_active"), "{stdout}");

    // The workload: 500 mutations, cut at 450, counts as the generator kept them.
    let workload = json(&out.join("data/workload.json"));
    assert_eq!(workload["items"], 2000);
    assert_eq!(workload["mutations"], 500);
    assert_eq!(workload["cut_seq"], 450);
    assert_eq!(
        workload["cut_lsn"].as_u64().unwrap(),
        workload["snapshot_lsn"].as_u64().unwrap() + 450
    );
    let rows = workload["rows_at_cut"].as_u64().unwrap();
    let item_bytes = workload["item_bytes_at_cut"].as_u64().unwrap();
    assert!(rows > 2000 && item_bytes > rows * 400, "{workload}");
    for member in ["seed", "updates", "inserts", "deletes"] {
        assert!(workload[member].is_u64(), "{member}");
    }

    // report.json: the exact top-level shape, the workload copied, one run per stage.
    let report = json(&out.join("report.json"));
    let mut members: Vec<&str> = report
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    members.sort_unstable();
    assert_eq!(
        members,
        [
            "command",
            "harness",
            "machine",
            "runs",
            "started_at",
            "version",
            "workload"
        ]
    );
    // …written in the documented order.
    let text = std::fs::read_to_string(out.join("report.json")).unwrap();
    let at = |member: &str| text.find(&format!("\"{member}\":")).unwrap();
    let order = [
        "harness",
        "version",
        "command",
        "started_at",
        "machine",
        "workload",
        "runs",
    ];
    assert!(order.windows(2).all(|w| at(w[0]) < at(w[1])), "{text}");
    assert_eq!(report["harness"], "ddb-bench e2e");
    assert_eq!(report["version"], 1);
    assert!(
        report["command"]
            .as_str()
            .unwrap()
            .contains("e2e --items 2000")
    );
    let started = report["started_at"].as_str().unwrap();
    assert_eq!(started.len(), 20, "{started}");
    assert!(started.starts_with("20") && started.ends_with('Z') && &started[10..11] == "T");
    let machine = &report["machine"];
    assert!(machine["cpus"].as_u64().unwrap() >= 1);
    assert!(machine["mem_total_gib"].as_f64().unwrap() > 0.0);
    for member in ["cpu_model", "kernel", "filesystem"] {
        assert!(!machine[member].as_str().unwrap().is_empty(), "{member}");
    }
    assert_eq!(report["workload"], workload);
    let runs = report["runs"].as_array().unwrap();
    let stages: Vec<(&str, &str, &str)> = runs
        .iter()
        .map(|r| {
            (
                r["engine"].as_str().unwrap(),
                r["stage"].as_str().unwrap(),
                r["backend"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        stages,
        [
            ("ddb", "backup", "std"),
            ("ddb", "restore_active", "std"),
            ("ddb", "restore_gsi_active", "std")
        ]
    );
    for run in runs {
        for member in ["seconds", "rows_per_s", "mb_per_s", "peak_rss_mb"] {
            assert!(run[member].as_f64().unwrap() > 0.0, "{member}: {run}");
        }
        let seconds = run["seconds"].as_f64().unwrap();
        let mb_per_s = run["mb_per_s"].as_f64().unwrap();
        assert!(
            (mb_per_s - item_bytes as f64 / 1e6 / seconds).abs() < 0.1,
            "{run}"
        );
    }
    assert!(runs[0]["output_bytes"].as_u64().unwrap() > 0);
    assert!(runs[1]["seconds"].as_f64() <= runs[2]["seconds"].as_f64());

    // The backup's manifest holds the workload's rows and item bytes at the cut.
    let io: Arc<dyn ddb_io::Io> = Arc::new(ddb_io::StdIo::new());
    let manifest = ddb_backup::BackupManifest::load(&*io, &out.join("backup-std")).unwrap();
    assert_eq!(manifest.totals.rows, rows);
    assert_eq!(manifest.totals.item_bytes, item_bytes);
    assert_eq!(manifest.marker.lsn, workload["cut_lsn"].as_u64().unwrap());
    let source = &manifest.source_table;
    assert_eq!(
        source["TableDescription"]["LocalSecondaryIndexes"][0]["IndexName"],
        "by_updated"
    );
    assert_eq!(
        source["TableDescription"]["GlobalSecondaryIndexes"][0]["IndexName"],
        "by_merchant"
    );

    // The peers' files: schemas and row counts.
    let peers = out.join("data/peers");
    let (snapshot_columns, snapshot_rows) = parquet_shape(&peers.join("snapshot.parquet"));
    assert_eq!(
        snapshot_columns,
        columns(&[
            ("pk", DataType::Utf8, false),
            ("sk", DataType::Utf8, false),
            ("item", DataType::Utf8, false)
        ])
    );
    assert_eq!(snapshot_rows, 2000);
    let (log_columns, log_rows) = parquet_shape(&peers.join("log.parquet"));
    assert_eq!(
        log_columns,
        columns(&[
            ("seq", DataType::Int64, false),
            ("pk", DataType::Utf8, false),
            ("sk", DataType::Utf8, false),
            ("op", DataType::Utf8, false),
            ("item", DataType::Utf8, true)
        ])
    );
    assert_eq!(log_rows, 500);

    let svg = std::fs::read_to_string(out.join("throughput.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("restore_gsi_active"));

    // A workload the backup disagrees with fails the stage loudly.
    let mut wrong = workload.clone();
    wrong["rows_at_cut"] = Value::from(rows + 1);
    std::fs::write(out.join("data/workload.json"), wrong.to_string()).unwrap();
    let result = out.join("runs/mismatch.json");
    let output = run(&[
        "e2e-child",
        "--stage",
        "backup",
        "--backend",
        "std",
        "--out",
        out_arg,
        "--partitions",
        "1",
        "--zstd-level",
        "1",
        "--result",
        result.to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("MISMATCH"));
    assert!(!result.exists());

    // `plot` with the peers' runs.
    let peers_json = out.join("peers.json");
    std::fs::write(
        &peers_json,
        r#"{"runs":[
            {"engine":"duckdb","stage":"backup","seconds":1.0,"mb_per_s":3.0,"peak_rss_mb":400},
            {"engine":"polars","stage":"restore_lsi_gsi_sort","seconds":2.0,"mb_per_s":1.5}
        ]}"#,
    )
    .unwrap();
    let chart = out.join("with-peers.svg");
    let output = run(&[
        "plot",
        "--report",
        out.join("report.json").to_str().unwrap(),
        "--peers",
        peers_json.to_str().unwrap(),
        "--out",
        chart.to_str().unwrap(),
    ]);
    assert!(output.status.success());
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(svg.contains("duckdb") && svg.contains("restore_lsi_gsi_sort"));
}
