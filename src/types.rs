//! The crate's vocabulary: where delays sit and their values ([`DelayKind`], [`Delays`]), the
//! backward pass's options ([`GradientOptions`]), the dimensions of one layer evaluation
//! ([`LayerDims`]) and the gradients it returns ([`SpikeGradients`]). Shared by the kernels, the
//! Burn op, the layer and the file format.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where a layer's transmission delays sit, which fixes their shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DelayKind {
    /// No delays.
    #[default]
    None,
    /// One delay per presynaptic neuron, `[n_in]`.
    Axonal,
    /// One delay per synapse, `[n_in, n_out]`.
    Synaptic,
    /// One delay per postsynaptic neuron, `[n_out]`.
    Dendritic,
}

impl DelayKind {
    /// Number of delay values for a layer of this shape.
    pub fn len(self, n_in: usize, n_out: usize) -> usize {
        match self {
            DelayKind::None => 0,
            DelayKind::Axonal => n_in,
            DelayKind::Synaptic => n_in * n_out,
            DelayKind::Dendritic => n_out,
        }
    }

    /// Tensor shape of the delays of a layer (empty for `None`).
    pub fn shape(self, n_in: usize, n_out: usize) -> Vec<usize> {
        match self {
            DelayKind::None => vec![],
            DelayKind::Axonal => vec![n_in],
            DelayKind::Synaptic => vec![n_in, n_out],
            DelayKind::Dendritic => vec![n_out],
        }
    }

    /// Name as used in files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            DelayKind::None => "none",
            DelayKind::Axonal => "axonal",
            DelayKind::Synaptic => "synaptic",
            DelayKind::Dendritic => "dendritic",
        }
    }
}

impl std::str::FromStr for DelayKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "none" => Ok(DelayKind::None),
            "axonal" => Ok(DelayKind::Axonal),
            "synaptic" => Ok(DelayKind::Synaptic),
            "dendritic" => Ok(DelayKind::Dendritic),
            other => Err(Error::InvalidConfig(format!(
                "unknown delay kind `{other}` (expected none, axonal, synaptic or dendritic)"
            ))),
        }
    }
}

impl std::fmt::Display for DelayKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Delays of a layer together with their kind.
///
/// `T` holds the one-dimensional kinds (axonal `[n_in]`, dendritic `[n_out]`) and `S` the
/// synaptic `[n_in, n_out]` one. Flat forms (slices, vectors, tensor primitives) use one type for
/// both; the tensor form [`LayerDelays`](crate::LayerDelays) gives each kind a tensor of its own
/// rank.
#[derive(Debug, Clone, PartialEq)]
pub enum Delays<T, S = T> {
    /// No delays.
    None,
    /// `[n_in]`: one delay per presynaptic neuron.
    Axonal(T),
    /// `[n_in, n_out]` (row-major when flat): one delay per synapse.
    Synaptic(S),
    /// `[n_out]`: one delay per postsynaptic neuron.
    Dendritic(T),
}

impl<T, S> Delays<T, S> {
    /// The kind of these delays.
    pub fn kind(&self) -> DelayKind {
        match self {
            Delays::None => DelayKind::None,
            Delays::Axonal(_) => DelayKind::Axonal,
            Delays::Synaptic(_) => DelayKind::Synaptic,
            Delays::Dendritic(_) => DelayKind::Dendritic,
        }
    }

    /// Same kind, values transformed: by `f` for the one-dimensional kinds, by `g` for the
    /// synaptic one.
    pub fn map_each<U, V>(self, f: impl FnOnce(T) -> U, g: impl FnOnce(S) -> V) -> Delays<U, V> {
        match self {
            Delays::None => Delays::None,
            Delays::Axonal(t) => Delays::Axonal(f(t)),
            Delays::Synaptic(s) => Delays::Synaptic(g(s)),
            Delays::Dendritic(t) => Delays::Dendritic(f(t)),
        }
    }

    /// Same kind, values borrowed.
    pub fn as_ref(&self) -> Delays<&T, &S> {
        match self {
            Delays::None => Delays::None,
            Delays::Axonal(t) => Delays::Axonal(t),
            Delays::Synaptic(s) => Delays::Synaptic(s),
            Delays::Dendritic(t) => Delays::Dendritic(t),
        }
    }
}

impl<T> Delays<T> {
    /// The delay values, if any.
    pub fn values(&self) -> Option<&T> {
        match self {
            Delays::None => None,
            Delays::Axonal(t) | Delays::Synaptic(t) | Delays::Dendritic(t) => Some(t),
        }
    }

    /// Consumes into the delay values, if any.
    pub fn into_values(self) -> Option<T> {
        match self {
            Delays::None => None,
            Delays::Axonal(t) | Delays::Synaptic(t) | Delays::Dendritic(t) => Some(t),
        }
    }

    /// Same kind, values transformed.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Delays<U> {
        Delays::from_kind(self.kind(), self.into_values().map(f))
    }

    /// Same kind, the values' fallible transformation, or its first error.
    pub fn try_map<U, E>(self, f: impl FnOnce(T) -> Result<U, E>) -> Result<Delays<U>, E> {
        let kind = self.kind();
        Ok(Delays::from_kind(
            kind,
            self.into_values().map(f).transpose()?,
        ))
    }

    /// Builds delays of `kind` from values (ignored for `None`; `None` values with another kind
    /// give `Delays::None`).
    pub fn from_kind(kind: DelayKind, values: Option<T>) -> Self {
        match (kind, values) {
            (DelayKind::Axonal, Some(v)) => Delays::Axonal(v),
            (DelayKind::Synaptic, Some(v)) => Delays::Synaptic(v),
            (DelayKind::Dendritic, Some(v)) => Delays::Dendritic(v),
            _ => Delays::None,
        }
    }
}

/// Options of the backward pass. The default computes exact gradients;
/// [`GradientOptions::reference`] adds the reference implementation's safeguard, a training
/// option that every published Yin-Yang preset uses.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct GradientOptions {
    /// Per (sample, neuron): when the largest |dL/dt * dt/dw_i| exceeds this, that neuron's
    /// weight-gradient row for that sample is dropped (delay and input-time gradients are kept).
    /// `None` (the default) keeps every row: the exact gradient.
    pub weight_grad_clip: Option<f64>,
}

impl GradientOptions {
    /// The weight-gradient clip of the reference implementation.
    pub const REFERENCE_CLIP: f64 = 0.2;

    /// Exact gradients with no clipping; the same as the default.
    pub fn exact() -> Self {
        Self::default()
    }

    /// Weight-gradient rows whose largest entry exceeds `clip` are dropped (see
    /// [`weight_grad_clip`](Self::weight_grad_clip)). A safeguard for training: it keeps a
    /// neuron whose spike barely crosses the threshold, and so has a huge gradient, from
    /// throwing its weights far off.
    pub fn clipped(clip: f64) -> Self {
        Self {
            weight_grad_clip: Some(clip),
        }
    }

    /// The reference implementation's training safeguard, `clipped(0.2)`; the Yin-Yang presets
    /// train with it.
    pub fn reference() -> Self {
        Self::clipped(Self::REFERENCE_CLIP)
    }
}

/// Dimensions of one layer evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerDims {
    /// Samples in the batch.
    pub batch: usize,
    /// Presynaptic neurons.
    pub n_in: usize,
    /// Postsynaptic neurons.
    pub n_out: usize,
}

/// Gradients of a scalar loss with respect to the op's inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct SpikeGradients<T> {
    /// d L / d input times, `[batch, n_in]`.
    pub input: T,
    /// d L / d weights, `[n_in, n_out]`.
    pub weights: T,
    /// d L / d delays, in the delays' shape (`None` without delays).
    pub delays: Option<T>,
}
