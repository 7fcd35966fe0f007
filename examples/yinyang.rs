//! The DelGrad Yin-Yang experiments.
//!
//! ```sh
//! cargo run --release --example yinyang                      # h30-ws, 300 epochs, seed 0
//! cargo run --release --example yinyang -- --preset h30-wa --seed 2 --out runs/wa2
//! cargo run --release --example yinyang -- --out runs/wa2 --resume
//! cargo run --release --example yinyang -- --eval runs/wa2/model.json
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use delgrad::experiment::{run, run_eval};
use delgrad::experiment::{YinYangConfig, PRESETS};
use delgrad::hardware::ChipProfile;
use delgrad::loss::SpikeLoss;
use delgrad::trainer::{BumpRule, ModelSelection, Progress};
use delgrad::{DelayKind, GradientOptions};

#[derive(Parser, Debug)]
#[command(
    about = "Train spiking networks with exact delay and weight gradients (DelGrad) on Yin-Yang",
    after_help = "Presets: h30-w, h30-wa, h30-ws, h5-ws (the paper's ideal-neuron presets), h30-wd (dendritic\ndelays), hw-w, hw-wa (hardware-aware, BrainScaleS-2 profile). See docs/model.md."
)]
struct Args {
    /// Training preset [default: h30-ws].
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(PRESETS))]
    preset: Option<String>,
    /// Number of epochs (preset: 300; with --resume, extends the run to this many).
    #[arg(long)]
    epochs: Option<usize>,
    /// Seed of initialisation and shuffling [default: 0].
    #[arg(long)]
    seed: Option<u64>,
    /// Output directory (default: artifacts/yinyang/<preset>-seed<seed>, or artifacts/eval/<model>
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
    /// Hidden layer size.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    hidden: Option<u64>,
    /// Delay kind of both layers.
    #[arg(long, value_parser = ["none", "axonal", "synaptic", "dendritic"])]
    delays: Option<String>,
    /// Mini-batch size.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=5000))]
    batch_size: Option<u64>,
    /// Learning rate of the weights.
    #[arg(long)]
    lr: Option<f64>,
    /// Learning rate of the delays.
    #[arg(long)]
    lr_delays: Option<f64>,
    /// The learning rates are multiplied by this every --lr-step-epochs epochs.
    #[arg(long)]
    lr_gamma: Option<f64>,
    /// See --lr-gamma.
    #[arg(long)]
    lr_step_epochs: Option<usize>,
    /// Which epoch's network the run ends with: `final` or `best-val` (highest validation
    /// accuracy).
    #[arg(long, value_parser = ["final", "best-val"])]
    select: Option<String>,
    /// Loss: mse (shift-invariant MSE) or ce (TTFS cross-entropy).
    #[arg(long, value_parser = ["mse", "ce"])]
    loss: Option<String>,
    /// Target lead of the label neuron's spike in the shift-invariant MSE (preset: 0.2 ideal,
    /// 0.3 hardware-aware).
    #[arg(long)]
    loss_dt: Option<f64>,
    /// L2 penalty of Adam on every parameter (preset: 0).
    #[arg(long)]
    weight_decay: Option<f64>,
    /// Initial weights of the hidden layer, drawn from N(MEAN, STD) (preset: 1,1).
    #[arg(long, value_name = "MEAN,STD", value_parser = parse_pair)]
    init_hidden: Option<(f64, f64)>,
    /// Initial weights of the output layer, drawn from N(MEAN, STD) (preset: 1,1).
    #[arg(long, value_name = "MEAN,STD", value_parser = parse_pair)]
    init_output: Option<(f64, f64)>,
    /// Drop a sample's weight-gradient row of a neuron when its largest entry exceeds this
    /// (the reference's safeguard; preset: 0.2), or `none` for the exact gradient.
    #[arg(long, value_name = "VALUE|none", value_parser = parse_clip)]
    weight_grad_clip: Option<GradientOptions>,
    /// First weight bump for neurons that missed their spike (preset: 0.0005).
    #[arg(long)]
    bump_initial: Option<f64>,
    /// Train on the first N training samples only (smoke runs).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=5000))]
    train_subset: Option<u64>,
    /// Train chip-aware under a chip profile: `bss2` (BrainScaleS-2), `ideal`, or a JSON/TOML
    /// profile file.
    #[arg(long, value_name = "bss2|ideal|FILE")]
    chip: Option<String>,
    /// Weight-bumping rule: `layer` (the reference's) or `neuron` (stricter). Default: the
    /// preset's (`neuron` for h5-ws, `layer` for the others).
    #[arg(long, value_parser = ["layer", "neuron"])]
    bump_rule: Option<String>,
    /// Tile the shared input delays over the inputs (the reference simulation's layout: each
    /// copy of an input sees a different delay) instead of one delay per input's copies.
    #[arg(long)]
    delay_sharing_tiled: bool,
    /// Where to train: `cpu` (f64 kernels, default) or `wgpu` (f32 GPU kernels; build with
    /// `--features wgpu`).
    #[arg(long, value_parser = ["cpu", "wgpu"])]
    device: Option<String>,
    /// No progress bar; one line per epoch.
    #[arg(long)]
    quiet: bool,
    /// Burn's full-screen training dashboard instead of the progress bar (in a terminal).
    #[arg(long, conflicts_with = "quiet")]
    dashboard: bool,
}

const DEFAULT_PRESET: &str = "h30-ws";

fn parse_clip(s: &str) -> Result<GradientOptions, String> {
    if s == "none" {
        return Ok(GradientOptions::exact());
    }
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(GradientOptions::clipped(v)),
        _ => Err(format!("expected a positive number or `none`, got `{s}`")),
    }
}

fn parse_pair(s: &str) -> Result<(f64, f64), String> {
    let (a, b) = s
        .split_once(',')
        .ok_or_else(|| format!("expected MEAN,STD, got `{s}`"))?;
    let parse = |v: &str| {
        v.trim()
            .parse::<f64>()
            .map_err(|e| format!("`{v}` is not a number: {e}"))
    };
    Ok((parse(a)?, parse(b)?))
}

/// The configuration of a fresh run: the preset's, with the flags given.
fn fresh_config(args: &Args) -> delgrad::Result<YinYangConfig> {
    let mut c = YinYangConfig::preset(args.preset.as_deref().unwrap_or(DEFAULT_PRESET))?;
    c.seed = args.seed.unwrap_or(0);
    apply_flags(args, c)
}

/// The configuration of a resumed run: the run's own, with the flags given (which
/// `delgrad::experiment::run` then checks against it).
fn resumed_config(args: &Args, out: &std::path::Path) -> delgrad::Result<YinYangConfig> {
    let mut c = YinYangConfig::for_resume(out, args.preset.as_deref())?;
    if let Some(seed) = args.seed {
        c.seed = seed;
    }
    apply_flags(args, c)
}

fn apply_flags(args: &Args, mut c: YinYangConfig) -> delgrad::Result<YinYangConfig> {
    if let Some(v) = args.epochs {
        c.epochs = v;
    }
    if let Some(v) = args.hidden {
        c.hidden = v as usize;
    }
    if let Some(v) = &args.delays {
        c.delays = v.parse::<DelayKind>()?;
        if c.delays != DelayKind::None && c.lr_delays == 0.0 {
            c.lr_delays = c.lr;
        }
    }
    if let Some(v) = args.batch_size {
        c.batch_size = v as usize;
    }
    if let Some(v) = args.lr {
        c.lr = v;
    }
    if let Some(v) = args.lr_delays {
        c.lr_delays = v;
    }
    if let Some(v) = args.lr_gamma {
        c.lr_gamma = v;
    }
    if let Some(v) = args.lr_step_epochs {
        c.lr_step_epochs = v;
    }
    if let Some(v) = &args.select {
        c.selection = if v == "best-val" {
            ModelSelection::BestValidation
        } else {
            ModelSelection::FinalEpoch
        };
    }
    if let Some(v) = &args.loss {
        c.loss = if v == "ce" {
            SpikeLoss::cross_entropy()
        } else {
            SpikeLoss::mse()
        };
    }
    if let Some(dt) = args.loss_dt {
        match &mut c.loss {
            SpikeLoss::ShiftInvariantMse { dt: d } => *d = dt,
            _ => {
                return Err(delgrad::Error::InvalidConfig(
                    "--loss-dt applies to the MSE loss only".into(),
                ))
            }
        }
    }
    if let Some(v) = args.weight_decay {
        c.weight_decay = v;
    }
    if let Some(v) = args.init_hidden {
        c.weight_init_hidden = v;
    }
    if let Some(v) = args.init_output {
        c.weight_init_output = v;
    }
    if let Some(gradients) = args.weight_grad_clip {
        c.gradients = gradients;
    }
    if let Some(v) = args.bump_initial {
        c.bump_initial = v;
    }
    if let Some(v) = args.train_subset {
        c.train_subset = Some(v as usize);
    }
    c.delay_sharing_tiled |= args.delay_sharing_tiled;
    if let Some(rule) = &args.bump_rule {
        c.bump_rule = if rule == "neuron" {
            BumpRule::NeuronFraction
        } else {
            BumpRule::LayerFraction
        };
    }
    if let Some(chip) = &args.chip {
        c.chip = Some(ChipProfile::from_name_or_file(chip)?);
    }
    if let Some(d) = &args.device {
        c.device = d.parse()?;
    }
    c.validate()?;
    Ok(c)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = if let Some(model) = &args.eval {
        let stem = model
            .file_stem()
            .map_or("model".into(), |s| s.to_string_lossy().into_owned());
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from("artifacts/eval").join(stem));
        run_eval(model, &out).map(|s| println!("{}", s.report_line(&out)))
    } else {
        let default_out = || {
            PathBuf::from("artifacts/yinyang").join(format!(
                "{}-seed{}",
                args.preset.as_deref().unwrap_or(DEFAULT_PRESET),
                args.seed.unwrap_or(0)
            ))
        };
        let out = args.out.clone().unwrap_or_else(default_out);
        let config = if args.resume {
            resumed_config(&args, &out)
        } else {
            fresh_config(&args)
        };
        config.and_then(|c| {
            let progress = if args.dashboard {
                Progress::Dashboard
            } else {
                Progress::for_stdout(args.quiet, c.epochs)
            };
            run(&c, &out, args.resume, progress).map(|s| println!("{}", s.report_line(&out)))
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
