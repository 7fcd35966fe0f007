//! What defines a training run of any spiking classifier: the layers, the neuron, the
//! optimiser, the schedule, weight bumping and where it runs.

use burn::module::Initializer;
use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::hardware::ChipProfile;
use crate::layer::SpikingLinearConfig;
use crate::loss::SpikeLoss;
use crate::model::SpikingNetwork;
use crate::neuron::LifParams;
use crate::types::{DelayKind, GradientOptions};

/// The backend a run trains on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComputeDevice {
    /// `Autodiff<NdArray<f64>>`: the CPU kernels, parallel over samples.
    #[default]
    Cpu,
    /// `Autodiff<Wgpu>` (f32): the CubeCL kernels of `delgrad::gpu`; needs the `wgpu` feature.
    Wgpu,
}

impl std::str::FromStr for ComputeDevice {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cpu" => Ok(Self::Cpu),
            "wgpu" => Ok(Self::Wgpu),
            _ => Err(Error::InvalidConfig(format!(
                "unknown device `{s}`: expected cpu or wgpu"
            ))),
        }
    }
}

/// When weight bumping triggers. "The fraction of silent neurons of a layer over the batch"
/// admits both readings; the reference implementation takes the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BumpRule {
    /// The reference's rule: the fraction of silent (sample, neuron) pairs of the whole layer
    /// exceeds the threshold; then every neuron that missed a spike for any sample is bumped.
    #[default]
    LayerFraction,
    /// Stricter variant: a neuron silent for more than the threshold's fraction of the batch
    /// triggers the bump, and only such neurons are bumped (keeps every neuron active). With
    /// very few hidden neurons the layer rule lets one or two of them fall (nearly) silent.
    NeuronFraction,
}

impl BumpRule {
    /// Which neurons of a layer to bump, given each neuron's fraction of silent samples in the
    /// batch and the layer's threshold; `None` when the layer needs no bump.
    pub fn neurons_to_bump(self, silent_per_neuron: &[f64], threshold: f64) -> Option<Vec<bool>> {
        match self {
            BumpRule::LayerFraction => {
                let fraction =
                    silent_per_neuron.iter().sum::<f64>() / silent_per_neuron.len().max(1) as f64;
                (fraction > threshold).then(|| silent_per_neuron.iter().map(|f| *f > 0.0).collect())
            }
            BumpRule::NeuronFraction => {
                let missing: Vec<bool> = silent_per_neuron.iter().map(|f| *f > threshold).collect();
                missing.iter().any(|m| *m).then_some(missing)
            }
        }
    }
}

/// Which epoch's network a run ends with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelSelection {
    /// The network after the last epoch (the paper's procedure).
    #[default]
    FinalEpoch,
    /// The network after the epoch of highest validation accuracy (the earliest such epoch);
    /// training still runs every epoch. Early stopping without the stopping: the test split
    /// is never looked at.
    BestValidation,
}

impl ModelSelection {
    /// Whether this is the default (kept out of configuration files that predate it).
    pub fn is_final_epoch(&self) -> bool {
        *self == Self::FinalEpoch
    }
}

/// One layer of the network to train: its size and what is trained in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerSpec {
    /// Number of neurons (the output layer: one per class).
    pub size: usize,
    /// Where this layer's trainable delays sit.
    #[serde(default)]
    pub delays: DelayKind,
    /// Weight initialisation: normal distribution (mean, std).
    pub weight_init: (f64, f64),
    /// Learning rate of this layer's weights; `None` = the run's `lr`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr: Option<f64>,
    /// Learning rate of this layer's delays; `None` = the run's `lr_delays`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr_delays: Option<f64>,
    /// Neighbouring presynaptic neurons sharing one delay (axonal and synaptic delays).
    #[serde(default = "one")]
    pub delay_sharing: usize,
}

fn one() -> usize {
    1
}

impl LayerSpec {
    /// A layer of `size` neurons with delays of `kind` and weights drawn from N(mean, std).
    pub fn new(size: usize, delays: DelayKind, weight_init: (f64, f64)) -> Self {
        Self {
            size,
            delays,
            weight_init,
            lr: None,
            lr_delays: None,
            delay_sharing: 1,
        }
    }
}

/// Everything that defines a training run of a spiking classifier: the network
/// `n_inputs -> layers[0].size -> ... -> layers.last().size` (= number of classes), the
/// optimiser (Adam with one learning rate for weights and one for delays per layer), the step
/// schedule, weight bumping, the loss and the backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainerConfig {
    /// Input spike times per sample (the encoder's output width).
    pub n_inputs: usize,
    /// The layers, input side first; the last has one neuron per class.
    pub layers: Vec<LayerSpec>,
    /// Neuron model of every layer.
    pub neuron: LifParams,
    /// Raw delay initialisation (mean, std).
    pub delay_init: (f64, f64),
    /// Effective delay d = shift + scale * sigmoid(raw): shift.
    pub delay_shift: f64,
    /// Effective delay d = shift + scale * sigmoid(raw): scale.
    pub delay_scale: f64,
    /// Shared delays tiled over the inputs instead of grouped over neighbouring copies.
    #[serde(default)]
    pub delay_sharing_tiled: bool,
    /// Learning rate of the weights (Adam), the scheduled base rate.
    pub lr: f64,
    /// Learning rate of the delays (Adam).
    pub lr_delays: f64,
    /// The learning rates are multiplied by this every `lr_step_epochs` epochs.
    pub lr_gamma: f64,
    /// See `lr_gamma`.
    pub lr_step_epochs: usize,
    /// Training epochs.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Loss on the output spike times.
    pub loss: SpikeLoss,
    /// Seed of initialisation, shuffling and chip noise.
    pub seed: u64,
    /// Weight bumping: largest tolerated silent fraction of a hidden layer (see `bump_rule`).
    pub bump_threshold_hidden: f64,
    /// Same for the output layer.
    pub bump_threshold_output: f64,
    /// First bump added to the incoming weights of neurons that missed their spike; doubles for
    /// every consecutive bump of the same layer.
    pub bump_initial: f64,
    /// Which silent fraction triggers a bump.
    #[serde(default)]
    pub bump_rule: BumpRule,
    /// Safeguards of the backward pass.
    pub gradients: GradientOptions,
    /// Train chip-aware under this profile (on `HardwareAware<B>`); `None` = ideal neurons.
    #[serde(default)]
    pub chip: Option<ChipProfile>,
    /// Where training runs.
    #[serde(default)]
    pub device: ComputeDevice,
    /// Which epoch's network the run ends with.
    #[serde(default, skip_serializing_if = "ModelSelection::is_final_epoch")]
    pub selection: ModelSelection,
    /// L2 penalty of Adam (coupled weight decay: `weight_decay * parameter` is added to every
    /// parameter's gradient, weights and delays alike); 0 = none, as in the paper.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub weight_decay: f64,
}

pub(crate) fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

/// Samples per validation call: the whole Yin-Yang validation split in one batch.
pub(crate) const VALIDATION_BATCH: usize = 1000;

impl TrainerConfig {
    /// A configuration with the defaults of the paper's ideal-neuron presets: ratio-2 neurons,
    /// Adam at 0.01 (weights) / 0.003 (delays), x0.95 every 20 epochs, 300 epochs, batch 150,
    /// shift-invariant MSE, weight bumping at 30 % (hidden) / 0 % (output), and the reference's
    /// training safeguard of clipping weight gradients at 0.2 (`GradientOptions::reference()`;
    /// set `gradients` to `GradientOptions::exact()` for the unclipped gradients). `sizes` is `[n_inputs, h1, ..., n_classes]`; every layer gets
    /// `delays` and weights N(1, 1).
    pub fn new(sizes: &[usize], delays: DelayKind) -> Self {
        let layers = sizes
            .iter()
            .skip(1)
            .map(|&n| LayerSpec::new(n, delays, (1.0, 1.0)))
            .collect();
        Self {
            n_inputs: sizes.first().copied().unwrap_or(0),
            layers,
            neuron: LifParams::ideal(),
            delay_init: (0.0, 0.25),
            delay_shift: 0.0,
            delay_scale: 1.0,
            delay_sharing_tiled: false,
            lr: 0.01,
            lr_delays: 0.003,
            lr_gamma: 0.95,
            lr_step_epochs: 20,
            epochs: 300,
            batch_size: 150,
            loss: SpikeLoss::mse(),
            seed: 0,
            bump_threshold_hidden: 0.3,
            bump_threshold_output: 0.0,
            bump_initial: 0.0005,
            bump_rule: BumpRule::LayerFraction,
            gradients: GradientOptions::reference(),
            chip: None,
            device: ComputeDevice::Cpu,
            selection: ModelSelection::FinalEpoch,
            weight_decay: 0.0,
        }
    }

    /// Number of classes (neurons of the last layer).
    pub fn n_classes(&self) -> usize {
        self.layers.last().map_or(0, |l| l.size)
    }

    /// Layer sizes `[n_inputs, h1, ..., n_classes]`.
    pub fn sizes(&self) -> Vec<usize> {
        std::iter::once(self.n_inputs)
            .chain(self.layers.iter().map(|l| l.size))
            .collect()
    }

    /// Checks ranges that would otherwise fail deep inside training.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidConfig(m));
        if self.n_inputs == 0 || self.layers.is_empty() {
            return bad(format!(
                "a network needs inputs and at least one layer, got sizes {:?}",
                self.sizes()
            ));
        }
        if self.layers.iter().any(|l| l.size == 0) {
            return bad(format!(
                "layer sizes must be positive, got {:?}",
                self.sizes()
            ));
        }
        if self.epochs == 0 {
            return bad("the number of epochs must be at least 1".into());
        }
        if self.batch_size == 0 {
            return bad("the batch size must be at least 1".into());
        }
        if self.device == ComputeDevice::Wgpu && !cfg!(feature = "wgpu") {
            return bad(
                "the wgpu device needs a build with the GPU backend (cargo feature `wgpu`)".into(),
            );
        }
        let rates = self
            .layers
            .iter()
            .flat_map(|l| [l.lr, l.lr_delays])
            .flatten()
            .chain([self.lr, self.lr_delays]);
        for v in rates {
            if !(v.is_finite() && v >= 0.0) {
                return bad(format!("learning rates must be finite and >= 0, got {v}"));
            }
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad(format!(
                "the weight decay must be finite and >= 0, got {}",
                self.weight_decay
            ));
        }
        let loss_ok = match self.loss {
            SpikeLoss::ShiftInvariantMse { dt } => dt.is_finite(),
            SpikeLoss::TtfsCrossEntropy { xi, alpha, beta } => {
                xi > 0.0 && xi.is_finite() && alpha.is_finite() && beta > 0.0 && beta.is_finite()
            }
        };
        if !loss_ok {
            return bad(format!(
                "the loss's constants are out of range: {:?}",
                self.loss
            ));
        }
        if !(self.bump_initial.is_finite() && self.bump_initial >= 0.0) {
            return bad(format!(
                "the first weight bump must be finite and >= 0, got {}",
                self.bump_initial
            ));
        }
        if self.lr == 0.0 {
            return bad("the weights' learning rate must be positive".into());
        }
        if !(self.lr_gamma > 0.0 && self.lr_gamma <= 1.0) || self.lr_step_epochs == 0 {
            return bad(format!(
                "the learning-rate schedule needs 0 < gamma <= 1 and a step >= 1 epoch, got \
                 gamma {} every {} epochs",
                self.lr_gamma, self.lr_step_epochs
            ));
        }
        self.layer_configs().iter().try_for_each(|c| {
            c.try_init::<burn::backend::NdArray>(&Default::default())
                .map(drop)
        })
    }

    /// Seed of layer `l`'s initialisation. Layers 0 and 1 keep the two-layer formula of the
    /// first releases (so their published runs reproduce); deeper layers are offset far away so
    /// that no two (seed, layer) pairs of nearby seeds share a stream.
    pub(crate) fn layer_seed(&self, l: usize) -> u64 {
        let base = self.seed.wrapping_mul(2).wrapping_add(l as u64);
        if l < 2 {
            base
        } else {
            base.wrapping_add((l as u64) << 40)
        }
    }

    /// The configurations of the layers, input side first.
    pub fn layer_configs(&self) -> Vec<SpikingLinearConfig> {
        let mut d_in = self.n_inputs;
        self.layers
            .iter()
            .enumerate()
            .map(|(l, spec)| {
                let sharing = if spec.delays == DelayKind::None {
                    1
                } else {
                    spec.delay_sharing
                };
                let chip_seed = self.layer_seed(l).wrapping_add(1_000_003);
                let config = SpikingLinearConfig::new(d_in, spec.size)
                    .with_chip(self.chip.clone())
                    .with_chip_seed(chip_seed)
                    .with_neuron(self.neuron)
                    .with_initializer(Initializer::Normal {
                        mean: spec.weight_init.0,
                        std: spec.weight_init.1,
                    })
                    .with_delays(spec.delays)
                    .with_delay_init_mean(self.delay_init.0)
                    .with_delay_init_std(self.delay_init.1)
                    .with_delay_shift(self.delay_shift)
                    .with_delay_scale(self.delay_scale)
                    .with_delay_sharing(sharing)
                    .with_delay_sharing_tiled(self.delay_sharing_tiled)
                    .with_gradients(self.gradients);
                d_in = spec.size;
                config
            })
            .collect()
    }

    /// A freshly initialised network, reproducible from `seed`.
    pub fn init_network<B: Backend>(&self, device: &B::Device) -> Result<SpikingNetwork<B>> {
        let layers = self
            .layer_configs()
            .iter()
            .enumerate()
            .map(|(l, c)| c.init_seeded(self.layer_seed(l), device))
            .collect::<Result<Vec<_>>>()?;
        Ok(SpikingNetwork { layers })
    }

    /// Learning-rate multipliers (weights, delays) of each layer, relative to `lr` (the
    /// scheduler drives `lr`; parameter groups scale it).
    pub(crate) fn lr_multipliers(&self) -> Vec<(f64, f64)> {
        self.layers
            .iter()
            .map(|l| {
                let w = l.lr.map_or(1.0, |v| v / self.lr);
                let d = l.lr_delays.unwrap_or(self.lr_delays) / self.lr;
                (w, d)
            })
            .collect()
    }

    /// Bumping threshold of each layer: hidden layers, then the output layer.
    pub(crate) fn bump_thresholds(&self) -> Vec<f64> {
        let n = self.layers.len();
        (0..n)
            .map(|l| {
                if l + 1 == n {
                    self.bump_threshold_output
                } else {
                    self.bump_threshold_hidden
                }
            })
            .collect()
    }
}
