//! SplitMix64: a tiny, well-mixed, seedable generator. The simulation needs replayable
//! randomness, not cryptographic quality, so a dependency on `rand` would buy nothing.

#[derive(Debug, Clone)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0). The modulo bias is below 2^-32 for the sizes the
    /// simulation draws, which is irrelevant for fault injection.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// A number in `0..n` as a `usize`.
    pub(crate) fn below_usize(&mut self, n: usize) -> usize {
        let drawn = self.below(u64::try_from(n).unwrap_or(u64::MAX));
        // `drawn < n`, so it always fits; the fallback keeps the function total.
        usize::try_from(drawn).unwrap_or(0)
    }

    /// True with probability `percent`/100.
    pub(crate) fn chance_percent(&mut self, percent: u8) -> bool {
        self.below(100) < u64::from(percent)
    }

    pub(crate) fn coin(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_bounds_hold() {
        let mut a = SplitMix64::new(42);
        let mut b = SplitMix64::new(42);
        let mut c = SplitMix64::new(43);
        let xs: Vec<u64> = (0..100).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..100).map(|_| b.next_u64()).collect();
        let zs: Vec<u64> = (0..100).map(|_| c.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
        for n in [1u64, 2, 7, 512, 1 << 40] {
            for _ in 0..100 {
                assert!(a.below(n) < n);
            }
        }
        assert_eq!(a.below(0), 0);
        assert!((0..100).all(|_| !a.chance_percent(0)));
        assert!((0..100).all(|_| a.chance_percent(100)));
    }

    #[test]
    fn coin_takes_both_sides() {
        let mut rng = SplitMix64::new(7);
        let heads = (0..1000).filter(|_| rng.coin()).count();
        assert!((400..600).contains(&heads), "{heads}");
    }
}
