//! Forward plus backward of the 4-30-3 synaptic-delay network (preset h30-ws) at batch 150 on
//! NdArray, through Burn's autodiff: what one training step of Yin-Yang costs in the spiking
//! layers. Run with `cargo bench --bench spike_op`.

use burn::backend::{Autodiff, NdArray};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use delgrad::{DelayKind, SpikeBackend, SpikingLinear, SpikingLinearConfig};

fn network<B: SpikeBackend>(device: &B::Device) -> (SpikingLinear<B>, SpikingLinear<B>) {
    let cfg = |i, o| {
        SpikingLinearConfig::new(i, o)
            .with_delays(DelayKind::Synaptic)
            .with_weight_mean(1.0)
            .with_weight_std(1.0)
    };
    (
        cfg(4, 30).init_seeded(0, device).unwrap(),
        cfg(30, 3).init_seeded(1, device).unwrap(),
    )
}

/// Yin-Yang-like input spike times in [0.15, 2.0].
fn inputs<B: Backend>(batch: usize, device: &B::Device) -> Tensor<B, 2> {
    let v: Vec<f64> = (0..batch)
        .flat_map(|b| {
            let x = ((b * 37) % 100) as f64 / 100.0;
            let y = ((b * 61) % 100) as f64 / 100.0;
            [x, y, 1.0 - x, 1.0 - y].map(|v| 0.15 + 1.85 * v)
        })
        .collect();
    Tensor::from_data(TensorData::new(v, [batch, 4]), device)
}

fn step<B: burn::tensor::backend::AutodiffBackend + SpikeBackend>(
    l1: &SpikingLinear<B>,
    l2: &SpikingLinear<B>,
    x: Tensor<B, 2>,
) -> B::Gradients {
    let out = l2.forward(l1.forward(x));
    let silent = out.clone().is_inf();
    out.mask_fill(silent, 0.0).sum().backward()
}

fn bench(c: &mut Criterion) {
    let batch = 150;
    let mut group = c.benchmark_group("h30-ws forward+backward");
    group.throughput(Throughput::Elements(batch as u64));
    macro_rules! case {
        ($name:expr, $b:ty) => {{
            let device = Default::default();
            let (l1, l2) = network::<$b>(&device);
            let x = inputs::<$b>(batch, &device);
            group.bench_with_input(BenchmarkId::new($name, batch), &batch, |bench, _| {
                bench.iter(|| step(&l1, &l2, x.clone()))
            });
        }};
    }
    case!("Autodiff<NdArray<f64>>", Autodiff<NdArray<f64>>);
    case!("Autodiff<NdArray<f32>>", Autodiff<NdArray<f32>>);
    group.finish();

    let mut group = c.benchmark_group("h30-ws forward");
    group.throughput(Throughput::Elements(batch as u64));
    let device = Default::default();
    let (l1, l2) = network::<NdArray<f64>>(&device);
    let x = inputs::<NdArray<f64>>(batch, &device);
    group.bench_function(BenchmarkId::new("NdArray<f64>", batch), |bench| {
        bench.iter(|| l2.forward(l1.forward(x.clone())))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
