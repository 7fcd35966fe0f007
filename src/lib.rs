//! # delgrad
//!
//! Exact, event-based gradients for the weights and transmission delays of spiking neural
//! networks (the DelGrad method), on the Burn deep-learning framework.
//!
//! Layers of the crate, bottom up:
//! * [`neuron`] and [`lambert`]: the f64 math core (spike times, causal sets, derivatives);
//! * [`kernel`]: batched CPU kernels over slices, parallel over samples;
//! * [`backend`]: the [`SpikeBackend`] extension trait with its autodiff backward;
//! * [`layer`]: the [`SpikingLinear`] module;
//! * [`network`]: the `delgrad-network` JSON file format.
#![warn(missing_docs)]

pub mod backend;
pub mod error;
pub mod kernel;
pub mod lambert;
pub mod neuron;

pub use backend::{spike, LayerDelays, SpikeBackend, SpikeOp};
pub use error::{Error, Result};
pub use kernel::{DelayKind, Delays, GradientOptions, LayerDims, SpikeGradients};
pub use neuron::{Lif, LifParams, TauRatio};
