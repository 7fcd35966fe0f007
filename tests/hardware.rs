//! The chip profile inside the spiking op of `HardwareAware<B>`: the ideal profile changes
//! nothing, the BrainScaleS-2 profile quantises, perturbs and limits as configured, gradients
//! are DelGrad's at the nominal parameters (straight-through), and noise is reproducible.

mod common;

use burn::backend::{Autodiff, NdArray};
use burn::module::Initializer;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use common::TestRng;
use delgrad::hardware::{ChipBinding, ChipProfile, HardwareAware};
use delgrad::kernel;
use delgrad::types::{Delays, LayerDims};
use delgrad::{
    DelayKind, GradientOptions, LifParams, SpikeBackend, SpikingLinear, SpikingLinearConfig,
};

type Bare = Autodiff<NdArray<f64>>;
type Chip = Autodiff<HardwareAware<NdArray<f64>>>;

fn config(kind: DelayKind, chip: Option<ChipProfile>) -> SpikingLinearConfig {
    SpikingLinearConfig::new(6, 4)
        .with_neuron(LifParams::hardware())
        .with_initializer(Initializer::Normal {
            mean: 1.2,
            std: 0.6,
        })
        .with_delays(kind)
        .with_delay_shift(2.0)
        .with_delay_scale(1.5)
        .with_delay_init_std(0.5)
        .with_chip(chip)
        .with_chip_seed(7)
}

fn input<B: Backend>(seed: u64) -> Tensor<B, 2> {
    let mut rng = TestRng::new(seed);
    let v: Vec<f64> = (0..8 * 6)
        .map(|k| {
            if k % 11 == 3 {
                f64::INFINITY
            } else {
                rng.uniform(0.0, 2.0)
            }
        })
        .collect();
    Tensor::from_data(TensorData::new(v, [8, 6]), &Default::default())
}

fn data<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
    t.into_data().to_vec::<f64>().unwrap()
}

/// Output times and the gradients of a fixed scalar loss for one layer.
fn run<B: SpikeBackend + burn::tensor::backend::AutodiffBackend>(
    layer: &SpikingLinear<B>,
    x: Tensor<B, 2>,
) -> (Vec<f64>, Vec<f64>, Vec<f64>, Option<Vec<f64>>) {
    let x = x.require_grad();
    let out = layer.forward(x.clone());
    let silent = out.clone().is_inf();
    let grads = out
        .clone()
        .mask_fill(silent, 0.0)
        .powi_scalar(2)
        .sum()
        .backward();
    (
        data(out),
        data(x.grad(&grads).unwrap()),
        data(layer.weight.grad(&grads).unwrap()),
        layer
            .delay_raw
            .as_ref()
            .map(|d| data(d.grad(&grads).unwrap())),
    )
}

#[test]
fn ideal_profile_is_bit_identical_to_the_bare_backend() {
    for kind in [
        DelayKind::None,
        DelayKind::Axonal,
        DelayKind::Synaptic,
        DelayKind::Dendritic,
    ] {
        let device = Default::default();
        let bare: SpikingLinear<Bare> = config(kind, None).init_seeded(3, &device).unwrap();
        let chip: SpikingLinear<Chip> = config(kind, Some(ChipProfile::ideal()))
            .init_seeded(3, &device)
            .unwrap();
        for call in 0..3 {
            let a = run(&bare, input(call));
            let b = run(&chip, input(call));
            assert_eq!(a, b, "{kind}, call {call}");
            assert!(a.0.iter().any(|t| t.is_finite()));
        }
    }
}

#[test]
fn a_chip_layer_on_a_plain_backend_stays_ideal() {
    // The chip is applied by the backend: the same layer on Autodiff<NdArray> is ideal.
    let device = Default::default();
    let plain: SpikingLinear<Bare> = config(DelayKind::Axonal, Some(ChipProfile::brainscales2()))
        .init_seeded(3, &device)
        .unwrap();
    let bare: SpikingLinear<Bare> = config(DelayKind::Axonal, None)
        .init_seeded(3, &device)
        .unwrap();
    assert_eq!(run(&plain, input(1)), run(&bare, input(1)));
}

#[test]
fn brainscales2_forward_quantises_and_perturbs_but_gradients_are_nominal() {
    let device = Default::default();
    let profile = ChipProfile::brainscales2();
    let chip: SpikingLinear<Chip> = config(DelayKind::Axonal, Some(profile.clone()))
        .init_seeded(3, &device)
        .unwrap();
    let (out, g_in, g_w, g_d) = run(&chip, input(5));
    assert!(out.iter().any(|t| t.is_finite()));

    // Reproduce the chip's forward by hand for the first call of an identically seeded layer:
    // quantised weights, chip delays, thresholds with fixed pattern and noise, jitter.
    let twin = ChipBinding::new(profile.clone(), 4, 7).unwrap();
    let perturbation = twin.draw(LifParams::hardware().threshold).unwrap();
    let w: Vec<f64> = data(chip.weight.val());
    let delgrad::LayerDelays::Axonal(d) = chip.delays() else {
        unreachable!()
    };
    let d: Vec<f64> = data(d);
    let x = data(input::<Bare>(5));
    let lif = LifParams::hardware().build().unwrap();
    let dims = LayerDims {
        batch: 8,
        n_in: 6,
        n_out: 4,
    };
    let w_chip: Vec<f64> = w.iter().map(|&v| profile.chip_weight(v)).collect();
    let d_chip: Vec<f64> = d.iter().map(|&v| profile.chip_delay(v)).collect();
    let expected = kernel::forward_perturbed(
        &lif,
        dims,
        &x,
        &w_chip,
        &Delays::Axonal(&d_chip[..]),
        Some(&perturbation),
    );
    assert_eq!(out, expected, "chip forward differs from its definition");
    let ideal = kernel::forward(&lif, dims, &x, &w, &Delays::Axonal(&d[..]));
    assert_ne!(out, ideal, "the chip changed nothing");

    // Backward: DelGrad's gradients at the nominal weights and delays with the observed times.
    let g_out: Vec<f64> = out
        .iter()
        .map(|t| if t.is_finite() { 2.0 * t } else { 0.0 })
        .collect();
    let nominal = kernel::backward(
        &lif,
        &GradientOptions::default(),
        dims,
        &x,
        &w,
        &Delays::Axonal(&d[..]),
        &out,
        &g_out,
    );
    assert_eq!(g_in, nominal.input);
    assert_eq!(
        g_w, nominal.weights,
        "weight gradient is not straight-through"
    );
    // Raw delay gradient = effective delay gradient x d(delay)/d(raw) = scale * s (1 - s).
    let raw = data(chip.delay_raw.as_ref().unwrap().val());
    let g_d = g_d.unwrap();
    for (i, gd) in nominal.delays.unwrap().iter().enumerate() {
        let s = 1.0 / (1.0 + (-raw[i]).exp());
        let want = gd * 1.5 * s * (1.0 - s);
        assert!(
            (g_d[i] - want).abs() <= 1e-12 * (1.0 + want.abs()),
            "{} vs {want}",
            g_d[i]
        );
    }
}

#[test]
fn same_seed_same_spike_times_and_noise_changes_between_calls() {
    let device = Default::default();
    let make = |seed| -> SpikingLinear<Chip> {
        config(DelayKind::Synaptic, Some(ChipProfile::brainscales2()))
            .with_chip_seed(seed)
            .init_seeded(3, &device)
            .unwrap()
    };
    let (a, b, c) = (make(11), make(11), make(12));
    let calls = |l: &SpikingLinear<Chip>| -> Vec<Vec<f64>> {
        (0..3).map(|_| data(l.forward(input(9)))).collect()
    };
    let (ta, tb, tc) = (calls(&a), calls(&b), calls(&c));
    assert_eq!(ta, tb, "same seed, different spike times");
    assert_ne!(ta, tc, "different seeds, same noise");
    assert_ne!(ta[0], ta[1], "trial-to-trial noise is not redrawn per call");
}

#[test]
fn fixed_pattern_offsets_have_the_configured_statistics() {
    let n = 20_000;
    let p = ChipProfile::brainscales2();
    let b = ChipBinding::new(p.clone(), n, 1).unwrap();
    let o = b.threshold_offsets();
    let mean = o.iter().sum::<f64>() / n as f64;
    let std = (o.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
    // Five standard errors: fails by chance with probability below 1e-6.
    let se_mean = p.threshold_offset_std / (n as f64).sqrt();
    let se_std = p.threshold_offset_std / (2.0 * (n - 1) as f64).sqrt();
    assert!((mean - 0.13).abs() < 5.0 * se_mean, "mean {mean}");
    assert!((std - 0.08).abs() < 5.0 * se_std, "std {std}");
    // The offsets are drawn once: every call sees the same fixed pattern.
    let again = ChipBinding::new(p, n, 1).unwrap();
    assert_eq!(o, again.threshold_offsets());
}

#[test]
fn chip_delays_and_weights_stay_in_range_and_on_the_grid() {
    let p = ChipProfile::brainscales2();
    let (lo, hi) = p.delay_range.unwrap();
    let mut rng = TestRng::new(4);
    for _ in 0..10_000 {
        let d = p.chip_delay(rng.uniform(-20.0, 20.0));
        assert!((lo..=hi).contains(&d), "{d}");
        let steps = (d - lo) / 0.021;
        assert!(
            (steps - steps.round()).abs() < 1e-9 || d == hi,
            "{d} off the grid"
        );
        let w = rng.uniform(-5.0, 5.0);
        let q = p.chip_weight(w);
        assert!(q.abs() <= 2.1 + 1e-12);
        let k = p.chip_weight_int(w).unwrap();
        assert!((-63..=63).contains(&k));
        assert!((q - k as f64 / 30.0).abs() < 1e-12);
    }
}

#[test]
fn profiles_load_from_json_and_toml_and_bad_ones_are_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let p = ChipProfile::brainscales2();
    let json = dir.join("chip.json");
    std::fs::write(&json, serde_json::to_string(&p).unwrap()).unwrap();
    assert_eq!(ChipProfile::load(&json).unwrap(), p);
    let toml_path = dir.join("chip.toml");
    std::fs::write(
        &toml_path,
        "name = \"small\"\nweight_max = 1.0\nweight_step = 0.125\nthreshold_noise_std = 0.01\n",
    )
    .unwrap();
    if cfg!(feature = "toml") {
        let t = ChipProfile::load(&toml_path).unwrap();
        assert_eq!(t.weight_step, Some(0.125));
        assert_eq!(t.delay_range, None);
        std::fs::write(&toml_path, "name = \"bad\"\nthreshold_noise_std = -1.0\n").unwrap();
        assert!(matches!(
            ChipProfile::load(&toml_path),
            Err(delgrad::Error::MalformedFile { .. })
        ));
    } else {
        // Without the `toml` feature a TOML profile is a clear error, not a silent default.
        let err = ChipProfile::load(&toml_path).unwrap_err().to_string();
        assert!(err.contains("feature `toml`"), "{err}");
    }
    std::fs::write(&json, "{\"name\": \"x\", \"typo\": 1}").unwrap();
    assert!(ChipProfile::load(&json).is_err());
    assert!(ChipProfile::from_name_or_file("bss2").unwrap() == p);
}
