//! Losses on output spike times and first-spike decoding, per sample on
//! slices ([`first_spike_class`]) and per batch on tensors.
//!
//! Times are `[batch, classes]` with `+inf` for a neuron that did not spike. Infinite times never
//! enter the autodiff graph: they are masked to a constant first, so a sample whose loss is
//! undefined gets a constant loss and no gradient.

use burn::tensor::backend::Backend;
use burn::tensor::{
    activation::log_softmax, Bool, ElementConversion, Int, Tensor, TensorPrimitive,
};
use serde::{Deserialize, Serialize};

use crate::backend::SpikeBackend;
use crate::error::{Error, Result};

/// The loss functions of docs/model.md.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SpikeLoss {
    /// L = 1/2 sum_k (t_k - t_label - dt [k != label])^2: the label neuron should fire `dt`
    /// before every other; invariant under a common shift of all times. Samples with any silent
    /// output get the constant `silent_loss`.
    ShiftInvariantMse {
        /// Target lead of the label neuron (0.2 ideal, 0.3 hardware-aware).
        dt: f64,
    },
    /// L = -log softmax(-t / (xi tau_s))\[label\] + alpha exp(t_label / (beta tau_s)) (Fast&Deep).
    /// Samples whose label neuron is silent get the constant `silent_loss`.
    TtfsCrossEntropy {
        /// Softmax temperature in units of tau_s (0.2).
        xi: f64,
        /// Weight of the regulariser pushing the label spike early (0.005).
        alpha: f64,
        /// Time scale of the regulariser in units of tau_s (1.0).
        beta: f64,
    },
}

/// Loss given to a sample whose loss is undefined because a required neuron did not spike. It is
/// a constant (no gradient); its value only matters for the reported loss curve.
pub const SILENT_LOSS: f64 = 1.0;

/// Stands in for "no spike" inside loss arithmetic so no infinity enters the graph.
const FAR_FUTURE: f64 = 1e4;

impl SpikeLoss {
    /// The shift-invariant MSE of the ideal presets (dt = 0.2).
    pub fn mse() -> Self {
        SpikeLoss::ShiftInvariantMse { dt: 0.2 }
    }

    /// The TTFS cross-entropy with the Fast&Deep constants.
    pub fn cross_entropy() -> Self {
        SpikeLoss::TtfsCrossEntropy {
            xi: 0.2,
            alpha: 0.005,
            beta: 1.0,
        }
    }

    /// Mean loss over the batch, `[1]`. `tau_syn` is the unit of the cross-entropy's constants.
    pub fn forward<B: Backend>(
        &self,
        times: Tensor<B, 2>,
        labels: Tensor<B, 1, Int>,
        tau_syn: f64,
    ) -> Tensor<B, 1> {
        let [batch, classes] = times.dims();
        let silent = times.clone().is_inf();
        let safe = times.mask_fill(silent.clone(), FAR_FUTURE);
        let labels2 = labels.clone().reshape([batch, 1]);
        let t_label = safe.clone().gather(1, labels2.clone());
        let per_sample = match *self {
            SpikeLoss::ShiftInvariantMse { dt } => {
                let others = labels
                    .clone()
                    .one_hot_fill::<2>(classes, 0.0, 1.0, -1)
                    .float();
                let target = t_label.add(others.mul_scalar(dt));
                let diff = safe.sub(target);
                let l = diff.clone().mul(diff).sum_dim(1).mul_scalar(0.5);
                l.mask_fill(silent.any_dim(1), SILENT_LOSS)
            }
            SpikeLoss::TtfsCrossEntropy { xi, alpha, beta } => {
                let label_silent = silent.int().gather(1, labels2.clone()).equal_elem(1);
                let logits = safe.div_scalar(-xi * tau_syn);
                let nll = log_softmax(logits, 1).gather(1, labels2).neg();
                let reg = t_label.div_scalar(beta * tau_syn).exp().mul_scalar(alpha);
                nll.add(reg).mask_fill(label_silent, SILENT_LOSS)
            }
        };
        per_sample.mean()
    }
}

/// First-spike decoding of one sample: the output neuron that spikes first (lowest index on a
/// tie); `None` when no output neuron spikes, which counts as a wrong answer. +inf (no spike)
/// and NaN never win.
pub fn first_spike_class(times: &[f64]) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (k, &t) in times.iter().enumerate() {
        // Strict `<` keeps the lowest index on ties.
        if t < f64::INFINITY && best.is_none_or(|(_, b)| t < b) {
            best = Some((k, t));
        }
    }
    best.map(|(k, _)| k)
}

/// First-spike decoding of a batch `[batch, classes]` on tensors: each sample's class as in
/// [`first_spike_class`], and whether any of its outputs spiked at all (the class of a sample
/// without spikes is meaningless).
pub fn first_spike_classes<B: Backend>(
    times: Tensor<B, 2>,
) -> (Tensor<B, 1, Int>, Tensor<B, 1, Bool>) {
    let [batch, _] = times.dims();
    let any = times.clone().is_finite().any_dim(1).reshape([batch]);
    let class = times.argmin(1).reshape([batch]);
    (class, any)
}

/// Number of samples classified correctly by first-spike decoding.
pub fn count_correct<B: Backend>(times: Tensor<B, 2>, labels: Tensor<B, 1, Int>) -> usize {
    let (class, any) = first_spike_classes(times);
    let correct = class.equal(labels).bool_and(any);
    correct.int().sum().into_scalar().elem::<i64>() as usize
}

/// Scores whose argmax is the first-spike prediction and which mark samples without any output
/// spike as wrong: `-t`, with silent neurons far below every spike and, for a sample where no
/// output spiked, the label's score lowered further. Lets Burn's accuracy metric count exactly
/// what first-spike decoding counts.
pub fn decision_scores<B: Backend>(times: Tensor<B, 2>, labels: Tensor<B, 1, Int>) -> Tensor<B, 2> {
    let [batch, classes] = times.dims();
    let silent = times.clone().is_inf();
    let none = silent.clone().all_dim(1);
    let scores = times.mask_fill(silent, FAR_FUTURE).neg();
    let label_mask = labels.one_hot_fill::<2>(classes, 1.0, 0.0, -1).float();
    let penalty = label_mask.mask_fill(
        none.bool_not().reshape([batch, 1]).expand([batch, classes]),
        0.0,
    );
    scores.sub(penalty)
}

/// A batch's loss, its gradient and its decision scores from one pass over host values: what
/// [`SpikeLoss::forward`] followed by [`decision_scores`] computes with a dozen tensor ops (and
/// autodiff nodes) per step, here in one loop over `[batch, classes]` values. CPU backends use it
/// through [`SpikeBackend::spike_loss`].
#[derive(Debug, Clone, PartialEq)]
pub struct LossPass {
    /// Mean loss over the batch.
    pub loss: f64,
    /// d loss / d times, `[batch, classes]`: zero for silent neurons and for samples given the
    /// constant [`SILENT_LOSS`].
    pub grad: Vec<f64>,
    /// [`decision_scores`], `[batch, classes]`.
    pub scores: Vec<f64>,
}

impl SpikeLoss {
    /// Mean loss `[1]` and [`decision_scores`] of a batch: one fused host pass on backends that
    /// offer it ([`SpikeBackend::spike_loss`]: the CPU backend, also under autodiff and the
    /// chip-aware decorator), the tensor form ([`SpikeLoss::forward`]) elsewhere. The scores are
    /// constants of the graph either way.
    pub fn forward_with_scores<B: SpikeBackend>(
        &self,
        times: Tensor<B, 2>,
        labels: Tensor<B, 1, Int>,
        tau_syn: f64,
    ) -> Result<(Tensor<B, 1>, Tensor<B, 2>)> {
        let fused = B::spike_loss(
            times.clone().into_primitive().tensor(),
            labels.clone().into_primitive(),
            self,
            tau_syn,
        );
        match fused {
            Some(f) => {
                let f = f?;
                Ok((
                    Tensor::from_primitive(TensorPrimitive::Float(f.loss)),
                    Tensor::from_primitive(TensorPrimitive::Float(f.scores)),
                ))
            }
            None => Ok((
                self.forward(times.clone(), labels.clone(), tau_syn),
                decision_scores(times.detach(), labels),
            )),
        }
    }

    /// [`LossPass`] of output `times` (`[batch, classes]` row-major, +inf = silent) and `labels`.
    /// The same function as the tensor form, with the gradient written out by hand (equal to it
    /// up to round-off, tested against it and against finite differences).
    pub fn pass(&self, times: &[f64], labels: &[i64], tau_syn: f64) -> Result<LossPass> {
        let batch = labels.len();
        if batch == 0 || times.is_empty() || !times.len().is_multiple_of(batch) {
            return Err(Error::Shape(format!(
                "{} output times do not form a batch of {batch} samples",
                times.len()
            )));
        }
        let classes = times.len() / batch;
        let mut grad = vec![0.0; times.len()];
        let mut scores = vec![0.0; times.len()];
        let mut per_sample = Vec::with_capacity(batch);
        // One row of squared differences (MSE) or exponentials (cross-entropy).
        let mut scratch = vec![0.0; classes];
        // Burn's mean: the sum, then one division; the per-sample gradient carries the 1/batch.
        let per_sample_grad = 1.0 / batch as f64;
        for (b, &label) in labels.iter().enumerate() {
            let y = usize::try_from(label)
                .ok()
                .filter(|&y| y < classes)
                .ok_or_else(|| {
                    Error::Shape(format!(
                        "label {label} of sample {b} is not below {classes}"
                    ))
                })?;
            let row = &times[b * classes..(b + 1) * classes];
            let safe = |k: usize| {
                if row[k].is_infinite() {
                    FAR_FUTURE
                } else {
                    row[k]
                }
            };
            let g_row = &mut grad[b * classes..(b + 1) * classes];
            let s_row = &mut scores[b * classes..(b + 1) * classes];
            let silent = row.iter().filter(|t| t.is_infinite()).count();
            for (k, s) in s_row.iter_mut().enumerate() {
                *s = -safe(k);
            }
            if silent == classes {
                s_row[y] -= 1.0;
            }
            let t_label = safe(y);
            per_sample.push(match *self {
                SpikeLoss::ShiftInvariantMse { dt } => {
                    if silent > 0 {
                        SILENT_LOSS
                    } else {
                        let squares = &mut scratch;
                        for (k, (g, sq)) in g_row.iter_mut().zip(squares.iter_mut()).enumerate() {
                            let diff = if k == y {
                                0.0
                            } else {
                                safe(k) - (t_label + dt)
                            };
                            *sq = diff * diff;
                            *g = diff * per_sample_grad;
                        }
                        // The label's time moves every target. Summed as the backend sums a
                        // row, so that the gradient is the tensor form's to the last bit.
                        g_row[y] = -eightfold_sum(g_row);
                        eightfold_sum(squares) * 0.5
                    }
                }
                SpikeLoss::TtfsCrossEntropy { xi, alpha, beta } => {
                    if row[y].is_infinite() {
                        SILENT_LOSS
                    } else {
                        let scale = -xi * tau_syn;
                        let max = (0..classes)
                            .map(|k| safe(k) / scale)
                            .fold(f64::NEG_INFINITY, f64::max);
                        // The row's exponentials, kept for the softmax of the gradient.
                        let exps = &mut scratch;
                        for (k, e) in exps.iter_mut().enumerate() {
                            *e = (safe(k) / scale - max).exp();
                        }
                        let sum: f64 = exps.iter().sum();
                        let nll = -((t_label / scale - max) - sum.ln());
                        let reg = (t_label / (beta * tau_syn)).exp() * alpha;
                        for (k, (g, e)) in g_row.iter_mut().zip(exps.iter()).enumerate() {
                            if row[k].is_infinite() {
                                continue;
                            }
                            let p = e / sum;
                            let dnll = if k == y { p - 1.0 } else { p };
                            *g = dnll / scale * per_sample_grad;
                        }
                        g_row[y] += reg / (beta * tau_syn) * per_sample_grad;
                        nll + reg
                    }
                }
            });
        }
        Ok(LossPass {
            loss: eightfold_sum(&per_sample) / batch as f64,
            grad,
            scores,
        })
    }
}

/// A sum in the order of the CPU backend's sums (eight interleaved partial sums), so the fused
/// loss gives the same values to the last bit as the tensor form it replaces.
fn eightfold_sum(xs: &[f64]) -> f64 {
    let mut lanes = [0.0f64; 8];
    let mut chunks = xs.chunks_exact(8);
    for chunk in &mut chunks {
        for (lane, x) in lanes.iter_mut().zip(chunk) {
            *lane += x;
        }
    }
    let mut acc = 0.0;
    for k in 0..4 {
        acc += lanes[k] + lanes[k + 4];
    }
    for x in chunks.remainder() {
        acc += x;
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, NdArray};
    use burn::tensor::TensorData;

    type B = Autodiff<NdArray<f64>>;

    fn t(v: Vec<f64>, rows: usize) -> Tensor<B, 2> {
        let cols = v.len() / rows;
        Tensor::from_data(TensorData::new(v, [rows, cols]), &Default::default())
    }

    fn labels(v: Vec<i64>) -> Tensor<B, 1, Int> {
        let n = v.len();
        Tensor::from_data(TensorData::new(v, [n]), &Default::default())
    }

    fn scalar(x: Tensor<B, 1>) -> f64 {
        x.into_data().to_vec::<f64>().unwrap()[0]
    }

    #[test]
    fn mse_matches_hand_computation_and_is_shift_invariant() {
        let loss = SpikeLoss::mse();
        let times = t(vec![1.0, 1.3, 1.1, 2.0, 1.5, 1.9], 2);
        let l = scalar(loss.forward(times, labels(vec![0, 1]), 1.0));
        // sample 0: label 1.0 -> targets 1.0, 1.2, 1.2: (0, .1, -.1) -> 0.5 * 0.02 = 0.01
        // sample 1: label 1.5 -> targets 1.7, 1.5, 1.7: (.3, 0, .2) -> 0.5 * 0.13 = 0.065
        assert!((l - (0.01 + 0.065) / 2.0).abs() < 1e-12, "{l}");
        let shifted = t(vec![4.0, 4.3, 4.1, 5.0, 4.5, 4.9], 2);
        let l2 = scalar(loss.forward(shifted, labels(vec![0, 1]), 1.0));
        assert!((l - l2).abs() < 1e-12);
    }

    #[test]
    fn silent_samples_get_a_constant_loss_and_no_gradient() {
        let times = t(vec![1.0, f64::INFINITY, 1.1, 2.0, 1.5, 1.9], 2).require_grad();
        let loss = SpikeLoss::mse().forward(times.clone(), labels(vec![0, 1]), 1.0);
        let grads = loss.backward();
        let g = times
            .grad(&grads)
            .unwrap()
            .into_data()
            .to_vec::<f64>()
            .unwrap();
        assert!(g[..3].iter().all(|v| *v == 0.0), "{g:?}");
        assert!(g[3..].iter().all(|v| v.is_finite()) && g[3..].iter().any(|v| *v != 0.0));

        let times = t(vec![f64::INFINITY, 1.3, 1.1], 1).require_grad();
        let loss = SpikeLoss::cross_entropy().forward(times.clone(), labels(vec![0]), 1.0);
        assert_eq!(scalar(loss.clone()), SILENT_LOSS);
        let g = times
            .grad(&loss.backward())
            .unwrap()
            .into_data()
            .to_vec::<f64>()
            .unwrap();
        assert!(g.iter().all(|v| *v == 0.0));
    }

    #[test]
    fn cross_entropy_matches_hand_computation() {
        let times = t(vec![1.0, 1.3, f64::INFINITY], 1);
        let l = scalar(SpikeLoss::cross_entropy().forward(times, labels(vec![0]), 1.0));
        let (a, b) = ((-1.0f64 / 0.2).exp(), (-1.3f64 / 0.2).exp());
        let want = -(a / (a + b)).ln() + 0.005 * 1.0f64.exp();
        assert!((l - want).abs() < 1e-12, "{l} vs {want}");
    }

    #[test]
    fn first_spike_class_takes_the_earliest_spike_and_the_lowest_index_on_ties() {
        let inf = f64::INFINITY;
        assert_eq!(first_spike_class(&[1.0, 0.5, 2.0]), Some(1));
        assert_eq!(first_spike_class(&[0.5, 0.5, 2.0]), Some(0));
        assert_eq!(first_spike_class(&[inf, 3.0, 3.0]), Some(1));
        assert_eq!(first_spike_class(&[inf, f64::NAN, inf]), None);
        assert_eq!(first_spike_class(&[]), None);
    }

    /// The batched tensor decoding and the per-sample one agree, ties and silent samples
    /// included.
    #[test]
    fn tensor_decoding_agrees_with_the_per_sample_one() {
        let inf = f64::INFINITY;
        let rows = [
            [1.0, 0.5, 2.0],
            [0.5, 0.5, 2.0],
            [inf, 3.0, 3.0],
            [inf, inf, inf],
            [2.0, inf, 1.5],
        ];
        let flat: Vec<f64> = rows.iter().flatten().copied().collect();
        let (class, any) = first_spike_classes(t(flat, rows.len()));
        let class = class.into_data().to_vec::<i64>().unwrap();
        let any = any.into_data().to_vec::<bool>().unwrap();
        for (k, row) in rows.iter().enumerate() {
            let expected = first_spike_class(row);
            assert_eq!(any[k], expected.is_some(), "row {k}");
            if let Some(c) = expected {
                assert_eq!(class[k] as usize, c, "row {k}");
            }
        }
    }

    #[test]
    fn decoding_counts_silent_samples_as_wrong() {
        let inf = f64::INFINITY;
        let times = t(vec![1.0, 0.9, inf, inf, inf, inf, inf, 2.0, inf], 3);
        let lab = labels(vec![1, 0, 1]);
        assert_eq!(count_correct(times.clone(), lab.clone()), 2);
        let scores = decision_scores(times, lab);
        let pred = scores.argmax(1).into_data().to_vec::<i64>().unwrap();
        assert_eq!(pred[0], 1);
        assert_ne!(
            pred[1], 0,
            "a sample without output spikes must not count as correct"
        );
        assert_eq!(pred[2], 1);
    }

    /// Random batches of output times with silent neurons (and whole silent samples) in them.
    fn random_batch(seed: u64, batch: usize, classes: usize) -> (Vec<f64>, Vec<i64>) {
        use rand::rngs::StdRng;
        use rand::{Rng, SeedableRng};
        let mut rng = StdRng::seed_from_u64(seed);
        let times = (0..batch * classes)
            .map(|_| {
                if rng.random_range(0..6) == 0 {
                    f64::INFINITY
                } else {
                    rng.random_range(0.5..3.0)
                }
            })
            .collect();
        let labels = (0..batch)
            .map(|_| rng.random_range(0..classes as i64))
            .collect();
        (times, labels)
    }

    fn losses() -> [SpikeLoss; 3] {
        [
            SpikeLoss::mse(),
            SpikeLoss::cross_entropy(),
            SpikeLoss::TtfsCrossEntropy {
                xi: 0.3,
                alpha: 0.02,
                beta: 2.0,
            },
        ]
    }

    fn values<B2: Backend>(x: Tensor<B2, 2>) -> Vec<f64> {
        x.into_data().to_vec::<f64>().unwrap()
    }

    /// The host pass is the tensor form: the same loss, scores and gradient. The MSE agrees to
    /// the last bit (the default presets train bit for bit as before); the cross-entropy's
    /// gradient differs from Burn's by round-off only, because Burn's backward of a division by
    /// a scalar multiplies by the scalar's reciprocal taken in f32.
    #[test]
    fn host_pass_equals_the_tensor_form() {
        for (seed, (batch, classes)) in [(150, 3), (17, 10), (9, 2), (1, 4)].into_iter().enumerate()
        {
            let (times, y) = random_batch(seed as u64, batch, classes);
            for loss in losses() {
                let tau = 1.7;
                let pass = loss.pass(&times, &y, tau).unwrap();
                let x = t(times.clone(), batch).require_grad();
                let l = loss.forward(x.clone(), labels(y.clone()), tau);
                let grad = values(x.grad(&l.backward()).unwrap());
                let scores = values(decision_scores(t(times.clone(), batch), labels(y.clone())));
                assert_eq!(pass.scores, scores, "{loss:?}");
                let reference = scalar(l);
                match loss {
                    SpikeLoss::ShiftInvariantMse { .. } => {
                        assert_eq!(pass.loss.to_bits(), reference.to_bits(), "{loss:?}");
                        assert_eq!(pass.grad, grad, "{loss:?}");
                    }
                    SpikeLoss::TtfsCrossEntropy { .. } => {
                        assert!((pass.loss - reference).abs() <= 1e-14 * reference.abs());
                        for (a, b) in pass.grad.iter().zip(&grad) {
                            assert!((a - b).abs() <= 1e-7 * b.abs() + 1e-18, "{a} vs {b}");
                            assert_eq!(*a == 0.0, *b == 0.0, "{a} vs {b}");
                        }
                    }
                }
                assert!(pass.grad.iter().any(|g| *g != 0.0), "{loss:?}");
            }
        }
    }

    /// The hand-written gradient against central finite differences of the pass's own loss,
    /// in f64, at every spiking neuron (silent ones have none: their time is not a number).
    #[test]
    fn host_pass_gradient_matches_finite_differences() {
        let (times, y) = random_batch(11, 40, 3);
        for loss in losses() {
            let pass = loss.pass(&times, &y, 1.0).unwrap();
            let h = 1e-6;
            for k in 0..times.len() {
                let at = |dt: f64| {
                    let mut t = times.clone();
                    if t[k].is_finite() {
                        t[k] += dt;
                    }
                    loss.pass(&t, &y, 1.0).unwrap().loss
                };
                let numeric = (at(h) - at(-h)) / (2.0 * h);
                let g = pass.grad[k];
                assert!(
                    (numeric - g).abs() <= 1e-7 * (1.0 + g.abs()),
                    "{loss:?} at {k}: numeric {numeric} vs {g}"
                );
            }
        }
    }

    /// On the autodiff CPU backend the loss goes through the fused op: the loss and scores are
    /// the pass's, the gradient reaching the times is the pass's gradient scaled by the one
    /// arriving at the loss, and the silent fractions are the tensor form's.
    #[test]
    fn fused_op_carries_the_pass_through_autodiff() {
        let (times, y) = random_batch(5, 30, 3);
        for loss in losses() {
            let pass = loss.pass(&times, &y, 1.0).unwrap();
            let x = t(times.clone(), 30).require_grad();
            let (l, scores) = loss
                .forward_with_scores(x.clone(), labels(y.clone()), 1.0)
                .unwrap();
            assert_eq!(scalar(l.clone()).to_bits(), pass.loss.to_bits());
            assert_eq!(values(scores), pass.scores);
            let grad = values(x.grad(&l.mul_scalar(3.0).backward()).unwrap());
            for (a, b) in grad.iter().zip(&pass.grad) {
                assert_eq!(*a, 3.0 * b);
            }
        }
        let x = t(times.clone(), 30);
        let tensor_form = values(x.clone().is_inf().float().mean_dim(0));
        let host = B::silent_fractions(x.into_primitive().tensor()).unwrap();
        assert_eq!(host, tensor_form);
    }

    #[test]
    fn host_pass_rejects_labels_and_shapes_that_do_not_fit() {
        let loss = SpikeLoss::mse();
        assert!(matches!(
            loss.pass(&[1.0, 2.0, 3.0], &[3], 1.0),
            Err(Error::Shape(_))
        ));
        assert!(matches!(
            loss.pass(&[1.0, 2.0, 3.0], &[-1], 1.0),
            Err(Error::Shape(_))
        ));
        assert!(matches!(
            loss.pass(&[1.0, 2.0, 3.0], &[0, 1], 1.0),
            Err(Error::Shape(_))
        ));
        assert!(matches!(loss.pass(&[], &[], 1.0), Err(Error::Shape(_))));
        let x = t(vec![1.0, 2.0, 3.0], 1);
        assert!(loss.forward_with_scores(x, labels(vec![5]), 1.0).is_err());
    }
}
