//! [`SpikingLinear`]: a fully connected layer of LIF neurons with time-to-first-spike coding,
//! trainable weights and (optionally) trainable axonal, synaptic or dendritic delays.
//!
//! Spike times in, spike times out (`+inf` = no spike). It is an ordinary Burn module: it
//! composes with `burn::nn` modules, records and loads with Burn's recorders and moves between
//! devices; on an autodiff backend its gradients are DelGrad's exact ones.

use std::marker::PhantomData;
use std::sync::Arc;

use burn::config::Config;
use burn::module::{
    AutodiffModule, Content, Devices, DisplaySettings, Initializer, Module, ModuleDisplay,
    ModuleDisplayDefault, ModuleMapper, ModuleVisitor, Param,
};
use burn::record::{PrecisionSettings, Record};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData, TensorPrimitive};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal, Uniform};
use serde::{Deserialize, Serialize};

use crate::backend::{LayerDelays, SpikeBackend, SpikeOp};
use crate::error::{Error, Result};
use crate::functional;
use crate::hardware::{ChipBinding, ChipProfile};
use crate::neuron::LifParams;
use crate::types::{DelayKind, GradientOptions};

/// Configuration of a [`SpikingLinear`] layer; create it with [`SpikingLinearConfig::init`],
/// [`try_init`](SpikingLinearConfig::try_init) or
/// [`init_seeded`](SpikingLinearConfig::init_seeded).
#[derive(Config, Debug)]
pub struct SpikingLinearConfig {
    /// Presynaptic neurons (input spike times per sample); no default.
    pub d_input: usize,
    /// Postsynaptic neurons (output spike times per sample); no default.
    pub d_output: usize,
    /// The neuron model. Default: `LifParams::ideal()` (tau_mem = 2 tau_syn, threshold 1).
    #[config(default = "LifParams::ideal()")]
    pub neuron: LifParams,
    /// How the weights `[d_input, d_output]` are drawn. Default:
    /// `Initializer::Normal { mean: 1.0, std: 1.0 }` (spiking layers need mostly excitatory
    /// weights to fire at all). See [`SpikingLinearConfig::init_seeded`] for which
    /// initialisers draw from its seed.
    #[config(default = "Initializer::Normal { mean: 1.0, std: 1.0 }")]
    pub initializer: Initializer,
    /// Where the delays sit (none, axonal, synaptic, dendritic). Default: `DelayKind::None`.
    #[config(default = "DelayKind::None")]
    pub delays: DelayKind,
    /// Mean of the normal initialisation of the raw delay parameters. Default: 0.0 (effective
    /// delays start around the middle of their range).
    #[config(default = 0.0)]
    pub delay_init_mean: f64,
    /// Standard deviation of the raw delay initialisation. Default: 0.25.
    #[config(default = 0.25)]
    pub delay_init_std: f64,
    /// Effective delay d = shift + scale * sigmoid(raw): keeps delays in (shift, shift + scale).
    /// Default: 0.0. Saved with the layer's record.
    #[config(default = 0.0)]
    pub delay_shift: f64,
    /// See `delay_shift`; must be positive. Default: 1.0. Saved with the layer's record.
    #[config(default = 1.0)]
    pub delay_scale: f64,
    /// Number of neighbouring presynaptic neurons that share one delay (axonal and synaptic
    /// delays; a hardware constraint). Must divide `d_input`. Default: 1 (no sharing).
    #[config(default = 1)]
    pub delay_sharing: usize,
    /// Which inputs share a delay: `false` groups `delay_sharing` neighbouring inputs, as the
    /// chip does; `true` tiles the distinct delays, input `i` taking delay
    /// `i mod (d_input / delay_sharing)`. The reference's hardware-aware simulation does the
    /// latter with interleaved input copies, so that each copy of an input sees a different
    /// delay; offered to reproduce that experiment, not as a chip layout. Default: `false`.
    #[config(default = false)]
    pub delay_sharing_tiled: bool,
    /// Options of the backward pass. Default: exact gradients, no clipping
    /// (`GradientOptions::default()`); the Yin-Yang presets train with
    /// [`GradientOptions::reference`].
    #[config(default = "GradientOptions::default()")]
    pub gradients: GradientOptions,
    /// The chip this layer runs on; applied only on a chip-aware backend (`HardwareAware<B>`).
    /// Default: `None` (the ideal model everywhere).
    #[config(default = "None")]
    pub chip: Option<ChipProfile>,
    /// Seed of the chip's fixed-pattern noise and per-call noise for this layer. Default: 0.
    #[config(default = 0)]
    pub chip_seed: u64,
}

/// How the raw delay parameters map to effective delays; fixed at construction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DelayMap {
    /// Where the delays sit.
    pub kind: DelayKind,
    /// Offset of the positivity parameterisation.
    pub shift: f64,
    /// Range of the positivity parameterisation.
    pub scale: f64,
    /// Presynaptic neurons per shared delay.
    pub sharing: usize,
    /// Shared delays tiled over the inputs rather than grouped (see
    /// [`SpikingLinearConfig::delay_sharing_tiled`]).
    pub tiled: bool,
}

/// A layer of LIF neurons computing exact first-spike times. See [`SpikingLinearConfig`].
///
/// Its record holds the weights, the raw delays and the delay parameterisation's shift and
/// scale, so a saved layer loads with the same effective delays into a layer configured with
/// other ones. The delay kind and sharing, the neuron and the gradient options come from the
/// configuration of the layer a record is loaded into.
#[derive(Module, Debug)]
#[module(custom_display)]
pub struct SpikingLinear<B: Backend> {
    /// Weights `[d_input, d_output]` (rows are presynaptic).
    pub weight: Param<Tensor<B, 2>>,
    /// Raw delay parameters, 2-D for every kind: axonal `[d_input / sharing, 1]`, synaptic
    /// `[d_input / sharing, d_output]`, dendritic `[1, d_output]`. See [`SpikingLinear::delays`]
    /// for the effective delays.
    pub delay_raw: Option<Param<Tensor<B, 2>>>,
    delay_map: DelayMapState<B>,
    #[module(skip)]
    op: SpikeOp,
}

/// A layer's [`DelayMap`] as module state. Its shift and scale travel with the record
/// ([`DelayMapRecord`]); visitors and mappers never see it, so optimizers leave it alone and
/// parameter counts (`num_params`) leave it out.
#[derive(Debug, Clone)]
pub struct DelayMapState<B: Backend> {
    map: DelayMap,
    backend: PhantomData<B>,
}

impl<B: Backend> DelayMapState<B> {
    fn new(map: DelayMap) -> Self {
        Self {
            map,
            backend: PhantomData,
        }
    }
}

/// What a layer's record keeps of its [`DelayMap`]: the parameterisation's offset and range,
/// which a network read from a file chooses per layer. Records written before this existed
/// load as `None`, keeping the configured values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DelayMapRecord {
    /// [`DelayMap::shift`].
    pub shift: f64,
    /// [`DelayMap::scale`].
    pub scale: f64,
}

impl<B: Backend> Record<B> for DelayMapRecord {
    // Configuration values, not tensor data: kept in f64 whatever the precision settings.
    type Item<S: PrecisionSettings> = Self;

    fn into_item<S: PrecisionSettings>(self) -> Self {
        self
    }

    fn from_item<S: PrecisionSettings>(item: Self, _device: &B::Device) -> Self {
        item
    }
}

impl<B: Backend> Module<B> for DelayMapState<B> {
    type Record = Option<DelayMapRecord>;

    fn collect_devices(&self, devices: Devices<B>) -> Devices<B> {
        devices
    }

    fn fork(self, _device: &B::Device) -> Self {
        self
    }

    fn to_device(self, _device: &B::Device) -> Self {
        self
    }

    fn visit<V: ModuleVisitor<B>>(&self, _visitor: &mut V) {}

    fn map<M: ModuleMapper<B>>(self, _mapper: &mut M) -> Self {
        self
    }

    fn load_record(self, record: Self::Record) -> Self {
        match record {
            Some(DelayMapRecord { shift, scale }) => Self::new(DelayMap {
                shift,
                scale,
                ..self.map
            }),
            None => self,
        }
    }

    fn into_record(self) -> Self::Record {
        Some(DelayMapRecord {
            shift: self.map.shift,
            scale: self.map.scale,
        })
    }
}

impl<B: AutodiffBackend> AutodiffModule<B> for DelayMapState<B> {
    type InnerModule = DelayMapState<B::InnerBackend>;

    fn valid(&self) -> Self::InnerModule {
        DelayMapState::new(self.map)
    }

    fn from_inner(module: Self::InnerModule) -> Self {
        Self::new(module.map)
    }
}

impl<B: Backend> ModuleDisplayDefault for DelayMapState<B> {
    fn content(&self, content: Content) -> Option<Content> {
        content.add_formatted(&format!("{:?}", self.map)).optional()
    }
}

impl<B: Backend> ModuleDisplay for DelayMapState<B> {}

impl<B: Backend> ModuleDisplay for SpikingLinear<B> {
    fn custom_settings(&self) -> Option<DisplaySettings> {
        DisplaySettings::new()
            .with_new_line_after_attribute(false)
            .optional()
    }

    fn custom_content(&self, content: Content) -> Option<Content> {
        let params = self.op.lif.params();
        content
            .add("d_input", &self.d_input())
            .add("d_output", &self.d_output())
            .add("delays", &self.delay_kind().to_string())
            .add("tau_ratio", &(params.tau_mem / params.tau_syn))
            .optional()
    }
}

impl SpikingLinearConfig {
    fn check(&self) -> Result<(SpikeOp, DelayMap)> {
        let chip = match &self.chip {
            Some(profile) => Some(Arc::new(ChipBinding::new(
                profile.clone(),
                self.d_output,
                self.chip_seed,
            )?)),
            None => None,
        };
        let op = SpikeOp::new(self.neuron, self.gradients)?.with_chip(chip);
        let bad = |m: String| Err(Error::InvalidConfig(m));
        if self.d_input == 0 || self.d_output == 0 {
            return bad(format!(
                "layer sizes must be positive, got {} -> {}",
                self.d_input, self.d_output
            ));
        }
        check_initializer(&self.initializer)?;
        if !(self.delay_shift.is_finite() && self.delay_scale.is_finite() && self.delay_scale > 0.0)
        {
            return bad("delay parameterisation needs a finite shift and a scale > 0".into());
        }
        if !(self.delay_init_mean.is_finite()
            && self.delay_init_std.is_finite()
            && self.delay_init_std >= 0.0)
        {
            return bad("delay initialisation needs a finite mean and std >= 0".into());
        }
        let sharing = self.delay_sharing;
        if sharing == 0 || !self.d_input.is_multiple_of(sharing) {
            return bad(format!(
                "delay_sharing {sharing} must be positive and divide d_input {}",
                self.d_input
            ));
        }
        if sharing > 1 && matches!(self.delays, DelayKind::None | DelayKind::Dendritic) {
            return bad(format!(
                "delay_sharing {sharing} applies to axonal or synaptic delays, not {}",
                self.delays
            ));
        }
        Ok((
            op,
            DelayMap {
                kind: self.delays,
                shift: self.delay_shift,
                scale: self.delay_scale,
                sharing,
                tiled: self.delay_sharing_tiled,
            },
        ))
    }

    /// Shape of the raw delay parameter (see [`SpikingLinear::delay_raw`]).
    fn raw_delay_shape(&self) -> Option<[usize; 2]> {
        let rows = self.d_input / self.delay_sharing.max(1);
        match self.delays {
            DelayKind::None => None,
            DelayKind::Axonal => Some([rows, 1]),
            DelayKind::Synaptic => Some([rows, self.d_output]),
            DelayKind::Dendritic => Some([1, self.d_output]),
        }
    }

    /// Initialises a layer with Burn's initialisers (random state of the backend, see
    /// `B::seed`): the weights with [`initializer`](Self::initializer) (fan-in `d_input`,
    /// fan-out `d_output`), the raw delays normal with `delay_init_mean` and `delay_init_std`.
    /// Fails on an invalid configuration.
    pub fn try_init<B: Backend>(&self, device: &B::Device) -> Result<SpikingLinear<B>> {
        let (op, delay_map) = self.check()?;
        let weight = self.initializer.init_with(
            [self.d_input, self.d_output],
            Some(self.d_input),
            Some(self.d_output),
            device,
        );
        let delay_raw = self.raw_delay_shape().map(|shape| {
            Initializer::Normal {
                mean: self.delay_init_mean,
                std: self.delay_init_std,
            }
            .init(shape, device)
        });
        Ok(SpikingLinear {
            weight,
            delay_raw,
            delay_map: DelayMapState::new(delay_map),
            op,
        })
    }

    /// Initialises a layer with Burn's initialisers, see [`SpikingLinearConfig::try_init`].
    ///
    /// # Panics
    /// On an invalid configuration; [`SpikingLinearConfig::try_init`] returns the error instead.
    pub fn init<B: Backend>(&self, device: &B::Device) -> SpikingLinear<B> {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Initialises a layer reproducibly from `seed`, independent of the backend's random state.
    ///
    /// One `StdRng` seeded with `seed` draws the weights row-major, then the raw delays
    /// (normal with `delay_init_mean` and `delay_init_std`). The weights by initialiser:
    /// * `Normal { mean, std }`: normal draws (`rand_distr::Normal`); every published result
    ///   was initialised this way, so this path must keep drawing the same numbers;
    /// * `Uniform { min, max }`: uniform draws in `[min, max)` (`rand_distr::Uniform`);
    /// * `Constant`, `Zeros`, `Ones`: that value, drawing nothing;
    /// * the fan-based and orthogonal initialisers: Burn's [`Initializer::init_with`], which
    ///   draws from the backend's random state, not from `seed` (seed the backend with
    ///   `B::seed` to reproduce those).
    pub fn init_seeded<B: Backend>(
        &self,
        seed: u64,
        device: &B::Device,
    ) -> Result<SpikingLinear<B>> {
        let (op, delay_map) = self.check()?;
        let mut rng = StdRng::seed_from_u64(seed);
        let normal = |rng: &mut StdRng, n: usize, mean: f64, std: f64| -> Vec<f64> {
            match Normal::new(mean, std) {
                Ok(dist) => (0..n).map(|_| dist.sample(rng)).collect(),
                Err(_) => vec![mean; n],
            }
        };
        let shape = [self.d_input, self.d_output];
        let n = self.d_input * self.d_output;
        let from_values =
            |w: Vec<f64>| Param::from_tensor(Tensor::from_data(TensorData::new(w, shape), device));
        let weight = match self.initializer {
            Initializer::Normal { mean, std } => from_values(normal(&mut rng, n, mean, std)),
            Initializer::Uniform { min, max } => from_values(match Uniform::new(min, max) {
                Ok(dist) => (0..n).map(|_| dist.sample(&mut rng)).collect(),
                // An empty range (min == max): the one value it holds.
                Err(_) => vec![min; n],
            }),
            Initializer::Constant { value } => from_values(vec![value; n]),
            Initializer::Zeros => from_values(vec![0.0; n]),
            Initializer::Ones => from_values(vec![1.0; n]),
            ref other => other.init_with(shape, Some(self.d_input), Some(self.d_output), device),
        };
        let delay_raw = self.raw_delay_shape().map(|shape| {
            let v = normal(
                &mut rng,
                shape[0] * shape[1],
                self.delay_init_mean,
                self.delay_init_std,
            );
            Param::from_tensor(Tensor::from_data(TensorData::new(v, shape), device))
        });
        Ok(SpikingLinear {
            weight,
            delay_raw,
            delay_map: DelayMapState::new(delay_map),
            op,
        })
    }

    /// A layer with the given weights (`[d_input, d_output]`, row-major) and effective delays
    /// (in the shape of their kind, row-major), for example from a network file. Each effective
    /// delay must lie strictly inside (shift, shift + scale) to be representable.
    pub fn init_with<B: Backend>(
        &self,
        weights: &[f64],
        effective_delays: Option<&[f64]>,
        device: &B::Device,
    ) -> Result<SpikingLinear<B>> {
        let (op, delay_map) = self.check()?;
        if weights.len() != self.d_input * self.d_output {
            return Err(Error::Shape(format!(
                "{} weights given for a {} x {} layer",
                weights.len(),
                self.d_input,
                self.d_output
            )));
        }
        let weight = Param::from_tensor(Tensor::from_data(
            TensorData::new(weights.to_vec(), [self.d_input, self.d_output]),
            device,
        ));
        let delay_raw = match (self.raw_delay_shape(), effective_delays) {
            (None, None) => None,
            (Some(shape), Some(d)) => {
                let expected = self.delays.len(self.d_input, self.d_output);
                if d.len() != expected {
                    return Err(Error::Shape(format!(
                        "{} {} delays given, expected {expected}",
                        d.len(),
                        self.delays
                    )));
                }
                let raw = unshare(
                    d,
                    self.delays,
                    self.d_input,
                    self.d_output,
                    (self.delay_sharing, self.delay_sharing_tiled),
                )?
                .into_iter()
                .map(|v| delay_map.raw_of(v))
                .collect::<Result<Vec<_>>>()?;
                Some(Param::from_tensor(Tensor::from_data(
                    TensorData::new(raw, shape),
                    device,
                )))
            }
            (Some(_), None) => {
                return Err(Error::InvalidConfig(format!(
                    "a layer with {} delays needs delay values",
                    self.delays
                )))
            }
            (None, Some(_)) => {
                return Err(Error::InvalidConfig(
                    "delay values given for a layer configured without delays".into(),
                ))
            }
        };
        Ok(SpikingLinear {
            weight,
            delay_raw,
            delay_map: DelayMapState::new(delay_map),
            op,
        })
    }
}

/// Initialisers must describe a distribution: finite parameters, a spread that is not negative.
fn check_initializer(init: &Initializer) -> Result<()> {
    let ok = match *init {
        Initializer::Constant { value } => value.is_finite(),
        Initializer::Ones | Initializer::Zeros => true,
        Initializer::Uniform { min, max } => min.is_finite() && max.is_finite() && min <= max,
        Initializer::Normal { mean, std } => mean.is_finite() && std.is_finite() && std >= 0.0,
        Initializer::KaimingUniform { gain, .. }
        | Initializer::KaimingNormal { gain, .. }
        | Initializer::XavierUniform { gain }
        | Initializer::XavierNormal { gain }
        | Initializer::Orthogonal { gain } => gain.is_finite(),
    };
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidConfig(format!(
            "weight initializer {init:?} needs finite parameters and a spread >= 0"
        )))
    }
}

/// The distinct delay values of a shared layout (`k` inputs per delay, grouped or tiled),
/// checking that shared copies agree.
fn unshare(
    d: &[f64],
    kind: DelayKind,
    n_in: usize,
    n_out: usize,
    (k, tiled): (usize, bool),
) -> Result<Vec<f64>> {
    if k == 1 {
        return Ok(d.to_vec());
    }
    let cols = if kind == DelayKind::Synaptic {
        n_out
    } else {
        1
    };
    let groups = n_in / k;
    // The r-th input that uses distinct delay g.
    let input = |g: usize, r: usize| if tiled { r * groups + g } else { g * k + r };
    let mut out = Vec::with_capacity(groups * cols);
    for g in 0..groups {
        for c in 0..cols {
            let first = d[input(g, 0) * cols + c];
            for r in 1..k {
                if d[input(g, r) * cols + c] != first {
                    return Err(Error::InvalidConfig(format!(
                        "inputs {} and {} share one delay but their delays differ",
                        input(g, 0),
                        input(g, r)
                    )));
                }
            }
            out.push(first);
        }
    }
    Ok(out)
}

impl DelayMap {
    /// The raw parameter giving effective delay `d`.
    fn raw_of(&self, d: f64) -> Result<f64> {
        let x = (d - self.shift) / self.scale;
        if !(x > 0.0 && x < 1.0) {
            return Err(Error::InvalidConfig(format!(
                "delay {d} lies outside the open range ({}, {}) of the parameterisation",
                self.shift,
                self.shift + self.scale
            )));
        }
        Ok((x / (1.0 - x)).ln())
    }
}

impl<B: Backend> SpikingLinear<B> {
    /// Number of presynaptic neurons.
    pub fn d_input(&self) -> usize {
        self.weight.shape()[0]
    }

    /// Number of postsynaptic neurons.
    pub fn d_output(&self) -> usize {
        self.weight.shape()[1]
    }

    /// Where the delays sit.
    pub fn delay_kind(&self) -> DelayKind {
        self.delay_map.map.kind
    }

    /// The mapping from raw delay parameters to effective delays.
    pub fn delay_map(&self) -> DelayMap {
        self.delay_map.map
    }

    /// The op configuration (neuron and gradient options).
    pub fn op(&self) -> &SpikeOp {
        &self.op
    }

    /// Replaces the op configuration, e.g. to switch gradient clipping off for evaluation.
    pub fn with_op(mut self, op: SpikeOp) -> Self {
        self.op = op;
        self
    }

    /// Effective delays, in the shape of their kind: d = shift + scale * sigmoid(raw), with
    /// shared delays repeated for each presynaptic neuron that shares them. Differentiable.
    pub fn delays(&self) -> LayerDelays<B> {
        let Some(raw) = &self.delay_raw else {
            return LayerDelays::None;
        };
        let DelayMap { shift, scale, .. } = self.delay_map.map;
        self.delays_from_map(mapped_delays(raw.val(), scale, shift))
    }

    /// Delays in the shape of their kind from `shift + scale * sigmoid(raw)`, `[rows, cols]`.
    fn delays_from_map(&self, d: Tensor<B, 2>) -> LayerDelays<B> {
        let DelayMap {
            kind,
            sharing,
            tiled,
            ..
        } = self.delay_map.map;
        let d = if sharing > 1 {
            let [rows, cols] = d.dims();
            if tiled {
                d.reshape([1, rows, cols])
                    .expand([sharing, rows, cols])
                    .reshape([rows * sharing, cols])
            } else {
                d.reshape([rows, 1, cols])
                    .expand([rows, sharing, cols])
                    .reshape([rows * sharing, cols])
            }
        } else {
            d
        };
        match kind {
            DelayKind::None => LayerDelays::None,
            DelayKind::Axonal => LayerDelays::Axonal(d.flatten(0, 1)),
            DelayKind::Synaptic => LayerDelays::Synaptic(d),
            DelayKind::Dendritic => LayerDelays::Dendritic(d.flatten(0, 1)),
        }
    }

    /// Number of trainable scalars (weights plus raw delays).
    pub fn num_trainable(&self) -> usize {
        Module::num_params(self)
    }
}

impl<B: SpikeBackend> SpikingLinear<B> {
    /// Output spike times for input spike times (+inf = no spike), or a typed error for
    /// mismatched shapes and invalid times (NaN or -inf).
    ///
    /// # Shapes
    /// - input: `[..., d_input]`
    /// - output: `[..., d_output]`
    ///
    /// Leading dimensions are batch dimensions, as in `burn::nn::Linear`.
    pub fn try_forward<const D: usize>(&self, input_times: Tensor<B, D>) -> Result<Tensor<B, D>> {
        let n_in = input_times.dims().last().copied();
        if n_in != Some(self.d_input()) {
            return Err(Error::Shape(format!(
                "layer expects {} input times per sample, got input of shape {:?}",
                self.d_input(),
                input_times.dims()
            )));
        }
        functional::try_spike(input_times, self.weight.val(), self.op_delays(), &self.op)
    }

    /// [`delays`](Self::delays) as the op takes them: the same values, through the backend's
    /// fused delay map where it has one (one autodiff node instead of six).
    fn op_delays(&self) -> LayerDelays<B> {
        let DelayMap { shift, scale, .. } = self.delay_map.map;
        let fused = self
            .delay_raw
            .as_ref()
            .and_then(|raw| B::delay_map(raw.val().into_primitive().tensor(), scale, shift));
        match fused {
            Some(d) => self.delays_from_map(Tensor::from_primitive(TensorPrimitive::Float(d))),
            None => self.delays(),
        }
    }

    /// Output spike times for input spike times (+inf = no spike).
    ///
    /// # Shapes
    /// - input: `[..., d_input]`
    /// - output: `[..., d_output]`
    ///
    /// # Panics
    /// On mismatched shapes or invalid input times, like Burn's own modules on bad shapes;
    /// [`SpikingLinear::try_forward`] returns the error instead.
    pub fn forward<const D: usize>(&self, input_times: Tensor<B, D>) -> Tensor<B, D> {
        self.try_forward(input_times)
            .unwrap_or_else(|e| panic!("SpikingLinear::forward: {e}"))
    }
}

/// Delays from their raw parameters, `shift + scale * logistic(raw)`: the one definition, which
/// the fused autodiff node ([`SpikeBackend::delay_map`]) also computes its values with.
pub(crate) fn mapped_delays<B: Backend>(raw: Tensor<B, 2>, scale: f64, shift: f64) -> Tensor<B, 2> {
    logistic(raw).mul_scalar(scale).add_scalar(shift)
}

/// The logistic function 1 / (1 + e^{-x}), spelled out in tensor ops: Burn's `sigmoid` loses
/// digits in f64 (about 1e-8 relative), which would spoil exact delays loaded from files and
/// f64 gradient checks. Shared by every delay parameterisation d = shift + scale * logistic(raw).
pub fn logistic<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    x.neg().exp().add_scalar(1.0).recip()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;

    type B = NdArray<f64>;

    fn values<const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
        t.into_data().to_vec::<f64>().unwrap()
    }

    /// Input times `[batch, n]` spread over the encoding's range, some silent.
    fn input(batch: usize, n: usize) -> Tensor<B, 2> {
        let v: Vec<f64> = (0..batch * n)
            .map(|k| {
                if k % 7 == 5 {
                    f64::INFINITY
                } else {
                    0.15 + 1.85 * ((k * 37 % 101) as f64 / 101.0)
                }
            })
            .collect();
        Tensor::from_data(TensorData::new(v, [batch, n]), &Default::default())
    }

    #[test]
    fn config_defaults_are_the_documented_ones() {
        let c = SpikingLinearConfig::new(3, 2);
        assert_eq!(c.neuron, LifParams::ideal());
        assert_eq!(
            c.initializer,
            Initializer::Normal {
                mean: 1.0,
                std: 1.0
            }
        );
        assert_eq!(c.delays, DelayKind::None);
        assert_eq!((c.delay_init_mean, c.delay_init_std), (0.0, 0.25));
        assert_eq!((c.delay_shift, c.delay_scale), (0.0, 1.0));
        assert_eq!((c.delay_sharing, c.delay_sharing_tiled), (1, false));
        assert_eq!(c.gradients.weight_grad_clip, None, "default is exact");
        assert_eq!((c.chip, c.chip_seed), (None, 0));
    }

    #[test]
    fn init_gives_the_documented_shapes() {
        let device = Default::default();
        let cases = [
            (DelayKind::None, 1, None, vec![]),
            (DelayKind::Axonal, 2, Some([2, 1]), vec![4]),
            (DelayKind::Synaptic, 1, Some([4, 6]), vec![4, 6]),
            (DelayKind::Dendritic, 1, Some([1, 6]), vec![6]),
        ];
        for (kind, sharing, raw, effective) in cases {
            let layer = SpikingLinearConfig::new(4, 6)
                .with_delays(kind)
                .with_delay_sharing(sharing)
                .try_init::<B>(&device)
                .unwrap();
            assert_eq!(layer.weight.dims(), [4, 6]);
            assert_eq!(layer.delay_raw.as_ref().map(|p| p.dims()), raw, "{kind}");
            let shape = layer
                .delays()
                .map_each(|t| t.dims().to_vec(), |t| t.dims().to_vec())
                .into_values()
                .unwrap_or_default();
            assert_eq!(shape, effective, "{kind}");
            // Delay shift and scale are state, not parameters.
            let raw_len = raw.map_or(0, |[r, c]| r * c);
            assert_eq!(layer.num_trainable(), 24 + raw_len, "{kind}");
        }
    }

    /// The seeded normal initialisation draws exactly what `StdRng` and `rand_distr::Normal`
    /// draw from the seed: weights row-major, then raw delays.
    #[test]
    fn seeded_normal_init_draws_the_seeds_numbers() {
        let config = SpikingLinearConfig::new(3, 2)
            .with_initializer(Initializer::Normal {
                mean: 1.2,
                std: 0.5,
            })
            .with_delays(DelayKind::Axonal);
        let layer = config.init_seeded::<B>(7, &Default::default()).unwrap();
        let mut rng = StdRng::seed_from_u64(7);
        let w = Normal::new(1.2, 0.5).unwrap();
        let expected_w: Vec<f64> = (0..6).map(|_| w.sample(&mut rng)).collect();
        let d = Normal::new(0.0, 0.25).unwrap();
        let expected_d: Vec<f64> = (0..3).map(|_| d.sample(&mut rng)).collect();
        assert_eq!(values(layer.weight.val()), expected_w);
        assert_eq!(values(layer.delay_raw.unwrap().val()), expected_d);
    }

    #[test]
    fn seeded_init_follows_the_other_initializers() {
        let device = Default::default();
        let weights = |init: Initializer| {
            let layer = SpikingLinearConfig::new(5, 4)
                .with_initializer(init)
                .init_seeded::<B>(3, &device)
                .unwrap();
            values(layer.weight.val())
        };
        assert_eq!(weights(Initializer::Constant { value: 0.7 }), vec![0.7; 20]);
        assert_eq!(weights(Initializer::Zeros), vec![0.0; 20]);
        assert_eq!(weights(Initializer::Ones), vec![1.0; 20]);
        let u = weights(Initializer::Uniform {
            min: 0.5,
            max: 0.75,
        });
        assert!(u.iter().all(|v| (0.5..0.75).contains(v)), "{u:?}");
        assert_ne!(u[0], u[1]);
        assert_eq!(
            u,
            weights(Initializer::Uniform {
                min: 0.5,
                max: 0.75
            })
        );
        let kaiming = weights(Initializer::KaimingUniform {
            gain: 1.0,
            fan_out_only: false,
        });
        assert_eq!(kaiming.len(), 20);
        assert!(kaiming.iter().all(|v| v.abs() <= (3.0f64 / 5.0).sqrt()));
    }

    #[test]
    fn forward_over_leading_dimensions_equals_the_2d_forward() {
        let device = Default::default();
        let layer = SpikingLinearConfig::new(4, 3)
            .with_delays(DelayKind::Synaptic)
            .init_seeded::<B>(11, &device)
            .unwrap();
        let x = input(6, 4);
        let flat = values(layer.forward(x.clone()));
        assert!(flat.iter().any(|t| t.is_finite()), "{flat:?}");
        let out3: Tensor<B, 3> = layer.forward(x.clone().reshape([2, 3, 4]));
        assert_eq!(out3.dims(), [2, 3, 3]);
        assert_eq!(values(out3), flat);
        let one: Tensor<B, 1> = layer.forward(x.clone().slice([0..1, 0..4]).reshape([4]));
        assert_eq!(values(one), flat[..3].to_vec());
        let batch4: Tensor<B, 4> = layer.forward(x.reshape([1, 2, 3, 4]));
        assert_eq!(batch4.dims(), [1, 2, 3, 3]);
    }

    #[test]
    fn invalid_configs_and_inputs_give_typed_errors() {
        let device = Default::default();
        let invalid = |c: SpikingLinearConfig| {
            assert!(
                matches!(c.try_init::<B>(&device), Err(Error::InvalidConfig(_))),
                "{c:?}"
            );
        };
        invalid(SpikingLinearConfig::new(0, 3));
        invalid(
            SpikingLinearConfig::new(4, 3).with_initializer(Initializer::Normal {
                mean: 1.0,
                std: -1.0,
            }),
        );
        invalid(
            SpikingLinearConfig::new(4, 3)
                .with_initializer(Initializer::Uniform { min: 1.0, max: 0.0 }),
        );
        invalid(
            SpikingLinearConfig::new(4, 3)
                .with_delays(DelayKind::Axonal)
                .with_delay_scale(0.0),
        );
        invalid(
            SpikingLinearConfig::new(4, 3)
                .with_delays(DelayKind::Axonal)
                .with_delay_sharing(3),
        );
        invalid(
            SpikingLinearConfig::new(4, 3)
                .with_delays(DelayKind::Dendritic)
                .with_delay_sharing(2),
        );
        let layer = SpikingLinearConfig::new(4, 3).init::<B>(&device);
        assert!(matches!(
            layer.try_forward(input(2, 5)),
            Err(Error::Shape(_))
        ));
        let nan = Tensor::<B, 2>::from_data(
            TensorData::new(vec![0.1, f64::NAN, 0.2, 0.3], [1, 4]),
            &device,
        );
        assert!(matches!(
            layer.try_forward(nan),
            Err(Error::InvalidSpikeTime { input: 1, .. })
        ));
    }

    #[test]
    fn display_shows_sizes_delay_kind_and_neuron_ratio() {
        let layer = SpikingLinearConfig::new(4, 6)
            .with_delays(DelayKind::Axonal)
            .init::<B>(&Default::default());
        let text = layer.to_string();
        for needle in [
            "d_input: 4",
            "d_output: 6",
            "delays: axonal",
            "tau_ratio: 2",
        ] {
            assert!(text.contains(needle), "{needle:?} not in {text}");
        }
    }

    /// Shift and scale come back from a record; a layer configured with other ones then gives
    /// the saved layer's delays.
    #[test]
    fn records_carry_the_delay_parameterisation() {
        let device = Default::default();
        let saved = SpikingLinearConfig::new(4, 3)
            .with_delays(DelayKind::Dendritic)
            .with_delay_shift(2.0)
            .with_delay_scale(1.5)
            .init_seeded::<B>(5, &device)
            .unwrap();
        let fresh = SpikingLinearConfig::new(4, 3)
            .with_delays(DelayKind::Dendritic)
            .init::<B>(&device);
        let loaded = fresh.load_record(saved.clone().into_record());
        assert_eq!(loaded.delay_map(), saved.delay_map());
        let delays = |l: &SpikingLinear<B>| match l.delays() {
            LayerDelays::Dendritic(d) => values(d),
            other => panic!("dendritic delays expected, got {:?}", other.kind()),
        };
        assert_eq!(delays(&loaded), delays(&saved));
        assert!(delays(&saved).iter().all(|d| (2.0..3.5).contains(d)));
        assert_eq!(Module::num_params(&loaded), 4 * 3 + 3);
    }
}
