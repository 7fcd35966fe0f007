//! The time grid of the discrete-time simulation and the host-side pieces of the exact
//! per-step update: the postsynaptic-potential kernel sampled on the grid, its Toeplitz matrix,
//! input spikes placed on the grid, first threshold crossings and their interpolated times.
//!
//! Why a kernel instead of a loop over steps: the neurons fire at most once and are silenced
//! afterwards, so up to its first spike a neuron's membrane is a *linear, time-invariant* function
//! of its input spike trains. Updating `(I, V)` with the exact exponential propagator over each
//! step of size `dt` therefore gives, at every grid point `n dt`, exactly
//! `V[n] = sum_m h[n - m] I_in[m]`, where `h[k]` is the membrane response to a unit current jump
//! `k` steps earlier (the PSP kernel sampled on the grid) and `I_in[m]` the summed weights of the
//! spikes arriving in step `m`. Written as one matrix product per layer, backpropagation through
//! time is then the transpose of that product, which Burn's autodiff does in a handful of ops
//! instead of thousands of per-step ops.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::neuron::LifParams;

/// Default simulated time span, in units of tau_s. Yin-Yang inputs arrive in [0.15, 2.0]
/// (docs/model.md) and every output spike of the trained DelGrad networks under
/// `artifacts/yinyang/` comes before 2.9 tau_s (with delays of up to 1 tau_s per layer);
/// 4 tau_s leaves room for untrained networks without simulating silence.
pub const DEFAULT_HORIZON: f64 = 4.0;

/// Largest number of grid points accepted (a guard against a typo such as `dt = 1e-7`).
pub const MAX_STEPS: usize = 20_000;

/// A uniform time grid `t_n = n dt`, `n = 0 ..= round(horizon / dt)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TimeGrid {
    /// Step size, in units of tau_s.
    pub dt: f64,
    /// Last simulated time, in units of tau_s.
    pub horizon: f64,
}

impl TimeGrid {
    /// A validated grid: `dt` and `horizon` finite and positive, `horizon >= dt`, at most
    /// [`MAX_STEPS`] points ([`Error::InvalidConfig`] otherwise).
    pub fn new(dt: f64, horizon: f64) -> Result<Self> {
        if !(dt.is_finite() && dt > 0.0 && horizon.is_finite() && horizon >= dt) {
            return Err(Error::InvalidConfig(format!(
                "time grid needs 0 < dt <= horizon (finite), got dt = {dt}, horizon = {horizon}"
            )));
        }
        let grid = Self { dt, horizon };
        if grid.steps() > MAX_STEPS {
            return Err(Error::InvalidConfig(format!(
                "time grid dt = {dt}, horizon = {horizon} has {} points, more than {MAX_STEPS}",
                grid.steps()
            )));
        }
        Ok(grid)
    }

    /// Number of grid points (`round(horizon / dt) + 1`).
    pub fn steps(&self) -> usize {
        (self.horizon / self.dt).round() as usize + 1
    }

    /// The step a spike at time `t` is placed on (nearest grid point), or `None` when the spike
    /// does not happen within the grid (+inf, or later than the last point).
    pub fn place(&self, t: f64) -> Option<usize> {
        if !t.is_finite() {
            return None;
        }
        let k = (t / self.dt).round();
        if k < 0.0 || k as usize >= self.steps() {
            None
        } else {
            Some(k as usize)
        }
    }
}

/// Checks what the discrete-time simulation needs from a neuron: positive finite time
/// constants and leak conductance, a threshold above the leak potential. Unlike the closed
/// forms, any ratio tau_m / tau_s works here.
pub fn check_neuron(p: &LifParams) -> Result<()> {
    let ok = p.tau_syn.is_finite()
        && p.tau_syn > 0.0
        && p.tau_mem.is_finite()
        && p.tau_mem > 0.0
        && p.g_leak.is_finite()
        && p.g_leak > 0.0
        && p.leak.is_finite()
        && p.threshold.is_finite()
        && p.threshold > p.leak;
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidNeuron(format!(
            "the discrete-time baseline needs positive finite tau_syn, tau_mem, g_leak and \
             threshold > leak, got {p:?}"
        )))
    }
}

/// Membrane potential (relative to the leak potential) `t` after a unit-weight input spike:
/// the solution of `C dV/dt = -g_L V + e^{-t/tau_s}`, `V(0) = 0`, `C = g_L tau_m`.
pub fn psp(p: &LifParams, t: f64) -> f64 {
    if t <= 0.0 {
        return 0.0;
    }
    let c = p.g_leak * p.tau_mem;
    let (rs, rm) = (1.0 / p.tau_syn, 1.0 / p.tau_mem);
    if (rs - rm).abs() <= 1e-12 * rs {
        // tau_m = tau_s: the alpha function, limit of the difference of exponentials.
        t / c * (-t * rs).exp()
    } else {
        ((-t * rm).exp() - (-t * rs).exp()) / (c * (rs - rm))
    }
}

/// The PSP kernel sampled on the grid, `h[k] = psp(k dt)` for `k = 0 .. steps` (`h[0] = 0`).
pub fn psp_kernel(p: &LifParams, grid: &TimeGrid) -> Vec<f64> {
    (0..grid.steps())
        .map(|k| psp(p, k as f64 * grid.dt))
        .collect()
}

/// The `[steps, steps]` row-major matrix `M[m, n] = h[n - m]` (0 for `n < m`): a row vector of
/// input currents per step times `M` is the membrane trace.
pub fn toeplitz(kernel: &[f64]) -> Vec<f64> {
    let t = kernel.len();
    let mut m = vec![0.0; t * t];
    for row in 0..t {
        m[row * t + row..(row + 1) * t].copy_from_slice(&kernel[..t - row]);
    }
    m
}

/// PSP traces of the input spikes placed on the grid, `[batch, n_in, steps]` row-major:
/// `P[b, i, n] = h[n - k_i]` with `k_i` the step of input `i` of sample `b` (all zero for an
/// input that does not spike within the grid). `times` is `[batch, n_in]` row-major.
///
/// Returns [`Error::Shape`] on a length mismatch and [`Error::InvalidSpikeTime`] for NaN, -inf
/// or a negative time (the grid starts at 0).
pub fn input_traces(
    times: &[f64],
    batch: usize,
    n_in: usize,
    grid: &TimeGrid,
    kernel: &[f64],
) -> Result<Vec<f64>> {
    if times.len() != batch * n_in {
        return Err(Error::Shape(format!(
            "{} input times for a batch of {batch} x {n_in}",
            times.len()
        )));
    }
    let steps = grid.steps();
    if kernel.len() != steps {
        return Err(Error::Shape(format!(
            "kernel of {} points for a grid of {steps}",
            kernel.len()
        )));
    }
    let mut out = vec![0.0; batch * n_in * steps];
    for (idx, &t) in times.iter().enumerate() {
        if t.is_nan() || t == f64::NEG_INFINITY || t < 0.0 {
            return Err(Error::InvalidSpikeTime {
                sample: idx / n_in,
                input: idx % n_in,
                value: t,
            });
        }
        if let Some(k) = grid.place(t) {
            out[idx * steps + k..(idx + 1) * steps].copy_from_slice(&kernel[..steps - k]);
        }
    }
    Ok(out)
}

/// First step at which each row of `v` (`[rows, steps]` row-major) reaches `theta`, or `None`.
pub fn first_crossings(v: &[f64], steps: usize, theta: f64) -> Vec<Option<usize>> {
    if steps == 0 {
        return Vec::new();
    }
    v.chunks_exact(steps)
        .map(|row| row.iter().position(|&x| x >= theta))
        .collect()
}

/// The crossing time of a first crossing at step `n >= 1`, interpolating the membrane linearly
/// between `v_prev = V[n - 1] < theta` and `v_n = V[n] >= theta`.
pub fn interpolated_time(n: usize, v_prev: f64, v_n: f64, theta: f64, dt: f64) -> f64 {
    if n == 0 || v_n <= v_prev {
        return n as f64 * dt;
    }
    ((n - 1) as f64 + (theta - v_prev) / (v_n - v_prev)) * dt
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psp_peaks_where_the_closed_form_says() {
        // Ratio 2: psp = 2 (e^{-t/2} - e^{-t}), maximum 0.5 at t = 2 ln 2.
        let p = LifParams::ideal();
        let t = 2.0 * 2f64.ln();
        assert!((psp(&p, t) - 0.5).abs() < 1e-12);
        // Ratio 1 (C = 1): t e^{-t}, maximum 1/e at t = 1.
        let p1 = LifParams::fast_and_deep();
        assert!((psp(&p1, 1.0) - (-1f64).exp()).abs() < 1e-12);
    }

    #[test]
    fn toeplitz_shifts_the_kernel() {
        let m = toeplitz(&[0.0, 1.0, 2.0]);
        assert_eq!(m, vec![0.0, 1.0, 2.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn grid_rejects_bad_values() {
        assert!(TimeGrid::new(0.0, 4.0).is_err());
        assert!(TimeGrid::new(f64::NAN, 4.0).is_err());
        assert!(TimeGrid::new(1e-9, 4.0).is_err());
        let g = TimeGrid::new(0.1, 4.0).unwrap();
        assert_eq!(g.steps(), 41);
        assert_eq!(g.place(0.149), Some(1));
        assert_eq!(g.place(f64::INFINITY), None);
        assert_eq!(g.place(4.2), None);
    }
}
