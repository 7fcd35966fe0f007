//! The paper's Yin-Yang studies as one sweep: hidden size x delay kind x seeds on ideal neurons,
//! and none / axonal delays on the BrainScaleS-2 profile.
//!
//! ```sh
//! cargo run --release --example paper                       # the whole grid -> artifacts/paper
//! cargo run --release --example paper -- --seeds 1 --epochs 5 --out scratch/paper   # smoke run
//! cargo run --release --example paper -- --aggregate-only   # table and figures from finished runs
//! ```
//!
//! Finished runs are skipped, so an interrupted sweep continues where it stopped.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use delgrad::experiment::RunSummary;
use delgrad::sweep::{self, SweepObserver, SweepRun};
use delgrad::DelayKind;
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Parser, Debug)]
#[command(
    about = "Yin-Yang sweep: accuracy against parameters per delay kind, ideal and chip-aware"
)]
struct Args {
    /// Output directory (runs under <out>/runs/).
    #[arg(long, default_value = "artifacts/paper")]
    out: PathBuf,
    /// Seeds 0..N per grid point.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=100))]
    seeds: u64,
    /// Epochs per run.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    epochs: u64,
    /// Hidden sizes of the ideal grid.
    #[arg(long, value_delimiter = ',', default_value = "5,10,15,20,25,30")]
    hidden: Vec<usize>,
    /// Delay kinds of the ideal grid.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "none,axonal,dendritic,synaptic"
    )]
    delays: Vec<DelayKind>,
    /// Hidden sizes of the chip-aware grid (BrainScaleS-2 profile).
    #[arg(long, value_delimiter = ',', default_value = "10,20,30")]
    chip_hidden: Vec<usize>,
    /// Delay kinds of the chip-aware grid (none and/or axonal).
    #[arg(long, value_delimiter = ',', default_value = "none,axonal")]
    chip_delays: Vec<DelayKind>,
    /// No chip-aware runs.
    #[arg(long)]
    no_chip: bool,
    /// Runs at a time (default: one per core).
    #[arg(long)]
    jobs: Option<usize>,
    /// Kernel threads per run.
    #[arg(long, default_value_t = 1)]
    threads_per_job: usize,
    /// Only aggregate the finished runs (results.json, summary.md, figures).
    #[arg(long)]
    aggregate_only: bool,
}

struct Bar(ProgressBar, AtomicUsize);

impl SweepObserver for Bar {
    fn skipped(&self, _run: &SweepRun) {}
    fn finished(&self, run: &SweepRun, outcome: &delgrad::Result<RunSummary>) {
        let done = self.1.fetch_add(1, Ordering::SeqCst) + 1;
        let line = match outcome {
            Ok(s) => format!(
                "{:>4} {:<32} test {:5.1} %  {:5.1} s",
                done,
                run.name,
                100.0 * s.test_accuracy,
                s.train_seconds
            ),
            Err(e) => format!("{done:>4} {:<32} FAILED: {e}", run.name),
        };
        // Without a terminal the bar draws nothing: print plain lines for logs.
        if std::io::stderr().is_terminal() {
            self.0.println(line);
        } else {
            eprintln!("{line}");
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let seeds: Vec<u64> = (0..args.seeds).collect();
    let runs = match sweep::grid(
        &args.delays,
        &args.hidden,
        if args.no_chip { &[] } else { &args.chip_delays },
        &args.chip_hidden,
        &seeds,
        args.epochs as usize,
    ) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut failed = 0;
    let started = Instant::now();
    if !args.aggregate_only {
        let todo = runs
            .iter()
            .filter(|r| sweep::finished(&sweep::run_dir(&args.out, r), r).is_none())
            .count();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let jobs = args.jobs.unwrap_or(cores).max(1);
        eprintln!(
            "{} runs in the grid, {} to train ({} finished earlier); {jobs} at a time",
            runs.len(),
            todo,
            runs.len() - todo
        );
        let bar = ProgressBar::new((todo * args.epochs as usize) as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} epochs, eta {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        let epochs_done = Arc::new(AtomicUsize::new(0));
        let observer = Bar(bar.clone(), AtomicUsize::new(runs.len() - todo));
        let ticker = {
            let (bar, counter) = (bar.clone(), Arc::clone(&epochs_done));
            std::thread::spawn(move || {
                while !bar.is_finished() {
                    bar.set_position(counter.load(Ordering::Relaxed) as u64);
                    std::thread::sleep(Duration::from_millis(200));
                }
            })
        };
        // Longest runs first (chip-aware, then large hidden layers), so the last ones to
        // finish are short and the cores stay busy to the end.
        let mut order: Vec<SweepRun> = runs.clone();
        order.sort_by_key(|r| (r.setting == "ideal", std::cmp::Reverse(r.config.hidden)));
        let outcomes = sweep::run_all(
            &order,
            &args.out,
            jobs,
            args.threads_per_job,
            &epochs_done,
            &observer,
        );
        bar.finish();
        let _ = ticker.join();
        failed = outcomes.iter().filter(|o| o.is_err()).count();
        eprintln!(
            "sweep: {} runs trained in {:.0} s wall time, {failed} failed",
            todo,
            started.elapsed().as_secs_f64()
        );
    }
    match sweep::aggregate(&runs, &args.out) {
        Ok(records) => {
            println!(
                "{} of {} runs finished; results in {}",
                records.len(),
                runs.len(),
                args.out.display()
            );
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
