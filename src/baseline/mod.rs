//! Discrete-time surrogate-gradient baselines: the same LIF neurons as DelGrad (same tau_s, tau_m,
//! threshold; each fires at most once), simulated on a time grid of step `dt` and trained by
//! backpropagation through time with Burn's autodiff and a surrogate derivative, the standard
//! alternative to DelGrad's exact event-based gradients.
//!
//! * [`simulator`]: the grid, the exact per-step update written as a PSP kernel on the grid,
//!   input spikes placed on the grid, first crossings and their interpolation;
//! * [`surrogate`]: the spike nonlinearity (straight-through with SuperSpike's fast sigmoid);
//! * [`delays`]: learnable synaptic delays as interpolated taps of a delay buffer (linear, or
//!   a Gaussian kernel with annealed width as in DCLS);
//! * [`model`]: [`SurrogateNetworkConfig`] + [`SurrogateNetwork`], readouts (a) first-spike
//!   times with DelGrad's shift-invariant MSE and (b) max-over-time of non-spiking leaky outputs
//!   with cross-entropy;
//! * [`training`]: the training loop on the Yin-Yang splits ([`train_baseline`]);
//! * [`ann`]: not spiking at all: a same-size ReLU MLP ([`train_ann`]), the conventional
//!   reference point on any classification data.
//!
//! Model, step by step. Input spikes are placed on the nearest grid point. A hidden neuron's
//! membrane `V[n]` is the exact solution at `t = n dt` (exact exponential propagation of current
//! and membrane between steps); it spikes at the first step with `V[n] >= theta` and is silent
//! afterwards; its spike reaches the next layer at that step (plus the synapse's delay). An
//! output neuron's spike time is the first crossing interpolated linearly between the two
//! steps around it. Hidden spikes are therefore quantised to the grid: the simulator's spike
//! times converge to DelGrad's exact ones with an error of order `dt` (tested in
//! `tests/baseline.rs`).

pub mod ann;
pub mod delays;
pub mod model;
pub mod simulator;
pub mod surrogate;
pub mod training;

pub use ann::{train_ann, AnnConfig, AnnResult, Mlp};
pub use delays::{delayed_currents, DelayTaps};
pub use model::{
    Readout, SurrogateLinear, SurrogateNetwork, SurrogateNetworkConfig, SurrogateOutput,
};
pub use simulator::{TimeGrid, DEFAULT_HORIZON};
pub use surrogate::Surrogate;
pub use training::{train_baseline, BaselineBackend, BaselineRunSummary, BaselineTrainConfig};
