//! Yin-Yang end to end on Burn's learner: a short training run, the files it writes, export /
//! import / evaluate round trip, resume from a checkpoint, and clear errors on corrupted files.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use delgrad::experiment::YinYangConfig;
use delgrad::experiment::{run, run_eval, RunSummary};
use delgrad::trainer::{last_checkpoint, EpochMetrics, Progress};
use delgrad::Error;

/// A run directory that does not exist yet (runs create theirs) inside a fresh temporary
/// directory, which is removed when the returned guard is dropped.
fn scratch() -> (TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    (tmp, dir)
}

fn quick(preset: &str, epochs: usize) -> YinYangConfig {
    YinYangConfig {
        epochs,
        ..YinYangConfig::preset(preset).unwrap()
    }
}

fn train(config: &YinYangConfig, dir: &Path, resume: bool) -> delgrad::Result<RunSummary> {
    run(config, dir, resume, Progress::Callback(None))
}

#[test]
fn short_run_learns_and_writes_every_output() {
    let (_tmp, dir) = scratch();
    let summary = train(&quick("h30-ws", 6), &dir, false).unwrap();
    // Chance is 1/3; six epochs of h30-ws reach about 80 %.
    assert!(
        summary.test_accuracy > 0.65,
        "test accuracy {}",
        summary.test_accuracy
    );
    assert!(summary.train_accuracy > 0.65 && summary.val_accuracy > 0.65);
    assert_eq!(summary.n_params, 420);
    assert_eq!(summary.epochs, 6);
    assert!(summary.train_seconds > 0.0);

    let text = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let rows = EpochMetrics::parse_csv(&text).unwrap();
    assert_eq!(
        rows.iter().map(|r| r.epoch).collect::<Vec<_>>(),
        (1..=6).collect::<Vec<_>>()
    );
    assert!(rows
        .iter()
        .all(|r| r.train_loss.is_finite() && r.val_loss.is_finite()));
    assert!(rows[5].val_loss < rows[0].val_loss);
    assert!((rows[0].learning_rate - 0.01).abs() < 1e-12);

    let times = std::fs::read_to_string(dir.join("test_output_times.csv")).unwrap();
    let mut lines = times.lines();
    assert_eq!(lines.next(), Some("sample,label,t0,t1,t2"));
    assert_eq!(lines.count(), 1000);
    for name in ["summary.json", "model.json", "config.json"] {
        assert!(dir.join(name).exists(), "{name} missing");
    }
}

#[test]
fn exported_model_evaluates_to_the_same_output_times() {
    let (tmp, dir) = scratch();
    let summary = train(&quick("h30-wa", 3), &dir, false).unwrap();
    let eval_dir = dir.join("eval");
    let eval = run_eval(&dir.join("model.json"), &eval_dir).unwrap();
    assert_eq!(eval.test_accuracy, summary.test_accuracy);
    let trained = std::fs::read(dir.join("test_output_times.csv")).unwrap();
    let evaluated = std::fs::read(eval_dir.join("test_output_times.csv")).unwrap();
    if trained != evaluated {
        // Keep the files for a look; the temporary directory would be removed otherwise.
        let _ = tmp.keep();
        panic!(
            "output times differ after export and import: {}",
            dir.display()
        );
    }
}

#[test]
fn resume_continues_from_the_last_checkpoint() {
    let (_tmp, dir) = scratch();
    // A run that stopped after 2 epochs (its checkpoints are what an interrupted run leaves).
    train(&quick("h5-ws", 2), &dir, false).unwrap();
    assert_eq!(last_checkpoint(&dir), Some(2));
    let summary = train(&quick("h5-ws", 4), &dir, true).unwrap();
    assert_eq!(summary.resumed_from, 2);
    assert_eq!(summary.epochs, 4);
    assert_eq!(last_checkpoint(&dir), Some(4));
    let text = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let epochs: Vec<usize> = EpochMetrics::parse_csv(&text)
        .unwrap()
        .iter()
        .map(|r| r.epoch)
        .collect();
    assert_eq!(epochs, vec![1, 2, 3, 4]);
    // Nothing left to do.
    assert!(matches!(
        train(&quick("h5-ws", 4), &dir, true),
        Err(Error::InvalidConfig(_))
    ));
}

#[test]
fn corrupted_checkpoint_and_model_files_are_reported() {
    let (_tmp, dir) = scratch();
    train(&quick("h5-ws", 2), &dir, false).unwrap();
    // Both checkpoints cut short: nothing to fall back to (tests/resume.rs covers falling back).
    for epoch in [1, 2] {
        let ckpt = dir.join("checkpoint").join(format!("model-{epoch}.mpk"));
        let bytes = std::fs::read(&ckpt).unwrap();
        std::fs::write(&ckpt, &bytes[..bytes.len() / 2]).unwrap();
    }
    let err = train(&quick("h5-ws", 3), &dir, true).unwrap_err();
    assert!(matches!(err, Error::MalformedFile { .. }), "{err}");
    assert!(err.to_string().contains("model-2"), "{err}");

    let model = dir.join("model.json");
    let text = std::fs::read_to_string(&model).unwrap();
    std::fs::write(&model, &text[..text.len() / 2]).unwrap();
    let err = run_eval(&model, &dir.join("eval")).unwrap_err();
    assert!(matches!(err, Error::MalformedFile { .. }), "{err}");
}

#[test]
fn resume_without_checkpoint_and_bad_configs_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    assert!(train(&quick("h30-w", 2), dir, true).is_err());
    for bad in [
        YinYangConfig {
            hidden: 0,
            ..quick("h30-w", 1)
        },
        YinYangConfig {
            lr: f64::NAN,
            ..quick("h30-w", 1)
        },
        YinYangConfig {
            batch_size: 0,
            ..quick("h30-w", 1)
        },
    ] {
        assert!(matches!(
            train(&bad, dir, false),
            Err(Error::InvalidConfig(_))
        ));
    }
    assert!(YinYangConfig::preset("h31-x").is_err());
}

#[test]
fn eval_mode_reproduces_the_reference_accuracies() {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference");
    let (_tmp, dir) = scratch();
    for (name, correct) in [
        ("h30_w", 967),
        ("h30_wa", 975),
        ("h30_ws", 982),
        ("h5_ws", 954),
    ] {
        let out = dir.join(name);
        let s = run_eval(&fixtures.join(format!("{name}.json")), &out).unwrap();
        assert_eq!((s.correct, s.samples), (correct, 1000), "{name}");
        // The written output times are the recorded ones (same rows, same spike times to 1e-9).
        let ours = std::fs::read_to_string(out.join("test_output_times.csv")).unwrap();
        let recorded =
            std::fs::read_to_string(fixtures.join(format!("{name}_test_output_times.csv")))
                .unwrap();
        for (a, b) in ours.lines().zip(recorded.lines()).skip(1) {
            let a: Vec<f64> = a.split(',').map(|v| v.parse().unwrap()).collect();
            let b: Vec<f64> = b.split(',').map(|v| v.parse().unwrap()).collect();
            assert_eq!(a[..2], b[..2]);
            for (x, y) in a[2..].iter().zip(&b[2..]) {
                assert!((x - y).abs() < 1e-9, "{name}: {x} vs {y}");
            }
        }
    }
}

/// The published Yin-Yang runs (`artifacts/yinyang/`) were trained before the general trainer
/// existed; the presets must still give the very same numbers. The fixtures are the first rows
/// of their `metrics.csv` (every column but the wall time).
#[test]
fn presets_reproduce_the_published_runs_bit_for_bit() {
    for (preset, epochs) in [("h30-ws", 3), ("hw-wa", 2)] {
        let (_tmp, dir) = scratch();
        train(&quick(preset, epochs), &dir, false).unwrap();
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
            "tests/fixtures/published-metrics/{preset}-seed0.csv"
        ));
        let want = EpochMetrics::parse_csv(&std::fs::read_to_string(fixture).unwrap()).unwrap();
        let got = EpochMetrics::read_csv(&dir.join("metrics.csv")).unwrap();
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            let bits = |m: &EpochMetrics| {
                [
                    m.train_loss,
                    m.train_accuracy,
                    m.val_loss,
                    m.val_accuracy,
                    m.learning_rate,
                ]
                .map(f64::to_bits)
            };
            assert_eq!(
                (g.epoch, bits(g)),
                (w.epoch, bits(w)),
                "{preset}: {g:?} vs {w:?}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn plus_presets_train_the_paper_networks_with_another_procedure() {
    for paper in ["h30-w", "h30-wa", "h30-ws", "h5-ws"] {
        let plus = YinYangConfig::preset(&format!("{paper}-plus")).unwrap();
        let base = YinYangConfig::preset(paper).unwrap();
        // Same network, initialisation, data and loss: only the schedule may differ.
        assert_eq!(
            (plus.hidden, plus.delays, plus.encoding, plus.train_subset),
            (base.hidden, base.delays, base.encoding, base.train_subset)
        );
        assert_eq!(
            (plus.weight_init_hidden, plus.weight_init_output, plus.loss),
            (base.weight_init_hidden, base.weight_init_output, base.loss)
        );
        assert!(plus.epochs <= 1000 && plus != base);
        // A short smoke run: it trains, and has the paper network's parameter count.
        let (_tmp, dir) = scratch();
        let smoke = YinYangConfig {
            epochs: 2,
            train_subset: Some(300),
            ..plus
        };
        let summary = train(&smoke, &dir, false).unwrap();
        let reference =
            quick(paper, 1).init_network::<burn::backend::NdArray<f64>>(&Default::default());
        assert_eq!(
            summary.n_params,
            reference.unwrap().num_trainable(),
            "{paper}"
        );
        assert!(
            summary.test_accuracy > 0.2,
            "{paper}-plus: {}",
            summary.test_accuracy
        );
    }
    assert!(YinYangConfig::preset("hw-w-plus").is_err());
}

#[test]
fn weight_decay_shrinks_the_weights_and_is_validated() {
    let mean_abs_weight = |decay: f64| {
        let (_tmp, dir) = scratch();
        let config = YinYangConfig {
            epochs: 20,
            train_subset: Some(300),
            weight_decay: decay,
            ..YinYangConfig::preset("h30-w").unwrap()
        };
        let summary = train(&config, &dir, false).unwrap();
        assert!(
            summary.weight_bumps <= 30,
            "{} of 40 steps bumped",
            summary.weight_bumps
        );
        let net = delgrad::network::NetworkFile::load(dir.join("model.json")).unwrap();
        let w: Vec<f64> = net.layers.iter().flat_map(|l| l.weights_flat()).collect();
        w.iter().map(|v| v.abs()).sum::<f64>() / w.len() as f64
    };
    // Adam normalises the gradient: a penalty far above the loss's gradient moves every weight
    // towards zero by about the learning rate per optimizer step (10 or more here; the others are weight bumps).
    let (plain, decayed) = (mean_abs_weight(0.0), mean_abs_weight(100.0));
    eprintln!("mean abs weight: plain {plain}, decayed {decayed}");
    assert!(decayed < plain - 0.02, "plain {plain}, decayed {decayed}");
    for bad in [-1.0, f64::NAN] {
        let config = YinYangConfig {
            weight_decay: bad,
            ..YinYangConfig::preset("h30-w").unwrap()
        };
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("weight decay"), "{err}");
    }
}
