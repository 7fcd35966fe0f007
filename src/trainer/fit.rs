//! [`fit`]: trains a spiking classifier with Burn's supervised learner.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use burn::data::dataloader::DataLoaderBuilder;
use burn::module::Module;
use burn::optim::{AdamConfig, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::train::checkpoint::KeepLastNCheckpoints;
use burn::train::metric::{AccuracyMetric, LearningRateMetric, LossMetric};
use burn::train::{Interrupter, Learner, SupervisedTraining};

use super::batch::{SpikeBatch, SpikeBatcher, SpikeDataset};
use super::checkpoint::{
    check_record, checkpoint_dir, complete_checkpoints, CheckpointRecorder, CHECKPOINTS_KEPT,
};
use super::config::{TrainerConfig, VALIDATION_BATCH};
use super::metrics::{EpochLogger, EpochMetrics, Progress, QuietRenderer};
use super::step::{TrainHooks, Trainee};
use crate::backend::SpikeBackend;
use crate::data::ClassItem;
use crate::error::{Error, Result};
use crate::model::SpikingNetwork;

/// The outcome of [`fit`].
pub struct FitOutcome<B: Backend> {
    /// The trained network.
    pub network: SpikingNetwork<B>,
    /// Per-epoch metrics, including epochs of an interrupted run that was resumed.
    pub history: Vec<EpochMetrics>,
    /// Wall time of this call's training (seconds).
    pub train_seconds: f64,
    /// The epoch training resumed after (0 for a fresh run).
    pub resumed_from: usize,
    /// Weight bumps applied.
    pub bumps: usize,
}

/// Trains the network of `config` on `train`, validating on `validation` after every epoch,
/// with Burn's supervised learner. The items' features are **input spike times** (already
/// encoded, `config.n_inputs` per item; see `delgrad::encoding` for latency encoders).
///
/// Writes Burn's checkpoints to `run_dir/checkpoint` (one per epoch, the last ten kept) and
/// `run_dir/metrics.csv` (one row per epoch). With `resume`, continues from the newest complete
/// checkpoint in `run_dir` whose metrics are complete.
pub fn fit<B>(
    config: &TrainerConfig,
    train: Vec<ClassItem>,
    validation: Vec<ClassItem>,
    run_dir: &Path,
    resume: bool,
    progress: Progress,
    device: &B::Device,
) -> Result<FitOutcome<B::InnerBackend>>
where
    B: AutodiffBackend + SpikeBackend,
    B::InnerBackend: SpikeBackend,
{
    config.validate()?;
    let (n_in, n_classes) = (config.n_inputs, config.n_classes());
    if train.is_empty() || validation.is_empty() {
        return Err(Error::InvalidConfig(format!(
            "training needs samples in both splits, got {} training and {} validation samples",
            train.len(),
            validation.len()
        )));
    }
    let train = SpikeDataset::new(train, n_in, n_classes)?;
    let validation = SpikeDataset::new(validation, n_in, n_classes)?;
    std::fs::create_dir_all(run_dir).map_err(|source| Error::Io {
        path: run_dir.to_path_buf(),
        source,
    })?;
    let n_train = train.items().len();
    let batcher = SpikeBatcher::new(n_in);
    let loader_train = DataLoaderBuilder::<B, _, SpikeBatch<B>>::new(batcher)
        .batch_size(config.batch_size)
        .shuffle(config.seed)
        .set_device(device.clone())
        .build(train);
    let loader_valid =
        DataLoaderBuilder::<B::InnerBackend, _, SpikeBatch<B::InnerBackend>>::new(batcher)
            .batch_size(VALIDATION_BATCH)
            .set_device(device.clone())
            .build(validation);

    let interrupter = Interrupter::new();
    let hooks = TrainHooks::new(config, interrupter.clone());
    let model = Trainee::new(config.init_network::<B>(device)?, hooks.clone());
    let optim = AdamConfig::new()
        .with_beta_1(0.9)
        .with_beta_2(0.999)
        .with_epsilon(1e-8)
        .init::<B, Trainee<B>>();
    let iterations_per_epoch = n_train.div_ceil(config.batch_size);
    let scheduler = burn::optim::lr_scheduler::step::StepLrSchedulerConfig::new(
        config.lr,
        config.lr_step_epochs * iterations_per_epoch,
    )
    .with_gamma(config.lr_gamma)
    .init()
    .map_err(Error::InvalidConfig)?;

    let metrics_path = run_dir.join("metrics.csv");
    let mut history = Vec::new();
    let resumed_from = if resume {
        let checkpoints = complete_checkpoints(run_dir);
        if checkpoints.is_empty() {
            return Err(Error::InvalidConfig(format!(
                "cannot resume: no complete checkpoint in {}",
                checkpoint_dir(run_dir).display()
            )));
        }
        if metrics_path.exists() {
            history = EpochMetrics::read_csv(&metrics_path)?;
        }
        // Epochs 1..=n all have metrics rows.
        let logged = history
            .iter()
            .enumerate()
            .take_while(|(k, r)| r.epoch == k + 1)
            .count();
        let epoch = checkpoints
            .iter()
            .rev()
            .copied()
            .find(|&n| n <= logged)
            .unwrap_or(checkpoints[checkpoints.len() - 1]);
        history.retain(|r| r.epoch <= epoch);
        let dir = checkpoint_dir(run_dir);
        check_record::<B, <Trainee<B> as Module<B>>::Record>(
            dir.join(format!("model-{epoch}")),
            device,
        )?;
        check_record::<B, <burn::optim::adaptor::OptimizerAdaptor<burn::optim::Adam, Trainee<B>, B> as Optimizer<Trainee<B>, B>>::Record>(
            dir.join(format!("optim-{epoch}")),
            device,
        )?;
        epoch
    } else {
        // A fresh run must not leave an earlier run's checkpoints for a later resume to find.
        let dir = checkpoint_dir(run_dir);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|source| Error::Io { path: dir, source })?;
        }
        0
    };
    if resumed_from >= config.epochs {
        return Err(Error::InvalidConfig(format!(
            "cannot resume: the run already completed {resumed_from} of {} epochs",
            config.epochs
        )));
    }

    let rows = Arc::new(Mutex::new(history));
    let (quiet, on_epoch) = match progress {
        Progress::Dashboard => (false, None),
        Progress::Callback(cb) => (true, cb),
    };
    let logger = EpochLogger::new(rows.clone(), metrics_path, on_epoch);
    let mut training = SupervisedTraining::new(run_dir, loader_train, loader_valid)
        .metric_train_numeric(AccuracyMetric::new())
        .metric_valid_numeric(AccuracyMetric::new())
        .metric_train_numeric(LossMetric::new())
        .metric_valid_numeric(LossMetric::new())
        .metric_train_numeric(LearningRateMetric::new())
        .with_metric_logger(logger)
        .with_file_checkpointer(CheckpointRecorder::new())
        .with_checkpointing_strategy(KeepLastNCheckpoints::new(CHECKPOINTS_KEPT))
        .with_application_logger(None)
        .with_interrupter(interrupter)
        .num_epochs(config.epochs);
    if quiet {
        training = training.renderer(QuietRenderer);
    }
    if resumed_from > 0 {
        training = training.checkpoint(resumed_from);
    }
    let start = Instant::now();
    let result = training.launch(Learner::new(model, optim, scheduler));
    let train_seconds = start.elapsed().as_secs_f64();
    let (error, bumps) = {
        let state = hooks.lock();
        (state.error.clone(), state.bumps)
    };
    if let Some(message) = error {
        return Err(Error::Training(message));
    }
    let history = rows.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Ok(FitOutcome {
        network: result.model.net,
        history,
        train_seconds,
        resumed_from,
        bumps,
    })
}
