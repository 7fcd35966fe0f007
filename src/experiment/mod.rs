//! Experiments as a whole (feature `trainer`): train a classifier with the general trainer and
//! write everything a run produces (`config.json`, `summary.json`, `metrics.csv`, `model.json`,
//! `test_output_times.csv`, figures), for Yin-Yang ([`yinyang`]), the 8x8 digits ([`digits`])
//! and MNIST ([`mnist`]), or any data a program brings ([`train_and_report`]).

pub mod classifier;
pub mod digits;
pub mod mnist;
pub mod yinyang;

use std::path::Path;

use burn::backend::{Autodiff, NdArray};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::backend::SpikeBackend;
use crate::data::ClassItem;
use crate::error::{Error, Result};
use crate::hardware::HardwareAware;
use crate::io::write_atomically;
use crate::loss::first_spike_class;
use crate::model::{tensor_values, SpikingNetwork};
use crate::network::{Encoding, NetworkFile};
use crate::plots::{self, CurvePoint, RasterSample};
use crate::trainer::{
    fit, ComputeDevice, EpochMetrics, FitOutcome, ModelSelection, Progress, TrainerConfig,
};

pub use classifier::{evaluate_model, run_classifier, ClassifierConfig};
pub use yinyang::{
    evaluate_file, load_run_config, remeasure_chip_draws, run, run_eval, EvalSummary,
    YinYangConfig, PRESETS,
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

/// What `summary.json` holds for a training run; `C` is the experiment's own configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary<C = YinYangConfig> {
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
    /// For chip-aware runs: accuracies over independent draws of the chip's trial-to-trial
    /// noise (`test_accuracy` and `val_accuracy` above are the first draw).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chip_draws: Option<ChipDraws>,
    /// The epoch whose network was kept, when the run selects the best validation epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected_epoch: Option<usize>,
    /// Checkpoints a resume passed over, and why (missing or unreadable files).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped_checkpoints: Vec<String>,
    /// The full configuration.
    pub config: C,
}

/// Noise draws evaluated per chip-aware run.
pub const CHIP_DRAWS: usize = 10;

/// Accuracies of one chip-aware network over independent draws of the chip's trial-to-trial
/// noise: each draw is one evaluation pass over the split, whose every forward call draws fresh
/// threshold noise (the fixed-pattern offsets are the same in all draws).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChipDraws {
    /// Test accuracy of each draw (fraction).
    pub test: Vec<f64>,
    /// Validation accuracy of each draw (fraction).
    pub validation: Vec<f64>,
    /// Mean and standard deviation of `test`.
    pub test_mean: f64,
    /// Standard deviation of `test` (sample, n - 1).
    pub test_std: f64,
    /// Mean of `validation`.
    pub val_mean: f64,
    /// Standard deviation of `validation` (sample, n - 1).
    pub val_std: f64,
}

impl ChipDraws {
    /// Summarises per-draw accuracies.
    pub fn new(test: Vec<f64>, validation: Vec<f64>) -> Self {
        let (test_mean, test_std) = mean_std(&test);
        let (val_mean, val_std) = mean_std(&validation);
        Self {
            test,
            validation,
            test_mean,
            test_std,
            val_mean,
            val_std,
        }
    }

    /// Evaluates `net` (chip-bound layers draw their noise per call) `draws` times on each
    /// split, continuing its noise streams; `first` are accuracies already measured (test,
    /// validation) that count as the first draw.
    pub fn measure<B: SpikeBackend>(
        net: &SpikingNetwork<B>,
        data: &EncodedSplits,
        draws: usize,
        first: Option<(f64, f64)>,
        device: &B::Device,
    ) -> Result<Self> {
        let (mut test, mut validation) = (Vec::new(), Vec::new());
        if let Some((t, v)) = first {
            test.push(t);
            validation.push(v);
        }
        while test.len() < draws {
            validation.push(evaluate(net, &data.validation, device)?.accuracy());
            test.push(evaluate(net, &data.test, device)?.accuracy());
        }
        Ok(Self::new(test, validation))
    }
}

impl<C> RunSummary<C> {
    /// One line for a terminal: accuracies, parameters, seconds and where the outputs are.
    pub fn report_line(&self, dir: &Path) -> String {
        format!(
            "{} seed {}: test {:.1} %, validation {:.1} %, train {:.1} %; {} parameters; \
             trained in {:.1} s; outputs in {}",
            self.preset,
            self.seed,
            100.0 * self.test_accuracy,
            100.0 * self.val_accuracy,
            100.0 * self.train_accuracy,
            self.n_params,
            self.train_seconds,
            dir.display()
        )
    }
}

/// Spike times of a network on a set of samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Spike times of every layer, row-major `[samples, n]`, input side first.
    pub layer_times: Vec<Vec<f64>>,
    /// First-spike prediction per sample (`None` = no output spike).
    pub predictions: Vec<Option<usize>>,
    /// The labels.
    pub labels: Vec<usize>,
    /// Samples whose prediction equals the label.
    pub correct: usize,
}

impl Evaluation {
    /// Decodes the output layer's times of `labels.len()` samples.
    pub fn from_times(layer_times: Vec<Vec<f64>>, labels: Vec<usize>) -> Result<Self> {
        let out = layer_times
            .last()
            .ok_or_else(|| Error::InvalidConfig("a network needs at least one layer".into()))?;
        let n_out = out.len() / labels.len().max(1);
        let predictions: Vec<Option<usize>> =
            out.chunks(n_out.max(1)).map(first_spike_class).collect();
        let correct = predictions
            .iter()
            .zip(&labels)
            .filter(|(p, l)| **p == Some(**l))
            .count();
        Ok(Self {
            layer_times,
            predictions,
            labels,
            correct,
        })
    }

    /// Output spike times.
    pub fn output_times(&self) -> &[f64] {
        self.layer_times.last().map_or(&[], Vec::as_slice)
    }

    /// Accuracy as a fraction of the samples.
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.predictions.len().max(1) as f64
    }

    /// Confusion counts `[n_classes][n_classes + 1]`: rows are true classes, columns predicted
    /// classes, the last column samples without an output spike.
    pub fn confusion(&self, n_classes: usize) -> Vec<Vec<usize>> {
        let mut counts = vec![vec![0; n_classes + 1]; n_classes];
        for (p, &l) in self.predictions.iter().zip(&self.labels) {
            if let Some(row) = counts.get_mut(l) {
                row[p.unwrap_or(n_classes).min(n_classes)] += 1;
            }
        }
        counts
    }
}

/// Evaluates a Burn network on items whose features are input spike times, in batches of 1000.
pub fn evaluate<B: SpikeBackend>(
    net: &SpikingNetwork<B>,
    items: &[ClassItem],
    device: &B::Device,
) -> Result<Evaluation> {
    let n_in = items.first().map_or(0, |i| i.features.len());
    let mut layer_times: Vec<Vec<f64>> = Vec::new();
    for chunk in items.chunks(1000) {
        let mut input = Vec::with_capacity(chunk.len() * n_in);
        for item in chunk {
            if item.features.len() != n_in {
                return Err(Error::InvalidConfig(format!(
                    "samples have {} and {} input spike times",
                    n_in,
                    item.features.len()
                )));
            }
            input.extend_from_slice(&item.features);
        }
        let x = Tensor::<B, 2>::from_data(TensorData::new(input, [chunk.len(), n_in]), device);
        let times = net.try_forward_all(x)?;
        if layer_times.is_empty() {
            layer_times = vec![Vec::new(); times.len()];
        }
        for (all, t) in layer_times.iter_mut().zip(times) {
            all.extend(tensor_values(t)?);
        }
    }
    Evaluation::from_times(layer_times, items.iter().map(|i| i.label).collect())
}

/// `test_output_times.csv`: `sample,label,t0,t1,...`, `inf` for no spike.
pub fn output_times_csv(labels: &[usize], output_times: &[f64]) -> String {
    let n_out = output_times.len() / labels.len().max(1);
    let mut text = String::from("sample,label");
    for k in 0..n_out {
        text.push_str(&format!(",t{k}"));
    }
    text.push('\n');
    for (i, (label, row)) in labels
        .iter()
        .zip(output_times.chunks(n_out.max(1)))
        .enumerate()
    {
        text.push_str(&format!("{i},{label}"));
        for t in row {
            // Rust prints the shortest round-trip decimal, and `inf` for no spike.
            text.push_str(&format!(",{t}"));
        }
        text.push('\n');
    }
    text
}

pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Malformed(format!("serialising {}: {e}", path.display())))?;
    write_atomically(path, text.as_bytes())
}

pub(crate) fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })
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

/// Data of a classification run, already encoded: every item's features are input spike times.
#[derive(Debug, Clone, Default)]
pub struct EncodedSplits {
    /// Training samples.
    pub train: Vec<ClassItem>,
    /// Validation samples (model selection, learning curves).
    pub validation: Vec<ClassItem>,
    /// Test samples (reported only).
    pub test: Vec<ClassItem>,
}

/// A classification run: what to train, on what, and how to describe it in the outputs.
#[derive(Debug, Clone)]
pub struct ClassifierRun<'a, C> {
    /// The experiment's own configuration (written to `config.json` and `summary.json`).
    pub config: &'a C,
    /// Preset name for the summary.
    pub preset: String,
    /// The trainer's configuration.
    pub trainer: TrainerConfig,
    /// The encoded data.
    pub data: &'a EncodedSplits,
    /// The input encoding, stored in `model.json`.
    pub encoding: Encoding,
    /// Class names for the figures.
    pub class_names: Vec<String>,
}

/// What [`train_and_report`] leaves besides the files.
pub struct Report<C> {
    /// The summary (also in `summary.json`).
    pub summary: RunSummary<C>,
    /// The trained network's file (also in `model.json`).
    pub file: NetworkFile,
    /// Spike times of every layer on the test split.
    pub test: Evaluation,
}

/// Trains `run` on the backend its configuration names and writes the run's outputs to `dir`:
/// `config.json`, `metrics.csv`, `model.json`, `test_output_times.csv`, `summary.json`,
/// `learning_curves.png`, `confusion_matrix.png`, `spike_raster.png` and `spike_times.png`.
pub fn train_and_report<C: Serialize + Clone>(
    run: &ClassifierRun<'_, C>,
    dir: &Path,
    resume: bool,
    progress: Progress,
) -> Result<Report<C>> {
    run.trainer.validate()?;
    create_dir(dir)?;
    write_json(&dir.join("config.json"), run.config)?;
    let chip = run.trainer.chip.is_some();
    match run.trainer.device {
        ComputeDevice::Cpu if chip => train_on::<ChipTrainBackend, C>(run, dir, resume, progress),
        ComputeDevice::Cpu => train_on::<TrainBackend, C>(run, dir, resume, progress),
        #[cfg(feature = "wgpu")]
        ComputeDevice::Wgpu if chip => {
            train_on::<GpuChipTrainBackend, C>(run, dir, resume, progress)
        }
        #[cfg(feature = "wgpu")]
        ComputeDevice::Wgpu => train_on::<GpuTrainBackend, C>(run, dir, resume, progress),
        #[cfg(not(feature = "wgpu"))]
        ComputeDevice::Wgpu => Err(Error::InvalidConfig(
            "the wgpu device needs a build with the cargo feature `wgpu`".into(),
        )),
    }
}

/// Trains on backend `B` (on its default device) and writes the run's outputs.
fn train_on<B, C: Serialize + Clone>(
    run: &ClassifierRun<'_, C>,
    dir: &Path,
    resume: bool,
    progress: Progress,
) -> Result<Report<C>>
where
    B: AutodiffBackend + SpikeBackend,
    B::InnerBackend: SpikeBackend,
{
    let device = Default::default();
    let outcome = fit::<B>(
        &run.trainer,
        run.data.train.clone(),
        run.data.validation.clone(),
        dir,
        resume,
        progress,
        &device,
    )?;
    finish_run(run, dir, &outcome, &device)
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

fn finish_run<B: SpikeBackend, C: Serialize + Clone>(
    run: &ClassifierRun<'_, C>,
    dir: &Path,
    outcome: &FitOutcome<B>,
    device: &B::Device,
) -> Result<Report<C>> {
    let net = &outcome.network;
    let history = &outcome.history;
    let resumed_from = outcome.resumed_from;
    for skipped in &outcome.skipped_checkpoints {
        // The run goes on from an older checkpoint; the user should know why.
        eprintln!("warning: {skipped}");
    }
    // Validation of the exported file also guarantees no NaN parameter is ever saved.
    let mut file = net.to_file(run.encoding.clone())?;
    file.chip = chip_section(net, &file);
    file.save(dir.join("model.json"))?;

    let eval_train = evaluate(net, &run.data.train, device)?;
    let eval_val = evaluate(net, &run.data.validation, device)?;
    let eval_test = evaluate(net, &run.data.test, device)?;
    write_atomically(
        &dir.join("test_output_times.csv"),
        output_times_csv(&eval_test.labels, eval_test.output_times()).as_bytes(),
    )?;
    EpochMetrics::write_csv(&dir.join("metrics.csv"), history)?;

    let earlier: f64 = history
        .iter()
        .filter(|r| r.epoch <= resumed_from)
        .map(|r| r.seconds)
        .sum();
    let test_accuracy_ideal = match run.trainer.chip {
        Some(_) => Some(evaluate_file_items(&file, &run.data.test)?.accuracy()),
        None => None,
    };
    let chip_draws = match run.trainer.chip {
        Some(_) => Some(ChipDraws::measure(
            net,
            run.data,
            CHIP_DRAWS,
            Some((eval_test.accuracy(), eval_val.accuracy())),
            device,
        )?),
        None => None,
    };
    let summary = RunSummary {
        preset: run.preset.clone(),
        seed: run.trainer.seed,
        epochs: run.trainer.epochs,
        test_accuracy: eval_test.accuracy(),
        val_accuracy: eval_val.accuracy(),
        train_accuracy: eval_train.accuracy(),
        n_params: net.num_trainable(),
        train_seconds: outcome.train_seconds + earlier,
        resumed_from,
        weight_bumps: outcome.bumps,
        chip: run.trainer.chip.as_ref().map(|c| c.name.clone()),
        test_accuracy_ideal,
        chip_draws,
        selected_epoch: (run.trainer.selection == ModelSelection::BestValidation)
            .then_some(outcome.selected_epoch),
        skipped_checkpoints: outcome
            .skipped_checkpoints
            .iter()
            .map(|s| s.to_string())
            .collect(),
        config: run.config.clone(),
    };
    write_figures(dir, history, &eval_test, &run.class_names)?;
    write_json(&dir.join("summary.json"), &summary)?;
    Ok(Report {
        summary,
        file,
        test: eval_test,
    })
}

/// Evaluates a network file with the pure f64 evaluator on items whose features are input
/// spike times.
pub fn evaluate_file_items(file: &NetworkFile, items: &[ClassItem]) -> Result<Evaluation> {
    let mut input = Vec::new();
    for item in items {
        input.extend_from_slice(&item.features);
    }
    let times = file.forward(&input, items.len())?;
    Evaluation::from_times(times, items.iter().map(|i| i.label).collect())
}

/// Test samples drawn in the spike raster.
const RASTER_SAMPLES: usize = 4;

fn write_figures(
    dir: &Path,
    history: &[EpochMetrics],
    eval: &Evaluation,
    class_names: &[String],
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
    let n_layers = eval.layer_times.len();
    let layer_name = |l: usize| -> String {
        if l + 1 == n_layers {
            "output".into()
        } else if n_layers == 2 {
            "hidden".into()
        } else {
            format!("hidden {}", l + 1)
        }
    };
    let panels: Vec<(String, &[f64])> = eval
        .layer_times
        .iter()
        .enumerate()
        .map(|(l, t)| (layer_name(l), t.as_slice()))
        .collect();
    let panel_refs: Vec<(&str, &[f64])> = panels.iter().map(|(n, t)| (n.as_str(), *t)).collect();
    plots::spike_time_histograms(&dir.join("spike_times.png"), &panel_refs)?;
    let n_classes = class_names.len();
    plots::confusion_matrix(
        &dir.join("confusion_matrix.png"),
        &eval.confusion(n_classes),
        class_names,
        "Test set: true class (rows) against first-spike prediction",
    )?;
    Ok(())
}

/// Writes `spike_raster.png`: input, hidden and output spike times of the first few test
/// samples. `inputs` are the test items' encoded input times.
pub fn write_raster(
    dir: &Path,
    eval: &Evaluation,
    inputs: &[ClassItem],
    class_names: &[String],
) -> Result<()> {
    let n = eval.labels.len().min(RASTER_SAMPLES).min(inputs.len());
    let n_layers = eval.layer_times.len();
    let samples: Vec<RasterSample> = (0..n)
        .map(|s| {
            let mut layers = vec![inputs[s].features.clone()];
            for l in 0..n_layers {
                let width = eval.layer_times[l].len() / eval.labels.len().max(1);
                layers.push(eval.layer_times[l][s * width..(s + 1) * width].to_vec());
            }
            // The figure adds the prediction (the earliest output spike) itself.
            let label = eval.labels[s];
            RasterSample {
                label: class_names
                    .get(label)
                    .cloned()
                    .unwrap_or_else(|| label.to_string()),
                layers,
            }
        })
        .collect();
    let mut names = vec!["input".to_string()];
    for l in 0..n_layers {
        names.push(if l + 1 == n_layers {
            "output".into()
        } else {
            format!("hidden {}", l + 1)
        });
    }
    plots::spike_raster(&dir.join("spike_raster.png"), &samples, &names)
}

/// Resuming continues the run that `stored` describes: `requested` may change its epoch count
/// (to extend it) and nothing else. Anything else that differs is an error naming each field.
pub fn check_resume_config<C: Serialize>(dir: &Path, stored: &C, requested: &C) -> Result<()> {
    fn diff(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
        use serde_json::Value;
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    if k == "epochs" {
                        continue;
                    }
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    let null = Value::Null;
                    diff(
                        &p,
                        x.get(k).unwrap_or(&null),
                        y.get(k).unwrap_or(&null),
                        out,
                    );
                }
            }
            _ if a != b => out.push(format!("{path}: the run has {a}, this call asks for {b}")),
            _ => {}
        }
    }
    let to_value = |c: &C| {
        serde_json::to_value(c).map_err(|e| Error::InvalidConfig(format!("configuration: {e}")))
    };
    let mut differences = Vec::new();
    diff(
        "",
        &to_value(stored)?,
        &to_value(requested)?,
        &mut differences,
    );
    if differences.is_empty() {
        return Ok(());
    }
    Err(Error::InvalidConfig(format!(
        "cannot resume {}: only the epoch count may change on resume, but {}",
        dir.display(),
        differences.join("; ")
    )))
}

/// A preset named for a resumed run must be the run's own.
pub(crate) fn check_resume_preset(dir: &Path, stored: &str, requested: Option<&str>) -> Result<()> {
    match requested {
        Some(p) if p != stored => Err(Error::InvalidConfig(format!(
            "cannot resume {}: the run's preset is {stored}, this call asks for {p}",
            dir.display()
        ))),
        _ => Ok(()),
    }
}
