//! The general trainer on data other than Yin-Yang: the bundled digits through
//! `run_classifier` with two hidden layers, the files a run writes, the model file's own
//! encoder on evaluation, a user's own items, and bad data rejected with typed errors.

use delgrad::data::{ClassItem, DataSplits};
use delgrad::encoding::LatencyEncoder;
use delgrad::experiment::digits;
use delgrad::experiment::{evaluate_model, run_classifier, ClassifierConfig};
use delgrad::trainer::{EpochMetrics, Progress, TrainerConfig};
use delgrad::{DelayKind, Error, NetworkFile};

/// A quarter of the digits' training split, to keep the test short.
fn small_digits() -> DataSplits {
    let mut s = digits::splits().unwrap();
    s.train.truncate(s.train.len() / 4);
    s
}

#[test]
fn two_hidden_layers_train_on_digits_and_write_every_output() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let mut config = digits::preset("digits-2l-ws").unwrap();
    config.trainer.epochs = 4;
    let sizes = config.trainer.sizes();
    assert_eq!(sizes, vec![64, 100, 50, 10]);
    let splits = small_digits();
    let summary = run_classifier(
        &config,
        &splits,
        Some(&digits::class_names()),
        &dir,
        false,
        Progress::Callback(None),
    )
    .unwrap();
    // Chance is 10 %; four epochs on 270 images reach well above it.
    assert!(summary.val_accuracy > 0.4, "{}", summary.val_accuracy);
    assert!(summary.test_accuracy > 0.4, "{}", summary.test_accuracy);
    assert_eq!(summary.n_params, 2 * (64 * 100 + 100 * 50 + 50 * 10));
    let rows = EpochMetrics::read_csv(&dir.join("metrics.csv")).unwrap();
    assert_eq!(rows.len(), 4);
    assert!(rows[3].val_loss < rows[0].val_loss);
    for name in [
        "config.json",
        "summary.json",
        "model.json",
        "test_output_times.csv",
        "learning_curves.png",
        "confusion_matrix.png",
        "spike_raster.png",
        "spike_times.png",
    ] {
        assert!(dir.join(name).exists(), "{name} missing");
    }
    // The model file carries its encoder and three layers; evaluating it on the raw test
    // images gives the run's test accuracy.
    let file = NetworkFile::load(dir.join("model.json")).unwrap();
    assert_eq!(file.layers.len(), 3);
    let eval = evaluate_model(
        &dir.join("model.json"),
        &splits.test,
        &tmp.path().join("eval"),
    )
    .unwrap();
    assert_eq!(eval.test_accuracy, summary.test_accuracy);
    assert_eq!(eval.samples, splits.test.len());
    // Resuming with more epochs continues from the checkpoint of epoch 4.
    config.trainer.epochs = 5;
    let resumed =
        run_classifier(&config, &splits, None, &dir, true, Progress::Callback(None)).unwrap();
    assert_eq!(resumed.resumed_from, 4);
    assert_eq!(
        EpochMetrics::read_csv(&dir.join("metrics.csv"))
            .unwrap()
            .len(),
        5
    );
}

/// A user's own data: two Gaussian blobs in 3 features.
fn blobs(n: usize, seed: u64) -> Vec<ClassItem> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let label = i % 2;
            let centre = if label == 0 { 0.25 } else { 0.75 };
            let features = (0..3)
                .map(|_| (centre + 0.1 * (rng.random::<f64>() - 0.5)).clamp(0.0, 1.0))
                .collect();
            ClassItem::new(features, label)
        })
        .collect()
}

#[test]
fn a_users_own_data_trains_in_a_few_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let splits = DataSplits::stratified(blobs(300, 1), [0.6, 0.2, 0.2], 0).unwrap();
    let encoder = LatencyEncoder::new(0.0, 1.0, 0.15, 2.0).with_both_polarities(true);
    let config = ClassifierConfig {
        preset: "blobs".into(),
        trainer: TrainerConfig {
            epochs: 10,
            batch_size: 20,
            ..TrainerConfig::new(&[encoder.num_inputs(3), 10, 2], DelayKind::Axonal)
        },
        encoder,
    };
    let summary = run_classifier(
        &config,
        &splits,
        None,
        &tmp.path().join("blobs"),
        false,
        Progress::Callback(None),
    )
    .unwrap();
    assert!(summary.test_accuracy >= 0.9, "{}", summary.test_accuracy);
}

#[test]
fn mismatched_data_and_configurations_are_typed_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let splits = DataSplits::stratified(blobs(60, 2), [0.6, 0.2, 0.2], 0).unwrap();
    let encoder = LatencyEncoder::new(0.0, 1.0, 0.15, 2.0);
    // The encoder makes 3 inputs, the network takes 4.
    let wrong_width = ClassifierConfig {
        preset: "x".into(),
        trainer: TrainerConfig::new(&[4, 5, 2], DelayKind::None),
        encoder: encoder.clone(),
    };
    let err = run_classifier(
        &wrong_width,
        &splits,
        None,
        tmp.path(),
        false,
        Progress::Callback(None),
    )
    .unwrap_err();
    assert!(matches!(err, Error::InvalidConfig(_)), "{err}");
    // Labels beyond the network's classes.
    let mut bad = splits.clone();
    bad.train[0].label = 7;
    let config = ClassifierConfig {
        trainer: TrainerConfig::new(&[3, 5, 2], DelayKind::None),
        ..wrong_width
    };
    let err = run_classifier(
        &config,
        &bad,
        None,
        tmp.path(),
        false,
        Progress::Callback(None),
    )
    .unwrap_err();
    assert!(err.to_string().contains("label 7"), "{err}");
    // A NaN feature.
    let mut bad = splits.clone();
    bad.validation[0].features[1] = f64::NAN;
    assert!(run_classifier(
        &config,
        &bad,
        None,
        tmp.path(),
        false,
        Progress::Callback(None)
    )
    .is_err());
    // Evaluating a Yin-Yang network file as a latency-encoded one.
    let yin_yang = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/reference/h30_ws.json");
    let err = evaluate_model(&yin_yang, &splits.test, tmp.path()).unwrap_err();
    assert!(matches!(err, Error::InvalidConfig(_)), "{err}");
}
