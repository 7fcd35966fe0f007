//! CubeCL kernels of the spiking op: the causal-set scan of docs/model.md and the exact
//! gradients of docs/model.md, one GPU thread per (sample, neuron), per (sample, input)
//! or per synapse. They mirror `kernel.rs` and `neuron.rs` (same formulas, same window test, same
//! safeguards) in the backend's float type, which is f32 on wgpu.
//!
//! Layouts (all contiguous, row-major): input times `[batch, n_in]`, weights `[n_in, n_out]`,
//! delays in their kind's shape, outputs `[batch, n_out]`. `params` holds the neuron's scalars
//! (see `Param`); `c` holds g_L (theta_j - E_L) per postsynaptic neuron, so per-neuron thresholds
//! (chip offsets and noise) cost nothing extra.

use cubecl::prelude::*;

/// Delay kinds as comptime codes.
pub const KIND_NONE: u32 = 0;
pub const KIND_AXONAL: u32 = 1;
pub const KIND_SYNAPTIC: u32 = 2;
pub const KIND_DENDRITIC: u32 = 3;

/// Positions in the `params` tensor.
pub const P_TAU_SYN: usize = 0;
pub const P_TAU_MEM: usize = 1;
pub const P_EPS: usize = 2;
/// Weight-gradient clip threshold; negative = no clipping.
pub const P_CLIP: usize = 3;
/// +inf, read at run time: WGSL has no literal for it.
pub const P_INF: usize = 4;
pub const N_PARAMS: usize = 5;

/// Arrival time of input `i` at neuron `o` of sample `b`.
#[cube]
fn arrival<F: Float>(
    input: &Tensor<F>,
    delays: &Tensor<F>,
    b: usize,
    i: usize,
    o: usize,
    n_in: usize,
    n_out: usize,
    #[comptime] kind: u32,
) -> F {
    let t = input[b * n_in + i];
    if comptime!(kind == KIND_AXONAL) {
        t + delays[i]
    } else if comptime!(kind == KIND_SYNAPTIC) {
        t + delays[i * n_out + o]
    } else if comptime!(kind == KIND_DENDRITIC) {
        t + delays[o]
    } else {
        t
    }
}

/// False for NaN (WGSL has no `isnan`; a NaN is the one value unequal to itself).
#[allow(clippy::eq_op)]
#[cube]
fn is_number<F: Float>(x: F) -> bool {
    x == x
}

/// The arrival-time jitter of one delay use, laid out as `ArrivalJitter::values` (the sample
/// index `b` counts from the first row of the whole batch).
#[cube]
fn jitter_at<F: Float>(
    jitter: &Tensor<F>,
    b: usize,
    i: usize,
    o: usize,
    n_in: usize,
    n_out: usize,
    #[comptime] kind: u32,
) -> F {
    if comptime!(kind == KIND_AXONAL) {
        jitter[b * n_in + i]
    } else if comptime!(kind == KIND_SYNAPTIC) {
        jitter[(b * n_in + i) * n_out + o]
    } else if comptime!(kind == KIND_DENDRITIC) {
        jitter[b * n_out + o]
    } else {
        F::new(0.0)
    }
}

/// [`arrival`] plus, on a jittered call, the jitter of that delay use.
#[cube]
#[allow(clippy::too_many_arguments)]
fn arrival_on_chip<F: Float>(
    input: &Tensor<F>,
    delays: &Tensor<F>,
    jitter: &Tensor<F>,
    b: usize,
    i: usize,
    o: usize,
    n_in: usize,
    n_out: usize,
    #[comptime] kind: u32,
    #[comptime] jittered: bool,
) -> F {
    let t = arrival::<F>(input, delays, b, i, o, n_in, n_out, kind);
    if comptime!(jittered) {
        t + jitter_at::<F>(jitter, b, i, o, n_in, n_out, kind)
    } else {
        t
    }
}

/// Principal branch W0 of the Lambert W function for z >= -1/e (same starts as
/// `lambert::lambert_w0`; a fixed number of Halley steps, which converge cubically).
#[cube]
fn lambert_w0<F: Float>(z: F) -> F {
    let near_branch = F::new(std::f32::consts::E) * z + F::new(1.0);
    let mut w = F::new(-1.0);
    if near_branch > F::new(0.0) {
        if near_branch < F::new(0.3) {
            let p = (F::new(2.0) * near_branch).sqrt();
            w = F::new(-1.0)
                + p * (F::new(1.0) + p * (F::new(-1.0 / 3.0) + p * F::new(11.0 / 72.0)));
        } else if z < F::new(3.0) {
            let l = (F::new(1.0) + z).ln();
            w = l * F::max(F::new(1.0) - l / (F::new(2.0) + l), F::new(0.5));
        } else {
            let l1 = z.ln();
            let l2 = l1.ln();
            w = l1 - l2 + l2 / l1;
        }
        for _ in 0..6 {
            let ew = w.exp();
            let f = w * ew - z;
            let wp1 = w + F::new(1.0);
            if wp1 != F::new(0.0) {
                let denom = ew * wp1 - (w + F::new(2.0)) * f / (F::new(2.0) * wp1);
                if denom != F::new(0.0) {
                    let step = f / denom;
                    if is_number::<F>(step) {
                        w -= step;
                    }
                }
            }
        }
        w = F::max(w, F::new(-1.0));
    }
    w
}

/// Threshold-crossing time of the membrane driven by a causal set with sums `(a, b)` relative to
/// `shift` (eps included), or +inf when it never crosses.
#[cube]
fn candidate<F: Float>(
    a: F,
    b: F,
    c: F,
    shift: F,
    tau_syn: F,
    tau_mem: F,
    inf: F,
    #[comptime] ratio_one: bool,
) -> F {
    let mut t = inf;
    if comptime!(ratio_one) {
        if a != F::new(0.0) {
            let ba = b / a;
            let z = -(c / a) * ba.exp();
            // z overflows to +inf (b/a above ~88 in f32, with a < 0) only for a crossing that
            // lies before the window's start: the f64 kernel gets t = -inf there and rejects it,
            // whereas W0(inf) would come out as -1 here and place a spike far in the future.
            if z >= F::new(-0.367_879_44) && z < inf {
                t = shift + tau_syn * (ba - lambert_w0::<F>(z));
            }
        }
    } else {
        let disc = b * b - F::new(4.0) * a * c;
        if disc >= F::new(0.0) {
            let arg = F::new(2.0) * a / (b + disc.sqrt());
            if arg > F::new(0.0) && arg < inf {
                t = shift + tau_mem * arg.ln();
            }
        }
    }
    t
}

/// The reference's eps regulariser for sums relative to `shift`: eps added to the unshifted sums
/// (`Lif::eps_terms`).
#[cube]
fn eps_terms<F: Float>(
    eps: F,
    shift: F,
    tau_syn: F,
    tau_mem: F,
    #[comptime] ratio_one: bool,
) -> (F, F) {
    let mut ea = F::new(0.0);
    let mut eb = F::new(0.0);
    if eps > F::new(0.0) {
        if comptime!(ratio_one) {
            let e = eps * (-shift / tau_syn).exp();
            ea = e;
            eb = e * (F::new(1.0) - shift / tau_syn);
        } else {
            let em = (-shift / tau_mem).exp();
            ea = eps * em * em;
            eb = eps * em;
        }
    }
    (ea, eb)
}

/// The rank of every arrival within its neuron's arrival order (ties broken by input index):
/// one thread per (sample, group, input) writes `order[sample, group, rank] = input`. Groups are
/// the postsynaptic neurons for synaptic delays; one group otherwise (every neuron of a sample
/// then sees its inputs in the same order; the caller passes dendritic delays as none, since
/// they shift every input of a neuron alike).
#[cube(launch)]
pub fn arrival_order_kernel<F: Float>(
    input: &Tensor<F>,
    delays: &Tensor<F>,
    jitter: &Tensor<F>,
    order: &mut Tensor<u32>,
    #[comptime] kind: u32,
    #[comptime] jittered: bool,
) {
    let n_in = input.shape(1);
    let groups = order.shape(1);
    let n_out = groups;
    let total = input.shape(0) * groups * n_in;
    if ABSOLUTE_POS >= total {
        terminate!();
    }
    let i = ABSOLUTE_POS % n_in;
    let g = (ABSOLUTE_POS / n_in) % groups;
    let b = ABSOLUTE_POS / (n_in * groups);
    let t_i = arrival_on_chip::<F>(input, delays, jitter, b, i, g, n_in, n_out, kind, jittered);
    let mut rank = 0usize;
    for j in 0..n_in {
        let t_j = arrival_on_chip::<F>(input, delays, jitter, b, j, g, n_in, n_out, kind, jittered);
        if t_j < t_i || (t_j == t_i && j < i) {
            rank += 1;
        }
    }
    order[(b * groups + g) * n_in + rank] = u32::cast_from(i);
}

/// The same orders as [`arrival_order_kernel`], one thread per (sample, group) heap-sorting its
/// row in place: O(n log n) work per row instead of O(n^2), for wide layers.
#[cube(launch)]
pub fn arrival_sort_kernel<F: Float>(
    input: &Tensor<F>,
    delays: &Tensor<F>,
    jitter: &Tensor<F>,
    order: &mut Tensor<u32>,
    #[comptime] kind: u32,
    #[comptime] jittered: bool,
) {
    let n_in = input.shape(1);
    let groups = order.shape(1);
    let n_out = groups;
    if ABSOLUTE_POS >= input.shape(0) * groups {
        terminate!();
    }
    let g = ABSOLUTE_POS % groups;
    let b = ABSOLUTE_POS / groups;
    let row = ABSOLUTE_POS * n_in;
    for k in 0..n_in {
        order[row + k] = u32::cast_from(k);
    }
    // Max-heap on (arrival, input index); then repeatedly move the largest to the end.
    let mut start = n_in / 2;
    let mut end = n_in;
    while end > 1 {
        let mut root = 0usize;
        if start > 0 {
            // Heap construction: sift down every inner node, last first.
            start -= 1;
            root = start;
        } else {
            end -= 1;
            let top = order[row];
            order[row] = order[row + end];
            order[row + end] = top;
        }
        loop {
            let mut child = 2 * root + 1;
            if child >= end {
                break;
            }
            let c0 = usize::cast_from(order[row + child]);
            let t0 =
                arrival_on_chip::<F>(input, delays, jitter, b, c0, g, n_in, n_out, kind, jittered);
            let mut c = c0;
            let mut t_c = t0;
            if child + 1 < end {
                let c1 = usize::cast_from(order[row + child + 1]);
                let t1 = arrival_on_chip::<F>(
                    input, delays, jitter, b, c1, g, n_in, n_out, kind, jittered,
                );
                if t0 < t1 || (t0 == t1 && c0 < c1) {
                    child += 1;
                    c = c1;
                    t_c = t1;
                }
            }
            let r = usize::cast_from(order[row + root]);
            let t_r =
                arrival_on_chip::<F>(input, delays, jitter, b, r, g, n_in, n_out, kind, jittered);
            if t_r < t_c || (t_r == t_c && r < c) {
                order[row + root] = u32::cast_from(c);
                order[row + child] = u32::cast_from(r);
                root = child;
            } else {
                break;
            }
        }
    }
}

/// First-spike times: one thread per (sample, neuron) scans the causal sets upward in arrival
/// order and stops at the first candidate inside its window `[t_(k), t_(k+1)]`. The running
/// sums are kept relative to the latest arrival, so no exponential grows, whatever the spread of
/// the inputs.
#[cube(launch)]
pub fn spike_forward_kernel<F: Float>(
    input: &Tensor<F>,
    weights: &Tensor<F>,
    delays: &Tensor<F>,
    jitter: &Tensor<F>,
    order: &Tensor<u32>,
    c: &Tensor<F>,
    params: &Tensor<F>,
    output: &mut Tensor<F>,
    #[comptime] ratio_one: bool,
    #[comptime] kind: u32,
    #[comptime] jittered: bool,
) {
    let batch = input.shape(0);
    let n_in = input.shape(1);
    let n_out = weights.shape(1);
    if ABSOLUTE_POS >= batch * n_out {
        terminate!();
    }
    let b = ABSOLUTE_POS / n_out;
    let o = ABSOLUTE_POS % n_out;
    let groups = order.shape(1);
    let row = (b * groups + o % groups) * n_in;
    let tau_syn = params[P_TAU_SYN];
    let tau_mem = params[P_TAU_MEM];
    let eps = params[P_EPS];
    let c_o = c[o];
    let inf = params[P_INF];
    let mut out = inf;
    if n_in > 0 {
        let first = arrival_on_chip::<F>(
            input,
            delays,
            jitter,
            b,
            usize::cast_from(order[row]),
            o,
            n_in,
            n_out,
            kind,
            jittered,
        );
        if first < inf {
            let mut shift = first;
            let (ea, eb) = eps_terms::<F>(eps, shift, tau_syn, tau_mem, ratio_one);
            let mut a = ea;
            let mut bb = eb;
            for k in 0..n_in {
                let i = usize::cast_from(order[row + k]);
                let t_k = arrival_on_chip::<F>(
                    input, delays, jitter, b, i, o, n_in, n_out, kind, jittered,
                );
                // Move the sums' reference time to this arrival.
                let dt = t_k - shift;
                if dt > F::new(0.0) {
                    if comptime!(ratio_one) {
                        let decay = (-dt / tau_syn).exp();
                        bb = decay * (bb - dt / tau_syn * a);
                        a *= decay;
                    } else {
                        let decay = (-dt / tau_mem).exp();
                        a *= decay * decay;
                        bb *= decay;
                    }
                    shift = t_k;
                }
                let w = weights[i * n_out + o];
                a += w;
                if comptime!(!ratio_one) {
                    bb += w;
                }
                let mut next = inf;
                if k + 1 < n_in {
                    next = arrival_on_chip::<F>(
                        input,
                        delays,
                        jitter,
                        b,
                        usize::cast_from(order[row + k + 1]),
                        o,
                        n_in,
                        n_out,
                        kind,
                        jittered,
                    );
                }
                let t = candidate::<F>(a, bb, c_o, shift, tau_syn, tau_mem, inf, ratio_one);
                if t >= t_k && t <= next {
                    out = t;
                    break;
                }
                if next == inf {
                    break;
                }
            }
        }
    }
    output[ABSOLUTE_POS] = out;
}

/// Per spike: the coefficients of its partial derivatives, from the output time and the causal
/// set (every input that arrived no later). `coef[b, o, :] = (g, scale, q, keep_weights)` with
/// g = 0 where the spike gets no gradient (silent neuron, NaN or zero error, a spike the nominal
/// model cannot produce); `dt_sum[b, o] = g sum_i dt/dt_i` for dendritic delays.
#[cube(launch)]
pub fn spike_coefficients_kernel<F: Float>(
    input: &Tensor<F>,
    weights: &Tensor<F>,
    delays: &Tensor<F>,
    output: &Tensor<F>,
    grad_output: &Tensor<F>,
    c: &Tensor<F>,
    params: &Tensor<F>,
    coef: &mut Tensor<F>,
    dt_sum: &mut Tensor<F>,
    #[comptime] ratio_one: bool,
    #[comptime] kind: u32,
) {
    let batch = input.shape(0);
    let n_in = input.shape(1);
    let n_out = weights.shape(1);
    if ABSOLUTE_POS >= batch * n_out {
        terminate!();
    }
    let b = ABSOLUTE_POS / n_out;
    let o = ABSOLUTE_POS % n_out;
    let tau_syn = params[P_TAU_SYN];
    let tau_mem = params[P_TAU_MEM];
    let eps = params[P_EPS];
    let clip = params[P_CLIP];
    let inf = params[P_INF];
    let t_out = output[ABSOLUTE_POS];
    let mut g = grad_output[ABSOLUTE_POS];
    let mut scale = F::new(0.0);
    let mut q = F::new(0.0);
    let mut keep = F::new(0.0);
    let mut sum_dt = F::new(0.0);
    // Silent neurons (+inf), NaN and zero error signals get no gradient.
    let has_gradient = t_out < inf && is_number::<F>(g) && g != F::new(0.0);
    if !has_gradient {
        g = F::new(0.0);
    } else {
        let tau = if comptime!(ratio_one) {
            tau_syn
        } else {
            tau_mem
        };
        let (ea, eb) = eps_terms::<F>(eps, t_out, tau_syn, tau_mem, ratio_one);
        let mut a = ea;
        let mut bb = eb;
        for i in 0..n_in {
            let t_i = arrival::<F>(input, delays, b, i, o, n_in, n_out, kind);
            if t_i <= t_out {
                let u = t_i - t_out;
                let e = (u / tau).exp();
                let w = weights[i * n_out + o];
                if comptime!(ratio_one) {
                    a += w * e;
                    bb += w * e * u / tau_syn;
                } else {
                    a += w * e * e;
                    bb += w * e;
                }
            }
        }
        let mut valid = false;
        if comptime!(ratio_one) {
            if a != F::new(0.0) {
                let z = -(c[o] / a) * (bb / a).exp();
                if z >= F::new(-0.367_879_44) {
                    scale = F::new(1.0) / (a * (F::new(1.0) + lambert_w0::<F>(z)));
                    valid = true;
                }
            }
        } else {
            let disc = bb * bb - F::new(4.0) * a * c[o];
            if disc >= F::new(0.0) {
                let s = disc.sqrt();
                q = (bb + s) / (F::new(2.0) * a);
                scale = F::new(1.0) / s;
                valid = q > F::new(0.0);
            }
        }
        let finite = scale.abs() < inf && q.abs() < inf;
        if !valid || !finite {
            g = F::new(0.0);
            scale = F::new(0.0);
            q = F::new(0.0);
        } else {
            let mut largest = F::new(0.0);
            for i in 0..n_in {
                let t_i = arrival::<F>(input, delays, b, i, o, n_in, n_out, kind);
                if t_i <= t_out {
                    let w = weights[i * n_out + o];
                    let (d_w, d_t) =
                        partials::<F>(t_i - t_out, w, scale, q, tau_syn, tau_mem, ratio_one);
                    largest = F::max(largest, (g * d_w).abs());
                    sum_dt += g * d_t;
                }
            }
            if clip < F::new(0.0) || largest <= clip {
                keep = F::new(1.0);
            }
        }
    }
    let base = ABSOLUTE_POS * 4;
    coef[base] = g;
    coef[base + 1] = scale;
    coef[base + 2] = q;
    coef[base + 3] = keep;
    dt_sum[ABSOLUTE_POS] = sum_dt;
}

/// (dt/dw_i, dt/dt_i) of one causal input, `u = t_i - t_out` (`SpikePartials::of_input`).
#[cube]
fn partials<F: Float>(
    u: F,
    w: F,
    scale: F,
    q: F,
    tau_syn: F,
    tau_mem: F,
    #[comptime] ratio_one: bool,
) -> (F, F) {
    if comptime!(ratio_one) {
        let es = (u / tau_syn).exp();
        (u * es * scale, w * es * (u / tau_syn + F::new(1.0)) * scale)
    } else {
        let em = (u / tau_mem).exp();
        let es = em * em;
        (
            tau_mem * (q * es - em) * scale,
            w * (q * es * tau_mem / tau_syn - em) * scale,
        )
    }
}

/// What input `i` of sample `b` contributes through spike `[b, o]`: (dL/dw, dL/dt_i), i.e. the
/// error signal times the partial derivatives, the weight part dropped where the spike's weight
/// row was clipped; zeros outside the causal set and for spikes without gradient.
#[cube]
#[allow(clippy::too_many_arguments)]
fn contribution<F: Float>(
    input: &Tensor<F>,
    weights: &Tensor<F>,
    delays: &Tensor<F>,
    output: &Tensor<F>,
    coef: &Tensor<F>,
    b: usize,
    i: usize,
    o: usize,
    n_in: usize,
    n_out: usize,
    tau_syn: F,
    tau_mem: F,
    #[comptime] ratio_one: bool,
    #[comptime] kind: u32,
) -> (F, F) {
    let base = (b * n_out + o) * 4;
    let g = coef[base];
    let mut by_w = F::new(0.0);
    let mut by_t = F::new(0.0);
    if g != F::new(0.0) {
        let t_out = output[b * n_out + o];
        let t_i = arrival::<F>(input, delays, b, i, o, n_in, n_out, kind);
        if t_i <= t_out {
            let (d_w, d_t) = partials::<F>(
                t_i - t_out,
                weights[i * n_out + o],
                coef[base + 1],
                coef[base + 2],
                tau_syn,
                tau_mem,
                ratio_one,
            );
            by_w = coef[base + 3] * g * d_w;
            by_t = g * d_t;
        }
    }
    (by_w, by_t)
}

/// dL/d input times: one thread per (sample, input) sums over the neurons it reached in time.
#[cube(launch)]
pub fn grad_input_kernel<F: Float>(
    input: &Tensor<F>,
    weights: &Tensor<F>,
    delays: &Tensor<F>,
    output: &Tensor<F>,
    coef: &Tensor<F>,
    params: &Tensor<F>,
    grad_input: &mut Tensor<F>,
    #[comptime] ratio_one: bool,
    #[comptime] kind: u32,
) {
    let batch = input.shape(0);
    let n_in = input.shape(1);
    let n_out = weights.shape(1);
    if ABSOLUTE_POS >= batch * n_in {
        terminate!();
    }
    let b = ABSOLUTE_POS / n_in;
    let i = ABSOLUTE_POS % n_in;
    let tau_syn = params[P_TAU_SYN];
    let tau_mem = params[P_TAU_MEM];
    let mut acc = F::new(0.0);
    for o in 0..n_out {
        let (_by_w, by_t) = contribution::<F>(
            input, weights, delays, output, coef, b, i, o, n_in, n_out, tau_syn, tau_mem,
            ratio_one, kind,
        );
        acc += by_t;
    }
    grad_input[ABSOLUTE_POS] = acc;
}

/// dL/d weights and, for synaptic delays, dL/d delays: one thread per synapse sums over the
/// batch. Weight rows of spikes whose largest weight gradient exceeded the clip are left out.
#[cube(launch)]
pub fn grad_synapse_kernel<F: Float>(
    input: &Tensor<F>,
    weights: &Tensor<F>,
    delays: &Tensor<F>,
    output: &Tensor<F>,
    coef: &Tensor<F>,
    params: &Tensor<F>,
    grad_weights: &mut Tensor<F>,
    grad_delays: &mut Tensor<F>,
    #[comptime] ratio_one: bool,
    #[comptime] kind: u32,
) {
    let batch = input.shape(0);
    let n_in = input.shape(1);
    let n_out = weights.shape(1);
    if ABSOLUTE_POS >= n_in * n_out {
        terminate!();
    }
    let i = ABSOLUTE_POS / n_out;
    let o = ABSOLUTE_POS % n_out;
    let tau_syn = params[P_TAU_SYN];
    let tau_mem = params[P_TAU_MEM];
    let mut acc_w = F::new(0.0);
    let mut acc_d = F::new(0.0);
    for b in 0..batch {
        let (by_w, by_t) = contribution::<F>(
            input, weights, delays, output, coef, b, i, o, n_in, n_out, tau_syn, tau_mem,
            ratio_one, kind,
        );
        acc_w += by_w;
        acc_d += by_t;
    }
    grad_weights[ABSOLUTE_POS] = acc_w;
    if comptime!(kind == KIND_SYNAPTIC) {
        grad_delays[ABSOLUTE_POS] = acc_d;
    }
}
