//! Any labelled data set, end to end: a [`ClassifierConfig`] (a latency encoder plus the
//! trainer's configuration) and [`DataSplits`] of raw features in, every output of a run out.
//! The digits and MNIST experiments are thin users of this module, and so can a program with
//! its own data be:
//!
//! ```no_run
//! use delgrad::data::{ClassItem, DataSplits};
//! use delgrad::encoding::LatencyEncoder;
//! use delgrad::experiment::{run_classifier, ClassifierConfig};
//! use delgrad::trainer::{Progress, TrainerConfig};
//! use delgrad::DelayKind;
//!
//! # fn main() -> delgrad::Result<()> {
//! # let my_items: Vec<ClassItem> = Vec::new();
//! // Features in [0, 1], 3 classes; split 60/20/20, stratified, seed 0.
//! let splits = DataSplits::stratified(my_items, [0.6, 0.2, 0.2], 0)?;
//! let encoder = LatencyEncoder::new(0.0, 1.0, 0.15, 2.0);
//! let n_in = encoder.num_inputs(8);
//! let config = ClassifierConfig {
//!     preset: "mine".into(),
//!     encoder,
//!     trainer: TrainerConfig::new(&[n_in, 50, 3], DelayKind::Synaptic),
//! };
//! let summary = run_classifier(&config, &splits, None, "runs/mine".as_ref(), false, Progress::lines(300))?;
//! println!("test accuracy {:.1} %", 100.0 * summary.test_accuracy);
//! # Ok(())
//! # }
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{
    create_dir, evaluate_file_items, output_times_csv, train_and_report, write_json, write_raster,
    ClassifierRun, EncodedSplits, EvalSummary, RunSummary,
};
use crate::data::{ClassItem, DataSplits};
use crate::encoding::LatencyEncoder;
use crate::error::{Error, Result};
use crate::io::write_atomically;
use crate::network::{Encoding, NetworkFile};
use crate::trainer::{Progress, TrainerConfig};

/// A classification experiment: how features become spike times, and what to train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifierConfig {
    /// Name of the preset (or of the user's experiment).
    pub preset: String,
    /// Features to input spike times.
    pub encoder: LatencyEncoder,
    /// The network and its training.
    pub trainer: TrainerConfig,
}

impl ClassifierConfig {
    /// Checks the encoder and the trainer's configuration, and that they agree on the number
    /// of inputs for `n_features` features.
    pub fn validate(&self, n_features: usize) -> Result<()> {
        self.encoder.validate()?;
        self.trainer.validate()?;
        let n_in = self.encoder.num_inputs(n_features);
        if n_in != self.trainer.n_inputs {
            return Err(Error::InvalidConfig(format!(
                "the encoder makes {n_in} inputs of {n_features} features, the network takes {}",
                self.trainer.n_inputs
            )));
        }
        Ok(())
    }

    /// The configuration a run in `dir` was started with.
    pub fn load(dir: &Path) -> Result<Self> {
        crate::io::load_file(&dir.join("config.json"), |bytes| {
            serde_json::from_slice(bytes).map_err(|e| e.to_string())
        })
    }

    /// The configuration to resume the run in `dir` with: its own `config.json`. A `preset`
    /// named on the command line must be the run's.
    pub fn for_resume(dir: &Path, preset: Option<&str>) -> Result<Self> {
        let config = Self::load(dir)?;
        super::check_resume_preset(dir, &config.preset, preset)?;
        Ok(config)
    }
}

/// The procedure the image presets (digits, MNIST) share, chosen on the digits' validation
/// split: weights N(g / fan_in, 2 g / fan_in) with a gain `g` that makes the summed weights of an
/// image's lit pixels reach threshold within the input window (6 for the digits, where about half
/// the pixels are lit), Adam at 0.005 without delays and
/// 0.01 with them (delays 0.002), batch 50, the shift-invariant MSE (it beat the TTFS
/// cross-entropy by 2 to 4 points at every learning rate tried). Epochs and schedule are the
/// caller's.
pub(crate) fn image_preset(
    name: &str,
    encoder: LatencyEncoder,
    n_features: usize,
    hidden: &[usize],
    n_classes: usize,
    delays: crate::types::DelayKind,
    weight_gain: f64,
) -> ClassifierConfig {
    let mut sizes = vec![encoder.num_inputs(n_features)];
    sizes.extend_from_slice(hidden);
    sizes.push(n_classes);
    let mut trainer = TrainerConfig::new(&sizes, delays);
    for (layer, &fan_in) in trainer.layers.iter_mut().zip(&sizes) {
        layer.weight_init = (
            weight_gain / fan_in as f64,
            2.0 * weight_gain / fan_in as f64,
        );
    }
    trainer.lr = if delays == crate::types::DelayKind::None {
        0.005
    } else {
        0.01
    };
    trainer.lr_delays = 0.002;
    trainer.batch_size = 50;
    trainer.loss = crate::loss::SpikeLoss::mse();
    ClassifierConfig {
        preset: name.to_string(),
        encoder,
        trainer,
    }
}

/// Writes an evaluation's `test_output_times.csv` and `summary.json` to `dir`.
pub(crate) fn write_evaluation(
    model: &Path,
    eval: &super::Evaluation,
    dir: &Path,
) -> Result<EvalSummary> {
    create_dir(dir)?;
    write_atomically(
        &dir.join("test_output_times.csv"),
        output_times_csv(&eval.labels, eval.output_times()).as_bytes(),
    )?;
    let summary = EvalSummary {
        model: model.to_path_buf(),
        test_accuracy: eval.accuracy(),
        correct: eval.correct,
        samples: eval.labels.len(),
    };
    write_json(&dir.join("summary.json"), &summary)?;
    Ok(summary)
}

/// The items with their features replaced by input spike times.
pub fn encode_items(encoder: &LatencyEncoder, items: &[ClassItem]) -> Result<Vec<ClassItem>> {
    items
        .iter()
        .map(|i| Ok(ClassItem::new(encoder.encode(&i.features)?, i.label)))
        .collect()
}

/// Trains `config` on `splits` (raw features) and writes every output of the run to `dir`:
/// `config.json`, `metrics.csv`, `model.json` (with the encoder), `test_output_times.csv`,
/// `summary.json`, `learning_curves.png`, `confusion_matrix.png`, `spike_raster.png` and
/// `spike_times.png`. `class_names` default to the class indices. With `resume`, continues the
/// interrupted run in `dir` exactly; `config` must equal the run's own `config.json`
/// ([`ClassifierConfig::load`]) up to the epoch count, which may grow to extend the run.
pub fn run_classifier(
    config: &ClassifierConfig,
    splits: &DataSplits,
    class_names: Option<&[String]>,
    dir: &Path,
    resume: bool,
    progress: Progress,
) -> Result<RunSummary<ClassifierConfig>> {
    if resume {
        super::check_resume_config(dir, &ClassifierConfig::load(dir)?, config)?;
    }
    let config = config.clone();
    let n_features = splits.train.first().map_or(0, |i| i.features.len());
    config.validate(n_features)?;
    let data = EncodedSplits {
        train: encode_items(&config.encoder, &splits.train)?,
        validation: encode_items(&config.encoder, &splits.validation)?,
        test: encode_items(&config.encoder, &splits.test)?,
    };
    let names: Vec<String> = match class_names {
        Some(n) => n.to_vec(),
        None => (0..config.trainer.n_classes())
            .map(|c| c.to_string())
            .collect(),
    };
    let run = ClassifierRun {
        config: &config,
        preset: config.preset.clone(),
        trainer: config.trainer.clone(),
        data: &data,
        encoding: Encoding::from(config.encoder.clone()),
        class_names: names.clone(),
    };
    let report = train_and_report(&run, dir, resume, progress)?;
    write_raster(dir, &report.test, &data.test, &names)?;
    Ok(report.summary)
}

/// Evaluates a `delgrad-network` file that carries a latency encoder on raw `items` (its own
/// encoder turns them into spike times) and writes `summary.json` and `test_output_times.csv`
/// to `dir`.
pub fn evaluate_model(model: &Path, items: &[ClassItem], dir: &Path) -> Result<EvalSummary> {
    let file = NetworkFile::load(model)?;
    let Encoding::Latency { latency } = &file.encoding else {
        return Err(Error::InvalidConfig(format!(
            "{} holds the Yin-Yang encoding, not a latency encoder",
            model.display()
        )));
    };
    let eval = evaluate_file_items(&file, &encode_items(latency, items)?)?;
    write_evaluation(model, &eval, dir)
}

/// Trains the conventional network of the same size as `config`'s spiking network (a ReLU MLP
/// with the same layer widths, on the same raw features scaled to [0, 1], Adam at 0.01, batch
/// 128, 100 epochs, the epoch with the best validation accuracy kept) on the same `splits`, and
/// writes `ann-seed<seed>.json` to `dir`.
pub fn run_ann_baseline(
    config: &ClassifierConfig,
    splits: &DataSplits,
    seed: u64,
    dir: &Path,
) -> Result<crate::baseline::ann::AnnResult> {
    use crate::baseline::ann::{train_ann, AnnConfig};
    let n_features = splits.train.first().map_or(0, |i| i.features.len());
    let mut sizes = vec![n_features];
    sizes.extend(config.trainer.layers.iter().map(|l| l.size));
    let ann = AnnConfig {
        lr: 0.01,
        epochs: 100,
        batch_size: 128,
        seed,
        ..AnnConfig::new(sizes, (config.encoder.lo, config.encoder.hi))
    };
    let result = train_ann(&ann, &splits.train, &splits.validation, &splits.test)?;
    create_dir(dir)?;
    write_json(
        &dir.join(format!("ann-seed{seed}.json")),
        &serde_json::json!({ "config": ann, "result": result }),
    )?;
    Ok(result)
}
