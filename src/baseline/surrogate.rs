//! Surrogate derivatives for the spike nonlinearity.
//!
//! Burn has no custom-gradient Heaviside, so the spike is a straight-through construction:
//! `s = H + (g(x) - detach(g(x)))`, whose forward value is exactly the Heaviside step `H` (the two
//! `g` terms cancel bit for bit) and whose derivative is `g'(x)`. For SuperSpike's fast sigmoid
//! (Zenke & Ganguli 2018) `g(x) = x / (1 + k |x|)`, since
//! `d/dx [x / (1 + k|x|)] = 1 / (1 + k|x|)^2` on both sides of 0.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The surrogate derivative used in place of the Heaviside's Dirac delta.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Surrogate {
    /// SuperSpike's fast sigmoid: `dS/dV = 1 / (1 + slope |V - theta|)^2`; `slope` in units of
    /// 1 / (membrane unit), with theta = 1 for the ideal neuron.
    FastSigmoid {
        /// Steepness; larger is closer to the true (zero almost everywhere) derivative.
        slope: f64,
    },
}

impl Default for Surrogate {
    fn default() -> Self {
        Surrogate::FastSigmoid { slope: 10.0 }
    }
}

impl Surrogate {
    /// Checks the slope is finite and positive ([`Error::InvalidConfig`] otherwise).
    pub fn validate(&self) -> Result<()> {
        match *self {
            Surrogate::FastSigmoid { slope } if slope.is_finite() && slope > 0.0 => Ok(()),
            Surrogate::FastSigmoid { slope } => Err(Error::InvalidConfig(format!(
                "surrogate slope must be finite and positive, got {slope}"
            ))),
        }
    }

    /// The surrogate derivative at distance `x = V - theta` from the threshold.
    pub fn derivative(&self, x: f64) -> f64 {
        match *self {
            Surrogate::FastSigmoid { slope } => 1.0 / (1.0 + slope * x.abs()).powi(2),
        }
    }

    /// A smooth function whose derivative is the surrogate (`x / (1 + slope |x|)`).
    pub fn primitive<B: Backend, const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        match *self {
            Surrogate::FastSigmoid { slope } => {
                let denom = x.clone().abs().mul_scalar(slope).add_scalar(1.0);
                x.div(denom)
            }
        }
    }

    /// Spike trains with the straight-through surrogate: the forward value is `spikes` (the
    /// Heaviside step, computed by the caller), the gradient with respect to `x = V - theta` is
    /// `derivative(x) * mask`. `mask` is 1 where the neuron may still fire (up to and including
    /// its first spike) and 0 afterwards: a TTFS neuron is silenced after its first spike, and
    /// that refractoriness is held fixed (detached) during backpropagation, as the field does
    /// with resets.
    pub fn spike<B: Backend, const D: usize>(
        &self,
        x: Tensor<B, D>,
        spikes: Tensor<B, D>,
        mask: Tensor<B, D>,
    ) -> Tensor<B, D> {
        let g = self.primitive(x).mul(mask);
        spikes.add(g.clone().sub(g.detach()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, NdArray};
    use burn::tensor::TensorData;

    type B = Autodiff<NdArray<f64>>;

    #[test]
    fn straight_through_has_heaviside_value_and_fast_sigmoid_gradient() {
        let dev = Default::default();
        let s = Surrogate::FastSigmoid { slope: 5.0 };
        let xs = [-0.4, -0.1, 0.0, 0.3];
        let x = Tensor::<B, 1>::from_data(TensorData::from(xs), &dev).require_grad();
        let h = Tensor::<B, 1>::from_data(TensorData::from([0.0, 0.0, 1.0, 1.0]), &dev);
        let m = Tensor::<B, 1>::from_data(TensorData::from([1.0, 1.0, 1.0, 0.0]), &dev);
        let y = s.spike(x.clone(), h, m);
        let vals = y.clone().into_data().to_vec::<f64>().unwrap();
        assert_eq!(vals, vec![0.0, 0.0, 1.0, 1.0]);
        let grads = y.sum().backward();
        let g = x.grad(&grads).unwrap().into_data().to_vec::<f64>().unwrap();
        for k in 0..3 {
            assert!((g[k] - s.derivative(xs[k])).abs() < 1e-12, "{k}: {}", g[k]);
        }
        assert_eq!(g[3], 0.0);
    }
}
