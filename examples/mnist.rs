//! Spiking networks on MNIST (16x16) from the standard IDX files in a directory you name.
//!
//! ```sh
//! cargo run --release --example mnist -- --data ~/mnist                  # mnist16-ws, seed 0
//! cargo run --release --example mnist -- --data ~/mnist --preset mnist16-w --epochs 10
//! cargo run --release --example mnist -- --data ~/mnist --eval artifacts/mnist/mnist16-ws-seed0/model.json
//! ```
//!
//! With only the 10,000 test images (`t10k-*`) in the directory, the run uses a fixed, seeded,
//! stratified split of them (see `delgrad::experiment::mnist`): not the MNIST benchmark.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use delgrad::experiment::classifier::run_ann_baseline;
use delgrad::experiment::mnist::{self, MNIST_PRESETS};
use delgrad::experiment::ClassifierConfig;
use delgrad::trainer::Progress;

#[derive(Parser, Debug)]
#[command(about = "Train spiking networks with exact delay and weight gradients on MNIST (16x16)")]
struct Args {
    /// Directory holding the standard IDX files (gzipped or not).
    #[arg(long)]
    data: PathBuf,
    /// Training preset [default: mnist16-ws].
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(MNIST_PRESETS))]
    preset: Option<String>,
    /// Number of epochs (default: the preset's; with --resume, extends the run to this many).
    #[arg(long)]
    epochs: Option<usize>,
    /// Hidden layer size (default: the preset's, 100).
    #[arg(long)]
    hidden: Option<usize>,
    /// Seed of initialisation and shuffling [default: 0].
    #[arg(long)]
    seed: Option<u64>,
    /// Output directory (default: artifacts/mnist/<preset>-seed<seed>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue the interrupted run in --out from its last complete checkpoint, with the run's
    /// own config.json; flags that contradict it are an error, --epochs extends it.
    #[arg(long, conflicts_with = "eval")]
    resume: bool,
    /// Evaluate a delgrad-network JSON file on the test part instead of training.
    #[arg(long, value_name = "MODEL.json")]
    eval: Option<PathBuf>,
    /// Train the same-size conventional network (ReLU MLP) on the same split instead, and
    /// write its result to --out (default artifacts/mnist/ann).
    #[arg(long, conflicts_with_all = ["eval", "resume"])]
    ann: bool,
    /// No progress bar; one line per epoch.
    #[arg(long)]
    quiet: bool,
    /// Burn's full-screen training dashboard instead of the progress bar (in a terminal).
    #[arg(long, conflicts_with = "quiet")]
    dashboard: bool,
}

const DEFAULT_PRESET: &str = "mnist16-ws";

fn preset_name(args: &Args) -> &str {
    args.preset.as_deref().unwrap_or(DEFAULT_PRESET)
}

/// The preset's configuration with the flags given, or with `--resume` the run's own.
fn config(args: &Args, resume_from: Option<&std::path::Path>) -> delgrad::Result<ClassifierConfig> {
    let mut c = match resume_from {
        Some(dir) => ClassifierConfig::for_resume(dir, args.preset.as_deref())?,
        None => mnist::preset(preset_name(args))?,
    };
    if let Some(v) = args.seed {
        c.trainer.seed = v;
    } else if resume_from.is_none() {
        c.trainer.seed = 0;
    }
    if let Some(v) = args.epochs {
        c.trainer.epochs = v;
    }
    if let Some(v) = args.hidden {
        c.trainer.layers[0].size = v;
    }
    Ok(c)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = if args.ann {
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from("artifacts/mnist/ann"));
        config(&args, None).and_then(|c| {
            let seed = c.trainer.seed;
            let (splits, data) = mnist::splits(&args.data)?;
            let r = run_ann_baseline(&c, &splits, seed, &out)?;
            println!(
                "ANN ({} parameters) seed {}: test {:.1} % (validation {:.1} % at epoch {}), {:.3} s per epoch, {} split; outputs in {}",
                r.n_params,
                seed,
                100.0 * r.test_accuracy,
                100.0 * r.val_accuracy,
                r.best_epoch,
                r.seconds_per_epoch,
                data.split,
                out.display()
            );
            Ok(())
        })
    } else if let Some(model) = &args.eval {
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from("artifacts/eval/mnist"));
        mnist::run_eval(model, &args.data, &out).map(|s| println!("{}", s.report_line(&out)))
    } else {
        let out = args.out.clone().unwrap_or_else(|| {
            PathBuf::from("artifacts/mnist").join(format!(
                "{}-seed{}",
                preset_name(&args),
                args.seed.unwrap_or(0)
            ))
        });
        config(&args, args.resume.then_some(out.as_path())).and_then(|c| {
            let progress = if args.dashboard {
                Progress::Dashboard
            } else {
                Progress::for_stdout(args.quiet, c.trainer.epochs)
            };
            mnist::run(&c, &args.data, &out, args.resume, progress).map(|(s, data)| {
                println!(
                    "{} ({} split: {:?} images)",
                    s.report_line(&out),
                    data.split,
                    data.sizes
                )
            })
        })
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
