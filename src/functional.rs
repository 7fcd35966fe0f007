//! The spiking op as a function on tensors, for code that keeps its own weights and delays
//! rather than a [`SpikingLinear`](crate::SpikingLinear) module (as `burn::tensor::module`
//! offers the ops behind `burn::nn`).
//!
//! Delays are **effective** delays, each kind in its own shape (see
//! [`LayerDelays`]); the layer's positivity parameterisation is not applied.
//! On an autodiff backend the result is differentiable with respect to input times, weights and
//! delays, with DelGrad's exact gradients.

use burn::tensor::{Tensor, TensorPrimitive};

use crate::backend::{LayerDelays, SpikeBackend, SpikeOp};
use crate::error::{Error, Result};

/// First-spike times of a layer of LIF neurons (+inf = no spike), or a typed error for
/// mismatched shapes or invalid values (input times NaN or -inf, non-finite weights or delays).
///
/// # Shapes
/// - input: `[..., n_in]` (leading dimensions are batch dimensions)
/// - weights: `[n_in, n_out]`
/// - delays: axonal `[n_in]`, synaptic `[n_in, n_out]`, dendritic `[n_out]`
/// - output: `[..., n_out]`
pub fn try_spike<B: SpikeBackend, const D: usize>(
    input: Tensor<B, D>,
    weights: Tensor<B, 2>,
    delays: LayerDelays<B>,
    op: &SpikeOp,
) -> Result<Tensor<B, D>> {
    let mut shape = input.dims();
    let [n_in, n_out] = weights.dims();
    let Some((last, leading)) = shape.split_last_mut() else {
        return Err(Error::Shape(
            "input times need at least one dimension, [..., n_in]".into(),
        ));
    };
    if *last != n_in {
        return Err(Error::Shape(format!(
            "input times have {} values per sample but weights have {n_in} rows",
            *last
        )));
    }
    // The op works on [batch, n_in]: other ranks are flattened around it. A rank-2 input is
    // passed as it is, because a reshape copies the data on some backends (NdArray), even to
    // the same shape, and adds a node to the autodiff graph.
    let batch = leading.iter().product::<usize>();
    *last = n_out;
    let input = if D == 2 {
        input.into_primitive().tensor()
    } else {
        input.reshape([batch, n_in]).into_primitive().tensor()
    };
    let out = B::spike_forward(
        input,
        weights.into_primitive().tensor(),
        delays.into_primitive(),
        op,
    )?;
    Ok(if D == 2 {
        Tensor::<B, D>::from_primitive(TensorPrimitive::Float(out))
    } else {
        Tensor::<B, 2>::from_primitive(TensorPrimitive::Float(out)).reshape(shape)
    })
}

/// First-spike times of a layer, see [`try_spike`].
///
/// # Panics
/// On mismatched shapes or invalid values; [`try_spike`] returns the error instead.
pub fn spike<B: SpikeBackend, const D: usize>(
    input: Tensor<B, D>,
    weights: Tensor<B, 2>,
    delays: LayerDelays<B>,
    op: &SpikeOp,
) -> Tensor<B, D> {
    try_spike(input, weights, delays, op).unwrap_or_else(|e| panic!("spike: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neuron::LifParams;
    use crate::types::{Delays, GradientOptions};
    use burn::backend::{Autodiff, NdArray};
    use burn::tensor::TensorData;

    type Ad = Autodiff<NdArray<f64>>;

    fn tensor2(values: Vec<f64>, shape: [usize; 2]) -> Tensor<Ad, 2> {
        Tensor::from_data(TensorData::new(values, shape), &Default::default())
    }

    fn values<B: burn::tensor::backend::Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
        t.into_data().to_vec::<f64>().unwrap()
    }

    /// Contiguous tensors reach the kernels borrowed, strided ones (here transposed) through a
    /// copy in row-major order: both must give the same spike times and gradients.
    #[test]
    fn strided_tensors_give_the_same_times_and_gradients_as_contiguous_ones() {
        let (batch, n_in, n_out) = (3, 4, 2);
        let input: Vec<f64> = (0..batch * n_in)
            .map(|k| 0.1 + 0.07 * ((k * 5) % 11) as f64)
            .collect();
        let weights: Vec<f64> = (0..n_in * n_out)
            .map(|k| 0.9 + 0.3 * ((k * 3) % 7) as f64)
            .collect();
        let delays: Vec<f64> = (0..n_in * n_out)
            .map(|k| 0.05 * ((k * 2) % 5) as f64)
            .collect();
        let op = SpikeOp::new(LifParams::ideal(), GradientOptions::default()).unwrap();
        let run = |strided: bool| {
            let make = |v: &[f64], rows: usize, cols: usize| {
                if strided {
                    // Stored as [cols, rows], read through a transposed (strided) view.
                    tensor2(crate::kernel::transpose(v, rows, cols), [cols, rows]).transpose()
                } else {
                    tensor2(v.to_vec(), [rows, cols])
                }
                .require_grad()
            };
            let (x, w, d) = (
                make(&input, batch, n_in),
                make(&weights, n_in, n_out),
                make(&delays, n_in, n_out),
            );
            let out = try_spike(x.clone(), w.clone(), Delays::Synaptic(d.clone()), &op).unwrap();
            let grads = out.clone().sum().backward();
            let grad = |t: &Tensor<Ad, 2>| values(t.grad(&grads).unwrap());
            (values(out), grad(&x), grad(&w), grad(&d))
        };
        let contiguous = run(false);
        assert!(
            contiguous.0.iter().all(|t| t.is_finite()),
            "every neuron spikes: {:?}",
            contiguous.0
        );
        assert_eq!(run(true), contiguous);
    }
}
