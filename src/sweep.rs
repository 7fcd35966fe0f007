//! Grids of Yin-Yang runs (the paper's parameter-efficiency and hardware studies): every run in
//! its own directory, several runs in parallel, finished runs skipped so that an interrupted
//! sweep resumes, and the results aggregated into a table and figures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::experiment::YinYangConfig;
use crate::experiment::{self, RunSummary};
use crate::io::write_atomically;
use crate::plots;
use crate::trainer::{checkpoint_dir, complete_checkpoints, Progress};
use crate::types::DelayKind;

/// One run of a sweep: a configuration and the directory name it writes to.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRun {
    /// Directory name under the sweep's `runs/` folder, unique within the grid.
    pub name: String,
    /// `ideal` or the chip profile's name.
    pub setting: String,
    /// The full training configuration.
    pub config: YinYangConfig,
}

/// The preset whose learning rates and initialisation a delay kind uses in the ideal grid.
pub fn ideal_preset(delays: DelayKind) -> &'static str {
    match delays {
        DelayKind::None => "h30-w",
        DelayKind::Axonal => "h30-wa",
        DelayKind::Synaptic => "h30-ws",
        DelayKind::Dendritic => "h30-wd",
    }
}

/// The preset a delay kind uses in the hardware-aware grid (`None` if the chip has no such
/// delays: BrainScaleS-2 realises axonal delays only).
pub fn chip_preset(delays: DelayKind) -> Option<&'static str> {
    match delays {
        DelayKind::None => Some("hw-w"),
        DelayKind::Axonal => Some("hw-wa"),
        _ => None,
    }
}

/// A grid: every (setting, delay kind, hidden size, seed) combination, with `epochs` epochs.
/// The ideal runs start from the h30 preset of their delay kind, the chip-aware runs from
/// `hw-w` / `hw-wa`; only the hidden size and seed change.
pub fn grid(
    ideal: &[DelayKind],
    ideal_hidden: &[usize],
    chip: &[DelayKind],
    chip_hidden: &[usize],
    seeds: &[u64],
    epochs: usize,
) -> Result<Vec<SweepRun>> {
    let mut runs = Vec::new();
    let mut add = |setting: &str, preset: &str, delays: DelayKind, hidden: usize, seed: u64| {
        let config = YinYangConfig {
            hidden,
            seed,
            epochs,
            ..YinYangConfig::preset(preset)?
        };
        config.validate()?;
        runs.push(SweepRun {
            name: format!("{setting}-{delays}-h{hidden}-seed{seed}"),
            setting: setting.to_string(),
            config,
        });
        Ok::<(), Error>(())
    };
    for &delays in ideal {
        for &hidden in ideal_hidden {
            for &seed in seeds {
                add("ideal", ideal_preset(delays), delays, hidden, seed)?;
            }
        }
    }
    for &delays in chip {
        let Some(preset) = chip_preset(delays) else {
            return Err(Error::InvalidConfig(format!(
                "the chip-aware grid has presets for none and axonal delays, not {delays}"
            )));
        };
        for &hidden in chip_hidden {
            for &seed in seeds {
                add("bss2", preset, delays, hidden, seed)?;
            }
        }
    }
    Ok(runs)
}

/// The summary of a finished run in `dir`, if it finished with the expected epoch count.
pub fn finished(dir: &Path, run: &SweepRun) -> Option<RunSummary> {
    let text = std::fs::read_to_string(dir.join("summary.json")).ok()?;
    let summary: RunSummary = serde_json::from_str(&text).ok()?;
    (summary.epochs == run.config.epochs && summary.config == run.config).then_some(summary)
}

/// What the sweep reports as it goes.
pub trait SweepObserver: Sync {
    /// A run is skipped because it finished earlier.
    fn skipped(&self, _run: &SweepRun) {}
    /// A run finished (or failed).
    fn finished(&self, _run: &SweepRun, _outcome: &Result<RunSummary>) {}
}

/// Runs every run of `runs` under `root/runs/<name>/` with `jobs` runs at a time, each on its
/// own pool of `threads_per_job` kernel threads. Finished runs are skipped; an interrupted run
/// resumes from its last complete checkpoint. After a run finishes, its checkpoints and per-run
/// figures are deleted (the sweep keeps `config.json`, `summary.json`, `metrics.csv` and
/// `model.json`). Every finished epoch of any run increments `epochs_done` (for a progress
/// bar). A failing run does not stop the others; all outcomes are returned in order.
pub fn run_all(
    runs: &[SweepRun],
    root: &Path,
    jobs: usize,
    threads_per_job: usize,
    epochs_done: &Arc<AtomicUsize>,
    observer: &dyn SweepObserver,
) -> Vec<Result<RunSummary>> {
    let next = AtomicUsize::new(0);
    let outcomes: Mutex<Vec<Option<Result<RunSummary>>>> =
        Mutex::new((0..runs.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads_per_job.max(1))
                    .build();
                loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(run) = runs.get(k) else { break };
                    let outcome = match &pool {
                        Ok(pool) => pool.install(|| run_one(run, root, epochs_done, observer)),
                        Err(e) => Err(Error::InvalidConfig(format!("thread pool: {e}"))),
                    };
                    observer.finished(run, &outcome);
                    outcomes.lock().expect("no worker panics")[k] = Some(outcome);
                }
            });
        }
    });
    outcomes
        .into_inner()
        .expect("no worker panics")
        .into_iter()
        .map(|o| o.expect("every run was taken by a worker"))
        .collect()
}

fn run_one(
    run: &SweepRun,
    root: &Path,
    epochs_done: &Arc<AtomicUsize>,
    observer: &dyn SweepObserver,
) -> Result<RunSummary> {
    let dir = run_dir(root, run);
    if let Some(summary) = finished(&dir, run) {
        observer.skipped(run);
        return Ok(summary);
    }
    // Resume what an earlier sweep left unfinished: same configuration (up to the epoch count,
    // as `--resume` allows), with complete checkpoints short of the goal.
    let epochs = run.config.epochs;
    let resume = complete_checkpoints(&dir)
        .iter()
        .max()
        .is_some_and(|&last| last < epochs)
        && experiment::load_run_config(&dir)
            .is_ok_and(|c| YinYangConfig { epochs, ..c } == run.config);
    if !resume && dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|source| Error::Io {
            path: dir.clone(),
            source,
        })?;
    }
    let counter = Arc::clone(epochs_done);
    let progress = Progress::Callback(Some(Box::new(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    })));
    let summary = experiment::run(&run.config, &dir, resume, progress)?;
    compact(&dir)?;
    Ok(summary)
}

/// Where a run writes.
pub fn run_dir(root: &Path, run: &SweepRun) -> PathBuf {
    root.join("runs").join(&run.name)
}

/// Deletes what a finished sweep run does not need to keep.
fn compact(dir: &Path) -> Result<()> {
    let io = |path: PathBuf| move |source| Error::Io { path, source };
    let checkpoints = checkpoint_dir(dir);
    if checkpoints.exists() {
        std::fs::remove_dir_all(&checkpoints).map_err(io(checkpoints.clone()))?;
    }
    for name in [
        "learning_curves.png",
        "test_predictions.png",
        "spike_times.png",
        "confusion_matrix.png",
        "spike_raster.png",
        "test_output_times.csv",
    ] {
        let path = dir.join(name);
        if path.exists() {
            std::fs::remove_file(&path).map_err(io(path.clone()))?;
        }
    }
    Ok(())
}

/// One finished run, as `results.json` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Directory name under `runs/`.
    pub name: String,
    /// `ideal` or the chip profile's name.
    pub setting: String,
    /// Delay kind of both layers.
    pub delays: DelayKind,
    /// Hidden neurons.
    pub hidden: usize,
    /// Seed.
    pub seed: u64,
    /// Epochs trained.
    pub epochs: usize,
    /// Trainable parameters.
    pub n_params: usize,
    /// Test accuracy of the final network (fraction). For chip runs, on the simulated chip: the
    /// mean over `test_draws` when they were measured, else the run's one evaluation pass.
    pub test_accuracy: f64,
    /// For chip runs: the test accuracy of each noise draw (fractions), from the run's summary
    /// or re-measured from its `model.json`; `None` for ideal runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_draws: Option<Vec<f64>>,
    /// Validation accuracy (fraction).
    pub val_accuracy: f64,
    /// Training accuracy (fraction).
    pub train_accuracy: f64,
    /// For chip-aware runs: the same network's test accuracy on ideal neurons.
    pub test_accuracy_ideal: Option<f64>,
    /// Wall time of training (seconds).
    pub train_seconds: f64,
}

impl RunRecord {
    /// The record of a run from its summary (chip runs: with the summary's noise draws, if it
    /// has them).
    pub fn new(run: &SweepRun, s: &RunSummary) -> Self {
        let test_draws = s.chip_draws.as_ref().map(|d| d.test.clone());
        Self {
            name: run.name.clone(),
            setting: run.setting.clone(),
            delays: run.config.delays,
            hidden: run.config.hidden,
            seed: run.config.seed,
            epochs: s.epochs,
            n_params: s.n_params,
            test_accuracy: s
                .chip_draws
                .as_ref()
                .map_or(s.test_accuracy, |d| d.test_mean),
            test_draws,
            val_accuracy: s.val_accuracy,
            train_accuracy: s.train_accuracy,
            test_accuracy_ideal: s.test_accuracy_ideal,
            train_seconds: s.train_seconds,
        }
    }
}

/// Mean and spread of one grid point over its seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointStats {
    /// `ideal` or the chip profile's name.
    pub setting: String,
    /// Delay kind.
    pub delays: DelayKind,
    /// Hidden neurons.
    pub hidden: usize,
    /// Trainable parameters.
    pub n_params: usize,
    /// Finished runs (seeds).
    pub runs: usize,
    /// Test accuracies the statistics are over: one per run, or for chip runs one per run and
    /// noise draw.
    #[serde(default)]
    pub samples: usize,
    /// Mean test accuracy (percent).
    pub mean: f64,
    /// Sample standard deviation of the test accuracy (percent; 0 for one sample), over seeds
    /// and, for chip runs, noise draws.
    pub std: f64,
    /// Lowest and highest test accuracy (percent).
    pub min: f64,
    /// See `min`.
    pub max: f64,
    /// Mean wall time of training (seconds).
    pub seconds: f64,
}

/// Groups records by (setting, delay kind, hidden size), in that order.
pub fn statistics(records: &[RunRecord]) -> Vec<PointStats> {
    let mut groups: BTreeMap<(String, usize, usize), Vec<&RunRecord>> = BTreeMap::new();
    for r in records {
        let kind_order = match r.delays {
            DelayKind::None => 0,
            DelayKind::Axonal => 1,
            DelayKind::Dendritic => 2,
            DelayKind::Synaptic => 3,
        };
        groups
            .entry((r.setting.clone(), kind_order, r.hidden))
            .or_default()
            .push(r);
    }
    groups
        .into_values()
        .map(|g| {
            let acc: Vec<f64> = g
                .iter()
                .flat_map(|r| match &r.test_draws {
                    Some(d) if !d.is_empty() => d.clone(),
                    _ => vec![r.test_accuracy],
                })
                .map(|a| 100.0 * a)
                .collect();
            let (mean, std) = experiment::mean_std(&acc);
            let n = g.len() as f64;
            PointStats {
                setting: g[0].setting.clone(),
                delays: g[0].delays,
                hidden: g[0].hidden,
                n_params: g[0].n_params,
                runs: g.len(),
                samples: acc.len(),
                mean,
                std,
                min: acc.iter().cloned().fold(f64::INFINITY, f64::min),
                max: acc.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
                seconds: g.iter().map(|r| r.train_seconds).sum::<f64>() / n,
            }
        })
        .collect()
}

/// The table of `summary.md`.
pub fn summary_markdown(stats: &[PointStats]) -> String {
    let mut md = String::from(
        "| setting | delays | hidden | parameters | runs | accuracies | test accuracy (%) | min | \
         max | seconds per run |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for s in stats {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {:.1} ± {:.1} | {:.1} | {:.1} | {:.1} |\n",
            s.setting,
            s.delays,
            s.hidden,
            s.n_params,
            s.runs,
            s.samples,
            s.mean,
            s.std,
            s.min,
            s.max,
            s.seconds
        ));
    }
    md
}

/// Test accuracy (mean ± std) against trainable parameters, one curve per delay kind, for one
/// setting.
pub fn accuracy_figure(path: &Path, setting: &str, stats: &[PointStats]) -> Result<()> {
    type Points = Vec<(f64, f64, f64)>;
    let mut series: Vec<(String, Points)> = Vec::new();
    for s in stats.iter().filter(|s| s.setting == setting) {
        let name = match s.delays {
            DelayKind::None => "no delays".to_string(),
            kind => format!("{kind} delays"),
        };
        let point = (s.n_params as f64, s.mean, s.std);
        match series.iter_mut().find(|(n, _)| *n == name) {
            Some((_, points)) => points.push(point),
            None => series.push((name, vec![point])),
        }
    }
    for (_, points) in &mut series {
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    let named: Vec<plots::ErrorSeries<'_>> = series
        .iter()
        .map(|(n, p)| (n.as_str(), p.clone()))
        .collect();
    let title = if setting == "ideal" {
        "Yin-Yang, ideal neurons: test accuracy (mean ± std over seeds)".to_string()
    } else {
        format!("Yin-Yang, chip-aware ({setting}): test accuracy (mean ± std over seeds and noise draws)")
    };
    plots::error_bar_chart(
        path,
        &title,
        "trainable parameters",
        "test accuracy (%)",
        &named,
        true,
    )
}

/// Reads the finished runs of `runs` under `root` (unfinished ones are left out) and writes
/// `results.json`, `summary.md` and one figure per setting (`accuracy_vs_params_<setting>.png`).
/// Returns the records.
pub fn aggregate(runs: &[SweepRun], root: &Path) -> Result<Vec<RunRecord>> {
    let mut records = Vec::new();
    for run in runs {
        let dir = run_dir(root, run);
        let Some(mut summary) = finished(&dir, run) else {
            continue;
        };
        // Chip runs from before runs measured their own noise draws: measure them from the
        // kept network, so that no chip figure rests on one draw.
        if summary.chip.is_some() && summary.chip_draws.is_none() && dir.join("model.json").exists()
        {
            summary.chip_draws = Some(experiment::remeasure_chip_draws(
                &dir,
                experiment::CHIP_DRAWS,
            )?);
        }
        records.push(RunRecord::new(run, &summary));
    }
    let stats = statistics(&records);
    let json = serde_json::json!({ "runs": records, "points": stats });
    let text =
        serde_json::to_string_pretty(&json).map_err(|e| Error::InvalidConfig(e.to_string()))?;
    write_atomically(&root.join("results.json"), text.as_bytes())?;
    write_atomically(
        &root.join("summary.md"),
        summary_markdown(&stats).as_bytes(),
    )?;
    let mut settings: Vec<&str> = stats.iter().map(|s| s.setting.as_str()).collect();
    settings.dedup();
    for setting in settings {
        accuracy_figure(
            &root.join(format!("accuracy_vs_params_{setting}.png")),
            setting,
            &stats,
        )?;
    }
    Ok(records)
}
