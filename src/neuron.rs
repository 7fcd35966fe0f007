//! The f64 math core: current-based LIF neurons with exponential synapses, their closed-form
//! first-spike time for a causal set, the causal-set scan, and the exact derivatives
//! (docs/model.md). No Burn types live here.
//!
//! All sums are formed relative to a shift time `s` (exponentials of `arrival - s`), which keeps
//! them bounded; the reference's `eps` regulariser, defined on unshifted sums, is carried over
//! exactly by scaling it with `e^{-s/tau}`, so results equal the reference's to round-off.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::lambert::lambert_w0;

/// Parameters of the leaky integrate-and-fire neuron, in units where times are given in the same
/// unit as `tau_syn` (usually `tau_syn = 1`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LifParams {
    /// Synaptic time constant tau_s.
    pub tau_syn: f64,
    /// Membrane time constant tau_m; must be tau_s or 2 tau_s (closed forms exist only there).
    pub tau_mem: f64,
    /// Leak conductance g_L.
    pub g_leak: f64,
    /// Leak (resting) potential E_L.
    pub leak: f64,
    /// Firing threshold theta.
    pub threshold: f64,
    /// Regulariser added to the sums a1 and b (ratio 1) or a1 and a2 (ratio 2), as in the
    /// reference implementation (1e-6 there; moves spike times by about 1e-7). 0 disables it.
    #[serde(default = "default_eps")]
    pub eps: f64,
}

fn default_eps() -> f64 {
    REFERENCE_EPS
}

/// The regulariser used by the reference implementation.
pub const REFERENCE_EPS: f64 = 1e-6;

impl LifParams {
    /// tau_m = 2 tau_s, g_L = 0.5, theta = 1: the neuron of all ideal-simulation presets.
    pub fn ideal() -> Self {
        Self {
            tau_syn: 1.0,
            tau_mem: 2.0,
            g_leak: 0.5,
            leak: 0.0,
            threshold: 1.0,
            eps: REFERENCE_EPS,
        }
    }

    /// tau_m = tau_s, g_L = 1, theta = 2.6: the neuron of the hardware-aware presets.
    pub fn hardware() -> Self {
        Self {
            tau_syn: 1.0,
            tau_mem: 1.0,
            g_leak: 1.0,
            leak: 0.0,
            threshold: 2.6,
            eps: REFERENCE_EPS,
        }
    }

    /// tau_m = tau_s, g_L = 1, theta = 1: the neuron of the older Fast&Deep work.
    pub fn fast_and_deep() -> Self {
        Self {
            threshold: 1.0,
            ..Self::hardware()
        }
    }

    /// Same parameters with another threshold.
    pub fn with_threshold(self, threshold: f64) -> Self {
        Self { threshold, ..self }
    }

    /// Same parameters with another regulariser.
    pub fn with_eps(self, eps: f64) -> Self {
        Self { eps, ..self }
    }

    /// Checks the parameters and precomputes what the spike-time formulas need.
    pub fn build(&self) -> Result<Lif> {
        Lif::new(*self)
    }
}

impl Default for LifParams {
    fn default() -> Self {
        Self::ideal()
    }
}

/// Relative margin of the ratio-2 scans' window test in e^{t/tau_m}: far above round-off, so
/// that near-ties go to the exact time-domain test and every scan agrees bitwise.
const RATIO_TWO_MARGIN: f64 = 1e-9;

/// Neurons that [`Lif::first_spikes_of_lanes`] scans side by side: wide enough for the
/// compiler to keep several vectors of lanes in flight (16 and 32 lanes were 7 % and 10 % faster
/// than 8 on Yin-Yang's hidden layer, measured).
pub(crate) const LANES: usize = 32;

/// Which closed form applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TauRatio {
    /// tau_m = tau_s: spike times through the Lambert W function.
    One,
    /// tau_m = 2 tau_s: spike times through a quadratic in e^{-t/tau_m}.
    Two,
}

/// A validated neuron with the constants the kernels need.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lif {
    params: LifParams,
    ratio: TauRatio,
    /// c = g_L (theta - E_L).
    c: f64,
    inv_tau_syn: f64,
    inv_tau_mem: f64,
}

/// Running sums of a causal set, relative to a shift time `s`.
///
/// Ratio 1: `a = sum w e^{u/tau}`, `b = sum w u e^{u/tau} / tau`.
/// Ratio 2: `a = sum w e^{u/tau_s}`, `b = sum w e^{u/tau_m}`.
/// Here `u = arrival - s`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CausalSums {
    /// Shift time the exponentials are relative to.
    pub shift: f64,
    /// First sum (a1).
    pub a: f64,
    /// Second sum (b for ratio 1, a2 for ratio 2).
    pub b: f64,
}

/// The exact partial derivatives of one output spike time, ready to be evaluated per input.
///
/// Produced by [`Lif::partials`] from the output time and the causal set alone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpikePartials {
    ratio: TauRatio,
    t_out: f64,
    inv_tau_syn: f64,
    inv_tau_mem: f64,
    tau_mem: f64,
    /// Ratio 1: 1 / (A (1 + W)); ratio 2: 1 / S.
    scale: f64,
    /// Ratio 2: q relative to the shift (e^{-(t - s)/tau_m}); unused for ratio 1.
    q: f64,
}

impl SpikePartials {
    /// (d t_out / d w_i, d t_out / d t_i) for an input in the causal set.
    #[inline]
    pub fn of_input(&self, arrival: f64, weight: f64) -> (f64, f64) {
        let u = arrival - self.t_out;
        let exp = match self.ratio {
            TauRatio::One => (u * self.inv_tau_syn).exp(),
            TauRatio::Two => (u * self.inv_tau_mem).exp(),
        };
        self.of_input_with_exp(arrival, weight, exp)
    }

    /// [`SpikePartials::of_input`] given the input's exponential term as [`Lif::push`] returned
    /// it for sums relative to `t_out` (the backward pass computes each exponential once).
    #[inline]
    pub fn of_input_with_exp(&self, arrival: f64, weight: f64, exp: f64) -> (f64, f64) {
        let u = arrival - self.t_out;
        match self.ratio {
            TauRatio::One => {
                // dt/dw = -(t - t_i) e^{t_i/tau} / (A (1 + W)); dt/dt_i = -w e^{t_i/tau}
                // (t - t_i - tau) / (tau A (1 + W)); here t - t_i = -u.
                let es = exp;
                let d_w = u * es * self.scale;
                let d_t = weight * es * (u * self.inv_tau_syn + 1.0) * self.scale;
                (d_w, d_t)
            }
            TauRatio::Two => {
                let em = exp;
                let es = em * em;
                let d_w = self.tau_mem * (self.q * es - em) * self.scale;
                let d_t =
                    weight * (self.q * es * self.tau_mem * self.inv_tau_syn - em) * self.scale;
                (d_w, d_t)
            }
        }
    }
}

impl Lif {
    /// Validates the parameters: positive finite time constants with tau_m / tau_s in {1, 2},
    /// positive leak conductance, threshold above the leak potential, non-negative eps.
    pub fn new(params: LifParams) -> Result<Self> {
        let LifParams {
            tau_syn,
            tau_mem,
            g_leak,
            leak,
            threshold,
            eps,
        } = params;
        let bad = |msg: String| Err(Error::InvalidNeuron(msg));
        if !(tau_syn.is_finite() && tau_syn > 0.0) {
            return bad(format!(
                "tau_syn must be positive and finite, got {tau_syn}"
            ));
        }
        if !(tau_mem.is_finite() && tau_mem > 0.0) {
            return bad(format!(
                "tau_mem must be positive and finite, got {tau_mem}"
            ));
        }
        if !(g_leak.is_finite() && g_leak > 0.0) {
            return bad(format!("g_leak must be positive and finite, got {g_leak}"));
        }
        if !(leak.is_finite() && threshold.is_finite()) {
            return bad(format!(
                "leak and threshold must be finite, got {leak} and {threshold}"
            ));
        }
        if threshold <= leak {
            return bad(format!(
                "threshold {threshold} must lie above the leak potential {leak}"
            ));
        }
        if !(eps.is_finite() && eps >= 0.0) {
            return bad(format!("eps must be finite and >= 0, got {eps}"));
        }
        let r = tau_mem / tau_syn;
        let ratio = if (r - 1.0).abs() < 1e-9 {
            TauRatio::One
        } else if (r - 2.0).abs() < 1e-9 {
            TauRatio::Two
        } else {
            return bad(format!(
                "tau_mem / tau_syn = {r}: only 1 and 2 have closed-form spike times"
            ));
        };
        Ok(Self {
            params,
            ratio,
            c: g_leak * (threshold - leak),
            inv_tau_syn: 1.0 / tau_syn,
            inv_tau_mem: 1.0 / tau_mem,
        })
    }

    /// The parameters this neuron was built from.
    pub fn params(&self) -> &LifParams {
        &self.params
    }

    /// Which closed form applies.
    pub fn ratio(&self) -> TauRatio {
        self.ratio
    }

    /// The same neuron with another threshold (used for threshold noise); validated.
    pub fn with_threshold(&self, threshold: f64) -> Result<Self> {
        Self::new(self.params.with_threshold(threshold))
    }

    /// Empty sums relative to `shift`.
    #[inline]
    pub fn empty_sums(&self, shift: f64) -> CausalSums {
        CausalSums {
            shift,
            a: 0.0,
            b: 0.0,
        }
    }

    /// Adds one input to a causal set and returns its exponential term, e^{u/tau_s} (ratio 1) or
    /// e^{u/tau_m} (ratio 2) with u = arrival - shift, for [`SpikePartials::of_input_with_exp`].
    #[inline]
    pub fn push(&self, sums: &mut CausalSums, arrival: f64, weight: f64) -> f64 {
        let exp = self.exp_rel(arrival - sums.shift);
        self.push_with_exp(sums, arrival, weight, exp);
        exp
    }

    /// [`Lif::push`] with the input's exponential term supplied by the caller (kernels that
    /// build it from precomputed factors).
    #[inline]
    pub fn push_with_exp(&self, sums: &mut CausalSums, arrival: f64, weight: f64, exp: f64) {
        match self.ratio {
            TauRatio::One => {
                let u = arrival - sums.shift;
                let e = weight * exp;
                sums.a += e;
                sums.b += e * u * self.inv_tau_syn;
            }
            TauRatio::Two => {
                sums.a += weight * exp * exp;
                sums.b += weight * exp;
            }
        }
    }

    /// The regularised sums (A, B) in shifted coordinates: the reference adds eps to the
    /// unshifted sums, which is eps e^{-s/tau} here (and, for b of ratio 1, the term that
    /// moves with the shift).
    #[inline]
    fn regularised(&self, sums: &CausalSums) -> (f64, f64) {
        let (eps_a, eps_b) = self.eps_terms(sums.shift);
        (sums.a + eps_a, sums.b + eps_b)
    }

    /// The time at which the membrane driven by exactly this causal set first reaches threshold
    /// (docs/model.md), or +inf if it never does. Not yet checked against the window of the set.
    #[inline]
    pub fn candidate(&self, sums: &CausalSums) -> f64 {
        let (a, b) = self.regularised(sums);
        match self.ratio {
            TauRatio::One => {
                if a == 0.0 {
                    return f64::INFINITY;
                }
                let ba = b / a;
                let z = -(self.c / a) * ba.exp();
                match lambert_w0(z) {
                    Some(w) => {
                        let t = sums.shift + self.params.tau_syn * (ba - w);
                        if t.is_nan() {
                            f64::INFINITY
                        } else {
                            t
                        }
                    }
                    None => f64::INFINITY,
                }
            }
            TauRatio::Two => {
                let disc = b * b - 4.0 * a * self.c;
                if disc.is_nan() || disc < 0.0 {
                    return f64::INFINITY;
                }
                let arg = 2.0 * a / (b + disc.sqrt());
                if arg.is_nan() || arg <= 0.0 || arg == f64::INFINITY {
                    return f64::INFINITY;
                }
                sums.shift + self.params.tau_mem * arg.ln()
            }
        }
    }

    /// First spike time of a neuron whose inputs, sorted by arrival, are given by accessors:
    /// `arrival(k)` ascending in `k`, with +inf (never arrives) at the end. Scans the causal sets
    /// upward with running sums and stops at the first valid candidate (docs/model.md).
    ///
    /// Equal, to the last bit, to [`Lif::first_spike_reference`] (the scan written plainly), but
    /// most candidates are rejected without their logarithm or Lambert W: a window
    /// `[arrival(k), arrival(k+1)]` is tested with the exponential of its end, which the next
    /// input's term needs anyway, so a scan costs about one exponential per input plus one
    /// closed-form solution.
    #[inline]
    pub fn first_spike(
        &self,
        n: usize,
        arrival: impl Fn(usize) -> f64,
        weight: impl Fn(usize) -> f64,
    ) -> f64 {
        if n == 0 {
            return f64::INFINITY;
        }
        let first = arrival(0);
        if !first.is_finite() {
            return f64::INFINITY;
        }
        self.first_spike_with_exps(n, &arrival, weight, |k| self.exp_rel(arrival(k) - first))
    }

    /// The exponential term of an input arriving `dt` after the first input of a scan, as
    /// [`Lif::first_spike_with_exps`] expects it.
    #[inline]
    pub fn exp_rel(&self, dt: f64) -> f64 {
        match self.ratio {
            TauRatio::One => (dt * self.inv_tau_syn).exp(),
            TauRatio::Two => (dt * self.inv_tau_mem).exp(),
        }
    }

    /// [`Lif::first_spike`] with the inputs' exponential terms supplied by the caller:
    /// `exp_rel(k) = e^{(arrival(k) - arrival(0))/tau}` with tau = tau_s (ratio 1) or tau_m
    /// (ratio 2), +inf for inputs that never arrive. Kernels whose neurons share one arrival order
    /// (no, axonal or dendritic delays) compute them once per sample instead of once per neuron.
    #[inline]
    pub fn first_spike_with_exps(
        &self,
        n: usize,
        arrival: impl Fn(usize) -> f64,
        weight: impl Fn(usize) -> f64,
        exp_rel: impl Fn(usize) -> f64,
    ) -> f64 {
        if n == 0 {
            return f64::INFINITY;
        }
        let first = arrival(0);
        if !first.is_finite() {
            return f64::INFINITY;
        }
        match self.ratio {
            TauRatio::One => self.scan_ratio_one(n, first, &arrival, weight, exp_rel),
            TauRatio::Two => self.scan_ratio_two(n, first, &arrival, weight, exp_rel),
        }
    }

    /// The eps terms that [`Lif::regularised`] adds for sums relative to `shift`: the
    /// reference adds eps to the unshifted sums, which is eps e^{-s/tau} here (and, for b of
    /// ratio 1, the term that moves with the shift). The scans compute them once per scan.
    #[inline]
    fn eps_terms(&self, shift: f64) -> (f64, f64) {
        let eps = self.params.eps;
        if eps == 0.0 {
            return (0.0, 0.0);
        }
        match self.ratio {
            TauRatio::One => {
                let e = eps * (-shift * self.inv_tau_syn).exp();
                (e, e * (1.0 - shift * self.inv_tau_syn))
            }
            TauRatio::Two => {
                // e^{-s/tau_s} = (e^{-s/tau_m})^2: one exponential instead of two.
                let em = (-shift * self.inv_tau_mem).exp();
                (eps * (em * em), eps * em)
            }
        }
    }

    /// tau_m = 2 tau_s. With q = e^{-(t-s)/tau_m}, a candidate lies in the window exactly when
    /// 1/q lies between the window ends' e^{(t_k-s)/tau_m}, so the logarithm is taken only for
    /// the accepted candidate. A relative margin far above round-off lets the exact time-domain
    /// test of the plain scan decide the (measure-zero) near-ties, so both scans agree bitwise.
    #[inline]
    fn scan_ratio_two(
        &self,
        n: usize,
        first: f64,
        arrival: impl Fn(usize) -> f64,
        weight: impl Fn(usize) -> f64,
        exp_rel: impl Fn(usize) -> f64,
    ) -> f64 {
        const MARGIN: f64 = RATIO_TWO_MARGIN;
        const SKIP_MARGIN: f64 = 1e-7;
        let shift = first;
        let (eps_a, eps_b) = self.eps_terms(shift);
        let (mut a, mut b) = (0.0, 0.0);
        let mut current = first;
        // e^{(current - s)/tau_m}; the first input arrives at the shift.
        let mut em_current = 1.0;
        for k in 0..n {
            let w = weight(k);
            a += w * em_current * em_current;
            b += w * em_current;
            let next = if k + 1 < n {
                arrival(k + 1)
            } else {
                f64::INFINITY
            };
            let em_next = if k + 1 < n {
                exp_rel(k + 1)
            } else {
                f64::INFINITY
            };
            let (ar, br) = (a + eps_a, b + eps_b);
            // Most windows hold no crossing, and most of those are seen with multiplications
            // alone, keeping the square root and division off the scan's critical path. In q
            // the set's membrane is the parabola B q - A q^2 (scaled), q falling with time; a
            // window whose end is still before the vertex (rising) and below c, or whose start
            // is already past it (falling) and below c, holds no crossing, and the exact test
            // would put the candidate after (resp. before) the window. The margin, far above
            // round-off, keeps these a strict subset of the exact test's rejections, so the
            // scan's results are unchanged to the last bit.
            let cheap_reject = if ar > 0.0 {
                let be = br * em_next;
                let ce = self.c * em_next * em_next;
                let bc = br * em_current;
                let cc = self.c * em_current * em_current;
                // Still rising at the window's end, and below c there.
                (em_next < f64::INFINITY
                    && 2.0 * ar - be > SKIP_MARGIN * (2.0 * ar + be.abs())
                    && be - ar + SKIP_MARGIN * (be.abs() + ar + ce) < ce)
                    // Already falling at the window's start, and below c there.
                    || (bc - 2.0 * ar > SKIP_MARGIN * (2.0 * ar + bc.abs())
                        && bc - ar + SKIP_MARGIN * (bc.abs() + ar + cc) < cc)
            } else {
                // A <= 0: the exact test's argument is never positive.
                ar <= 0.0
            };
            if cheap_reject {
                if !next.is_finite() {
                    break;
                }
                current = next;
                em_current = em_next;
                continue;
            }
            let disc = br * br - 4.0 * ar * self.c;
            if disc >= 0.0 {
                let arg = 2.0 * ar / (br + disc.sqrt());
                if arg > 0.0
                    && arg < f64::INFINITY
                    && arg >= em_current * (1.0 - MARGIN)
                    && arg <= em_next * (1.0 + MARGIN)
                {
                    let t = shift + self.params.tau_mem * arg.ln();
                    if t >= current && t <= next {
                        return t;
                    }
                }
            }
            if !next.is_finite() {
                break;
            }
            current = next;
            em_current = em_next;
        }
        f64::INFINITY
    }

    /// [`Lif::first_spike_with_exps`] of [`LANES`] neurons side by side, each with the same
    /// number `n` of inputs: `arrival[k][l]`, `weight[k][l]` and `exp_rel[k][l]` are lane `l`'s
    /// k-th input in arrival order, as the scan expects them. Writes the first spike times of
    /// lanes `0..out.len()`; the other lanes are padding, computed alongside (any values) but
    /// without their exponential and logarithm.
    ///
    /// For tau_m = 2 tau_s every window of every lane is tested, with the same operations as the
    /// one-neuron scan but without its branches, so that the compiler can run the lanes in vector
    /// registers; the logarithm is taken only for windows that pass, earliest first. The scan
    /// with early exits skips most windows' square root and division, but its branches serialise
    /// the work of a small neuron; side by side, the lanes share every instruction. Same values,
    /// same operations: the same bits as the one-neuron scan (tested). Ratio 1 scans lane by lane.
    #[inline(always)]
    pub(crate) fn first_spikes_of_lanes(
        &self,
        n: usize,
        arrival: &[[f64; LANES]],
        weight: &[[f64; LANES]],
        exp_rel: &[[f64; LANES]],
        out: &mut [f64],
    ) {
        let width = out.len().min(LANES);
        // Enough for every fan-in the kernels scan side by side; larger ones go lane by lane.
        const MAX_INPUTS: usize = 8;
        if self.ratio == TauRatio::One || n > MAX_INPUTS || n == 0 {
            for (l, o) in out.iter_mut().enumerate() {
                *o = self.first_spike_with_exps(
                    n,
                    |k| arrival[k][l],
                    |k| weight[k][l],
                    |k| exp_rel[k][l],
                );
            }
            return;
        }
        const MARGIN: f64 = RATIO_TWO_MARGIN;
        let (arrival, weight, exp_rel) = (&arrival[..n], &weight[..n], &exp_rel[..n]);
        let shift = arrival[0];
        let mut eps_a = [0.0; LANES];
        let mut eps_b = [0.0; LANES];
        for l in 0..width {
            (eps_a[l], eps_b[l]) = self.eps_terms(shift[l]);
        }
        let (mut a, mut b) = ([0.0; LANES], [0.0; LANES]);
        // Each window's root, where it passes the window test (and 0, which never passes,
        // elsewhere). A window passes when it holds the root of the quadratic (up to the margin)
        // and the scan reaches it: its input arrives (sorted, so every earlier one does too; the
        // one-neuron scan stops after the last finite arrival).
        let mut roots = [[0.0f64; LANES]; MAX_INPUTS];
        // Whether any window of a lane passes, as 0 or 1 in a float: the lanes stay in one kind
        // of vector register.
        let mut any = [0.0f64; LANES];
        for k in 0..n {
            // As in the one-neuron scan, the first input's term is exactly 1 (the caller's
            // product of factors may round off it).
            let em_current = if k == 0 { &[1.0; LANES] } else { &exp_rel[k] };
            let em_next = exp_rel.get(k + 1).unwrap_or(&[f64::INFINITY; LANES]);
            for l in 0..LANES {
                let w = weight[k][l];
                a[l] += w * em_current[l] * em_current[l];
                b[l] += w * em_current[l];
                let (ar, br) = (a[l] + eps_a[l], b[l] + eps_b[l]);
                let disc = br * br - 4.0 * ar * self.c;
                let arg = 2.0 * ar / (br + disc.sqrt());
                let pass = (disc >= 0.0)
                    & (arg > 0.0)
                    & (arg < f64::INFINITY)
                    & (arg >= em_current[l] * (1.0 - MARGIN))
                    & (arg <= em_next[l] * (1.0 + MARGIN))
                    & (arrival[k][l] < f64::INFINITY);
                roots[k][l] = if pass { arg } else { 0.0 };
                any[l] = if pass { 1.0 } else { any[l] };
            }
        }
        for l in 0..width {
            out[l] = f64::INFINITY;
            if any[l] == 0.0 {
                continue;
            }
            for k in 0..n {
                let arg = roots[k][l];
                if arg == 0.0 {
                    continue;
                }
                let t = shift[l] + self.params.tau_mem * arg.ln();
                let next = arrival.get(k + 1).map_or(f64::INFINITY, |row| row[l]);
                if t >= arrival[k][l] && t <= next {
                    out[l] = t;
                    break;
                }
            }
        }
    }

    /// tau_m = tau_s. In units u = (t - s)/tau the membrane of a causal set is
    /// V(u) = (A u - B) e^{-u}, and the candidate is its rising crossing of c = g_L (theta - E_L)
    /// (A > 0: V rises up to u* = 1 + B/A). A window that ends before u* holds no crossing when
    /// V(window end) < c, which costs two divisions instead of a Lambert W; everything else goes
    /// through the plain scan's test. The margin keeps near-ties with the plain scan.
    #[inline]
    fn scan_ratio_one(
        &self,
        n: usize,
        first: f64,
        arrival: impl Fn(usize) -> f64,
        weight: impl Fn(usize) -> f64,
        exp_rel: impl Fn(usize) -> f64,
    ) -> f64 {
        const MARGIN: f64 = 1e-9;
        let shift = first;
        let (eps_a, eps_b) = self.eps_terms(shift);
        let mut sums = self.empty_sums(shift);
        let mut current = first;
        // e^{(current - s)/tau}; the first input arrives at the shift.
        let mut e_current = 1.0;
        for k in 0..n {
            let e = weight(k) * e_current;
            sums.a += e;
            sums.b += e * (current - shift) * self.inv_tau_syn;
            let next = if k + 1 < n {
                arrival(k + 1)
            } else {
                f64::INFINITY
            };
            let u_next = (next - shift) * self.inv_tau_syn;
            let e_next = if k + 1 < n {
                exp_rel(k + 1)
            } else {
                f64::INFINITY
            };
            let (ar, br) = (sums.a + eps_a, sums.b + eps_b);
            let rising_and_below = ar > 0.0 && e_next < f64::INFINITY && {
                let peak = 1.0 + br / ar;
                let drive = ar * u_next - br;
                u_next < peak - MARGIN
                    && drive + MARGIN * (ar * u_next.abs() + br.abs())
                        < self.c * e_next * (1.0 - MARGIN)
            };
            if !rising_and_below {
                let t = self.candidate(&sums);
                if t >= current && t <= next {
                    return t;
                }
            }
            if !next.is_finite() {
                break;
            }
            current = next;
            e_current = e_next;
        }
        f64::INFINITY
    }

    /// The plain causal-set scan: every candidate solved in closed form and checked against its
    /// window. [`Lif::first_spike`] computes the same times faster; this one is the definition
    /// the tests compare it with.
    pub fn first_spike_reference(
        &self,
        n: usize,
        arrival: impl Fn(usize) -> f64,
        weight: impl Fn(usize) -> f64,
    ) -> f64 {
        if n == 0 {
            return f64::INFINITY;
        }
        let first = arrival(0);
        if !first.is_finite() {
            return f64::INFINITY;
        }
        let mut sums = self.empty_sums(first);
        let mut current = first;
        for k in 0..n {
            self.push(&mut sums, current, weight(k));
            let next = if k + 1 < n {
                arrival(k + 1)
            } else {
                f64::INFINITY
            };
            let t = self.candidate(&sums);
            if t >= current && t <= next {
                return t;
            }
            if !next.is_finite() {
                break;
            }
            current = next;
        }
        f64::INFINITY
    }

    /// Spike time of one neuron from unsorted arrivals and weights (allocates; for tests and
    /// one-off use; kernels call [`Lif::first_spike`] on their own scratch buffers).
    pub fn spike_time(&self, arrivals: &[f64], weights: &[f64]) -> f64 {
        let order = sorted_order(arrivals);
        self.first_spike(order.len(), |k| arrivals[order[k]], |k| weights[order[k]])
    }

    /// The sums of the causal set of an output spike at `t_out`: every input with
    /// `arrival <= t_out`, relative to the shift `t_out` (so exponentials are at most 1).
    #[inline]
    pub fn causal_sums(
        &self,
        t_out: f64,
        n: usize,
        arrival: impl Fn(usize) -> f64,
        weight: impl Fn(usize) -> f64,
    ) -> CausalSums {
        let mut sums = self.empty_sums(t_out);
        for i in 0..n {
            let a = arrival(i);
            if a <= t_out {
                self.push(&mut sums, a, weight(i));
            }
        }
        sums
    }

    /// The exact derivatives of the output spike time `t_out` (docs/model.md), from the sums of
    /// its causal set (see [`Lif::causal_sums`]). `None` when the ideal neuron could not have
    /// spiked there (no threshold crossing for these sums, or a tangential touch where the
    /// derivatives diverge): the caller then gives that spike zero gradients.
    pub fn partials(&self, t_out: f64, sums: &CausalSums) -> Option<SpikePartials> {
        if !t_out.is_finite() {
            return None;
        }
        let (a, b) = self.regularised(sums);
        let (scale, q) = match self.ratio {
            TauRatio::One => {
                if a == 0.0 {
                    return None;
                }
                let z = -(self.c / a) * (b / a).exp();
                let w = lambert_w0(z)?;
                (1.0 / (a * (1.0 + w)), 0.0)
            }
            TauRatio::Two => {
                let disc = b * b - 4.0 * a * self.c;
                if disc.is_nan() || disc < 0.0 {
                    return None;
                }
                let s = disc.sqrt();
                let q = (b + s) / (2.0 * a);
                if q.is_nan() || q <= 0.0 {
                    return None;
                }
                (1.0 / s, q)
            }
        };
        if !scale.is_finite() || !q.is_finite() {
            return None;
        }
        Some(SpikePartials {
            ratio: self.ratio,
            t_out,
            inv_tau_syn: self.inv_tau_syn,
            inv_tau_mem: self.inv_tau_mem,
            tau_mem: self.params.tau_mem,
            scale,
            q,
        })
    }

    /// Derivatives of the spike time with respect to every weight and every arrival time, from
    /// unsorted inputs (allocates; for tests and one-off use). Zero outside the causal set and
    /// for silent or impossible spikes.
    pub fn spike_gradients(
        &self,
        arrivals: &[f64],
        weights: &[f64],
        t_out: f64,
    ) -> (Vec<f64>, Vec<f64>) {
        let n = arrivals.len();
        let mut d_w = vec![0.0; n];
        let mut d_t = vec![0.0; n];
        let sums = self.causal_sums(t_out, n, |i| arrivals[i], |i| weights[i]);
        if let Some(p) = self.partials(t_out, &sums) {
            for i in 0..n {
                if arrivals[i] <= t_out {
                    (d_w[i], d_t[i]) = p.of_input(arrivals[i], weights[i]);
                }
            }
        }
        (d_w, d_t)
    }
}

/// Indices of `times` in ascending order; NaN sorts last (total order), so this never panics.
pub fn sorted_order(times: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..times.len()).collect();
    order.sort_unstable_by(|&i, &j| times[i].total_cmp(&times[j]));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_parameters() {
        let ok = LifParams::ideal();
        assert!(ok.build().is_ok());
        for bad in [
            LifParams { tau_syn: 0.0, ..ok },
            LifParams {
                tau_mem: -2.0,
                ..ok
            },
            LifParams { tau_mem: 3.0, ..ok },
            LifParams { g_leak: 0.0, ..ok },
            LifParams {
                threshold: f64::NAN,
                ..ok
            },
            LifParams {
                threshold: -1.0,
                ..ok
            },
            LifParams { eps: -1.0, ..ok },
        ] {
            assert!(
                matches!(bad.build(), Err(Error::InvalidNeuron(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn ratios_are_recognised_for_any_tau_syn() {
        let p = LifParams {
            tau_syn: 0.5,
            tau_mem: 1.0,
            ..LifParams::ideal()
        };
        assert_eq!(p.build().unwrap().ratio(), TauRatio::Two);
        let p = LifParams {
            tau_syn: 3.0,
            tau_mem: 3.0,
            ..LifParams::hardware()
        };
        assert_eq!(p.build().unwrap().ratio(), TauRatio::One);
    }

    #[test]
    fn no_input_no_spike() {
        let lif = LifParams::ideal().build().unwrap();
        assert_eq!(lif.spike_time(&[], &[]), f64::INFINITY);
        assert_eq!(
            lif.spike_time(&[f64::INFINITY, f64::INFINITY], &[5.0, 5.0]),
            f64::INFINITY
        );
    }
}
