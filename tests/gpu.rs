//! The GPU spiking op (`wgpu` feature) against the f64 CPU kernel: forward times and every
//! gradient on random layers, both neurons, every delay kind, per-neuron thresholds, and through
//! `Autodiff<Wgpu>`.
//!
//! Runs on any Vulkan device, including Mesa's software driver (lavapipe) on a machine without a
//! GPU: `scripts/gpu-agreement.sh` installs it and runs this file.
#![cfg(feature = "wgpu")]

use std::sync::Arc;

use burn::backend::wgpu::{Wgpu, WgpuDevice};
use burn::backend::{Autodiff, NdArray};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use delgrad::backend::{LayerDelays, SpikeBackend, SpikeOp};
use delgrad::functional::try_spike;
use delgrad::hardware::{ChipBinding, ChipProfile, HardwareAware};
use delgrad::neuron::LifParams;
use delgrad::types::{DelayKind, GradientOptions};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

type Gpu = Wgpu<f32, i32, u32>;
type Cpu = NdArray<f64>;

/// One random layer, with values representable in f32 so both backends see the same numbers.
struct Layer {
    batch: usize,
    n_in: usize,
    n_out: usize,
    input: Vec<f64>,
    weights: Vec<f64>,
    kind: DelayKind,
    delays: Vec<f64>,
}

const WEIGHT_SCALE: f64 = 7.0;

fn f32_exact(v: f64) -> f64 {
    v as f32 as f64
}

fn random_layer(seed: u64, params: &LifParams, kind: DelayKind, dims: [usize; 3]) -> Layer {
    let [batch, n_in, n_out] = dims;
    let mut rng = StdRng::seed_from_u64(seed);
    // Weights large enough that most neurons spike: the threshold scales the drive needed.
    let scale = params.threshold * params.g_leak * WEIGHT_SCALE / n_in as f64;
    let w_dist = Normal::new(scale, 2.0 * scale).unwrap();
    let input = (0..batch * n_in)
        .map(|_| {
            if rng.random_bool(0.1) {
                f64::INFINITY
            } else {
                f32_exact(rng.random_range(0.0..2.0))
            }
        })
        .collect();
    let weights = (0..n_in * n_out)
        .map(|_| f32_exact(w_dist.sample(&mut rng)))
        .collect();
    let delays = (0..kind.len(n_in, n_out))
        .map(|_| f32_exact(rng.random_range(0.0..1.0)))
        .collect();
    Layer {
        batch,
        n_in,
        n_out,
        input,
        weights,
        kind,
        delays,
    }
}

fn tensor<B: Backend, const D: usize>(
    values: &[f64],
    shape: [usize; D],
    device: &B::Device,
) -> Tensor<B, D> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), device)
}

fn delays<B: Backend>(layer: &Layer, device: &B::Device) -> LayerDelays<B> {
    let (n_in, n_out) = (layer.n_in, layer.n_out);
    match layer.kind {
        DelayKind::None => LayerDelays::None,
        DelayKind::Axonal => LayerDelays::Axonal(tensor(&layer.delays, [n_in], device)),
        DelayKind::Synaptic => LayerDelays::Synaptic(tensor(&layer.delays, [n_in, n_out], device)),
        DelayKind::Dendritic => LayerDelays::Dendritic(tensor(&layer.delays, [n_out], device)),
    }
}

fn values<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
    t.into_data().convert::<f64>().into_vec::<f64>().unwrap()
}

/// Output times of `B`'s op.
fn forward<B: SpikeBackend>(layer: &Layer, op: &SpikeOp, device: &B::Device) -> Vec<f64> {
    let input = tensor::<B, 2>(&layer.input, [layer.batch, layer.n_in], device);
    let weights = tensor::<B, 2>(&layer.weights, [layer.n_in, layer.n_out], device);
    values(try_spike(input, weights, delays(layer, device), op).unwrap())
}

/// Output times and (input, weight, delay) gradients of the loss sum coef * t, through
/// `Autodiff<B>`.
fn gradients<B: SpikeBackend>(
    layer: &Layer,
    op: &SpikeOp,
    device: &B::Device,
    coef: &[f64],
) -> (Vec<f64>, [Vec<f64>; 3]) {
    type A<B> = Autodiff<B>;
    let input = tensor::<A<B>, 2>(&layer.input, [layer.batch, layer.n_in], device).require_grad();
    let weights =
        tensor::<A<B>, 2>(&layer.weights, [layer.n_in, layer.n_out], device).require_grad();
    let d = match delays::<A<B>>(layer, device) {
        LayerDelays::None => LayerDelays::None,
        LayerDelays::Axonal(t) => LayerDelays::Axonal(t.require_grad()),
        LayerDelays::Synaptic(t) => LayerDelays::Synaptic(t.require_grad()),
        LayerDelays::Dendritic(t) => LayerDelays::Dendritic(t.require_grad()),
    };
    // The delay tensors themselves (not reshaped copies) are the leaves whose gradients we read.
    let (d_1, d_2) = match &d {
        LayerDelays::None => (None, None),
        LayerDelays::Axonal(t) | LayerDelays::Dendritic(t) => (Some(t.clone()), None),
        LayerDelays::Synaptic(t) => (None, Some(t.clone())),
    };
    let out = try_spike(input.clone(), weights.clone(), d, op).unwrap();
    // sum of coef * t over the spikes; silent outputs (+inf) are masked out.
    let coef = tensor::<A<B>, 2>(coef, [layer.batch, layer.n_out], device);
    let finite = out.clone().is_finite();
    let loss = out
        .clone()
        .mask_fill(finite.clone().bool_not(), 0.0)
        .mul(coef)
        .sum();
    let grads = loss.backward();
    let g_in = values(input.grad(&grads).unwrap());
    let g_w = values(weights.grad(&grads).unwrap());
    let g_d = match (d_1, d_2) {
        (Some(t), _) => values(t.grad(&grads).unwrap()),
        (_, Some(t)) => values(t.grad(&grads).unwrap()),
        _ => Vec::new(),
    };
    (values(out), [g_in, g_w, g_d])
}

fn gpu_device() -> WgpuDevice {
    WgpuDevice::default()
}

fn op(params: LifParams, gradients: GradientOptions) -> SpikeOp {
    SpikeOp::new(params, gradients).unwrap()
}

fn arrivals(layer: &Layer, b: usize, o: usize) -> Vec<f64> {
    (0..layer.n_in)
        .map(|i| {
            let t = layer.input[b * layer.n_in + i];
            t + match layer.kind {
                DelayKind::None => 0.0,
                DelayKind::Axonal => layer.delays[i],
                DelayKind::Synaptic => layer.delays[i * layer.n_out + o],
                DelayKind::Dendritic => layer.delays[o],
            }
        })
        .collect()
}

/// The condition number of spike `[b, j]` at time `t` (see [`check_times`]), with the neuron's
/// threshold from `thresholds` where given.
fn condition(
    layer: &Layer,
    o: &SpikeOp,
    thresholds: Option<&[f64]>,
    (b, j): (usize, usize),
    t: f64,
) -> f64 {
    let lif = match thresholds {
        Some(th) => o.lif.with_threshold(th[j]).unwrap(),
        None => o.lif,
    };
    let a = arrivals(layer, b, j);
    let w: Vec<f64> = (0..layer.n_in)
        .map(|i| layer.weights[i * layer.n_out + j])
        .collect();
    let (d_w, d_t) = lif.spike_gradients(&a, &w, t);
    (0..layer.n_in)
        .filter(|&i| a[i] <= t)
        .map(|i| (w[i] * d_w[i]).abs() + d_t[i].abs() * a[i].abs().max(1.0))
        .sum()
}

/// f32 against f64 spike times. A spike time moves by about `eps kappa` when its inputs' weights
/// and arrival times are perturbed by a relative `eps`, with the condition number
/// `kappa = sum_i |w_i dt/dw_i| + |dt/dt_i| max(1, |t_i|)` (from the exact f64 derivatives),
/// which diverges where the membrane touches the threshold tangentially. Every spike must agree
/// to `1e-5 + 64 eps_f32 kappa`, at least 99 % of them to 1e-5, and both must agree on which
/// neurons spike. Returns (max |dt|, fraction within 1e-5).
fn check_times(
    what: &str,
    layer: &Layer,
    o: &SpikeOp,
    thresholds: Option<&[f64]>,
    cpu: &[f64],
    gpu: &[f64],
) -> (f64, f64) {
    assert_eq!(cpu.len(), gpu.len());
    let (mut worst, mut within, mut spikes) = (0.0f64, 0, 0);
    for b in 0..layer.batch {
        for j in 0..layer.n_out {
            let (c, g) = (cpu[b * layer.n_out + j], gpu[b * layer.n_out + j]);
            assert_eq!(
                c.is_finite(),
                g.is_finite(),
                "{what}: [{b}, {j}] cpu {c}, gpu {g}"
            );
            if !c.is_finite() {
                continue;
            }
            spikes += 1;
            let err = (c - g).abs();
            worst = worst.max(err);
            if err <= 1e-5 {
                within += 1;
                continue;
            }
            let kappa = condition(layer, o, thresholds, (b, j), c);
            let bound = 1e-5 + 64.0 * f32::EPSILON as f64 * kappa;
            assert!(
                err <= bound,
                "{what}: [{b}, {j}] |dt| = {err:.2e}, kappa = {kappa:.2e}, bound {bound:.2e}"
            );
        }
    }
    let fraction = within as f64 / spikes.max(1) as f64;
    println!(
        "{what}: {spikes} spikes, max |dt| = {worst:.2e}, {:.2} % within 1e-5",
        100.0 * fraction
    );
    assert!(spikes > 0, "{what}: no spikes");
    assert!(
        fraction >= 0.99,
        "{what}: only {:.2} % within 1e-5",
        100.0 * fraction
    );
    (worst, fraction)
}

fn cases() -> Vec<(&'static str, LifParams)> {
    vec![
        ("ratio 2 (ideal)", LifParams::ideal()),
        ("ratio 1 (hardware)", LifParams::hardware()),
    ]
}

const KINDS: [DelayKind; 4] = [
    DelayKind::None,
    DelayKind::Axonal,
    DelayKind::Synaptic,
    DelayKind::Dendritic,
];

#[test]
fn forward_times_match_the_cpu_kernel() {
    let device = gpu_device();
    for (name, params) in cases() {
        for (k, kind) in KINDS.into_iter().enumerate() {
            let layer = random_layer(10 + k as u64, &params, kind, [96, 24, 9]);
            let o = op(params, GradientOptions::exact());
            let cpu = forward::<Cpu>(&layer, &o, &Default::default());
            let gpu = forward::<Gpu>(&layer, &o, &device);
            let spikes = cpu.iter().filter(|t| t.is_finite()).count();
            assert!(
                spikes > cpu.len() / 4 && spikes < cpu.len(),
                "{name} {kind}: {spikes} spikes"
            );
            check_times(&format!("{name}, {kind}"), &layer, &o, None, &cpu, &gpu);
        }
    }
}

/// Spikes whose condition number exceeds this are left out of the gradient comparison.
const MAX_CONDITION: f64 = 100.0;

/// Gradients agree to a relative 1e-3 of each gradient's largest entry (f32 sums of terms that
/// diverge near tangential threshold crossings).
fn assert_close(what: &str, cpu: &[f64], gpu: &[f64]) {
    assert_eq!(cpu.len(), gpu.len(), "{what}");
    let norm = cpu.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let worst = cpu
        .iter()
        .zip(gpu)
        .fold(0.0f64, |m, (c, g)| m.max((c - g).abs()));
    println!("{what}: max |g| = {norm:.3e}, max |gpu - cpu| = {worst:.2e}");
    assert!(cpu.iter().chain(gpu).all(|v| v.is_finite()), "{what}");
    assert!(
        worst <= 1e-3 * norm.max(1e-12),
        "{what}: {worst} vs norm {norm}"
    );
}

#[test]
fn gradients_through_autodiff_match_the_cpu_kernel() {
    let device = gpu_device();
    for (name, params) in cases() {
        for (k, kind) in KINDS.into_iter().enumerate() {
            let layer = random_layer(20 + k as u64, &params, kind, [64, 16, 7]);
            // A random linear loss over the well-conditioned spikes: where the membrane nearly
            // touches the threshold, f32 cannot resolve the derivatives (they diverge).
            let o = op(params, GradientOptions::exact());
            let t = forward::<Cpu>(&layer, &o, &Default::default());
            let mut rng = StdRng::seed_from_u64(99);
            let mut excluded = 0;
            let coef: Vec<f64> = (0..layer.batch * layer.n_out)
                .map(|k| {
                    let c = f32_exact(rng.random_range(-1.0..1.0));
                    let (b, j) = (k / layer.n_out, k % layer.n_out);
                    if t[k].is_finite() && condition(&layer, &o, None, (b, j), t[k]) > MAX_CONDITION
                    {
                        excluded += 1;
                        0.0
                    } else {
                        c
                    }
                })
                .collect();
            let spikes = t.iter().filter(|t| t.is_finite()).count();
            println!("{name}, {kind}: {excluded} of {spikes} spikes ill-conditioned");
            assert!(
                excluded * 20 <= spikes,
                "{name}, {kind}: {excluded} of {spikes}"
            );
            // The default options include the reference's weight-gradient clip.
            for options in [GradientOptions::exact(), GradientOptions::reference()] {
                let o = op(params, options);
                let (t_cpu, g_cpu) = gradients::<Cpu>(&layer, &o, &Default::default(), &coef);
                let (t_gpu, g_gpu) = gradients::<Gpu>(&layer, &o, &device, &coef);
                check_times(&format!("{name}, {kind}"), &layer, &o, None, &t_cpu, &t_gpu);
                for (part, (c, g)) in ["input", "weights", "delays"]
                    .iter()
                    .zip(g_cpu.iter().zip(&g_gpu))
                {
                    assert_close(&format!("{name}, {kind}, {options:?}: {part}"), c, g);
                }
                assert_eq!(g_cpu[2].len(), kind.len(layer.n_in, layer.n_out));
            }
        }
    }
}

#[test]
fn chip_perturbations_match_the_cpu_kernel() {
    // Per-neuron thresholds (chip offsets) and arrival jitter, drawn by the chip-aware backend:
    // twin chip bindings (same profile and seed) give both backends the very same draws.
    let device = gpu_device();
    let params = LifParams::hardware();
    let profile = ChipProfile {
        name: "threshold offsets and jitter".into(),
        threshold_offset_mean: 0.1,
        threshold_offset_std: 0.1,
        delay_jitter_std: 0.05,
        ..ChipProfile::ideal()
    };
    for (k, kind) in KINDS.into_iter().enumerate() {
        let layer = random_layer(31 + k as u64, &params, kind, [48, 20, 6]);
        let binding = || Arc::new(ChipBinding::new(profile.clone(), layer.n_out, 11).unwrap());
        let on_chip = || op(params, GradientOptions::exact()).with_chip(Some(binding()));
        let cpu = forward::<HardwareAware<Cpu>>(&layer, &on_chip(), &Default::default());
        let gpu = forward::<HardwareAware<Gpu>>(&layer, &on_chip(), &device);
        let o = op(params, GradientOptions::exact());
        let nominal = forward::<Cpu>(&layer, &o, &Default::default());
        let thresholds = binding()
            .draw(params.threshold)
            .and_then(|p| p.thresholds)
            .expect("threshold offsets give per-neuron thresholds");
        // The condition numbers of check_times are those of the unjittered arrivals: jitter of
        // 0.05 moves them by a few percent, well inside the bound's factor 64.
        check_times(
            &format!("chip, {kind}"),
            &layer,
            &o,
            Some(&thresholds),
            &cpu,
            &gpu,
        );
        assert_ne!(
            cpu, nominal,
            "{kind}: the perturbation must change the output"
        );
    }
}

#[test]
fn wide_spreads_and_silent_inputs() {
    // Arrivals 60 tau apart overflow f32 exponentials taken relative to the first arrival; the
    // kernel keeps its sums relative to the latest one. Rows with no input spike stay silent.
    let device = gpu_device();
    for (name, params) in cases() {
        let mut layer = random_layer(41, &params, DelayKind::None, [16, 10, 5]);
        for b in 0..layer.batch {
            for i in 0..layer.n_in {
                let t = &mut layer.input[b * layer.n_in + i];
                if b % 4 == 0 {
                    *t = f64::INFINITY;
                } else if t.is_finite() && i % 2 == 0 {
                    *t += 60.0;
                }
            }
        }
        let o = op(params, GradientOptions::exact());
        let cpu = forward::<Cpu>(&layer, &o, &Default::default());
        let gpu = forward::<Gpu>(&layer, &o, &device);
        // Times near 60 carry f32's absolute resolution there (about 4e-6).
        let (worst, _) = check_times(
            &format!("wide spread, {name}"),
            &layer,
            &o,
            None,
            &cpu,
            &gpu,
        );
        let spikes = cpu.iter().filter(|t| t.is_finite()).count();
        assert!(spikes > cpu.len() / 4, "{name}: {spikes} spikes");
        assert!(worst <= 1e-4, "{name}: {worst}");
        for b in (0..layer.batch).step_by(4) {
            assert!(gpu[b * layer.n_out..(b + 1) * layer.n_out]
                .iter()
                .all(|t| t.is_infinite()));
        }
    }
}

#[test]
fn bad_values_are_typed_errors_on_the_gpu() {
    let device = gpu_device();
    let params = LifParams::ideal();
    let o = op(params, GradientOptions::exact());
    let mut layer = random_layer(51, &params, DelayKind::None, [4, 3, 2]);
    layer.weights[4] = f64::NAN;
    let input = tensor::<Gpu, 2>(&layer.input, [4, 3], &device);
    let weights = tensor::<Gpu, 2>(&layer.weights, [3, 2], &device);
    let err = try_spike(input.clone(), weights, LayerDelays::None, &o).unwrap_err();
    assert!(err.to_string().contains("weights"), "{err}");
    // An empty batch is not an error.
    let empty = tensor::<Gpu, 2>(&[], [0, 3], &device);
    let w = tensor::<Gpu, 2>(&[0.5; 6], [3, 2], &device);
    let out = try_spike(empty, w, LayerDelays::None, &o).unwrap();
    assert_eq!(out.dims(), [0, 2]);
    let bad_shape = tensor::<Gpu, 2>(&[0.0; 8], [4, 2], &device);
    let err = try_spike(input, bad_shape, LayerDelays::None, &o).unwrap_err();
    assert!(err.to_string().contains("shape"), "{err}");
}

/// Trains `preset` for `epochs` on the CPU and on the GPU; returns both summaries and metrics.
fn train_on_both(
    preset: &str,
    epochs: usize,
) -> Vec<(
    delgrad::experiment::RunSummary,
    Vec<delgrad::trainer::EpochMetrics>,
)> {
    use delgrad::experiment::run;
    use delgrad::experiment::YinYangConfig;
    use delgrad::trainer::{ComputeDevice, EpochMetrics, Progress};
    let summaries: Vec<(delgrad::experiment::RunSummary, Vec<EpochMetrics>)> =
        [ComputeDevice::Cpu, ComputeDevice::Wgpu]
            .into_iter()
            .map(|device| {
                let tmp = tempfile::tempdir().unwrap();
                let dir = tmp.path().join("run");
                let config = YinYangConfig {
                    epochs,
                    device,
                    ..YinYangConfig::preset(preset).unwrap()
                };
                let summary = run(&config, &dir, false, Progress::Callback(None)).unwrap();
                let text = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
                (summary, EpochMetrics::parse_csv(&text).unwrap())
            })
            .collect();
    summaries
}

#[test]
fn yinyang_training_on_the_gpu_follows_the_cpu_run() {
    use delgrad::trainer::ComputeDevice;
    let summaries = train_on_both("h30-ws", 3);
    let (cpu, gpu) = (&summaries[0], &summaries[1]);
    assert_eq!(gpu.0.config.device, ComputeDevice::Wgpu);
    // Chance is 1/3; three epochs reach about 79 %.
    assert!(gpu.0.test_accuracy > 0.7, "{}", gpu.0.test_accuracy);
    // f32 and f64 runs start from the same parameters and see the same batches: over a few epochs
    // their curves stay together (they drift apart slowly, as any two round-offs do).
    for (c, g) in cpu.1.iter().zip(&gpu.1) {
        println!(
            "epoch {}: train acc cpu {:.4} gpu {:.4}, val loss cpu {:.5} gpu {:.5}",
            c.epoch, c.train_accuracy, g.train_accuracy, c.val_loss, g.val_loss
        );
        assert!((c.train_accuracy - g.train_accuracy).abs() < 0.01);
        assert!((c.val_loss - g.val_loss).abs() < 0.01 * c.val_loss);
    }
}

#[test]
fn nan_error_signals_count_as_zero_as_on_the_cpu() {
    let device = gpu_device();
    let params = LifParams::ideal();
    let o = op(params, GradientOptions::exact());
    let layer = random_layer(61, &params, DelayKind::Synaptic, [32, 12, 5]);
    let mut rng = StdRng::seed_from_u64(5);
    let g_out: Vec<f64> = (0..32 * 5)
        .map(|k| {
            if k % 7 == 0 {
                f64::NAN
            } else {
                f32_exact(rng.random_range(-1.0..1.0))
            }
        })
        .collect();
    fn run<B: SpikeBackend>(
        layer: &Layer,
        o: &SpikeOp,
        g_out: &[f64],
        d: &B::Device,
    ) -> Vec<Vec<f64>> {
        let input = tensor::<B, 2>(&layer.input, [layer.batch, layer.n_in], d);
        let weights = tensor::<B, 2>(&layer.weights, [layer.n_in, layer.n_out], d);
        let delays = tensor::<B, 2>(&layer.delays, [layer.n_in, layer.n_out], d);
        let prim = |t: Tensor<B, 2>| t.into_primitive().tensor();
        let out = B::spike_forward(
            prim(input.clone()),
            prim(weights.clone()),
            delgrad::types::Delays::Synaptic(prim(delays.clone())),
            o,
        )
        .unwrap();
        let g = tensor::<B, 2>(g_out, [layer.batch, layer.n_out], d);
        let grads = B::spike_backward(
            prim(input),
            prim(weights),
            delgrad::types::Delays::Synaptic(prim(delays)),
            out,
            prim(g),
            o,
        )
        .unwrap();
        let host = |t| {
            values(Tensor::<B, 2>::from_primitive(
                burn::tensor::TensorPrimitive::Float(t),
            ))
        };
        vec![
            host(grads.input),
            host(grads.weights),
            host(grads.delays.unwrap()),
        ]
    }
    let cpu = run::<Cpu>(&layer, &o, &g_out, &Default::default());
    let gpu = run::<Gpu>(&layer, &o, &g_out, &device);
    for (part, (c, g)) in ["input", "weights", "delays"]
        .iter()
        .zip(cpu.iter().zip(&gpu))
    {
        assert_close(&format!("NaN error signals: {part}"), c, g);
    }
}

#[test]
fn chip_aware_training_runs_on_the_gpu() {
    // hw-wa on `Autodiff<HardwareAware<Wgpu>>`: quantised weights, chip delays, threshold
    // offsets and noise, arrival jitter. The chip's noise makes single spikes flip between f32 and
    // f64, so the curves are compared loosely.
    let summaries = train_on_both("hw-wa", 2);
    let (cpu, gpu) = (&summaries[0], &summaries[1]);
    assert!(gpu.0.chip.is_some());
    for (c, g) in cpu.1.iter().zip(&gpu.1) {
        println!(
            "epoch {}: train acc cpu {:.4} gpu {:.4}, val acc cpu {:.4} gpu {:.4}",
            c.epoch, c.train_accuracy, g.train_accuracy, c.val_accuracy, g.val_accuracy
        );
        assert!((c.train_accuracy - g.train_accuracy).abs() < 0.03);
    }
    assert!(gpu.0.test_accuracy > 0.5, "{}", gpu.0.test_accuracy);
}

#[test]
fn wide_layers_match_the_cpu_kernel() {
    // Above 64 inputs the GPU op heap-sorts each row of arrivals instead of ranking them.
    let device = gpu_device();
    for (name, params) in cases() {
        for kind in [DelayKind::None, DelayKind::Synaptic] {
            let layer = random_layer(71, &params, kind, [24, 150, 8]);
            let o = op(params, GradientOptions::exact());
            let cpu = forward::<Cpu>(&layer, &o, &Default::default());
            let gpu = forward::<Gpu>(&layer, &o, &device);
            check_times(
                &format!("wide, {name}, {kind}"),
                &layer,
                &o,
                None,
                &cpu,
                &gpu,
            );
        }
    }
}
