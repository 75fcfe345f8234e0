//! The log's mutation mix and the bookkeeping of what the table holds: [`Planner`] draws
//! each mutation (70 % updates and 10 % deletes of existing keys, 20 % inserts of new keys) from
//! a seeded generator; [`Book`] keeps, per key, what its item contributes to the table (a few
//! bytes, not the item), and the totals.

use super::Result;

/// splitmix64: small, seeded, deterministic.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut x = self.0;
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    }

    /// Uniform enough in `0..n` (`n` ≥ 1).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// A log mutation's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Update,
    Insert,
    Delete,
}

/// Draws the log's mutations: which kind, on which key, knowing which keys exist.
#[derive(Debug, Clone)]
pub struct Planner {
    exists: Vec<bool>,
    live: u64,
    rng: Rng,
}

impl Planner {
    /// Keys `0..items` exist (the snapshot).
    pub fn new(items: u64, seed: u64) -> Result<Self> {
        Ok(Self {
            exists: vec![true; usize::try_from(items)?],
            live: items,
            rng: Rng::new(seed),
        })
    }

    /// The next mutation: 70 % update, 20 % insert, 10 % delete (an insert when no key is
    /// left to update or delete).
    pub fn next_mutation(&mut self) -> (Op, u64) {
        let roll = self.rng.below(100);
        let op = match roll {
            _ if self.live == 0 => Op::Insert,
            0..70 => Op::Update,
            70..90 => Op::Insert,
            _ => Op::Delete,
        };
        let key = match op {
            Op::Insert => {
                self.exists.push(true);
                self.live += 1;
                self.exists.len() as u64 - 1
            }
            Op::Update | Op::Delete => self.pick_existing(),
        };
        if op == Op::Delete
            && let Some(slot) = usize::try_from(key)
                .ok()
                .and_then(|k| self.exists.get_mut(k))
        {
            *slot = false;
            self.live -= 1;
        }
        (op, key)
    }

    /// A uniformly drawn existing key (`live` ≥ 1): a few random tries, then the first existing
    /// key after a random start.
    fn pick_existing(&mut self) -> u64 {
        let keys = self.exists.len() as u64;
        for _ in 0..64 {
            let key = self.rng.below(keys);
            if self.exists(key) {
                return key;
            }
        }
        let start = self.rng.below(keys);
        (0..keys)
            .map(|step| (start + step) % keys)
            .find(|&key| self.exists(key))
            .unwrap_or(start)
    }

    pub fn exists(&self, key: u64) -> bool {
        usize::try_from(key)
            .ok()
            .and_then(|k| self.exists.get(k))
            .copied()
            .unwrap_or(false)
    }
}

/// What one live key contributes to the table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Entry {
    /// Canonical JSON bytes; 0: the key does not exist.
    pub json_bytes: u32,
    pub size_bytes: u32,
    pub merchant: bool,
}

/// The table's contents as counts, per key and in total.
#[derive(Debug, Clone, Default)]
pub struct Book {
    entries: Vec<Entry>,
    pub totals: Totals,
}

/// Totals of the live keys.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub rows: u64,
    pub item_bytes: u64,
    pub size_bytes: u64,
    pub merchants: u64,
}

impl Book {
    fn slot(&mut self, key: u64) -> Result<&mut Entry> {
        let index = usize::try_from(key)?;
        if index >= self.entries.len() {
            self.entries.resize(index + 1, Entry::default());
        }
        self.entries
            .get_mut(index)
            .ok_or_else(|| format!("key {key}: no slot").into())
    }

    /// Key `key` now holds an item described by `entry` (a put: insert or replace).
    pub fn put(&mut self, key: u64, entry: Entry) -> Result<()> {
        let slot = self.slot(key)?;
        let old = std::mem::replace(slot, entry);
        let t = &mut self.totals;
        if old.json_bytes == 0 {
            t.rows += 1;
        }
        t.item_bytes = t.item_bytes + u64::from(entry.json_bytes) - u64::from(old.json_bytes);
        t.size_bytes = t.size_bytes + u64::from(entry.size_bytes) - u64::from(old.size_bytes);
        t.merchants = t.merchants + u64::from(entry.merchant) - u64::from(old.merchant);
        Ok(())
    }

    /// Key `key` is deleted (it must exist).
    pub fn delete(&mut self, key: u64) -> Result<()> {
        let old = std::mem::take(self.slot(key)?);
        if old.json_bytes == 0 {
            return Err(format!("the log deletes key {key}, which does not exist").into());
        }
        let t = &mut self.totals;
        t.rows -= 1;
        t.item_bytes -= u64::from(old.json_bytes);
        t.size_bytes -= u64::from(old.size_bytes);
        t.merchants -= u64::from(old.merchant);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_mutation_mix_is_70_20_10_on_existing_and_new_keys_and_seeded() {
        let (items, mutations) = (10_000u64, 200_000u64);
        let mut planner = Planner::new(items, 42).unwrap();
        let mut live: HashSet<u64> = (0..items).collect();
        let mut next_new = items;
        let mut counts = [0u64; 3];
        let mut drawn = Vec::new();
        for _ in 0..mutations {
            let (op, key) = planner.next_mutation();
            drawn.push((op, key));
            match op {
                Op::Update => assert!(live.contains(&key), "update of missing key {key}"),
                Op::Insert => {
                    assert_eq!(key, next_new, "inserts take new keys in order");
                    next_new += 1;
                    assert!(live.insert(key));
                }
                Op::Delete => assert!(live.remove(&key), "delete of missing key {key}"),
            }
            counts[op as usize] += 1;
        }
        let share = |n: u64| n as f64 / mutations as f64;
        assert!((share(counts[0]) - 0.70).abs() < 0.01, "{counts:?}");
        assert!((share(counts[1]) - 0.20).abs() < 0.01, "{counts:?}");
        assert!((share(counts[2]) - 0.10).abs() < 0.01, "{counts:?}");
        // Updates and deletes spread over the keys (not just the newest or the oldest).
        let updated: HashSet<u64> = drawn
            .iter()
            .filter(|(op, _)| *op == Op::Update)
            .map(|(_, k)| *k)
            .collect();
        let originals = updated.iter().filter(|&&k| k < items).count() as u64;
        assert!(originals > items / 2, "{originals} snapshot keys updated");
        // The same seed draws the same sequence, another seed another.
        let mut again = Planner::new(items, 42).unwrap();
        assert!(drawn.iter().all(|d| *d == again.next_mutation()));
        let mut other = Planner::new(items, 43).unwrap();
        assert!(drawn.iter().take(100).any(|d| *d != other.next_mutation()));
    }

    #[test]
    fn a_table_emptied_by_deletes_gets_inserts() {
        let mut planner = Planner::new(1, 7).unwrap();
        let mut live = 1i64;
        for _ in 0..1000 {
            match planner.next_mutation().0 {
                Op::Insert => live += 1,
                Op::Delete => live -= 1,
                Op::Update => assert!(live > 0),
            }
            assert!(live >= 0);
        }
    }
}
