//! Aggregates the `summary.json` files of finished Yin-Yang runs into a table per preset:
//! `cargo run --release --example yinyang_table -- artifacts/yinyang` writes
//! `results.json` and `results.md` into that directory.

use delgrad::experiment::mean_std;
use delgrad::io::write_atomically;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use delgrad::experiment::RunSummary;

/// Reference accuracies of the authors' runs (SPEC sections 6 and 7, one seed each).
fn reference(preset: &str) -> Option<f64> {
    match preset {
        "h30-w" => Some(96.7),
        "h30-wa" => Some(97.5),
        "h30-ws" => Some(98.2),
        "h5-ws" => Some(95.4),
        // SPEC section 7, hardware-aware simulation.
        "hw-w" => Some(84.9),
        "hw-wa" => Some(92.8),
        _ => None,
    }
}

fn main() -> ExitCode {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or("artifacts/yinyang".into()),
    );
    let mut by_preset: BTreeMap<String, Vec<RunSummary>> = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("error: cannot read {}", dir.display());
        return ExitCode::FAILURE;
    };
    for entry in entries.flatten() {
        let path = entry.path().join("summary.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        match serde_json::from_str::<RunSummary>(&text) {
            Ok(s) => by_preset.entry(s.preset.clone()).or_default().push(s),
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
    }
    let mut md = String::from(
        "| preset | runs | test accuracy (%) | reference (%) | parameters | seconds per run |\n|---|---|---|---|---|---|\n",
    );
    let mut json = Vec::new();
    for runs in by_preset.values_mut() {
        runs.sort_by_key(|r| r.seed);
    }
    for (preset, runs) in &by_preset {
        let acc: Vec<f64> = runs.iter().map(|r| 100.0 * r.test_accuracy).collect();
        let secs: Vec<f64> = runs.iter().map(|r| r.train_seconds).collect();
        let (m, s) = mean_std(&acc);
        let (ms, ss) = mean_std(&secs);
        let reference = reference(preset);
        md.push_str(&format!(
            "| {preset} | {} | {m:.1} ± {s:.1} | {} | {} | {ms:.1} ± {ss:.1} |\n",
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
            "reference_test_accuracy": reference.map(|r| r / 100.0),
            "n_params": runs[0].n_params,
            "train_seconds": secs,
        }));
    }
    let json = serde_json::to_string_pretty(&json).unwrap_or_default();
    for (name, text) in [("results.md", md.as_str()), ("results.json", json.as_str())] {
        if let Err(e) = write_atomically(&dir.join(name), text.as_bytes()) {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    print!("{md}");
    ExitCode::SUCCESS
}
