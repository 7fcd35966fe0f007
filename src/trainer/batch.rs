//! Batches of encoded samples: input spike times and class labels, for any backend.

use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderIterator};
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

/// The training loader of [`fit`](super::fit()): Burn's shuffling loader, placed on its device
/// once and advanced past the epochs a resumed run has already trained.
///
/// Burn's loader draws a new permutation from one random stream at every epoch, so the order of
/// epoch `e` is a pure function of (seed, `e`): the `e`-th permutation of the stream seeded by
/// `seed`. Burn's learner moves the loader to its device once per launch, which forks that
/// stream; this wrapper does the move itself and hands the learner the already-placed loader,
/// so a fresh run sees exactly the orders Burn alone would give it, and a run resumed after
/// epoch `k` sees the orders of epochs `k + 1, k + 2, ...` of the same stream.
pub(crate) struct EpochOrderedLoader<B: Backend, O> {
    inner: Arc<dyn DataLoader<B, O>>,
}

impl<B: Backend, O: 'static> EpochOrderedLoader<B, O> {
    /// Wraps `loader` (built with `shuffle(seed)`): places it on `device` as Burn's learner
    /// would, then skips the orders of the first `completed_epochs` epochs.
    pub(crate) fn placed(
        loader: Arc<dyn DataLoader<B, O>>,
        device: &B::Device,
        completed_epochs: usize,
    ) -> Arc<dyn DataLoader<B, O>> {
        let inner = loader.to_device(device);
        for _ in 0..completed_epochs {
            // Starting an iteration draws that epoch's permutation; nothing is batched.
            drop(inner.iter());
        }
        Arc::new(Self { inner })
    }
}

impl<B: Backend, O: 'static> DataLoader<B, O> for EpochOrderedLoader<B, O> {
    fn iter<'a>(&'a self) -> Box<dyn DataLoaderIterator<O> + 'a> {
        self.inner.iter()
    }

    fn num_items(&self) -> usize {
        self.inner.num_items()
    }

    /// Already on the training device: sharing the placed loader keeps its random stream.
    fn to_device(&self, _device: &B::Device) -> Arc<dyn DataLoader<B, O>> {
        Arc::new(Self {
            inner: self.inner.clone(),
        })
    }

    fn slice(&self, start: usize, end: usize) -> Arc<dyn DataLoader<B, O>> {
        self.inner.slice(start, end)
    }
}
