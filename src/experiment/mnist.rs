//! MNIST from the standard IDX files in a directory the user names, downscaled to 16x16 as
//! Fast & Deep trained it: presets and a run.
//!
//! With the four standard files present, the training images are split 90 / 10 % (stratified,
//! seed 0) into training and validation, and the 10,000 test images are the test set. With only
//! the two test files (`t10k-*`), the run uses a fixed, seeded, stratified 60 / 20 / 20 % split
//! of those 10,000 images ([`mnist_t10k_split`]); its numbers are not the MNIST benchmark's, and
//! `data.json` in the run directory says which split was used.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::classifier::{evaluate_model, image_preset, run_classifier, ClassifierConfig};
use super::{write_json, EvalSummary, RunSummary};
use crate::data::mnist::MNIST_CLASSES;
use crate::data::{mnist_t10k_split, mnist_with, DataSplits, MnistOptions, MnistPart};
use crate::encoding::LatencyEncoder;
use crate::error::{Error, Result};
use crate::trainer::Progress;
use crate::types::DelayKind;

/// Names accepted by [`preset`]: 256-100-10 on 16x16 images, without delays (`mnist16-w`) and
/// with synaptic delays (`mnist16-ws`).
pub const MNIST_PRESETS: &[&str] = &["mnist16-w", "mnist16-ws"];

/// Gain of the weight initialisation (see the digits presets): fewer of MNIST's pixels are lit,
/// and many only dimly after downscaling, so the weights start larger.
const WEIGHT_GAIN: f64 = 12.0;

/// Pixels per downscaled image.
const FEATURES: usize = 16 * 16;

/// The MNIST encoder: pixel values 0..255, a black pixel sends no spike, brighter pixels spike
/// earlier, between 0.15 and 2 tau_s.
pub fn encoder() -> LatencyEncoder {
    LatencyEncoder::new(0.0, 255.0, 0.15, 2.0).with_silent_floor(true)
}

/// An MNIST preset (see [`MNIST_PRESETS`]).
pub fn preset(name: &str) -> Result<ClassifierConfig> {
    let delays = match name {
        "mnist16-w" => DelayKind::None,
        "mnist16-ws" => DelayKind::Synaptic,
        other => {
            return Err(Error::InvalidConfig(format!(
                "unknown MNIST preset `{other}`; known presets: {}",
                MNIST_PRESETS.join(", ")
            )))
        }
    };
    let mut config = image_preset(
        name,
        encoder(),
        FEATURES,
        &[100],
        MNIST_CLASSES,
        delays,
        WEIGHT_GAIN,
    );
    // The digits' procedure with fewer epochs for the larger training set.
    config.trainer.epochs = 30;
    config.trainer.lr_step_epochs = 10;
    config.trainer.lr_gamma = 0.8;
    Ok(config)
}

/// Which images a run used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MnistData {
    /// The directory the files were read from.
    pub dir: std::path::PathBuf,
    /// `standard` (training files split 90/10 into training and validation, test files as
    /// test) or `t10k-only` (the test file split 60/20/20, stratified, seed 0).
    pub split: String,
    /// Images per part (training, validation, test).
    pub sizes: [usize; 3],
}

/// The images of `dir` at 16x16, split as the module docs describe.
pub fn splits(dir: &Path) -> Result<(DataSplits, MnistData)> {
    let options = MnistOptions::SIZE_16;
    let test = mnist_with(dir, MnistPart::Test, &options)?;
    let has_train = ["train-images-idx3-ubyte", "train-images-idx3-ubyte.gz"]
        .iter()
        .any(|n| dir.join(n).exists());
    let (splits, split) = if has_train {
        let train = mnist_with(dir, MnistPart::Train, &options)?;
        let mut s = DataSplits::stratified(train, [0.9, 0.1, 0.0], 0)?;
        s.test = test;
        (s, "standard")
    } else {
        (mnist_t10k_split(test), "t10k-only")
    };
    let data = MnistData {
        dir: dir.to_path_buf(),
        split: split.into(),
        sizes: [
            splits.train.len(),
            splits.validation.len(),
            splits.test.len(),
        ],
    };
    Ok((splits, data))
}

/// Trains `config` on the MNIST files in `data_dir` and writes the run's outputs to `dir`,
/// plus `data.json` ([`MnistData`]).
pub fn run(
    config: &ClassifierConfig,
    data_dir: &Path,
    dir: &Path,
    resume: bool,
    progress: Progress,
) -> Result<(RunSummary<ClassifierConfig>, MnistData)> {
    let (splits, data) = splits(data_dir)?;
    let summary = run_classifier(config, &splits, None, dir, resume, progress)?;
    write_json(&dir.join("data.json"), &data)?;
    Ok((summary, data))
}

/// Test accuracy of a trained MNIST network file on the test part of `data_dir`'s split.
pub fn run_eval(model: &Path, data_dir: &Path, dir: &Path) -> Result<EvalSummary> {
    let (splits, _) = splits(data_dir)?;
    evaluate_model(model, &splits.test, dir)
}
