//! Batches of encoded samples: input spike times and class labels, for any backend.

use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};

use crate::data::ClassItem;
use crate::error::{Error, Result};

/// A batch of encoded samples.
#[derive(Debug, Clone)]
pub struct SpikeBatch<B: Backend> {
    /// Input spike times, `[batch, n_inputs]` (`+inf` = no spike).
    pub input_times: Tensor<B, 2>,
    /// Class labels, `[batch]`.
    pub labels: Tensor<B, 1, Int>,
}

/// Stacks [`ClassItem`]s whose features are input spike times into [`SpikeBatch`]es.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpikeBatcher {
    n_inputs: usize,
}

impl SpikeBatcher {
    /// A batcher for items of `n_inputs` spike times.
    pub fn new(n_inputs: usize) -> Self {
        Self { n_inputs }
    }

    /// Stacks `items` on `device` (what [`Batcher::batch`] does).
    pub fn stack<B: Backend>(&self, items: &[ClassItem], device: &B::Device) -> SpikeBatch<B> {
        let n = items.len();
        let mut times = Vec::with_capacity(n * self.n_inputs);
        for item in items {
            times.extend_from_slice(&item.features);
        }
        let input_times =
            Tensor::<B, 2>::from_data(TensorData::new(times, [n, self.n_inputs]), device);
        let labels: Vec<i64> = items.iter().map(|s| s.label as i64).collect();
        let labels = Tensor::<B, 1, Int>::from_data(TensorData::new(labels, [n]), device);
        SpikeBatch {
            input_times,
            labels,
        }
    }
}

impl<B: Backend> Batcher<B, ClassItem, SpikeBatch<B>> for SpikeBatcher {
    fn batch(&self, items: Vec<ClassItem>, device: &B::Device) -> SpikeBatch<B> {
        self.stack(&items, device)
    }
}

/// Encoded samples held in memory, shared cheaply between data loaders.
#[derive(Debug, Clone)]
pub struct SpikeDataset {
    items: Arc<Vec<ClassItem>>,
}

impl SpikeDataset {
    /// Checks that every item has `n_inputs` spike times (none NaN or `-inf`) and a label below
    /// `n_classes`.
    pub fn new(items: Vec<ClassItem>, n_inputs: usize, n_classes: usize) -> Result<Self> {
        for (i, item) in items.iter().enumerate() {
            if item.features.len() != n_inputs {
                return Err(Error::InvalidConfig(format!(
                    "sample {i} has {} input spike times, the network takes {n_inputs}",
                    item.features.len()
                )));
            }
            if let Some(t) = item
                .features
                .iter()
                .find(|t| t.is_nan() || **t == f64::NEG_INFINITY)
            {
                return Err(Error::InvalidConfig(format!(
                    "sample {i} has the input spike time {t}; times must be finite or +inf"
                )));
            }
            if item.label >= n_classes {
                return Err(Error::InvalidConfig(format!(
                    "sample {i} has label {}, the network has {n_classes} classes",
                    item.label
                )));
            }
        }
        Ok(Self {
            items: Arc::new(items),
        })
    }

    /// The items.
    pub fn items(&self) -> &[ClassItem] {
        &self.items
    }
}

impl Dataset<ClassItem> for SpikeDataset {
    fn get(&self, index: usize) -> Option<ClassItem> {
        self.items.get(index).cloned()
    }

    fn len(&self) -> usize {
        self.items.len()
    }
}
