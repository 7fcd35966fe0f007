//! Burn integration: a [`Dataset`] of Yin-Yang samples and a [`Batcher`] that turns them into
//! input spike times and labels.
//!
//! ```
//! use burn::backend::NdArray;
//! use burn::data::dataloader::DataLoaderBuilder;
//! use delgrad::data::{YinYangBatch, YinYangBatcher, YinYangDataset};
//!
//! type B = NdArray<f64>;
//! let loader = DataLoaderBuilder::<B, _, YinYangBatch<B>>::new(YinYangBatcher::default())
//!     .batch_size(150)
//!     .shuffle(7)
//!     .build(YinYangDataset::validation());
//! let batch = loader.iter().next().unwrap();
//! assert_eq!(batch.input_times.dims(), [150, 4]);
//! ```

use std::path::Path;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::prelude::Backend;

use super::csv::read_csv;
use super::encoding::InputEncoding;
use super::yinyang::{Split, YinYang, YinYangSample};
use crate::data::ClassItem;
use crate::error::Result;
use crate::trainer::{SpikeBatch, SpikeBatcher};

/// An in-memory list of Yin-Yang samples, usable as a Burn [`Dataset`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct YinYangDataset {
    samples: Vec<YinYangSample>,
}

impl YinYangDataset {
    /// A data set holding `samples`.
    pub fn new(samples: Vec<YinYangSample>) -> Self {
        Self { samples }
    }

    /// `n` generated samples of the standard shape with `seed`.
    pub fn generate(n: usize, seed: u32) -> Self {
        Self::new(YinYang::generate(n, seed))
    }

    /// One of the standard splits, generated.
    pub fn split(split: Split) -> Self {
        Self::new(YinYang::split(split))
    }

    /// The standard training split (5000 samples, seed 42).
    pub fn train() -> Self {
        Self::split(Split::Train)
    }

    /// The standard validation split (1000 samples, seed 41).
    pub fn validation() -> Self {
        Self::split(Split::Validation)
    }

    /// The standard test split (1000 samples, seed 40).
    pub fn test() -> Self {
        Self::split(Split::Test)
    }

    /// Samples read from an `x,y,label` CSV file (see [`read_csv`]).
    pub fn from_csv(path: impl AsRef<Path>) -> Result<Self> {
        read_csv(path).map(Self::new)
    }

    /// The samples.
    pub fn samples(&self) -> &[YinYangSample] {
        &self.samples
    }

    /// The samples, by value.
    pub fn into_samples(self) -> Vec<YinYangSample> {
        self.samples
    }
}

impl From<Vec<YinYangSample>> for YinYangDataset {
    fn from(samples: Vec<YinYangSample>) -> Self {
        Self::new(samples)
    }
}

impl Dataset<YinYangSample> for YinYangDataset {
    fn get(&self, index: usize) -> Option<YinYangSample> {
        self.samples.get(index).copied()
    }

    fn len(&self) -> usize {
        self.samples.len()
    }
}

/// A batch of encoded Yin-Yang samples: the trainer's [`SpikeBatch`].
pub type YinYangBatch<B> = SpikeBatch<B>;

/// Encodes samples with an [`InputEncoding`] into [`YinYangBatch`]es, for any backend.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct YinYangBatcher {
    encoding: InputEncoding,
}

impl YinYangBatcher {
    /// A batcher with `encoding`, validated ([`crate::Error::InvalidConfig`] if invalid).
    pub fn new(encoding: InputEncoding) -> Result<Self> {
        encoding.validate()?;
        Ok(Self { encoding })
    }

    /// The encoding.
    pub fn encoding(&self) -> &InputEncoding {
        &self.encoding
    }

    /// Encodes `items` on `device` (what [`Batcher::batch`] does).
    pub fn encode<B: Backend>(
        &self,
        items: &[YinYangSample],
        device: &B::Device,
    ) -> YinYangBatch<B> {
        let items: Vec<ClassItem> = items
            .iter()
            .map(|s| ClassItem::new(self.encoding.encode_sample(s), s.label))
            .collect();
        SpikeBatcher::new(self.encoding.num_inputs()).stack(&items, device)
    }
}

impl<B: Backend> Batcher<B, YinYangSample, YinYangBatch<B>> for YinYangBatcher {
    fn batch(&self, items: Vec<YinYangSample>, device: &B::Device) -> YinYangBatch<B> {
        self.encode(&items, device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;
    use burn::data::dataloader::DataLoaderBuilder;

    type B = NdArray<f64>;

    #[test]
    fn batcher_encodes_rows_and_labels() {
        let items = YinYang::generate(3, 42);
        let batcher = YinYangBatcher::new(InputEncoding::hardware()).unwrap();
        let batch: YinYangBatch<B> = batcher.batch(items.clone(), &Default::default());
        assert_eq!(batch.input_times.dims(), [3, 20]);
        let times: Vec<f64> = batch.input_times.into_data().to_vec().unwrap();
        for (row, s) in times.chunks(20).zip(&items) {
            assert_eq!(row, &InputEncoding::hardware().encode(s.x, s.y)[..]);
        }
        let labels: Vec<i64> = batch.labels.into_data().to_vec().unwrap();
        let expected: Vec<i64> = items.iter().map(|s| s.label as i64).collect();
        assert_eq!(labels, expected);
        assert!(YinYangBatcher::new(InputEncoding::default().with_repeat(0)).is_err());
    }

    #[test]
    fn dataloader_with_shuffle() {
        let dataset = YinYangDataset::train();
        assert_eq!(dataset.len(), 5000);
        let loader = DataLoaderBuilder::new(YinYangBatcher::default())
            .batch_size(150)
            .shuffle(1234)
            .build(dataset.clone());
        assert_eq!(loader.num_items(), 5000);
        let mut seen = 0;
        let mut batches = 0;
        let mut label_counts = [0usize; 3];
        let mut first_rows = Vec::new();
        for batch in loader.iter() {
            let batch: YinYangBatch<B> = batch;
            let [rows, cols] = batch.input_times.dims();
            assert_eq!(cols, 4);
            assert!(rows == 150 || rows == 5000 % 150);
            assert_eq!(batch.labels.dims(), [rows]);
            for l in batch.labels.into_data().to_vec::<i64>().unwrap() {
                label_counts[l as usize] += 1;
            }
            let t: Vec<f64> = batch.input_times.into_data().to_vec().unwrap();
            if batches == 0 {
                first_rows = t[..4].to_vec();
            }
            assert!(t.iter().all(|&v| (0.15..=2.0).contains(&v)));
            seen += rows;
            batches += 1;
        }
        assert_eq!(seen, 5000);
        assert_eq!(batches, 34);
        assert_eq!(label_counts, [1681, 1702, 1617]);
        // Shuffled: the first row is (almost surely) not the first sample.
        assert_ne!(
            first_rows,
            InputEncoding::default().encode_sample(&dataset.samples()[0])
        );
    }
}
