//! The train and validation steps on Burn's learner: the loss on output spike times, weight
//! bumping for silent neurons, Adam with one learning rate per (layer, weights | delays), and a
//! clear stop on a non-finite gradient.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use burn::module::{AutodiffModule, Module, Param, ParamId};
use burn::optim::{GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor, TensorData};
use burn::train::{ClassificationOutput, InferenceStep, Interrupter, TrainOutput, TrainStep};

use super::batch::SpikeBatch;
use super::checkpoint::{BestNetwork, TrainerState};
use super::config::{BumpRule, ModelSelection, TrainerConfig};
use super::writer::FileWriter;
use crate::backend::SpikeBackend;
use crate::loss::SpikeLoss;
use crate::model::{tensor_values, SpikingNetwork};

/// What the train step tells the optimisation step, and what survives the learner.
#[derive(Debug, Default)]
pub(crate) struct HookState {
    /// A bump requested by the last train step: layer and the neurons that missed spikes.
    pub(crate) pending_bump: Option<(usize, Vec<bool>)>,
    /// Size of the next bump.
    bump_value: f64,
    /// Layer of the previous step's bump, if the previous step bumped.
    last_bump_layer: Option<usize>,
    /// Number of bumps so far.
    pub(crate) bumps: usize,
    /// Why training had to stop.
    pub(crate) error: Option<String>,
    /// Where the state of every finished epoch is written, if anywhere.
    states: Option<StateLog>,
    /// The best network so far, when the run selects on validation accuracy.
    pub(crate) best: Option<BestNetwork>,
}

/// Counts validation samples to know when an epoch's validation is over: that is the point at
/// which Burn checkpoints the epoch, and what a resumed run must restore.
#[derive(Debug)]
struct StateLog {
    run_dir: PathBuf,
    n_valid: usize,
    seen: usize,
    /// Correctly classified validation samples of the epoch so far (counted only when the run
    /// selects on validation accuracy).
    correct: usize,
    epoch: usize,
    selection: ModelSelection,
}

pub(crate) struct StepSettings {
    loss: SpikeLoss,
    tau_syn: f64,
    bump_thresholds: Vec<f64>,
    bump_initial: f64,
    bump_rule: BumpRule,
    lr_multipliers: Vec<(f64, f64)>,
    pub(crate) interrupter: Interrupter,
}

impl std::fmt::Debug for StepSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepSettings")
            .field("loss", &self.loss)
            .field("bump_thresholds", &self.bump_thresholds)
            .field("lr_multipliers", &self.lr_multipliers)
            .finish_non_exhaustive()
    }
}

/// Shared state of the train step and optimisation step; not part of the model's record.
#[derive(Debug, Clone)]
pub struct TrainHooks {
    state: Arc<Mutex<HookState>>,
    pub(crate) settings: Arc<StepSettings>,
    /// Writes the files of every finished epoch off the training loop.
    pub(crate) writer: Arc<FileWriter>,
}

impl TrainHooks {
    pub(crate) fn new(config: &TrainerConfig, interrupter: Interrupter) -> Self {
        Self {
            state: Arc::new(Mutex::new(HookState {
                bump_value: config.bump_initial,
                ..Default::default()
            })),
            settings: Arc::new(StepSettings {
                loss: config.loss,
                tau_syn: config.neuron.tau_syn,
                bump_thresholds: config.bump_thresholds(),
                bump_initial: config.bump_initial,
                bump_rule: config.bump_rule,
                lr_multipliers: config.lr_multipliers(),
                interrupter,
            }),
            writer: Arc::new(FileWriter::new()),
        }
    }

    /// Writes the trainer's state after every epoch's validation to `run_dir`'s checkpoint
    /// directory (for resume), counting epochs after `completed_epochs`; restores `resumed`.
    pub(crate) fn log_states(
        self,
        run_dir: &Path,
        n_valid: usize,
        completed_epochs: usize,
        selection: ModelSelection,
        resumed: Option<(&TrainerState, Option<BestNetwork>)>,
    ) -> Self {
        {
            let mut state = self.lock();
            if let Some((r, best)) = resumed {
                state.bump_value = r.bump_value;
                state.last_bump_layer = r.last_bump_layer;
                state.bumps = r.bumps;
                state.best = best;
            }
            state.states = Some(StateLog {
                run_dir: run_dir.to_path_buf(),
                n_valid,
                seen: 0,
                correct: 0,
                epoch: completed_epochs,
                selection,
            });
        }
        self
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, HookState> {
        // A poisoned lock only means another step panicked; its data is still consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fail(&self, message: String) {
        self.settings.interrupter.stop(Some(&message));
        self.lock().error.get_or_insert(message);
    }
}

/// A network under training: implements Burn's `TrainStep` and `InferenceStep`.
#[derive(Module, Debug)]
pub struct Trainee<B: Backend> {
    /// The network.
    pub net: SpikingNetwork<B>,
    #[module(skip)]
    pub(crate) hooks: Option<TrainHooks>,
}

impl<B: Backend> Trainee<B> {
    /// A network to train with the loss, bumping and learning rates of `config`.
    pub(crate) fn new(net: SpikingNetwork<B>, hooks: TrainHooks) -> Self {
        Self {
            net,
            hooks: Some(hooks),
        }
    }

    fn settings(&self) -> Option<&StepSettings> {
        self.hooks.as_ref().map(|h| &*h.settings)
    }
}

impl<B: SpikeBackend> Trainee<B> {
    fn classify(&self, batch: SpikeBatch<B>) -> (ClassificationOutput<B>, Vec<Tensor<B, 2>>) {
        let settings = self.settings();
        let loss_fn = settings.map_or(SpikeLoss::mse(), |s| s.loss);
        let tau = settings.map_or(1.0, |s| s.tau_syn);
        let times = self
            .net
            .try_forward_all(batch.input_times)
            .unwrap_or_else(|e| panic!("batches of a SpikeDataset are valid input: {e}"));
        let out = times.last().cloned().expect("a network has layers");
        // The scores only feed the accuracy metric: no graph nodes for them.
        let (loss, scores) = loss_fn
            .forward_with_scores(out, batch.labels.clone(), tau)
            .unwrap_or_else(|e| panic!("labels of a SpikeDataset fit the network: {e}"));
        (ClassificationOutput::new(loss, scores, batch.labels), times)
    }
}

impl<B> TrainStep for Trainee<B>
where
    B: AutodiffBackend + SpikeBackend,
{
    type Input = SpikeBatch<B>;
    type Output = ClassificationOutput<B>;

    fn step(&self, batch: SpikeBatch<B>) -> TrainOutput<ClassificationOutput<B>> {
        let (item, times) = self.classify(batch);
        if let Some(hooks) = &self.hooks {
            // Weight bumping: the lowest layer whose silent fraction exceeds its threshold gets
            // the incoming weights of its silent neurons raised, instead of an optimizer step.
            let request = times.iter().enumerate().find_map(|(l, t)| {
                let threshold = hooks
                    .settings
                    .bump_thresholds
                    .get(l)
                    .copied()
                    .unwrap_or(1.0);
                let silent_per_neuron = B::silent_fractions(t.clone().into_primitive().tensor())
                    .unwrap_or_else(|| {
                        tensor_values(t.clone().detach().is_inf().float().mean_dim(0))
                            .unwrap_or_default()
                    });
                hooks
                    .settings
                    .bump_rule
                    .neurons_to_bump(&silent_per_neuron, threshold)
                    .map(|missing| (l, missing))
            });
            hooks.lock().pending_bump = request;
        }
        let grads = item.loss.backward();
        TrainOutput::new(self, grads, item)
    }

    fn optimize<B2, O>(self, optim: &mut O, lr: f64, mut grads: GradientsParams) -> Self
    where
        B2: AutodiffBackend,
        O: Optimizer<Self, B2>,
        Self: AutodiffModule<B2>,
    {
        let Some(hooks) = self.hooks.clone() else {
            return optim.step(lr, self, grads);
        };
        let bump = hooks.lock().pending_bump.take();
        if let Some((layer, missing)) = bump {
            return self.bump(&hooks, layer, &missing).clip_to_chip();
        }
        {
            let mut state = hooks.lock();
            state.last_bump_layer = None;
            state.bump_value = hooks.settings.bump_initial;
        }
        // Check every parameter's gradient, then step Adam once per learning rate: the
        // parameters that share a rate (e.g. every layer's weights) go through one pass over the
        // network. Adam's state and update are per parameter, so this is exactly Adam with one
        // group per (layer, weights | delays), with fewer passes.
        let mut groups: Vec<(f64, GradientsParams)> = Vec::new();
        for (l, layer) in self.net.layers.iter().enumerate() {
            let (mw, md) = hooks
                .settings
                .lr_multipliers
                .get(l)
                .copied()
                .unwrap_or((1.0, 1.0));
            let mut params: Vec<(&str, ParamId, f64)> = vec![("weights", layer.weight.id, mw)];
            if let Some(d) = &layer.delay_raw {
                params.push(("delays", d.id, md));
            }
            for (what, id, mult) in params {
                let Some(g) = grads.remove::<B2::InnerBackend, 2>(id) else {
                    continue;
                };
                if !all_finite(&g) {
                    hooks.fail(format!(
                        "non-finite gradient in layer {l} ({what}); training stopped before \
                         applying it"
                    ));
                    return self;
                }
                if mult == 0.0 {
                    continue;
                }
                let lr_param = lr * mult;
                match groups.iter_mut().find(|(r, _)| *r == lr_param) {
                    Some((_, group)) => group.register(id, g),
                    None => {
                        let mut group = GradientsParams::new();
                        group.register(id, g);
                        groups.push((lr_param, group));
                    }
                }
            }
        }
        let mut model = self;
        for (lr_group, group) in groups {
            model = optim.step(lr_group, model, group);
        }
        model.clip_to_chip()
    }
}

/// Whether every value of a gradient is finite, read on the host: on the CPU backends one copy
/// instead of three tensor operations and a read-back. On a GPU backend this moves the whole
/// gradient to the host (about 1 MB per step for a 784-350 layer in f32) where the tensor form
/// moved one flag; training on a GPU is rare enough here that the CPU case decides.
fn all_finite<B: Backend>(g: &Tensor<B, 2>) -> bool {
    g.to_data().iter::<f64>().all(f64::is_finite)
}

impl<B: AutodiffBackend + SpikeBackend> Trainee<B> {
    /// Projects the stored weights of chip-bound layers into the chip's weight range after every
    /// update, as the reference does; rounding stays in the forward pass (straight-through).
    fn clip_to_chip(mut self) -> Self {
        for layer in &mut self.net.layers {
            let Some(max) = layer
                .op()
                .chip
                .as_ref()
                .and_then(|c| c.profile().weight_max)
            else {
                continue;
            };
            let id = layer.weight.id;
            let clipped = layer.weight.val().inner().clamp(-max, max);
            layer.weight = Param::initialized(id, Tensor::from_inner(clipped).require_grad());
        }
        self
    }

    fn bump(mut self, hooks: &TrainHooks, layer: usize, missing: &[bool]) -> Self {
        let value = {
            let mut state = hooks.lock();
            if state.last_bump_layer != Some(layer) {
                state.bump_value = hooks.settings.bump_initial;
            }
            let v = state.bump_value;
            state.bump_value *= 2.0;
            state.last_bump_layer = Some(layer);
            state.bumps += 1;
            v
        };
        let Some(target) = self.net.layers.get_mut(layer) else {
            return self;
        };
        let n = missing.len();
        let mask: Vec<f64> = missing
            .iter()
            .map(|m| if *m { value } else { 0.0 })
            .collect();
        let weight = target.weight.val();
        let device = weight.device();
        let add = Tensor::<B::InnerBackend, 2>::from_data(TensorData::new(mask, [1, n]), &device);
        let id = target.weight.id;
        let bumped = Tensor::from_inner(weight.inner().add(add)).require_grad();
        target.weight = Param::initialized(id, bumped);
        self
    }
}

impl<B: SpikeBackend> InferenceStep for Trainee<B> {
    type Input = SpikeBatch<B>;
    type Output = ClassificationOutput<B>;

    fn step(&self, batch: SpikeBatch<B>) -> ClassificationOutput<B> {
        let n = batch.labels.dims()[0];
        let output = self.classify(batch).0;
        if let Some(hooks) = &self.hooks {
            self.end_of_validation(hooks, n, &output);
        }
        output
    }
}

impl<B: SpikeBackend> Trainee<B> {
    /// Counts a validation batch; after the epoch's last one, keeps the best network (when
    /// selecting on validation accuracy) and writes the trainer's state for resume.
    fn end_of_validation(&self, hooks: &TrainHooks, n: usize, output: &ClassificationOutput<B>) {
        let mut state = hooks.lock();
        let Some(log) = state.states.as_mut() else {
            return;
        };
        let selecting = log.selection == ModelSelection::BestValidation;
        if selecting {
            let predicted = output.output.clone().argmax(1).flatten::<1>(0, 1);
            let hits: i64 = predicted
                .equal(output.targets.clone())
                .int()
                .sum()
                .into_scalar()
                .elem();
            log.correct += hits as usize;
        }
        log.seen += n;
        if log.seen < log.n_valid {
            return;
        }
        let accuracy = log.correct as f64 / log.seen as f64;
        log.seen = 0;
        log.correct = 0;
        log.epoch += 1;
        let (epoch, run_dir) = (log.epoch, log.run_dir.clone());
        if selecting
            && state
                .best
                .as_ref()
                .is_none_or(|b| accuracy > b.val_accuracy)
        {
            let best = BestNetwork {
                epoch,
                val_accuracy: accuracy,
                layers: self
                    .net
                    .layers
                    .iter()
                    .map(|l| {
                        let w = tensor_values(l.weight.val()).unwrap_or_default();
                        let d = l
                            .delay_raw
                            .as_ref()
                            .map(|d| tensor_values(d.val()).unwrap_or_default());
                        (w, d)
                    })
                    .collect(),
            };
            let (dir, to_write) = (run_dir.clone(), best.clone());
            if let Err(e) = hooks.writer.submit(move || to_write.write(&dir)) {
                drop(state);
                hooks.fail(format!("cannot save a training file: {e}"));
                return;
            }
            state.best = Some(best);
        }
        let snapshot = TrainerState {
            epoch,
            bump_value: state.bump_value,
            last_bump_layer: state.last_bump_layer,
            bumps: state.bumps,
            chip_noise: self
                .net
                .layers
                .iter()
                .map(|l| l.op().chip.as_ref().map(|c| c.noise_position().to_string()))
                .collect(),
            best_epoch: state.best.as_ref().map(|b| b.epoch),
        };
        drop(state);
        // Queued behind the best network it may refer to; pruning comes after both.
        let written = hooks.writer.submit(move || {
            snapshot.write(&run_dir)?;
            if selecting {
                BestNetwork::prune(&run_dir);
            }
            Ok(())
        });
        if let Err(e) = written {
            hooks.fail(format!("cannot save a training file: {e}"));
        }
    }
}
