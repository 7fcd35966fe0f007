//! A general trainer for spiking classifiers on Burn's own stack (feature `trainer`): any stack
//! of [`SpikingLinear`](crate::SpikingLinear) layers, any number of classes, any data given as
//! [`ClassItem`](crate::data::ClassItem)s of input spike times.
//!
//! * [`TrainerConfig`]: the layers (`[n_inputs, h1, ..., n_classes]`, a delay kind and
//!   learning rates per layer), the neuron, Adam with parameter groups, the step schedule, weight
//!   bumping, the loss and the backend;
//! * [`fit()`]: Burn's `SupervisedTraining` with a `TrainStep` / `InferenceStep`, checkpoints
//!   every epoch, resume, `metrics.csv`;
//! * [`step`]: the steps themselves (weight bumping, parameter groups, chip weight range);
//! * [`metrics`], [`checkpoint`], [`batch`]: the pieces around them.
//!
//! ```no_run
//! use delgrad::data::ClassItem;
//! use delgrad::trainer::{fit, Progress, TrainerConfig};
//! use delgrad::DelayKind;
//!
//! type B = burn::backend::Autodiff<burn::backend::NdArray<f64>>;
//!
//! # fn main() -> delgrad::Result<()> {
//! // Two inputs (spike times), 20 hidden neurons, 2 classes.
//! let items = |n: usize| -> Vec<ClassItem> {
//!     (0..n)
//!         .map(|i| {
//!             let label = i % 2;
//!             ClassItem::new(vec![0.2 + label as f64, 1.2 - label as f64], label)
//!         })
//!         .collect()
//! };
//! let config = TrainerConfig {
//!     epochs: 20,
//!     ..TrainerConfig::new(&[2, 20, 2], DelayKind::Synaptic)
//! };
//! let outcome = fit::<B>(
//!     &config,
//!     items(200),
//!     items(50),
//!     std::path::Path::new("runs/toy"),
//!     false,
//!     Progress::Callback(None),
//!     &Default::default(),
//! )?;
//! println!("{:?}", outcome.history.last());
//! # Ok(())
//! # }
//! ```

pub mod batch;
pub mod checkpoint;
pub mod config;
pub mod fit;
pub mod metrics;
pub mod step;
mod workers;
mod writer;

pub use batch::{SpikeBatch, SpikeBatcher, SpikeDataset};
pub use checkpoint::{checkpoint_dir, complete_checkpoints, last_checkpoint};
pub use config::{BumpRule, ComputeDevice, LayerSpec, ModelSelection, TrainerConfig};
pub use fit::{fit, FitOutcome};
pub use metrics::{EpochBar, EpochCallback, EpochMetrics, Progress, METRICS_HEADER};
pub use step::{TrainHooks, Trainee};
pub use workers::PLAIN_SCHEDULING_ENV;

#[cfg(test)]
mod tests {
    use super::step::{TrainHooks, Trainee};
    use super::*;
    use crate::model::tensor_values;
    use crate::types::DelayKind;
    use burn::backend::{Autodiff, NdArray};
    use burn::module::Param;
    use burn::optim::{AdamConfig, GradientsParams, Optimizer};
    use burn::tensor::{Tensor, TensorData};
    use burn::train::{Interrupter, TrainStep};

    type B = Autodiff<NdArray<f64>>;

    fn trainee(config: &TrainerConfig) -> (Trainee<B>, TrainHooks) {
        let hooks = TrainHooks::new(config, Interrupter::new());
        let net = config.init_network::<B>(&Default::default()).unwrap();
        (Trainee::new(net, hooks.clone()), hooks)
    }

    #[test]
    fn non_finite_gradient_stops_training_naming_the_layer_and_applies_nothing() {
        let config = TrainerConfig::new(&[4, 30, 3], DelayKind::Synaptic);
        let (model, hooks) = trainee(&config);
        let before = tensor_values(model.net.layers[1].weight.val()).unwrap();
        let mut grads = GradientsParams::new();
        for (l, layer) in model.net.layers.iter().enumerate() {
            let shape = layer.weight.shape();
            let mut g = vec![0.1; shape.num_elements()];
            if l == 1 {
                g[4] = f64::NAN;
            }
            grads.register(
                layer.weight.id,
                Tensor::<NdArray<f64>, 2>::from_data(
                    TensorData::new(g, shape),
                    &Default::default(),
                ),
            );
        }
        let mut optim = AdamConfig::new().init::<B, Trainee<B>>();
        let model = TrainStep::optimize::<B, _>(model, &mut optim, 0.01, grads);
        let message = hooks.lock().error.clone().expect("training must stop");
        assert!(message.contains("layer 1 (weights)"), "{message}");
        assert!(hooks.settings.interrupter.should_stop());
        let after = tensor_values(model.net.layers[1].weight.val()).unwrap();
        assert_eq!(before, after, "a non-finite gradient was applied");
        assert!(after.iter().all(|w| w.is_finite()));
    }

    /// The optimisation step groups parameters by learning rate; Adam's state and update are
    /// per parameter, so two steps of it must give the very bits of stepping every parameter on
    /// its own with its own rate.
    #[test]
    fn grouped_adam_steps_equal_one_step_per_parameter() {
        use rand::{Rng, SeedableRng};
        let mut config = TrainerConfig::new(&[4, 6, 3], DelayKind::Synaptic);
        config.lr = 0.01;
        config.lr_delays = 0.003;
        // Layer 0's weights share their rate with no other parameter; layer 1's delays share
        // layer 0's delay rate; layer 1's weights take the run's rate.
        config.layers[0].lr = Some(0.02);
        let (model, _hooks) = trainee(&config);
        let initial = tensor_values(model.net.layers[0].weight.val()).unwrap();
        let mut reference = Trainee {
            net: model.net.clone(),
            hooks: None,
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut grouped = model;
        let mut optim = AdamConfig::new().init::<B, Trainee<B>>();
        let mut optim_each = AdamConfig::new().init::<B, Trainee<B>>();
        let lr = 0.5;
        for _ in 0..2 {
            let params: Vec<(burn::module::ParamId, [usize; 2], f64)> = grouped
                .net
                .layers
                .iter()
                .enumerate()
                .flat_map(|(l, layer)| {
                    let (mw, md) = config.lr_multipliers()[l];
                    let mut p = vec![(layer.weight.id, layer.weight.shape().dims(), mw)];
                    if let Some(d) = &layer.delay_raw {
                        p.push((d.id, d.shape().dims(), md));
                    }
                    p
                })
                .collect();
            let mut grads = GradientsParams::new();
            let mut each = Vec::new();
            for (id, shape, mult) in &params {
                let g: Vec<f64> = (0..shape[0] * shape[1])
                    .map(|_| rng.random_range(-1.0..1.0))
                    .collect();
                let tensor = || {
                    Tensor::<NdArray<f64>, 2>::from_data(
                        TensorData::new(g.clone(), *shape),
                        &Default::default(),
                    )
                };
                grads.register(*id, tensor());
                let mut single = GradientsParams::new();
                single.register(*id, tensor());
                each.push((lr * mult, single));
            }
            grouped = TrainStep::optimize::<B, _>(grouped, &mut optim, lr, grads);
            for (rate, single) in each {
                reference = optim_each.step(rate, reference, single);
            }
        }
        let bits = |t: Vec<f64>| t.into_iter().map(f64::to_bits).collect::<Vec<_>>();
        for (a, b) in grouped.net.layers.iter().zip(&reference.net.layers) {
            let values = |t: Tensor<B, 2>| bits(tensor_values(t).unwrap());
            assert_eq!(values(a.weight.val()), values(b.weight.val()));
            let (da, db) = (a.delay_raw.as_ref(), b.delay_raw.as_ref());
            assert_eq!(
                values(da.unwrap().val()),
                values(db.unwrap().val()),
                "delays"
            );
        }
        // The steps moved the parameters.
        assert_ne!(
            initial,
            tensor_values(grouped.net.layers[0].weight.val()).unwrap()
        );
    }

    #[test]
    fn bumping_raises_incoming_weights_of_silent_neurons_and_doubles() {
        let config = TrainerConfig::new(&[4, 5, 3], DelayKind::Synaptic);
        let (model, hooks) = trainee(&config);
        let before = tensor_values(model.net.layers[0].weight.val()).unwrap();
        let missing = vec![true, false, false, true, false];
        let mut optim = AdamConfig::new().init::<B, Trainee<B>>();
        hooks.lock().pending_bump = Some((0, missing.clone()));
        let model = TrainStep::optimize::<B, _>(model, &mut optim, 0.01, GradientsParams::new());
        hooks.lock().pending_bump = Some((0, missing.clone()));
        let model = TrainStep::optimize::<B, _>(model, &mut optim, 0.01, GradientsParams::new());
        let after = tensor_values(model.net.layers[0].weight.val()).unwrap();
        for (k, (a, b)) in after.iter().zip(&before).enumerate() {
            // Two consecutive bumps of the same layer: 0.0005 then 0.001.
            let want = if missing[k % 5] { 0.0015 } else { 0.0 };
            assert!((a - b - want).abs() < 1e-12, "weight {k}: {b} -> {a}");
        }
        assert_eq!(hooks.lock().bumps, 2);
    }

    #[test]
    fn bumping_reaches_every_layer_of_a_deep_network() {
        let config = TrainerConfig::new(&[6, 8, 7, 4], DelayKind::None);
        assert_eq!(config.bump_thresholds(), vec![0.3, 0.3, 0.0]);
        let (model, hooks) = trainee(&config);
        let before = tensor_values(model.net.layers[1].weight.val()).unwrap();
        let missing: Vec<bool> = (0..7).map(|k| k == 2).collect();
        let mut optim = AdamConfig::new().init::<B, Trainee<B>>();
        hooks.lock().pending_bump = Some((1, missing));
        let model = TrainStep::optimize::<B, _>(model, &mut optim, 0.01, GradientsParams::new());
        let after = tensor_values(model.net.layers[1].weight.val()).unwrap();
        for (k, (a, b)) in after.iter().zip(&before).enumerate() {
            let want = if k % 7 == 2 { 0.0005 } else { 0.0 };
            assert!((a - b - want).abs() < 1e-12, "weight {k}");
        }
    }

    #[test]
    fn the_two_bump_rules_differ_on_one_mostly_silent_neuron() {
        // One of 5 neurons silent for 60 % of the batch, another for 10 %: the layer's silent
        // share is 14 %, under the hidden threshold of 0.3.
        let silent = [0.6, 0.1, 0.0, 0.0, 0.0];
        assert_eq!(BumpRule::LayerFraction.neurons_to_bump(&silent, 0.3), None);
        assert_eq!(
            BumpRule::NeuronFraction.neurons_to_bump(&silent, 0.3),
            Some(vec![true, false, false, false, false])
        );
        // Over the threshold, the layer rule bumps every neuron that missed any spike.
        let silent = [1.0, 0.6, 0.0, 0.0, 0.0];
        assert_eq!(
            BumpRule::LayerFraction.neurons_to_bump(&silent, 0.3),
            Some(vec![true, true, false, false, false])
        );
        // The output layer (threshold 0): any silent output neuron triggers both rules.
        let silent = [0.0, 0.01, 0.0];
        for rule in [BumpRule::LayerFraction, BumpRule::NeuronFraction] {
            assert_eq!(
                rule.neurons_to_bump(&silent, 0.0),
                Some(vec![false, true, false])
            );
            assert_eq!(rule.neurons_to_bump(&[0.0; 3], 0.0), None);
        }
    }

    #[test]
    fn per_layer_learning_rates_become_multipliers_of_the_scheduled_rate() {
        let mut config = TrainerConfig::new(&[4, 10, 10, 3], DelayKind::Synaptic);
        config.lr = 0.01;
        config.lr_delays = 0.005;
        config.layers[1].lr = Some(0.02);
        config.layers[2].lr_delays = Some(0.0);
        assert_eq!(
            config.lr_multipliers(),
            vec![(1.0, 0.5), (2.0, 0.5), (1.0, 0.0)]
        );
    }

    #[test]
    fn layer_seeds_keep_the_two_layer_formula_and_stay_distinct() {
        let mut seen = std::collections::HashSet::new();
        for seed in 0..50u64 {
            let config = TrainerConfig {
                seed,
                ..TrainerConfig::new(&[4, 5, 5, 5, 3], DelayKind::None)
            };
            assert_eq!(config.layer_seed(0), seed * 2);
            assert_eq!(config.layer_seed(1), seed * 2 + 1);
            for l in 0..4 {
                assert!(seen.insert(config.layer_seed(l)), "seed {seed} layer {l}");
            }
        }
    }

    #[test]
    fn invalid_configurations_are_typed_errors_that_name_values() {
        let ok = TrainerConfig::new(&[4, 5, 3], DelayKind::None);
        assert!(ok.validate().is_ok());
        for bad in [
            TrainerConfig::new(&[4], DelayKind::None),
            TrainerConfig::new(&[4, 0, 3], DelayKind::None),
            TrainerConfig {
                epochs: 0,
                ..ok.clone()
            },
            TrainerConfig {
                batch_size: 0,
                ..ok.clone()
            },
            TrainerConfig {
                lr: f64::NAN,
                ..ok.clone()
            },
            TrainerConfig {
                lr_gamma: 0.0,
                ..ok.clone()
            },
            TrainerConfig {
                weight_decay: -1e-3,
                ..ok.clone()
            },
            TrainerConfig {
                loss: crate::loss::SpikeLoss::ShiftInvariantMse { dt: f64::NAN },
                ..ok.clone()
            },
            TrainerConfig {
                bump_initial: f64::INFINITY,
                ..ok.clone()
            },
        ] {
            let err = bad.validate().unwrap_err();
            assert!(matches!(err, crate::Error::InvalidConfig(_)), "{err}");
            assert!(!err.to_string().contains("--"), "{err}");
        }
    }

    #[test]
    fn updates_keep_stored_weights_in_the_chip_range() {
        type C = Autodiff<crate::hardware::HardwareAware<NdArray<f64>>>;
        let config = TrainerConfig {
            chip: Some(crate::hardware::ChipProfile::brainscales2()),
            neuron: crate::neuron::LifParams::hardware(),
            ..TrainerConfig::new(&[20, 30, 3], DelayKind::None)
        };
        let hooks = TrainHooks::new(&config, Interrupter::new());
        let mut net = config.init_network::<C>(&Default::default()).unwrap();
        let layer = &mut net.layers[0];
        let shape = layer.weight.shape();
        let mut w = vec![0.5; shape.num_elements()];
        w[0] = 5.0;
        w[1] = -3.0;
        layer.weight = Param::initialized(
            layer.weight.id,
            Tensor::from_data(TensorData::new(w, shape), &Default::default()).require_grad(),
        );
        let model = Trainee::new(net, hooks);
        let mut optim = AdamConfig::new().init::<C, Trainee<C>>();
        let model = TrainStep::optimize::<C, _>(model, &mut optim, 0.002, GradientsParams::new());
        let w = tensor_values(model.net.layers[0].weight.val()).unwrap();
        assert_eq!((w[0], w[1], w[2]), (2.1, -2.1, 0.5));
    }
}
