//! The discrete-time network: [`SurrogateNetworkConfig`] + [`SurrogateNetwork`] (a Burn
//! `Module`), 4-30-3 by default, with the two readouts of the field.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::activation::log_softmax;
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, ElementConversion, Int, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use super::delays::{delayed_currents, DelayTaps};
use super::simulator::{
    check_neuron, first_crossings, input_traces, psp_kernel, toeplitz, TimeGrid, DEFAULT_HORIZON,
};
use super::surrogate::Surrogate;
use crate::error::{Error, Result};
use crate::loss::{count_correct, SpikeLoss};
use crate::model::tensor_values;
use crate::neuron::LifParams;

/// What the output layer reports and which loss trains it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Readout {
    /// (a) Spiking outputs, first-spike time from the first threshold crossing linearly
    /// interpolated within the step, trained with DelGrad's shift-invariant MSE
    /// ([`SpikeLoss::mse`], same missing-spike rule); prediction: first output to spike.
    FirstSpike,
    /// (b) Non-spiking leaky outputs: the score of a class is the maximum over time of its
    /// membrane potential, trained with cross-entropy on the scores; prediction: largest score.
    MaxMembrane,
}

impl Readout {
    /// Short name used in file names and tables.
    pub fn name(self) -> &'static str {
        match self {
            Readout::FirstSpike => "first-spike",
            Readout::MaxMembrane => "max-membrane",
        }
    }
}

/// Configuration of a [`SurrogateNetwork`]; create it with [`SurrogateNetworkConfig::init`].
#[derive(Config, Debug)]
pub struct SurrogateNetworkConfig {
    /// Input neurons.
    #[config(default = 4)]
    pub d_input: usize,
    /// Hidden LIF neurons.
    #[config(default = 30)]
    pub hidden: usize,
    /// Output neurons (classes).
    #[config(default = 3)]
    pub d_output: usize,
    /// The neuron model (same tau_s, tau_m, threshold as DelGrad's).
    #[config(default = "LifParams::ideal()")]
    pub neuron: LifParams,
    /// Step size, in units of tau_s.
    #[config(default = 0.05)]
    pub dt: f64,
    /// Simulated time span, in units of tau_s (see [`DEFAULT_HORIZON`]).
    #[config(default = "DEFAULT_HORIZON")]
    pub horizon: f64,
    /// Surrogate derivative of the hidden neurons' spikes.
    #[config(default = "Surrogate::default()")]
    pub surrogate: Surrogate,
    /// Output readout and loss.
    #[config(default = "Readout::FirstSpike")]
    pub readout: Readout,
    /// Learnable synaptic delays in both layers.
    #[config(default = false)]
    pub delays: bool,
    /// How delay positions become taps of the delay buffer.
    #[config(default = "DelayTaps::Linear")]
    pub delay_taps: DelayTaps,
    /// Largest delay, in units of tau_s: d = max_delay * sigmoid(raw), DelGrad's
    /// parameterisation with scale `max_delay`.
    #[config(default = 1.0)]
    pub max_delay: f64,
    /// Mean of the hidden layer's weight initialisation.
    #[config(default = 0.5)]
    pub weight_mean_hidden: f64,
    /// Standard deviation of the hidden layer's weight initialisation.
    #[config(default = 1.0)]
    pub weight_std_hidden: f64,
    /// Mean of the output layer's weight initialisation.
    #[config(default = 0.5)]
    pub weight_mean_output: f64,
    /// Standard deviation of the output layer's weight initialisation.
    #[config(default = 1.0)]
    pub weight_std_output: f64,
    /// Mean of the raw delay initialisation.
    #[config(default = 0.0)]
    pub delay_init_mean: f64,
    /// Standard deviation of the raw delay initialisation.
    #[config(default = 0.25)]
    pub delay_init_std: f64,
}

/// One fully connected layer of the discrete-time network.
#[derive(Module, Debug)]
pub struct SurrogateLinear<B: Backend> {
    /// Weights `[d_input, d_output]` (rows are presynaptic).
    pub weight: Param<Tensor<B, 2>>,
    /// Raw synaptic delays `[d_input, d_output]`: d = max_delay * sigmoid(raw).
    pub delay_raw: Option<Param<Tensor<B, 2>>>,
}

impl<B: Backend> SurrogateLinear<B> {
    /// Number of trainable scalars.
    pub fn num_trainable(&self) -> usize {
        self.num_params()
    }

    /// Effective delays `[d_input, d_output]` (differentiable), or `None`.
    pub fn delays(&self, max_delay: f64) -> Option<Tensor<B, 2>> {
        self.delay_raw
            .as_ref()
            .map(|raw| crate::layer::logistic(raw.val()).mul_scalar(max_delay))
    }
}

/// Everything fixed about a simulation (not trained).
#[derive(Debug, Clone)]
pub struct Simulation {
    /// The time grid.
    pub grid: TimeGrid,
    /// The neuron.
    pub neuron: LifParams,
    /// The PSP kernel on the grid.
    pub kernel: Vec<f64>,
    /// The surrogate derivative.
    pub surrogate: Surrogate,
    /// The readout.
    pub readout: Readout,
    /// The delay taps.
    pub taps: DelayTaps,
    /// Largest delay (tau_s).
    pub max_delay: f64,
}

impl Simulation {
    /// Threshold relative to the leak potential.
    pub fn theta(&self) -> f64 {
        self.neuron.threshold - self.neuron.leak
    }
}

/// A 2-layer time-stepped LIF network trained by backpropagation through time with a surrogate
/// derivative. See the [module docs](super) for the model.
#[derive(Module, Debug)]
pub struct SurrogateNetwork<B: Backend> {
    /// Input to hidden layer.
    pub hidden: SurrogateLinear<B>,
    /// Hidden to output layer.
    pub output: SurrogateLinear<B>,
    #[module(skip)]
    sim: Simulation,
}

/// What a forward pass returns.
#[derive(Debug, Clone)]
pub struct SurrogateOutput<B: Backend> {
    /// Hidden spike times on the grid `[batch, hidden]` (+inf = no spike), host values.
    pub hidden_times: Vec<f64>,
    /// [`Readout::FirstSpike`]: output spike times `[batch, d_output]`, +inf = no spike;
    /// [`Readout::MaxMembrane`]: scores `[batch, d_output]`.
    pub output: Tensor<B, 2>,
}

impl SurrogateNetworkConfig {
    fn simulation(&self) -> Result<Simulation> {
        check_neuron(&self.neuron)?;
        let grid = TimeGrid::new(self.dt, self.horizon)?;
        self.surrogate.validate()?;
        self.delay_taps.validate()?;
        let bad = |m: String| Err(Error::InvalidConfig(m));
        if self.d_input == 0 || self.hidden == 0 || self.d_output == 0 {
            return bad("layer sizes must be positive".into());
        }
        if !(self.max_delay.is_finite() && self.max_delay > 0.0) {
            return bad(format!(
                "max_delay must be positive, got {}",
                self.max_delay
            ));
        }
        for v in [
            self.weight_mean_hidden,
            self.weight_std_hidden,
            self.weight_mean_output,
            self.weight_std_output,
            self.delay_init_mean,
            self.delay_init_std,
        ] {
            if !v.is_finite() {
                return bad("initialisation parameters must be finite".into());
            }
        }
        Ok(Simulation {
            kernel: psp_kernel(&self.neuron, &grid),
            grid,
            neuron: self.neuron,
            surrogate: self.surrogate,
            readout: self.readout,
            taps: self.delay_taps,
            max_delay: self.max_delay,
        })
    }

    /// Initialises a network reproducibly from `seed`; [`Error::InvalidConfig`] or
    /// [`Error::InvalidNeuron`] on a bad configuration.
    pub fn init<B: Backend>(&self, seed: u64, device: &B::Device) -> Result<SurrogateNetwork<B>> {
        let sim = self.simulation()?;
        let mut rng = StdRng::seed_from_u64(seed);
        let mut draw = |n: usize, mean: f64, std: f64| -> Vec<f64> {
            match Normal::new(mean, std.abs()) {
                Ok(d) => (0..n).map(|_| d.sample(&mut rng)).collect(),
                Err(_) => vec![mean; n],
            }
        };
        let mut layer = |n_in: usize, n_out: usize, mean: f64, std: f64| {
            let w = draw(n_in * n_out, mean, std);
            let d = self
                .delays
                .then(|| draw(n_in * n_out, self.delay_init_mean, self.delay_init_std));
            SurrogateLinear {
                weight: param(w, [n_in, n_out], device),
                delay_raw: d.map(|d| param(d, [n_in, n_out], device)),
            }
        };
        let hidden = layer(
            self.d_input,
            self.hidden,
            self.weight_mean_hidden,
            self.weight_std_hidden,
        );
        let output = layer(
            self.hidden,
            self.d_output,
            self.weight_mean_output,
            self.weight_std_output,
        );
        Ok(SurrogateNetwork {
            hidden,
            output,
            sim,
        })
    }

    /// A network with given weights (`[d_input, hidden]` and `[hidden, d_output]`, row-major)
    /// and, when `delays` is on, effective synaptic delays of the same shapes, each strictly
    /// inside `(0, max_delay)`: for example the parameters of a DelGrad network.
    pub fn init_with<B: Backend>(
        &self,
        weights: [&[f64]; 2],
        delays: Option<[&[f64]; 2]>,
        device: &B::Device,
    ) -> Result<SurrogateNetwork<B>> {
        let sim = self.simulation()?;
        let shapes = [[self.d_input, self.hidden], [self.hidden, self.d_output]];
        if delays.is_some() != self.delays {
            return Err(Error::InvalidConfig(
                "delays given for a network without delays, or missing".into(),
            ));
        }
        let mut layers = Vec::with_capacity(2);
        for (l, shape) in shapes.iter().enumerate() {
            let n = shape[0] * shape[1];
            if weights[l].len() != n {
                return Err(Error::Shape(format!(
                    "layer {l}: {} weights for {shape:?}",
                    weights[l].len()
                )));
            }
            let delay_raw = match delays {
                None => None,
                Some(d) => {
                    if d[l].len() != n {
                        return Err(Error::Shape(format!(
                            "layer {l}: {} delays for {shape:?}",
                            d[l].len()
                        )));
                    }
                    let raw = d[l]
                        .iter()
                        .map(|&d| {
                            let u = d / self.max_delay;
                            if u > 0.0 && u < 1.0 {
                                Ok((u / (1.0 - u)).ln())
                            } else {
                                Err(Error::InvalidConfig(format!(
                                    "delay {d} outside (0, {})",
                                    self.max_delay
                                )))
                            }
                        })
                        .collect::<Result<Vec<_>>>()?;
                    Some(param(raw, *shape, device))
                }
            };
            layers.push(SurrogateLinear {
                weight: param(weights[l].to_vec(), *shape, device),
                delay_raw,
            });
        }
        let output = layers
            .pop()
            .ok_or_else(|| Error::Shape("no layers".into()))?;
        let hidden = layers
            .pop()
            .ok_or_else(|| Error::Shape("no layers".into()))?;
        Ok(SurrogateNetwork {
            hidden,
            output,
            sim,
        })
    }
}

fn param<B: Backend>(v: Vec<f64>, shape: [usize; 2], device: &B::Device) -> Param<Tensor<B, 2>> {
    Param::from_tensor(Tensor::from_data(TensorData::new(v, shape), device))
}

fn constant<B: Backend, const D: usize>(
    v: Vec<f64>,
    shape: [usize; D],
    device: &B::Device,
) -> Tensor<B, D> {
    Tensor::from_data(TensorData::new(v, shape), device)
}

impl<B: Backend> SurrogateNetwork<B> {
    /// Number of trainable scalars (weights plus delays).
    pub fn num_trainable(&self) -> usize {
        self.hidden.num_trainable() + self.output.num_trainable()
    }

    /// The fixed part of the simulation.
    pub fn simulation(&self) -> &Simulation {
        &self.sim
    }

    /// The same network with another delay kernel (to anneal a Gaussian's width).
    pub fn with_delay_taps(mut self, taps: DelayTaps) -> Result<Self> {
        taps.validate()?;
        self.sim.taps = taps;
        Ok(self)
    }

    /// Membrane potentials `[batch, n_out, steps]` of a layer for presynaptic traces `x`
    /// `[batch, n_in, steps]`: PSP traces when `filtered`, spike trains otherwise (then the
    /// currents are filtered with the PSP kernel here).
    fn potentials(
        &self,
        layer: &SurrogateLinear<B>,
        x: Tensor<B, 3>,
        filtered: bool,
    ) -> Result<Tensor<B, 3>> {
        let [batch, n_in, steps] = x.dims();
        let weight = layer.weight.val();
        let [_, n_out] = weight.dims();
        let device = x.device();
        let current = match layer.delays(self.sim.max_delay) {
            None => x
                .swap_dims(1, 2)
                .reshape([batch * steps, n_in])
                .matmul(weight)
                .reshape([batch, steps, n_out])
                .swap_dims(1, 2),
            Some(d) => {
                let positions = d.div_scalar(self.sim.grid.dt);
                let host = tensor_values(positions.clone())?;
                delayed_currents(x, weight, positions, &host, self.sim.taps, self.sim.grid.dt)?
            }
        };
        if filtered {
            return Ok(current);
        }
        let m = constant::<B, 2>(toeplitz(&self.sim.kernel), [steps, steps], &device);
        Ok(current
            .reshape([batch * n_out, steps])
            .matmul(m)
            .reshape([batch, n_out, steps]))
    }

    /// Forward pass for input spike times `[batch, d_input]` (+inf = no spike; times must be
    /// >= 0, spikes after the horizon are dropped). Typed errors on bad shapes or times.
    pub fn try_forward(&self, input_times: Tensor<B, 2>) -> Result<SurrogateOutput<B>> {
        let [batch, n_in] = input_times.dims();
        let d_in = self.hidden.weight.dims()[0];
        if n_in != d_in {
            return Err(Error::Shape(format!(
                "network expects {d_in} input times per sample, got {n_in}"
            )));
        }
        let device = input_times.device();
        let times = tensor_values(input_times)?;
        let grid = self.sim.grid;
        let steps = grid.steps();
        let theta = self.sim.theta();

        // Input layer: PSP traces of the input spikes placed on the grid (no gradient needed).
        let p = input_traces(&times, batch, n_in, &grid, &self.sim.kernel)?;
        let p = constant::<B, 3>(p, [batch, n_in, steps], &device);
        let v1 = self.potentials(&self.hidden, p, true)?;
        let n_hidden = v1.dims()[1];

        // Hidden spikes: the first crossing (detected on the values), straight-through surrogate.
        let v1_host = tensor_values(v1.clone())?;
        let first = first_crossings(&v1_host, steps, theta);
        let mut spikes = vec![0.0; batch * n_hidden * steps];
        let mut mask = vec![1.0; batch * n_hidden * steps];
        let mut hidden_times = vec![f64::INFINITY; batch * n_hidden];
        for (row, n) in first.iter().enumerate() {
            if let Some(n) = *n {
                spikes[row * steps + n] = 1.0;
                mask[row * steps + n + 1..(row + 1) * steps].fill(0.0);
                hidden_times[row] = n as f64 * grid.dt;
            }
        }
        let shape = [batch, n_hidden, steps];
        let s1 = self.sim.surrogate.spike(
            v1.sub_scalar(theta),
            constant(spikes, shape, &device),
            constant(mask, shape, &device),
        );

        let v2 = self.potentials(&self.output, s1, false)?;
        let n_out = v2.dims()[1];
        let output = match self.sim.readout {
            Readout::MaxMembrane => v2.max_dim(2).reshape([batch, n_out]),
            Readout::FirstSpike => {
                let v2_host = tensor_values(v2.clone())?;
                let first = first_crossings(&v2_host, steps, theta);
                // Silent neurons (and a crossing at step 0, impossible since h[0] = 0) read
                // steps 0 and 1 and are masked to +inf below.
                let at: Vec<i64> = first
                    .iter()
                    .map(|n| n.filter(|&n| n >= 1).unwrap_or(1) as i64)
                    .collect();
                let silent: Vec<bool> = first
                    .iter()
                    .map(|n| !matches!(n, Some(n) if *n >= 1))
                    .collect();
                let idx = |off: i64| {
                    Tensor::<B, 3, Int>::from_data(
                        TensorData::new(at.iter().map(|a| a - off).collect(), [batch, n_out, 1]),
                        &device,
                    )
                };
                let v_n = v2.clone().gather(2, idx(0)).reshape([batch, n_out]);
                let v_p = v2.gather(2, idx(1)).reshape([batch, n_out]);
                let silent = Tensor::<B, 2, Bool>::from_data(
                    TensorData::new(silent, [batch, n_out]),
                    &device,
                );
                // Guard the denominator of silent entries so no 0/0 enters the backward pass.
                let denom = v_n.sub(v_p.clone()).mask_fill(silent.clone(), 1.0);
                let frac = v_p.neg().add_scalar(theta).div(denom);
                let base = constant::<B, 2>(
                    at.iter().map(|&a| (a - 1) as f64).collect(),
                    [batch, n_out],
                    &device,
                );
                frac.add(base)
                    .mul_scalar(grid.dt)
                    .mask_fill(silent, f64::INFINITY)
            }
        };
        Ok(SurrogateOutput {
            hidden_times,
            output,
        })
    }

    /// Mean loss of a batch: DelGrad's shift-invariant MSE on the interpolated spike times
    /// ([`Readout::FirstSpike`]) or cross-entropy on the max-membrane scores.
    pub fn loss(&self, output: Tensor<B, 2>, labels: Tensor<B, 1, Int>) -> Tensor<B, 1> {
        match self.sim.readout {
            Readout::FirstSpike => {
                SpikeLoss::mse().forward(output, labels, self.sim.neuron.tau_syn)
            }
            Readout::MaxMembrane => {
                let [batch, _] = output.dims();
                log_softmax(output, 1)
                    .gather(1, labels.reshape([batch, 1]))
                    .neg()
                    .mean()
            }
        }
    }

    /// Number of correctly classified samples: first output spike (no spike is wrong), or
    /// largest score.
    pub fn correct(&self, output: Tensor<B, 2>, labels: Tensor<B, 1, Int>) -> usize {
        match self.sim.readout {
            Readout::FirstSpike => count_correct(output, labels),
            Readout::MaxMembrane => {
                let [batch, _] = output.dims();
                let pred = output.argmax(1).reshape([batch]);
                pred.equal(labels).int().sum().into_scalar().elem::<i64>() as usize
            }
        }
    }
}
