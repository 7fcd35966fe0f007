//! Batched CPU kernels over plain f64 slices: the forward pass (first-spike times of a layer) and
//! the backward pass (exact gradients), parallel over samples.
//!
//! Memory: besides inputs and outputs, both passes make postsynaptic-major copies of the
//! parameters (weights, synaptic delays and their exponential factors). The forward pass uses six
//! scratch vectors of length `n_in` per worker; the backward pass six per block of samples and
//! one parameter-sized accumulator per block (at most [`MAX_BLOCKS`] of them, summed in a fixed
//! order so the result does not depend on the number of threads). Nothing of size
//! `batch * n_in * n_out` is ever built.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::neuron::{Lif, LANES};
use crate::types::{DelayKind, Delays, GradientOptions, LayerDims, SpikeGradients};

/// Checks that slices fit the dimensions and that every value is allowed: input times finite or
/// +inf, weights and delays finite.
pub fn validate(
    dims: LayerDims,
    input: &[f64],
    weights: &[f64],
    delays: &Delays<&[f64]>,
) -> Result<()> {
    let LayerDims { batch, n_in, n_out } = dims;
    if input.len() != batch * n_in {
        return Err(Error::Shape(format!(
            "input times have {} values, expected batch {batch} x n_in {n_in}",
            input.len()
        )));
    }
    if weights.len() != n_in * n_out {
        return Err(Error::Shape(format!(
            "weights have {} values, expected n_in {n_in} x n_out {n_out}",
            weights.len()
        )));
    }
    let kind = delays.kind();
    if let Some(d) = delays.values() {
        let expected = kind.len(n_in, n_out);
        if d.len() != expected {
            return Err(Error::Shape(format!(
                "{kind} delays have {} values, expected {expected} (shape {:?})",
                d.len(),
                kind.shape(n_in, n_out)
            )));
        }
        if let Some((index, &value)) = d.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFiniteParameter {
                name: "delays".into(),
                index,
                value,
            });
        }
    }
    if let Some((index, &value)) = weights.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(Error::NonFiniteParameter {
            name: "weights".into(),
            index,
            value,
        });
    }
    if let Some((k, &value)) = input
        .iter()
        .enumerate()
        .find(|(_, v)| v.is_nan() || **v == f64::NEG_INFINITY)
    {
        return Err(Error::InvalidSpikeTime {
            sample: k / n_in.max(1),
            input: k % n_in.max(1),
            value,
        });
    }
    Ok(())
}

/// Deviations of a physical substrate from the ideal model, applied in the forward pass only
/// (the backward pass always uses the nominal model; see `hardware`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Perturbation {
    /// Absolute firing threshold of each postsynaptic neuron (`n_out` values); `None` = nominal.
    pub thresholds: Option<Vec<f64>>,
    /// Gaussian jitter added to every delayed arrival time; `None` = none.
    pub arrival_jitter: Option<ArrivalJitter>,
}

/// Gaussian jitter of delayed arrival times, reproducible from a seed: one draw per delay use
/// (axonal: per sample and input; synaptic: per sample and synapse; dendritic: per sample and
/// neuron). Layers without delays get no jitter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArrivalJitter {
    /// Standard deviation.
    pub std: f64,
    /// Seed of this forward call's draws.
    pub seed: u64,
}

impl ArrivalJitter {
    /// The draw for one delay use, a pure function of (seed, key) so parallel workers agree.
    #[inline]
    fn draw(&self, key: u64) -> f64 {
        let mut z = self.seed ^ key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut next = || {
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut x = z;
            x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            x ^ (x >> 31)
        };
        // Box-Muller on two uniforms in (0, 1].
        let u1 = ((next() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        let u2 = (next() >> 11) as f64 / (1u64 << 53) as f64;
        self.std * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Every draw of one forward call, indexed by key as the CPU kernel uses them: axonal
    /// `b n_in + i`, synaptic `(b n_in + i) n_out + j`, dendritic `b n_out + j` (empty without
    /// delays). Lets another backend (the GPU op) apply the very same jitter.
    pub fn values(&self, kind: DelayKind, dims: LayerDims) -> Vec<f64> {
        let n = match kind {
            DelayKind::None => 0,
            DelayKind::Axonal => dims.batch * dims.n_in,
            DelayKind::Synaptic => dims.batch * dims.n_in * dims.n_out,
            DelayKind::Dendritic => dims.batch * dims.n_out,
        };
        (0..n as u64).map(|key| self.draw(key)).collect()
    }
}

/// Forward pass: first-spike times `[batch, n_out]` (+inf = no spike).
///
/// Inputs must satisfy [`validate`]; out-of-range values do not panic, but their result is
/// unspecified.
pub fn forward(
    lif: &Lif,
    dims: LayerDims,
    input: &[f64],
    weights: &[f64],
    delays: &Delays<&[f64]>,
) -> Vec<f64> {
    forward_perturbed(lif, dims, input, weights, delays, None)
}

/// [`forward`] with a substrate's deviations (per-neuron thresholds, arrival jitter).
/// A perturbed threshold that would make an invalid neuron (at or below the leak potential)
/// falls back to the nominal one.
pub fn forward_perturbed(
    lif: &Lif,
    dims: LayerDims,
    input: &[f64],
    weights: &[f64],
    delays: &Delays<&[f64]>,
    perturbation: Option<&Perturbation>,
) -> Vec<f64> {
    forward_keeping(lif, dims, input, weights, delays, perturbation, false).0
}

/// The input factors e^{(t_i - t_ref)/tau} that a forward pass with synaptic delays computed for
/// every sample, kept for [`backward_with_factors`], which would otherwise compute the same
/// values again (one exponential per input and sample).
#[derive(Debug, Clone, PartialEq)]
pub struct InputFactors {
    n_in: usize,
    /// Per sample: t_ref, or NaN where the forward pass found no factors (no finite input, or
    /// a factor out of range), as the backward pass would.
    t_ref: Vec<f64>,
    /// `[batch, n_in]`.
    values: Vec<f64>,
}

impl InputFactors {
    /// Sample `b`'s reference time and factors, `None` where there are none.
    fn row(&self, b: usize) -> Option<(f64, &[f64])> {
        let t_ref = *self.t_ref.get(b)?;
        let row = self.values.get(b * self.n_in..(b + 1) * self.n_in)?;
        (!t_ref.is_nan()).then_some((t_ref, row))
    }
}

/// [`forward`] that also returns the input factors it computed, for [`backward_with_factors`]:
/// `Some` for synaptic delays whose factors are in range, `None` otherwise.
pub fn forward_keeping_factors(
    lif: &Lif,
    dims: LayerDims,
    input: &[f64],
    weights: &[f64],
    delays: &Delays<&[f64]>,
) -> (Vec<f64>, Option<InputFactors>) {
    forward_keeping(lif, dims, input, weights, delays, None, true)
}

fn forward_keeping(
    lif: &Lif,
    dims: LayerDims,
    input: &[f64],
    weights: &[f64],
    delays: &Delays<&[f64]>,
    perturbation: Option<&Perturbation>,
    keep_factors: bool,
) -> (Vec<f64>, Option<InputFactors>) {
    let LayerDims { batch, n_in, n_out } = dims;
    let mut output = vec![f64::INFINITY; batch * n_out];
    if n_out == 0 || n_in == 0 {
        return (output, None);
    }
    // One neuron model per postsynaptic neuron only when thresholds differ.
    let lifs: Vec<Lif> = match perturbation.and_then(|p| p.thresholds.as_ref()) {
        Some(th) => (0..n_out)
            .map(|j| {
                th.get(j)
                    .and_then(|&t| lif.with_threshold(t).ok())
                    .unwrap_or(*lif)
            })
            .collect(),
        None => vec![*lif],
    };
    let lif_of = |j: usize| &lifs[if lifs.len() > 1 { j } else { 0 }];
    let jitter = perturbation.and_then(|p| p.arrival_jitter);
    let jitter_at = |key: u64| jitter.map_or(0.0, |jit| jit.draw(key));
    // Postsynaptic-major copies, so that each neuron's scan reads contiguous rows.
    let weights_t = transpose(weights, n_in, n_out);
    let synaptic_t = match delays {
        Delays::Synaptic(d) => transpose(d, n_in, n_out),
        _ => Vec::new(),
    };
    let synaptic_factors = match (delays, jitter) {
        (Delays::Synaptic(_), None) => delay_factors(&lifs[0], &synaptic_t),
        _ => None,
    };
    // Small fan-ins with one neuron model for all: neurons scanned side by side, from
    // input-major rows padded to whole groups of lanes, where at least half the lanes are
    // neurons (padding lanes cost vector work, never more than the neurons' own).
    let lanes = match (delays, &synaptic_factors, lifs.len()) {
        (Delays::Synaptic(d), Some(_), 1)
            if n_in <= SMALL_FAN_IN && n_out.div_ceil(LANES) * LANES <= 2 * n_out =>
        {
            LaneInputs::new(&lifs[0], n_in, n_out, weights, d)
        }
        _ => None,
    };
    let lanes = &lanes;
    // Each sample's input factors go to its row of one batch-wide block, kept for the backward
    // pass if asked for (otherwise the block has one slot per sample, unused).
    let keep_factors = keep_factors && synaptic_factors.is_some();
    let factor_len = if synaptic_factors.is_some() { n_in } else { 1 };
    let mut factor_values = vec![0.0f64; batch * factor_len];
    let mut t_refs = vec![f64::NAN; batch];
    output
        .par_chunks_mut(n_out)
        .zip(factor_values.par_chunks_mut(factor_len))
        .zip(t_refs.par_iter_mut())
        .enumerate()
        .for_each_init(
            || {
                (
                    vec![(0.0f64, 0.0f64); n_in],
                    vec![0.0f64; n_in],
                    vec![0usize; n_in],
                    vec![0.0f64; n_in],
                    vec![0u64; n_in],
                    SmallScratch::default(),
                    LaneScratch::default(),
                )
            },
            |(pairs, arrivals, order, exps, keys, small, lane_scratch),
             (b, ((out_row, in_factors), t_ref))| {
                let t_in = &input[b * n_in..(b + 1) * n_in];
                let bb = b as u64;
                match delays {
                    Delays::Synaptic(_) => {
                        // Every neuron sees its own arrival order: sort its arrivals, then let the
                        // scan read weights and exponential terms through the order, so that only
                        // the inputs it reaches (up to the spike) are touched. The exponential
                        // term e^{(arrival - t_ref)/tau} is a product of precomputed factors (no
                        // exponential per synapse) unless jitter or extreme times forbid it.
                        let factored = match &synaptic_factors {
                            Some(_) => input_factors(&lifs[0], t_in, in_factors),
                            None => None,
                        };
                        *t_ref = factored.unwrap_or(f64::NAN);
                        let in_factors: &[f64] = in_factors;
                        // Small fan-ins without jitter take the stack-array scan.
                        let small_factors = match (factored, &synaptic_factors, jitter) {
                            (Some(_), Some(f), None) if n_in <= SMALL_FAN_IN => Some(f),
                            _ => None,
                        };
                        if let (Some(_), Some(lanes), None) = (factored, lanes, jitter) {
                            for (group, out) in out_row.chunks_mut(LANES).enumerate() {
                                lanes.scan(
                                    lane_scratch,
                                    &lifs[0],
                                    t_in,
                                    in_factors,
                                    group * LANES,
                                    out,
                                );
                            }
                            return;
                        }
                        for (j, out) in out_row.iter_mut().enumerate() {
                            let w_row = &weights_t[j * n_in..(j + 1) * n_in];
                            let d_row = &synaptic_t[j * n_in..(j + 1) * n_in];
                            if let Some(f) = small_factors {
                                *out = small_synaptic_scan(
                                    small,
                                    lif_of(j),
                                    t_in,
                                    d_row,
                                    w_row,
                                    in_factors,
                                    &f[j * n_in..(j + 1) * n_in],
                                );
                                continue;
                            }
                            match jitter {
                                // `+ 0.0` as with jitter: it turns -0 into +0, which orders alike.
                                None => {
                                    for ((a, &t), &d) in arrivals.iter_mut().zip(t_in).zip(d_row) {
                                        *a = t + d + 0.0;
                                    }
                                }
                                Some(jit) => {
                                    for (i, a) in arrivals.iter_mut().enumerate() {
                                        let key =
                                            (bb * n_in as u64 + i as u64) * n_out as u64 + j as u64;
                                        *a = t_in[i] + d_row[i] + jit.draw(key);
                                    }
                                }
                            }
                            arrival_order(n_in, |i| arrivals[i], keys, order);
                            *out = match (factored, &synaptic_factors) {
                                (Some(_), Some(f)) => factored_synaptic_scan(
                                    lif_of(j),
                                    arrivals,
                                    order,
                                    w_row,
                                    in_factors,
                                    &f[j * n_in..(j + 1) * n_in],
                                ),
                                _ => lif_of(j).first_spike(
                                    n_in,
                                    |k| arrivals[order[k]],
                                    |k| w_row[order[k]],
                                ),
                            };
                        }
                    }
                    _ => {
                        // The arrival order is the same for every postsynaptic neuron: sort once.
                        // Dendritic delays are added per neuron below, after the shared sort.
                        for (i, pair) in pairs.iter_mut().enumerate() {
                            pair.0 = match delays {
                                Delays::Axonal(d) => {
                                    t_in[i] + d[i] + jitter_at(bb * n_in as u64 + i as u64)
                                }
                                _ => t_in[i],
                            };
                        }
                        arrival_order(n_in, |i| pairs[i].0, keys, order);
                        // Sorted arrivals in the pairs' second slot, contiguous for the scans, and their
                        // exponential terms, shared by every neuron (a dendritic delay shifts all of a
                        // neuron's arrivals alike).
                        for k in 0..n_in {
                            pairs[k].1 = pairs[order[k]].0;
                        }
                        let first = pairs[0].1;
                        for (e, pair) in exps.iter_mut().zip(pairs.iter()) {
                            *e = lifs[0].exp_rel(pair.1 - first);
                        }
                        for (j, out) in out_row.iter_mut().enumerate() {
                            let w_row = &weights_t[j * n_in..(j + 1) * n_in];
                            let shift = match delays {
                                Delays::Dendritic(d) => {
                                    d[j] + jitter_at(bb * n_out as u64 + j as u64)
                                }
                                _ => 0.0,
                            };
                            *out = lif_of(j).first_spike_with_exps(
                                n_in,
                                |k| pairs[k].1 + shift,
                                |k| w_row[order[k]],
                                |k| exps[k],
                            );
                        }
                    }
                }
            },
        );
    let kept = keep_factors.then_some(InputFactors {
        n_in,
        t_ref: t_refs,
        values: factor_values,
    });
    (output, kept)
}

/// The scan of one neuron with synaptic delays in arrival order `order`, with the exponential
/// terms as products of the input factors and the neuron's delay factors `f_row`.
#[inline]
fn factored_synaptic_scan(
    lif: &Lif,
    arrivals: &[f64],
    order: &[usize],
    w_row: &[f64],
    in_factors: &[f64],
    f_row: &[f64],
) -> f64 {
    let e = |i: usize| in_factors[i] * f_row[i];
    let inv_first = 1.0 / e(order[0]);
    lif.first_spike_with_exps(
        arrivals.len(),
        |k| arrivals[order[k]],
        |k| w_row[order[k]],
        |k| e(order[k]) * inv_first,
    )
}

/// Fan-in up to which a synaptic-delay neuron's scan runs on stack arrays (see
/// [`small_synaptic_scan`]).
const SMALL_FAN_IN: usize = 8;

/// Stack buffers of [`small_synaptic_scan`], reused from neuron to neuron.
#[derive(Default)]
struct SmallScratch {
    arrivals: [f64; SMALL_FAN_IN],
    weights: [f64; SMALL_FAN_IN],
    exps: [f64; SMALL_FAN_IN],
    keys: [u64; SMALL_FAN_IN],
    sorted: [(f64, f64, f64); SMALL_FAN_IN],
}

/// [`factored_synaptic_scan`] of one neuron with at most [`SMALL_FAN_IN`] inputs, from its input
/// times `t_in` and delays `d_row`: the arrival order through packed keys as in
/// [`arrival_order`], then every input's arrival, weight and exponential term gathered once into
/// sorted stack arrays, so that the scan reads them without indirection or bounds checks, and
/// keys sorted by a comparator network. The same operations on the same values: the same bits
/// (tested). Yin-Yang's hidden layer (4 inputs) is the case it is for: see docs/speed.md.
#[inline]
fn small_synaptic_scan(
    scratch: &mut SmallScratch,
    lif: &Lif,
    t_in: &[f64],
    d_row: &[f64],
    w_row: &[f64],
    in_factors: &[f64],
    f_row: &[f64],
) -> f64 {
    const M: usize = SMALL_FAN_IN;
    debug_assert!(t_in.len() <= M, "only for fan-ins up to {M}");
    let n = t_in.len().min(M);
    let SmallScratch {
        arrivals,
        weights,
        exps,
        keys,
        sorted,
    } = scratch;
    let mask = index_mask(n);
    // `+ 0.0` as in the general path: it turns -0 into +0, which orders alike.
    for (i, (((((a, w), e), key), &t), &d)) in arrivals
        .iter_mut()
        .zip(weights.iter_mut())
        .zip(exps.iter_mut())
        .zip(keys.iter_mut())
        .zip(t_in)
        .zip(d_row)
        .enumerate()
    {
        *a = t + d + 0.0;
        *key = packed_key(*a, i, mask);
        *w = w_row[i];
        *e = in_factors[i] * f_row[i];
    }
    // Keys past the fan-in sort after every real one (an arrival at +inf included), so the
    // first n sorted keys are the real ones in order.
    keys[n..].fill(u64::MAX);
    if n <= 4 {
        sort_network_4(keys);
    } else {
        sort_network_8(keys);
    }
    let keys = &keys[..n];
    // `& (M - 1)` changes no index below M; it lets the compiler drop the bounds checks.
    let index = |key: u64| ((key & mask) as usize) & (M - 1);
    let inv_first = 1.0 / exps[index(keys[0])];
    for (s, &key) in sorted.iter_mut().zip(keys.iter()) {
        let i = index(key);
        *s = (arrivals[i], weights[i], exps[i] * inv_first);
    }
    let sorted = &sorted[..n];
    lif.first_spike_with_exps(n, |k| sorted[k].0, |k| sorted[k].1, |k| sorted[k].2)
}

/// The instructions [`LaneInputs::scan`] runs on: the same operations, and so the same bits, on
/// each (tested); wider vectors where the CPU has them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LaneIsa {
    /// The build's own target (SSE2 on x86-64).
    Baseline,
    /// x86-64 with AVX2, detected at run time.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// x86-64 with AVX-512 (F, VL, DQ), detected at run time: unsigned 64-bit minima and maxima
    /// for the sort keys and mask registers for the window tests.
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl LaneIsa {
    /// Every one this CPU has, the baseline first (the only constructor of the others).
    fn available() -> Vec<Self> {
        let mut isas = vec![Self::Baseline];
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") {
                isas.push(Self::Avx2);
            }
            if std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512vl")
                && std::is_x86_feature_detected!("avx512dq")
            {
                isas.push(Self::Avx512);
            }
        }
        isas
    }

    /// The widest this CPU has.
    fn detect() -> Self {
        static WIDEST: std::sync::OnceLock<LaneIsa> = std::sync::OnceLock::new();
        *WIDEST.get_or_init(|| *Self::available().last().unwrap_or(&Self::Baseline))
    }
}

/// A layer's weights, delays and delay factors in input-major rows of whole groups of [`LANES`]
/// neurons (padding columns repeat the last neuron's, so that padded lanes compute ordinary
/// values that are then dropped), for [`LaneInputs::scan`].
struct LaneInputs {
    isa: LaneIsa,
    n_in: usize,
    /// Row length: `n_out` rounded up to whole groups.
    stride: usize,
    weights: Vec<f64>,
    delays: Vec<f64>,
    factors: Vec<f64>,
}

impl LaneInputs {
    /// `None` when a delay factor leaves the factors' range (the one-neuron scans decide then).
    fn new(lif: &Lif, n_in: usize, n_out: usize, weights: &[f64], delays: &[f64]) -> Option<Self> {
        let factors = delay_factors(lif, delays)?;
        let stride = n_out.div_ceil(LANES) * LANES;
        let pad = |values: &[f64]| -> Vec<f64> {
            let mut out = Vec::with_capacity(n_in * stride);
            for row in values.chunks(n_out) {
                out.extend_from_slice(row);
                let last = row[n_out - 1];
                out.resize(out.len() + stride - n_out, last);
            }
            out
        };
        Some(Self {
            isa: LaneIsa::detect(),
            n_in,
            stride,
            weights: pad(weights),
            delays: pad(delays),
            factors: pad(&factors),
        })
    }

    /// First spike times of neurons `first..first + out.len()` (at most [`LANES`]) for one
    /// sample: arrivals, sort keys, weights and exponential terms of every lane built together,
    /// the keys sorted with their payloads by the comparator network of [`small_synaptic_scan`],
    /// then [`Lif::first_spikes_of_lanes`]. The same operations on the same values as
    /// [`small_synaptic_scan`] of each neuron: the same bits (tested).
    #[inline]
    fn scan(
        &self,
        scratch: &mut LaneScratch,
        lif: &Lif,
        t_in: &[f64],
        in_factors: &[f64],
        first: usize,
        out: &mut [f64],
    ) {
        match self.isa {
            LaneIsa::Baseline => self.scan_any(scratch, lif, t_in, in_factors, first, out),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `LaneIsa::Avx2` is only chosen where the CPU has AVX2.
            LaneIsa::Avx2 => unsafe { self.scan_avx2(scratch, lif, t_in, in_factors, first, out) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `LaneIsa::Avx512` is only chosen where the CPU has these features.
            LaneIsa::Avx512 => unsafe {
                self.scan_avx512(scratch, lif, t_in, in_factors, first, out)
            },
        }
    }

    /// [`LaneInputs::scan`] compiled for AVX-512, like [`LaneInputs::scan_avx2`].
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512vl,avx512dq")]
    fn scan_avx512(
        &self,
        scratch: &mut LaneScratch,
        lif: &Lif,
        t_in: &[f64],
        in_factors: &[f64],
        first: usize,
        out: &mut [f64],
    ) {
        self.scan_any(scratch, lif, t_in, in_factors, first, out);
    }

    /// [`LaneInputs::scan`] compiled for AVX2: the lanes' arithmetic in 4-wide vectors. No
    /// fused multiply-adds (Rust never contracts), so the same bits as the baseline build.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn scan_avx2(
        &self,
        scratch: &mut LaneScratch,
        lif: &Lif,
        t_in: &[f64],
        in_factors: &[f64],
        first: usize,
        out: &mut [f64],
    ) {
        self.scan_any(scratch, lif, t_in, in_factors, first, out);
    }

    #[inline(always)]
    fn scan_any(
        &self,
        scratch: &mut LaneScratch,
        lif: &Lif,
        t_in: &[f64],
        in_factors: &[f64],
        first: usize,
        out: &mut [f64],
    ) {
        let n = self.n_in;
        let mask = index_mask(n);
        let LaneScratch {
            arrivals,
            weights,
            exps,
            keys,
        } = scratch;
        for i in 0..n {
            let start = i * self.stride + first;
            let d = &self.delays[start..start + LANES];
            let w = &self.weights[start..start + LANES];
            let f = &self.factors[start..start + LANES];
            let (t, fi) = (t_in[i], in_factors[i]);
            for l in 0..LANES {
                // As in the one-neuron scans: `+ 0.0` turns -0 into +0, factors in this order.
                let a = t + d[l] + 0.0;
                arrivals[i][l] = a;
                keys[i][l] = packed_key(a, i, mask);
                weights[i][l] = w[l];
                exps[i][l] = fi * f[l];
            }
        }
        for row in keys[n..].iter_mut() {
            *row = [u64::MAX; LANES];
        }
        let network: &[(usize, usize)] = if n <= 4 { &NETWORK_4 } else { &NETWORK_8 };
        for &(p, q) in network {
            // Two distinct rows of each array (p < q in every network): without the proof that
            // they do not overlap the compiler kept this loop scalar, a fifth of the scan.
            let (kp, kq) = two_rows(keys, p, q);
            let (ap, aq) = two_rows(arrivals, p, q);
            let (wp, wq) = two_rows(weights, p, q);
            let (ep, eq) = two_rows(exps, p, q);
            // Exchanges as masked xors of the bits, one row pair at a time: with selects, or
            // with the payloads in the key's loop, the compiler branched on each comparison,
            // which both mispredicts and stops vectorisation. The values move unchanged, so the
            // bits are those of the selects.
            let mut swap = [0u64; LANES];
            for l in 0..LANES {
                let (lo, hi) = (kp[l], kq[l]);
                swap[l] = ((lo > hi) as u64).wrapping_neg();
                let x = (lo ^ hi) & swap[l];
                kp[l] = lo ^ x;
                kq[l] = hi ^ x;
            }
            exchange_where(ap, aq, &swap);
            exchange_where(wp, wq, &swap);
            exchange_where(ep, eq, &swap);
        }
        let mut inv_first = [0.0; LANES];
        for l in 0..LANES {
            inv_first[l] = 1.0 / exps[0][l];
        }
        // The first input's term is not read: the scan takes it as exactly 1.
        for row in exps[1..n].iter_mut() {
            for l in 0..LANES {
                row[l] *= inv_first[l];
            }
        }
        lif.first_spikes_of_lanes(n, &arrivals[..n], &weights[..n], &exps[..n], out);
    }
}

/// Swaps `p[l]` and `q[l]` where `mask[l]` is all ones (and leaves them where it is zero).
#[inline(always)]
fn exchange_where(p: &mut [f64; LANES], q: &mut [f64; LANES], mask: &[u64; LANES]) {
    for l in 0..LANES {
        let (vp, vq) = (p[l].to_bits(), q[l].to_bits());
        let x = (vp ^ vq) & mask[l];
        p[l] = f64::from_bits(vp ^ x);
        q[l] = f64::from_bits(vq ^ x);
    }
}

/// Rows `p` and `q` of `rows` as two disjoint borrows; `p < q`.
#[inline(always)]
fn two_rows<T>(rows: &mut [[T; LANES]], p: usize, q: usize) -> (&mut [T; LANES], &mut [T; LANES]) {
    debug_assert!(
        p < q,
        "comparators run from the lower row to the higher one"
    );
    let (low, high) = rows.split_at_mut(q);
    (&mut low[p], &mut high[0])
}

/// Stack buffers of [`LaneInputs::scan`], reused from group to group.
#[derive(Default)]
struct LaneScratch {
    arrivals: [[f64; LANES]; SMALL_FAN_IN],
    weights: [[f64; LANES]; SMALL_FAN_IN],
    exps: [[f64; LANES]; SMALL_FAN_IN],
    keys: [[u64; LANES]; SMALL_FAN_IN],
}

/// The optimal 5-comparator network on 4 keys.
const NETWORK_4: [(usize, usize); 5] = [(0, 1), (2, 3), (0, 2), (1, 3), (1, 2)];

/// The optimal 19-comparator network on 8 keys.
const NETWORK_8: [(usize, usize); 19] = [
    (0, 2),
    (1, 3),
    (4, 6),
    (5, 7),
    (0, 4),
    (1, 5),
    (2, 6),
    (3, 7),
    (0, 1),
    (2, 3),
    (4, 5),
    (6, 7),
    (2, 4),
    (3, 5),
    (1, 4),
    (3, 6),
    (1, 2),
    (3, 4),
    (5, 6),
];

/// `k[i], k[j] = min, max` without a branch.
#[inline(always)]
fn compare_exchange(k: &mut [u64; SMALL_FAN_IN], i: usize, j: usize) {
    let (a, b) = (k[i], k[j]);
    k[i] = a.min(b);
    k[j] = a.max(b);
}

/// Sorts `k[..4]` with the optimal 5-comparator network (no branches to mispredict, unlike a
/// general sort's comparisons of random keys).
#[inline]
fn sort_network_4(k: &mut [u64; SMALL_FAN_IN]) {
    for (i, j) in NETWORK_4 {
        compare_exchange(k, i, j);
    }
}

/// Sorts all 8 keys with the optimal 19-comparator network.
#[inline]
fn sort_network_8(k: &mut [u64; SMALL_FAN_IN]) {
    for (i, j) in NETWORK_8 {
        compare_exchange(k, i, j);
    }
}

/// Rows up to this many inputs are ordered through packed integer keys (see [`arrival_order`]).
const PACKED_ORDER_MAX: usize = 1 << 12;

/// `order` = the inputs `0..n` sorted by arrival time, equal times by index.
///
/// Up to [`PACKED_ORDER_MAX`] inputs, each time becomes an order-preserving u64 whose lowest
/// bits are replaced by the input's index: sorting plain u64s (sorting networks, no indirect
/// loads) is several times faster than comparing floats through the index, which matters for
/// synaptic delays, where every neuron sorts its own arrivals. The index bits make times that
/// agree in all but their last log2(n) mantissa bits (at most 2^-40 relative) count as equal;
/// the scan is indifferent to the order of such near-ties beyond round-off.
#[inline]
fn arrival_order(n: usize, time: impl Fn(usize) -> f64, keys: &mut [u64], order: &mut [usize]) {
    if n <= PACKED_ORDER_MAX {
        let mask = index_mask(n);
        for (i, key) in keys[..n].iter_mut().enumerate() {
            *key = packed_key(time(i), i, mask);
        }
        keys[..n].sort_unstable();
        for (o, key) in order[..n].iter_mut().zip(&keys[..n]) {
            *o = (key & mask) as usize;
        }
    } else {
        for (i, o) in order[..n].iter_mut().enumerate() {
            *o = i;
        }
        order[..n].sort_unstable_by(|&x, &y| time(x).total_cmp(&time(y)).then(x.cmp(&y)));
    }
}

/// The low bits of a packed key that hold an input's index, for `n` inputs.
#[inline]
fn index_mask(n: usize) -> u64 {
    let bits = usize::BITS - (n.max(2) - 1).leading_zeros();
    (1u64 << bits) - 1
}

/// Input `i`'s sort key: its time's order-preserving bits with the lowest ones replaced by `i`.
#[inline]
fn packed_key(time: f64, i: usize, mask: u64) -> u64 {
    (monotone_bits(time) & !mask) | i as u64
}

/// The bits of a float as an unsigned integer with the same order (`f64::total_cmp`'s order).
#[inline]
fn monotone_bits(x: f64) -> u64 {
    // Negative: flip every bit; otherwise set the sign bit. Branch-free, as the sort's keys
    // are built for every input of every neuron.
    let bits = x.to_bits();
    bits ^ (((bits as i64) >> 63) as u64 | (1 << 63))
}

/// Exponential factors e^{x/tau} are multiplied instead of taking one exponential per arrival
/// only while every factor stays in this range, far from overflow and underflow.
const FACTOR_RANGE: (f64, f64) = (1e-100, 1e100);

fn in_factor_range(e: f64) -> bool {
    (FACTOR_RANGE.0..=FACTOR_RANGE.1).contains(&e)
}

/// e^{d/tau} of every delay, when all lie in [`FACTOR_RANGE`].
fn delay_factors(lif: &Lif, delays: &[f64]) -> Option<Vec<f64>> {
    let f: Vec<f64> = delays.iter().map(|&d| lif.exp_rel(d)).collect();
    f.iter().all(|&e| in_factor_range(e)).then_some(f)
}

/// e^{(t_i - t_ref)/tau} of a sample's input times relative to its earliest finite one (+inf for
/// inputs that never spike), and t_ref; `None` when a factor leaves [`FACTOR_RANGE`] or no input
/// spikes.
fn input_factors(lif: &Lif, t_in: &[f64], out: &mut [f64]) -> Option<f64> {
    let t_ref = t_in
        .iter()
        .copied()
        .filter(|t| t.is_finite())
        .fold(f64::INFINITY, f64::min);
    if !t_ref.is_finite() {
        return None;
    }
    for (e, &t) in out.iter_mut().zip(t_in) {
        *e = if t.is_finite() {
            let e = lif.exp_rel(t - t_ref);
            if !in_factor_range(e) {
                return None;
            }
            e
        } else {
            f64::INFINITY
        };
    }
    Some(t_ref)
}

/// `[rows, cols]` row-major into `[cols, rows]` row-major.
pub(crate) fn transpose(values: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    let mut out = vec![0.0; values.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = values[r * cols + c];
        }
    }
    out
}

/// Upper bound on the number of per-block parameter-gradient accumulators.
pub const MAX_BLOCKS: usize = 16;
const MIN_BLOCK: usize = 8;

/// Backward pass: exact gradients of a scalar loss given `grad_output = dL/d output`.
///
/// Recomputes each spike's causal set from the output time (every input that arrived no later),
/// so the forward pass stores nothing of its scan ([`backward_with_factors`] reuses its input
/// factors, values of the input times alone). NaN error signals count as zero; silent neurons and spikes
/// the ideal model cannot produce get zero gradients (docs/model.md).
#[allow(clippy::too_many_arguments)]
pub fn backward(
    lif: &Lif,
    options: &GradientOptions,
    dims: LayerDims,
    input: &[f64],
    weights: &[f64],
    delays: &Delays<&[f64]>,
    output: &[f64],
    grad_output: &[f64],
) -> SpikeGradients<Vec<f64>> {
    backward_with_factors(
        lif,
        options,
        dims,
        input,
        weights,
        delays,
        output,
        grad_output,
        None,
    )
}

/// [`backward`] reusing the input factors that [`forward_keeping_factors`] computed for the same
/// input, neuron and delays (the same values; factors of another shape are not used).
#[allow(clippy::too_many_arguments)]
pub fn backward_with_factors(
    lif: &Lif,
    options: &GradientOptions,
    dims: LayerDims,
    input: &[f64],
    weights: &[f64],
    delays: &Delays<&[f64]>,
    output: &[f64],
    grad_output: &[f64],
    kept: Option<&InputFactors>,
) -> SpikeGradients<Vec<f64>> {
    let LayerDims { batch, n_in, n_out } = dims;
    // Only a synaptic forward pass keeps factors, and only for this batch's shape.
    let kept = kept.filter(|k| {
        matches!(delays, Delays::Synaptic(_)) && k.n_in == n_in && k.t_ref.len() == batch
    });
    let n_w = n_in * n_out;
    let kind = delays.kind();
    let n_d = kind.len(n_in, n_out);
    let mut grad_input = vec![0.0; batch * n_in];
    if batch == 0 || n_in == 0 || n_out == 0 {
        return SpikeGradients {
            input: grad_input,
            weights: vec![0.0; n_w],
            delays: delays.values().map(|_| vec![0.0; n_d]),
        };
    }
    let blocks = batch.div_ceil(MIN_BLOCK).clamp(1, MAX_BLOCKS);
    let block_len = batch.div_ceil(blocks);
    let clip = options.weight_grad_clip;
    // Postsynaptic-major layouts: each neuron reads and accumulates contiguous rows. Per-element
    // accumulation order is unchanged, so the result is the same as in input-major layout.
    let weights_t = transpose(weights, n_in, n_out);
    let synaptic_t = match delays {
        Delays::Synaptic(d) => transpose(d, n_in, n_out),
        _ => Vec::new(),
    };
    let factors: Option<Vec<f64>> = match delays {
        Delays::None => Some(Vec::new()),
        Delays::Axonal(d) | Delays::Dendritic(d) => delay_factors(lif, d),
        Delays::Synaptic(_) => delay_factors(lif, &synaptic_t),
    };
    let factors = &factors;

    // Every synapse of a neuron without delays has the factor 1.
    let ones = match delays {
        Delays::None => vec![1.0; n_in],
        _ => Vec::new(),
    };
    let ones = &ones;

    // The delay kind is resolved once per neuron, outside the per-input loops: those loops then
    // read and write plain rows.
    // Each block's parameter gradients (weights, then delays; synaptic delay gradients
    // postsynaptic-major like the weights') in one buffer, summed in block order below: the
    // blocks depend on the batch alone, so the sums do not depend on the threads.
    let block_grads = n_w + n_d;
    let mut partial = vec![0.0; batch.div_ceil(block_len) * block_grads];
    grad_input
        .par_chunks_mut(block_len * n_in)
        .zip(partial.par_chunks_mut(block_grads))
        .enumerate()
        .for_each_init(
            || BackwardScratch::new(n_in),
            |scratch, (blk, (grad_in_block, grads))| {
                let (g_w_t, g_d) = grads.split_at_mut(n_w);
                let BackwardScratch {
                    d_w,
                    d_a,
                    arrivals,
                    exps,
                    in_f,
                    dendritic_factors,
                } = scratch;
                let first = blk * block_len;
                for (r, grad_in_row) in grad_in_block.chunks_mut(n_in).enumerate() {
                    let b = first + r;
                    let t_in = &input[b * n_in..(b + 1) * n_in];
                    let (t_ref, in_f): (Option<f64>, &[f64]) = match (factors, kept) {
                        (None, _) => (None, in_f),
                        (Some(_), Some(k)) => match k.row(b) {
                            Some((t_ref, row)) => (Some(t_ref), row),
                            None => (None, in_f),
                        },
                        (Some(_), None) => (input_factors(lif, t_in, in_f), in_f),
                    };
                    // Without delays or with axonal ones, every neuron sees the same arrivals.
                    match delays {
                        Delays::None => arrivals.copy_from_slice(t_in),
                        Delays::Axonal(d) => {
                            for ((a, &t), &d) in arrivals.iter_mut().zip(t_in).zip(d.iter()) {
                                *a = t + d;
                            }
                        }
                        Delays::Synaptic(_) | Delays::Dendritic(_) => {}
                    }
                    for j in 0..n_out {
                        let t_out = output[b * n_out + j];
                        let g = grad_output[b * n_out + j];
                        if !t_out.is_finite() || g == 0.0 || g.is_nan() {
                            continue;
                        }
                        let w_row = &weights_t[j * n_in..(j + 1) * n_in];
                        match delays {
                            Delays::Synaptic(_) => {
                                let d_row = &synaptic_t[j * n_in..(j + 1) * n_in];
                                for ((a, &t), &d) in arrivals.iter_mut().zip(t_in).zip(d_row) {
                                    *a = t + d;
                                }
                            }
                            Delays::Dendritic(d) => {
                                for (a, &t) in arrivals.iter_mut().zip(t_in) {
                                    *a = t + d[j];
                                }
                            }
                            Delays::None | Delays::Axonal(_) => {}
                        }
                        // e^{(a_i - t_out)/tau} of the causal inputs: products of precomputed factors
                        // and one exponential per spike, or one exponential each where factors are
                        // out of range.
                        let scale = t_ref
                            .map(|r| lif.exp_rel(r - t_out))
                            .filter(|&s| in_factor_range(s));
                        let mut sums = lif.empty_sums(t_out);
                        match (scale, factors) {
                            (Some(s), Some(f)) => {
                                let f_row: &[f64] = match delays {
                                    Delays::None => ones,
                                    Delays::Axonal(_) => f,
                                    Delays::Synaptic(_) => &f[j * n_in..(j + 1) * n_in],
                                    Delays::Dendritic(_) => {
                                        dendritic_factors.fill(f[j]);
                                        &dendritic_factors[..]
                                    }
                                };
                                for ((((&a, &w), e), &fi), &fd) in arrivals
                                    .iter()
                                    .zip(w_row)
                                    .zip(exps.iter_mut())
                                    .zip(in_f.iter())
                                    .zip(f_row)
                                {
                                    if a <= t_out {
                                        *e = fi * fd * s;
                                        lif.push_with_exp(&mut sums, a, w, *e);
                                    }
                                }
                            }
                            _ => {
                                for ((&a, &w), e) in arrivals.iter().zip(w_row).zip(exps.iter_mut())
                                {
                                    if a <= t_out {
                                        *e = lif.exp_rel(a - t_out);
                                        lif.push_with_exp(&mut sums, a, w, *e);
                                    }
                                }
                            }
                        }
                        let Some(p) = lif.partials(t_out, &sums) else {
                            continue;
                        };
                        let mut largest = 0.0f64;
                        for (((((&a, &w), &e), dw_i), da_i), gi) in arrivals
                            .iter()
                            .zip(w_row)
                            .zip(exps.iter())
                            .zip(d_w.iter_mut())
                            .zip(d_a.iter_mut())
                            .zip(grad_in_row.iter_mut())
                        {
                            if a > t_out {
                                *dw_i = 0.0;
                                *da_i = 0.0;
                                continue;
                            }
                            let (dw, dt) = p.of_input_with_exp(a, w, e);
                            *dw_i = g * dw;
                            largest = largest.max(dw_i.abs());
                            let ga = g * dt;
                            *gi += ga;
                            *da_i = ga;
                        }
                        // Adding the zeros of non-causal inputs leaves every sum's bits unchanged
                        // (a sum that starts at +0 never becomes -0).
                        match kind {
                            DelayKind::None => {}
                            DelayKind::Axonal => add_row(g_d, d_a),
                            DelayKind::Synaptic => add_row(&mut g_d[j * n_in..(j + 1) * n_in], d_a),
                            DelayKind::Dendritic => {
                                for v in d_a.iter() {
                                    g_d[j] += v;
                                }
                            }
                        }
                        if clip.is_none_or(|c| largest <= c) {
                            add_row(&mut g_w_t[j * n_in..(j + 1) * n_in], d_w);
                        }
                    }
                }
            },
        );

    let mut grad_w_t = vec![0.0; n_w];
    let mut grad_d = vec![0.0; n_d];
    for grads in partial.chunks(block_grads) {
        let (g_w_t, g_d) = grads.split_at(n_w);
        add_row(&mut grad_w_t, g_w_t);
        add_row(&mut grad_d, g_d);
    }
    if kind == DelayKind::Synaptic {
        grad_d = transpose(&grad_d, n_out, n_in);
    }
    SpikeGradients {
        input: grad_input,
        weights: transpose(&grad_w_t, n_out, n_in),
        delays: delays.values().map(|_| grad_d),
    }
}

/// Per-neuron rows of the backward pass, reused from block to block on a thread (each is
/// written before it is read).
struct BackwardScratch {
    /// Each input's dL/d(weight) for the current neuron (0 outside its causal set).
    d_w: Vec<f64>,
    /// Each input's dL/d(arrival) for the current neuron (0 outside its causal set).
    d_a: Vec<f64>,
    arrivals: Vec<f64>,
    /// Each causal input's exponential term, computed once for the sums and reused for its
    /// derivatives.
    exps: Vec<f64>,
    in_f: Vec<f64>,
    dendritic_factors: Vec<f64>,
}

impl BackwardScratch {
    fn new(n_in: usize) -> Self {
        Self {
            d_w: vec![0.0; n_in],
            d_a: vec![0.0; n_in],
            arrivals: vec![0.0; n_in],
            exps: vec![0.0; n_in],
            in_f: vec![0.0; n_in],
            dendritic_factors: vec![0.0; n_in],
        }
    }
}

/// `acc[k] += values[k]`.
fn add_row(acc: &mut [f64], values: &[f64]) {
    for (a, v) in acc.iter_mut().zip(values) {
        *a += v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neuron::LifParams;

    /// The order a stable sort by time gives, as the plain definition to compare with.
    fn stable_order(times: &[f64]) -> Vec<usize> {
        let mut order: Vec<usize> = (0..times.len()).collect();
        order.sort_by(|&x, &y| times[x].total_cmp(&times[y]));
        order
    }

    #[test]
    fn arrival_order_sorts_by_time_then_index() {
        use rand::rngs::StdRng;
        use rand::{Rng, SeedableRng};
        let mut rng = StdRng::seed_from_u64(3);
        // Both paths: packed keys (up to 4096 inputs) and the comparison sort above.
        for n in [1usize, 2, 3, 4, 7, 30, 256, 257, 1024, 4096, 4097] {
            for _ in 0..5 {
                let mut times: Vec<f64> = (0..n)
                    .map(|_| match rng.random_range(0..10) {
                        0 => f64::INFINITY,
                        1 => 0.0,
                        2 => -rng.random_range(0.0..3.0),
                        // Exact ties.
                        3 => 1.25,
                        _ => rng.random_range(0.0..1000.0),
                    })
                    .collect();
                if n > 1 {
                    times[n - 1] = -0.0;
                }
                let (mut keys, mut order) = (vec![0u64; n], vec![0usize; n]);
                arrival_order(n, |i| times[i], &mut keys, &mut order);
                assert_eq!(order, stable_order(&times), "n = {n}: {times:?}");
            }
        }
    }

    /// The small-fan-in scan on stack arrays and the general one (heap rows read through the
    /// order) agree to the last bit, ties, never-spiking inputs and -0 included, for both neuron
    /// kinds.
    #[test]
    fn small_synaptic_scan_matches_the_general_scan_bitwise() {
        use rand::rngs::StdRng;
        use rand::{Rng, SeedableRng};
        let mut rng = StdRng::seed_from_u64(11);
        let mut scratch = SmallScratch::default();
        let mut spikes = 0;
        let mut cases = 0;
        for params in [LifParams::ideal(), LifParams::hardware()] {
            let lif = params.build().unwrap();
            for n in 1..=SMALL_FAN_IN {
                for _ in 0..400 {
                    let t_in: Vec<f64> = (0..n)
                        .map(|_| match rng.random_range(0..12) {
                            0 => f64::INFINITY,
                            1 => -0.0,
                            2 => 0.5,
                            _ => rng.random_range(0.0..3.0),
                        })
                        .collect();
                    let d_row: Vec<f64> = (0..n)
                        .map(|_| match rng.random_range(0..6) {
                            0 => 0.0,
                            _ => rng.random_range(0.0..1.0),
                        })
                        .collect();
                    let w_row: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..4.0)).collect();
                    let mut in_factors = vec![0.0; n];
                    let (Some(_), Some(f_row)) = (
                        input_factors(&lif, &t_in, &mut in_factors),
                        delay_factors(&lif, &d_row),
                    ) else {
                        continue;
                    };
                    let arrivals: Vec<f64> =
                        t_in.iter().zip(&d_row).map(|(t, d)| t + d + 0.0).collect();
                    let (mut keys, mut order) = (vec![0u64; n], vec![0usize; n]);
                    arrival_order(n, |i| arrivals[i], &mut keys, &mut order);
                    let general = factored_synaptic_scan(
                        &lif,
                        &arrivals,
                        &order,
                        &w_row,
                        &in_factors,
                        &f_row,
                    );
                    let small = small_synaptic_scan(
                        &mut scratch,
                        &lif,
                        &t_in,
                        &d_row,
                        &w_row,
                        &in_factors,
                        &f_row,
                    );
                    assert_eq!(
                        small.to_bits(),
                        general.to_bits(),
                        "{t_in:?} {d_row:?} {w_row:?}: {small} against {general}"
                    );
                    cases += 1;
                    spikes += usize::from(general.is_finite());
                }
            }
        }
        // Both outcomes occur often enough for the comparison to mean something.
        assert!(
            cases > 5000 && spikes > cases / 4 && spikes < cases,
            "{spikes} of {cases}"
        );
    }

    /// Neurons scanned side by side give the same bits as each neuron's own small scan: random
    /// layers of every small fan-in and several widths (padded groups included), ties, inputs
    /// that never spike, -0, both neuron kinds.
    #[test]
    fn lane_scan_matches_the_small_scan_bitwise() {
        use rand::rngs::StdRng;
        use rand::{Rng, SeedableRng};
        let mut rng = StdRng::seed_from_u64(23);
        let mut small = SmallScratch::default();
        let mut lane_scratch = LaneScratch::default();
        let (mut spikes, mut cases) = (0, 0);
        for params in [LifParams::ideal(), LifParams::hardware()] {
            let lif = params.build().unwrap();
            for n_in in 1..=SMALL_FAN_IN {
                for n_out in [1, 3, 30, LANES, LANES + 5] {
                    let weights: Vec<f64> = (0..n_in * n_out)
                        .map(|_| rng.random_range(-1.0..4.0))
                        .collect();
                    let delays: Vec<f64> = (0..n_in * n_out)
                        .map(|_| match rng.random_range(0..6) {
                            0 => 0.0,
                            _ => rng.random_range(0.0..1.0),
                        })
                        .collect();
                    let mut lanes = LaneInputs::new(&lif, n_in, n_out, &weights, &delays).unwrap();
                    let (weights_t, delays_t) = (
                        transpose(&weights, n_in, n_out),
                        transpose(&delays, n_in, n_out),
                    );
                    let factors_t = delay_factors(&lif, &delays_t).unwrap();
                    for _ in 0..60 {
                        let t_in: Vec<f64> = (0..n_in)
                            .map(|_| match rng.random_range(0..12) {
                                0 => f64::INFINITY,
                                1 => -0.0,
                                2 => 0.5,
                                _ => rng.random_range(0.0..3.0),
                            })
                            .collect();
                        let mut in_factors = vec![0.0; n_in];
                        if input_factors(&lif, &t_in, &mut in_factors).is_none() {
                            continue;
                        }
                        // On every instruction set this CPU has, the baseline first.
                        let isas = LaneIsa::available();
                        let mut side_by_side = vec![vec![0.0; n_out]; isas.len()];
                        for (&isa, times) in isas.iter().zip(side_by_side.iter_mut()) {
                            lanes.isa = isa;
                            for (group, out) in times.chunks_mut(LANES).enumerate() {
                                lanes.scan(
                                    &mut lane_scratch,
                                    &lif,
                                    &t_in,
                                    &in_factors,
                                    group * LANES,
                                    out,
                                );
                            }
                        }
                        for other in &side_by_side[1..] {
                            for (j, (&got, &wider)) in side_by_side[0].iter().zip(other).enumerate()
                            {
                                assert_eq!(got.to_bits(), wider.to_bits(), "neuron {j}");
                            }
                        }
                        for (j, &got) in side_by_side[0].iter().enumerate() {
                            let row = j * n_in..(j + 1) * n_in;
                            let alone = small_synaptic_scan(
                                &mut small,
                                &lif,
                                &t_in,
                                &delays_t[row.clone()],
                                &weights_t[row.clone()],
                                &in_factors,
                                &factors_t[row],
                            );
                            assert_eq!(
                                got.to_bits(),
                                alone.to_bits(),
                                "n_in {n_in}, neuron {j} of {n_out}, {t_in:?}: {got} against {alone}"
                            );
                            cases += 1;
                            spikes += usize::from(alone.is_finite());
                        }
                    }
                }
            }
        }
        assert!(
            cases > 20_000 && spikes > cases / 4 && spikes < cases,
            "{spikes} of {cases}"
        );
    }

    /// The backward pass gives the same bits with the forward pass's input factors as without
    /// them: random synaptic layers, inputs that never spike, samples whose factors leave the
    /// range (no factors kept for them), both neuron kinds and gradient options.
    /// Weights of an `n_in`-`n_out` layer, mostly excitatory, scaled so that a fair share of
    /// neurons spike for inputs in [0, 2).
    fn random_weights(rng: &mut impl rand::Rng, n_in: usize, n_out: usize) -> Vec<f64> {
        (0..n_in * n_out)
            .map(|_| rng.random_range(-0.5..3.0) * 3.0 / (n_in as f64).sqrt())
            .collect()
    }

    #[test]
    fn backward_with_kept_factors_matches_backward_bitwise() {
        use rand::rngs::StdRng;
        use rand::{Rng, SeedableRng};
        let mut rng = StdRng::seed_from_u64(5);
        let mut kept_rows = 0;
        let mut dropped_rows = 0;
        let mut layers_with_gradients = 0;
        for params in [LifParams::ideal(), LifParams::hardware()] {
            let lif = params.build().unwrap();
            for (n_in, n_out) in [(1, 1), (4, 30), (5, 3), (30, 3), (9, 7)] {
                let batch = 40;
                let dims = LayerDims { batch, n_in, n_out };
                let input: Vec<f64> = (0..batch * n_in)
                    .map(|k| match (k / n_in, rng.random_range(0..10)) {
                        // A sample far beyond the factors' range, one that never spikes.
                        (0, _) => 400.0 * (k % n_in) as f64,
                        (1, _) => f64::INFINITY,
                        (_, 0) => f64::INFINITY,
                        _ => rng.random_range(0.0..2.0),
                    })
                    .collect();
                let weights = random_weights(&mut rng, n_in, n_out);
                let d: Vec<f64> = (0..n_in * n_out)
                    .map(|_| rng.random_range(0.0..1.0))
                    .collect();
                let delays = Delays::Synaptic(&d[..]);
                let (output, kept) = forward_keeping_factors(&lif, dims, &input, &weights, &delays);
                assert_eq!(output, forward(&lif, dims, &input, &weights, &delays));
                let kept = kept.expect("synaptic delays in range keep their factors");
                for b in 0..batch {
                    if kept.row(b).is_some() {
                        kept_rows += 1;
                    } else {
                        dropped_rows += 1;
                    }
                }
                let grad_output: Vec<f64> = (0..batch * n_out)
                    .map(|_| rng.random_range(-1.0..1.0))
                    .collect();
                for options in [GradientOptions::exact(), GradientOptions::reference()] {
                    let args = (&lif, &options, dims, &input[..], &weights[..], &delays);
                    let plain = backward(
                        args.0,
                        args.1,
                        args.2,
                        args.3,
                        args.4,
                        args.5,
                        &output,
                        &grad_output,
                    );
                    let reused = backward_with_factors(
                        args.0,
                        args.1,
                        args.2,
                        args.3,
                        args.4,
                        args.5,
                        &output,
                        &grad_output,
                        Some(&kept),
                    );
                    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&plain.input), bits(&reused.input));
                    assert_eq!(bits(&plain.weights), bits(&reused.weights));
                    assert_eq!(
                        bits(plain.delays.as_deref().unwrap()),
                        bits(reused.delays.as_deref().unwrap())
                    );
                    layers_with_gradients += usize::from(plain.weights.iter().any(|&g| g != 0.0));
                }
            }
        }
        assert!(
            kept_rows > 300 && dropped_rows >= 20,
            "{kept_rows} {dropped_rows}"
        );
        // Of 2 neuron kinds x 5 shapes x 2 options; a 1-input layer may stay silent.
        assert!(layers_with_gradients >= 16, "{layers_with_gradients}");
        // Other delay kinds keep nothing.
        let lif = LifParams::ideal().build().unwrap();
        let dims = LayerDims {
            batch: 1,
            n_in: 2,
            n_out: 1,
        };
        for delays in [Delays::None, Delays::Axonal(&[0.1, 0.2][..])] {
            let (_, kept) = forward_keeping_factors(&lif, dims, &[0.1, 0.2], &[2.0, 2.0], &delays);
            assert!(kept.is_none());
        }
    }

    /// By the 0-1 principle a comparator network sorts every input when it sorts every input
    /// of zeros and ones.
    #[test]
    fn results_do_not_depend_on_the_number_of_threads() {
        use rand::rngs::StdRng;
        use rand::{Rng, SeedableRng};
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let mut rng = StdRng::seed_from_u64(41);
        let (mut spikes, mut nonzero_grads) = (0, 0);
        for params in [LifParams::ideal(), LifParams::hardware()] {
            let lif = params.build().unwrap();
            // Batches of 150 split into 16 blocks of parameter gradients; the shapes take the
            // lane, stack-array and general scans.
            for (n_in, n_out) in [(4, 30), (30, 3), (9, 7), (3, 1)] {
                let batch = 150;
                let dims = LayerDims { batch, n_in, n_out };
                let input: Vec<f64> = (0..batch * n_in)
                    .map(|_| match rng.random_range(0..10) {
                        0 => f64::INFINITY,
                        _ => rng.random_range(0.0..2.0),
                    })
                    .collect();
                let weights = random_weights(&mut rng, n_in, n_out);
                let grad_output: Vec<f64> = (0..batch * n_out)
                    .map(|_| rng.random_range(-1.0..1.0))
                    .collect();
                let values: Vec<f64> = (0..n_in * n_out)
                    .map(|_| rng.random_range(0.0..1.0))
                    .collect();
                for kind in [
                    DelayKind::None,
                    DelayKind::Axonal,
                    DelayKind::Synaptic,
                    DelayKind::Dendritic,
                ] {
                    let delays = Delays::from_kind(kind, Some(&values[..kind.len(n_in, n_out)]));
                    let run = |threads: usize| {
                        let pool = rayon::ThreadPoolBuilder::new()
                            .num_threads(threads)
                            .build()
                            .unwrap();
                        pool.install(|| {
                            let (output, kept) =
                                forward_keeping(&lif, dims, &input, &weights, &delays, None, true);
                            let grads = backward_with_factors(
                                &lif,
                                &GradientOptions::exact(),
                                dims,
                                &input,
                                &weights,
                                &delays,
                                &output,
                                &grad_output,
                                kept.as_ref(),
                            );
                            let mut all = bits(&output);
                            all.extend(bits(&grads.input));
                            all.extend(bits(&grads.weights));
                            if let Some(g) = &grads.delays {
                                all.extend(bits(g));
                            }
                            (all, output, grads.weights)
                        })
                    };
                    let (one, output, grad_w) = run(1);
                    spikes += output.iter().filter(|t| t.is_finite()).count();
                    nonzero_grads += grad_w.iter().filter(|&&g| g != 0.0).count();
                    for threads in [2, 3] {
                        assert!(
                            run(threads).0 == one,
                            "{kind:?} {n_in}-{n_out}: {threads} threads differ from one"
                        );
                    }
                }
            }
        }
        assert!(spikes > 5_000, "too few spikes to compare: {spikes}");
        assert!(
            nonzero_grads > 200,
            "too few weight gradients: {nonzero_grads}"
        );
    }

    #[test]
    fn sorting_networks_sort_every_zero_one_input() {
        for bits in 0u32..256 {
            let mut keys = [0u64; SMALL_FAN_IN];
            for (i, k) in keys.iter_mut().enumerate() {
                *k = u64::from(bits >> i & 1);
            }
            let mut four = keys;
            sort_network_4(&mut four);
            assert!(four[..4].is_sorted(), "{bits:08b}: {four:?}");
            assert_eq!(four[4..], keys[4..]);
            sort_network_8(&mut keys);
            assert!(keys.is_sorted(), "{bits:08b}: {keys:?}");
        }
    }

    #[test]
    fn monotone_bits_keep_the_order_of_floats() {
        let xs = [
            f64::NEG_INFINITY,
            -1e300,
            -1.0,
            -f64::MIN_POSITIVE,
            -0.0,
            0.0,
            f64::MIN_POSITIVE,
            1.0,
            1.0 + f64::EPSILON,
            1e300,
            f64::INFINITY,
        ];
        for w in xs.windows(2) {
            assert!(monotone_bits(w[0]) < monotone_bits(w[1]), "{w:?}");
        }
    }

    #[test]
    fn validate_reports_shapes_and_values() {
        let dims = LayerDims {
            batch: 2,
            n_in: 2,
            n_out: 1,
        };
        let w = [1.0, 1.0];
        assert!(validate(dims, &[0.0; 4], &w, &Delays::None).is_ok());
        assert!(matches!(
            validate(dims, &[0.0; 3], &w, &Delays::None),
            Err(Error::Shape(_))
        ));
        assert!(matches!(
            validate(dims, &[0.0; 4], &w, &Delays::Axonal(&[0.1][..])),
            Err(Error::Shape(_))
        ));
        assert!(matches!(
            validate(dims, &[0.0, 0.0, f64::NAN, 0.0], &w, &Delays::None),
            Err(Error::InvalidSpikeTime {
                sample: 1,
                input: 0,
                ..
            })
        ));
        assert!(matches!(
            validate(dims, &[0.0; 4], &[1.0, f64::INFINITY], &Delays::None),
            Err(Error::NonFiniteParameter { index: 1, .. })
        ));
        assert!(validate(dims, &[f64::INFINITY; 4], &w, &Delays::None).is_ok());
    }

    #[test]
    fn dendritic_delay_shifts_output_and_matches_per_neuron_scan() {
        let lif = LifParams::ideal().with_eps(0.0).build().unwrap();
        let dims = LayerDims {
            batch: 1,
            n_in: 3,
            n_out: 2,
        };
        let input = [0.3, 0.1, 0.7];
        let weights = [1.5, 0.9, 1.0, 1.3, 0.9, 0.8];
        let plain = forward(&lif, dims, &input, &weights, &Delays::None);
        let d = [0.25, 0.5];
        let delayed = forward(&lif, dims, &input, &weights, &Delays::Dendritic(&d[..]));
        for j in 0..2 {
            assert!(plain[j].is_finite(), "{plain:?}");
            assert!(
                (delayed[j] - plain[j] - d[j]).abs() < 1e-12,
                "{plain:?} {delayed:?}"
            );
        }
    }

    /// Times or delays hundreds of time constants apart leave the range where exponential
    /// factors are multiplied; the kernels then take one exponential per arrival and still agree
    /// with the scalar scan and its gradients.
    #[test]
    fn extreme_times_fall_back_to_direct_exponentials() {
        for params in [LifParams::ideal(), LifParams::hardware()] {
            let lif = params.build().unwrap();
            let dims = LayerDims {
                batch: 2,
                n_in: 3,
                n_out: 2,
            };
            let input = [0.1, 0.3, 0.2, 500.1, 500.3, 900.0];
            let weights = [4.0, 3.0, 4.0, 3.5, 3.0, 4.0];
            for d in [
                [0.2, 0.1, 0.3, 0.0, 0.4, 0.1],
                [0.2, 300.0, 0.3, 0.0, 0.4, 0.1],
            ] {
                let delays = Delays::Synaptic(&d[..]);
                let out = forward(&lif, dims, &input, &weights, &delays);
                let grads = backward(
                    &lif,
                    &GradientOptions::exact(),
                    dims,
                    &input,
                    &weights,
                    &delays,
                    &out,
                    &[1.0; 4],
                );
                let mut spikes = 0;
                for b in 0..2 {
                    for j in 0..2 {
                        let arr: Vec<f64> =
                            (0..3).map(|i| input[b * 3 + i] + d[i * 2 + j]).collect();
                        let w: Vec<f64> = (0..3).map(|i| weights[i * 2 + j]).collect();
                        let t = lif.spike_time(&arr, &w);
                        let got = out[b * 2 + j];
                        assert!(got == t || (got - t).abs() <= 1e-12 * t.abs(), "{got} {t}");
                        spikes += usize::from(t.is_finite());
                    }
                }
                assert!(spikes >= 3, "{out:?}");
                assert!(grads.weights.iter().all(|g| g.is_finite()), "{grads:?}");
                assert!(grads.input.iter().any(|g| *g != 0.0), "{grads:?}");
                // The sample far from the origin has the same gradients as when shifted back.
                let shifted: Vec<f64> = input[3..].iter().map(|t| t - 500.0).collect();
                let dims1 = LayerDims { batch: 1, ..dims };
                let out1 = forward(&lif, dims1, &shifted, &weights, &delays);
                let g1 = backward(
                    &lif,
                    &GradientOptions::exact(),
                    dims1,
                    &shifted,
                    &weights,
                    &delays,
                    &out1,
                    &[1.0; 2],
                );
                for (a, b) in g1.input.iter().zip(&grads.input[3..]) {
                    assert!((a - b).abs() <= 1e-6 * (1.0 + a.abs()), "{a} {b}");
                }
            }
        }
    }
}
