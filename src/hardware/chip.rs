//! Chip profiles (the constraints of a mixed-signal substrate, docs/model.md) and their binding
//! to one layer (fixed-pattern threshold offsets drawn once, trial-to-trial noise per call).

use std::path::Path;
use std::sync::Mutex;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha12Rng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::kernel::{ArrivalJitter, Perturbation};

/// The constraints a chip puts on a layer, applied in the forward pass only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChipProfile {
    /// Name shown in summaries and exports.
    pub name: String,
    /// Weights are clipped to `[-weight_max, weight_max]` in the forward pass, and training
    /// projects the stored weights into that range after every update; `None` = no clipping.
    #[serde(default)]
    pub weight_max: Option<f64>,
    /// Weights are rounded to multiples of this; `None` = continuous.
    #[serde(default)]
    pub weight_step: Option<f64>,
    /// Mean of the per-neuron threshold offset, drawn once per neuron (fixed-pattern noise).
    #[serde(default)]
    pub threshold_offset_mean: f64,
    /// Standard deviation of the fixed-pattern threshold offset.
    #[serde(default)]
    pub threshold_offset_std: f64,
    /// Standard deviation of the threshold noise redrawn at every forward call (shared by the
    /// batch).
    #[serde(default)]
    pub threshold_noise_std: f64,
    /// Standard deviation of the jitter added to every delayed arrival time at every call.
    #[serde(default)]
    pub delay_jitter_std: f64,
    /// Realisable delay range `[min, max]`; delays are clamped to it. `None` = unlimited.
    #[serde(default)]
    pub delay_range: Option<(f64, f64)>,
    /// Delays are rounded to multiples of this (from `delay_range.0`); `None` = continuous.
    #[serde(default)]
    pub delay_step: Option<f64>,
}

impl ChipProfile {
    /// A chip that changes nothing: the decorator is then bit-identical to the bare backend.
    pub fn ideal() -> Self {
        Self {
            name: "ideal".into(),
            weight_max: None,
            weight_step: None,
            threshold_offset_mean: 0.0,
            threshold_offset_std: 0.0,
            threshold_noise_std: 0.0,
            delay_jitter_std: 0.0,
            delay_range: None,
            delay_step: None,
        }
    }

    /// BrainScaleS-2 as modelled in docs/model.md (times in units of tau = 6 us): 6-bit weights
    /// plus sign up to 2.1, threshold offsets N(0.13, 0.08) per neuron, threshold noise 0.04,
    /// delay jitter 0.01, delays in [1.375, 5.54] in steps of about 0.021.
    pub fn brainscales2() -> Self {
        Self {
            name: "brainscales2".into(),
            weight_max: Some(2.1),
            weight_step: Some(1.0 / 30.0),
            threshold_offset_mean: 0.13,
            threshold_offset_std: 0.08,
            threshold_noise_std: 0.04,
            delay_jitter_std: 0.01,
            delay_range: Some((1.375, 5.54)),
            delay_step: Some(0.021),
        }
    }

    /// A profile by name (`bss2`, `brainscales2`, `ideal`) or from a JSON or TOML file.
    pub fn from_name_or_file(spec: &str) -> Result<Self> {
        match spec {
            "bss2" | "brainscales2" => Ok(Self::brainscales2()),
            "ideal" => Ok(Self::ideal()),
            path => Self::load(path),
        }
    }

    /// Loads a profile from a `.json` or `.toml` file and validates it.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let toml = path.extension().and_then(|e| e.to_str()) == Some("toml");
        crate::io::load_file(path, |bytes| {
            let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
            let profile: Self = if toml {
                #[cfg(feature = "toml")]
                {
                    toml::from_str(text).map_err(|e| e.to_string())?
                }
                #[cfg(not(feature = "toml"))]
                return Err("TOML chip profiles need the cargo feature `toml`".to_string());
            } else {
                serde_json::from_str(text).map_err(|e| e.to_string())?
            };
            profile.validate().map_err(|e| e.to_string())?;
            Ok(profile)
        })
    }

    /// Checks that every value is finite and in range.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| {
            Err(Error::InvalidConfig(format!(
                "chip profile `{}`: {m}",
                self.name
            )))
        };
        let positive = |v: Option<f64>| v.is_none_or(|v| v.is_finite() && v > 0.0);
        if !positive(self.weight_max) || !positive(self.weight_step) || !positive(self.delay_step) {
            return bad("weight_max, weight_step and delay_step must be positive".into());
        }
        for (name, v) in [
            ("threshold_offset_std", self.threshold_offset_std),
            ("threshold_noise_std", self.threshold_noise_std),
            ("delay_jitter_std", self.delay_jitter_std),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(format!("{name} must be finite and >= 0, got {v}"));
            }
        }
        if !self.threshold_offset_mean.is_finite() {
            return bad("threshold_offset_mean must be finite".into());
        }
        if let Some((lo, hi)) = self.delay_range {
            if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                return bad(format!(
                    "delay_range must be finite with min <= max, got [{lo}, {hi}]"
                ));
            }
        }
        Ok(())
    }

    /// Whether the profile perturbs anything at all.
    pub fn is_ideal(&self) -> bool {
        self.weight_max.is_none()
            && self.weight_step.is_none()
            && self.threshold_offset_mean == 0.0
            && self.threshold_offset_std == 0.0
            && self.threshold_noise_std == 0.0
            && self.delay_jitter_std == 0.0
            && self.delay_range.is_none()
            && self.delay_step.is_none()
    }

    /// A weight as the chip realises it (clipped, then rounded).
    pub fn chip_weight(&self, w: f64) -> f64 {
        let w = self.weight_max.map_or(w, |m| w.clamp(-m, m));
        self.weight_step.map_or(w, |s| (w / s).round() * s)
    }

    /// A weight as the integer the chip is configured with (`round(w / weight_step)` after
    /// clipping); `None` without a weight step.
    pub fn chip_weight_int(&self, w: f64) -> Option<i64> {
        let s = self.weight_step?;
        let w = self.weight_max.map_or(w, |m| w.clamp(-m, m));
        Some((w / s).round() as i64)
    }

    /// A delay as the chip realises it (clamped to the range, then rounded to the grid).
    pub fn chip_delay(&self, d: f64) -> f64 {
        let (lo, d) = match self.delay_range {
            Some((lo, hi)) => (lo, d.clamp(lo, hi)),
            None => (0.0, d),
        };
        match self.delay_step {
            Some(s) => {
                let r = lo + ((d - lo) / s).round() * s;
                match self.delay_range {
                    // Rounding must not leave the range either.
                    Some((lo, hi)) => r.clamp(lo, hi),
                    None => r,
                }
            }
            None => d,
        }
    }
}

/// A chip profile bound to one layer of `n_out` neurons: its fixed-pattern threshold offsets
/// (drawn once from the seed) and the random state of the per-call noise.
#[derive(Debug)]
pub struct ChipBinding {
    profile: ChipProfile,
    threshold_offsets: Vec<f64>,
    /// ChaCha12, the algorithm behind `rand`'s `StdRng` (same stream for the same seed), used
    /// directly because its position can be read and restored: a resumed run continues the
    /// noise exactly where the interrupted one stopped.
    rng: Mutex<ChaCha12Rng>,
}

impl ChipBinding {
    /// Binds `profile` to a layer of `n_out` neurons, drawing its fixed pattern from `seed`.
    pub fn new(profile: ChipProfile, n_out: usize, seed: u64) -> Result<Self> {
        profile.validate()?;
        let mut rng = ChaCha12Rng::seed_from_u64(seed);
        let threshold_offsets = if profile.threshold_offset_std > 0.0 {
            let dist = Normal::new(profile.threshold_offset_mean, profile.threshold_offset_std)
                .map_err(|e| Error::InvalidConfig(e.to_string()))?;
            (0..n_out).map(|_| dist.sample(&mut rng)).collect()
        } else {
            vec![profile.threshold_offset_mean; n_out]
        };
        Ok(Self {
            profile,
            threshold_offsets,
            rng: Mutex::new(rng),
        })
    }

    /// The profile.
    pub fn profile(&self) -> &ChipProfile {
        &self.profile
    }

    /// The fixed-pattern threshold offset of each neuron.
    pub fn threshold_offsets(&self) -> &[f64] {
        &self.threshold_offsets
    }

    /// Position of the per-call noise stream (32-bit words consumed since the seed).
    pub fn noise_position(&self) -> u128 {
        self.rng
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_word_pos()
    }

    /// Moves the per-call noise stream to `position` (a value of [`Self::noise_position`]).
    pub fn seek_noise(&self, position: u128) {
        self.rng
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .set_word_pos(position);
    }

    /// The deviations of one forward call: thresholds with fixed-pattern offsets plus fresh
    /// trial noise (shared by the batch), and a fresh jitter seed. `None` if nothing deviates.
    pub fn draw(&self, nominal_threshold: f64) -> Option<Perturbation> {
        let p = &self.profile;
        let varies_threshold = p.threshold_offset_mean != 0.0
            || p.threshold_offset_std > 0.0
            || p.threshold_noise_std > 0.0;
        if !varies_threshold && p.delay_jitter_std == 0.0 {
            return None;
        }
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        let thresholds = varies_threshold.then(|| {
            let noise = Normal::new(0.0, p.threshold_noise_std.max(0.0)).ok();
            self.threshold_offsets
                .iter()
                .map(|o| {
                    let n = match (&noise, p.threshold_noise_std > 0.0) {
                        (Some(d), true) => d.sample(&mut *rng),
                        _ => 0.0,
                    };
                    nominal_threshold + o + n
                })
                .collect()
        });
        let arrival_jitter = (p.delay_jitter_std > 0.0).then(|| ArrivalJitter {
            std: p.delay_jitter_std,
            seed: rng.random(),
        });
        Some(Perturbation {
            thresholds,
            arrival_jitter,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;

    #[test]
    fn the_noise_stream_is_std_rng_and_resumes_at_a_saved_position() {
        // Same draws as `StdRng` for the same seed: chip runs made before the switch reproduce.
        let mut std = StdRng::seed_from_u64(7);
        let mut chacha = ChaCha12Rng::seed_from_u64(7);
        for _ in 0..100 {
            assert_eq!(std.random::<u64>(), chacha.random::<u64>());
        }
        let profile = ChipProfile::brainscales2();
        let a = ChipBinding::new(profile.clone(), 5, 3).unwrap();
        for _ in 0..3 {
            a.draw(1.0);
        }
        let saved = a.noise_position();
        let next: Vec<_> = (0..4).map(|_| a.draw(1.0)).collect();
        let b = ChipBinding::new(profile, 5, 3).unwrap();
        b.seek_noise(saved);
        let resumed: Vec<_> = (0..4).map(|_| b.draw(1.0)).collect();
        assert_eq!(format!("{next:?}"), format!("{resumed:?}"));
        assert_ne!(format!("{:?}", next[0]), format!("{:?}", next[1]));
    }
}
