//! Spiking networks on the 8x8 handwritten digits bundled with delgrad.
//!
//! ```sh
//! cargo run --release --example digits                       # digits-ws, seed 0
//! cargo run --release --example digits -- --preset digits-w --seed 2 --out runs/w2
//! cargo run --release --example digits -- --out runs/w2 --resume
//! cargo run --release --example digits -- --eval runs/w2/model.json
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use delgrad::experiment::classifier::run_ann_baseline;
use delgrad::experiment::digits::{self, DIGITS_PRESETS};
use delgrad::experiment::ClassifierConfig;
use delgrad::loss::SpikeLoss;
use delgrad::trainer::Progress;

#[derive(Parser, Debug)]
#[command(about = "Train spiking networks with exact delay and weight gradients on 8x8 digits")]
struct Args {
    /// Training preset [default: digits-ws].
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(DIGITS_PRESETS))]
    preset: Option<String>,
    /// Number of epochs (default: the preset's; with --resume, extends the run to this many).
    #[arg(long)]
    epochs: Option<usize>,
    /// Seed of initialisation and shuffling [default: 0].
    #[arg(long)]
    seed: Option<u64>,
    /// Output directory (default: artifacts/digits/<preset>-seed<seed>, or artifacts/eval/<model>
    /// with --eval).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue the interrupted run in --out from its last complete checkpoint, with the run's
    /// own config.json; flags that contradict it are an error, --epochs extends it.
    #[arg(long, conflicts_with = "eval")]
    resume: bool,
    /// Evaluate a delgrad-network JSON file on the test split instead of training.
    #[arg(long, value_name = "MODEL.json")]
    eval: Option<PathBuf>,
    /// Mini-batch size.
    #[arg(long)]
    batch_size: Option<usize>,
    /// Learning rate of the weights.
    #[arg(long)]
    lr: Option<f64>,
    /// Learning rate of the delays.
    #[arg(long)]
    lr_delays: Option<f64>,
    /// Loss: mse (shift-invariant MSE) or ce (TTFS cross-entropy).
    #[arg(long, value_parser = ["mse", "ce"])]
    loss: Option<String>,
    /// Train the same-size conventional network (ReLU MLP) on the same split instead, and
    /// write its result to --out (default artifacts/digits/ann).
    #[arg(long, conflicts_with_all = ["eval", "resume"])]
    ann: bool,
    /// No progress bar; one line per epoch.
    #[arg(long)]
    quiet: bool,
    /// Burn's full-screen training dashboard instead of the progress bar (in a terminal).
    #[arg(long, conflicts_with = "quiet")]
    dashboard: bool,
}

const DEFAULT_PRESET: &str = "digits-ws";

fn preset_name(args: &Args) -> &str {
    args.preset.as_deref().unwrap_or(DEFAULT_PRESET)
}

/// The preset's configuration with the flags given, or with `--resume` the run's own.
fn config(args: &Args, resume_from: Option<&std::path::Path>) -> delgrad::Result<ClassifierConfig> {
    let mut c = match resume_from {
        Some(dir) => ClassifierConfig::for_resume(dir, args.preset.as_deref())?,
        None => digits::preset(preset_name(args))?,
    };
    let t = &mut c.trainer;
    if let Some(v) = args.seed {
        t.seed = v;
    } else if resume_from.is_none() {
        t.seed = 0;
    }
    if let Some(v) = args.epochs {
        t.epochs = v;
    }
    if let Some(v) = args.batch_size {
        t.batch_size = v;
    }
    if let Some(v) = args.lr {
        t.lr = v;
    }
    if let Some(v) = args.lr_delays {
        t.lr_delays = v;
    }
    if let Some(v) = &args.loss {
        t.loss = if v == "ce" {
            SpikeLoss::cross_entropy()
        } else {
            SpikeLoss::mse()
        };
    }
    Ok(c)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = if args.ann {
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from("artifacts/digits/ann"));
        config(&args, None).and_then(|c| {
            let seed = c.trainer.seed;
            let r = run_ann_baseline(&c, &digits::splits()?, seed, &out)?;
            println!(
                "ANN ({} parameters) seed {}: test {:.1} % (validation {:.1} % at epoch {}); outputs in {}",
                r.n_params,
                seed,
                100.0 * r.test_accuracy,
                100.0 * r.val_accuracy,
                r.best_epoch,
                out.display()
            );
            Ok(())
        })
    } else if let Some(model) = &args.eval {
        let stem = model
            .file_stem()
            .map_or("model".into(), |s| s.to_string_lossy().into_owned());
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from("artifacts/eval").join(stem));
        digits::run_eval(model, &out).map(|s| println!("{}", s.report_line(&out)))
    } else {
        let out = args.out.clone().unwrap_or_else(|| {
            PathBuf::from("artifacts/digits").join(format!(
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
            digits::run(&c, &out, args.resume, progress)
                .map(|s| println!("{}", s.report_line(&out)))
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
