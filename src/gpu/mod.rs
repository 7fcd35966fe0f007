//! The spiking op on Burn's CubeCL backends (`burn::backend::Wgpu`, behind the `wgpu` feature):
//! [`SpikeBackend`] for `CubeBackend<R, F, I, B>`, so `Autodiff<Wgpu>` trains the same modules
//! with DelGrad's exact gradients on a GPU.
//!
//! The forward pass runs one GPU thread per (sample, neuron): an arrival-order kernel ranks or
//! heap-sorts the arrivals (once per sample when every neuron sees the same order, per neuron for
//! synaptic delays), then the causal-set scan stops at the first valid candidate. The backward
//! pass needs no order: a per-spike kernel forms the causal sums from the output time and stores
//! the coefficients of the partial derivatives; per-input and per-synapse kernels then sum them.
//! Computation is in the backend's float type (f32 on wgpu); `tests/gpu.rs` checks it against the
//! f64 CPU kernel.
//!
//! Chip perturbations (`HardwareAware<Wgpu>`) are applied as on the CPU: per-neuron thresholds,
//! and the same arrival-jitter draws, generated on the host and uploaded with the call.

mod kernels;

use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Shape, Tensor, TensorData, TensorMetadata, TensorPrimitive};
use burn_cubecl::element::BoolElement;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::{empty_device, zeros_client};
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{CubeBackend, CubeRuntime, FloatElement, IntElement};
use cubecl::prelude::*;

use crate::backend::{check_delay_shape, check_output_shapes, layer_dims, SpikeBackend, SpikeOp};
use crate::error::{Error, Result};
use crate::kernel;
use crate::neuron::TauRatio;
use crate::types::{DelayKind, Delays, LayerDims, SpikeGradients};

fn kind_code(kind: DelayKind) -> u32 {
    match kind {
        DelayKind::None => kernels::KIND_NONE,
        DelayKind::Axonal => kernels::KIND_AXONAL,
        DelayKind::Synaptic => kernels::KIND_SYNAPTIC,
        DelayKind::Dendritic => kernels::KIND_DENDRITIC,
    }
}

/// A 1-D float tensor of backend `B` from host values.
fn upload<B: Backend>(values: Vec<f64>, device: &B::Device) -> FloatTensor<B> {
    let n = values.len();
    Tensor::<B, 1>::from_data(TensorData::new(values, [n]), device)
        .into_primitive()
        .tensor()
}

fn float<B: Backend>(t: FloatTensor<B>) -> Tensor<B, 1> {
    // Reductions only: the rank of the wrapper does not matter.
    Tensor::from_primitive(TensorPrimitive::Float(t))
}

/// Host values of a float tensor as f64.
fn download<B: Backend>(t: FloatTensor<B>) -> Result<Vec<f64>> {
    float::<B>(t)
        .into_data()
        .convert::<f64>()
        .into_vec::<f64>()
        .map_err(|e| Error::Shape(format!("cannot read tensor: {e:?}")))
}

/// The value checks of `kernel::validate` (input times finite or +inf, weights and delays
/// finite), with one small read-back; the offending entry is located on the host only on failure.
fn validate_values<B: Backend>(
    dims: LayerDims,
    input: &FloatTensor<B>,
    weights: &FloatTensor<B>,
    delays: &Delays<FloatTensor<B>>,
) -> Result<()> {
    let t_in = float::<B>(input.clone());
    let bad_input = t_in
        .clone()
        .is_nan()
        .bool_or(t_in.equal_elem(f64::NEG_INFINITY))
        .any();
    let bad_weights = float::<B>(weights.clone()).is_finite().bool_not().any();
    let mut flags = vec![bad_input, bad_weights];
    if let Some(d) = delays.values() {
        flags.push(float::<B>(d.clone()).is_finite().bool_not().any());
    }
    let any_bad = Tensor::cat(flags, 0).any().into_scalar();
    if !burn::tensor::ElementConversion::elem::<bool>(any_bad) {
        return Ok(());
    }
    let t_in = download::<B>(input.clone())?;
    let w = download::<B>(weights.clone())?;
    let d = delays.values().cloned().map(download::<B>).transpose()?;
    kernel::validate(
        dims,
        &t_in,
        &w,
        &Delays::from_kind(delays.kind(), d.as_deref()),
    )?;
    Err(Error::Shape(
        "non-finite values found on the device but not on the host".into(),
    ))
}

/// What every launch needs: contiguous tensors, the neuron's scalars, per-neuron c.
#[derive(Clone)]
struct Prepared<R: CubeRuntime> {
    dims: LayerDims,
    kind: DelayKind,
    ratio_one: bool,
    input: CubeTensor<R>,
    weights: CubeTensor<R>,
    /// The delays, or a one-element placeholder without delays.
    delays: CubeTensor<R>,
    /// This call's arrival jitter (`ArrivalJitter::values`), or a one-element placeholder.
    jitter: CubeTensor<R>,
    jittered: bool,
    /// Up to this many inputs, arrival orders are found by ranking (one thread per arrival,
    /// O(n) each); above, by a heap sort per row (O(n log n) per row).
    rank_max_inputs: usize,
    c: CubeTensor<R>,
    params: CubeTensor<R>,
}

fn prepare<R, F, I, BT>(
    input: CubeTensor<R>,
    weights: CubeTensor<R>,
    delays: Delays<CubeTensor<R>>,
    op: &SpikeOp,
    check_values: bool,
) -> Result<Prepared<R>>
where
    R: CubeRuntime,
    F: FloatElement,
    I: IntElement,
    BT: BoolElement,
{
    type B<R, F, I, BT> = CubeBackend<R, F, I, BT>;
    let dims = layer_dims(&input.shape(), &weights.shape())?;
    let kind = delays.kind();
    if let Some(d) = delays.values() {
        check_delay_shape(dims, kind, &d.shape())?;
    }
    for (name, t) in [("input times", &input), ("weights", &weights)]
        .into_iter()
        .chain(delays.values().map(|d| ("delays", d)))
    {
        if t.dtype != F::dtype() {
            return Err(Error::Shape(format!(
                "{name} have dtype {:?}; this backend's spiking op computes in {:?}",
                t.dtype,
                F::dtype()
            )));
        }
    }
    if check_values {
        validate_values::<B<R, F, I, BT>>(dims, &input, &weights, &delays)?;
    }
    let params = op.lif.params();
    // The CPU kernel's very draws, so both backends see the same chip.
    let jitter = op
        .perturbation
        .as_ref()
        .and_then(|p| p.arrival_jitter)
        .map(|j| j.values(kind, dims))
        .filter(|v| !v.is_empty());
    let thresholds = match op.perturbation.as_ref().and_then(|p| p.thresholds.clone()) {
        Some(t) => {
            if t.len() != dims.n_out {
                return Err(Error::Shape(format!(
                    "{} thresholds for {} neurons",
                    t.len(),
                    dims.n_out
                )));
            }
            t
        }
        None => vec![params.threshold; dims.n_out],
    };
    let c: Vec<f64> = thresholds
        .iter()
        .map(|th| params.g_leak * (th - params.leak))
        .collect();
    let device = input.device.clone();
    let clip = op.gradients.weight_grad_clip.unwrap_or(-1.0);
    let mut scalars = vec![0.0; kernels::N_PARAMS];
    scalars[kernels::P_TAU_SYN] = params.tau_syn;
    scalars[kernels::P_TAU_MEM] = params.tau_mem;
    scalars[kernels::P_EPS] = params.eps;
    scalars[kernels::P_CLIP] = clip;
    scalars[kernels::P_INF] = f64::INFINITY;
    let delays = match delays.into_values() {
        Some(d) => into_contiguous(d),
        None => upload::<B<R, F, I, BT>>(vec![0.0], &device),
    };
    let jittered = jitter.is_some();
    Ok(Prepared {
        dims,
        kind,
        jitter: upload::<B<R, F, I, BT>>(jitter.unwrap_or_else(|| vec![0.0]), &device),
        jittered,
        rank_max_inputs: RANK_MAX_INPUTS,
        ratio_one: op.lif.ratio() == TauRatio::One,
        input: into_contiguous(input),
        weights: into_contiguous(weights),
        delays,
        c: upload::<B<R, F, I, BT>>(c, &device),
        params: upload::<B<R, F, I, BT>>(scalars, &device),
    })
}

fn launch_size<R: CubeRuntime>(client: &ComputeClient<R>, n: usize) -> (CubeCount, CubeDim) {
    let cube_dim = CubeDim::new(client, n.max(1));
    (
        cubecl::calculate_cube_count_elemwise(client, n.max(1), cube_dim),
        cube_dim,
    )
}

/// Widest layer whose arrival orders are found by ranking rather than sorting.
const RANK_MAX_INPUTS: usize = 64;

/// Entries of arrival-order scratch one forward launch may use (256 MiB of u32).
const MAX_ORDER_ENTRIES: usize = 1 << 26;

/// Forward pass of the rows `input` (a slice of the batch) of a prepared layer.
fn forward_rows<R: CubeRuntime, F: FloatElement>(
    p: &Prepared<R>,
    input: CubeTensor<R>,
    jitter: CubeTensor<R>,
    groups: usize,
    order_kind: DelayKind,
) -> CubeTensor<R> {
    let LayerDims { n_in, n_out, .. } = p.dims;
    let batch = input.shape()[0];
    let client = input.client.clone();
    let device = input.device.clone();
    let output = empty_device::<R, F>(client.clone(), device.clone(), Shape::new([batch, n_out]));
    if batch * n_out == 0 {
        return output;
    }
    let order = empty_device::<R, u32>(
        client.clone(),
        device,
        Shape::new([batch, groups, n_in.max(1)]),
    );
    if n_in > p.rank_max_inputs {
        let (count, dim) = launch_size(&client, batch * groups);
        kernels::arrival_sort_kernel::launch::<F, R>(
            &client,
            count,
            dim,
            input.clone().into_tensor_arg(),
            p.delays.clone().into_tensor_arg(),
            jitter.clone().into_tensor_arg(),
            order.clone().into_tensor_arg(),
            kind_code(order_kind),
            p.jittered,
        );
    } else if n_in > 0 {
        let (count, dim) = launch_size(&client, batch * groups * n_in);
        kernels::arrival_order_kernel::launch::<F, R>(
            &client,
            count,
            dim,
            input.clone().into_tensor_arg(),
            p.delays.clone().into_tensor_arg(),
            jitter.clone().into_tensor_arg(),
            order.clone().into_tensor_arg(),
            kind_code(order_kind),
            p.jittered,
        );
    }
    let (count, dim) = launch_size(&client, batch * n_out);
    kernels::spike_forward_kernel::launch::<F, R>(
        &client,
        count,
        dim,
        input.into_tensor_arg(),
        p.weights.clone().into_tensor_arg(),
        p.delays.clone().into_tensor_arg(),
        jitter.into_tensor_arg(),
        order.into_tensor_arg(),
        p.c.clone().into_tensor_arg(),
        p.params.clone().into_tensor_arg(),
        output.clone().into_tensor_arg(),
        p.ratio_one,
        kind_code(p.kind),
        p.jittered,
    );
    output
}

/// The forward pass of a prepared layer, in slices of the batch whose arrival-order scratch
/// stays within `max_order_entries`.
fn forward_in_slices<R, F, I, BT>(p: &Prepared<R>, max_order_entries: usize) -> CubeTensor<R>
where
    R: CubeRuntime,
    F: FloatElement,
    I: IntElement,
    BT: BoolElement,
{
    let LayerDims { batch, n_in, n_out } = p.dims;
    // Every neuron of a sample sees its inputs in one order unless delays are per synapse
    // (dendritic delays shift a neuron's inputs alike).
    let (groups, order_kind) = match p.kind {
        DelayKind::Synaptic => (n_out, DelayKind::Synaptic),
        DelayKind::Axonal => (1, DelayKind::Axonal),
        DelayKind::None | DelayKind::Dendritic => (1, DelayKind::None),
    };
    // The arrival orders are scratch of batch x groups x n_in entries: large batches of wide
    // layers with synaptic delays go through in slices that keep it bounded.
    let rows = (max_order_entries / (groups * n_in).max(1)).max(1);
    if batch <= rows {
        return forward_rows::<R, F>(p, p.input.clone(), p.jitter.clone(), groups, order_kind);
    }
    let input = Tensor::<CubeBackend<R, F, I, BT>, 2>::from_primitive(TensorPrimitive::Float(
        p.input.clone(),
    ));
    let jitter = Tensor::<CubeBackend<R, F, I, BT>, 1>::from_primitive(TensorPrimitive::Float(
        p.jitter.clone(),
    ));
    // Jitter draws per sample (see `ArrivalJitter::values`): a row range is a key range.
    let per_row = match p.kind {
        DelayKind::None => 0,
        DelayKind::Axonal => n_in,
        DelayKind::Synaptic => n_in * n_out,
        DelayKind::Dendritic => n_out,
    };
    let chunks: Vec<Tensor<CubeBackend<R, F, I, BT>, 2>> = (0..batch)
        .step_by(rows)
        .map(|start| {
            let end = (start + rows).min(batch);
            let rows_in = into_contiguous(
                input
                    .clone()
                    .slice([start..end, 0..n_in])
                    .into_primitive()
                    .tensor(),
            );
            let rows_jitter = if p.jittered {
                into_contiguous(
                    jitter
                        .clone()
                        .slice(start * per_row..end * per_row)
                        .into_primitive()
                        .tensor(),
                )
            } else {
                p.jitter.clone()
            };
            Tensor::from_primitive(TensorPrimitive::Float(forward_rows::<R, F>(
                p,
                rows_in,
                rows_jitter,
                groups,
                order_kind,
            )))
        })
        .collect();
    into_contiguous(Tensor::cat(chunks, 0).into_primitive().tensor())
}

impl<R, F, I, BT> SpikeBackend for CubeBackend<R, F, I, BT>
where
    R: CubeRuntime,
    F: FloatElement,
    I: IntElement,
    BT: BoolElement,
{
    fn spike_forward(
        input: FloatTensor<Self>,
        weights: FloatTensor<Self>,
        delays: Delays<FloatTensor<Self>>,
        op: &SpikeOp,
    ) -> Result<FloatTensor<Self>> {
        let p = prepare::<R, F, I, BT>(input, weights, delays, op, true)?;
        Ok(forward_in_slices::<R, F, I, BT>(&p, MAX_ORDER_ENTRIES))
    }

    fn spike_backward(
        input: FloatTensor<Self>,
        weights: FloatTensor<Self>,
        delays: Delays<FloatTensor<Self>>,
        output: FloatTensor<Self>,
        grad_output: FloatTensor<Self>,
        op: &SpikeOp,
    ) -> Result<SpikeGradients<FloatTensor<Self>>> {
        // Values were checked by the forward pass that produced `output`.
        let p = prepare::<R, F, I, BT>(input, weights, delays, op, false)?;
        let LayerDims { batch, n_in, n_out } = p.dims;
        check_output_shapes(p.dims, &output.shape(), &grad_output.shape())?;
        let client = p.input.client.clone();
        let device = p.input.device.clone();
        // The kernels write every entry they are launched for; with nothing to compute the
        // gradients are zero.
        let launched = batch * n_out * n_in > 0;
        let buffer = |shape: Vec<usize>| {
            let shape = Shape::from(shape);
            if launched {
                empty_device::<R, F>(client.clone(), device.clone(), shape)
            } else {
                zeros_client::<R>(client.clone(), device.clone(), shape, F::dtype())
            }
        };
        let grad_input = buffer(vec![batch, n_in]);
        let grad_weights = buffer(vec![n_in, n_out]);
        let kind = p.kind;
        // Written by the synapse kernel for synaptic delays only; a placeholder otherwise.
        let grad_delays_synaptic = buffer(if kind == DelayKind::Synaptic {
            vec![n_in, n_out]
        } else {
            vec![1]
        });
        let output = into_contiguous(output);
        let grad_output = into_contiguous(grad_output);
        let coef = buffer(vec![batch, n_out, 4]);
        let dt_sum = buffer(vec![batch, n_out]);
        let code = kind_code(kind);
        if launched {
            let (count, dim) = launch_size(&client, batch * n_out);
            kernels::spike_coefficients_kernel::launch::<F, R>(
                &client,
                count,
                dim,
                p.input.clone().into_tensor_arg(),
                p.weights.clone().into_tensor_arg(),
                p.delays.clone().into_tensor_arg(),
                output.clone().into_tensor_arg(),
                grad_output.into_tensor_arg(),
                p.c.into_tensor_arg(),
                p.params.clone().into_tensor_arg(),
                coef.clone().into_tensor_arg(),
                dt_sum.clone().into_tensor_arg(),
                p.ratio_one,
                code,
            );
            let (count, dim) = launch_size(&client, batch * n_in);
            kernels::grad_input_kernel::launch::<F, R>(
                &client,
                count,
                dim,
                p.input.clone().into_tensor_arg(),
                p.weights.clone().into_tensor_arg(),
                p.delays.clone().into_tensor_arg(),
                output.clone().into_tensor_arg(),
                coef.clone().into_tensor_arg(),
                p.params.clone().into_tensor_arg(),
                grad_input.clone().into_tensor_arg(),
                p.ratio_one,
                code,
            );
            let (count, dim) = launch_size(&client, n_in * n_out);
            kernels::grad_synapse_kernel::launch::<F, R>(
                &client,
                count,
                dim,
                p.input.into_tensor_arg(),
                p.weights.into_tensor_arg(),
                p.delays.into_tensor_arg(),
                output.into_tensor_arg(),
                coef.into_tensor_arg(),
                p.params.into_tensor_arg(),
                grad_weights.clone().into_tensor_arg(),
                grad_delays_synaptic.clone().into_tensor_arg(),
                p.ratio_one,
                code,
            );
        }
        // Axonal: dt/dd_i = dt/dt_i, summed over samples; dendritic: sum_i dt/dt_i per spike.
        let sum_rows = |t: CubeTensor<R>, rows: usize, cols: usize| -> CubeTensor<R> {
            float::<Self>(t)
                .reshape([rows, cols])
                .sum_dim(0)
                .reshape([cols])
                .into_primitive()
                .tensor()
        };
        let delays = match kind {
            DelayKind::None => None,
            DelayKind::Axonal => Some(sum_rows(grad_input.clone(), batch, n_in)),
            DelayKind::Synaptic => Some(grad_delays_synaptic),
            DelayKind::Dendritic => Some(sum_rows(dt_sum, batch, n_out)),
        };
        Ok(SpikeGradients {
            input: grad_input,
            weights: grad_weights,
            delays,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{ArrivalJitter, Perturbation};
    use crate::neuron::LifParams;
    use crate::types::GradientOptions;
    use burn::backend::wgpu::{Wgpu, WgpuDevice};
    use std::sync::Arc;

    type G = Wgpu<f32, i32, u32>;

    fn host(t: CubeTensor<burn::backend::wgpu::WgpuRuntime>) -> Vec<f32> {
        Tensor::<G, 2>::from_primitive(TensorPrimitive::Float(t))
            .into_data()
            .into_vec::<f32>()
            .unwrap()
    }

    /// Slicing the batch (to bound the arrival-order scratch) and sorting instead of ranking change
    /// nothing, jitter included.
    #[test]
    fn batch_slices_give_the_same_times() {
        let device = WgpuDevice::default();
        let (batch, n_in, n_out) = (37, 9, 6);
        let mut op = SpikeOp::new(LifParams::hardware(), GradientOptions::exact()).unwrap();
        op.perturbation = Some(Arc::new(Perturbation {
            thresholds: None,
            arrival_jitter: Some(ArrivalJitter { std: 0.05, seed: 3 }),
        }));
        let values = |n: usize, scale: f64, offset: f64| -> Vec<f64> {
            (0..n)
                .map(|k| offset + scale * ((k * 7919 % 101) as f64 / 101.0))
                .collect()
        };
        let input = Tensor::<G, 2>::from_data(
            TensorData::new(values(batch * n_in, 2.0, 0.0), [batch, n_in]),
            &device,
        );
        let weights = Tensor::<G, 2>::from_data(
            TensorData::new(values(n_in * n_out, 4.0, -0.3), [n_in, n_out]),
            &device,
        );
        for kind in [DelayKind::Axonal, DelayKind::Synaptic, DelayKind::Dendritic] {
            let shape = kind.shape(n_in, n_out);
            let d = <G as burn::tensor::ops::FloatTensorOps<G>>::float_from_data(
                TensorData::new(values(kind.len(n_in, n_out), 0.5, 0.0), shape).convert::<f32>(),
                &device,
            );
            let p = prepare::<_, f32, i32, u32>(
                input.clone().into_primitive().tensor(),
                weights.clone().into_primitive().tensor(),
                Delays::from_kind(kind, Some(d)),
                &op,
                true,
            )
            .unwrap();
            let whole = host(forward_in_slices::<_, f32, i32, u32>(&p, usize::MAX));
            let sliced = host(forward_in_slices::<_, f32, i32, u32>(&p, 5 * n_in * n_out));
            // The heap sort finds the same orders as the ranking.
            let mut by_sort = p.clone();
            by_sort.rank_max_inputs = 1;
            let sorted = host(forward_in_slices::<_, f32, i32, u32>(
                &by_sort,
                5 * n_in * n_out,
            ));
            let same_sorted = whole
                .iter()
                .zip(&sorted)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same_sorted, "{kind}: {whole:?} vs {sorted:?}");
            assert_eq!(whole.len(), batch * n_out);
            assert!(whole.iter().filter(|t| t.is_finite()).count() > whole.len() / 4);
            let same = whole
                .iter()
                .zip(&sliced)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "{kind}: {whole:?} vs {sliced:?}");
        }
    }
}
