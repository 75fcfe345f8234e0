//! The logical fingerprint of a set of rows: independent of row order and of how the rows are
//! partitioned, so a checkpoint, a backup and a restore of the same state can be compared
//! without reading them in the same order.

use xxhash_rust::xxh3::Xxh3;

/// Item count, item bytes, and the wrapping sum of `xxh3_128(u64_le(key.len) || key || item)`
/// over all rows. The key length is hashed so that moving bytes between key and item changes
/// the hash; a wrapping sum (not xor) so that a row present twice does not cancel out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    pub items: u64,
    pub item_bytes: u64,
    pub hash: u128,
}

impl Fingerprint {
    /// The hash of one row, as summed into [`Fingerprint::hash`].
    pub fn row_hash(key: &[u8], item: &[u8]) -> u128 {
        let mut hasher = Xxh3::new();
        hasher.update(&(key.len() as u64).to_le_bytes());
        hasher.update(key);
        hasher.update(item);
        hasher.digest128()
    }

    /// Adds one row.
    pub fn add(&mut self, key: &[u8], item: &[u8]) {
        self.items += 1;
        self.item_bytes += item.len() as u64;
        self.hash = self.hash.wrapping_add(Self::row_hash(key, item));
    }

    /// Combines the fingerprints of disjoint row sets (partitions).
    pub fn combine(&mut self, other: &Fingerprint) {
        self.items += other.items;
        self.item_bytes += other.item_bytes;
        self.hash = self.hash.wrapping_add(other.hash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_independent_and_key_item_boundary_matters() {
        let mut a = Fingerprint::default();
        a.add(b"k1", b"v1");
        a.add(b"k2", b"v2");
        let mut b = Fingerprint::default();
        b.add(b"k2", b"v2");
        b.add(b"k1", b"v1");
        assert_eq!(a, b);
        let mut c = Fingerprint::default();
        c.add(b"k", b"1v1");
        c.add(b"k2", b"v2");
        assert_ne!(a.hash, c.hash);
        let mut twice = Fingerprint::default();
        twice.add(b"k1", b"v1");
        twice.add(b"k1", b"v1");
        assert_ne!(twice.hash, 0);
    }
}
