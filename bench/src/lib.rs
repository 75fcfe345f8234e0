//! Shared inputs for the benchmarks: the real data set of `../shared/data`, turned into the
//! DynamoDB JSON a user would load; and the end-to-end harness behind `ddb-bench e2e` ([`e2e`]).

use std::path::PathBuf;

pub mod checkpoint;
pub mod e2e;
pub mod table;

use serde_json::Value;

/// Where the shared data sets live: `$DDB_SHARED_DATA`, else `../shared/data` beside the
/// workspace.
pub fn shared_data_dir() -> PathBuf {
    std::env::var_os("DDB_SHARED_DATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
        PathBuf::from,
    )
}

/// The movie data set (4,609 movies) as DynamoDB JSON items, one string per item, in file order.
pub fn movie_items() -> std::io::Result<Vec<String>> {
    let path = shared_data_dir().join("moviedata.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    let movies: Vec<Value> = serde_json::from_str(&text).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    })?;
    Ok(movies
        .iter()
        .map(|m| dynamodb_json_item(m).to_string())
        .collect())
}

/// Plain JSON object → DynamoDB JSON item: numbers as `N`, strings `S`, booleans `BOOL`, null
/// `NULL`, arrays `L`, objects `M`.
pub fn dynamodb_json_item(plain: &Value) -> Value {
    match plain {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), dynamodb_json_value(v)))
                .collect(),
        ),
        other => dynamodb_json_value(other),
    }
}

fn dynamodb_json_value(plain: &Value) -> Value {
    let (tag, body) = match plain {
        Value::Number(n) => ("N", Value::String(n.to_string())),
        Value::String(s) => ("S", Value::String(s.clone())),
        Value::Bool(b) => ("BOOL", Value::Bool(*b)),
        Value::Null => ("NULL", Value::Bool(true)),
        Value::Array(list) => (
            "L",
            Value::Array(list.iter().map(dynamodb_json_value).collect()),
        ),
        Value::Object(map) => ("M", dynamodb_json_item(&Value::Object(map.clone()))),
    };
    Value::Object(serde_json::Map::from_iter([(tag.to_owned(), body)]))
}

/// Whether criterion runs this bench for real (`cargo bench`) rather than once as a test
/// (`cargo test`), so benches can size their inputs: full size for measurements, tiny in tests.
pub fn measuring() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

/// Directory for I/O benches: `$DDB_BENCH_DIR` (to measure a particular disk), else a temporary
/// directory under the system's.
pub fn bench_dir() -> std::io::Result<tempfile::TempDir> {
    match std::env::var_os("DDB_BENCH_DIR") {
        Some(dir) => tempfile::tempdir_in(dir),
        None => tempfile::tempdir(),
    }
}

/// The I/O backends a bench compares: std always, io_uring when the kernel allows it (a loud
/// `SKIPPED` line on stderr otherwise, naming `what` is skipped).
pub fn backends(what: &str) -> Vec<std::sync::Arc<dyn ddb_io::Io>> {
    let mut out: Vec<std::sync::Arc<dyn ddb_io::Io>> =
        vec![std::sync::Arc::new(ddb_io::StdIo::new())];
    match ddb_io::select_backend(ddb_io::BackendChoice::IoUring) {
        Ok(io) => out.push(io),
        Err(why) => eprintln!("SKIPPED: io_uring {what}: {why}"),
    }
    out
}

/// A size in bytes from the environment variable `var` if set (it must parse), else `bench`
/// when measuring and `test` when run once under `cargo test`.
pub fn bytes_from_env(var: &str, bench: u64, test: u64) -> std::io::Result<u64> {
    match std::env::var(var) {
        Ok(value) => value.parse().map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{var}={value}: not a byte count: {e}"),
            )
        }),
        Err(_) => Ok(if measuring() { bench } else { test }),
    }
}

/// A count from the environment variable `var` if set (it must parse), else `bench` when
/// measuring and `test` when run once under `cargo test`.
pub fn count_from_env(var: &str, bench: u64, test: u64) -> std::io::Result<u64> {
    match std::env::var(var) {
        Ok(value) => value.parse().map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{var}={value}: not a count: {e}"),
            )
        }),
        Err(_) => Ok(if measuring() { bench } else { test }),
    }
}
