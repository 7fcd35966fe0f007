//! The Yin-Yang data set generator (Kriener, Göltz, Petrovici 2022), bit-exact with the
//! reference implementation.
//!
//! Every split is drawn from its own [`Mt19937`] seeded like `numpy.random.RandomState(seed)`.
//! For each sample the generator draws a target class with `randint(3)`, then draws points
//! `(x, y) = 2 r_big (u1, u2)` (x first) until one lies inside the big disc and has the target
//! class. With the standard radii the standard splits reproduce the published CSV files exactly
//! (every coordinate equal as an f64).

use serde::{Deserialize, Serialize};

use super::mt19937::Mt19937;
use crate::error::{Error, Result};

/// Radius of the whole yin-yang disc of the standard data set.
pub const R_BIG: f64 = 0.5;
/// Radius of the two "eyes" (dots) of the standard data set.
pub const R_SMALL: f64 = 0.1;
/// Number of classes: 0 = yin, 1 = yang, 2 = dot.
pub const NUM_CLASSES: usize = 3;
/// Class names, indexed by label (as in the reference repository).
pub const CLASS_NAMES: [&str; NUM_CLASSES] = ["yin", "yang", "dot"];

/// One raw Yin-Yang sample: the point before mirroring or spike-time encoding, and its class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct YinYangSample {
    /// First coordinate, in [0, 2 r_big).
    pub x: f64,
    /// Second coordinate, in [0, 2 r_big).
    pub y: f64,
    /// Class: 0 (yin), 1 (yang) or 2 (dot).
    pub label: usize,
}

/// The three standard splits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// 5000 samples, seed 42.
    Train,
    /// 1000 samples, seed 41.
    Validation,
    /// 1000 samples, seed 40.
    Test,
}

impl Split {
    /// Number of samples of the split.
    pub fn size(self) -> usize {
        match self {
            Split::Train => 5000,
            Split::Validation => 1000,
            Split::Test => 1000,
        }
    }

    /// Seed of the split's generator.
    pub fn seed(self) -> u32 {
        match self {
            Split::Train => 42,
            Split::Validation => 41,
            Split::Test => 40,
        }
    }
}

/// The Yin-Yang shape with its two radii; [`YinYang::default`] is the standard data set
/// (`r_big` 0.5, `r_small` 0.1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct YinYang {
    /// Radius of the whole disc; points are drawn in [0, 2 r_big)^2.
    pub r_big: f64,
    /// Radius of the two eyes.
    pub r_small: f64,
}

impl Default for YinYang {
    fn default() -> Self {
        Self {
            r_big: R_BIG,
            r_small: R_SMALL,
        }
    }
}

impl YinYang {
    /// A shape with custom radii. Both must be finite and positive, and the eyes must fit in
    /// the heads (`r_small < r_big / 2`), otherwise a class could be empty and the rejection
    /// sampler would never finish.
    pub fn new(r_big: f64, r_small: f64) -> Result<Self> {
        if !(r_big.is_finite() && r_big > 0.0) {
            return Err(Error::InvalidConfig(format!(
                "Yin-Yang r_big must be finite and positive, got {r_big}"
            )));
        }
        if !(r_small.is_finite() && r_small > 0.0 && r_small < 0.5 * r_big) {
            return Err(Error::InvalidConfig(format!(
                "Yin-Yang r_small must be finite, positive and below r_big / 2 = {}, got {r_small}",
                0.5 * r_big
            )));
        }
        Ok(Self { r_big, r_small })
    }

    /// `n` samples of the standard shape drawn with `seed` (the reference
    /// `YinYangDataset(size=n, seed=seed)`).
    pub fn generate(n: usize, seed: u32) -> Vec<YinYangSample> {
        Self::default().samples(n, seed)
    }

    /// One of the standard splits.
    pub fn split(split: Split) -> Vec<YinYangSample> {
        Self::generate(split.size(), split.seed())
    }

    /// The standard training split (5000 samples, seed 42).
    pub fn train() -> Vec<YinYangSample> {
        Self::split(Split::Train)
    }

    /// The standard validation split (1000 samples, seed 41).
    pub fn validation() -> Vec<YinYangSample> {
        Self::split(Split::Validation)
    }

    /// The standard test split (1000 samples, seed 40).
    pub fn test() -> Vec<YinYangSample> {
        Self::split(Split::Test)
    }

    /// `n` samples of this shape drawn from a fresh generator seeded with `seed`.
    pub fn samples(&self, n: usize, seed: u32) -> Vec<YinYangSample> {
        let mut rng = Mt19937::new(seed);
        (0..n).map(|_| self.sample(&mut rng)).collect()
    }

    /// One sample drawn from `rng`: a target class with `randint(3)`, then points until one is
    /// inside the big disc and of the target class (the target is kept across rejections).
    pub fn sample(&self, rng: &mut Mt19937) -> YinYangSample {
        let goal = rng.randint(NUM_CLASSES as u32) as usize;
        loop {
            // `rng.rand(2) * 2. * r_big`: x first, evaluated left to right.
            let x = rng.next_f64() * 2.0 * self.r_big;
            let y = rng.next_f64() * 2.0 * self.r_big;
            if !self.in_disc(x, y) {
                continue;
            }
            let label = self.which_class(x, y);
            if label == goal {
                return YinYangSample { x, y, label };
            }
        }
    }

    /// Whether `(x, y)` lies inside (or on) the big disc around `(r_big, r_big)`.
    pub fn in_disc(&self, x: f64, y: f64) -> bool {
        dist(x, y, self.r_big, self.r_big) <= self.r_big
    }

    /// The class of a point inside the disc, with the reference rules and their order:
    /// 2 if strictly inside either eye; else 1 if `d_right <= r_small`, or
    /// `r_small < d_left <= r_big / 2`, or `y > r_big` and `d_right > r_big / 2`; else 0.
    pub fn which_class(&self, x: f64, y: f64) -> usize {
        let d_right = dist(x, y, 1.5 * self.r_big, self.r_big);
        let d_left = dist(x, y, 0.5 * self.r_big, self.r_big);
        if d_right < self.r_small || d_left < self.r_small {
            return 2;
        }
        let criterion1 = d_right <= self.r_small;
        let criterion2 = d_left > self.r_small && d_left <= 0.5 * self.r_big;
        let criterion3 = y > self.r_big && d_right > 0.5 * self.r_big;
        usize::from(criterion1 || criterion2 || criterion3)
    }
}

/// Euclidean distance from `(x, y)` to `(cx, cy)`, computed as the reference does:
/// `sqrt((x - cx)^2 + (y - cy)^2)` with each square a single multiplication.
fn dist(x: f64, y: f64, cx: f64, cy: f64) -> f64 {
    let dx = x - cx;
    let dy = y - cy;
    (dx * dx + dy * dy).sqrt()
}

/// How many samples of each class `samples` holds (labels >= 3 are ignored).
pub fn class_counts(samples: &[YinYangSample]) -> [usize; NUM_CLASSES] {
    let mut counts = [0; NUM_CLASSES];
    for s in samples {
        if let Some(c) = counts.get_mut(s.label) {
            *c += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_training_sample() {
        let s = YinYang::generate(1, 42);
        assert_eq!(
            s,
            vec![YinYangSample {
                x: 0.6803075385877797,
                y: 0.450499251969543,
                label: 2
            }]
        );
    }

    #[test]
    fn classification_landmarks() {
        let yy = YinYang::default();
        // Eyes.
        assert_eq!(yy.which_class(0.75, 0.5), 2);
        assert_eq!(yy.which_class(0.25, 0.5), 2);
        // Left head (outside its eye) is class 1, right head class 0.
        assert_eq!(yy.which_class(0.1, 0.5), 1);
        assert_eq!(yy.which_class(0.9, 0.5), 0);
        // Upper half away from the right head is 1, lower half away from the left head 0.
        assert_eq!(yy.which_class(0.5, 0.9), 1);
        assert_eq!(yy.which_class(0.5, 0.1), 0);
        // Right head's upper half is still class 0.
        assert_eq!(yy.which_class(0.75, 0.5 + 0.125), 0);
        // Eye boundaries need an exactly representable radius: r_small = 0.125.
        let yy = YinYang::new(0.5, 0.125).unwrap();
        // Exactly on the right eye's boundary: not strictly inside (not 2), but criterion 1
        // (`d_right <= r_small`) makes it 1, although it lies in the right head.
        assert_eq!(dist(0.875, 0.5, 0.75, 0.5), 0.125);
        assert_eq!(yy.which_class(0.875, 0.5), 1);
        // Exactly on the left eye's boundary: not 2, and not criterion 2 (`d_left > r_small`
        // fails), so 0 in the lower half although it lies in the left head.
        assert_eq!(dist(0.25, 0.375, 0.25, 0.5), 0.125);
        assert_eq!(yy.which_class(0.25, 0.375), 0);
        // Just outside the left eye (still in the left head) it is 1 again.
        assert_eq!(yy.which_class(0.25, 0.37), 1);
    }

    #[test]
    fn new_validates_radii() {
        assert!(YinYang::new(0.5, 0.1).is_ok());
        assert!(YinYang::new(0.0, 0.1).is_err());
        assert!(YinYang::new(0.5, 0.25).is_err());
        assert!(YinYang::new(f64::NAN, 0.1).is_err());
        assert!(YinYang::new(0.5, -0.1).is_err());
    }

    #[test]
    fn custom_radii_stay_in_their_disc() {
        let yy = YinYang::new(1.0, 0.2).unwrap();
        let samples = yy.samples(300, 3);
        for s in &samples {
            assert!(yy.in_disc(s.x, s.y));
            assert_eq!(yy.which_class(s.x, s.y), s.label);
        }
        assert!(class_counts(&samples).iter().all(|&c| c > 50));
    }
}
