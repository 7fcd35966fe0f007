//! The Yin-Yang experiment as a whole: train a preset and write everything a run produces
//! (`summary.json`, `metrics.csv`, `model.json`, `test_output_times.csv`, figures), or evaluate
//! a `delgrad-network` file on the test split.

use std::path::{Path, PathBuf};

use burn::backend::{Autodiff, NdArray};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::backend::SpikeBackend;
use crate::data::{InputEncoding, YinYangDataset, YinYangSample};
use crate::error::{Error, Result};
use crate::hardware::HardwareAware;
use crate::io::write_atomically;
use crate::loss::first_spike_class;
use crate::model::{tensor_values, SpikingNetwork};
use crate::network::NetworkFile;
use crate::plots::{self, CurvePoint};
use crate::train::{
    fit, ComputeDevice, EpochMetrics, FitOutcome, Progress, TrainConfig, METRICS_HEADER,
};

/// The backend experiments train on: f64 end to end, so an exported model evaluates to the very
/// same spike times.
pub type TrainBackend = Autodiff<NdArray<f64>>;

/// The backend chip-aware experiments train on: the same, with the chip applied in the spiking op.
pub type ChipTrainBackend = Autodiff<HardwareAware<NdArray<f64>>>;

/// The GPU backend (`--device wgpu`): f32 CubeCL kernels on Burn's wgpu backend.
#[cfg(feature = "wgpu")]
pub type GpuTrainBackend = Autodiff<burn::backend::wgpu::Wgpu>;

/// Chip-aware training on the GPU backend.
#[cfg(feature = "wgpu")]
pub type GpuChipTrainBackend = Autodiff<HardwareAware<burn::backend::wgpu::Wgpu>>;

/// What `summary.json` holds for a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Preset name.
    pub preset: String,
    /// Seed of initialisation and shuffling.
    pub seed: u64,
    /// Epochs trained in total.
    pub epochs: usize,
    /// Test accuracy of the final network (fraction).
    pub test_accuracy: f64,
    /// Validation accuracy of the final network (fraction).
    pub val_accuracy: f64,
    /// Training accuracy of the final network (fraction).
    pub train_accuracy: f64,
    /// Trainable scalars.
    pub n_params: usize,
    /// Wall time of training (seconds), including epochs before a resume.
    pub train_seconds: f64,
    /// Epoch this run resumed after (0 = trained in one go).
    pub resumed_from: usize,
    /// Weight bumps applied during training.
    pub weight_bumps: usize,
    /// Chip profile the run trained and was evaluated under (`None` = ideal neurons).
    pub chip: Option<String>,
    /// For chip-aware runs: test accuracy of the same network on ideal neurons (fraction).
    pub test_accuracy_ideal: Option<f64>,
    /// The full configuration.
    pub config: TrainConfig,
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

/// Spike times of a network on a set of samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Spike times of every layer, row-major `[samples, n]`, input side first.
    pub layer_times: Vec<Vec<f64>>,
    /// First-spike prediction per sample (`None` = no output spike).
    pub predictions: Vec<Option<usize>>,
    /// Samples whose prediction equals the label.
    pub correct: usize,
}

impl Evaluation {
    fn from_times(layer_times: Vec<Vec<f64>>, samples: &[YinYangSample]) -> Result<Self> {
        let out = layer_times
            .last()
            .ok_or_else(|| Error::InvalidConfig("a network needs at least one layer".into()))?;
        let n_out = out.len() / samples.len().max(1);
        let predictions: Vec<Option<usize>> =
            out.chunks(n_out.max(1)).map(first_spike_class).collect();
        let correct = predictions
            .iter()
            .zip(samples)
            .filter(|(p, s)| **p == Some(s.label))
            .count();
        Ok(Self {
            layer_times,
            predictions,
            correct,
        })
    }

    /// Output spike times.
    pub fn output_times(&self) -> &[f64] {
        self.layer_times.last().map_or(&[], Vec::as_slice)
    }

    /// Accuracy as a fraction of `n` samples.
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.predictions.len().max(1) as f64
    }
}

/// Evaluates a Burn network on samples.
pub fn evaluate<B: SpikeBackend>(
    net: &SpikingNetwork<B>,
    encoding: &InputEncoding,
    samples: &[YinYangSample],
    device: &B::Device,
) -> Result<Evaluation> {
    let input = encoding.encode_batch(samples);
    let x = Tensor::<B, 2>::from_data(
        TensorData::new(input, [samples.len(), encoding.num_inputs()]),
        device,
    );
    let times = net
        .try_forward_all(x)?
        .into_iter()
        .map(tensor_values)
        .collect::<Result<Vec<_>>>()?;
    Evaluation::from_times(times, samples)
}

/// Evaluates a network file on samples with the pure f64 evaluator.
pub fn evaluate_file(file: &NetworkFile, samples: &[YinYangSample]) -> Result<Evaluation> {
    let input = file.encoding.encode_batch(samples);
    let times = file.forward(&input, samples.len())?;
    Evaluation::from_times(times, samples)
}

/// `test_output_times.csv`: `sample,label,t0,t1,...`, `inf` for no spike.
pub fn output_times_csv(samples: &[YinYangSample], output_times: &[f64]) -> String {
    let n_out = output_times.len() / samples.len().max(1);
    let mut text = String::from("sample,label");
    for k in 0..n_out {
        text.push_str(&format!(",t{k}"));
    }
    text.push('\n');
    for (i, (s, row)) in samples
        .iter()
        .zip(output_times.chunks(n_out.max(1)))
        .enumerate()
    {
        text.push_str(&format!("{i},{}", s.label));
        for t in row {
            // Rust prints the shortest round-trip decimal, and `inf` for no spike.
            text.push_str(&format!(",{t}"));
        }
        text.push('\n');
    }
    text
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Malformed(format!("serialising {}: {e}", path.display())))?;
    write_atomically(path, text.as_bytes())
}

/// Mean and sample standard deviation (0 for fewer than two values) of repeated measurements,
/// e.g. accuracies over seeds. NaN for an empty slice.
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let std = if values.len() > 1 {
        (values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    } else {
        0.0
    };
    (mean, std)
}

/// The configuration a run in `dir` was started with.
pub fn load_run_config(dir: &Path) -> Result<TrainConfig> {
    crate::io::load_file(&dir.join("config.json"), |bytes| {
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    })
}

/// Trains `config` and writes the run's outputs to `dir`. With `resume`, continues the
/// interrupted run in `dir` from its last completed epoch (its `config.json` is used, with the
/// epoch count of `config`).
pub fn run(
    config: &TrainConfig,
    dir: &Path,
    resume: bool,
    progress: Progress,
) -> Result<RunSummary> {
    let config = if resume {
        TrainConfig {
            epochs: config.epochs,
            ..load_run_config(dir)?
        }
    } else {
        config.clone()
    };
    config.validate()?;
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    write_json(&dir.join("config.json"), &config)?;

    let chip = config.chip.is_some();
    match config.device {
        ComputeDevice::Cpu if chip => train_on::<ChipTrainBackend>(&config, dir, resume, progress),
        ComputeDevice::Cpu => train_on::<TrainBackend>(&config, dir, resume, progress),
        #[cfg(feature = "wgpu")]
        ComputeDevice::Wgpu if chip => {
            train_on::<GpuChipTrainBackend>(&config, dir, resume, progress)
        }
        #[cfg(feature = "wgpu")]
        ComputeDevice::Wgpu => train_on::<GpuTrainBackend>(&config, dir, resume, progress),
        #[cfg(not(feature = "wgpu"))]
        ComputeDevice::Wgpu => Err(Error::InvalidConfig(
            "--device wgpu needs a build with `--features wgpu`".into(),
        )),
    }
}

/// Trains on backend `B` (on its default device) and writes the run's outputs.
fn train_on<B>(
    config: &TrainConfig,
    dir: &Path,
    resume: bool,
    progress: Progress,
) -> Result<RunSummary>
where
    B: AutodiffBackend + SpikeBackend,
    B::InnerBackend: SpikeBackend,
{
    let device = Default::default();
    let outcome = fit::<B>(config, dir, resume, progress, &device)?;
    finish_run(config, dir, &outcome, &device)
}

/// The `chip` section of an exported chip-aware model: the profile, and per layer the integer
/// weights and the delays as the chip would be configured, plus the simulated fixed pattern.
fn chip_section<B: SpikeBackend>(
    net: &SpikingNetwork<B>,
    file: &NetworkFile,
) -> Option<serde_json::Value> {
    let layers: Vec<serde_json::Value> = net
        .layers
        .iter()
        .zip(&file.layers)
        .filter_map(|(layer, lf)| {
            let chip = layer.op().chip.as_ref()?;
            let p = chip.profile();
            let weights: Vec<Vec<Option<i64>>> = lf
                .weights
                .iter()
                .map(|row| row.iter().map(|&w| p.chip_weight_int(w)).collect())
                .collect();
            let d = lf.delays_flat();
            let delays = d.values().map(|v| {
                serde_json::json!({
                    "kind": d.kind().name(),
                    "values": v.iter().map(|&x| p.chip_delay(x)).collect::<Vec<_>>(),
                })
            });
            Some(serde_json::json!({
                "weights": weights,
                "weight_step": p.weight_step,
                "delays": delays,
                "threshold_offsets": chip.threshold_offsets(),
            }))
        })
        .collect();
    let profile = net.layers.first()?.op().chip.as_ref()?.profile().clone();
    Some(serde_json::json!({ "profile": profile, "layers": layers }))
}

fn finish_run<B: SpikeBackend>(
    config: &TrainConfig,
    dir: &Path,
    outcome: &FitOutcome<B>,
    device: &B::Device,
) -> Result<RunSummary> {
    let net = &outcome.network;
    let history = &outcome.history;
    let resumed_from = outcome.resumed_from;
    // Validation of the exported file also guarantees no NaN parameter is ever saved.
    let mut file = net.to_file(config.encoding)?;
    file.chip = chip_section(net, &file);
    file.save(dir.join("model.json"))?;

    let train = YinYangDataset::train().into_samples();
    let val = YinYangDataset::validation().into_samples();
    let test = YinYangDataset::test().into_samples();
    let eval_train = evaluate(net, &config.encoding, &train, device)?;
    let eval_val = evaluate(net, &config.encoding, &val, device)?;
    let eval_test = evaluate(net, &config.encoding, &test, device)?;
    write_atomically(
        &dir.join("test_output_times.csv"),
        output_times_csv(&test, eval_test.output_times()).as_bytes(),
    )?;

    let mut metrics = String::from(METRICS_HEADER);
    metrics.push('\n');
    for row in history {
        metrics.push_str(&row.csv_line());
        metrics.push('\n');
    }
    write_atomically(&dir.join("metrics.csv"), metrics.as_bytes())?;

    let earlier: f64 = history
        .iter()
        .filter(|r| r.epoch <= resumed_from)
        .map(|r| r.seconds)
        .sum();
    let summary = RunSummary {
        preset: config.preset.clone(),
        seed: config.seed,
        epochs: config.epochs,
        test_accuracy: eval_test.accuracy(),
        val_accuracy: eval_val.accuracy(),
        train_accuracy: eval_train.accuracy(),
        n_params: net.num_trainable(),
        train_seconds: outcome.train_seconds + earlier,
        resumed_from,
        weight_bumps: outcome.bumps,
        chip: config.chip.as_ref().map(|c| c.name.clone()),
        test_accuracy_ideal: match config.chip {
            Some(_) => Some(evaluate_file(&file, &test)?.accuracy()),
            None => None,
        },
        config: config.clone(),
    };
    write_figures(dir, history, &test, &eval_test)?;
    write_json(&dir.join("summary.json"), &summary)?;
    Ok(summary)
}

fn write_figures(
    dir: &Path,
    history: &[EpochMetrics],
    test: &[YinYangSample],
    eval: &Evaluation,
) -> Result<()> {
    let curve: Vec<CurvePoint> = history
        .iter()
        .map(|r| CurvePoint {
            epoch: r.epoch,
            train_loss: r.train_loss,
            val_loss: r.val_loss,
            train_accuracy: r.train_accuracy,
            val_accuracy: r.val_accuracy,
        })
        .collect();
    if !curve.is_empty() {
        plots::learning_curves(&dir.join("learning_curves.png"), &curve)?;
    }
    let points: Vec<(f64, f64)> = test.iter().map(|s| (s.x, s.y)).collect();
    let labels: Vec<usize> = test.iter().map(|s| s.label).collect();
    plots::decision_map(
        &dir.join("test_predictions.png"),
        &points,
        &labels,
        &eval.predictions,
        "Yin-Yang test set, coloured by predicted class",
    )?;
    let names = ["input", "hidden", "output"];
    let panels: Vec<(&str, &[f64])> = eval
        .layer_times
        .iter()
        .enumerate()
        .map(|(l, t)| {
            let k = if l + 1 == eval.layer_times.len() {
                2
            } else {
                1
            };
            (names[k], t.as_slice())
        })
        .collect();
    plots::spike_time_histograms(&dir.join("spike_times.png"), &panels)
}

/// Evaluates a `delgrad-network` file on the Yin-Yang test split and writes `summary.json` and
/// `test_output_times.csv` to `dir`.
pub fn run_eval(model: &Path, dir: &Path) -> Result<EvalSummary> {
    let file = NetworkFile::load(model)?;
    let test = YinYangDataset::test().into_samples();
    let eval = evaluate_file(&file, &test)?;
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    write_atomically(
        &dir.join("test_output_times.csv"),
        output_times_csv(&test, eval.output_times()).as_bytes(),
    )?;
    let summary = EvalSummary {
        model: model.to_path_buf(),
        test_accuracy: eval.accuracy(),
        correct: eval.correct,
        samples: test.len(),
    };
    write_json(&dir.join("summary.json"), &summary)?;
    Ok(summary)
}
