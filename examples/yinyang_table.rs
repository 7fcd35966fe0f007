//! Aggregates the `summary.json` files of finished runs (Yin-Yang, digits, MNIST) into a table
//! per preset, plus a row for the same-size ANN when the directory has `ann/ann-seed*.json`:
//! `cargo run --release --example yinyang_table -- artifacts/yinyang` writes `results.json`,
//! `results.md` and `test_accuracy_by_seed.png` (each preset's test accuracies, sorted) into that
//! directory. Further directories (`-- DIR MORE_DIR...`) get their own tables, and their runs are
//! drawn in the first directory's figure too, labelled with the directory's name: the way to set
//! two variants of a preset side by side.

use delgrad::experiment::{mean_std, remeasure_chip_draws, CHIP_DRAWS};
use delgrad::io::write_atomically;
use delgrad::plots::line_chart;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Reference accuracies of the authors' runs (docs/model.md, one seed each).
fn reference(preset: &str) -> Option<f64> {
    // The -plus presets train the paper's networks: the same reference applies.
    match preset.strip_suffix("-plus").unwrap_or(preset) {
        "h30-w" => Some(96.7),
        "h30-wa" => Some(97.5),
        "h30-ws" => Some(98.2),
        "h5-ws" => Some(95.4),
        // docs/model.md, hardware-aware simulation.
        "hw-w" => Some(84.9),
        "hw-wa" => Some(92.8),
        _ => None,
    }
}

/// A run summary of any experiment (its `config` kept as JSON).
type RunSummary = delgrad::experiment::RunSummary<serde_json::Value>;

/// Test accuracies (fractions) of the same-size ANN runs in `dir/ann`, by seed.
fn ann_runs(dir: &Path) -> Result<Vec<(u64, f64, usize)>, String> {
    let Ok(entries) = std::fs::read_dir(dir.join("ann")) else {
        return Ok(Vec::new());
    };
    let mut runs = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(seed) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("ann-seed")?.strip_suffix(".json"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let acc = v["result"]["test_accuracy"]
            .as_f64()
            .ok_or_else(|| format!("{}: no result.test_accuracy", path.display()))?;
        let params = v["result"]["n_params"].as_u64().unwrap_or(0) as usize;
        runs.push((seed, acc, params));
    }
    runs.sort_by_key(|r| r.0);
    Ok(runs)
}

/// Every run summary below `dir` (one level), grouped by preset and sorted by seed.
fn load(dir: &Path) -> Result<BTreeMap<String, Vec<RunSummary>>, String> {
    let mut by_preset: BTreeMap<String, Vec<RunSummary>> = BTreeMap::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path().join("summary.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let mut s = serde_json::from_str::<RunSummary>(&text)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if s.chip.is_some() && s.chip_draws.is_none() && entry.path().join("model.json").exists() {
            // Runs made before chip-aware runs measured their own noise draws.
            let draws = remeasure_chip_draws(&entry.path(), CHIP_DRAWS)
                .map_err(|e| format!("{}: {e}", entry.path().display()))?;
            s.chip_draws = Some(draws);
            let json = serde_json::to_string_pretty(&s).map_err(|e| e.to_string())?;
            write_atomically(&path, json.as_bytes()).map_err(|e| e.to_string())?;
        }
        by_preset.entry(s.preset.clone()).or_default().push(s);
    }
    for runs in by_preset.values_mut() {
        runs.sort_by_key(|r| r.seed);
    }
    Ok(by_preset)
}

/// A run's test accuracy: for chip-aware runs the mean over noise draws, when measured.
fn test_accuracy(r: &RunSummary) -> f64 {
    r.chip_draws
        .as_ref()
        .map_or(r.test_accuracy, |d| d.test_mean)
}

/// A run's validation accuracy: for chip-aware runs the mean over noise draws, when measured.
fn val_accuracy(r: &RunSummary) -> f64 {
    r.chip_draws.as_ref().map_or(r.val_accuracy, |d| d.val_mean)
}

/// The chip-aware table's row of a preset (Markdown, JSON), if its runs measured noise draws.
fn chip_row(preset: &str, runs: &[RunSummary]) -> Option<(String, serde_json::Value)> {
    let draws: Vec<_> = runs.iter().filter_map(|r| r.chip_draws.as_ref()).collect();
    if draws.len() != runs.len() || draws.is_empty() {
        return None;
    }
    let pct = |v: &[f64]| v.iter().map(|x| 100.0 * x).collect::<Vec<_>>();
    let test: Vec<f64> = draws.iter().flat_map(|d| pct(&d.test)).collect();
    let val: Vec<f64> = draws.iter().flat_map(|d| pct(&d.validation)).collect();
    let within: Vec<f64> = draws.iter().map(|d| 100.0 * d.test_std).collect();
    let ideal: Vec<f64> = runs
        .iter()
        .filter_map(|r| r.test_accuracy_ideal)
        .map(|a| 100.0 * a)
        .collect();
    let (tm, ts) = mean_std(&test);
    let (vm, vs) = mean_std(&val);
    let (wm, _) = mean_std(&within);
    let (im, is) = mean_std(&ideal);
    let md = format!(
        "| {preset} | {} x {} | {tm:.1} ± {ts:.1} | {vm:.1} ± {vs:.1} | {wm:.2} | {im:.1} ± {is:.1} |\n",
        runs.len(),
        draws[0].test.len()
    );
    let json = serde_json::json!({
        "preset": preset,
        "chip_draws": draws[0].test.len(),
        "chip_test_accuracy_mean": tm / 100.0,
        "chip_test_accuracy_std": ts / 100.0,
        "chip_val_accuracy_mean": vm / 100.0,
        "chip_val_accuracy_std": vs / 100.0,
        "chip_noise_std_within_run": wm / 100.0,
        "ideal_test_accuracy_mean": im / 100.0,
        "ideal_test_accuracy_std": is / 100.0,
    });
    Some((md, json))
}

/// Writes `results.md` and `results.json` into `dir` and returns the Markdown table.
fn write_tables(
    dir: &Path,
    by_preset: &BTreeMap<String, Vec<RunSummary>>,
) -> Result<String, String> {
    let mut md = String::from(
        "| preset | runs | test accuracy (%) | worst seed (%) | validation (%) | reference (%) | parameters | seconds per run |\n|---|---|---|---|---|---|---|---|\n",
    );
    let mut json = Vec::new();
    let mut chip_md = String::new();
    for (preset, runs) in by_preset {
        let acc: Vec<f64> = runs.iter().map(|r| 100.0 * test_accuracy(r)).collect();
        let secs: Vec<f64> = runs.iter().map(|r| r.train_seconds).collect();
        let val: Vec<f64> = runs.iter().map(|r| 100.0 * val_accuracy(r)).collect();
        let (m, s) = mean_std(&acc);
        let (vm, vs) = mean_std(&val);
        let worst = acc.iter().copied().fold(f64::INFINITY, f64::min);
        let (ms, ss) = mean_std(&secs);
        let reference = reference(preset);
        md.push_str(&format!(
            "| {preset} | {} | {m:.1} ± {s:.1} | {worst:.1} | {vm:.1} ± {vs:.1} | {} | {} | {ms:.1} ± {ss:.1} |\n",
            runs.len(),
            reference.map_or("-".into(), |r| format!("{r:.1}")),
            runs[0].n_params,
        ));
        json.push(serde_json::json!({
            "preset": preset,
            "seeds": runs.iter().map(|r| r.seed).collect::<Vec<_>>(),
            "epochs": runs.iter().map(|r| r.epochs).collect::<Vec<_>>(),
            "test_accuracy": runs.iter().map(|r| r.test_accuracy).collect::<Vec<_>>(),
            "test_accuracy_mean": m / 100.0,
            "test_accuracy_std": s / 100.0,
            "val_accuracy": runs.iter().map(val_accuracy).collect::<Vec<_>>(),
            "val_accuracy_mean": vm / 100.0,
            "val_accuracy_std": vs / 100.0,
            "reference_test_accuracy": reference.map(|r| r / 100.0),
            "n_params": runs[0].n_params,
            "train_seconds": secs,
        }));
        if let Some(row) = chip_row(preset, runs) {
            chip_md.push_str(&row.0);
            json.push(row.1);
        }
    }
    if !chip_md.is_empty() {
        md.push_str(&format!(
            "\nChip-aware runs, {CHIP_DRAWS} draws of the chip's trial-to-trial noise per run \
             (mean ± std over all seeds and draws):\n\n\
             | preset | runs x draws | test (%) | validation (%) | noise std within a run, test (points) | ideal neurons, test (%) |\n\
             |---|---|---|---|---|---|\n{chip_md}"
        ));
    }
    let ann = ann_runs(dir)?;
    if !ann.is_empty() {
        let acc: Vec<f64> = ann.iter().map(|r| 100.0 * r.1).collect();
        let (m, s) = mean_std(&acc);
        md.push_str(&format!(
            "| ANN (ReLU MLP, same layer widths) | {} | {m:.1} ± {s:.1} | - | - | - | {} | - |\n",
            ann.len(),
            ann[0].2
        ));
        json.push(serde_json::json!({
            "preset": "ann",
            "seeds": ann.iter().map(|r| r.0).collect::<Vec<_>>(),
            "test_accuracy": ann.iter().map(|r| r.1).collect::<Vec<_>>(),
            "test_accuracy_mean": m / 100.0,
            "test_accuracy_std": s / 100.0,
            "n_params": ann[0].2,
        }));
    }
    let json = serde_json::to_string_pretty(&json).unwrap_or_default();
    for (name, text) in [("results.md", md.as_str()), ("results.json", json.as_str())] {
        write_atomically(&dir.join(name), text.as_bytes()).map_err(|e| e.to_string())?;
    }
    Ok(md)
}

/// A preset's test accuracies (%) sorted ascending, at x = (rank - 0.5) / runs, so that curves
/// of different run counts share the axis: the curve is the empirical quantile function.
fn sorted_accuracies(runs: &[RunSummary]) -> Vec<(f64, f64)> {
    let mut acc: Vec<f64> = runs.iter().map(|r| 100.0 * test_accuracy(r)).collect();
    acc.sort_by(f64::total_cmp);
    let n = acc.len() as f64;
    acc.into_iter()
        .enumerate()
        .map(|(k, a)| ((k as f64 + 0.5) / n, a))
        .collect()
}

fn main() -> ExitCode {
    let mut dirs: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    if dirs.is_empty() {
        dirs.push(PathBuf::from("artifacts/yinyang"));
    }
    let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for (k, dir) in dirs.iter().enumerate() {
        let result = load(dir).and_then(|by_preset| {
            let md = write_tables(dir, &by_preset)?;
            Ok((by_preset, md))
        });
        let (by_preset, md) = match result {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        print!("{md}");
        for (preset, runs) in &by_preset {
            let name = match dir.file_name() {
                Some(d) if k > 0 => format!("{preset} ({})", d.to_string_lossy()),
                _ => preset.clone(),
            };
            series.push((
                format!("{name}, {} runs", runs.len()),
                sorted_accuracies(runs),
            ));
        }
    }
    if series.is_empty() {
        return ExitCode::SUCCESS;
    }
    let named: Vec<(&str, Vec<(f64, f64)>)> = series
        .iter()
        .map(|(n, p)| (n.as_str(), p.clone()))
        .collect();
    let path = dirs[0].join("test_accuracy_by_seed.png");
    if let Err(e) = line_chart(
        &path,
        "Test accuracy of every seed, sorted",
        "fraction of seeds",
        "test accuracy (%)",
        &named,
        false,
    ) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
