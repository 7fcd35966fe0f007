//! Criterion benchmarks of the spiking op (issue 6): forward, and forward plus backward through
//! Burn's autodiff, across network sizes (the Yin-Yang networks up to 1000-1000-10) and batch
//! sizes, plus the bare f64 kernels on slices (what the op costs without Burn).
//!
//! `cargo bench --bench spike_op` runs everything; a filter such as
//! `cargo bench --bench spike_op -- 4-30-3` runs a subset. Results: `target/criterion/`, and the
//! summary in `artifacts/bench/` (see `scripts/bench.sh`).

use std::time::Duration;

use burn::backend::{Autodiff, NdArray};
use burn::module::Initializer;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use delgrad::kernel;
use delgrad::types::{Delays, GradientOptions, LayerDims};
use delgrad::{
    DelayKind, LayerDelays, LifParams, SpikeBackend, SpikingLinear, SpikingLinearConfig,
};

/// A two-layer network shape with its neuron model.
#[derive(Clone, Copy)]
struct Net {
    name: &'static str,
    sizes: [usize; 3],
    delays: DelayKind,
    neuron: fn() -> LifParams,
    batches: &'static [usize],
}

const NETS: &[Net] = &[
    // Preset h30-ws: the main Yin-Yang network (ratio 2, synaptic delays).
    Net {
        name: "4-30-3-synaptic",
        sizes: [4, 30, 3],
        delays: DelayKind::Synaptic,
        neuron: LifParams::ideal,
        batches: &[16, 150, 1024],
    },
    // Preset hw-wa: the hardware-aware network (ratio 1, threshold 2.6, axonal delays).
    Net {
        name: "20-30-3-axonal-ratio1",
        sizes: [20, 30, 3],
        delays: DelayKind::Axonal,
        neuron: LifParams::hardware,
        batches: &[40, 1024],
    },
    Net {
        name: "100-100-10-synaptic",
        sizes: [100, 100, 10],
        delays: DelayKind::Synaptic,
        neuron: LifParams::ideal,
        batches: &[150],
    },
    Net {
        name: "1000-1000-10-axonal",
        sizes: [1000, 1000, 10],
        delays: DelayKind::Axonal,
        neuron: LifParams::ideal,
        batches: &[64],
    },
];

/// Weights scale with 1/fan-in so every size gets a similar total drive: the first layer like
/// Yin-Yang's N(1, 1) at 4 inputs, the second like N(1, 1) at 30 inputs.
fn layers<B: SpikeBackend>(net: &Net, device: &B::Device) -> (SpikingLinear<B>, SpikingLinear<B>) {
    let [n_in, n_hidden, n_out] = net.sizes;
    let cfg = |i: usize, o: usize, drive: f64| {
        let neuron = (net.neuron)();
        // The ratio-1 neuron has a higher threshold (2.6): scale the drive with it.
        let drive = drive * neuron.threshold;
        SpikingLinearConfig::new(i, o)
            .with_neuron(neuron)
            .with_delays(net.delays)
            .with_initializer(Initializer::Normal {
                mean: drive / i as f64,
                std: drive / i as f64,
            })
    };
    (
        cfg(n_in, n_hidden, 4.0).init_seeded(0, device).unwrap(),
        cfg(n_hidden, n_out, 30.0).init_seeded(1, device).unwrap(),
    )
}

/// Deterministic input spike times in [0.15, 2.0] (the Yin-Yang encoding's range).
fn input_values(batch: usize, n_in: usize) -> Vec<f64> {
    (0..batch * n_in)
        .map(|k| {
            let h = (k as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11;
            0.15 + 1.85 * (h as f64 / (1u64 << 53) as f64)
        })
        .collect()
}

fn inputs<B: Backend>(batch: usize, n_in: usize, device: &B::Device) -> Tensor<B, 2> {
    Tensor::from_data(
        TensorData::new(input_values(batch, n_in), [batch, n_in]),
        device,
    )
}

fn step<B: AutodiffBackend + SpikeBackend>(
    l1: &SpikingLinear<B>,
    l2: &SpikingLinear<B>,
    x: Tensor<B, 2>,
) -> B::Gradients {
    let out = l2.forward(l1.forward(x));
    let silent = out.clone().is_inf();
    out.mask_fill(silent, 0.0).sum().backward()
}

/// Fraction of hidden and output neurons that spike, printed once per network so the synthetic
/// workloads are known to be realistic (mostly spiking, as in a trained network).
fn report_activity(net: &Net) {
    type B = NdArray<f64>;
    let device = Default::default();
    let (l1, l2) = layers::<B>(net, &device);
    let x = inputs::<B>(256, net.sizes[0], &device);
    let h = l1.forward(x);
    let o = l2.forward(h.clone());
    let frac = |t: Tensor<B, 2>| {
        let v = t.into_data().convert::<f64>().to_vec::<f64>().unwrap();
        v.iter().filter(|x| x.is_finite()).count() as f64 / v.len() as f64
    };
    eprintln!(
        "{}: {:.0} % of hidden and {:.0} % of output neurons spike",
        net.name,
        100.0 * frac(h),
        100.0 * frac(o)
    );
}

fn bench_network(c: &mut Criterion, net: &Net) {
    report_activity(net);
    let mut group = c.benchmark_group(format!("{}/forward+backward", net.name));
    for &batch in net.batches {
        group.throughput(Throughput::Elements(batch as u64));
        macro_rules! case {
            ($name:expr, $b:ty) => {{
                let device = Default::default();
                let (l1, l2) = layers::<$b>(net, &device);
                let x = inputs::<$b>(batch, net.sizes[0], &device);
                group.bench_with_input(BenchmarkId::new($name, batch), &batch, |bench, _| {
                    bench.iter(|| step(&l1, &l2, x.clone()))
                });
            }};
        }
        case!("Autodiff<NdArray<f64>>", Autodiff<NdArray<f64>>);
        if net.sizes[0] == 4 {
            case!("Autodiff<NdArray<f32>>", Autodiff<NdArray<f32>>);
        }
    }
    group.finish();

    let mut group = c.benchmark_group(format!("{}/forward", net.name));
    for &batch in net.batches {
        group.throughput(Throughput::Elements(batch as u64));
        let device = Default::default();
        let (l1, l2) = layers::<NdArray<f64>>(net, &device);
        let x = inputs::<NdArray<f64>>(batch, net.sizes[0], &device);
        group.bench_with_input(
            BenchmarkId::new("NdArray<f64>", batch),
            &batch,
            |bench, _| bench.iter(|| l2.forward(l1.forward(x.clone()))),
        );
    }
    group.finish();
}

/// The bare kernels of the first layer of h30-ws on f64 slices: the op without Burn.
fn bench_kernel(c: &mut Criterion) {
    type B = NdArray<f64>;
    let net = &NETS[0];
    let device = Default::default();
    let (l1, _) = layers::<B>(net, &device);
    let to_vec = |t: Tensor<B, 2>| t.into_data().convert::<f64>().to_vec::<f64>().unwrap();
    let weights = to_vec(l1.weight.val());
    let delay_values = match l1.delays() {
        LayerDelays::Synaptic(d) => to_vec(d),
        _ => unreachable!("h30-ws has synaptic delays"),
    };
    let delays = Delays::Synaptic(delay_values.as_slice());
    let lif = LifParams::ideal().build().unwrap();
    let mut group = c.benchmark_group("kernel-4-30-synaptic");
    for batch in [150usize, 1024] {
        let dims = LayerDims {
            batch,
            n_in: 4,
            n_out: 30,
        };
        let input = input_values(batch, 4);
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_with_input(BenchmarkId::new("forward", batch), &batch, |b, _| {
            b.iter(|| kernel::forward(&lif, dims, &input, &weights, &delays))
        });
        let output = kernel::forward(&lif, dims, &input, &weights, &delays);
        let grad_output = vec![1.0; output.len()];
        let options = GradientOptions::reference();
        group.bench_with_input(BenchmarkId::new("backward", batch), &batch, |b, _| {
            b.iter(|| {
                kernel::backward(
                    &lif,
                    &options,
                    dims,
                    &input,
                    &weights,
                    &delays,
                    &output,
                    &grad_output,
                )
            })
        });
    }
    group.finish();
}

fn bench(c: &mut Criterion) {
    bench_kernel(c);
    for net in NETS {
        bench_network(c, net);
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
