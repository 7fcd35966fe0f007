//! Spike-time encoding of Yin-Yang samples (docs/model.md).
//!
//! A point `(x, y)` becomes the four values `(x, y, 1 - x, 1 - y)` (the mirrored copies give
//! every sample the same total "input mass"); each value `v` becomes the input spike time
//! `t = t_early + v (t_late - t_early)`. With `repeat = k > 1` every input is emitted `k` times
//! in a row, `x, x, .., y, y, .., 1-x, .., 1-y, ..`, so that `k` neighbouring inputs can share
//! one delay (the hardware-aware preset uses `k = 5`, 20 inputs).

use serde::{Deserialize, Serialize};

use super::yinyang::YinYangSample;
use crate::error::{Error, Result};

/// Number of values per sample before repetition: `(x, y, 1 - x, 1 - y)`.
pub const BASE_INPUTS: usize = 4;

/// How a Yin-Yang point becomes input spike times.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputEncoding {
    /// Spike time of the value 0.
    pub t_early: f64,
    /// Spike time of the value 1.
    pub t_late: f64,
    /// How many neighbouring copies of each of the 4 inputs to emit (at least 1).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub repeat: usize,
}

fn one() -> usize {
    1
}

fn is_one(v: &usize) -> bool {
    *v == 1
}

impl Default for InputEncoding {
    /// The standard encoding: `t_early` 0.15, `t_late` 2.0, no repetition (4 inputs).
    fn default() -> Self {
        Self::YIN_YANG
    }
}

impl InputEncoding {
    /// The reference's Yin-Yang encoding: `t_early` 0.15, `t_late` 2.0 (units of tau_syn), 4 inputs.
    pub const YIN_YANG: InputEncoding = InputEncoding {
        t_early: 0.15,
        t_late: 2.0,
        repeat: 1,
    };

    /// A validated encoding (see [`InputEncoding::validate`]).
    pub fn new(t_early: f64, t_late: f64, repeat: usize) -> Result<Self> {
        let enc = Self {
            t_early,
            t_late,
            repeat,
        };
        enc.validate()?;
        Ok(enc)
    }

    /// The hardware-aware preset's encoding (docs/model.md): the standard times, each input
    /// repeated 5 times (20 inputs).
    pub fn hardware() -> Self {
        Self {
            repeat: 5,
            ..Self::default()
        }
    }

    /// The same encoding with `repeat` copies of each input.
    pub fn with_repeat(self, repeat: usize) -> Self {
        Self { repeat, ..self }
    }

    /// Checks that both times are finite, `t_early < t_late`, and `repeat >= 1`
    /// ([`Error::InvalidConfig`] otherwise).
    pub fn validate(&self) -> Result<()> {
        if !(self.t_early.is_finite() && self.t_late.is_finite() && self.t_early < self.t_late) {
            return Err(Error::InvalidConfig(format!(
                "input encoding needs finite t_early < t_late, got t_early {} and t_late {}",
                self.t_early, self.t_late
            )));
        }
        if self.repeat == 0 {
            return Err(Error::InvalidConfig(
                "input encoding repeat must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// Number of input neurons: `4 * repeat`.
    pub fn num_inputs(&self) -> usize {
        BASE_INPUTS * self.repeat
    }

    /// The spike time of one value: `t_early + v (t_late - t_early)`.
    pub fn time(&self, v: f64) -> f64 {
        self.t_early + v * (self.t_late - self.t_early)
    }

    /// The four raw values `(x, y, 1 - x, 1 - y)` of a point.
    pub fn values(x: f64, y: f64) -> [f64; BASE_INPUTS] {
        [x, y, 1.0 - x, 1.0 - y]
    }

    /// Appends the `4 * repeat` spike times of a point to `out`, copies of an input adjacent.
    pub fn encode_into(&self, x: f64, y: f64, out: &mut Vec<f64>) {
        for v in Self::values(x, y) {
            let t = self.time(v);
            out.extend(std::iter::repeat_n(t, self.repeat));
        }
    }

    /// The `4 * repeat` spike times of a point, copies of an input adjacent.
    pub fn encode(&self, x: f64, y: f64) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.num_inputs());
        self.encode_into(x, y, &mut out);
        out
    }

    /// The spike times of a sample (see [`InputEncoding::encode`]).
    pub fn encode_sample(&self, sample: &YinYangSample) -> Vec<f64> {
        self.encode(sample.x, sample.y)
    }

    /// Row-major `[samples.len(), 4 * repeat]` spike times of many samples.
    pub fn encode_batch(&self, samples: &[YinYangSample]) -> Vec<f64> {
        let mut out = Vec::with_capacity(samples.len() * self.num_inputs());
        for s in samples {
            self.encode_into(s.x, s.y, &mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_encoding() {
        let enc = InputEncoding::default();
        assert_eq!(enc.num_inputs(), 4);
        let t = enc.encode(0.0, 1.0);
        assert_eq!(t, vec![0.15, 2.0, 2.0, 0.15]);
        let t = enc.encode(0.25, 0.5);
        let expected: Vec<f64> = [0.25, 0.5, 0.75, 0.5]
            .iter()
            .map(|v| 0.15 + v * (2.0 - 0.15))
            .collect();
        assert_eq!(t, expected);
    }

    #[test]
    fn repeat_puts_copies_next_to_each_other() {
        let enc = InputEncoding::hardware();
        assert_eq!(enc.num_inputs(), 20);
        let t = enc.encode(0.2, 0.7);
        let base = InputEncoding::default().encode(0.2, 0.7);
        assert_eq!(t.len(), 20);
        for (i, &ti) in t.iter().enumerate() {
            assert_eq!(ti, base[i / 5]);
        }
        let batch = enc.encode_batch(&[
            YinYangSample {
                x: 0.2,
                y: 0.7,
                label: 0,
            },
            YinYangSample {
                x: 0.9,
                y: 0.1,
                label: 1,
            },
        ]);
        assert_eq!(&batch[..20], &t[..]);
        assert_eq!(&batch[20..], &enc.encode(0.9, 0.1)[..]);
    }

    #[test]
    fn validation() {
        assert!(InputEncoding::new(0.15, 2.0, 1).is_ok());
        assert!(InputEncoding::new(0.15, 2.0, 0).is_err());
        assert!(InputEncoding::new(2.0, 0.15, 1).is_err());
        assert!(InputEncoding::new(f64::NAN, 2.0, 1).is_err());
        assert!(InputEncoding::new(0.0, f64::INFINITY, 1).is_err());
        assert!(InputEncoding::hardware().validate().is_ok());
    }
}
