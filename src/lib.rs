//! # delgrad
//!
//! Exact, event-based gradients for the weights and transmission delays of spiking neural
//! networks (the DelGrad method), on the Burn deep-learning framework.
//!
//! Layers of the crate, bottom up:
//! * [`types`]: the shared vocabulary (delay kinds and values, gradient options, dimensions);
//! * [`neuron`] and [`lambert`]: the f64 math core (spike times, causal sets, derivatives);
//! * [`kernel`]: batched CPU kernels over slices, parallel over samples;
//! * [`backend`]: the [`SpikeBackend`] extension trait with its autodiff backward;
//! * [`functional`]: the spiking op as a function on tensors ([`spike`], [`try_spike`]);
//! * [`layer`]: the [`SpikingLinear`] module; [`model`]: the [`SpikingNetwork`] stack of them;
//! * [`network`]: the `delgrad-network` JSON file format;
//! * [`hardware`]: the chip-aware backend decorator `HardwareAware<B>`.
//!
//! With the default feature `trainer` (off with `default-features = false`, for crates that only
//! want the layer):
//! * `trainer`: a general classifier trainer on Burn's learner, for any depth and any data;
//! * `experiment`, `sweep`: Yin-Yang, digits and MNIST runs with all their outputs, grids of runs;
//! * `plots`: the figures;
//! * `baseline`: discrete-time surrogate-gradient networks and a conventional ANN, for comparison.
#![warn(missing_docs)]

// The README's Rust examples are compiled and run as doc tests (with the default features: one
// of them uses the trainer).
#[cfg(all(doctest, feature = "trainer"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub mod backend;
#[cfg(feature = "trainer")]
pub mod baseline;
pub mod data;
pub mod encoding;
pub mod error;
#[cfg(feature = "trainer")]
pub mod experiment;
pub mod functional;
#[cfg(feature = "wgpu")]
pub mod gpu;
pub mod hardware;
pub mod io;
pub mod kernel;
pub mod lambert;
pub mod layer;
pub mod loss;
pub mod model;
pub mod network;
pub mod neuron;
#[cfg(feature = "trainer")]
pub mod plots;
#[cfg(feature = "trainer")]
pub mod sweep;
#[cfg(feature = "trainer")]
pub mod trainer;
pub mod types;

pub use backend::{FusedLoss, LayerDelays, SpikeBackend, SpikeOp};
pub use error::{Error, Result};
pub use functional::{spike, try_spike};
pub use layer::{DelayMap, SpikingLinear, SpikingLinearConfig};
pub use loss::first_spike_class;
pub use model::SpikingNetwork;
pub use network::{DelaysFile, Encoding, LayerFile, NetworkFile, NeuronSection};
pub use neuron::{Lif, LifParams, TauRatio};
pub use types::{DelayKind, Delays, GradientOptions, LayerDims, SpikeGradients};
