//! The Yin-Yang experiments: the paper's presets (ideal neurons and the BrainScaleS-2
//! hardware-aware profile) as [`YinYangConfig`]s, trained by the general trainer, with the
//! Yin-Yang-specific outputs (a map of the test set coloured by prediction).

use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};

use super::{
    evaluate_file_items, train_and_report, ClassifierRun, EncodedSplits, Evaluation, RunSummary,
};
use crate::data::{
    ClassItem, InputEncoding, YinYangDataset, YinYangSample, CLASS_NAMES, NUM_CLASSES,
};
use crate::error::{Error, Result};
use crate::hardware::ChipProfile;
use crate::loss::SpikeLoss;
use crate::model::SpikingNetwork;
use crate::network::{Encoding, NetworkFile};
use crate::neuron::LifParams;
use crate::plots;
use crate::trainer::Progress;
use crate::trainer::{BumpRule, ComputeDevice, LayerSpec, ModelSelection, TrainerConfig};
use crate::types::{DelayKind, GradientOptions};

/// Everything that defines a Yin-Yang training run. Start from [`YinYangConfig::preset`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct YinYangConfig {
    /// Name of the preset this configuration started from.
    pub preset: String,
    /// Hidden layer size (one hidden layer).
    pub hidden: usize,
    /// Delay kind of both layers.
    pub delays: DelayKind,
    /// Neuron model.
    pub neuron: LifParams,
    /// Input encoding (times and repetition of the four inputs).
    pub encoding: InputEncoding,
    /// Weight initialisation (mean, std) of the hidden layer.
    pub weight_init_hidden: (f64, f64),
    /// Weight initialisation (mean, std) of the output layer.
    pub weight_init_output: (f64, f64),
    /// Raw delay initialisation (mean, std).
    pub delay_init: (f64, f64),
    /// Effective delay d = shift + scale * sigmoid(raw): shift.
    pub delay_shift: f64,
    /// Effective delay d = shift + scale * sigmoid(raw): scale.
    pub delay_scale: f64,
    /// Neighbouring inputs of the first layer sharing one delay (1 = no sharing).
    pub delay_sharing: usize,
    /// Shared delays tiled over the inputs (the reference simulation's layout) instead of
    /// grouped over neighbouring copies (the chip's layout).
    #[serde(default)]
    pub delay_sharing_tiled: bool,
    /// Learning rate of the weights (Adam).
    pub lr: f64,
    /// Learning rate of the delays (Adam).
    pub lr_delays: f64,
    /// The learning rate is multiplied by this every `lr_step_epochs` epochs.
    pub lr_gamma: f64,
    /// See `lr_gamma`.
    pub lr_step_epochs: usize,
    /// Training epochs.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Loss on the output spike times.
    pub loss: SpikeLoss,
    /// Seed of initialisation and shuffling.
    pub seed: u64,
    /// Weight bumping: largest tolerated fraction of the batch for which a hidden neuron is
    /// silent.
    pub bump_threshold_hidden: f64,
    /// Same for output neurons.
    pub bump_threshold_output: f64,
    /// First bump added to the incoming weights of neurons that missed their spike; doubles for
    /// every consecutive bump of the same layer.
    pub bump_initial: f64,
    /// Which silent fraction triggers a bump (the reference's rule by default).
    #[serde(default)]
    pub bump_rule: BumpRule,
    /// Safeguards of the backward pass.
    pub gradients: GradientOptions,
    /// Use only the first `n` training samples (smoke runs); `None` = all 5000.
    #[serde(default)]
    pub train_subset: Option<usize>,
    /// Train chip-aware under this profile (on `HardwareAware<B>`); `None` = ideal neurons.
    #[serde(default)]
    pub chip: Option<ChipProfile>,
    /// Where training runs: the f64 CPU kernel (default) or, with the `wgpu` feature, the f32
    /// GPU kernels on Burn's wgpu backend.
    #[serde(default)]
    pub device: ComputeDevice,
    /// Which epoch's network the run ends with (the paper's presets: the final one).
    #[serde(default, skip_serializing_if = "ModelSelection::is_final_epoch")]
    pub selection: ModelSelection,
    /// L2 penalty of Adam on every parameter (0 = none, as in the paper).
    #[serde(default, skip_serializing_if = "crate::trainer::config::is_zero")]
    pub weight_decay: f64,
}

/// Names accepted by [`YinYangConfig::preset`].
pub const PRESETS: &[&str] = &[
    "h30-w",
    "h30-wa",
    "h30-ws",
    "h5-ws",
    "h30-w-plus",
    "h30-wa-plus",
    "h30-ws-plus",
    "h5-ws-plus",
    "h30-wd",
    "hw-w",
    "hw-wa",
];

impl YinYangConfig {
    /// The configuration to resume the run in `dir` with: its own `config.json`. A `preset`
    /// named on the command line must be the run's.
    pub fn for_resume(dir: &Path, preset: Option<&str>) -> Result<Self> {
        let config = load_run_config(dir)?;
        super::check_resume_preset(dir, &config.preset, preset)?;
        Ok(config)
    }

    /// The paper's ideal-neuron presets `h30-w`, `h30-wa`, `h30-ws`, `h5-ws` (see
    /// `docs/model.md`); the same networks trained by our own procedure, `h30-w-plus`,
    /// `h30-wa-plus`, `h30-ws-plus`, `h5-ws-plus` (same network, parameters and data, only
    /// the schedule changes; see `docs/results.md`); `h30-wd` (dendritic delays, ours); and the
    /// hardware-aware presets `hw-w` / `hw-wa` (BrainScaleS-2 profile).
    pub fn preset(name: &str) -> Result<Self> {
        if let Some(paper) = name.strip_suffix("-plus") {
            if !["h30-w", "h30-wa", "h30-ws", "h5-ws"].contains(&paper) {
                return Err(Error::InvalidConfig(format!(
                    "unknown preset `{name}`; known presets: {}",
                    PRESETS.join(", ")
                )));
            }
            // Chosen on the validation split of seeds 0 to 4 among the procedures of
            // scripts/yinyang-plus-search.sh (ablation in artifacts/yinyang-plus/). Every
            // preset trains twice as long as the paper's; the learning-rate schedule and, for
            // h30-wa, the learning rates differ where that scored better on validation.
            let base = Self::preset(paper)?;
            let plus = match paper {
                // The paper's schedule (x0.95 every 20 epochs), twice as long.
                "h30-ws" | "h30-w" => Self {
                    epochs: 600,
                    ..base
                },
                // Twice as long with a faster decay (x0.9 every 20 epochs: 4 % of the start
                // at the end) and a learning rate of 0.01 for weights and delays (paper: 0.005).
                "h30-wa" => Self {
                    epochs: 600,
                    lr_gamma: 0.9,
                    lr: 0.01,
                    lr_delays: 0.01,
                    ..base
                },
                // Twice as long with the faster decay.
                _ => Self {
                    epochs: 600,
                    lr_gamma: 0.9,
                    ..base
                },
            };
            return Ok(Self {
                preset: name.to_string(),
                ..plus
            });
        }
        let base = Self {
            preset: name.to_string(),
            hidden: 30,
            delays: DelayKind::None,
            neuron: LifParams::ideal(),
            encoding: InputEncoding::default(),
            weight_init_hidden: (1.0, 1.0),
            weight_init_output: (1.0, 1.0),
            delay_init: (0.0, 0.25),
            delay_shift: 0.0,
            delay_scale: 1.0,
            delay_sharing: 1,
            delay_sharing_tiled: false,
            lr: 0.01,
            lr_delays: 0.003,
            lr_gamma: 0.95,
            lr_step_epochs: 20,
            epochs: 300,
            batch_size: 150,
            loss: SpikeLoss::mse(),
            seed: 0,
            bump_threshold_hidden: 0.3,
            bump_threshold_output: 0.0,
            bump_initial: 0.0005,
            bump_rule: BumpRule::LayerFraction,
            gradients: GradientOptions::reference(),
            train_subset: None,
            chip: None,
            device: ComputeDevice::Cpu,
            selection: ModelSelection::FinalEpoch,
            weight_decay: 0.0,
        };
        // The hardware-aware profile: 20 inputs (5 copies of each, sharing one delay), ratio 1 with theta
        // 2.6, delays 2.0 + 1.5 sigmoid(raw), batch 40, MSE with dt 0.3, bumping at 5 %.
        let hardware = Self {
            neuron: LifParams::hardware(),
            encoding: InputEncoding::hardware(),
            weight_init_hidden: (1.0, 0.12),
            weight_init_output: (0.075, 0.15),
            delay_init: (0.0, 0.5),
            delay_shift: 2.0,
            delay_scale: 1.5,
            lr: 0.002,
            lr_delays: 0.002,
            batch_size: 40,
            loss: SpikeLoss::ShiftInvariantMse { dt: 0.3 },
            bump_threshold_hidden: 0.05,
            bump_threshold_output: 0.05,
            chip: Some(ChipProfile::brainscales2()),
            ..base.clone()
        };
        Ok(match name {
            "h30-w" => Self {
                weight_init_hidden: (0.5, 1.0),
                weight_init_output: (0.5, 1.0),
                lr: 0.02,
                lr_delays: 0.0,
                ..base
            },
            "h30-wa" => Self {
                delays: DelayKind::Axonal,
                lr: 0.005,
                lr_delays: 0.005,
                ..base
            },
            "h30-ws" => Self {
                delays: DelayKind::Synaptic,
                ..base
            },
            "h5-ws" => Self {
                hidden: 5,
                delays: DelayKind::Synaptic,
                lr: 0.015,
                lr_delays: 0.01,
                bump_rule: BumpRule::NeuronFraction,
                ..base
            },
            "h30-wd" => Self {
                delays: DelayKind::Dendritic,
                lr: 0.01,
                lr_delays: 0.005,
                ..base
            },
            "hw-w" => Self {
                lr_delays: 0.0,
                ..hardware
            },
            "hw-wa" => Self {
                delays: DelayKind::Axonal,
                delay_sharing: 5,
                ..hardware
            },
            other => {
                return Err(Error::InvalidConfig(format!(
                    "unknown preset `{other}`; known presets: {}",
                    PRESETS.join(", ")
                )))
            }
        })
    }

    /// The general trainer's configuration of this run: `4 * repeat` inputs, one hidden layer,
    /// three output neurons.
    pub fn trainer_config(&self) -> TrainerConfig {
        let hidden = LayerSpec {
            delay_sharing: self.delay_sharing,
            ..LayerSpec::new(self.hidden, self.delays, self.weight_init_hidden)
        };
        TrainerConfig {
            n_inputs: self.encoding.num_inputs(),
            layers: vec![
                hidden,
                LayerSpec::new(NUM_CLASSES, self.delays, self.weight_init_output),
            ],
            neuron: self.neuron,
            delay_init: self.delay_init,
            delay_shift: self.delay_shift,
            delay_scale: self.delay_scale,
            delay_sharing_tiled: self.delay_sharing_tiled,
            lr: self.lr,
            lr_delays: self.lr_delays,
            lr_gamma: self.lr_gamma,
            lr_step_epochs: self.lr_step_epochs,
            epochs: self.epochs,
            batch_size: self.batch_size,
            loss: self.loss,
            seed: self.seed,
            bump_threshold_hidden: self.bump_threshold_hidden,
            bump_threshold_output: self.bump_threshold_output,
            bump_initial: self.bump_initial,
            bump_rule: self.bump_rule,
            gradients: self.gradients,
            chip: self.chip.clone(),
            device: self.device,
            selection: self.selection,
            weight_decay: self.weight_decay,
        }
    }

    /// Checks ranges that would otherwise fail deep inside training.
    pub fn validate(&self) -> Result<()> {
        if let Some(n) = self.train_subset {
            if n == 0 || n > 5000 {
                return Err(Error::InvalidConfig(format!(
                    "the training subset must hold 1 to 5000 samples, got {n}"
                )));
            }
        }
        self.encoding.validate()?;
        self.trainer_config().validate()
    }

    /// A freshly initialised network, reproducible from `seed`.
    pub fn init_network<B: Backend>(&self, device: &B::Device) -> Result<SpikingNetwork<B>> {
        self.trainer_config().init_network(device)
    }
}

/// Input spike times of Yin-Yang samples under `encoding`, as classification items.
pub fn encode_samples(encoding: &InputEncoding, samples: &[YinYangSample]) -> Vec<ClassItem> {
    samples
        .iter()
        .map(|s| ClassItem::new(encoding.encode_sample(s), s.label))
        .collect()
}

/// The three splits encoded with `config.encoding` (the training split cut to
/// `config.train_subset`).
pub fn encoded_splits(config: &YinYangConfig) -> EncodedSplits {
    let mut train = YinYangDataset::train().into_samples();
    if let Some(n) = config.train_subset {
        train.truncate(n);
    }
    EncodedSplits {
        train: encode_samples(&config.encoding, &train),
        validation: encode_samples(
            &config.encoding,
            &YinYangDataset::validation().into_samples(),
        ),
        test: encode_samples(&config.encoding, &YinYangDataset::test().into_samples()),
    }
}

/// What `summary.json` holds for an evaluation (`--eval`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalSummary {
    /// The evaluated model file.
    pub model: PathBuf,
    /// Test accuracy (fraction).
    pub test_accuracy: f64,
    /// Correctly classified test samples.
    pub correct: usize,
    /// Test samples.
    pub samples: usize,
}

impl EvalSummary {
    /// One line for a terminal.
    pub fn report_line(&self, dir: &Path) -> String {
        format!(
            "{}: test accuracy {:.1} % ({} of {}); outputs in {}",
            self.model.display(),
            100.0 * self.test_accuracy,
            self.correct,
            self.samples,
            dir.display()
        )
    }
}

/// The configuration a run in `dir` was started with.
pub fn load_run_config(dir: &Path) -> Result<YinYangConfig> {
    crate::io::load_file(&dir.join("config.json"), |bytes| {
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    })
}

/// Evaluates a network file on Yin-Yang samples with the pure f64 evaluator.
pub fn evaluate_file(file: &NetworkFile, samples: &[YinYangSample]) -> Result<Evaluation> {
    let encoding = file.encoding.yin_yang().ok_or_else(|| {
        Error::InvalidConfig("the network file's encoding is not the Yin-Yang encoding".into())
    })?;
    evaluate_file_items(file, &encode_samples(&encoding, samples))
}

/// Trains `config` and writes the run's outputs to `dir` (see
/// [`super::train_and_report`]), plus `test_predictions.png` (the test set
/// coloured by predicted class). With `resume`, continues the interrupted run in `dir` from its
/// newest complete checkpoint, exactly as if it had not been interrupted; `config` must be the
/// run's own `config.json` (see [`load_run_config`]) up to the epoch count, which may grow to
/// extend the run. Any other difference is an error.
pub fn run(
    config: &YinYangConfig,
    dir: &Path,
    resume: bool,
    progress: Progress,
) -> Result<RunSummary> {
    if resume {
        super::check_resume_config(dir, &load_run_config(dir)?, config)?;
    }
    let config = config.clone();
    config.validate()?;
    let data = encoded_splits(&config);
    let run = ClassifierRun {
        config: &config,
        preset: config.preset.clone(),
        trainer: config.trainer_config(),
        data: &data,
        encoding: Encoding::from(config.encoding),
        class_names: CLASS_NAMES.iter().map(|s| s.to_string()).collect(),
    };
    let report = train_and_report(&run, dir, resume, progress)?;
    let test = YinYangDataset::test().into_samples();
    let points: Vec<(f64, f64)> = test.iter().map(|s| (s.x, s.y)).collect();
    plots::decision_map(
        &dir.join("test_predictions.png"),
        &points,
        &report.test.labels,
        &report.test.predictions,
        "Yin-Yang test set, coloured by predicted class",
    )?;
    Ok(report.summary)
}

/// Evaluates a `delgrad-network` file on the Yin-Yang test split and writes `summary.json` and
/// `test_output_times.csv` to `dir`.
pub fn run_eval(model: &Path, dir: &Path) -> Result<EvalSummary> {
    let file = NetworkFile::load(model)?;
    let test = YinYangDataset::test().into_samples();
    let eval = evaluate_file(&file, &test)?;
    super::classifier::write_evaluation(model, &eval, dir)
}

/// Re-measures a finished chip-aware Yin-Yang run from its files (`config.json`, `model.json`):
/// rebuilds the network on the chip with the run's fixed-pattern offsets and evaluates it
/// `draws` times on the validation and test splits, each pass with fresh trial-to-trial noise.
/// For runs made before every chip-aware run measured its noise draws itself.
pub fn remeasure_chip_draws(dir: &Path, draws: usize) -> Result<super::ChipDraws> {
    type Chip = crate::hardware::HardwareAware<burn::backend::NdArray<f64>>;
    let config = load_run_config(dir)?;
    let trainer = config.trainer_config();
    if trainer.chip.is_none() {
        return Err(Error::InvalidConfig(format!(
            "{} is not a chip-aware run",
            dir.display()
        )));
    }
    let file = NetworkFile::load(dir.join("model.json"))?;
    let configs = trainer.layer_configs();
    if configs.len() != file.layers.len() {
        return Err(Error::MalformedFile {
            path: dir.join("model.json"),
            reason: format!(
                "{} layers, the run's configuration has {}",
                file.layers.len(),
                configs.len()
            ),
        });
    }
    let device = Default::default();
    let layers = configs
        .iter()
        .zip(&file.layers)
        .map(|(c, lf)| {
            let delays = lf.delays_flat();
            c.init_with::<Chip>(
                &lf.weights_flat(),
                delays.values().map(Vec::as_slice),
                &device,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let net = SpikingNetwork { layers };
    super::ChipDraws::measure(&net, &encoded_splits(&config), draws, None, &device)
}
