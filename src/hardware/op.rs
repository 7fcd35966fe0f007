//! The spiking op on a chip: [`HardwareAware<B>`] applies the layer's chip binding in the forward
//! pass (weights clipped and quantised, delays limited to the chip's range and grid, threshold
//! offsets and noise, arrival jitter) and runs `B`'s op on the result. The backward pass is `B`'s
//! exact DelGrad backward at the nominal parameters and the observed spike times, as in the
//! paper's chip-in-the-loop training: quantisation is straight-through.

use std::sync::Arc;

use burn::tensor::ops::{FloatTensor, IntTensor};
use burn::tensor::{Tensor, TensorPrimitive};

use super::{ChipProfile, HardwareAware};
use crate::backend::{FusedLoss, SpikeBackend, SpikeOp};
use crate::error::Result;
use crate::loss::SpikeLoss;
use crate::types::{Delays, SpikeGradients};

fn tensor<B: burn::tensor::backend::Backend>(t: FloatTensor<B>) -> Tensor<B, 1> {
    // Element-wise maps only: the rank of the wrapper does not matter, the primitive keeps its shape.
    Tensor::from_primitive(TensorPrimitive::Float(t))
}

/// Weights as the chip realises them.
fn chip_weights<B: SpikeBackend>(w: FloatTensor<B>, p: &ChipProfile) -> FloatTensor<B> {
    if p.weight_max.is_none() && p.weight_step.is_none() {
        return w;
    }
    let mut t = tensor::<B>(w);
    if let Some(m) = p.weight_max {
        t = t.clamp(-m, m);
    }
    if let Some(s) = p.weight_step {
        t = t.div_scalar(s).round().mul_scalar(s);
    }
    t.into_primitive().tensor()
}

/// Delays as the chip realises them (see [`ChipProfile::chip_delay`]).
fn chip_delays<B: SpikeBackend>(d: FloatTensor<B>, p: &ChipProfile) -> FloatTensor<B> {
    if p.delay_range.is_none() && p.delay_step.is_none() {
        return d;
    }
    let mut t = tensor::<B>(d);
    let lo = p.delay_range.map_or(0.0, |r| r.0);
    if let Some((lo, hi)) = p.delay_range {
        t = t.clamp(lo, hi);
    }
    if let Some(s) = p.delay_step {
        t = t
            .sub_scalar(lo)
            .div_scalar(s)
            .round()
            .mul_scalar(s)
            .add_scalar(lo);
        if let Some((lo, hi)) = p.delay_range {
            t = t.clamp(lo, hi);
        }
    }
    t.into_primitive().tensor()
}

impl<B: SpikeBackend> SpikeBackend for HardwareAware<B> {
    fn runs_cpu_kernels() -> bool {
        B::runs_cpu_kernels()
    }

    fn spike_forward(
        input: FloatTensor<Self>,
        weights: FloatTensor<Self>,
        delays: Delays<FloatTensor<Self>>,
        op: &SpikeOp,
    ) -> Result<FloatTensor<Self>> {
        let Some(chip) = &op.chip else {
            return B::spike_forward(input, weights, delays, op);
        };
        let profile = chip.profile();
        let weights = chip_weights::<B>(weights, profile);
        let delays = delays.map(|d| chip_delays::<B>(d, profile));
        let mut on_chip = op.nominal();
        on_chip.perturbation = chip.draw(op.lif.params().threshold).map(Arc::new);
        B::spike_forward(input, weights, delays, &on_chip)
    }

    fn spike_backward(
        input: FloatTensor<Self>,
        weights: FloatTensor<Self>,
        delays: Delays<FloatTensor<Self>>,
        output: FloatTensor<Self>,
        grad_output: FloatTensor<Self>,
        op: &SpikeOp,
    ) -> Result<SpikeGradients<FloatTensor<Self>>> {
        B::spike_backward(input, weights, delays, output, grad_output, &op.nominal())
    }

    fn spike_loss(
        times: FloatTensor<Self>,
        labels: IntTensor<Self>,
        loss: &SpikeLoss,
        tau_syn: f64,
    ) -> Option<Result<FusedLoss<Self>>> {
        // The decorator's primitives are `B`'s: only the struct's type changes.
        B::spike_loss(times, labels, loss, tau_syn).map(|r| {
            r.map(|f| FusedLoss {
                loss: f.loss,
                grad: f.grad,
                scores: f.scores,
            })
        })
    }

    fn silent_fractions(times: FloatTensor<Self>) -> Option<Vec<f64>> {
        B::silent_fractions(times)
    }
}
