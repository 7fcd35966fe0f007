//! DelGrad against discrete-time surrogate-gradient baselines on Yin-Yang (4-30-3).
//!
//! ```sh
//! cargo run --release --example compare                       # the full grid (see scripts/compare.sh)
//! cargo run --release --example compare -- --search           # hyper-parameter search at dt 0.05
//! cargo run --release --example compare -- --dts 0.1 --seeds 1 --baseline-epochs 2 --delgrad-epochs 5 --out /tmp/cmp   # smoke run
//! ```
//!
//! Every training run is a child process of this program (`--child JOB`), so that its peak
//! resident memory can be measured: the child reads its own high-water mark `VmHWM` from
//! `/proc/self/status` after training and evaluation and reports it with its results. Finished
//! runs are cached in `runs.jsonl` in the output directory; an interrupted grid resumes there.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use clap::Parser;
use delgrad::baseline::{
    train_baseline, BaselineBackend, BaselineTrainConfig, DelayTaps, Readout, Surrogate,
    SurrogateNetworkConfig,
};
use delgrad::experiment::YinYangConfig;
use delgrad::experiment::{mean_std, run};
use delgrad::io::write_atomically;
use delgrad::plots::line_chart;
use delgrad::trainer::Progress;
use serde::{Deserialize, Serialize};

#[derive(Parser, Debug)]
#[command(about = "DelGrad against discrete-time surrogate-gradient (BPTT) baselines on Yin-Yang")]
struct Args {
    /// Output directory.
    #[arg(long, default_value = "artifacts/compare")]
    out: PathBuf,
    /// Step sizes of the baselines, in units of tau_s.
    #[arg(long, value_delimiter = ',', default_value = "0.1,0.05,0.02,0.01")]
    dts: Vec<f64>,
    /// Seeds per configuration (0, 1, ...).
    #[arg(long, default_value_t = 3)]
    seeds: u64,
    /// Training epochs of every baseline run.
    #[arg(long, default_value_t = 30)]
    baseline_epochs: usize,
    /// Training epochs of every DelGrad run (presets: 300).
    #[arg(long, default_value_t = 300)]
    delgrad_epochs: usize,
    /// Surrogate slope of the baselines.
    #[arg(long, default_value_t = 10.0)]
    slope: f64,
    /// Learning rate of the baselines' weights.
    #[arg(long, default_value_t = 0.01)]
    lr: f64,
    /// Learning rate of the baselines' raw delays.
    #[arg(long, default_value_t = 0.01)]
    lr_delays: f64,
    /// Readout of the baselines: first-spike or max-membrane.
    #[arg(long, default_value = "first-spike")]
    readout: String,
    /// Delay taps of the baselines with delays: linear or gaussian (DCLS, width annealed from
    /// --sigma-start to --sigma-end tau_s).
    #[arg(long, default_value = "linear")]
    taps: String,
    /// Initial Gaussian width (tau_s).
    #[arg(long, default_value_t = 0.2)]
    sigma_start: f64,
    /// Final Gaussian width (tau_s).
    #[arg(long, default_value_t = 0.02)]
    sigma_end: f64,
    /// Mean of the baselines' weight initialisation N(mean, 1) in both layers (DelGrad's h30-ws
    /// uses 1.0: with 0.5 most outputs start silent, and a silent output gets no gradient).
    #[arg(long, default_value_t = 1.0)]
    weight_mean: f64,
    /// Train the baselines on the first N training samples only.
    #[arg(long)]
    subset: Option<usize>,
    /// Baseline variants to train: none (no delays) and/or synaptic (learnable delays).
    #[arg(long, value_delimiter = ',', default_value = "none,synaptic")]
    baseline_variants: Vec<String>,
    /// Skip the DelGrad runs.
    #[arg(long)]
    no_delgrad: bool,
    /// Hyper-parameter search instead of the grid: every combination of --search-slopes,
    /// --search-lrs and --search-readouts at the first of --dts, no delays, seed 0; appends to
    /// search.csv in --out.
    #[arg(long)]
    search: bool,
    /// Slopes of the search.
    #[arg(long, value_delimiter = ',', default_value = "2,5,10,25")]
    search_slopes: Vec<f64>,
    /// Learning rates of the search.
    #[arg(long, value_delimiter = ',', default_value = "0.003,0.01,0.03")]
    search_lrs: Vec<f64>,
    /// Readouts of the search.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "first-spike,max-membrane"
    )]
    search_readouts: Vec<String>,
    /// Write the table and figures from the runs already cached in runs.jsonl, running nothing.
    #[arg(long)]
    table_only: bool,
    /// Internal: run one job (JSON) and print its result.
    #[arg(long, hide = true)]
    child: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Job {
    DelGrad {
        preset: String,
        seed: u64,
        epochs: usize,
        dir: PathBuf,
    },
    Baseline {
        config: Box<BaselineTrainConfig>,
    },
}

/// One finished run, as cached in runs.jsonl and listed in results.json.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunResult {
    /// Cache key.
    key: String,
    /// "delgrad" or "surrogate".
    method: String,
    /// Learnable delays (synaptic) or not.
    delays: bool,
    /// Step size (None for DelGrad: event-based, no grid).
    dt: Option<f64>,
    seed: u64,
    epochs: usize,
    test_accuracy: f64,
    val_accuracy: f64,
    n_params: usize,
    train_seconds: f64,
    seconds_per_epoch: f64,
    /// Peak resident memory of the training process (VmHWM), MiB.
    peak_rss_mib: f64,
    /// Surrogate configuration (None for DelGrad).
    detail: Option<String>,
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn run_child(job: &Job, key: &str) -> Result<RunResult, String> {
    match job {
        Job::DelGrad {
            preset,
            seed,
            epochs,
            dir,
        } => {
            let config = YinYangConfig {
                seed: *seed,
                epochs: *epochs,
                ..YinYangConfig::preset(preset).map_err(|e| e.to_string())?
            };
            let s =
                run(&config, dir, false, Progress::Callback(None)).map_err(|e| e.to_string())?;
            Ok(RunResult {
                key: key.into(),
                method: "delgrad".into(),
                delays: preset != "h30-w",
                dt: None,
                seed: *seed,
                epochs: *epochs,
                test_accuracy: s.test_accuracy,
                val_accuracy: s.val_accuracy,
                n_params: s.n_params,
                train_seconds: s.train_seconds,
                seconds_per_epoch: s.train_seconds / *epochs as f64,
                peak_rss_mib: peak_rss_mib(),
                detail: Some(preset.clone()),
            })
        }
        Job::Baseline { config } => {
            let device = Default::default();
            let (_, s) = train_baseline::<BaselineBackend>(config, &device, |e| {
                eprintln!(
                    "  epoch {:>3}: loss {:.4}, train acc {:.3}, {:.2} s",
                    e.epoch, e.train_loss, e.train_accuracy, e.seconds
                );
            })
            .map_err(|e| e.to_string())?;
            Ok(RunResult {
                key: key.into(),
                method: "surrogate".into(),
                delays: config.network.delays,
                dt: Some(config.network.dt),
                seed: config.seed,
                epochs: config.epochs,
                test_accuracy: s.test_accuracy,
                val_accuracy: s.val_accuracy,
                n_params: s.n_params,
                train_seconds: s.train_seconds,
                seconds_per_epoch: s.seconds_per_epoch,
                peak_rss_mib: peak_rss_mib(),
                detail: Some(config.name.clone()),
            })
        }
    }
}

/// Runs a job in a child process and parses the `RESULT` line it prints.
fn spawn(job: &Job, key: &str) -> Result<RunResult, String> {
    // After a rebuild during a long grid, /proc/self/exe names the replaced file
    // "... (deleted)"; the new binary at the original path speaks the same protocol.
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let exe = match exe.to_str().and_then(|s| s.strip_suffix(" (deleted)")) {
        Some(path) => PathBuf::from(path),
        None => exe,
    };
    let payload = serde_json::to_string(&(key, job)).map_err(|e| e.to_string())?;
    let child = Command::new(exe)
        .arg("--child")
        .arg(payload)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .ok_or_else(|| format!("child for {key} failed ({})", out.status))?;
    serde_json::from_str(line).map_err(|e| e.to_string())
}

/// Finished runs cached in `path` (one JSON object per line). A missing file is an empty cache;
/// a line that does not parse (a run killed while appending) is reported and its run redone.
fn load_cache(path: &Path) -> Result<BTreeMap<String, RunResult>, String> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let mut cache = BTreeMap::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<RunResult>(&line) {
            Ok(r) => {
                cache.insert(r.key.clone(), r);
            }
            Err(e) => eprintln!(
                "warning: {} line {}: malformed cache entry ({e}); its run will be redone",
                path.display(),
                n + 1
            ),
        }
    }
    Ok(cache)
}

fn append_cache(path: &Path, r: &RunResult) -> Result<(), String> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    writeln!(
        f,
        "{}",
        serde_json::to_string(r).map_err(|e| e.to_string())?
    )
    .map_err(|e| e.to_string())
}

fn parse_readout(s: &str) -> Result<Readout, String> {
    match s {
        "first-spike" => Ok(Readout::FirstSpike),
        "max-membrane" => Ok(Readout::MaxMembrane),
        other => Err(format!(
            "unknown readout `{other}` (first-spike | max-membrane)"
        )),
    }
}

struct BaselineSpec {
    dt: f64,
    delays: bool,
    slope: f64,
    lr: f64,
    lr_delays: f64,
    readout: Readout,
    seed: u64,
}

fn baseline_job(args: &Args, spec: &BaselineSpec) -> Result<(String, Job), String> {
    let taps = match args.taps.as_str() {
        "linear" => DelayTaps::Linear,
        "gaussian" => DelayTaps::Gaussian {
            sigma: args.sigma_start,
        },
        other => return Err(format!("unknown taps `{other}` (linear | gaussian)")),
    };
    let mut network = SurrogateNetworkConfig::new()
        .with_dt(spec.dt)
        .with_surrogate(Surrogate::FastSigmoid { slope: spec.slope })
        .with_readout(spec.readout)
        .with_delays(spec.delays)
        .with_delay_taps(taps);
    network = network
        .with_weight_mean_hidden(args.weight_mean)
        .with_weight_mean_output(args.weight_mean);
    let name = format!(
        "surrogate-{}-{}-slope{}-lr{}{}-dt{}",
        spec.readout.name(),
        if spec.delays {
            format!("delays-{}", args.taps)
        } else {
            "nodelays".into()
        },
        spec.slope,
        spec.lr,
        if spec.delays {
            format!("-lrd{}", spec.lr_delays)
        } else {
            String::new()
        },
        spec.dt
    );
    let mut config = BaselineTrainConfig::new(name.clone(), network, args.baseline_epochs);
    config.lr = spec.lr;
    config.lr_delays = spec.lr_delays;
    config.seed = spec.seed;
    config.train_subset = args.subset;
    if spec.delays && args.taps == "gaussian" {
        config.sigma_schedule = Some((args.sigma_start, args.sigma_end));
    }
    let key = format!(
        "{name}-e{}-sub{}-seed{}",
        args.baseline_epochs,
        args.subset.unwrap_or(5000),
        spec.seed
    );
    Ok((
        key,
        Job::Baseline {
            config: Box::new(config),
        },
    ))
}

fn run_cached(
    cache: &mut BTreeMap<String, RunResult>,
    cache_path: &Path,
    key: String,
    job: Job,
) -> Result<RunResult, String> {
    if let Some(r) = cache.get(&key) {
        eprintln!("cached {key}: test {:.1} %", 100.0 * r.test_accuracy);
        return Ok(r.clone());
    }
    eprintln!("running {key}");
    let r = spawn(&job, &key)?;
    eprintln!(
        "  -> test {:.1} %, {:.3} s/epoch, peak RSS {:.1} MiB",
        100.0 * r.test_accuracy,
        r.seconds_per_epoch,
        r.peak_rss_mib
    );
    append_cache(cache_path, &r)?;
    cache.insert(key, r.clone());
    Ok(r)
}

fn search(args: &Args) -> Result<(), String> {
    std::fs::create_dir_all(&args.out).map_err(|e| e.to_string())?;
    let cache_path = args.out.join("search-runs.jsonl");
    let mut cache = load_cache(&cache_path)?;
    let dt = *args.dts.first().ok_or("no --dts")?;
    let mut rows = Vec::new();
    for readout in &args.search_readouts {
        let readout = parse_readout(readout)?;
        for &slope in &args.search_slopes {
            for &lr in &args.search_lrs {
                let spec = BaselineSpec {
                    dt,
                    delays: false,
                    slope,
                    lr,
                    lr_delays: 0.0,
                    readout,
                    seed: 0,
                };
                let (key, job) = baseline_job(args, &spec)?;
                let r = run_cached(&mut cache, &cache_path, key, job)?;
                rows.push((readout, slope, lr, r));
            }
        }
    }
    let mut csv = String::from(
        "readout,slope,lr,dt,epochs,train_subset,seed,val_accuracy,test_accuracy,seconds_per_epoch,peak_rss_mib\n",
    );
    for (readout, slope, lr, r) in &rows {
        csv.push_str(&format!(
            "{},{slope},{lr},{dt},{},{},{},{:.4},{:.4},{:.3},{:.1}\n",
            readout.name(),
            r.epochs,
            args.subset.unwrap_or(5000),
            r.seed,
            r.val_accuracy,
            r.test_accuracy,
            r.seconds_per_epoch,
            r.peak_rss_mib
        ));
    }
    write_atomically(&args.out.join("search.csv"), csv.as_bytes()).map_err(|e| e.to_string())?;
    if let Some((readout, slope, lr, r)) = rows
        .iter()
        .max_by(|a, b| a.3.val_accuracy.total_cmp(&b.3.val_accuracy))
    {
        eprintln!(
            "best by validation accuracy: readout {}, slope {slope}, lr {lr}: val {:.1} %, test {:.1} %",
            readout.name(),
            100.0 * r.val_accuracy,
            100.0 * r.test_accuracy
        );
    }
    Ok(())
}

fn grid(args: &Args) -> Result<(), String> {
    std::fs::create_dir_all(&args.out).map_err(|e| e.to_string())?;
    let cache_path = args.out.join("runs.jsonl");
    let mut cache = load_cache(&cache_path)?;
    let readout = parse_readout(&args.readout)?;
    let mut results = Vec::new();
    if !args.no_delgrad {
        for preset in ["h30-w", "h30-ws"] {
            for seed in 0..args.seeds {
                let key = format!("delgrad-{preset}-e{}-seed{seed}", args.delgrad_epochs);
                let job = Job::DelGrad {
                    preset: preset.into(),
                    seed,
                    epochs: args.delgrad_epochs,
                    dir: PathBuf::from("target/compare-runs").join(&key),
                };
                if args.table_only {
                    results.extend(cache.get(&key).cloned());
                } else {
                    results.push(run_cached(&mut cache, &cache_path, key, job)?);
                }
            }
        }
    }
    let variants: Vec<bool> = args
        .baseline_variants
        .iter()
        .map(|v| match v.as_str() {
            "none" => Ok(false),
            "synaptic" => Ok(true),
            other => Err(format!(
                "unknown baseline variant `{other}` (none | synaptic)"
            )),
        })
        .collect::<Result<_, _>>()?;
    // Seeds outermost: an interrupted grid has every dt for the first seeds.
    for seed in 0..args.seeds {
        for &dt in &args.dts {
            for &delays in &variants {
                let spec = BaselineSpec {
                    dt,
                    delays,
                    slope: args.slope,
                    lr: args.lr,
                    lr_delays: args.lr_delays,
                    readout,
                    seed,
                };
                let (key, job) = baseline_job(args, &spec)?;
                if args.table_only {
                    results.extend(cache.get(&key).cloned());
                } else {
                    results.push(run_cached(&mut cache, &cache_path, key, job)?);
                }
            }
        }
    }
    write_outputs(args, &results)
}

/// Rows of the table: one per (method, delays, dt).
#[derive(Debug, Serialize)]
struct Row {
    method: String,
    delays: bool,
    dt: Option<f64>,
    runs: usize,
    epochs: usize,
    test_accuracy_mean: f64,
    test_accuracy_std: f64,
    n_params: usize,
    seconds_per_epoch_mean: f64,
    seconds_per_epoch_std: f64,
    peak_rss_mib_mean: f64,
    peak_rss_mib_max: f64,
}

fn write_outputs(args: &Args, results: &[RunResult]) -> Result<(), String> {
    let mut groups: BTreeMap<(String, bool, String), Vec<&RunResult>> = BTreeMap::new();
    for r in results {
        let dt = r.dt.map_or("-".into(), |d| format!("{d:08.4}"));
        groups
            .entry((r.method.clone(), r.delays, dt))
            .or_default()
            .push(r);
    }
    let mut rows = Vec::new();
    for ((method, delays, _), runs) in &groups {
        let acc: Vec<f64> = runs.iter().map(|r| 100.0 * r.test_accuracy).collect();
        let spe: Vec<f64> = runs.iter().map(|r| r.seconds_per_epoch).collect();
        let mem: Vec<f64> = runs.iter().map(|r| r.peak_rss_mib).collect();
        let (am, asd) = mean_std(&acc);
        let (sm, ssd) = mean_std(&spe);
        let (mm, _) = mean_std(&mem);
        rows.push(Row {
            method: method.clone(),
            delays: *delays,
            dt: runs[0].dt,
            runs: runs.len(),
            epochs: runs[0].epochs,
            test_accuracy_mean: am,
            test_accuracy_std: asd,
            n_params: runs[0].n_params,
            seconds_per_epoch_mean: sm,
            seconds_per_epoch_std: ssd,
            peak_rss_mib_mean: mm,
            peak_rss_mib_max: mem.iter().cloned().fold(f64::NAN, f64::max),
        });
    }
    // DelGrad first, then the baselines by delays and decreasing dt.
    rows.sort_by(|a, b| {
        (a.method != "delgrad", a.delays, -a.dt.unwrap_or(0.0))
            .partial_cmp(&(b.method != "delgrad", b.delays, -b.dt.unwrap_or(0.0)))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut md = String::from(
        "| method | delays | dt (tau_s) | epochs | runs | test accuracy (%) | trainable parameters | seconds per epoch | peak memory of training (MiB) |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in &rows {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.1} ± {:.1} | {} | {:.3} ± {:.3} | {:.1} |\n",
            if r.method == "delgrad" {
                "DelGrad (exact, event-based)"
            } else {
                "surrogate BPTT"
            },
            if r.delays { "synaptic" } else { "none" },
            r.dt.map_or("exact".into(), |d| format!("{d}")),
            r.epochs,
            r.runs,
            r.test_accuracy_mean,
            r.test_accuracy_std,
            r.n_params,
            r.seconds_per_epoch_mean,
            r.seconds_per_epoch_std,
            r.peak_rss_mib_mean,
        ));
    }
    let json = serde_json::json!({
        "baseline": {
            "readout": args.readout,
            "slope": args.slope,
            "lr": args.lr,
            "lr_delays": args.lr_delays,
            "taps": args.taps,
            "epochs": args.baseline_epochs,
            "train_subset": args.subset,
            "backend": "Autodiff<NdArray<f32>>",
        },
        "delgrad": { "presets": ["h30-w", "h30-ws"], "epochs": args.delgrad_epochs, "backend": "Autodiff<NdArray<f64>>" },
        "memory_method": "peak resident set size (VmHWM from /proc/self/status) of the child process that trained and evaluated the run",
        "rows": rows,
        "runs": results,
    });
    write_atomically(&args.out.join("table.md"), md.as_bytes()).map_err(|e| e.to_string())?;
    let json = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())? + "\n";
    write_atomically(&args.out.join("results.json"), json.as_bytes()).map_err(|e| e.to_string())?;

    // Figures: DelGrad as flat lines over the baselines' dt range.
    let dts: Vec<f64> = {
        let mut d: Vec<f64> = rows.iter().filter_map(|r| r.dt).collect();
        d.sort_by(f64::total_cmp);
        d.dedup();
        d
    };
    if dts.is_empty() {
        return Ok(());
    }
    let series = |f: &dyn Fn(&Row) -> f64| -> Vec<(String, Vec<(f64, f64)>)> {
        let mut out = Vec::new();
        for (method, delays, label) in [
            ("delgrad", false, "DelGrad, no delays"),
            ("delgrad", true, "DelGrad, synaptic delays"),
            ("surrogate", false, "surrogate BPTT, no delays"),
            ("surrogate", true, "surrogate BPTT, learnable delays"),
        ] {
            let pts: Vec<(f64, f64)> = if method == "delgrad" {
                match rows
                    .iter()
                    .find(|r| r.method == method && r.delays == delays)
                {
                    Some(r) => dts.iter().map(|&d| (d, f(r))).collect(),
                    None => continue,
                }
            } else {
                rows.iter()
                    .filter(|r| r.method == method && r.delays == delays)
                    .filter_map(|r| r.dt.map(|d| (d, f(r))))
                    .collect()
            };
            if !pts.is_empty() {
                out.push((label.to_string(), pts));
            }
        }
        out
    };
    let plot = |file: &str, title: &str, y: &str, f: &dyn Fn(&Row) -> f64| {
        let s = series(f);
        let refs: Vec<(&str, Vec<(f64, f64)>)> =
            s.iter().map(|(n, p)| (n.as_str(), p.clone())).collect();
        line_chart(
            &args.out.join(file),
            title,
            "dt (tau_s), log scale",
            y,
            &refs,
            true,
        )
        .map_err(|e| e.to_string())
    };
    plot(
        "accuracy_vs_dt.png",
        "Yin-Yang test accuracy (mean of seeds) against the baselines' step size",
        "test accuracy (%)",
        &|r| r.test_accuracy_mean,
    )?;
    plot(
        "seconds_per_epoch_vs_dt.png",
        "Training time per epoch (5000 samples, 2-core machine)",
        "seconds per epoch",
        &|r| r.seconds_per_epoch_mean,
    )?;
    plot(
        "memory_vs_dt.png",
        "Peak resident memory of the training process (VmHWM)",
        "peak RSS (MiB)",
        &|r| r.peak_rss_mib_mean,
    )?;
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let outcome = if let Some(payload) = &args.child {
        serde_json::from_str::<(String, Job)>(payload)
            .map_err(|e| e.to_string())
            .and_then(|(key, job)| run_child(&job, &key))
            .and_then(|r| {
                println!(
                    "RESULT {}",
                    serde_json::to_string(&r).map_err(|e| e.to_string())?
                );
                Ok(())
            })
    } else if args.search {
        search(&args)
    } else {
        grid(&args)
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
