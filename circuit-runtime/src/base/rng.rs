//! A seedable random source, so that `--seed N` makes a run reproducible.

use rand::rngs::SmallRng;
use rand::{Rng as _, SeedableRng};

/// Random numbers for a sketch: a field of this type gives the sketch a `--seed N` flag.
#[derive(Debug, Clone)]
pub struct Rng(SmallRng);

impl Rng {
    /// A generator that always yields the same sequence for the same seed.
    pub fn seeded(seed: u64) -> Self {
        Rng(SmallRng::seed_from_u64(seed))
    }

    /// A generator seeded from the operating system.
    pub fn from_entropy() -> Self {
        Rng(SmallRng::from_os_rng())
    }

    /// `true` with probability `p`; values of `p` outside `0..=1` are clamped.
    pub fn chance(&mut self, p: f64) -> bool {
        let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
        self.0.random_bool(p)
    }

    /// A uniformly drawn integer in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.0.random_range(0..n)
        }
    }
}

impl Default for Rng {
    fn default() -> Self {
        Rng::from_entropy()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_bits() {
        let draw = |seed| {
            let mut rng = Rng::seeded(seed);
            (0..64).map(|_| rng.chance(0.5)).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }

    #[test]
    fn certain_and_impossible_chances_hold() {
        let mut rng = Rng::seeded(1);
        assert!((0..100).all(|_| rng.chance(1.0)));
        assert!((0..100).all(|_| !rng.chance(0.0)));
        assert!((0..100).all(|_| !rng.chance(-3.0)));
        assert!((0..100).all(|_| rng.below(3) < 3));
    }
}
