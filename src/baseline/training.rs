//! Training the discrete-time baseline on the standard Yin-Yang splits: Adam with separate
//! learning rates for weights and delays and DelGrad's step schedule (x0.95 every 20 epochs),
//! batch 150, test accuracy of the final network.

use std::time::Instant;

use burn::backend::{Autodiff, NdArray};
use burn::module::AutodiffModule;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Int, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use super::delays::DelayTaps;
use super::model::{SurrogateNetwork, SurrogateNetworkConfig};
use crate::data::{InputEncoding, YinYangDataset, YinYangSample};
use crate::error::{Error, Result};

/// The backend the baseline trains on. f32: the simulation is a few large matrix products per
/// batch, twice as fast as in f64, and spike-time errors of the grid (order dt) dwarf f32
/// round-off. Tests run the same code in f64.
pub type BaselineBackend = Autodiff<NdArray<f32>>;

/// Hyper-parameters of one baseline training run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaselineTrainConfig {
    /// Label of the run (tables, file names).
    pub name: String,
    /// The network.
    pub network: SurrogateNetworkConfig,
    /// Adam learning rate of the weights.
    pub lr: f64,
    /// Adam learning rate of the raw delays.
    pub lr_delays: f64,
    /// Learning-rate decay factor.
    pub lr_gamma: f64,
    /// Epochs between decays.
    pub lr_step_epochs: usize,
    /// Training epochs.
    pub epochs: usize,
    /// Samples per batch.
    pub batch_size: usize,
    /// Seed of initialisation and shuffling.
    pub seed: u64,
    /// Train on the first `n` training samples only (hyper-parameter search).
    pub train_subset: Option<usize>,
    /// With [`DelayTaps::Gaussian`]: its width (tau_s) annealed linearly from the first to the
    /// second value over the epochs (DCLS); ignored for linear taps.
    pub sigma_schedule: Option<(f64, f64)>,
}

impl BaselineTrainConfig {
    /// Defaults for `network`: learning rates 0.01 / 0.01, DelGrad's schedule and batch size.
    pub fn new(name: impl Into<String>, network: SurrogateNetworkConfig, epochs: usize) -> Self {
        Self {
            name: name.into(),
            network,
            lr: 0.01,
            lr_delays: 0.01,
            lr_gamma: 0.95,
            lr_step_epochs: 20,
            epochs,
            batch_size: 150,
            seed: 0,
            train_subset: None,
            sigma_schedule: None,
        }
    }

    /// Checks ranges that would otherwise fail inside training.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidConfig(m));
        if self.epochs == 0 || self.batch_size == 0 || self.lr_step_epochs == 0 {
            return bad("epochs, batch size and lr step must be at least 1".into());
        }
        if !(self.lr.is_finite()
            && self.lr > 0.0
            && self.lr_delays.is_finite()
            && self.lr_delays >= 0.0)
        {
            return bad(format!(
                "learning rates must be finite, lr > 0, lr_delays >= 0 (got {}, {})",
                self.lr, self.lr_delays
            ));
        }
        if !(self.lr_gamma > 0.0 && self.lr_gamma <= 1.0) {
            return bad(format!("lr_gamma must be in (0, 1], got {}", self.lr_gamma));
        }
        if let Some(n) = self.train_subset {
            if n == 0 || n > 5000 {
                return bad(format!("train subset must be in 1..=5000, got {n}"));
            }
        }
        if let Some((a, b)) = self.sigma_schedule {
            DelayTaps::Gaussian { sigma: a }.validate()?;
            DelayTaps::Gaussian { sigma: b }.validate()?;
        }
        self.network
            .init::<NdArray<f32>>(self.seed, &Default::default())
            .map(drop)
    }

    fn taps_at(&self, epoch: usize) -> DelayTaps {
        match (self.network.delay_taps, self.sigma_schedule) {
            (DelayTaps::Gaussian { .. }, Some((start, end))) => {
                let f = if self.epochs > 1 {
                    (epoch - 1) as f64 / (self.epochs - 1) as f64
                } else {
                    1.0
                };
                DelayTaps::Gaussian {
                    sigma: start + (end - start) * f,
                }
            }
            (taps, _) => taps,
        }
    }
}

/// One training epoch's numbers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaselineEpoch {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Training accuracy during the epoch (network changing).
    pub train_accuracy: f64,
    /// Wall time of the epoch's training (forward, backward, optimizer), seconds.
    pub seconds: f64,
}

/// The outcome of [`train_baseline`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaselineRunSummary {
    /// The run's label.
    pub name: String,
    /// Seed.
    pub seed: u64,
    /// Epochs trained.
    pub epochs: usize,
    /// Test accuracy of the final network (1000 samples).
    pub test_accuracy: f64,
    /// Validation accuracy of the final network.
    pub val_accuracy: f64,
    /// Trainable scalars.
    pub n_params: usize,
    /// Wall time of all training epochs, seconds.
    pub train_seconds: f64,
    /// `train_seconds / epochs`.
    pub seconds_per_epoch: f64,
    /// Per-epoch numbers.
    pub history: Vec<BaselineEpoch>,
    /// The configuration.
    pub config: BaselineTrainConfig,
}

/// Input times and labels of `samples` as tensors.
fn batch_tensors<B: Backend>(
    samples: &[&YinYangSample],
    encoding: &InputEncoding,
    device: &B::Device,
) -> (Tensor<B, 2>, Tensor<B, 1, Int>) {
    let mut times = Vec::with_capacity(samples.len() * encoding.num_inputs());
    for s in samples {
        encoding.encode_into(s.x, s.y, &mut times);
    }
    let x = Tensor::from_data(
        TensorData::new(times, [samples.len(), encoding.num_inputs()]),
        device,
    );
    let labels: Vec<i64> = samples.iter().map(|s| s.label as i64).collect();
    let y = Tensor::from_data(TensorData::new(labels, [samples.len()]), device);
    (x, y)
}

/// Accuracy of `model` on `samples`, in batches of `batch_size` (use the training batch size so
/// evaluation never needs more memory than a training step).
pub fn accuracy<B: Backend>(
    model: &SurrogateNetwork<B>,
    samples: &[YinYangSample],
    batch_size: usize,
    device: &B::Device,
) -> Result<f64> {
    let encoding = InputEncoding::default();
    let mut correct = 0;
    for chunk in samples.chunks(batch_size.max(1)) {
        let refs: Vec<&YinYangSample> = chunk.iter().collect();
        let (x, y) = batch_tensors::<B>(&refs, &encoding, device);
        let out = model.try_forward(x)?;
        correct += model.correct(out.output, y);
    }
    Ok(correct as f64 / samples.len().max(1) as f64)
}

/// Trains a baseline network on the Yin-Yang training split and evaluates the final network on
/// the validation and test splits. `on_epoch` sees every finished epoch.
pub fn train_baseline<B: AutodiffBackend>(
    config: &BaselineTrainConfig,
    device: &B::Device,
    mut on_epoch: impl FnMut(&BaselineEpoch),
) -> Result<(SurrogateNetwork<B>, BaselineRunSummary)> {
    config.validate()?;
    let mut model = config.network.init::<B>(config.seed, device)?;
    let n_params = model.num_trainable();
    let mut train = YinYangDataset::train().into_samples();
    if let Some(n) = config.train_subset {
        train.truncate(n);
    }
    let encoding = InputEncoding::default();
    let mut rng = StdRng::seed_from_u64(config.seed.wrapping_add(0x5eed));
    let mut optim = AdamConfig::new().init::<B, SurrogateNetwork<B>>();
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut history = Vec::with_capacity(config.epochs);
    let mut train_seconds = 0.0;
    for epoch in 1..=config.epochs {
        let start = Instant::now();
        model = model.with_delay_taps(config.taps_at(epoch))?;
        let decay = config
            .lr_gamma
            .powi(((epoch - 1) / config.lr_step_epochs) as i32);
        order.shuffle(&mut rng);
        let (mut loss_sum, mut correct) = (0.0, 0usize);
        for idx in order.chunks(config.batch_size) {
            let refs: Vec<&YinYangSample> = idx.iter().map(|&i| &train[i]).collect();
            let (x, y) = batch_tensors::<B>(&refs, &encoding, device);
            let out = model.try_forward(x)?;
            correct += model.correct(out.output.clone(), y.clone());
            let loss = model.loss(out.output, y);
            let loss_value: f64 = loss.clone().into_scalar().elem();
            loss_sum += loss_value * refs.len() as f64;
            let mut grads = GradientsParams::from_grads(loss.backward(), &model);
            // One Adam step per parameter group (weights, delays), each with its learning rate;
            // Adam's state is per parameter, so this is Adam with parameter groups.
            let mut groups = Vec::new();
            for layer in [&model.hidden, &model.output] {
                groups.push((config.lr, layer.weight.id));
                if let Some(d) = &layer.delay_raw {
                    groups.push((config.lr_delays, d.id));
                }
            }
            let mut steps = Vec::new();
            for (lr, id) in groups {
                let Some(g) = grads.remove::<B::InnerBackend, 2>(id) else {
                    continue;
                };
                let finite: bool = g.clone().is_finite().all().into_scalar().elem();
                if !finite {
                    return Err(Error::Training(format!(
                        "non-finite gradient in epoch {epoch} ({})",
                        config.name
                    )));
                }
                if lr > 0.0 {
                    let mut group = GradientsParams::new();
                    group.register(id, g);
                    steps.push((lr * decay, group));
                }
            }
            for (lr, group) in steps {
                model = optim.step(lr, model, group);
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        train_seconds += seconds;
        let row = BaselineEpoch {
            epoch,
            train_loss: loss_sum / train.len() as f64,
            train_accuracy: correct as f64 / train.len() as f64,
            seconds,
        };
        on_epoch(&row);
        history.push(row);
    }
    let eval = model.valid();
    let inner_device = eval.hidden.weight.device();
    let val = accuracy(
        &eval,
        YinYangDataset::validation().samples(),
        config.batch_size,
        &inner_device,
    )?;
    let test = accuracy(
        &eval,
        YinYangDataset::test().samples(),
        config.batch_size,
        &inner_device,
    )?;
    let summary = BaselineRunSummary {
        name: config.name.clone(),
        seed: config.seed,
        epochs: config.epochs,
        test_accuracy: test,
        val_accuracy: val,
        n_params,
        train_seconds,
        seconds_per_epoch: train_seconds / config.epochs as f64,
        history,
        config: config.clone(),
    };
    Ok((model, summary))
}
