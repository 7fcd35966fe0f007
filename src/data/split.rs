//! Seeded, stratified splits of a labelled data set into training, validation and test parts.
//!
//! For data sets without an official split (the 8x8 digits) or with only one part available
//! (the MNIST test file), a result is only reproducible if the split is: this module draws it
//! from a seed, class by class, so every part keeps the class proportions of the whole.
//!
//! The rule, for fractions `(f_train, f_val, f_test)` and a seed:
//! 1. classes are visited in increasing label order, all with one
//!    [`rand::rngs::StdRng`] seeded by `seed_from_u64(seed)`;
//! 2. the indices of a class (in increasing order) are shuffled with
//!    [`rand::seq::SliceRandom::shuffle`];
//! 3. of that class's `n` shuffled indices, the first `round(n * f_train)` go to training, those
//!    up to `round(n * (f_train + f_val))` to validation, the rest to test (`round` is
//!    [`f64::round`], halves away from zero; rounding the cumulative fractions makes the three
//!    counts add up to `n`);
//! 4. each part's indices are sorted increasingly, so a part lists its items in the order of
//!    the source.
//!
//! The split depends on rand's `StdRng` algorithm and shuffle, which rand does not promise to
//! keep across versions; the version is pinned by `Cargo.lock`, and the digits split's tests
//! freeze a few of its indices so that a change would be noticed.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::ClassItem;
use crate::error::{Error, Result};

/// Indices of the items of each part of a split, each list increasing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitIndices {
    /// Training items.
    pub train: Vec<usize>,
    /// Validation items.
    pub validation: Vec<usize>,
    /// Test items.
    pub test: Vec<usize>,
}

/// The items of each part of a split.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSplits {
    /// Training items.
    pub train: Vec<ClassItem>,
    /// Validation items.
    pub validation: Vec<ClassItem>,
    /// Test items.
    pub test: Vec<ClassItem>,
}

impl DataSplits {
    /// Moves `items` into the parts that `indices` name. Every item must be named exactly once
    /// ([`Error::Shape`] otherwise).
    pub fn from_indices(items: Vec<ClassItem>, indices: &SplitIndices) -> Result<Self> {
        let n = items.len();
        let named = indices.train.len() + indices.validation.len() + indices.test.len();
        if named != n {
            return Err(Error::Shape(format!(
                "split names {named} items, the data has {n}"
            )));
        }
        let mut slots: Vec<Option<ClassItem>> = items.into_iter().map(Some).collect();
        let mut take = |list: &[usize]| -> Result<Vec<ClassItem>> {
            list.iter()
                .map(|&i| {
                    slots.get_mut(i).and_then(Option::take).ok_or_else(|| {
                        Error::Shape(format!(
                            "split index {i} is out of range ({n} items) or named twice"
                        ))
                    })
                })
                .collect()
        };
        Ok(Self {
            train: take(&indices.train)?,
            validation: take(&indices.validation)?,
            test: take(&indices.test)?,
        })
    }

    /// Splits `items` by [`stratified_split`] of their labels.
    pub fn stratified(items: Vec<ClassItem>, fractions: [f64; 3], seed: u64) -> Result<Self> {
        let labels: Vec<usize> = items.iter().map(|item| item.label).collect();
        let indices = stratified_split(&labels, fractions, seed)?;
        Self::from_indices(items, &indices)
    }

    /// Number of items of each class in each part, `[train, validation, test]`, for classes
    /// `0..n_classes` (items with larger labels are not counted).
    pub fn class_counts(&self, n_classes: usize) -> [Vec<usize>; 3] {
        let count = |items: &[ClassItem]| {
            let mut counts = vec![0; n_classes];
            for item in items {
                if let Some(c) = counts.get_mut(item.label) {
                    *c += 1;
                }
            }
            counts
        };
        [
            count(&self.train),
            count(&self.validation),
            count(&self.test),
        ]
    }
}

/// The seeded stratified split of items with these `labels` by `fractions`
/// `[train, validation, test]` (see the module docs for the exact rule). Fractions must be
/// finite, non-negative and sum to 1 within 1e-9 ([`Error::InvalidConfig`] otherwise).
pub fn stratified_split(labels: &[usize], fractions: [f64; 3], seed: u64) -> Result<SplitIndices> {
    let sum: f64 = fractions.iter().sum();
    if fractions.iter().any(|f| !f.is_finite() || *f < 0.0) || (sum - 1.0).abs() > 1e-9 {
        return Err(Error::InvalidConfig(format!(
            "split fractions must be non-negative and sum to 1, got {fractions:?}"
        )));
    }
    Ok(split_unchecked(labels, fractions, seed))
}

/// [`stratified_split`] for fractions known to be valid.
pub(crate) fn split_unchecked(labels: &[usize], fractions: [f64; 3], seed: u64) -> SplitIndices {
    let mut by_class: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, &label) in labels.iter().enumerate() {
        by_class.entry(label).or_default().push(i);
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut split = SplitIndices {
        train: Vec::new(),
        validation: Vec::new(),
        test: Vec::new(),
    };
    for mut indices in by_class.into_values() {
        indices.shuffle(&mut rng);
        let n = indices.len();
        let cut = |f: f64| ((n as f64 * f).round() as usize).min(n);
        let train_end = cut(fractions[0]);
        let validation_end = cut(fractions[0] + fractions[1]).max(train_end);
        split.train.extend_from_slice(&indices[..train_end]);
        split
            .validation
            .extend_from_slice(&indices[train_end..validation_end]);
        split.test.extend_from_slice(&indices[validation_end..]);
    }
    split.train.sort_unstable();
    split.validation.sort_unstable();
    split.test.sort_unstable();
    split
}

/// Moves `items` into the parts of indices that [`split_unchecked`] drew from their labels
/// (each index in range and named once, so nothing is dropped).
#[cfg_attr(not(feature = "trainer"), allow(dead_code))]
pub(crate) fn split_items_unchecked(items: Vec<ClassItem>, indices: &SplitIndices) -> DataSplits {
    let mut slots: Vec<Option<ClassItem>> = items.into_iter().map(Some).collect();
    let mut take = |list: &[usize]| -> Vec<ClassItem> {
        list.iter()
            .filter_map(|&i| slots.get_mut(i).and_then(Option::take))
            .collect()
    };
    DataSplits {
        train: take(&indices.train),
        validation: take(&indices.validation),
        test: take(&indices.test),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_partition_the_items_and_keep_class_proportions() {
        // Classes of 10, 20 and 7 items, interleaved by a fixed permutation.
        let blocks: Vec<usize> = [vec![0; 10], vec![1; 20], vec![2; 7]].concat();
        let labels: Vec<usize> = (0..37).map(|i| blocks[(i * 10) % 37]).collect();
        let count = |l: usize| labels.iter().filter(|&&x| x == l).count();
        let (n0, n1, n2) = (count(0), count(1), count(2));
        assert_eq!((n0, n1, n2), (10, 20, 7));
        let s = stratified_split(&labels, [0.6, 0.2, 0.2], 7).unwrap();
        let mut all: Vec<usize> = [&s.train[..], &s.validation[..], &s.test[..]].concat();
        all.sort_unstable();
        assert_eq!(all, (0..37).collect::<Vec<_>>());
        for part in [&s.train, &s.validation, &s.test] {
            assert!(part.windows(2).all(|w| w[0] < w[1]), "sorted");
        }
        for (label, n) in [(0, n0), (1, n1), (2, n2)] {
            let in_part = |p: &[usize]| p.iter().filter(|&&i| labels[i] == label).count();
            let train = (n as f64 * 0.6).round() as usize;
            let validation = (n as f64 * 0.8).round() as usize - train;
            assert_eq!(in_part(&s.train), train, "class {label}");
            assert_eq!(in_part(&s.validation), validation, "class {label}");
            assert_eq!(in_part(&s.test), n - train - validation, "class {label}");
        }
    }

    #[test]
    fn the_seed_decides_the_split() {
        let labels: Vec<usize> = (0..200).map(|i| i % 3).collect();
        let a = stratified_split(&labels, [0.5, 0.25, 0.25], 1).unwrap();
        let b = stratified_split(&labels, [0.5, 0.25, 0.25], 1).unwrap();
        let c = stratified_split(&labels, [0.5, 0.25, 0.25], 2).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn empty_parts_and_empty_data() {
        let labels = vec![0, 1, 0, 1, 1];
        let s = stratified_split(&labels, [1.0, 0.0, 0.0], 0).unwrap();
        assert_eq!(s.train, vec![0, 1, 2, 3, 4]);
        assert!(s.validation.is_empty() && s.test.is_empty());
        let s = stratified_split(&[], [0.6, 0.2, 0.2], 0).unwrap();
        assert!(s.train.is_empty() && s.validation.is_empty() && s.test.is_empty());
    }

    #[test]
    fn bad_fractions_are_rejected() {
        for f in [
            [0.5, 0.2, 0.2],
            [0.7, 0.4, -0.1],
            [f64::NAN, 0.5, 0.5],
            [f64::INFINITY, 0.0, 0.0],
        ] {
            assert!(
                matches!(
                    stratified_split(&[0, 1], f, 0),
                    Err(Error::InvalidConfig(_))
                ),
                "{f:?}"
            );
        }
    }

    #[test]
    fn from_indices_moves_items_and_checks_indices() {
        let items: Vec<ClassItem> = (0..4)
            .map(|i| ClassItem::new(vec![i as f64], i % 2))
            .collect();
        let idx = SplitIndices {
            train: vec![3, 0],
            validation: vec![2],
            test: vec![1],
        };
        let s = DataSplits::from_indices(items.clone(), &idx).unwrap();
        assert_eq!(s.train, vec![items[3].clone(), items[0].clone()]);
        assert_eq!(s.validation, vec![items[2].clone()]);
        assert_eq!(s.test, vec![items[1].clone()]);
        assert_eq!(s.class_counts(2), [vec![1, 1], vec![1, 0], vec![0, 1]]);
        let twice = SplitIndices {
            train: vec![0, 0],
            validation: vec![2],
            test: vec![1],
        };
        assert!(matches!(
            DataSplits::from_indices(items.clone(), &twice),
            Err(Error::Shape(_))
        ));
        let out_of_range = SplitIndices {
            train: vec![0, 9],
            validation: vec![2],
            test: vec![1],
        };
        assert!(matches!(
            DataSplits::from_indices(items.clone(), &out_of_range),
            Err(Error::Shape(_))
        ));
        let short = SplitIndices {
            train: vec![0],
            validation: vec![],
            test: vec![],
        };
        assert!(matches!(
            DataSplits::from_indices(items, &short),
            Err(Error::Shape(_))
        ));
    }
}
