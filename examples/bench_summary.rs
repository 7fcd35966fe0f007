//! Collects criterion's results (`target/criterion/**/new/{benchmark,estimates}.json`) into
//! `artifacts/bench/spike_op.csv` (median time per call and samples per second) and a figure of
//! throughput against batch size. Run by `scripts/bench.sh` after `cargo bench --bench spike_op`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Deserialize;

#[derive(Deserialize)]
struct Benchmark {
    group_id: String,
    function_id: Option<String>,
    value_str: Option<String>,
    throughput: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Estimate {
    point_estimate: f64,
}

#[derive(Deserialize)]
struct Estimates {
    median: Estimate,
}

fn find(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.ends_with("new") && p.join("benchmark.json").exists() {
                out.push(p);
            } else {
                find(&p, out);
            }
        }
    }
}

fn main() -> ExitCode {
    let root = PathBuf::from(std::env::args().nth(1).unwrap_or("target/criterion".into()));
    let out_dir = PathBuf::from(std::env::args().nth(2).unwrap_or("artifacts/bench".into()));
    let mut dirs = Vec::new();
    find(&root, &mut dirs);
    let mut rows = Vec::new();
    for d in dirs {
        let read = |name: &str| std::fs::read_to_string(d.join(name)).ok();
        let (Some(b), Some(e)) = (read("benchmark.json"), read("estimates.json")) else {
            continue;
        };
        let (Ok(b), Ok(e)) = (
            serde_json::from_str::<Benchmark>(&b),
            serde_json::from_str::<Estimates>(&e),
        ) else {
            eprintln!("skipping unreadable results in {}", d.display());
            continue;
        };
        let elements = b
            .throughput
            .as_ref()
            .and_then(|t| t.get("Elements"))
            .and_then(|v| v.as_f64());
        let seconds = e.median.point_estimate * 1e-9;
        rows.push((
            b.group_id,
            b.function_id.unwrap_or_default(),
            b.value_str.unwrap_or_default(),
            e.median.point_estimate,
            elements.map(|n| n / seconds),
        ));
    }
    rows.sort_by(|a, b| {
        (a.0.as_str(), a.1.as_str(), a.2.parse::<u64>().unwrap_or(0)).cmp(&(
            b.0.as_str(),
            b.1.as_str(),
            b.2.parse::<u64>().unwrap_or(0),
        ))
    });
    if rows.is_empty() {
        eprintln!("error: no criterion results under {}", root.display());
        return ExitCode::FAILURE;
    }
    let mut csv = String::from("group,function,batch,median_us,samples_per_second\n");
    for (g, f, v, ns, tp) in &rows {
        csv.push_str(&format!(
            "{g},{f},{v},{:.3},{}\n",
            ns * 1e-3,
            tp.map_or(String::new(), |t| format!("{t:.0}"))
        ));
    }
    if let Err(e) = std::fs::create_dir_all(&out_dir) {
        eprintln!("error: {}: {e}", out_dir.display());
        return ExitCode::FAILURE;
    }
    if let Err(e) = delgrad::io::write_atomically(&out_dir.join("spike_op.csv"), csv.as_bytes()) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    // Throughput of forward+backward against batch size, one curve per network.
    let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for (g, f, v, _, tp) in &rows {
        let (Some(net), Ok(batch), Some(tp)) =
            (g.strip_suffix("/forward+backward"), v.parse::<f64>(), tp)
        else {
            continue;
        };
        if !f.contains("f64") {
            continue;
        }
        match series.iter_mut().find(|(n, _)| n == net) {
            Some((_, p)) => p.push((batch, *tp)),
            None => series.push((net.to_string(), vec![(batch, *tp)])),
        }
    }
    let named: Vec<(&str, Vec<(f64, f64)>)> = series
        .iter()
        .map(|(n, p)| (n.as_str(), p.clone()))
        .collect();
    if !named.is_empty() {
        if let Err(e) = delgrad::plots::line_chart_log_y(
            &out_dir.join("throughput.png"),
            "Training step (forward + backward, Autodiff<NdArray<f64>>): samples per second",
            "batch size",
            "samples per second",
            &named,
            true,
        ) {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    print!("{csv}");
    ExitCode::SUCCESS
}
