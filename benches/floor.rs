//! The floor of a Yin-Yang training epoch (issue 6): how much work the exact kernels must do,
//! what that work costs at this machine's speed for exponentials, logarithms and square roots,
//! and how long the bare kernels (no Burn) take for the same epoch.
//!
//! `cargo bench --bench floor [-- MODEL.json]` (default: the trained h30-ws network of
//! `artifacts/yinyang/h30-ws-seed0/model.json`) prints a table and writes
//! `artifacts/bench/floor.json`, with each layer's forward and backward pass timed on its own.
//!
//! For instruction counts (`valgrind --tool=callgrind`), `DELGRAD_FLOOR_ONE_EPOCH=1` runs one
//! epoch of the bare kernels on one thread and nothing else; `DELGRAD_FLOOR_ONE_EPOCH=forward:K`
//! (or `backward:K`) runs only layer K's forward (backward) pass of that epoch, so the kernel's
//! inclusive count is that layer's.

use std::cell::Cell;
use std::hint::black_box;
use std::time::Instant;

use delgrad::data::YinYangDataset;
use delgrad::kernel;
use delgrad::types::{Delays, GradientOptions, LayerDims};
use delgrad::{Lif, NetworkFile};

const BATCH: usize = 150;
const REPEATS: usize = 5;

/// Work of one layer over a set of samples, counted in the scans' own terms.
#[derive(Default, Debug, Clone, Copy, serde::Serialize)]
struct Work {
    /// Postsynaptic (sample, neuron) scans.
    scans: u64,
    /// Candidates visited (one running-sum update, one window test each).
    candidates: u64,
    /// Scans that end in a spike (one logarithm or Lambert W each).
    spikes: u64,
    /// Causal inputs of the spikes (the backward pass's per-input terms).
    causal_inputs: u64,
    /// Input spike times (one factor e^{t/tau} each).
    input_factors: u64,
}

impl Work {
    fn add(&mut self, o: Work) {
        self.scans += o.scans;
        self.candidates += o.candidates;
        self.spikes += o.spikes;
        self.causal_inputs += o.causal_inputs;
        self.input_factors += o.input_factors;
    }
    /// Exponentials of the kernels as written: one eps term per scan (forward); one eps term
    /// and one scale factor per spike (backward). The per-input factors e^{t/tau} are counted
    /// separately (`input_factors`), once per sample and input in each direction.
    fn exps(&self, backward: bool) -> u64 {
        if backward {
            2 * self.spikes
        } else {
            self.scans
        }
    }
}

/// One batch's input, output, output gradient and (training batches) kept input factors of
/// every layer.
struct LayerBatches {
    len: usize,
    /// Training batch (forward and backward) or validation batch (forward only).
    backward: bool,
    io: Vec<LayerIo>,
}

type LayerIo = (Vec<f64>, Vec<f64>, Vec<f64>, Option<kernel::InputFactors>);

/// Counts one layer's work on `input` ([batch, n_in]) and returns its output times.
fn count(
    lif: &Lif,
    dims: LayerDims,
    input: &[f64],
    weights: &[f64],
    delays: &Delays<&[f64]>,
) -> (Work, Vec<f64>) {
    let LayerDims { batch, n_in, n_out } = dims;
    let mut work = Work {
        input_factors: (batch * n_in) as u64,
        ..Work::default()
    };
    let output = kernel::forward(lif, dims, input, weights, delays);
    for b in 0..batch {
        for j in 0..n_out {
            let mut arr: Vec<(f64, f64)> = (0..n_in)
                .map(|i| {
                    let d = match delays {
                        Delays::None => 0.0,
                        Delays::Axonal(d) => d[i],
                        Delays::Synaptic(d) => d[i * n_out + j],
                        Delays::Dendritic(d) => d[j],
                    };
                    (input[b * n_in + i] + d, weights[i * n_out + j])
                })
                .collect();
            arr.sort_by(|x, y| x.0.total_cmp(&y.0));
            let visited = Cell::new(0u64);
            let t = lif.first_spike(
                n_in,
                |k| arr[k].0,
                |k| {
                    visited.set(visited.get() + 1);
                    arr[k].1
                },
            );
            work.scans += 1;
            work.candidates += visited.get();
            if t.is_finite() {
                work.spikes += 1;
                work.causal_inputs += arr.iter().filter(|a| a.0 <= t).count() as u64;
            }
        }
    }
    (work, output)
}

/// Nanoseconds per call of `f` over many arguments in [0.5, 1.5), single thread.
fn unit_cost(f: impl Fn(f64) -> f64) -> f64 {
    let n = 20_000_000;
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let start = Instant::now();
        let mut acc = 0.0;
        for k in 0..n {
            acc += f(black_box(0.5 + (k & 1023) as f64 / 1024.0));
        }
        black_box(acc);
        best = best.min(start.elapsed().as_secs_f64() * 1e9 / n as f64);
    }
    best
}

/// Median wall time of `REPEATS` runs of `f` on a fresh pool of `threads` threads.
fn median_seconds(threads: usize, f: &(dyn Fn() + Sync)) -> f64 {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    median(
        (0..REPEATS)
            .map(|_| {
                let start = Instant::now();
                pool.install(f);
                start.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let path = std::env::args()
        .skip(1)
        .find(|a| a.ends_with(".json"))
        .unwrap_or("artifacts/yinyang/h30-ws-seed0/model.json".into());
    let file = NetworkFile::load(&path).expect("a delgrad-network file");
    let lif = file.lif_params().build().expect("valid neuron");
    let encoding = file.encoding.yin_yang().expect("a Yin-Yang network");
    let train = YinYangDataset::train().into_samples();
    let val = YinYangDataset::validation().into_samples();
    let layers: Vec<(Vec<f64>, Delays<Vec<f64>>)> = file
        .layers
        .iter()
        .map(|l| (l.weights_flat(), l.delays_flat()))
        .collect();
    let dims_of = |k: usize, batch: usize| file.layers[k].dims(batch);

    // The bare kernels over the same epoch, on one thread and on the machine's pool.
    let epoch = || {
        for (set, backward) in [(&train, true), (&val, false)] {
            for chunk in set.chunks(BATCH) {
                let mut x = encoding.encode_batch(chunk);
                let mut saved = Vec::new();
                for (k, (w, d)) in layers.iter().enumerate() {
                    let d = d.as_ref().map(|v| v.as_slice());
                    let dims = dims_of(k, chunk.len());
                    // A training pass keeps its input factors for the backward pass, as in
                    // training.
                    let (out, kept) = if backward {
                        kernel::forward_keeping_factors(&lif, dims, &x, w, &d)
                    } else {
                        (kernel::forward(&lif, dims, &x, w, &d), None)
                    };
                    saved.push((x, out.clone(), kept));
                    x = out;
                }
                if backward {
                    let mut grad = vec![1e-3; x.len()];
                    for (k, (w, d)) in layers.iter().enumerate().rev() {
                        let d = d.as_ref().map(|v| v.as_slice());
                        let (input, output, kept) = &saved[k];
                        let g = kernel::backward_with_factors(
                            &lif,
                            &GradientOptions::reference(),
                            dims_of(k, chunk.len()),
                            input,
                            w,
                            &d,
                            output,
                            &grad,
                            kept.as_ref(),
                        );
                        grad = g.input;
                    }
                    black_box(grad);
                }
            }
        }
    };
    // Every layer's input, output and output gradient for every batch of the epoch, so that
    // one layer's pass can be run (and timed) on its own.
    let batches: Vec<LayerBatches> = [(&train, true), (&val, false)]
        .into_iter()
        .flat_map(|(set, backward)| set.chunks(BATCH).map(move |c| (c, backward)))
        .map(|(chunk, backward)| {
            let mut x = encoding.encode_batch(chunk);
            let mut io = Vec::new();
            for (k, (w, d)) in layers.iter().enumerate() {
                let d = d.as_ref().map(|v| v.as_slice());
                let (out, kept) =
                    kernel::forward_keeping_factors(&lif, dims_of(k, chunk.len()), &x, w, &d);
                io.push((x, out.clone(), Vec::new(), kept));
                x = out;
            }
            let mut grad = vec![1e-3; x.len()];
            for k in (0..layers.len()).rev() {
                io[k].2 = grad;
                let (w, d) = &layers[k];
                let d = d.as_ref().map(|v| v.as_slice());
                let (input, output, g, kept) = &io[k];
                let dims = dims_of(k, chunk.len());
                grad = kernel::backward_with_factors(
                    &lif,
                    &GradientOptions::reference(),
                    dims,
                    input,
                    w,
                    &d,
                    output,
                    g,
                    kept.as_ref(),
                )
                .input;
            }
            LayerBatches {
                len: chunk.len(),
                backward,
                io,
            }
        })
        .collect();
    // One pass of one layer over the epoch: forward over every batch, backward over the
    // training batches, as in training.
    let layer_pass = |backward: bool, k: usize| {
        let (w, d) = &layers[k];
        let d = d.as_ref().map(|v| v.as_slice());
        for batch in &batches {
            let (input, output, grad, kept) = &batch.io[k];
            let dims = dims_of(k, batch.len);
            if backward {
                if batch.backward {
                    let opts = GradientOptions::reference();
                    black_box(kernel::backward_with_factors(
                        &lif,
                        &opts,
                        dims,
                        input,
                        w,
                        &d,
                        output,
                        grad,
                        kept.as_ref(),
                    ));
                }
            } else if batch.backward {
                black_box(kernel::forward_keeping_factors(&lif, dims, input, w, &d));
            } else {
                black_box(kernel::forward(&lif, dims, input, w, &d));
            }
        }
    };
    // For instruction counts (valgrind --tool=callgrind): one epoch on one thread, nothing else.
    if let Some(what) = std::env::var_os("DELGRAD_FLOOR_ONE_EPOCH") {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let what = what.to_string_lossy().into_owned();
        match what.split_once(':') {
            Some((pass, k)) => {
                let k: usize = k
                    .parse()
                    .expect("DELGRAD_FLOOR_ONE_EPOCH=forward:K or backward:K");
                assert!(k < layers.len(), "the network has {} layers", layers.len());
                let backward = match pass {
                    "forward" => false,
                    "backward" => true,
                    _ => panic!("DELGRAD_FLOOR_ONE_EPOCH=forward:K or backward:K"),
                };
                pool.install(|| layer_pass(backward, k));
            }
            None => pool.install(epoch),
        }
        return;
    }
    // Work of one epoch: forward and backward of every training batch, forward of validation.
    let mut fwd = Work::default();
    let mut bwd = Work::default();
    for (set, backward) in [(&train, true), (&val, false)] {
        for chunk in set.chunks(BATCH) {
            let mut x = encoding.encode_batch(chunk);
            for (k, (w, d)) in layers.iter().enumerate() {
                let d = d.as_ref().map(|v| v.as_slice());
                let (work, out) = count(&lif, dims_of(k, chunk.len()), &x, w, &d);
                fwd.add(work);
                if backward {
                    bwd.add(work);
                }
                x = out;
            }
        }
    }

    let exp_ns = unit_cost(f64::exp);
    let ln_ns = unit_cost(f64::ln);
    let sqrt_ns = unit_cost(f64::sqrt);
    let transcendental = |w: &Work, backward: bool| {
        let exps = (w.exps(backward) + w.input_factors) as f64;
        // Forward: a square root per candidate, a logarithm per spike; backward: a square root
        // per spike.
        let sqrts = if backward { w.spikes } else { w.candidates } as f64;
        let lns = if backward { 0.0 } else { w.spikes as f64 };
        exps * exp_ns + sqrts * sqrt_ns + lns * ln_ns
    };
    let floor_ns = transcendental(&fwd, false) + transcendental(&bwd, true);

    let one_thread = median_seconds(1, &epoch);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let all_threads = median_seconds(cores, &epoch);
    // Each layer's passes on their own, on one thread and on all: which layer and direction the
    // time goes to, and how well each splits.
    let time_pass = |backward: bool, k: usize, threads: usize| {
        median_seconds(threads, &|| layer_pass(backward, k))
    };
    let passes: Vec<(bool, usize)> = (0..layers.len())
        .map(|k| (false, k))
        .chain((0..layers.len()).rev().map(|k| (true, k)))
        .collect();
    let per_layer: Vec<(bool, usize, f64, f64)> = passes
        .iter()
        .map(|&(backward, k)| {
            let one = time_pass(backward, k, 1);
            (backward, k, one, time_pass(backward, k, cores))
        })
        .collect();

    let per_sample = |w: &Work| w.candidates as f64 / w.scans as f64;
    println!(
        "epoch of {} ({} training + {} validation samples, batch {BATCH})",
        path,
        train.len(),
        val.len()
    );
    println!(
        "forward:  {:>9} scans, {:>10} candidates ({:.1} per scan), {:>9} spikes",
        fwd.scans,
        fwd.candidates,
        per_sample(&fwd),
        fwd.spikes
    );
    println!(
        "backward: {:>9} spikes, {:>10} causal inputs",
        bwd.spikes, bwd.causal_inputs
    );
    println!(
        "unit costs: exp {exp_ns:.2} ns, ln {ln_ns:.2} ns, sqrt {sqrt_ns:.2} ns; exps per epoch {}",
        fwd.exps(false) + bwd.exps(true) + fwd.input_factors + bwd.input_factors
    );
    println!(
        "floor (transcendentals only, one core): {:.1} ms per epoch, {:.2} s per 300 epochs ({:.2} s on {cores} cores)",
        floor_ns * 1e-6,
        floor_ns * 300.0 * 1e-9,
        floor_ns * 300.0 * 1e-9 / cores as f64
    );
    println!(
        "bare kernels: {:.1} ms per epoch on 1 thread ({:.1}x the floor), {:.1} ms on {cores} threads; {:.2} s / {:.2} s per 300 epochs",
        one_thread * 1e3,
        one_thread / (floor_ns * 1e-9),
        all_threads * 1e3,
        one_thread * 300.0,
        all_threads * 300.0
    );
    println!("pass      layer     1 thread   {cores} threads   split");
    for &(backward, k, one, all) in &per_layer {
        let d = dims_of(k, BATCH);
        println!(
            "{:<9} {:>3}-{:<3} {:>8.2} ms {:>8.2} ms {:>7.2}x",
            if backward { "backward" } else { "forward" },
            d.n_in,
            d.n_out,
            one * 1e3,
            all * 1e3,
            one / all
        );
    }
    let layer_json: Vec<serde_json::Value> = per_layer
        .iter()
        .map(|&(backward, k, one, all)| {
            let d = dims_of(k, BATCH);
            serde_json::json!({
                "pass": if backward { "backward" } else { "forward" },
                "layer": k,
                "n_in": d.n_in,
                "n_out": d.n_out,
                "seconds_per_epoch": { "threads_1": one, format!("threads_{cores}"): all },
            })
        })
        .collect();
    let json = serde_json::json!({
        "command": "cargo bench --bench floor",
        "model": path,
        "batch": BATCH,
        "forward": fwd,
        "backward": bwd,
        "unit_ns": { "exp": exp_ns, "ln": ln_ns, "sqrt": sqrt_ns },
        "floor_seconds_per_epoch_one_core": floor_ns * 1e-9,
        "kernel_seconds_per_epoch": { "threads_1": one_thread, format!("threads_{cores}"): all_threads },
        "layers": layer_json,
        "repeats": REPEATS,
        "statistic": "median",
    });
    let _ = std::fs::create_dir_all("artifacts/bench");
    std::fs::write(
        "artifacts/bench/floor.json",
        serde_json::to_string_pretty(&json).unwrap() + "\n",
    )
    .expect("artifacts/bench is writable");
}
