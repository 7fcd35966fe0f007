//! The 8x8 handwritten digits (bundled with the crate): presets and a run on the fixed split.

use std::path::Path;

use super::classifier::{evaluate_model, image_preset, run_classifier, ClassifierConfig};
use super::{EvalSummary, RunSummary};
use crate::data::digits::{DIGITS_CLASSES, DIGITS_FEATURES, DIGITS_MAX_PIXEL};
use crate::data::{digits_split, DataSplits};
use crate::encoding::LatencyEncoder;
use crate::error::{Error, Result};
use crate::trainer::Progress;
use crate::types::DelayKind;

/// Names accepted by [`preset`]: 64-100-10 without delays (`digits-w`) and with synaptic
/// delays (`digits-ws`), and two hidden layers 64-100-50-10 with synaptic delays
/// (`digits-2l-ws`).
pub const DIGITS_PRESETS: &[&str] = &["digits-w", "digits-ws", "digits-2l-ws"];

/// The digits encoder: pixel values 0..16, a dark pixel sends no spike, brighter pixels spike
/// earlier, between 0.15 and 2 tau_s (the Yin-Yang time window).
pub fn encoder() -> LatencyEncoder {
    LatencyEncoder::new(0.0, DIGITS_MAX_PIXEL, 0.15, 2.0).with_silent_floor(true)
}

/// A digits preset (see [`DIGITS_PRESETS`]).
pub fn preset(name: &str) -> Result<ClassifierConfig> {
    let (hidden, delays): (&[usize], DelayKind) = match name {
        "digits-w" => (&[100], DelayKind::None),
        "digits-ws" => (&[100], DelayKind::Synaptic),
        "digits-2l-ws" => (&[100, 50], DelayKind::Synaptic),
        other => {
            return Err(Error::InvalidConfig(format!(
                "unknown digits preset `{other}`; known presets: {}",
                DIGITS_PRESETS.join(", ")
            )))
        }
    };
    let mut config = image_preset(
        name,
        encoder(),
        DIGITS_FEATURES,
        hidden,
        DIGITS_CLASSES,
        delays,
        6.0,
    );
    config.trainer.epochs = 80;
    config.trainer.lr_step_epochs = 20;
    config.trainer.lr_gamma = 0.9;
    Ok(config)
}

/// Class names `0`..`9`.
pub fn class_names() -> Vec<String> {
    (0..DIGITS_CLASSES).map(|c| c.to_string()).collect()
}

/// The bundled digits in their fixed split (60 / 20 / 20 %, stratified, seed 0).
pub fn splits() -> Result<DataSplits> {
    digits_split()
}

/// Trains `config` on the fixed split of the bundled digits and writes the run's outputs to
/// `dir` (see [`run_classifier`]).
pub fn run(
    config: &ClassifierConfig,
    dir: &Path,
    resume: bool,
    progress: Progress,
) -> Result<RunSummary<ClassifierConfig>> {
    run_classifier(
        config,
        &splits()?,
        Some(&class_names()),
        dir,
        resume,
        progress,
    )
}

/// Test accuracy of a trained digits network file on the fixed test split.
pub fn run_eval(model: &Path, dir: &Path) -> Result<EvalSummary> {
    evaluate_model(model, &splits()?.test, dir)
}
