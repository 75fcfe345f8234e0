//! The budget's per-entry cost against the heap a `BTreeMap` of log mutations really takes,
//! counted by a global allocator: the estimate may exceed the count (it includes malloc's
//! headers and rounding, which the count does not see) but never falls below it.
#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use ddb_merge::ingest::entry_cost;
use ddb_merge::spill::Mutation;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, only counting the bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn check(key_len: usize, item_len: usize, sequential: bool) {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let before = LIVE.load(Ordering::Relaxed);
    let mut map: BTreeMap<Vec<u8>, Mutation> = BTreeMap::new();
    let mut estimate = 0usize;
    for n in 0..50_000u64 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let id = if sequential { n } else { state };
        let mut key = id.to_be_bytes().to_vec();
        key.resize(key_len.max(8), 0);
        let mutation = (n % 10 != 0).then(|| vec![7u8; item_len]);
        estimate += entry_cost(&key, &mutation);
        map.insert(key, mutation);
    }
    let counted = LIVE.load(Ordering::Relaxed) - before;
    let what = format!("key {key_len} item {item_len} sequential {sequential}");
    assert!(
        estimate >= counted,
        "{what}: estimate {estimate} < counted {counted}"
    );
    assert!(
        estimate <= counted * 2,
        "{what}: estimate {estimate} > 2 × counted {counted}"
    );
    drop(map);
}

#[test]
fn entry_cost_covers_the_heap_a_map_takes() {
    for (key_len, item_len) in [(8, 0), (16, 30), (20, 100), (40, 1_000)] {
        check(key_len, item_len, false);
        check(key_len, item_len, true);
    }
}
