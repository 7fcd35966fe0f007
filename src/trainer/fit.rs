//! [`fit`]: trains a spiking classifier with Burn's supervised learner.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use burn::data::dataloader::DataLoaderBuilder;
use burn::module::{Module, Param};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::lr_scheduler::LrScheduler;
use burn::optim::{Adam, AdamConfig, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use burn::train::checkpoint::KeepLastNCheckpoints;
use burn::train::metric::{AccuracyMetric, LearningRateMetric, LossMetric};
use burn::train::{Interrupter, Learner, SupervisedTraining};

use super::batch::{EpochOrderedLoader, SampleRows, SpikeBatch, SpikeDataset};
use super::checkpoint::{
    best_path, check_record, checkpoint_dir, checkpoint_epochs, state_path, BestNetwork,
    CheckpointRecorder, SkippedCheckpoint, TrainerState, CHECKPOINTS_KEPT,
};
use super::config::{ModelSelection, TrainerConfig, VALIDATION_BATCH};
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
    /// The epoch whose network this is (the last one, or the best on validation).
    pub selected_epoch: usize,
    /// Per-epoch metrics, including epochs of an interrupted run that was resumed.
    pub history: Vec<EpochMetrics>,
    /// Wall time of this call's training (seconds).
    pub train_seconds: f64,
    /// The epoch training resumed after (0 for a fresh run).
    pub resumed_from: usize,
    /// Checkpoints that resume passed over (missing or unreadable files), newest first.
    pub skipped_checkpoints: Vec<SkippedCheckpoint>,
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
///
/// On the CPU kernels, the training runs on a rayon pool of `RAYON_NUM_THREADS` workers (one per
/// core by default) whose workers wait for the next kernel call spinning instead of sleeping,
/// until `fit` returns: waking a sleeping worker costs about as much as a small network's kernel
/// call. Called from inside a rayon pool, it runs on that pool as it is.
///
/// On Linux the calling thread runs under the `SCHED_BATCH` scheduling policy until `fit`
/// returns (as do the threads started meanwhile), so that the per-step hand-offs to Burn's
/// event threads do not preempt it; its previous policy is restored on return.
///
/// Setting the environment variable [`DELGRAD_PLAIN_SCHEDULING`](super::PLAIN_SCHEDULING_ENV)
/// (to anything but empty or `0`) turns both off: training then runs on rayon's usual pool under the thread's own policy, with
/// the same results, more slowly on a small network.
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
    let run = || fit_here::<B>(config, train, validation, run_dir, resume, progress, device);
    if super::workers::plain_scheduling() {
        return run();
    }
    super::workers::run_as_batch(|| {
        if B::runs_cpu_kernels() {
            super::workers::run_with_awake_workers(run)
        } else {
            run()
        }
    })
}

fn fit_here<B>(
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
    let metrics_path = run_dir.join("metrics.csv");
    let mut history = Vec::new();
    let mut skipped_checkpoints = Vec::new();
    let mut resumed_state = None;
    let resumed_from = if resume {
        if metrics_path.exists() {
            history = EpochMetrics::read_csv(&metrics_path)?;
        }
        // Epochs 1..=n all have metrics rows.
        let logged = history
            .iter()
            .enumerate()
            .take_while(|(k, r)| r.epoch == k + 1)
            .count();
        // Burn logs metrics asynchronously: after a kill the newest checkpoints can be ahead
        // of metrics.csv, and one can be half-written. Take the newest epoch whose files all
        // load, and report the ones passed over.
        let mut chosen = None;
        for epoch in checkpoint_epochs(run_dir).into_iter().rev() {
            if epoch > logged {
                continue;
            }
            match check_epoch::<B>(run_dir, epoch, device) {
                Ok(state) => {
                    chosen = Some((epoch, state));
                    break;
                }
                Err(skip) => skipped_checkpoints.push(skip),
            }
        }
        let Some((epoch, state)) = chosen else {
            return Err(match skipped_checkpoints.first() {
                Some(skip) => Error::MalformedFile {
                    path: skip.path.clone(),
                    reason: format!(
                        "cannot resume: {} (no older complete checkpoint)",
                        skip.reason
                    ),
                },
                None => Error::InvalidConfig(format!(
                    "cannot resume: no complete checkpoint in {}",
                    checkpoint_dir(run_dir).display()
                )),
            });
        };
        history.retain(|r| r.epoch <= epoch);
        resumed_state = Some(state);
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

    let n_train = train.items().len();
    let n_valid = validation.items().len();
    let train_rows = SampleRows::new(train, n_in);
    let loader_train = EpochOrderedLoader::placed(
        DataLoaderBuilder::<B, _, SpikeBatch<B>>::new(train_rows.clone())
            .batch_size(config.batch_size)
            .shuffle(config.seed)
            .set_device(device.clone())
            .build(train_rows),
        device,
        resumed_from,
    );
    let valid_rows = SampleRows::new(validation, n_in);
    let loader_valid = DataLoaderBuilder::<B::InnerBackend, _, SpikeBatch<B::InnerBackend>>::new(
        valid_rows.clone(),
    )
    .batch_size(VALIDATION_BATCH)
    .set_device(device.clone())
    .build(valid_rows);

    let interrupter = Interrupter::new();
    let resumed_best = match resumed_state.as_ref().and_then(|s| s.best_epoch) {
        Some(epoch) => Some(BestNetwork::read(run_dir, epoch)?),
        None => None,
    };
    let hooks = TrainHooks::new(config, interrupter.clone()).log_states(
        run_dir,
        n_valid,
        resumed_from,
        config.selection,
        resumed_state.as_ref().map(|s| (s, resumed_best)),
    );
    let net = config.init_network::<B>(device)?;
    if let Some(state) = &resumed_state {
        for (l, layer) in net.layers.iter().enumerate() {
            if let (Some(chip), Some(position)) = (&layer.op().chip, state.chip_position(l)?) {
                chip.seek_noise(position);
            }
        }
    }
    let model = Trainee::new(net, hooks.clone());
    let optim = AdamConfig::new()
        .with_beta_1(0.9)
        .with_beta_2(0.999)
        .with_epsilon(1e-8)
        .with_weight_decay(
            (config.weight_decay > 0.0).then(|| WeightDecayConfig::new(config.weight_decay as f32)),
        )
        .init::<B, Trainee<B>>();
    let scheduler = scheduler(config, n_train)?;

    let rows = Arc::new(Mutex::new(history));
    // Burn's dashboard, or a renderer that draws nothing but the bar (if any).
    let (renderer, on_epoch) = match progress {
        Progress::Dashboard => (None, None),
        Progress::Callback(cb) => (Some(QuietRenderer::default()), cb),
        Progress::Bar(bar) => (Some(bar.renderer()), Some(bar.epoch_callback())),
    };
    let logger = EpochLogger::new(rows.clone(), metrics_path, on_epoch, hooks.writer.clone());
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
    if let Some(renderer) = renderer {
        training = training.renderer(renderer);
    }
    if resumed_from > 0 {
        training = training.checkpoint(resumed_from);
    }
    let start = Instant::now();
    let result = training.launch(Learner::new(model, optim, scheduler));
    // Every epoch's files on disk before the run returns.
    let written = hooks.writer.finish();
    let train_seconds = start.elapsed().as_secs_f64();
    let (error, bumps, best) = {
        let mut state = hooks.lock();
        (state.error.clone(), state.bumps, state.best.take())
    };
    if let Some(message) = error {
        return Err(Error::Training(message));
    }
    written?;
    let history = rows.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut network = result.model.net;
    let mut selected_epoch = history.last().map_or(resumed_from, |r| r.epoch);
    if config.selection == ModelSelection::BestValidation {
        if let Some(best) = best {
            network = with_parameters(network, &best)?;
            selected_epoch = best.epoch;
        }
    }
    Ok(FitOutcome {
        network,
        selected_epoch,
        history,
        train_seconds,
        resumed_from,
        skipped_checkpoints,
        bumps,
    })
}

type Scheduler = burn::optim::lr_scheduler::step::StepLrScheduler;

fn scheduler(config: &TrainerConfig, n_train: usize) -> Result<Scheduler> {
    let iterations_per_epoch = n_train.div_ceil(config.batch_size);
    burn::optim::lr_scheduler::step::StepLrSchedulerConfig::new(
        config.lr,
        config.lr_step_epochs * iterations_per_epoch,
    )
    .with_gamma(config.lr_gamma)
    .init()
    .map_err(Error::InvalidConfig)
}

/// Checks that every file of `epoch`'s checkpoint exists and loads; returns the trainer state.
fn check_epoch<B>(
    run_dir: &Path,
    epoch: usize,
    device: &B::Device,
) -> std::result::Result<TrainerState, SkippedCheckpoint>
where
    B: AutodiffBackend + SpikeBackend,
    B::InnerBackend: SpikeBackend,
{
    type OptimRecord<B> =
        <OptimizerAdaptor<Adam, Trainee<B>, B> as Optimizer<Trainee<B>, B>>::Record;
    let dir = checkpoint_dir(run_dir);
    let skip = |path: PathBuf, reason: String| SkippedCheckpoint {
        epoch,
        path,
        reason,
    };
    for name in ["model", "optim", "scheduler"] {
        let path = dir.join(format!("{name}-{epoch}.mpk"));
        if !path.exists() {
            return Err(skip(path, "is missing".into()));
        }
        let stem = dir.join(format!("{name}-{epoch}"));
        let loaded = match name {
            "model" => check_record::<B, <Trainee<B> as Module<B>>::Record>(stem, device),
            "optim" => check_record::<B, OptimRecord<B>>(stem, device),
            _ => check_record::<B, <Scheduler as LrScheduler>::Record<B>>(stem, device),
        };
        if let Err(e) = loaded {
            return Err(skip(path, e.to_string()));
        }
    }
    let path = state_path(run_dir, epoch);
    if !path.exists() {
        return Err(skip(path, "is missing".into()));
    }
    let state = TrainerState::read(run_dir, epoch).map_err(|e| skip(path, e.to_string()))?;
    if let Some(best) = state.best_epoch {
        BestNetwork::read(run_dir, best)
            .map_err(|e| skip(best_path(run_dir, best), e.to_string()))?;
    }
    Ok(state)
}

/// `network` with the stored parameters of `best`.
fn with_parameters<B: Backend>(
    mut network: SpikingNetwork<B>,
    best: &BestNetwork,
) -> Result<SpikingNetwork<B>> {
    let malformed = || {
        Error::Training(format!(
            "the best network of epoch {} does not fit",
            best.epoch
        ))
    };
    if best.layers.len() != network.layers.len() {
        return Err(malformed());
    }
    for (layer, (w, d)) in network.layers.iter_mut().zip(&best.layers) {
        let shape = layer.weight.shape();
        if w.len() != shape.num_elements() {
            return Err(malformed());
        }
        let device = layer.weight.val().device();
        let id = layer.weight.id;
        layer.weight = Param::initialized(
            id,
            Tensor::from_data(TensorData::new(w.clone(), shape), &device),
        );
        match (&mut layer.delay_raw, d) {
            (Some(param), Some(d)) => {
                let shape = param.shape();
                if d.len() != shape.num_elements() {
                    return Err(malformed());
                }
                *param = Param::initialized(
                    param.id,
                    Tensor::from_data(TensorData::new(d.clone(), shape), &device),
                );
            }
            (None, None) => {}
            _ => return Err(malformed()),
        }
    }
    Ok(network)
}
