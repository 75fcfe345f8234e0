//! The demo's background writer: one thread issuing PutItem and DeleteItem through the request
//! layer, one at a time, recording when each request started and when it was acknowledged.
//! That record is the model the demo's checks compare restores against.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

use ddb_table::Database;

use super::DemoError;
use super::items::{Rng, TABLE_NAME, key_json, order};

/// One acknowledged write.
#[derive(Debug, Clone)]
pub struct Write {
    pub index: u64,
    /// The order's new version, or `None` for a delete.
    pub version: Option<u64>,
    pub started: Instant,
    pub acked: Instant,
    /// Wall clock (µs since the epoch) just before the request and just after its answer.
    pub started_us: u64,
    pub acked_us: u64,
}

pub fn wall_us() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(now.as_micros()).unwrap_or(u64::MAX)
}

/// The running writer.
#[derive(Debug)]
pub struct Writer {
    stop: Arc<AtomicBool>,
    acked: Arc<AtomicU64>,
    handle: JoinHandle<Result<Vec<Write>, DemoError>>,
}

impl Writer {
    /// Starts writing to [`TABLE_NAME`]: 70 % new versions of existing orders, 20 % new
    /// orders, 10 % deletes. Versions are unique (the write's sequence number, from 1).
    pub fn spawn(db: Arc<Database>, seed: u64, loaded: u64) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(AtomicU64::new(0));
        let handle = {
            let (stop, acked) = (Arc::clone(&stop), Arc::clone(&acked));
            std::thread::spawn(move || write_until_stopped(&db, seed, loaded, &stop, &acked))
        };
        Writer {
            stop,
            acked,
            handle,
        }
    }

    /// Writes acknowledged so far.
    pub fn acked(&self) -> u64 {
        self.acked.load(Ordering::Acquire)
    }

    /// The writer ended by itself (an error it returns from [`Writer::stop`]).
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// Stops after the write in flight and returns every acknowledged write, in order.
    pub fn stop(self) -> Result<Vec<Write>, DemoError> {
        self.stop.store(true, Ordering::Release);
        self.handle
            .join()
            .map_err(|_| DemoError::Check("the background writer panicked".into()))?
    }
}

fn write_until_stopped(
    db: &Database,
    seed: u64,
    loaded: u64,
    stop: &AtomicBool,
    acked: &AtomicU64,
) -> Result<Vec<Write>, DemoError> {
    let mut rng = Rng(seed ^ 0x5752_4954_4552);
    let mut writes = Vec::new();
    let mut next_new = loaded;
    while !stop.load(Ordering::Acquire) {
        let version = u64::try_from(writes.len()).unwrap_or(u64::MAX) + 1;
        let roll = rng.below(10);
        let (index, put) = if roll < 2 || loaded == 0 {
            next_new += 1;
            (next_new - 1, true)
        } else {
            (rng.below(loaded), roll < 9)
        };
        let (operation, request) = if put {
            let item = order(seed, index, version)?;
            let json: serde_json::Value = serde_json::from_str(&item.to_canonical_json())
                .map_err(|e| DemoError::Check(format!("canonical JSON: {e}")))?;
            (
                "PutItem",
                serde_json::json!({"TableName": TABLE_NAME, "Item": json}),
            )
        } else {
            (
                "DeleteItem",
                serde_json::json!({"TableName": TABLE_NAME, "Key": key_json(index)}),
            )
        };
        let (started, started_us) = (Instant::now(), wall_us());
        db.call(operation, &request)?;
        let (acked_at, acked_us) = (Instant::now(), wall_us());
        writes.push(Write {
            index,
            version: put.then_some(version),
            started,
            acked: acked_at,
            started_us,
            acked_us,
        });
        acked.fetch_add(1, Ordering::AcqRel);
    }
    Ok(writes)
}
