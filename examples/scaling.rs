//! Training-step throughput of two-layer spiking networks on the CPU: forward plus backward of
//! both layers through `Autodiff<NdArray<f64>>`, on a rayon pool of a given size, printed as one
//! JSON object per case and line (the format `scripts/reference_scaling.py` prints for the
//! reference implementation, so `scripts/bench-vs-reference.sh` can put them side by side).
//!
//!   cargo run --release --example scaling -- --threads 1,2
//!   cargo run --release --example scaling -- --cost-model artifacts/bench
//!
//! `--cost-model DIR` instead sweeps the fan-in (4 to 1024 inputs into 100 hidden neurons and
//! 10 outputs) for every delay kind, and the batch size, on one thread; it counts each case's
//! kernel work (candidates visited by the forward scans, arrivals ordered, inputs read by the
//! backward pass per spike), fits the time per sample as a sum of those counts with one cost
//! each, and writes `cost-model.jsonl`, `cost-model.json` (the fitted costs) and two figures.
//!
//! Inputs are deterministic spike times in [0.15, 2.0]; weights are drawn from
//! N(drive / fan-in, drive / fan-in), so every size gets a similar total drive; the loss is the
//! sum of the finite output times. Each case is warmed up, then timed in repetitions of at least
//! `--min-seconds`, and the median repetition is reported.
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::backend::{Autodiff, NdArray};
use burn::module::{AutodiffModule, Initializer};
use burn::tensor::{Tensor, TensorData};
use clap::Parser;
use delgrad::model::tensor_values;
use delgrad::types::{Delays, LayerDims};
use delgrad::{kernel, DelayKind, LayerDelays, LifParams, SpikingLinear, SpikingLinearConfig};
use serde::Serialize;

type B = Autodiff<NdArray<f64>>;

#[derive(Parser, Debug)]
#[command(about = "Training-step throughput of two-layer spiking networks on the CPU")]
struct Args {
    /// Networks as `N_IN-N_HIDDEN-N_OUT`.
    #[arg(long, value_delimiter = ',', default_values_t = [
        "4-30-3".to_string(), "256-100-10".to_string(), "784-350-10".to_string()
    ])]
    networks: Vec<String>,
    /// Delay kinds: none, axonal, synaptic, dendritic.
    #[arg(long, value_delimiter = ',', default_values_t = ["synaptic".to_string(), "none".to_string()])]
    delays: Vec<String>,
    /// Samples per step.
    #[arg(long, value_delimiter = ',', default_values_t = [150usize])]
    batch: Vec<usize>,
    /// Kernel threads (one rayon pool per value).
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 2])]
    threads: Vec<usize>,
    /// Timed repetitions per case; the median is reported.
    #[arg(long, default_value_t = 7)]
    reps: usize,
    /// Each repetition runs steps for at least this long.
    #[arg(long, default_value_t = 0.5)]
    min_seconds: f64,
    /// Run exactly this many steps per case, untimed (for instruction counters such as
    /// `valgrind --tool=callgrind`, which count the same on a busy machine as on an idle one).
    #[arg(long)]
    count_steps: Option<usize>,
    /// Run the cost-model sweep instead and write its results and figures into this folder.
    #[arg(long)]
    cost_model: Option<PathBuf>,
    /// Total drive of the hidden layer's weights (mean and std of a weight: drive / fan-in).
    #[arg(long, default_value_t = 4.0)]
    drive_hidden: f64,
    /// Total drive of the output layer's weights.
    #[arg(long, default_value_t = 30.0)]
    drive_output: f64,
    /// Print the folder this binary's sources were compiled from, and exit. The benchmark
    /// scripts compare it with their own checkout: cargo judges freshness by source paths
    /// relative to the package, so a build of another checkout into a shared target folder can
    /// leave that checkout's binary here, judged fresh.
    #[arg(long)]
    built_from: bool,
}

#[derive(Serialize, Clone)]
struct Row {
    #[serde(rename = "impl")]
    implementation: &'static str,
    network: String,
    delays: String,
    batch: usize,
    threads: usize,
    samples_per_s: f64,
    seconds_per_step: f64,
    /// Forward pass alone (no autodiff), seconds per step.
    forward_seconds_per_step: f64,
    hidden_spiking: f64,
    output_spiking: f64,
}

fn parse_network(s: &str) -> Result<[usize; 3], String> {
    let sizes: Vec<usize> = s
        .split('-')
        .map(|p| p.parse::<usize>().map_err(|e| format!("{s}: {e}")))
        .collect::<Result<_, _>>()?;
    <[usize; 3]>::try_from(sizes).map_err(|_| format!("{s}: expected N_IN-N_HIDDEN-N_OUT"))
}

fn parse_delays(s: &str) -> Result<DelayKind, String> {
    Ok(match s {
        "none" => DelayKind::None,
        "axonal" => DelayKind::Axonal,
        "synaptic" => DelayKind::Synaptic,
        "dendritic" => DelayKind::Dendritic,
        other => return Err(format!("unknown delay kind {other}")),
    })
}

fn layer(n_in: usize, n_out: usize, drive: f64, kind: DelayKind, seed: u64) -> SpikingLinear<B> {
    let scale = drive / n_in as f64;
    SpikingLinearConfig::new(n_in, n_out)
        .with_neuron(LifParams::ideal())
        .with_delays(kind)
        .with_initializer(Initializer::Normal {
            mean: scale,
            std: scale,
        })
        .init_seeded(seed, &Default::default())
        .expect("valid layer configuration")
}

/// Deterministic input spike times in [0.15, 2.0] (the Yin-Yang encoding's range).
fn inputs(batch: usize, n_in: usize) -> Tensor<B, 2> {
    let values: Vec<f64> = (0..batch * n_in)
        .map(|k| {
            let h = (k as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11;
            0.15 + 1.85 * (h as f64 / (1u64 << 53) as f64)
        })
        .collect();
    Tensor::from_data(TensorData::new(values, [batch, n_in]), &Default::default())
}

fn spiking_fraction(t: Tensor<B, 2>) -> f64 {
    let v = t
        .into_data()
        .convert::<f64>()
        .to_vec::<f64>()
        .unwrap_or_default();
    v.iter().filter(|x| x.is_finite()).count() as f64 / v.len().max(1) as f64
}

fn step(l1: &SpikingLinear<B>, l2: &SpikingLinear<B>, x: Tensor<B, 2>) {
    let out = l2.forward(l1.forward(x));
    let silent = out.clone().is_inf();
    let _grads = out.mask_fill(silent, 0.0).sum().backward();
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One case: a two-layer network, its delay kind and batch size.
#[derive(Clone)]
struct Case {
    network: String,
    sizes: [usize; 3],
    kind: DelayKind,
    delays: String,
    batch: usize,
}

/// Times one case on the current rayon pool (or only runs `count_steps` steps, untimed).
fn measure(args: &Args, case: &Case, threads: usize) -> Option<Row> {
    let [n_in, n_hidden, n_out] = case.sizes;
    let l1 = layer(n_in, n_hidden, args.drive_hidden, case.kind, 0);
    let l2 = layer(n_hidden, n_out, args.drive_output, case.kind, 1);
    let x = inputs(case.batch, n_in);
    let hidden = l1.forward(x.clone());
    let hidden_spiking = spiking_fraction(hidden.clone());
    let output_spiking = spiking_fraction(l2.forward(hidden));
    if let Some(n) = args.count_steps {
        for _ in 0..n {
            step(&l1, &l2, x.clone());
        }
        return None;
    }
    // Warm-up, and the number of steps that lasts min_seconds.
    let start = Instant::now();
    let mut steps = 0usize;
    while steps < 3 || start.elapsed().as_secs_f64() < 0.2 {
        step(&l1, &l2, x.clone());
        steps += 1;
    }
    let per_step = start.elapsed().as_secs_f64() / steps as f64;
    let n = ((args.min_seconds / per_step).ceil() as usize).max(1);
    let times: Vec<f64> = (0..args.reps.max(1))
        .map(|_| {
            let start = Instant::now();
            for _ in 0..n {
                step(&l1, &l2, x.clone());
            }
            start.elapsed().as_secs_f64() / n as f64
        })
        .collect();
    let seconds_per_step = median(times);
    let (v1, v2) = (l1.valid(), l2.valid());
    let xv = x.inner();
    let forward_times: Vec<f64> = (0..args.reps.max(1))
        .map(|_| {
            let start = Instant::now();
            for _ in 0..n {
                let _ = v2.forward(v1.forward(xv.clone()));
            }
            start.elapsed().as_secs_f64() / n as f64
        })
        .collect();
    let forward_seconds_per_step = median(forward_times);
    Some(Row {
        implementation: "delgrad",
        network: case.network.clone(),
        delays: case.delays.clone(),
        batch: case.batch,
        threads,
        samples_per_s: case.batch as f64 / seconds_per_step,
        seconds_per_step,
        forward_seconds_per_step,
        hidden_spiking,
        output_spiking,
    })
}

/// Kernel work of one layer per sample, in the kernels' own terms.
#[derive(Serialize, Clone, Copy, Default)]
struct Work {
    /// Candidates the forward scans visit (one running-sum update and window test each).
    candidates: f64,
    /// Arrivals ordered in the forward pass: one row per neuron with synaptic delays, one per
    /// sample otherwise.
    ordering: f64,
    /// Inputs the backward pass reads: every input of every spiking neuron.
    backward_inputs: f64,
}

impl Work {
    fn add(self, o: Work) -> Work {
        Work {
            candidates: self.candidates + o.candidates,
            ordering: self.ordering + o.ordering,
            backward_inputs: self.backward_inputs + o.backward_inputs,
        }
    }
}

fn delay_values(l: &SpikingLinear<B>) -> Delays<Vec<f64>> {
    let v = |t: Tensor<B, 1>| tensor_values(t).unwrap_or_default();
    match l.delays() {
        LayerDelays::None => Delays::None,
        LayerDelays::Axonal(d) => Delays::Axonal(v(d)),
        LayerDelays::Synaptic(d) => Delays::Synaptic(tensor_values(d).unwrap_or_default()),
        LayerDelays::Dendritic(d) => Delays::Dendritic(v(d)),
    }
}

/// Counts one layer's work per sample on `input` and returns its output times.
fn count_layer(l: &SpikingLinear<B>, batch: usize, input: &[f64]) -> (Work, Vec<f64>) {
    let lif = LifParams::ideal()
        .build()
        .expect("the ideal neuron is valid");
    let weights = tensor_values(l.weight.val()).unwrap_or_default();
    let delays = delay_values(l);
    let (n_in, n_out) = (l.d_input(), l.d_output());
    let dims = LayerDims { batch, n_in, n_out };
    let d = delays.as_ref().map_each(|v| v.as_slice(), |v| v.as_slice());
    let output = kernel::forward(&lif, dims, input, &weights, &d);
    let rows = if matches!(delays, Delays::Synaptic(_)) {
        n_out
    } else {
        1
    };
    let mut work = Work {
        ordering: (rows * n_in) as f64,
        ..Work::default()
    };
    for b in 0..batch {
        for j in 0..n_out {
            let mut arrivals: Vec<(f64, f64)> = (0..n_in)
                .map(|i| {
                    let delay = match &delays {
                        Delays::None => 0.0,
                        Delays::Axonal(d) => d[i],
                        Delays::Synaptic(d) => d[i * n_out + j],
                        Delays::Dendritic(d) => d[j],
                    };
                    (input[b * n_in + i] + delay, weights[i * n_out + j])
                })
                .collect();
            arrivals.sort_by(|x, y| x.0.total_cmp(&y.0));
            let visited = std::cell::Cell::new(0u64);
            let t = lif.first_spike(
                n_in,
                |k| arrivals[k].0,
                |k| {
                    visited.set(visited.get() + 1);
                    arrivals[k].1
                },
            );
            work.candidates += visited.get() as f64 / batch as f64;
            if t.is_finite() {
                work.backward_inputs += n_in as f64 / batch as f64;
            }
        }
    }
    (work, output)
}

/// Work per sample of the whole network on the benchmark's input.
fn count_work(args: &Args, case: &Case) -> Work {
    let [n_in, n_hidden, n_out] = case.sizes;
    let l1 = layer(n_in, n_hidden, args.drive_hidden, case.kind, 0);
    let l2 = layer(n_hidden, n_out, args.drive_output, case.kind, 1);
    let x = tensor_values(inputs(case.batch, n_in)).unwrap_or_default();
    let (w1, hidden) = count_layer(&l1, case.batch, &x);
    let (w2, _) = count_layer(&l2, case.batch, &hidden);
    w1.add(w2)
}

/// Least squares `y ~ X c` by the normal equations (a handful of columns).
fn least_squares(x: &[Vec<f64>], y: &[f64]) -> Option<Vec<f64>> {
    let k = x.first()?.len();
    let mut a = vec![vec![0.0; k + 1]; k];
    for (row, &yi) in x.iter().zip(y) {
        for p in 0..k {
            for q in 0..k {
                a[p][q] += row[p] * row[q];
            }
            a[p][k] += row[p] * yi;
        }
    }
    for c in 0..k {
        let pivot = (c..k).max_by(|&p, &q| a[p][c].abs().total_cmp(&a[q][c].abs()))?;
        a.swap(c, pivot);
        if a[c][c].abs() < 1e-300 {
            return None;
        }
        let pivot_row = a[c].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r != c {
                let f = row[c] / pivot_row[c];
                for (x, p) in row.iter_mut().zip(&pivot_row).skip(c) {
                    *x -= f * p;
                }
            }
        }
    }
    Some((0..k).map(|c| a[c][k] / a[c][c]).collect())
}

/// [`least_squares`] with every coefficient kept at or above zero: a column whose coefficient
/// comes out negative is dropped and the rest refitted (costs cannot be negative).
fn non_negative_fit(x: &[Vec<f64>], y: &[f64]) -> Option<Vec<f64>> {
    let k = x.first()?.len();
    let mut active: Vec<usize> = (0..k).collect();
    loop {
        let sub: Vec<Vec<f64>> = x
            .iter()
            .map(|r| active.iter().map(|&c| r[c]).collect())
            .collect();
        let c = least_squares(&sub, y)?;
        match c.iter().position(|&v| v < 0.0) {
            Some(p) if active.len() > 1 => {
                active.remove(p);
            }
            _ => {
                let mut full = vec![0.0; k];
                for (&col, v) in active.iter().zip(c) {
                    full[col] = v.max(0.0);
                }
                return Some(full);
            }
        }
    }
}

#[derive(Serialize)]
struct CostModel {
    command: String,
    threads: usize,
    /// Fitted cost of each unit of work, nanoseconds.
    ns_per_candidate: f64,
    ns_per_ordered_arrival: f64,
    ns_per_backward_input: f64,
    ns_per_sample: f64,
    /// Largest relative error of the fit over the fan-in sweep.
    max_relative_error: f64,
}

#[derive(Serialize)]
struct CostRow {
    #[serde(flatten)]
    row: Row,
    work: Work,
    model_seconds_per_sample: f64,
}

fn cost_model(args: &Args, dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| e.to_string())?;
    let kinds = ["none", "axonal", "synaptic", "dendritic"];
    let mut fan_in = Vec::new();
    for kind in kinds {
        for n_in in [4usize, 16, 64, 256, 1024] {
            fan_in.push(Case {
                network: format!("{n_in}-100-10"),
                sizes: [n_in, 100, 10],
                kind: parse_delays(kind)?,
                delays: kind.to_string(),
                batch: 150,
            });
        }
    }
    let batches: Vec<Case> = [1usize, 4, 16, 64, 150, 512, 2048]
        .into_iter()
        .map(|batch| Case {
            network: "4-30-3".into(),
            sizes: [4, 30, 3],
            kind: DelayKind::Synaptic,
            delays: "synaptic".into(),
            batch,
        })
        .collect();
    let mut measured = Vec::new();
    for case in fan_in.iter().chain(&batches) {
        let row = pool
            .install(|| measure(args, case, 1))
            .ok_or("--cost-model cannot be combined with --count-steps")?;
        let work = pool.install(|| count_work(args, case));
        eprintln!(
            "{} {} batch {}: {:.1} us per sample",
            case.network,
            case.delays,
            case.batch,
            1e6 / row.samples_per_s
        );
        measured.push((case.clone(), row, work));
    }
    // Fit on the fan-in sweep, forward and backward apart: the forward time per sample as
    // candidates and ordered arrivals times their costs, the backward time (forward + backward
    // minus forward) as inputs read per spike times its cost, each plus a constant per sample.
    let n_fit = fan_in.len();
    let fit = &measured[..n_fit];
    let per_sample = |seconds: f64, m: &(Case, Row, Work)| seconds / m.0.batch as f64;
    let forward_y: Vec<f64> = fit
        .iter()
        .map(|m| per_sample(m.1.forward_seconds_per_step, m))
        .collect();
    let backward_y: Vec<f64> = fit
        .iter()
        .map(|m| per_sample(m.1.seconds_per_step - m.1.forward_seconds_per_step, m))
        .collect();
    let forward_x: Vec<Vec<f64>> = fit
        .iter()
        .map(|m| vec![m.2.candidates, m.2.ordering, 1.0])
        .collect();
    let backward_x: Vec<Vec<f64>> = fit.iter().map(|m| vec![m.2.backward_inputs, 1.0]).collect();
    let fc = non_negative_fit(&forward_x, &forward_y).ok_or("the forward fit is singular")?;
    let bc = non_negative_fit(&backward_x, &backward_y).ok_or("the backward fit is singular")?;
    let costs = [fc[0], fc[1], bc[0], fc[2] + bc[1]];
    let features = |w: &Work| [w.candidates, w.ordering, w.backward_inputs, 1.0];
    let predict = |w: &Work| {
        features(w)
            .iter()
            .zip(&costs)
            .map(|(f, c)| f * c)
            .sum::<f64>()
    };
    let max_relative_error = fit
        .iter()
        .map(|m| (predict(&m.2) * m.1.samples_per_s - 1.0).abs())
        .fold(0.0, f64::max);
    let mut lines = String::new();
    for (_, row, work) in &measured {
        let line = CostRow {
            row: row.clone(),
            work: *work,
            model_seconds_per_sample: predict(work),
        };
        lines += &serde_json::to_string(&line).map_err(|e| e.to_string())?;
        lines.push('\n');
    }
    let write = |name: &str, text: &str| {
        delgrad::io::write_atomically(&dir.join(name), text.as_bytes())
            .map_err(|e| format!("{name}: {e}"))
    };
    write("cost-model.jsonl", &lines)?;
    let model = CostModel {
        command: format!(
            "cargo run --release --example scaling -- {}",
            std::env::args().skip(1).collect::<Vec<_>>().join(" ")
        ),
        threads: 1,
        ns_per_candidate: 1e9 * costs[0],
        ns_per_ordered_arrival: 1e9 * costs[1],
        ns_per_backward_input: 1e9 * costs[2],
        ns_per_sample: 1e9 * costs[3],
        max_relative_error,
    };
    write(
        "cost-model.json",
        &(serde_json::to_string_pretty(&model).map_err(|e| e.to_string())? + "\n"),
    )?;
    eprintln!(
        "fit: {:.2} ns per candidate, {:.2} ns per ordered arrival, {:.2} ns per \
         backward input, {:.0} ns per sample; largest error {:.0} %",
        model.ns_per_candidate,
        model.ns_per_ordered_arrival,
        model.ns_per_backward_input,
        model.ns_per_sample,
        100.0 * max_relative_error
    );
    // Figures: microseconds per sample against fan-in (measured and modelled), and against batch.
    let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for kind in kinds {
        let of_kind = || measured[..n_fit].iter().filter(move |m| m.0.delays == kind);
        series.push((
            format!("{kind}, measured"),
            of_kind()
                .map(|m| (m.0.sizes[0] as f64, 1e6 / m.1.samples_per_s))
                .collect(),
        ));
        series.push((
            format!("{kind}, model"),
            of_kind()
                .map(|m| (m.0.sizes[0] as f64, 1e6 * predict(&m.2)))
                .collect(),
        ));
    }
    let named: Vec<(&str, Vec<(f64, f64)>)> = series
        .iter()
        .map(|(n, p)| (n.as_str(), p.clone()))
        .collect();
    delgrad::plots::line_chart_log_y(
        &dir.join("cost-model-fan-in.png"),
        "Forward + backward per sample, N_IN-100-10, batch 150, 1 thread",
        "inputs per sample (N_IN)",
        "microseconds per sample",
        &named,
        true,
    )
    .map_err(|e| e.to_string())?;
    let per_batch: Vec<(f64, f64)> = measured[n_fit..]
        .iter()
        .map(|m| (m.0.batch as f64, 1e6 / m.1.samples_per_s))
        .collect();
    delgrad::plots::line_chart_log_y(
        &dir.join("cost-model-batch.png"),
        "Forward + backward per sample against batch size, 4-30-3 synaptic, 1 thread",
        "batch size",
        "microseconds per sample",
        &[("4-30-3, synaptic delays", per_batch)],
        true,
    )
    .map_err(|e| e.to_string())?;
    Ok(())
}

fn main() -> Result<(), String> {
    let args = Args::parse();
    if args.built_from {
        println!("{}", env!("CARGO_MANIFEST_DIR"));
        return Ok(());
    }
    if let Some(dir) = &args.cost_model {
        return cost_model(&args, dir);
    }
    for &threads in &args.threads {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| e.to_string())?;
        for network in &args.networks {
            let sizes = parse_network(network)?;
            for delays in &args.delays {
                let kind = parse_delays(delays)?;
                for &batch in &args.batch {
                    let case = Case {
                        network: network.clone(),
                        sizes,
                        kind,
                        delays: delays.clone(),
                        batch,
                    };
                    if let Some(row) = pool.install(|| measure(&args, &case, threads)) {
                        println!(
                            "{}",
                            serde_json::to_string(&row).map_err(|e| e.to_string())?
                        );
                    }
                }
            }
        }
    }
    Ok(())
}
