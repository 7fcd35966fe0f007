//! NumPy's legacy Mersenne Twister stream (`numpy.random.RandomState(seed)`).
//!
//! This is the 32-bit MT19937 of Matsumoto and Nishimura (1998) with the standard
//! `init_genrand` seeding, plus the two ways in which NumPy's legacy `RandomState` turns the
//! 32-bit words into numbers:
//!
//! * [`Mt19937::next_f64`] (`RandomState.random_sample` / `rand`): a double in [0, 1) from two
//!   words `a`, `b` as `((a >> 5) * 2^26 + (b >> 6)) / 2^53`;
//! * [`Mt19937::randint`] (`RandomState.randint(high)` for small `high`): one word masked with
//!   the smallest all-ones mask covering `high - 1`, redrawn while the result exceeds `high - 1`.
//!
//! It exists so that the Yin-Yang splits can be regenerated bit for bit; it is not meant as a
//! general-purpose random number generator.

/// Number of 32-bit words of state.
const N: usize = 624;
/// Offset of the word combined in the twist.
const M: usize = 397;
/// Twist matrix constant (last row of A).
const MATRIX_A: u32 = 0x9908_b0df;
/// Most significant bit of a word.
const UPPER_MASK: u32 = 0x8000_0000;
/// The 31 least significant bits of a word.
const LOWER_MASK: u32 = 0x7fff_ffff;

/// The MT19937 generator as NumPy's legacy `RandomState` uses it.
#[derive(Clone)]
pub struct Mt19937 {
    state: [u32; N],
    /// Index of the next word of `state` to hand out; `N` means "twist first".
    index: usize,
}

impl std::fmt::Debug for Mt19937 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mt19937")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl Mt19937 {
    /// A generator seeded like `numpy.random.RandomState(seed)` (reference `init_genrand`).
    pub fn new(seed: u32) -> Self {
        let mut state = [0u32; N];
        state[0] = seed;
        for i in 1..N {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        Self { state, index: N }
    }

    /// Regenerates all `N` words of state (the "twist").
    fn twist(&mut self) {
        for i in 0..N {
            let y = (self.state[i] & UPPER_MASK) | (self.state[(i + 1) % N] & LOWER_MASK);
            let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
            self.state[i] = self.state[(i + M) % N] ^ (y >> 1) ^ mag;
        }
        self.index = 0;
    }

    /// The next 32-bit output (`genrand_int32`).
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        // Tempering.
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    /// A uniform double in [0, 1) with 53 random bits, exactly as NumPy's legacy
    /// `random_sample` (two words, the first one's top 27 bits, then the second one's top 26).
    pub fn next_f64(&mut self) -> f64 {
        let a = (self.next_u32() >> 5) as f64;
        let b = (self.next_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// A uniform integer in `0..high`, exactly as NumPy's legacy `RandomState.randint(high)`:
    /// with `rng = high - 1`, draw a word, keep the bits of the smallest mask `2^k - 1 >= rng`,
    /// and redraw while the result exceeds `rng`. `high == 1` returns 0 without drawing (as NumPy
    /// does).
    ///
    /// # Panics
    /// If `high == 0` (NumPy raises `ValueError: high <= 0`).
    pub fn randint(&mut self, high: u32) -> u32 {
        assert!(high > 0, "randint needs high > 0");
        let rng = high - 1;
        if rng == 0 {
            return 0;
        }
        // Smallest all-ones mask that covers rng.
        let mask = u32::MAX >> rng.leading_zeros();
        loop {
            let v = self.next_u32() & mask;
            if v <= rng {
                return v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Published MT19937 outputs for the reference default seed 5489 (the first outputs of
    /// `mt19937ar.c` with `init_genrand(5489)`, as also used by C++ `std::mt19937`).
    #[test]
    fn default_seed_first_outputs() {
        let mut rng = Mt19937::new(5489);
        let expected = [
            3_499_211_612u32,
            581_869_302,
            3_890_346_734,
            3_586_334_585,
            545_404_204,
        ];
        for &e in &expected {
            assert_eq!(rng.next_u32(), e);
        }
    }

    /// The C++ standard ([rand.predef]) requires the 10000th output of a default-constructed
    /// `std::mt19937` (seed 5489) to be 4123659995; this also exercises many twists.
    #[test]
    fn default_seed_10000th_output() {
        let mut rng = Mt19937::new(5489);
        let mut v = 0;
        for _ in 0..10_000 {
            v = rng.next_u32();
        }
        assert_eq!(v, 4_123_659_995);
    }

    /// Seed 1 first output of `init_genrand(1)`, a second published value
    /// (1791095845, as in e.g. Python's `random` internals and many MT test suites).
    #[test]
    fn seed_one_first_output() {
        let mut rng = Mt19937::new(1);
        assert_eq!(rng.next_u32(), 1_791_095_845);
    }

    #[test]
    fn double_is_built_from_two_words() {
        let mut a = Mt19937::new(123);
        let mut b = a.clone();
        let w0 = b.next_u32() >> 5;
        let w1 = b.next_u32() >> 6;
        let expected = ((u64::from(w0) << 26) + u64::from(w1)) as f64 / (1u64 << 53) as f64;
        assert_eq!(a.next_f64(), expected);
        for _ in 0..1000 {
            let u = a.next_f64();
            assert!((0.0..1.0).contains(&u));
        }
    }

    #[test]
    fn randint_masks_and_rejects() {
        // Replay the word stream by hand: mask 3, reject 3.
        let mut rng = Mt19937::new(7);
        let mut words = rng.clone();
        for _ in 0..2000 {
            let expected = loop {
                let w = words.next_u32() & 3;
                if w <= 2 {
                    break w;
                }
            };
            assert_eq!(rng.randint(3), expected);
        }
        // Same word stream afterwards: the generators stayed in lockstep.
        assert_eq!(rng.next_u32(), words.next_u32());
    }

    #[test]
    fn randint_edge_cases() {
        let mut rng = Mt19937::new(0);
        let mut copy = rng.clone();
        assert_eq!(rng.randint(1), 0);
        // randint(1) consumed nothing.
        assert_eq!(rng.next_u32(), copy.next_u32());
        // Powers of two use the full mask without rejection.
        let mut rng = Mt19937::new(9);
        let mut copy = rng.clone();
        assert_eq!(rng.randint(8), copy.next_u32() & 7);
        // The largest bound uses the full word.
        let v = rng.randint(u32::MAX);
        assert!(v < u32::MAX);
    }

    /// docs/model.md: `RandomState(42)` gives `randint(3) == 2`, then the uniforms
    /// 0.7965429868602328 and 0.1834347898661638 (scaled by 2 * 0.5 = 1, i.e. unchanged).
    #[test]
    fn numpy_seed_42_vector() {
        let mut rng = Mt19937::new(42);
        assert_eq!(rng.randint(3), 2);
        assert_eq!(rng.next_f64(), 0.7965429868602328);
        assert_eq!(rng.next_f64(), 0.1834347898661638);
    }
}
