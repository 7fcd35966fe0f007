//! Helpers shared by the integration tests.
#![allow(dead_code)]

use delgrad::LifParams;

/// Independent check of a spike time that uses no closed form: integrates the membrane equation
/// `C dV/dt = -g_L (V - E_L) + I`, `dI/dt = -I / tau_s` with the exact exponential update over
/// steps of `dt` (and exactly up to each input arrival), then bisects on the step in which V first
/// reaches the threshold. Returns the crossing time (+inf if none within 30 tau_m after the last
/// input) and the largest membrane potential seen.
pub fn integrate_membrane(p: &LifParams, arrivals: &[f64], weights: &[f64], dt: f64) -> (f64, f64) {
    let mut events: Vec<(f64, f64)> = arrivals
        .iter()
        .zip(weights)
        .filter(|(t, _)| t.is_finite())
        .map(|(&t, &w)| (t, w))
        .collect();
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    if events.is_empty() {
        return (f64::INFINITY, 0.0);
    }
    let theta = p.threshold - p.leak;
    let propagate = |v: f64, i: f64, h: f64| propagate_membrane(p, v, i, h);
    let horizon = events.last().unwrap().0 + 30.0 * p.tau_mem;
    let (mut t, mut v, mut i) = (events[0].0, 0.0f64, 0.0f64);
    let mut next = 0;
    let mut v_max = 0.0f64;
    while t < horizon {
        while next < events.len() && events[next].0 <= t {
            i += events[next].1;
            next += 1;
        }
        let t_next = if next < events.len() {
            (t + dt).min(events[next].0)
        } else {
            t + dt
        };
        let h = t_next - t;
        let (v1, i1) = propagate(v, i, h);
        v_max = v_max.max(v1);
        if v1 >= theta {
            let (mut lo, mut hi) = (0.0, h);
            for _ in 0..200 {
                let mid = 0.5 * (lo + hi);
                if mid <= lo || mid >= hi {
                    break;
                }
                if propagate(v, i, mid).0 >= theta {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            return (t + hi, v_max);
        }
        t = t_next;
        v = v1;
        i = i1;
    }
    (f64::INFINITY, v_max)
}

/// Exact propagation of the membrane state (v = V - E_L, synaptic current I) over a span `h`
/// without inputs: the linear ODE solved in closed form over one step.
pub fn propagate_membrane(p: &LifParams, v: f64, i: f64, h: f64) -> (f64, f64) {
    let cap = p.g_leak * p.tau_mem;
    let dm = (-h / p.tau_mem).exp();
    let ds = (-h / p.tau_syn).exp();
    let kernel = if (p.tau_mem - p.tau_syn).abs() < 1e-12 {
        h * ds
    } else {
        (dm - ds) / (1.0 / p.tau_syn - 1.0 / p.tau_mem)
    };
    (v * dm + i / cap * kernel, i * ds)
}

/// A small deterministic generator for test data (SplitMix64), so tests need no seeds elsewhere.
pub struct TestRng(u64);

impl TestRng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}
