//! The spiking op as a Burn backend extension: [`SpikeBackend`], implemented for NdArray (the CPU
//! kernel) and for `Autodiff<B, C>` with a hand-written backward that registers DelGrad's exact
//! gradients; autodiff records nothing inside the spike computation.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::backend::ndarray::{
    FloatNdArrayElement, IntNdArrayElement, NdArray, NdArrayTensor, QuantElement,
};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::ops::{FloatTensor, IntTensor};
use burn::tensor::{DType, Scalar, Shape, TensorData, TensorMetadata};
use burn::tensor::{Tensor, TensorPrimitive};

use crate::error::{Error, Result};
use std::borrow::Cow;
use std::sync::Arc;

use crate::hardware::ChipBinding;
use crate::kernel::{self, Perturbation};
use crate::loss::SpikeLoss;
use crate::neuron::{Lif, LifParams};
use crate::types::{Delays, GradientOptions, LayerDims, SpikeGradients};

/// Everything the spiking op needs besides tensors: the neuron, the backward options and, for
/// chip-aware training, the layer's chip binding.
#[derive(Debug, Clone)]
pub struct SpikeOp {
    /// The validated neuron.
    pub lif: Lif,
    /// Safeguards of the backward pass.
    pub gradients: GradientOptions,
    /// The chip this layer runs on. Only a chip-aware backend (`HardwareAware`) applies it;
    /// every other backend computes the ideal model.
    pub chip: Option<Arc<ChipBinding>>,
    /// Deviations for this one call, set by a chip-aware backend for the backend it wraps.
    /// Private to the crate: only `HardwareAware` may make a backend compute a perturbed model.
    pub(crate) perturbation: Option<Arc<Perturbation>>,
}

impl SpikeOp {
    /// Validates the neuron parameters.
    pub fn new(params: LifParams, gradients: GradientOptions) -> Result<Self> {
        Ok(Self {
            lif: params.build()?,
            gradients,
            chip: None,
            perturbation: None,
        })
    }

    /// The same op bound to a chip.
    pub fn with_chip(self, chip: Option<Arc<ChipBinding>>) -> Self {
        Self { chip, ..self }
    }

    /// The nominal op: no chip, no perturbation (what the backward pass uses).
    pub fn nominal(&self) -> Self {
        Self {
            chip: None,
            perturbation: None,
            ..self.clone()
        }
    }
}

/// A backend that can run the exact spiking op.
///
/// Shapes: input spike times `[batch, n_in]`, weights `[n_in, n_out]`, delays `[n_in]` (axonal),
/// `[n_in, n_out]` (synaptic) or `[n_out]` (dendritic); output spike times `[batch, n_out]`, with
/// +inf for "no spike" everywhere.
pub trait SpikeBackend: Backend {
    /// First-spike times of a layer of LIF neurons.
    fn spike_forward(
        input: FloatTensor<Self>,
        weights: FloatTensor<Self>,
        delays: Delays<FloatTensor<Self>>,
        op: &SpikeOp,
    ) -> Result<FloatTensor<Self>>;

    /// Exact gradients of a scalar loss with respect to input times, weights and delays, given
    /// the forward's inputs, its output and `grad_output = dL/d output`.
    fn spike_backward(
        input: FloatTensor<Self>,
        weights: FloatTensor<Self>,
        delays: Delays<FloatTensor<Self>>,
        output: FloatTensor<Self>,
        grad_output: FloatTensor<Self>,
        op: &SpikeOp,
    ) -> Result<SpikeGradients<FloatTensor<Self>>>;

    /// [`spike_forward`](Self::spike_forward) for a pass whose backward pass will run: also
    /// returns what [`spike_backward_reusing`](Self::spike_backward_reusing) can reuse instead
    /// of computing it again. Defaults to keeping nothing.
    fn spike_forward_for_backward(
        input: FloatTensor<Self>,
        weights: FloatTensor<Self>,
        delays: Delays<FloatTensor<Self>>,
        op: &SpikeOp,
    ) -> Result<(FloatTensor<Self>, ForwardResiduals)> {
        Ok((
            Self::spike_forward(input, weights, delays, op)?,
            ForwardResiduals::default(),
        ))
    }

    /// [`spike_backward`](Self::spike_backward) given the residuals of the forward pass that
    /// produced `output` from the same input, weights and delays. Defaults to ignoring them.
    fn spike_backward_reusing(
        input: FloatTensor<Self>,
        weights: FloatTensor<Self>,
        delays: Delays<FloatTensor<Self>>,
        output: FloatTensor<Self>,
        grad_output: FloatTensor<Self>,
        op: &SpikeOp,
        residuals: &ForwardResiduals,
    ) -> Result<SpikeGradients<FloatTensor<Self>>> {
        let _ = residuals;
        Self::spike_backward(input, weights, delays, output, grad_output, op)
    }

    /// Whether the op runs on the CPU kernels of `delgrad::kernel` (parallel over samples on
    /// rayon's workers), which the trainer then keeps awake between calls. Defaults to `false`.
    fn runs_cpu_kernels() -> bool {
        false
    }

    /// A batch's loss on output spike times `[batch, classes]` with its gradient and the decision
    /// scores, fused into one host pass ([`SpikeLoss::pass`]) where the backend's values live on
    /// the host. `None` (the default) tells the caller to compose it from tensor ops
    /// ([`SpikeLoss::forward`], [`decision_scores`](crate::loss::decision_scores)); on an autodiff
    /// backend the returned loss is differentiable with respect to `times`.
    fn spike_loss(
        times: FloatTensor<Self>,
        labels: IntTensor<Self>,
        loss: &SpikeLoss,
        tau_syn: f64,
    ) -> Option<Result<FusedLoss<Self>>> {
        let _ = (times, labels, loss, tau_syn);
        None
    }

    /// The fraction of samples in which each neuron stayed silent, for `times` `[batch, n]`,
    /// read on the host where the backend allows it; `None` (the default) tells the caller to
    /// compute it with tensor ops.
    fn silent_fractions(times: FloatTensor<Self>) -> Option<Vec<f64>> {
        let _ = times;
        None
    }

    /// Delays from their raw parameters, `shift + scale * sigmoid(raw)`, as one op where the
    /// backend has one; `None` (the default) tells the caller to compose the tensor ops
    /// ([`logistic`](crate::layer::logistic)). On an autodiff backend it is one graph node
    /// instead of six, computing the same inner operations in the same order forward and
    /// backward, so values and gradients are the tensor form's to the last bit.
    fn delay_map(raw: FloatTensor<Self>, scale: f64, shift: f64) -> Option<FloatTensor<Self>> {
        let _ = (raw, scale, shift);
        None
    }
}

/// Backward of the fused delay map: the backward passes of the tensor form's `add_scalar`,
/// `mul_scalar`, `recip`, `add_scalar`, `exp` and `neg`, in turn, as Burn's autodiff computes
/// them (which also recomputes `e^{-raw}` and takes `1 + e^{-raw}` from the same operations).
#[derive(Debug)]
struct DelayMapBackward;

impl<B: Backend> Backward<B, 1> for DelayMapBackward {
    /// The raw parameters and `scale`.
    type State = (FloatTensor<B>, f64);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_raw] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let Some(node) = node_raw else {
            return;
        };
        let (raw, scale) = ops.state;
        let dtype = raw.dtype();
        let e = B::float_exp(B::float_neg(raw));
        let denominator = B::float_add_scalar(e.clone(), Scalar::new(1.0, &dtype));
        let grad = B::float_mul_scalar(grad, Scalar::new(scale, &dtype));
        let d_recip = B::float_neg(B::float_powi_scalar(denominator, (-2).into()));
        let grad = B::float_mul(B::float_mul(grad, d_recip), e);
        grads.register::<B>(node.id, B::float_neg(grad));
    }
}

/// What a forward pass of the spiking op computed that its backward pass can reuse (the CPU
/// kernels with synaptic delays: every sample's input factors, one exponential per input).
/// Opaque; empty for backends and passes that keep nothing.
#[derive(Debug, Clone, Default)]
pub struct ForwardResiduals(Option<Arc<kernel::InputFactors>>);

/// What [`SpikeBackend::spike_loss`] returns.
#[derive(Debug, Clone)]
pub struct FusedLoss<B: Backend> {
    /// Mean loss over the batch, `[1]`.
    pub loss: FloatTensor<B>,
    /// d loss / d times, `[batch, classes]` (a constant).
    pub grad: FloatTensor<B>,
    /// Decision scores, `[batch, classes]` (a constant).
    pub scores: FloatTensor<B>,
}

/// Layer dimensions from the shapes of input times and weights, checking that they fit.
pub fn layer_dims(input: &Shape, weights: &Shape) -> Result<LayerDims> {
    if input.num_dims() != 2 || weights.num_dims() != 2 {
        return Err(Error::Shape(format!(
            "input times must be [batch, n_in] and weights [n_in, n_out], got {:?} and {:?}",
            input.as_slice(),
            weights.as_slice()
        )));
    }
    if input[1] != weights[0] {
        return Err(Error::Shape(format!(
            "input times have {} columns but weights have {} rows",
            input[1], weights[0]
        )));
    }
    Ok(LayerDims {
        batch: input[0],
        n_in: input[1],
        n_out: weights[1],
    })
}

pub(crate) fn check_delay_shape(
    dims: LayerDims,
    kind: crate::types::DelayKind,
    shape: &Shape,
) -> Result<()> {
    let expected = kind.shape(dims.n_in, dims.n_out);
    if shape.as_slice() != expected.as_slice() {
        return Err(Error::Shape(format!(
            "{kind} delays must have shape {expected:?}, got {:?}",
            shape.as_slice()
        )));
    }
    Ok(())
}

/// Checks that the output times and their error signal of a backward call are `[batch, n_out]`.
pub(crate) fn check_output_shapes(
    dims: LayerDims,
    output: &Shape,
    grad_output: &Shape,
) -> Result<()> {
    let out_shape = [dims.batch, dims.n_out];
    for (name, shape) in [("output", output), ("grad_output", grad_output)] {
        if shape.as_slice() != out_shape {
            return Err(Error::Shape(format!(
                "{name} must have shape {out_shape:?}, got {:?}",
                shape.as_slice()
            )));
        }
    }
    Ok(())
}

/// Values of an NdArray float tensor as f64, in row-major order: borrowed from a contiguous
/// f64 tensor (nearly all of them), copied otherwise.
fn ndarray_values(tensor: &NdArrayTensor) -> Result<Cow<'_, [f64]>> {
    match tensor {
        // An element iterator over a strided view costs several times more than a slice.
        NdArrayTensor::F64(s) => Ok(match s.view().to_slice() {
            Some(values) => Cow::Borrowed(values),
            None => Cow::Owned(s.view().iter().copied().collect()),
        }),
        NdArrayTensor::F32(s) => Ok(Cow::Owned(match s.view().to_slice() {
            Some(values) => values.iter().map(|&v| v as f64).collect(),
            None => s.view().iter().map(|&v| v as f64).collect(),
        })),
        other => Err(Error::Shape(format!(
            "spike op needs f32 or f64 tensors, got {:?}",
            other.dtype()
        ))),
    }
}

/// Values of an NdArray integer tensor as i64, in row-major order.
fn ndarray_ints(tensor: &NdArrayTensor) -> Result<Vec<i64>> {
    macro_rules! widen {
        ($s:expr) => {
            Ok($s.view().iter().map(|&v| i64::from(v)).collect())
        };
    }
    match tensor {
        NdArrayTensor::I64(s) => Ok(match s.view().as_slice() {
            Some(values) => values.to_vec(),
            None => s.view().iter().copied().collect(),
        }),
        NdArrayTensor::I32(s) => widen!(s),
        NdArrayTensor::I16(s) => widen!(s),
        NdArrayTensor::I8(s) => widen!(s),
        NdArrayTensor::U32(s) => widen!(s),
        NdArrayTensor::U16(s) => widen!(s),
        NdArrayTensor::U8(s) => widen!(s),
        other => Err(Error::Shape(format!(
            "labels must be an integer tensor, got {:?}",
            other.dtype()
        ))),
    }
}

/// An NdArray tensor of `dtype` from f64 values.
fn ndarray_tensor(values: Vec<f64>, shape: Vec<usize>, dtype: DType) -> NdArrayTensor {
    let data = match dtype {
        DType::F32 => TensorData::new(values.into_iter().map(|v| v as f32).collect(), shape),
        _ => TensorData::new(values, shape),
    };
    NdArrayTensor::from_data(data)
}

/// The NdArray forward pass, keeping the kernel's input factors if asked (an unperturbed pass
/// only: the backward pass computes the nominal model).
fn ndarray_forward(
    input: NdArrayTensor,
    weights: NdArrayTensor,
    delays: Delays<NdArrayTensor>,
    op: &SpikeOp,
    keep: bool,
) -> Result<(NdArrayTensor, ForwardResiduals)> {
    let dims = layer_dims(&input.shape(), &weights.shape())?;
    if let Some(d) = delays.values() {
        check_delay_shape(dims, delays.kind(), &d.shape())?;
    }
    let dtype = input.dtype();
    let t_in = ndarray_values(&input)?;
    let w = ndarray_values(&weights)?;
    let d = delays.values().map(ndarray_values).transpose()?;
    let d = Delays::from_kind(delays.kind(), d.as_deref());
    kernel::validate(dims, &t_in, &w, &d)?;
    let (out, kept) = match op.perturbation.as_deref() {
        None if keep => kernel::forward_keeping_factors(&op.lif, dims, &t_in, &w, &d),
        perturbation => (
            kernel::forward_perturbed(&op.lif, dims, &t_in, &w, &d, perturbation),
            None,
        ),
    };
    Ok((
        ndarray_tensor(out, vec![dims.batch, dims.n_out], dtype),
        ForwardResiduals(kept.map(Arc::new)),
    ))
}

impl<E: FloatNdArrayElement, I: IntNdArrayElement, Q: QuantElement> SpikeBackend
    for NdArray<E, I, Q>
where
    NdArrayTensor: From<burn::backend::ndarray::SharedArray<E>>,
    NdArrayTensor: From<burn::backend::ndarray::SharedArray<I>>,
{
    fn runs_cpu_kernels() -> bool {
        true
    }

    fn spike_forward(
        input: FloatTensor<Self>,
        weights: FloatTensor<Self>,
        delays: Delays<FloatTensor<Self>>,
        op: &SpikeOp,
    ) -> Result<FloatTensor<Self>> {
        Ok(ndarray_forward(input, weights, delays, op, false)?.0)
    }

    fn spike_forward_for_backward(
        input: FloatTensor<Self>,
        weights: FloatTensor<Self>,
        delays: Delays<FloatTensor<Self>>,
        op: &SpikeOp,
    ) -> Result<(FloatTensor<Self>, ForwardResiduals)> {
        ndarray_forward(input, weights, delays, op, true)
    }

    fn spike_backward(
        input: FloatTensor<Self>,
        weights: FloatTensor<Self>,
        delays: Delays<FloatTensor<Self>>,
        output: FloatTensor<Self>,
        grad_output: FloatTensor<Self>,
        op: &SpikeOp,
    ) -> Result<SpikeGradients<FloatTensor<Self>>> {
        Self::spike_backward_reusing(
            input,
            weights,
            delays,
            output,
            grad_output,
            op,
            &ForwardResiduals::default(),
        )
    }

    fn spike_backward_reusing(
        input: FloatTensor<Self>,
        weights: FloatTensor<Self>,
        delays: Delays<FloatTensor<Self>>,
        output: FloatTensor<Self>,
        grad_output: FloatTensor<Self>,
        op: &SpikeOp,
        residuals: &ForwardResiduals,
    ) -> Result<SpikeGradients<FloatTensor<Self>>> {
        let dims = layer_dims(&input.shape(), &weights.shape())?;
        let kind = delays.kind();
        if let Some(d) = delays.values() {
            check_delay_shape(dims, kind, &d.shape())?;
        }
        check_output_shapes(dims, &output.shape(), &grad_output.shape())?;
        let dtype = input.dtype();
        let t_in = ndarray_values(&input)?;
        let w = ndarray_values(&weights)?;
        let d = delays.values().map(ndarray_values).transpose()?;
        let d = Delays::from_kind(kind, d.as_deref());
        let t_out = ndarray_values(&output)?;
        let g_out = ndarray_values(&grad_output)?;
        let grads = kernel::backward_with_factors(
            &op.lif,
            &op.gradients,
            dims,
            &t_in,
            &w,
            &d,
            &t_out,
            &g_out,
            residuals.0.as_deref(),
        );
        Ok(SpikeGradients {
            input: ndarray_tensor(grads.input, vec![dims.batch, dims.n_in], dtype),
            weights: ndarray_tensor(grads.weights, vec![dims.n_in, dims.n_out], dtype),
            delays: grads
                .delays
                .map(|g| ndarray_tensor(g, kind.shape(dims.n_in, dims.n_out), dtype)),
        })
    }

    fn spike_loss(
        times: FloatTensor<Self>,
        labels: IntTensor<Self>,
        loss: &SpikeLoss,
        tau_syn: f64,
    ) -> Option<Result<FusedLoss<Self>>> {
        let dtype = times.dtype();
        let shape = times.shape().as_slice().to_vec();
        let pass = (|| {
            if shape.len() != 2 {
                return Err(Error::Shape(format!(
                    "output times must be [batch, classes], got {shape:?}"
                )));
            }
            let t = ndarray_values(&times)?;
            let y = ndarray_ints(&labels)?;
            if y.len() != shape[0] {
                return Err(Error::Shape(format!(
                    "{} labels for a batch of {}",
                    y.len(),
                    shape[0]
                )));
            }
            loss.pass(&t, &y, tau_syn)
        })();
        Some(pass.map(|p| FusedLoss {
            loss: ndarray_tensor(vec![p.loss], vec![1], dtype),
            grad: ndarray_tensor(p.grad, shape.clone(), dtype),
            scores: ndarray_tensor(p.scores, shape, dtype),
        }))
    }

    fn silent_fractions(times: FloatTensor<Self>) -> Option<Vec<f64>> {
        let shape = times.shape().as_slice().to_vec();
        let t = ndarray_values(&times).ok()?;
        let [batch, n] = <[usize; 2]>::try_from(shape).ok()?;
        let mut silent = vec![0usize; n];
        for row in t.chunks_exact(n.max(1)) {
            for (count, v) in silent.iter_mut().zip(row) {
                *count += usize::from(v.is_infinite());
            }
        }
        Some(silent.iter().map(|&c| c as f64 / batch as f64).collect())
    }
}

/// State the backward step keeps: the forward's inputs and output (inner-backend primitives).
#[derive(Debug, Clone)]
struct SpikeState<B: Backend> {
    input: FloatTensor<B>,
    weights: FloatTensor<B>,
    delays: Delays<FloatTensor<B>>,
    output: FloatTensor<B>,
    op: SpikeOp,
    residuals: ForwardResiduals,
}

impl<B: SpikeBackend> SpikeState<B> {
    fn gradients(self, grad_output: FloatTensor<B>) -> SpikeGradients<FloatTensor<B>> {
        // Shapes and values were validated by the forward pass that produced this state.
        B::spike_backward_reusing(
            self.input,
            self.weights,
            self.delays,
            self.output,
            grad_output,
            &self.op,
            &self.residuals,
        )
        .expect("spike backward on inputs already validated by its forward pass")
    }
}

#[derive(Debug)]
struct SpikeBackwardNoDelay;

#[derive(Debug)]
struct SpikeBackwardDelay;

impl<B: SpikeBackend> Backward<B, 2> for SpikeBackwardNoDelay {
    type State = SpikeState<B>;

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_input, node_weights] = ops.parents;
        let grad_output = grads.consume::<B>(&ops.node);
        let g = ops.state.gradients(grad_output);
        if let Some(node) = node_input {
            grads.register::<B>(node.id, g.input);
        }
        if let Some(node) = node_weights {
            grads.register::<B>(node.id, g.weights);
        }
    }
}

impl<B: SpikeBackend> Backward<B, 3> for SpikeBackwardDelay {
    type State = SpikeState<B>;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_input, node_weights, node_delays] = ops.parents;
        let grad_output = grads.consume::<B>(&ops.node);
        let g = ops.state.gradients(grad_output);
        if let Some(node) = node_input {
            grads.register::<B>(node.id, g.input);
        }
        if let Some(node) = node_weights {
            grads.register::<B>(node.id, g.weights);
        }
        if let (Some(node), Some(gd)) = (node_delays, g.delays) {
            grads.register::<B>(node.id, gd);
        }
    }
}

/// The fused loss's backward: its gradient was computed with the loss, and is scaled by the
/// gradient arriving at the loss (1 when the loss is the root of the graph).
#[derive(Debug)]
struct FusedLossBackward;

impl<B: Backend> Backward<B, 1> for FusedLossBackward {
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_times] = ops.parents;
        let grad_loss = grads.consume::<B>(&ops.node);
        if let Some(node) = node_times {
            let scale = B::float_reshape(grad_loss, Shape::new([1, 1]));
            grads.register::<B>(node.id, B::float_mul(ops.state, scale));
        }
    }
}

impl<B: SpikeBackend, C: CheckpointStrategy> SpikeBackend for Autodiff<B, C> {
    fn runs_cpu_kernels() -> bool {
        B::runs_cpu_kernels()
    }

    fn spike_loss(
        times: FloatTensor<Self>,
        labels: IntTensor<Self>,
        loss: &SpikeLoss,
        tau_syn: f64,
    ) -> Option<Result<FusedLoss<Self>>> {
        let fused = match B::spike_loss(times.primitive.clone(), labels, loss, tau_syn)? {
            Ok(f) => f,
            Err(e) => return Some(Err(e)),
        };
        let wrap = <Self as AutodiffBackend>::from_inner;
        let loss = match FusedLossBackward
            .prepare::<C>([times.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(fused.grad.clone(), fused.loss),
            OpsKind::UnTracked(prep) => prep.finish(fused.loss),
        };
        Some(Ok(FusedLoss {
            loss,
            grad: wrap(fused.grad),
            scores: wrap(fused.scores),
        }))
    }

    fn silent_fractions(times: FloatTensor<Self>) -> Option<Vec<f64>> {
        B::silent_fractions(times.primitive)
    }

    fn delay_map(raw: FloatTensor<Self>, scale: f64, shift: f64) -> Option<FloatTensor<Self>> {
        let inner = raw.primitive.clone();
        let d = crate::layer::mapped_delays(
            Tensor::<B, 2>::from_primitive(TensorPrimitive::Float(inner.clone())),
            scale,
            shift,
        )
        .into_primitive()
        .tensor();
        Some(
            match DelayMapBackward
                .prepare::<C>([raw.node.clone()])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => prep.finish((inner, scale), d),
                OpsKind::UnTracked(prep) => prep.finish(d),
            },
        )
    }

    fn spike_forward(
        input: FloatTensor<Self>,
        weights: FloatTensor<Self>,
        delays: Delays<FloatTensor<Self>>,
        op: &SpikeOp,
    ) -> Result<FloatTensor<Self>> {
        let inner_delays = delays.as_ref().map(|d| d.primitive.clone());
        // Only a pass whose backward pass will run keeps what that pass can reuse.
        let forward = || {
            B::spike_forward(
                input.primitive.clone(),
                weights.primitive.clone(),
                inner_delays.clone(),
                op,
            )
        };
        let forward_with_state = || {
            let (output, residuals) = B::spike_forward_for_backward(
                input.primitive.clone(),
                weights.primitive.clone(),
                inner_delays.clone(),
                op,
            )?;
            let state = SpikeState::<B> {
                input: input.primitive.clone(),
                weights: weights.primitive.clone(),
                delays: inner_delays.clone(),
                output: output.clone(),
                // The backward pass uses the nominal model with the observed spike times.
                op: op.nominal(),
                residuals,
            };
            Ok::<_, Error>((state, output))
        };
        Ok(match delays.values() {
            None => match SpikeBackwardNoDelay
                .prepare::<C>([input.node.clone(), weights.node.clone()])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => {
                    let (state, output) = forward_with_state()?;
                    prep.finish(state, output)
                }
                OpsKind::UnTracked(prep) => prep.finish(forward()?),
            },
            Some(d) => match SpikeBackwardDelay
                .prepare::<C>([input.node.clone(), weights.node.clone(), d.node.clone()])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => {
                    let (state, output) = forward_with_state()?;
                    prep.finish(state, output)
                }
                OpsKind::UnTracked(prep) => prep.finish(forward()?),
            },
        })
    }

    fn spike_backward(
        input: FloatTensor<Self>,
        weights: FloatTensor<Self>,
        delays: Delays<FloatTensor<Self>>,
        output: FloatTensor<Self>,
        grad_output: FloatTensor<Self>,
        op: &SpikeOp,
    ) -> Result<SpikeGradients<FloatTensor<Self>>> {
        // Gradients of gradients are not tracked: the result is a constant of this graph.
        let g = B::spike_backward(
            input.primitive,
            weights.primitive,
            delays.map(|d| d.primitive),
            output.primitive,
            grad_output.primitive,
            op,
        )?;
        let wrap = <Self as AutodiffBackend>::from_inner;
        Ok(SpikeGradients {
            input: wrap(g.input),
            weights: wrap(g.weights),
            delays: g.delays.map(wrap),
        })
    }
}

/// Delays of a layer as high-level tensors, each in the shape of its kind: axonal `[n_in]`,
/// synaptic `[n_in, n_out]`, dendritic `[n_out]`.
pub type LayerDelays<B> = Delays<Tensor<B, 1>, Tensor<B, 2>>;

impl<B: Backend> LayerDelays<B> {
    /// The op-level form: the kind plus a primitive.
    pub fn into_primitive(self) -> Delays<FloatTensor<B>> {
        self.map_each(
            |t| t.into_primitive().tensor(),
            |t| t.into_primitive().tensor(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Cpu = NdArray<f64>;

    /// The fused delay map on an autodiff backend gives the tensor form's values and gradients
    /// to the last bit, for raw values from the saturated ends to zero.
    #[test]
    fn fused_delay_map_matches_the_tensor_form_bitwise() {
        use burn::backend::Autodiff;
        use rand::rngs::StdRng;
        use rand::{Rng, SeedableRng};
        type Ad = Autodiff<Cpu>;
        let mut rng = StdRng::seed_from_u64(5);
        let (rows, cols) = (7, 5);
        let mut raw: Vec<f64> = (0..rows * cols)
            .map(|_| rng.random_range(-6.0..6.0))
            .collect();
        raw[..5].copy_from_slice(&[0.0, -0.0, 40.0, -40.0, 1e-12]);
        let weights: Vec<f64> = (0..rows * cols)
            .map(|_| rng.random_range(-2.0..2.0))
            .collect();
        let device = Default::default();
        let (scale, shift) = (1.7, 0.05);
        let leaf =
            || Tensor::<Ad, 2>::from_data(TensorData::new(raw.clone(), [rows, cols]), &device);
        let w = Tensor::<Ad, 2>::from_data(TensorData::new(weights, [rows, cols]), &device);
        let bits = |t: Tensor<Cpu, 2>| -> Vec<u64> {
            t.into_data()
                .to_vec::<f64>()
                .unwrap()
                .iter()
                .map(|v| v.to_bits())
                .collect()
        };
        let tensor_form = leaf().require_grad();
        // The tensor form spelled out, not through the function the fused node computes with.
        let d_tensor = crate::layer::logistic(tensor_form.clone())
            .mul_scalar(scale)
            .add_scalar(shift);
        let fused = leaf().require_grad();
        let d_fused = Tensor::<Ad, 2>::from_primitive(TensorPrimitive::Float(
            Ad::delay_map(fused.clone().into_primitive().tensor(), scale, shift).unwrap(),
        ));
        assert_eq!(
            bits(d_tensor.clone().inner()),
            bits(d_fused.clone().inner())
        );
        let g_tensor = (d_tensor * w.clone()).sum().backward();
        let g_fused = (d_fused * w).sum().backward();
        let (a, b) = (
            tensor_form.grad(&g_tensor).unwrap(),
            fused.grad(&g_fused).unwrap(),
        );
        assert_eq!(bits(a.clone()), bits(b));
        assert!(a
            .into_data()
            .to_vec::<f64>()
            .unwrap()
            .iter()
            .any(|&g| g != 0.0));
        // Backends without a fused form leave it to the caller.
        assert!(Cpu::delay_map(leaf().inner().into_primitive().tensor(), scale, shift).is_none());
    }

    /// The NdArray backend's forward pass for a backward pass keeps input factors (synaptic
    /// delays only), and its backward pass gives the same bits with them as without.
    #[test]
    fn ndarray_backward_reusing_the_forward_factors_changes_no_bit() {
        use rand::rngs::StdRng;
        use rand::{Rng, SeedableRng};
        let mut rng = StdRng::seed_from_u64(9);
        let op = SpikeOp::new(LifParams::ideal(), GradientOptions::reference()).unwrap();
        let (batch, n_in, n_out) = (20, 5, 4);
        let mut values = |n: usize, range: std::ops::Range<f64>| -> Vec<f64> {
            (0..n).map(|_| rng.random_range(range.clone())).collect()
        };
        let input = values(batch * n_in, 0.0..2.0);
        let weights = values(n_in * n_out, 0.2..1.5);
        let delays = values(n_in * n_out, 0.0..0.5);
        let grad_output = values(batch * n_out, -1.0..1.0);
        let tensor = |v: &[f64], shape: Vec<usize>| ndarray_tensor(v.to_vec(), shape, DType::F64);
        let x = || tensor(&input, vec![batch, n_in]);
        let w = || tensor(&weights, vec![n_in, n_out]);
        let g = || tensor(&grad_output, vec![batch, n_out]);
        let synaptic = || Delays::Synaptic(tensor(&delays, vec![n_in, n_out]));
        let (output, residuals) =
            Cpu::spike_forward_for_backward(x(), w(), synaptic(), &op).unwrap();
        assert!(residuals.0.is_some());
        let plain_output = Cpu::spike_forward(x(), w(), synaptic(), &op).unwrap();
        let bits = |t: &NdArrayTensor| -> Vec<u64> {
            ndarray_values(t)
                .unwrap()
                .iter()
                .map(|v| v.to_bits())
                .collect()
        };
        assert_eq!(bits(&output), bits(&plain_output));
        assert!(ndarray_values(&output)
            .unwrap()
            .iter()
            .any(|t| t.is_finite()));
        let plain = Cpu::spike_backward(x(), w(), synaptic(), output.clone(), g(), &op).unwrap();
        let reused =
            Cpu::spike_backward_reusing(x(), w(), synaptic(), output.clone(), g(), &op, &residuals)
                .unwrap();
        assert_eq!(bits(&plain.input), bits(&reused.input));
        assert_eq!(bits(&plain.weights), bits(&reused.weights));
        assert_eq!(
            bits(plain.delays.as_ref().unwrap()),
            bits(reused.delays.as_ref().unwrap())
        );
        assert!(ndarray_values(&plain.weights)
            .unwrap()
            .iter()
            .any(|&v| v != 0.0));
        // Other delay kinds keep nothing.
        let axonal = Delays::Axonal(tensor(&delays[..n_in], vec![n_in]));
        let (_, residuals) = Cpu::spike_forward_for_backward(x(), w(), axonal, &op).unwrap();
        assert!(residuals.0.is_none());
    }
}
