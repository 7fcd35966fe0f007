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
        let (times, labels) = rows_of(items, self.n_inputs);
        SpikeBatch::from_rows(times, labels, self.n_inputs, device)
    }
}

/// The items' input times, row-major `[items, n_inputs]`, and their labels.
fn rows_of(items: &[ClassItem], n_inputs: usize) -> (Vec<f64>, Vec<i64>) {
    let mut times = Vec::with_capacity(items.len() * n_inputs);
    for item in items {
        times.extend_from_slice(&item.features);
    }
    (times, items.iter().map(|s| s.label as i64).collect())
}

impl<B: Backend> SpikeBatch<B> {
    /// A batch from row-major input times (`n_inputs` per sample) and one label per sample.
    fn from_rows(times: Vec<f64>, labels: Vec<i64>, n_inputs: usize, device: &B::Device) -> Self {
        let n = labels.len();
        Self {
            input_times: Tensor::from_data(TensorData::new(times, [n, n_inputs]), device),
            labels: Tensor::from_data(TensorData::new(labels, [n]), device),
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

/// The samples of a [`SpikeDataset`] as one block of input times and one of labels, for the
/// data loaders of [`fit`](super::fit()): the loaders hand out sample indices, and a batch
/// copies its rows from the block. Handing out [`ClassItem`]s instead costs an allocation and a
/// copy from a separately allocated feature vector per sample, which a profile of the default
/// run put at several percent of the training thread's time (memory latency, not arithmetic).
/// Batches are the same, value for value, as [`SpikeBatcher`]'s of the same items.
#[derive(Debug, Clone)]
pub(crate) struct SampleRows {
    times: Arc<[f64]>,
    labels: Arc<[i64]>,
    n_inputs: usize,
}

impl SampleRows {
    /// The dataset's samples; the items themselves are released.
    pub(crate) fn new(dataset: SpikeDataset, n_inputs: usize) -> Self {
        let (times, labels) = rows_of(dataset.items(), n_inputs);
        Self {
            times: times.into(),
            labels: labels.into(),
            n_inputs,
        }
    }
}

impl Dataset<usize> for SampleRows {
    fn get(&self, index: usize) -> Option<usize> {
        (index < self.labels.len()).then_some(index)
    }

    fn len(&self) -> usize {
        self.labels.len()
    }
}

impl<B: Backend> Batcher<B, usize, SpikeBatch<B>> for SampleRows {
    fn batch(&self, indices: Vec<usize>, device: &B::Device) -> SpikeBatch<B> {
        let m = self.n_inputs;
        let mut times = Vec::with_capacity(indices.len() * m);
        for &i in &indices {
            times.extend_from_slice(&self.times[i * m..(i + 1) * m]);
        }
        let labels = indices.iter().map(|&i| self.labels[i]).collect();
        SpikeBatch::from_rows(times, labels, m, device)
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

#[cfg(test)]
mod tests {
    use burn::backend::NdArray;

    use super::*;

    #[test]
    fn sample_rows_batch_like_the_item_batcher() {
        type B = NdArray<f64>;
        let device = Default::default();
        let items: Vec<ClassItem> = (0..7)
            .map(|k| {
                let t = k as f64;
                ClassItem::new(vec![t, 0.5 * t, f64::INFINITY], k % 3)
            })
            .collect();
        let dataset = SpikeDataset::new(items.clone(), 3, 3).unwrap();
        let rows = SampleRows::new(dataset, 3);
        assert_eq!(rows.len(), 7);
        assert_eq!(rows.get(6), Some(6));
        assert_eq!(rows.get(7), None);
        let order = vec![4, 0, 6, 6, 2];
        let picked: Vec<ClassItem> = order.iter().map(|&i| items[i].clone()).collect();
        let expected = SpikeBatcher::new(3).stack::<B>(&picked, &device);
        let got: SpikeBatch<B> = rows.batch(order, &device);
        assert_eq!(got.input_times.dims(), [5, 3]);
        assert_eq!(
            got.input_times.into_data().to_vec::<f64>().unwrap(),
            expected.input_times.into_data().to_vec::<f64>().unwrap()
        );
        assert_eq!(
            got.labels.into_data().to_vec::<i64>().unwrap(),
            expected.labels.into_data().to_vec::<i64>().unwrap()
        );
    }
}
