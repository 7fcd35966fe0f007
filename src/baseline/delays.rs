//! Learnable synaptic delays in discrete time, the way the field does it: every synapse has a
//! continuous delay *position* (in steps) and its presynaptic spike train is read from a delay
//! buffer through a few interpolated taps around that position. The tap weights are
//! differentiable functions of the position, which is where the delay's gradient comes from.
//!
//! * [`DelayTaps::Linear`]: two taps, linear interpolation between the neighbouring steps
//!   `floor(p)` and `floor(p) + 1` (weights `1 - frac`, `frac`).
//! * [`DelayTaps::Gaussian`]: taps under a normalised Gaussian centred on the position, as in
//!   DCLS (Hammouamri, Khalfaoui-Hassani & Masquelier, ICLR 2024), whose width is annealed
//!   towards 0 during training so that the kernel ends close to a single tap.
//!
//! The buffer is not materialised as `[batch, time, n_in, taps]`: each tap is one `select` of the
//! (zero-padded) spike trains at a per-synapse offset, which is all a delay buffer read is.

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How a continuous delay position is spread over the steps of the delay buffer.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DelayTaps {
    /// Linear interpolation between the two neighbouring steps.
    #[default]
    Linear,
    /// A normalised Gaussian of standard deviation `sigma` (units of tau_s) over the taps within
    /// 3 sigma of the position (DCLS); anneal `sigma` during training.
    Gaussian {
        /// Current kernel width, in units of tau_s.
        sigma: f64,
    },
}

impl DelayTaps {
    /// Checks that a Gaussian width is finite and positive.
    pub fn validate(&self) -> Result<()> {
        match *self {
            DelayTaps::Linear => Ok(()),
            DelayTaps::Gaussian { sigma } if sigma.is_finite() && sigma > 0.0 => Ok(()),
            DelayTaps::Gaussian { sigma } => Err(Error::InvalidConfig(format!(
                "Gaussian delay kernel needs a finite positive width, got {sigma}"
            ))),
        }
    }

    /// Tap offsets relative to `floor(position)`: `0..=1` for linear interpolation,
    /// `-R+1..=R` with `R = ceil(3 sigma / dt)` for the Gaussian.
    pub fn offsets(&self, dt: f64) -> std::ops::RangeInclusive<i64> {
        match *self {
            DelayTaps::Linear => 0..=1,
            DelayTaps::Gaussian { sigma } => {
                let r = (3.0 * sigma / dt).ceil().max(1.0) as i64;
                (1 - r)..=r
            }
        }
    }
}

/// Input currents `[batch, n_out, steps]` of a layer with synaptic delays:
/// `I[b, j, n] = sum_i w_ij sum_taps a_ij(k) x[b, i, n - k]`, with the tap weights `a_ij(k)` of
/// `taps` around the position `positions[i, j]` (in steps) and `x` `[batch, n_in, steps]` the
/// presynaptic traces (spike trains, or PSP traces: the operation is linear and time-invariant,
/// so delaying and filtering commute). Taps before step 0 of the buffer are dropped (and, for the
/// Gaussian, the remaining weights renormalised).
///
/// `positions_host` holds the same positions as `positions`, row-major; it decides which steps
/// are read (an integer choice with no gradient), while `positions` carries the gradient through
/// the tap weights.
pub fn delayed_currents<B: Backend>(
    x: Tensor<B, 3>,
    weight: Tensor<B, 2>,
    positions: Tensor<B, 2>,
    positions_host: &[f64],
    taps: DelayTaps,
    dt: f64,
) -> Result<Tensor<B, 3>> {
    let [batch, n_in, steps] = x.dims();
    let [w_in, n_out] = weight.dims();
    if w_in != n_in || positions.dims() != [n_in, n_out] || positions_host.len() != n_in * n_out {
        return Err(Error::Shape(format!(
            "delayed_currents: traces have {n_in} inputs, weights {:?}, positions {:?} \
             ({} host values)",
            weight.dims(),
            positions.dims(),
            positions_host.len()
        )));
    }
    if let Some(p) = positions_host
        .iter()
        .find(|p| !(p.is_finite() && **p >= 0.0))
    {
        return Err(Error::InvalidConfig(format!(
            "delay positions must be finite and >= 0, got {p}"
        )));
    }
    taps.validate()?;
    let device = x.device();
    let offsets: Vec<i64> = taps.offsets(dt).collect();
    let max_pos = positions_host.iter().fold(0.0f64, |a, &b| a.max(b));
    let pad = max_pos.floor() as usize + *offsets.last().unwrap_or(&1) as usize + 1;
    let padded_len = steps + pad;
    let padded = Tensor::cat(vec![Tensor::zeros([batch, n_in, pad], &device), x], 2)
        .reshape([batch, n_in * padded_len]);

    // Tap weights per offset, [n_in, n_out] each, differentiable in the positions.
    let floors: Vec<i64> = positions_host.iter().map(|p| p.floor() as i64).collect();
    let mut tap_weights = Vec::with_capacity(offsets.len());
    let mut tap_steps = Vec::with_capacity(offsets.len());
    for &o in &offsets {
        let k: Vec<i64> = floors.iter().map(|f| f + o).collect();
        let valid: Vec<f64> = k.iter().map(|&k| f64::from(u8::from(k >= 0))).collect();
        let k_t = Tensor::<B, 2>::from_data(
            TensorData::new(k.iter().map(|&k| k as f64).collect(), [n_in, n_out]),
            &device,
        );
        let valid_t = Tensor::<B, 2>::from_data(TensorData::new(valid, [n_in, n_out]), &device);
        let d = k_t.sub(positions.clone());
        let a = match taps {
            // 1 - |k - p| is 1 - frac for k = floor(p) and frac for k = floor(p) + 1.
            DelayTaps::Linear => d.abs().neg().add_scalar(1.0),
            DelayTaps::Gaussian { sigma } => {
                let s = sigma / dt;
                d.powi_scalar(2).div_scalar(-2.0 * s * s).exp()
            }
        };
        tap_weights.push(a.mul(valid_t));
        tap_steps.push(k);
    }
    if matches!(taps, DelayTaps::Gaussian { .. }) {
        let total = tap_weights
            .iter()
            .skip(1)
            .fold(tap_weights[0].clone(), |acc, a| acc.add(a.clone()));
        tap_weights = tap_weights
            .into_iter()
            .map(|a| a.div(total.clone()))
            .collect();
    }

    let mut current: Option<Tensor<B, 4>> = None;
    for (a, k) in tap_weights.into_iter().zip(tap_steps) {
        // Index of x[b, i, n - k_ij] in the padded, flattened buffer, ordered (i, j, n).
        let mut idx = Vec::with_capacity(n_in * n_out * steps);
        for i in 0..n_in {
            for j in 0..n_out {
                let shift = pad as i64 - k[i * n_out + j].max(0);
                let base = (i * padded_len) as i64 + shift;
                idx.extend((0..steps as i64).map(|n| base + n));
            }
        }
        let idx =
            Tensor::<B, 1, Int>::from_data(TensorData::new(idx, [n_in * n_out * steps]), &device);
        let read = padded
            .clone()
            .select(1, idx)
            .reshape([batch, n_in, n_out, steps]);
        let coeff = a.mul(weight.clone()).reshape([1, n_in, n_out, 1]);
        let term = read.mul(coeff);
        current = Some(match current {
            Some(c) => c.add(term),
            None => term,
        });
    }
    let current = current.ok_or_else(|| Error::InvalidConfig("no delay taps".into()))?;
    Ok(current.sum_dim(1).reshape([batch, n_out, steps]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;

    type B = NdArray<f64>;

    #[test]
    fn linear_taps_split_a_spike_between_neighbouring_steps() {
        let dev = Default::default();
        // One input spiking at step 1 of 6, one synapse with weight 2 and delay 2.25 steps.
        let x = Tensor::<B, 3>::from_data(
            TensorData::new(vec![0.0, 1.0, 0.0, 0.0, 0.0, 0.0], [1, 1, 6]),
            &dev,
        );
        let w = Tensor::<B, 2>::from_data(TensorData::new(vec![2.0], [1, 1]), &dev);
        let p = Tensor::<B, 2>::from_data(TensorData::new(vec![2.25], [1, 1]), &dev);
        let i = delayed_currents(x, w, p, &[2.25], DelayTaps::Linear, 0.1).unwrap();
        let v = i.into_data().to_vec::<f64>().unwrap();
        let want = [0.0, 0.0, 0.0, 1.5, 0.5, 0.0];
        for (a, b) in v.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{v:?}");
        }
    }

    #[test]
    fn gaussian_taps_are_normalised() {
        let dev = Default::default();
        let mut spikes = vec![0.0; 40];
        spikes[2] = 1.0;
        let x = Tensor::<B, 3>::from_data(TensorData::new(spikes, [1, 1, 40]), &dev);
        let w = Tensor::<B, 2>::from_data(TensorData::new(vec![1.0], [1, 1]), &dev);
        let p = Tensor::<B, 2>::from_data(TensorData::new(vec![10.4], [1, 1]), &dev);
        let taps = DelayTaps::Gaussian { sigma: 0.2 };
        let i = delayed_currents(x, w, p, &[10.4], taps, 0.1).unwrap();
        let v = i.into_data().to_vec::<f64>().unwrap();
        assert!((v.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let mean: f64 = v.iter().enumerate().map(|(n, a)| n as f64 * a).sum();
        assert!((mean - 12.4).abs() < 0.05, "{mean}");
    }
}
