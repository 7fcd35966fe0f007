//! Throughput of the spiking op on the GPU backend (feature `wgpu`): forward and forward plus
//! backward of two-layer networks on synthetic spike times, median of several timed repetitions
//! after a warm-up, with the device synchronised around each. Optionally the f64 CPU kernel at
//! the same sizes, in the same run.
//!
//!   cargo run --release --features wgpu --example gpu_throughput -- --out artifacts/bench/gpu.json
use std::path::PathBuf;
use std::time::Instant;

use burn::backend::wgpu::{Wgpu, WgpuDevice};
use burn::backend::{Autodiff, NdArray};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use clap::Parser;
use delgrad::backend::{LayerDelays, SpikeBackend, SpikeOp};
use delgrad::functional::try_spike as spike;
use delgrad::neuron::LifParams;
use delgrad::types::{DelayKind, GradientOptions};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

#[derive(Parser, Debug)]
#[command(about = "Throughput of the GPU spiking op")]
struct Args {
    /// Cases as `SIZES:BATCH:DELAYS`, e.g. `1000-1000-10:65536:none`.
    #[arg(long, value_delimiter = ',', default_values_t = [
        "4-30-3:150:synaptic".to_string(),
        "4-30-3:65536:synaptic".to_string(),
        "100-100-10:1024:none".to_string(),
        "1000-1000-10:64:none".to_string(),
        "1000-1000-10:65536:none".to_string(),
    ])]
    cases: Vec<String>,
    /// Timed repetitions per case (the median is reported).
    #[arg(long, default_value_t = 5)]
    reps: usize,
    /// Also time the f64 CPU kernel for cases up to this many synapse evaluations per layer
    /// (batch x n_in x n_out); 0 = never.
    #[arg(long, default_value_t = 0.0)]
    cpu_max_work: f64,
    /// Write the results here as JSON.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
struct Row {
    backend: String,
    network: String,
    batch: usize,
    delays: String,
    forward_ms: f64,
    forward_backward_ms: f64,
    samples_per_second: f64,
}

struct Case {
    sizes: Vec<usize>,
    batch: usize,
    kind: DelayKind,
}

fn parse_case(s: &str) -> Result<Case, String> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 3 {
        return Err(format!("case `{s}`: expected SIZES:BATCH:DELAYS"));
    }
    let sizes = parts[0]
        .split('-')
        .map(|v| v.parse::<usize>().map_err(|e| format!("case `{s}`: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    if sizes.len() < 2 {
        return Err(format!("case `{s}`: at least two layer sizes"));
    }
    let batch = parts[1].parse().map_err(|e| format!("case `{s}`: {e}"))?;
    let kind = parts[2].parse().map_err(|e| format!("case `{s}`: {e}"))?;
    Ok(Case { sizes, batch, kind })
}

/// Random parameters of one layer: weights scaled so that most neurons spike.
struct LayerValues {
    weights: Vec<f64>,
    delays: Vec<f64>,
}

fn layers(case: &Case, rng: &mut StdRng) -> Vec<LayerValues> {
    case.sizes
        .windows(2)
        .map(|w| {
            let (n_in, n_out) = (w[0], w[1]);
            let scale = 6.0 / n_in as f64;
            LayerValues {
                weights: (0..n_in * n_out)
                    .map(|_| scale * rng.random_range(-0.5..2.0))
                    .collect(),
                delays: (0..case.kind.len(n_in, n_out))
                    .map(|_| rng.random_range(0.0..0.5))
                    .collect(),
            }
        })
        .collect()
}

fn delays<B: Backend>(
    kind: DelayKind,
    v: &[f64],
    n_in: usize,
    n_out: usize,
    d: &B::Device,
) -> LayerDelays<B> {
    let t1 =
        |n: usize| Tensor::<B, 1>::from_data(TensorData::new(v.to_vec(), [n]), d).require_grad();
    match kind {
        DelayKind::None => LayerDelays::None,
        DelayKind::Axonal => LayerDelays::Axonal(t1(n_in)),
        DelayKind::Dendritic => LayerDelays::Dendritic(t1(n_out)),
        DelayKind::Synaptic => LayerDelays::Synaptic(
            Tensor::<B, 2>::from_data(TensorData::new(v.to_vec(), [n_in, n_out]), d).require_grad(),
        ),
    }
}

/// The network's output times; with `backward`, also the gradients of their masked sum.
fn step<B: SpikeBackend>(
    case: &Case,
    input: &[f64],
    params: &[LayerValues],
    op: &SpikeOp,
    device: &B::Device,
) -> Tensor<B, 2> {
    let mut t = Tensor::<B, 2>::from_data(
        TensorData::new(input.to_vec(), [case.batch, case.sizes[0]]),
        device,
    );
    for (l, p) in params.iter().enumerate() {
        let (n_in, n_out) = (case.sizes[l], case.sizes[l + 1]);
        let w =
            Tensor::<B, 2>::from_data(TensorData::new(p.weights.clone(), [n_in, n_out]), device)
                .require_grad();
        t = spike(t, w, delays(case.kind, &p.delays, n_in, n_out, device), op)
            .expect("valid synthetic layer");
    }
    t
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time_case<B>(name: &str, case: &Case, reps: usize, device: &B::Device) -> Row
where
    B: burn::tensor::backend::AutodiffBackend + SpikeBackend,
    B::InnerBackend: SpikeBackend,
{
    let mut rng = StdRng::seed_from_u64(7);
    let input: Vec<f64> = (0..case.batch * case.sizes[0])
        .map(|_| rng.random_range(0.0..2.0))
        .collect();
    let params = layers(case, &mut rng);
    let op = SpikeOp::new(LifParams::ideal(), GradientOptions::default()).unwrap();
    let forward = || {
        let out = step::<B::InnerBackend>(case, &input, &params, &op, device);
        B::InnerBackend::sync(device).unwrap();
        out
    };
    let forward_backward = || {
        let out = step::<B>(case, &input, &params, &op, device);
        let finite = out.clone().is_finite();
        let grads = out.mask_fill(finite.bool_not(), 0.0).sum().backward();
        B::sync(device).unwrap();
        drop(grads);
    };
    // Warm-up: kernel compilation and memory pools.
    let spikes = forward().is_finite().int().sum().into_scalar();
    forward_backward();
    let mut f = Vec::new();
    let mut fb = Vec::new();
    for _ in 0..reps {
        let t0 = Instant::now();
        drop(forward());
        f.push(t0.elapsed().as_secs_f64());
        let t0 = Instant::now();
        forward_backward();
        fb.push(t0.elapsed().as_secs_f64());
    }
    let row = Row {
        backend: name.into(),
        network: case
            .sizes
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join("-"),
        batch: case.batch,
        delays: case.kind.name().into(),
        forward_ms: 1e3 * median(f),
        forward_backward_ms: 1e3 * median(fb.clone()),
        samples_per_second: case.batch as f64 / median(fb),
    };
    println!(
        "{:<10} {:<14} batch {:>6} {:<9} forward {:>10.3} ms  fwd+bwd {:>10.3} ms  {:>12.0} samples/s  ({} output spikes)",
        row.backend, row.network, row.batch, row.delays, row.forward_ms, row.forward_backward_ms,
        row.samples_per_second, spikes
    );
    row
}

fn main() {
    let args = Args::parse();
    let cases: Vec<Case> = match args.cases.iter().map(|s| parse_case(s)).collect() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let gpu = WgpuDevice::default();
    let mut rows = Vec::new();
    for case in &cases {
        rows.push(time_case::<Autodiff<Wgpu>>(
            "wgpu-f32",
            case,
            args.reps.max(1),
            &gpu,
        ));
        let work = case
            .sizes
            .windows(2)
            .map(|w| case.batch as f64 * w[0] as f64 * w[1] as f64)
            .fold(0.0, f64::max);
        if work <= args.cpu_max_work {
            rows.push(time_case::<Autodiff<NdArray<f64>>>(
                "cpu-f64",
                case,
                args.reps.max(1),
                &Default::default(),
            ));
        }
        // After every case: a later case that exhausts the device's memory (the backend
        // panics on a failed allocation) must not take the finished rows with it.
        if let Some(out) = &args.out {
            write_rows(out, &rows, &gpu);
        }
    }
    if let Some(out) = &args.out {
        println!("wrote {}", out.display());
    }
}

fn write_rows(out: &std::path::Path, rows: &[Row], gpu: &WgpuDevice) {
    let doc = serde_json::json!({
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "device": <Wgpu as Backend>::name(gpu),
        "method": "median of --reps timed repetitions after one warm-up; device synchronised (Backend::sync) at the end of each; fwd+bwd = forward through Autodiff plus backward of the masked sum of output times; inputs and parameters are uploaded inside the timed step",
        "rows": rows,
    });
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    let text = serde_json::to_string_pretty(&doc).unwrap();
    delgrad::io::write_atomically(out, text.as_bytes()).unwrap();
}
