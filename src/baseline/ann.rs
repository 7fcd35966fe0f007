//! A conventional network of the same size as a spiking one: a ReLU multilayer perceptron
//! (`n_in - h1 - ... - n_classes`, logits out) trained with Adam and cross-entropy. It sees the
//! same raw features as the spiking network's latency encoder, scaled from `feature_range` to
//! [0, 1], so the two are compared on equal inputs and equal layer sizes.
//!
//! Model selection uses the validation split only: the network of the epoch with the best
//! validation accuracy (the earliest on ties) is kept, and its test accuracy is reported.

use std::time::Instant;

use burn::backend::{Autodiff, NdArray};
use burn::module::{AutodiffModule, Module, Param};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::Linear;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::activation::relu;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Int, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::data::ClassItem;
use crate::error::{Error, Result};

/// The backend [`train_ann`] trains on. f64, as the spiking network: at these sizes (a few
/// thousand parameters, batches of tens) the step is dominated by per-op overhead, not by
/// arithmetic, so f32 gains little.
pub type AnnBackend = Autodiff<NdArray<f64>>;

/// Rows per forward pass when evaluating; bounds memory on large splits.
const EVAL_CHUNK: usize = 1024;

/// Hyper-parameters of one MLP training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnConfig {
    /// Layer widths `[n_in, h1, ..., n_classes]`: at least an input and an output layer.
    pub sizes: Vec<usize>,
    /// Adam learning rate.
    pub lr: f64,
    /// Training epochs.
    pub epochs: usize,
    /// Samples per batch.
    pub batch_size: usize,
    /// Seed of initialisation and shuffling.
    pub seed: u64,
    /// L2 penalty added to the gradient by Burn's Adam (coupled, not AdamW's decoupled decay).
    #[serde(default)]
    pub weight_decay: Option<f64>,
    /// Range `(low, high)` of the raw features, mapped to [0, 1]; values outside are clamped,
    /// as a latency encoder clamps them to its time window.
    pub feature_range: (f64, f64),
}

impl AnnConfig {
    /// `sizes` and `feature_range` with defaults for the rest: Adam lr 1e-3, 100 epochs, batch
    /// 32, seed 0, no weight decay.
    pub fn new(sizes: Vec<usize>, feature_range: (f64, f64)) -> Self {
        Self {
            sizes,
            lr: 1e-3,
            epochs: 100,
            batch_size: 32,
            seed: 0,
            weight_decay: None,
            feature_range,
        }
    }

    /// Number of input features.
    pub fn n_inputs(&self) -> usize {
        self.sizes.first().copied().unwrap_or(0)
    }

    /// Number of classes (width of the output layer).
    pub fn n_classes(&self) -> usize {
        self.sizes.last().copied().unwrap_or(0)
    }

    /// Checks ranges that would otherwise fail (or silently misbehave) inside training.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidConfig(m));
        if self.sizes.len() < 2 || self.sizes.contains(&0) {
            return bad(format!(
                "sizes must list at least an input and an output width, all >= 1 (got {:?})",
                self.sizes
            ));
        }
        if self.n_classes() < 2 {
            return bad(format!(
                "classification needs at least 2 classes (got {})",
                self.n_classes()
            ));
        }
        if self.epochs == 0 || self.batch_size == 0 {
            return bad(format!(
                "epochs and batch size must be at least 1 (got {}, {})",
                self.epochs, self.batch_size
            ));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!("lr must be finite and > 0, got {}", self.lr));
        }
        if let Some(wd) = self.weight_decay {
            if !(wd.is_finite() && wd >= 0.0) {
                return bad(format!("weight decay must be finite and >= 0, got {wd}"));
            }
        }
        let (lo, hi) = self.feature_range;
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return bad(format!(
                "feature range must be finite with low < high, got ({lo}, {hi})"
            ));
        }
        Ok(())
    }

    /// A network initialised reproducibly from `seed`, as Burn's default `Linear`
    /// initialisation (weights and biases uniform in +-1/sqrt(fan_in)) but drawn from a
    /// `StdRng` of its own: the backend's generator is one process-wide state that anything
    /// else running at the same time may advance.
    pub fn init<B: Backend>(&self, seed: u64, device: &B::Device) -> Result<Mlp<B>> {
        self.validate()?;
        let mut rng = StdRng::seed_from_u64(seed);
        let layers = self
            .sizes
            .windows(2)
            .map(|w| {
                let (n_in, n_out) = (w[0], w[1]);
                let bound = 1.0 / (n_in as f64).sqrt();
                let mut draw = |n: usize| -> Vec<f64> {
                    (0..n).map(|_| rng.random_range(-bound..bound)).collect()
                };
                let weight = draw(n_in * n_out);
                let bias = draw(n_out);
                Linear {
                    weight: Param::from_tensor(Tensor::from_data(
                        TensorData::new(weight, [n_in, n_out]),
                        device,
                    )),
                    bias: Some(Param::from_tensor(Tensor::from_data(
                        TensorData::new(bias, [n_out]),
                        device,
                    ))),
                }
            })
            .collect();
        Ok(Mlp { layers })
    }
}

/// A ReLU multilayer perceptron: linear layers with ReLU between them, logits out.
#[derive(Module, Debug)]
pub struct Mlp<B: Backend> {
    /// The linear layers, input first; weights are `[fan_in, fan_out]`.
    pub layers: Vec<Linear<B>>,
}

impl<B: Backend> Mlp<B> {
    /// Logits `[batch, n_classes]` of inputs `[batch, n_in]` (already scaled to [0, 1]).
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let last = self.layers.len().saturating_sub(1);
        self.layers.iter().enumerate().fold(x, |h, (i, layer)| {
            let z = layer.forward(h);
            if i < last {
                relu(z)
            } else {
                z
            }
        })
    }
}

/// The outcome of [`train_ann`]; all accuracies are those of the network of `best_epoch`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AnnResult {
    /// 1-based epoch with the best validation accuracy (the earliest on ties).
    pub best_epoch: usize,
    /// Accuracy on the whole training split, evaluated after training.
    pub train_accuracy: f64,
    /// Validation accuracy (the selection criterion).
    pub val_accuracy: f64,
    /// Test accuracy.
    pub test_accuracy: f64,
    /// Wall time of the training steps per epoch (shuffling, forward, backward, Adam; not the
    /// per-epoch validation), seconds.
    pub seconds_per_epoch: f64,
    /// Trainable scalars.
    pub n_params: usize,
    /// Per epoch: `(epoch, mean training loss during the epoch, validation accuracy after it)`.
    pub history: Vec<(usize, f64, f64)>,
}

/// Scaled features of a split as one row-major matrix, with its labels.
struct Prepared {
    features: Vec<f64>,
    labels: Vec<usize>,
    n_in: usize,
}

impl Prepared {
    fn new(items: &[ClassItem], config: &AnnConfig, split: &str) -> Result<Self> {
        if items.is_empty() {
            return Err(Error::Shape(format!("the {split} split is empty")));
        }
        let (n_in, n_classes) = (config.n_inputs(), config.n_classes());
        let (lo, hi) = config.feature_range;
        let mut features = Vec::with_capacity(items.len() * n_in);
        let mut labels = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            if item.features.len() != n_in {
                return Err(Error::Shape(format!(
                    "{split} item {i} has {} features; the network takes {n_in}",
                    item.features.len()
                )));
            }
            if item.label >= n_classes {
                return Err(Error::Shape(format!(
                    "{split} item {i} has label {}; the network has {n_classes} classes",
                    item.label
                )));
            }
            for (j, &v) in item.features.iter().enumerate() {
                if !v.is_finite() {
                    return Err(Error::Malformed(format!(
                        "{split} item {i} feature {j} is {v}; features must be finite"
                    )));
                }
                features.push(((v - lo) / (hi - lo)).clamp(0.0, 1.0));
            }
            labels.push(item.label);
        }
        Ok(Self {
            features,
            labels,
            n_in,
        })
    }

    fn len(&self) -> usize {
        self.labels.len()
    }

    /// Inputs and labels of the rows `rows` as tensors.
    fn batch<B: Backend>(
        &self,
        rows: impl ExactSizeIterator<Item = usize>,
        device: &B::Device,
    ) -> (Tensor<B, 2>, Tensor<B, 1, Int>) {
        let n = rows.len();
        let mut x = Vec::with_capacity(n * self.n_in);
        let mut y = Vec::with_capacity(n);
        for r in rows {
            x.extend_from_slice(&self.features[r * self.n_in..(r + 1) * self.n_in]);
            y.push(self.labels[r] as i64);
        }
        (
            Tensor::from_data(TensorData::new(x, [n, self.n_in]), device),
            Tensor::from_data(TensorData::new(y, [n]), device),
        )
    }

    /// Fraction of rows whose largest logit is the label's (the first maximum on ties).
    fn accuracy<B: Backend>(&self, model: &Mlp<B>, device: &B::Device) -> f64 {
        let mut correct = 0usize;
        let mut start = 0;
        while start < self.len() {
            let end = (start + EVAL_CHUNK).min(self.len());
            let (x, _) = self.batch::<B>(start..end, device);
            let logits = model.forward(x);
            let n_classes = logits.dims()[1];
            let values: Vec<f64> = logits
                .into_data()
                .convert::<f64>()
                .to_vec()
                .expect("converted to f64 above");
            for (row, &label) in values.chunks(n_classes).zip(&self.labels[start..end]) {
                let mut best = 0;
                for (k, &v) in row.iter().enumerate() {
                    if v > row[best] {
                        best = k;
                    }
                }
                correct += usize::from(best == label);
            }
            start = end;
        }
        correct as f64 / self.len() as f64
    }
}

/// Trains an MLP on `train` on [`AnnBackend`], selecting the epoch by `validation` accuracy,
/// and reports that network's accuracies. [`Error::InvalidConfig`] for a bad configuration,
/// [`Error::Shape`] for an empty split, a feature vector of the wrong length or a label
/// `>= n_classes`, [`Error::Malformed`] for a non-finite feature, [`Error::Training`] if the
/// loss becomes non-finite.
pub fn train_ann(
    config: &AnnConfig,
    train: &[ClassItem],
    validation: &[ClassItem],
    test: &[ClassItem],
) -> Result<AnnResult> {
    train_ann_on::<AnnBackend>(config, train, validation, test, &Default::default())
        .map(|(_, result)| result)
}

/// [`train_ann`] on any autodiff backend; also returns the selected network.
pub fn train_ann_on<B: AutodiffBackend>(
    config: &AnnConfig,
    train: &[ClassItem],
    validation: &[ClassItem],
    test: &[ClassItem],
    device: &B::Device,
) -> Result<(Mlp<B::InnerBackend>, AnnResult)> {
    config.validate()?;
    let train_data = Prepared::new(train, config, "training")?;
    let val_data = Prepared::new(validation, config, "validation")?;
    let test_data = Prepared::new(test, config, "test")?;

    // Nothing below draws from the backend's generator; seeding it anyway keeps any op that
    // might (now or in a later Burn) reproducible too.
    B::seed(device, config.seed);
    let mut model = config.init::<B>(config.seed, device)?;
    let n_params = model.num_params();
    let mut optim = AdamConfig::new()
        .with_weight_decay(
            config
                .weight_decay
                .map(|wd| WeightDecayConfig::new(wd as f32)),
        )
        .init::<B, Mlp<B>>();
    let loss_fn = CrossEntropyLossConfig::new().init::<B>(device);
    let mut rng = StdRng::seed_from_u64(config.seed.wrapping_add(0x5eed));
    let mut order: Vec<usize> = (0..train_data.len()).collect();
    let mut history = Vec::with_capacity(config.epochs);
    let mut best: Option<(usize, f64, Mlp<B::InnerBackend>)> = None;
    let mut train_seconds = 0.0;
    for epoch in 1..=config.epochs {
        let start = Instant::now();
        order.shuffle(&mut rng);
        let mut loss_sum = 0.0;
        for rows in order.chunks(config.batch_size) {
            let (x, y) = train_data.batch::<B>(rows.iter().copied(), device);
            let loss = loss_fn.forward(model.forward(x), y);
            let loss_value: f64 = loss.clone().into_scalar().elem();
            if !loss_value.is_finite() {
                return Err(Error::Training(format!(
                    "non-finite loss {loss_value} in epoch {epoch}"
                )));
            }
            loss_sum += loss_value * rows.len() as f64;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(config.lr, model, grads);
        }
        train_seconds += start.elapsed().as_secs_f64();
        let eval = model.valid();
        let val_acc = val_data.accuracy(&eval, &eval_device(&eval));
        history.push((epoch, loss_sum / train_data.len() as f64, val_acc));
        if best.as_ref().is_none_or(|(_, acc, _)| val_acc > *acc) {
            best = Some((epoch, val_acc, eval));
        }
    }
    let (best_epoch, val_accuracy, best_model) = best.expect("epochs >= 1 was validated");
    let inner_device = eval_device(&best_model);
    let result = AnnResult {
        best_epoch,
        train_accuracy: train_data.accuracy(&best_model, &inner_device),
        val_accuracy,
        test_accuracy: test_data.accuracy(&best_model, &inner_device),
        seconds_per_epoch: train_seconds / config.epochs as f64,
        n_params,
        history,
    };
    Ok((best_model, result))
}

fn eval_device<B: Backend>(model: &Mlp<B>) -> B::Device {
    model
        .layers
        .first()
        .map(|l| l.weight.device())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestBackend = Autodiff<NdArray<f64>>;

    /// Two well-separated clusters per class along the first feature; the second is noise.
    fn separable(n: usize, seed: u64) -> Vec<ClassItem> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..n)
            .map(|i| {
                let label = i % 3;
                let centre = 2.0 + 3.0 * label as f64;
                ClassItem::new(
                    vec![
                        centre + rng.random_range(-0.5..0.5),
                        rng.random_range(0.0..10.0),
                    ],
                    label,
                )
            })
            .collect()
    }

    fn small_config() -> AnnConfig {
        AnnConfig {
            lr: 0.02,
            epochs: 40,
            batch_size: 16,
            seed: 3,
            ..AnnConfig::new(vec![2, 8, 3], (0.0, 10.0))
        }
    }

    #[test]
    fn separable_problem_is_learned_perfectly() {
        let (train, val, test) = (separable(120, 1), separable(60, 2), separable(60, 3));
        let r = train_ann(&small_config(), &train, &val, &test).unwrap();
        assert_eq!(r.test_accuracy, 1.0, "{r:?}");
        assert_eq!(r.val_accuracy, 1.0);
        assert_eq!(r.train_accuracy, 1.0);
        assert_eq!(r.n_params, 2 * 8 + 8 + 8 * 3 + 3);
        assert_eq!(r.history.len(), 40);
        // The selected epoch is the first to reach the best validation accuracy.
        let first_best = r.history.iter().find(|h| h.2 == 1.0).unwrap().0;
        assert_eq!(r.best_epoch, first_best);
        assert!(r.history.last().unwrap().1 < r.history[0].1);
    }

    #[test]
    fn same_seed_same_result_other_seed_differs() {
        let (train, val, test) = (separable(90, 4), separable(30, 5), separable(30, 6));
        let config = AnnConfig {
            epochs: 5,
            ..small_config()
        };
        let a = train_ann(&config, &train, &val, &test).unwrap();
        let b = train_ann(&config, &train, &val, &test).unwrap();
        assert_eq!(a.history, b.history);
        assert_eq!(a.best_epoch, b.best_epoch);
        let c = train_ann(&AnnConfig { seed: 4, ..config }, &train, &val, &test).unwrap();
        assert_ne!(a.history, c.history);
    }

    #[test]
    fn init_is_reproducible_and_sized() {
        let config = AnnConfig::new(vec![4, 30, 3], (0.0, 1.0));
        let device = Default::default();
        let a = config.init::<NdArray<f64>>(7, &device).unwrap();
        let b = config.init::<NdArray<f64>>(7, &device).unwrap();
        assert_eq!(a.num_params(), 4 * 30 + 30 + 30 * 3 + 3);
        for (la, lb) in a.layers.iter().zip(&b.layers) {
            assert_eq!(la.weight.val().into_data(), lb.weight.val().into_data());
        }
        let bound = 1.0 / 4f64.sqrt();
        let w: Vec<f64> = a.layers[0].weight.val().into_data().to_vec().unwrap();
        assert!(w.iter().all(|v| v.abs() <= bound));
        let logits = a.forward(Tensor::zeros([5, 4], &device));
        assert_eq!(logits.dims(), [5, 3]);
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        let good = separable(12, 7);
        let cfg = small_config();
        let run = |c: &AnnConfig, t: &[ClassItem], v: &[ClassItem]| {
            train_ann_on::<TestBackend>(c, t, v, &good, &Default::default()).map(|_| ())
        };
        assert!(matches!(run(&cfg, &[], &good), Err(Error::Shape(_))));
        assert!(matches!(run(&cfg, &good, &[]), Err(Error::Shape(_))));
        let mut wrong_len = good.clone();
        wrong_len[3].features.push(1.0);
        assert!(matches!(run(&cfg, &wrong_len, &good), Err(Error::Shape(_))));
        let mut wrong_label = good.clone();
        wrong_label[5].label = 3;
        assert!(matches!(
            run(&cfg, &good, &wrong_label),
            Err(Error::Shape(_))
        ));
        let mut nan = good.clone();
        nan[0].features[1] = f64::NAN;
        assert!(matches!(run(&cfg, &nan, &good), Err(Error::Malformed(_))));
        for sizes in [vec![2], vec![2, 0, 3], vec![2, 8, 1], vec![]] {
            let c = AnnConfig {
                sizes,
                ..cfg.clone()
            };
            assert!(matches!(
                run(&c, &good, &good),
                Err(Error::InvalidConfig(_))
            ));
        }
        let bad_configs = [
            AnnConfig {
                lr: 0.0,
                ..cfg.clone()
            },
            AnnConfig {
                lr: f64::NAN,
                ..cfg.clone()
            },
            AnnConfig {
                epochs: 0,
                ..cfg.clone()
            },
            AnnConfig {
                batch_size: 0,
                ..cfg.clone()
            },
            AnnConfig {
                weight_decay: Some(-1.0),
                ..cfg.clone()
            },
            AnnConfig {
                feature_range: (1.0, 1.0),
                ..cfg.clone()
            },
            AnnConfig {
                feature_range: (0.0, f64::INFINITY),
                ..cfg.clone()
            },
        ];
        for c in &bad_configs {
            assert!(
                matches!(run(c, &good, &good), Err(Error::InvalidConfig(_))),
                "{c:?}"
            );
        }
    }

    #[test]
    fn features_are_scaled_and_clamped() {
        let cfg = AnnConfig::new(vec![2, 3], (-2.0, 2.0));
        let items = [
            ClassItem::new(vec![0.0, 5.0], 1),
            ClassItem::new(vec![-2.0, -9.0], 0),
        ];
        let p = Prepared::new(&items, &cfg, "test").unwrap();
        assert_eq!(p.features, vec![0.5, 1.0, 0.0, 0.0]);
    }
}
