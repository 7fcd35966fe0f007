//! Latency (time-to-first-spike) encoding of feature vectors into input spike times.
//!
//! Each feature `x` is scaled from its stated range `[lo, hi]` to `v = (x - lo) / (hi - lo)`,
//! clamped to `[0, 1]`, and becomes one spike at `t = t_early + u (t_late - t_early)` with
//! `u = 1 - v` (the default: a large value spikes early, as a bright pixel should) or `u = v`.
//!
//! Options, applied in this order:
//! * `both_polarities`: the inputs are the scaled features followed by their mirrors `1 - v`,
//!   `(v1..vn, 1-v1..1-vn)`, so every sample carries the same total input "mass";
//! * `silent_floor`: an input whose value is 0 (a feature at or below `lo`, or for a mirror
//!   one at or above `hi`) sends no spike (`f64::INFINITY`): background pixels of a sparse
//!   image then cost no events;
//! * `repeat`: every input is emitted `repeat` times in a row, so that neighbouring copies can
//!   share one delay (the hardware presets do);
//! * `bias_time`: one extra input, always present, spiking at that time, appended last.
//!
//! [`LatencyEncoder::yin_yang`] reproduces [`crate::data::InputEncoding`] bit for bit.

use serde::{Deserialize, Serialize};

use crate::data::ClassItem;
use crate::error::{Error, Result};

/// How a feature vector becomes input spike times (see the module docs).
///
/// Deserialising does not validate; every `encode*` call does (it is a handful of comparisons).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyEncoder {
    /// Feature value that maps to `v = 0`.
    pub lo: f64,
    /// Feature value that maps to `v = 1`.
    pub hi: f64,
    /// Earliest input spike time.
    pub t_early: f64,
    /// Latest input spike time.
    pub t_late: f64,
    /// `true` (default): `v = 1` spikes at `t_early`; `false`: `v = 0` spikes at `t_early`.
    #[serde(default = "yes")]
    pub large_is_early: bool,
    /// An input of value 0 sends no spike.
    #[serde(default)]
    pub silent_floor: bool,
    /// Append the mirrored inputs `1 - v` after the features.
    #[serde(default)]
    pub both_polarities: bool,
    /// Adjacent copies of each input (at least 1).
    #[serde(default = "one")]
    pub repeat: usize,
    /// Time of an always-present extra input, appended last; `None` for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bias_time: Option<f64>,
}

fn yes() -> bool {
    true
}

fn one() -> usize {
    1
}

impl LatencyEncoder {
    /// Features in `[lo, hi]` mapped to spike times in `[t_early, t_late]`, large values early,
    /// no options. Validated when used (see [`LatencyEncoder::validate`]).
    pub fn new(lo: f64, hi: f64, t_early: f64, t_late: f64) -> Self {
        Self {
            lo,
            hi,
            t_early,
            t_late,
            large_is_early: true,
            silent_floor: false,
            both_polarities: false,
            repeat: 1,
            bias_time: None,
        }
    }

    /// The Yin-Yang encoding of [`crate::data::InputEncoding`] with `repeat` copies: range
    /// `[0, 1]`, times 0.15 to 2.0, small values early, inputs `(x, y, 1-x, 1-y)`.
    pub fn yin_yang(repeat: usize) -> Self {
        Self::new(0.0, 1.0, 0.15, 2.0)
            .with_large_is_early(false)
            .with_both_polarities(true)
            .with_repeat(repeat)
    }

    /// The same encoder with the feature range `[lo, hi]`.
    pub fn with_range(self, lo: f64, hi: f64) -> Self {
        Self { lo, hi, ..self }
    }

    /// The same encoder with spike times in `[t_early, t_late]`.
    pub fn with_times(self, t_early: f64, t_late: f64) -> Self {
        Self {
            t_early,
            t_late,
            ..self
        }
    }

    /// The same encoder, large values early (`true`) or late (`false`).
    pub fn with_large_is_early(self, large_is_early: bool) -> Self {
        Self {
            large_is_early,
            ..self
        }
    }

    /// The same encoder, inputs of value 0 silent (`true`) or spiking at their time.
    pub fn with_silent_floor(self, silent_floor: bool) -> Self {
        Self {
            silent_floor,
            ..self
        }
    }

    /// The same encoder, with or without the mirrored inputs.
    pub fn with_both_polarities(self, both_polarities: bool) -> Self {
        Self {
            both_polarities,
            ..self
        }
    }

    /// The same encoder with `repeat` adjacent copies of each input.
    pub fn with_repeat(self, repeat: usize) -> Self {
        Self { repeat, ..self }
    }

    /// The same encoder with (`Some(t)`) or without (`None`) the bias input.
    pub fn with_bias_time(self, bias_time: Option<f64>) -> Self {
        Self { bias_time, ..self }
    }

    /// Number of input neurons for `n_features` features:
    /// `n_features * (2 if both_polarities else 1) * repeat`, plus 1 with a bias input.
    pub fn num_inputs(&self, n_features: usize) -> usize {
        let polarities = if self.both_polarities { 2 } else { 1 };
        n_features * polarities * self.repeat + usize::from(self.bias_time.is_some())
    }

    /// Checks finite `lo < hi`, finite `t_early < t_late`, `repeat >= 1` and a finite bias
    /// time ([`Error::InvalidConfig`] otherwise).
    pub fn validate(&self) -> Result<()> {
        if !(self.lo.is_finite() && self.hi.is_finite() && self.lo < self.hi) {
            return Err(Error::InvalidConfig(format!(
                "latency encoder needs a finite feature range lo < hi, got [{}, {}]",
                self.lo, self.hi
            )));
        }
        if !(self.t_early.is_finite() && self.t_late.is_finite() && self.t_early < self.t_late) {
            return Err(Error::InvalidConfig(format!(
                "latency encoder needs finite t_early < t_late, got t_early {} and t_late {}",
                self.t_early, self.t_late
            )));
        }
        if self.repeat == 0 {
            return Err(Error::InvalidConfig(
                "latency encoder repeat must be at least 1".into(),
            ));
        }
        if let Some(t) = self.bias_time {
            if !t.is_finite() {
                return Err(Error::InvalidConfig(format!(
                    "latency encoder bias time must be finite, got {t}"
                )));
            }
        }
        Ok(())
    }

    /// Appends the [`num_inputs`](LatencyEncoder::num_inputs) spike times of one feature
    /// vector to `out`. A non-finite feature is an [`Error::InvalidFeature`] (with `sample`
    /// 0) and leaves `out` as it was.
    pub fn encode_into(&self, features: &[f64], out: &mut Vec<f64>) -> Result<()> {
        self.validate()?;
        self.encode_row(0, features, out)
    }

    /// The spike times of one feature vector (see [`LatencyEncoder::encode_into`]).
    pub fn encode(&self, features: &[f64]) -> Result<Vec<f64>> {
        let mut out = Vec::with_capacity(self.num_inputs(features.len()));
        self.encode_into(features, &mut out)?;
        Ok(out)
    }

    /// Row-major `[items.len(), num_inputs(n_features)]` spike times of many items. All items
    /// must have as many features as the first ([`Error::Shape`] otherwise).
    pub fn encode_batch(&self, items: &[ClassItem]) -> Result<Vec<f64>> {
        self.validate()?;
        let n_features = items.first().map_or(0, |item| item.features.len());
        let mut out = Vec::with_capacity(items.len() * self.num_inputs(n_features));
        for (sample, item) in items.iter().enumerate() {
            if item.features.len() != n_features {
                return Err(Error::Shape(format!(
                    "item {sample} has {} features, item 0 has {n_features}",
                    item.features.len()
                )));
            }
            self.encode_row(sample, &item.features, &mut out)?;
        }
        Ok(out)
    }

    /// Encodes one row after the config was validated.
    fn encode_row(&self, sample: usize, features: &[f64], out: &mut Vec<f64>) -> Result<()> {
        if let Some((feature, &value)) = features.iter().enumerate().find(|(_, x)| !x.is_finite()) {
            return Err(Error::InvalidFeature {
                sample,
                feature,
                value,
            });
        }
        // The operation order matters: the Yin-Yang encoding (range [0, 1]) must come out bit for
        // bit as `t_early + v * (t_late - t_early)` with v = x or v = 1 - x, and
        // (x - 0.0) / (1.0 - 0.0) is exactly x.
        let scale = |x: f64| ((x - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0);
        let mut push = |v: f64| {
            let t = if self.silent_floor && v <= 0.0 {
                f64::INFINITY
            } else {
                let u = if self.large_is_early { 1.0 - v } else { v };
                // Rounding can put t_early + 1 * (t_late - t_early) one ulp past t_late; the
                // minimum only ever touches such values, so the Yin-Yang times are unchanged.
                (self.t_early + u * (self.t_late - self.t_early)).min(self.t_late)
            };
            out.extend(std::iter::repeat_n(t, self.repeat));
        };
        for &x in features {
            push(scale(x));
        }
        if self.both_polarities {
            for &x in features {
                push(1.0 - scale(x));
            }
        }
        if let Some(t) = self.bias_time {
            out.push(t);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{InputEncoding, YinYang};
    use proptest::prelude::*;

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|t| t.to_bits()).collect()
    }

    #[test]
    fn yin_yang_is_bit_exact() {
        let samples = YinYang::train();
        assert!(!samples.is_empty());
        for repeat in [1, 5] {
            let old = InputEncoding::YIN_YANG.with_repeat(repeat);
            let new = LatencyEncoder::yin_yang(repeat);
            assert_eq!(new.num_inputs(2), old.num_inputs());
            let items: Vec<ClassItem> = samples
                .iter()
                .map(|s| ClassItem::new(vec![s.x, s.y], s.label))
                .collect();
            let expected = old.encode_batch(&samples);
            let got = new.encode_batch(&items).unwrap();
            assert_eq!(bits(&got), bits(&expected), "repeat {repeat}");
        }
    }

    #[test]
    fn default_maps_large_values_early() {
        let enc = LatencyEncoder::new(0.0, 16.0, 0.5, 2.5);
        assert_eq!(enc.num_inputs(3), 3);
        let t = enc.encode(&[16.0, 0.0, 4.0]).unwrap();
        assert_eq!(t, vec![0.5, 2.5, 0.5 + 0.75 * 2.0]);
        // Out of range values are clamped.
        let t = enc.encode(&[20.0, -3.0]).unwrap();
        assert_eq!(t, vec![0.5, 2.5]);
    }

    #[test]
    fn large_is_late_when_configured() {
        let enc = LatencyEncoder::new(-1.0, 1.0, 0.0, 1.0).with_large_is_early(false);
        let t = enc.encode(&[1.0, -1.0, 0.0]).unwrap();
        assert_eq!(t, vec![1.0, 0.0, 0.5]);
    }

    #[test]
    fn silent_floor_sends_no_spike_for_the_floor() {
        let enc = LatencyEncoder::new(0.0, 255.0, 0.0, 1.0).with_silent_floor(true);
        let t = enc.encode(&[0.0, -5.0, 255.0, 1.0]).unwrap();
        assert_eq!(t[0], f64::INFINITY);
        assert_eq!(t[1], f64::INFINITY);
        assert_eq!(t[2], 0.0);
        assert!(t[3].is_finite() && t[3] < 1.0);
        // Without the option the floor spikes at t_late.
        let t = enc.with_silent_floor(false).encode(&[0.0]).unwrap();
        assert_eq!(t, vec![1.0]);
    }

    #[test]
    fn both_polarities_appends_mirrors() {
        let enc = LatencyEncoder::new(0.0, 4.0, 0.0, 1.0).with_both_polarities(true);
        assert_eq!(enc.num_inputs(2), 4);
        // v = (0.25, 1.0); mirrors (0.75, 0.0); large early: t = 1 - v.
        let t = enc.encode(&[1.0, 4.0]).unwrap();
        assert_eq!(t, vec![0.75, 0.0, 0.25, 1.0]);
        // A silent floor silences the mirror of a feature at the top of the range.
        let t = enc.with_silent_floor(true).encode(&[1.0, 4.0]).unwrap();
        assert_eq!(t, vec![0.75, 0.0, 0.25, f64::INFINITY]);
    }

    #[test]
    fn repeat_puts_copies_next_to_each_other() {
        let enc = LatencyEncoder::new(0.0, 1.0, 0.0, 1.0)
            .with_both_polarities(true)
            .with_repeat(3);
        assert_eq!(enc.num_inputs(2), 12);
        let t = enc.encode(&[0.25, 1.0]).unwrap();
        let base = enc.clone().with_repeat(1).encode(&[0.25, 1.0]).unwrap();
        assert_eq!(t.len(), 12);
        for (i, &ti) in t.iter().enumerate() {
            assert_eq!(ti, base[i / 3]);
        }
        assert_ne!(base[0], base[1]);
    }

    #[test]
    fn bias_input_comes_last() {
        let enc = LatencyEncoder::new(0.0, 1.0, 0.0, 1.0)
            .with_repeat(2)
            .with_bias_time(Some(0.3));
        assert_eq!(enc.num_inputs(2), 5);
        let t = enc.encode(&[1.0, 0.0]).unwrap();
        assert_eq!(t, vec![0.0, 0.0, 1.0, 1.0, 0.3]);
        assert_eq!(enc.encode(&[]).unwrap(), vec![0.3]);
    }

    #[test]
    fn batch_is_row_major_and_checks_widths() {
        let enc = LatencyEncoder::new(0.0, 2.0, 0.0, 1.0).with_bias_time(Some(0.5));
        let items = vec![
            ClassItem::new(vec![2.0, 1.0], 0),
            ClassItem::new(vec![0.0, 2.0], 1),
        ];
        let t = enc.encode_batch(&items).unwrap();
        assert_eq!(t, vec![0.0, 0.5, 0.5, 1.0, 0.0, 0.5]);
        let ragged = vec![ClassItem::new(vec![1.0], 0), ClassItem::new(vec![], 1)];
        assert!(matches!(enc.encode_batch(&ragged), Err(Error::Shape(_))));
        assert_eq!(enc.encode_batch(&[]).unwrap(), Vec::<f64>::new());
    }

    #[test]
    fn invalid_configs_are_typed_errors() {
        let ok = LatencyEncoder::new(0.0, 1.0, 0.0, 1.0);
        assert!(ok.validate().is_ok());
        let bad = [
            ok.clone().with_range(1.0, 1.0),
            ok.clone().with_range(2.0, 1.0),
            ok.clone().with_range(f64::NAN, 1.0),
            ok.clone().with_range(0.0, f64::INFINITY),
            ok.clone().with_times(1.0, 1.0),
            ok.clone().with_times(2.0, 1.0),
            ok.clone().with_times(f64::NEG_INFINITY, 1.0),
            ok.clone().with_times(0.0, f64::NAN),
            ok.clone().with_repeat(0),
            ok.clone().with_bias_time(Some(f64::INFINITY)),
        ];
        for enc in bad {
            assert!(
                matches!(enc.validate(), Err(Error::InvalidConfig(_))),
                "{enc:?}"
            );
            assert!(
                matches!(enc.encode(&[0.5]), Err(Error::InvalidConfig(_))),
                "{enc:?}"
            );
        }
    }

    #[test]
    fn non_finite_features_are_rejected() {
        let enc = LatencyEncoder::new(0.0, 1.0, 0.0, 1.0);
        let mut out = vec![7.0];
        let err = enc.encode_into(&[0.5, f64::NAN], &mut out).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidFeature {
                    sample: 0,
                    feature: 1,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(out, vec![7.0], "nothing appended on error");
        let items = vec![
            ClassItem::new(vec![0.5], 0),
            ClassItem::new(vec![f64::INFINITY], 1),
        ];
        let err = enc.encode_batch(&items).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidFeature {
                    sample: 1,
                    feature: 0,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn serde_round_trip_and_defaults() {
        let enc = LatencyEncoder::yin_yang(5).with_bias_time(Some(0.9));
        let json = serde_json::to_string(&enc).unwrap();
        let back: LatencyEncoder = serde_json::from_str(&json).unwrap();
        assert_eq!(back, enc);
        let minimal: LatencyEncoder =
            serde_json::from_str(r#"{"lo": 0, "hi": 16, "t_early": 0.15, "t_late": 2.0}"#).unwrap();
        assert_eq!(minimal, LatencyEncoder::new(0.0, 16.0, 0.15, 2.0));
        assert!(serde_json::from_str::<LatencyEncoder>(
            r#"{"lo": 0, "hi": 1, "t_early": 0, "t_late": 1, "typo": 1}"#
        )
        .is_err());
    }

    fn encoder() -> impl Strategy<Value = LatencyEncoder> {
        (
            -100.0..100.0f64,
            1e-3..100.0f64,
            -5.0..5.0f64,
            1e-3..5.0f64,
            any::<bool>(),
            any::<bool>(),
            1usize..4,
        )
            .prop_map(|(lo, width, t_early, span, silent, both, repeat)| {
                LatencyEncoder::new(lo, lo + width, t_early, t_early + span)
                    .with_silent_floor(silent)
                    .with_both_polarities(both)
                    .with_repeat(repeat)
            })
    }

    proptest! {
        #[test]
        fn times_lie_in_the_window_or_are_silent(
            enc in encoder(),
            features in prop::collection::vec(-200.0..200.0f64, 0..8),
        ) {
            let t = enc.encode(&features).unwrap();
            prop_assert_eq!(t.len(), enc.num_inputs(features.len()));
            for &ti in &t {
                prop_assert!(
                    ti == f64::INFINITY || (enc.t_early <= ti && ti <= enc.t_late),
                    "{} outside [{}, {}]", ti, enc.t_early, enc.t_late
                );
            }
        }

        #[test]
        fn larger_features_spike_earlier_by_default(
            enc in encoder(),
            a in 0.0..1.0f64,
            b in 0.0..1.0f64,
        ) {
            let enc = enc.with_silent_floor(false).with_both_polarities(false).with_repeat(1);
            let x = |f: f64| enc.lo + f * (enc.hi - enc.lo);
            let (small, large) = if a <= b { (x(a), x(b)) } else { (x(b), x(a)) };
            let t = enc.encode(&[small, large]).unwrap();
            prop_assert!(t[1] <= t[0], "{} at {} but {} at {}", large, t[1], small, t[0]);
            let late = enc.clone().with_large_is_early(false).encode(&[small, large]).unwrap();
            prop_assert!(late[1] >= late[0]);
        }
    }
}
