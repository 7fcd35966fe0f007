//! Resume continues an interrupted run exactly: a run killed mid-training (a child process,
//! killed from outside) and resumed writes the same `metrics.csv` (all but the wall-time column),
//! `model.json`, `test_output_times.csv` and accuracies as the same run trained in one go, for an
//! ideal and a chip-aware preset. A run extended with more epochs equals one trained that long,
//! damaged checkpoints are reported and passed over, and a resume that contradicts the run's
//! configuration is an error.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use delgrad::experiment::{run, RunSummary, YinYangConfig};
use delgrad::trainer::Progress;
use delgrad::Error;

const CHILD_DIR: &str = "DELGRAD_RESUME_CHILD_DIR";
const CHILD_PRESET: &str = "DELGRAD_RESUME_CHILD_PRESET";
const CHILD_EPOCHS: &str = "DELGRAD_RESUME_CHILD_EPOCHS";

fn config(preset: &str, epochs: usize) -> YinYangConfig {
    YinYangConfig {
        epochs,
        seed: 5,
        ..YinYangConfig::preset(preset).unwrap()
    }
}

fn train(config: &YinYangConfig, dir: &Path, resume: bool) -> delgrad::Result<RunSummary> {
    run(config, dir, resume, Progress::Callback(None))
}

/// `metrics.csv` without its last column (wall time per epoch, the one thing that differs).
fn metrics_without_seconds(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    text.lines()
        .map(|l| l.rsplit_once(',').map_or(l, |(head, _)| head))
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_same_run(a: &Path, b: &Path, sa: &RunSummary, sb: &RunSummary) {
    assert_eq!(metrics_without_seconds(a), metrics_without_seconds(b));
    for file in ["model.json", "test_output_times.csv", "config.json"] {
        let (x, y) = (
            std::fs::read(a.join(file)).unwrap(),
            std::fs::read(b.join(file)).unwrap(),
        );
        assert!(x == y, "{file} differs between {a:?} and {b:?}");
    }
    assert_eq!(sa.test_accuracy, sb.test_accuracy);
    assert_eq!(sa.val_accuracy, sb.val_accuracy);
    assert_eq!(sa.train_accuracy, sb.train_accuracy);
    assert_eq!(sa.weight_bumps, sb.weight_bumps);
    assert_eq!(sa.chip_draws, sb.chip_draws);
}

/// Not a test of its own: the process the kill test starts and kills.
#[test]
#[ignore = "started by killed_runs_resume_bit_for_bit"]
fn child_trains_until_killed() {
    let (Ok(dir), Ok(preset), Ok(epochs)) = (
        std::env::var(CHILD_DIR),
        std::env::var(CHILD_PRESET),
        std::env::var(CHILD_EPOCHS),
    ) else {
        return;
    };
    train(
        &config(&preset, epochs.parse().unwrap()),
        Path::new(&dir),
        false,
    )
    .unwrap();
}

fn metrics_rows(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("metrics.csv"))
        .map_or(0, |t| t.lines().count().saturating_sub(1))
}

/// Starts the child run and kills it once `metrics.csv` has `rows` epochs.
fn train_and_kill(preset: &str, epochs: usize, dir: &Path, rows: usize) {
    let mut child: Child = Command::new(std::env::current_exe().unwrap())
        .args(["child_trains_until_killed", "--exact", "--ignored"])
        .env(CHILD_DIR, dir)
        .env(CHILD_PRESET, preset)
        .env(CHILD_EPOCHS, epochs.to_string())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while metrics_rows(dir) < rows {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the child run ended before it was killed: {status}");
        }
        assert!(start.elapsed() < Duration::from_secs(600), "child too slow");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !dir.join("summary.json").exists(),
        "the child finished before it was killed"
    );
}

#[test]
fn killed_runs_resume_bit_for_bit() {
    // An ideal preset and a chip-aware one (threshold noise drawn at every forward call).
    for (preset, epochs, kill_after) in [("h30-ws", 8, 3), ("hw-wa", 6, 2)] {
        let tmp = tempfile::tempdir().unwrap();
        let whole: PathBuf = tmp.path().join("whole");
        let killed: PathBuf = tmp.path().join("killed");
        let c = config(preset, epochs);
        let uninterrupted = train(&c, &whole, false).unwrap();

        train_and_kill(preset, epochs, &killed, kill_after);
        let resumed = train(&c, &killed, true).unwrap();
        assert!(
            resumed.resumed_from >= kill_after - 1 && resumed.resumed_from < epochs,
            "{preset}: resumed after epoch {}",
            resumed.resumed_from
        );
        assert_same_run(&whole, &killed, &uninterrupted, &resumed);
    }
}

#[test]
fn extending_a_finished_run_equals_training_it_that_long() {
    let tmp = tempfile::tempdir().unwrap();
    let (whole, short) = (tmp.path().join("whole"), tmp.path().join("short"));
    let all = train(&config("h30-wa", 6), &whole, false).unwrap();
    train(&config("h30-wa", 3), &short, false).unwrap();
    let extended = train(&config("h30-wa", 6), &short, true).unwrap();
    assert_eq!(extended.resumed_from, 3);
    assert_same_run(&whole, &short, &all, &extended);
}

#[test]
fn damaged_checkpoints_are_reported_and_resume_takes_the_newest_complete_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (whole, damaged) = (tmp.path().join("whole"), tmp.path().join("damaged"));
    let all = train(&config("h5-ws", 6), &whole, false).unwrap();
    train(&config("h5-ws", 4), &damaged, false).unwrap();
    let ckpt = damaged.join("checkpoint");
    // Epoch 4's model file cut short mid-write, epoch 3's optimizer state gone.
    let model4 = ckpt.join("model-4.mpk");
    let bytes = std::fs::read(&model4).unwrap();
    std::fs::write(&model4, &bytes[..bytes.len() / 2]).unwrap();
    std::fs::remove_file(ckpt.join("optim-3.mpk")).unwrap();

    let resumed = train(&config("h5-ws", 6), &damaged, true).unwrap();
    assert_eq!(resumed.resumed_from, 2);
    let skipped = &resumed.skipped_checkpoints;
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert!(
        skipped[0].contains("epoch 4") && skipped[0].contains("model-4.mpk"),
        "{skipped:?}"
    );
    assert!(
        skipped[1].contains("epoch 3")
            && skipped[1].contains("optim-3.mpk")
            && skipped[1].contains("missing"),
        "{skipped:?}"
    );
    // Falling back loses nothing: the run still equals the uninterrupted one.
    assert_same_run(&whole, &damaged, &all, &resumed);

    // With every checkpoint damaged, resume is an error naming the newest one.
    for e in 1..=6 {
        let _ = std::fs::remove_file(ckpt.join(format!("state-{e}.json")));
    }
    let err = train(&config("h5-ws", 8), &damaged, true).unwrap_err();
    assert!(matches!(err, Error::MalformedFile { .. }), "{err}");
    assert!(err.to_string().contains("state-6.json"), "{err}");
}

#[test]
fn resuming_with_a_contradicting_configuration_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    train(&config("h5-ws", 2), &dir, false).unwrap();
    let other_seed = YinYangConfig {
        seed: 6,
        ..config("h5-ws", 3)
    };
    let err = train(&other_seed, &dir, true).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::InvalidConfig(_)), "{message}");
    assert!(
        message.contains("seed: the run has 5, this call asks for 6"),
        "{message}"
    );
    let err = YinYangConfig::for_resume(&dir, Some("h30-ws")).unwrap_err();
    assert!(err.to_string().contains("preset is h5-ws"), "{err}");
    // The run's own configuration, with more epochs, resumes.
    let stored = YinYangConfig::for_resume(&dir, Some("h5-ws")).unwrap();
    let extended = train(
        &YinYangConfig {
            epochs: 3,
            ..stored
        },
        &dir,
        true,
    )
    .unwrap();
    assert_eq!((extended.resumed_from, extended.epochs), (2, 3));
}

#[test]
fn best_validation_selection_keeps_the_best_epoch_and_survives_a_resume() {
    use delgrad::trainer::{EpochMetrics, ModelSelection};
    let tmp = tempfile::tempdir().unwrap();
    let (whole, short) = (tmp.path().join("whole"), tmp.path().join("short"));
    let select = |epochs| YinYangConfig {
        selection: ModelSelection::BestValidation,
        ..config("h5-ws", epochs)
    };
    let all = train(&select(12), &whole, false).unwrap();
    let rows = EpochMetrics::read_csv(&whole.join("metrics.csv")).unwrap();
    let best = rows.iter().fold(&rows[0], |b, r| {
        if r.val_accuracy > b.val_accuracy {
            r
        } else {
            b
        }
    });
    assert_eq!(all.selected_epoch, Some(best.epoch));
    // The kept network is that epoch's: its validation accuracy is the logged one.
    assert!((all.val_accuracy - best.val_accuracy).abs() < 1e-12);
    // This run's best epoch is not its last, so the selection is exercised.
    assert!(best.epoch < 12, "best epoch {}", best.epoch);

    train(&select(5), &short, false).unwrap();
    let extended = train(&select(12), &short, true).unwrap();
    assert_eq!(extended.selected_epoch, all.selected_epoch);
    assert_same_run(&whole, &short, &all, &extended);
}

/// The epoch's files are written off the training loop; one that cannot be written still stops
/// the run with an error (at the next epoch's write at the latest), and none is lost silently.
#[test]
fn a_training_file_that_cannot_be_written_stops_the_run_with_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    train(&config("h5-ws", 1), &dir, false).unwrap();
    // A non-empty directory where epoch 3's trainer state should go: the rename onto it fails.
    // (A fresh run clears the checkpoint directory, so the blocker comes between run and resume.)
    let blocker = dir.join("checkpoint").join("state-3.json");
    std::fs::create_dir_all(&blocker).unwrap();
    std::fs::write(blocker.join("occupied"), b"x").unwrap();
    let err = train(&config("h5-ws", 8), &dir, true).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::Training(_)), "{message}");
    assert!(message.contains("training file"), "{message}");
    assert!(message.contains("state-3.json"), "{message}");
    // Stopped at the next epoch's write, long before the last epoch.
    assert!(dir.join("checkpoint").join("state-2.json").exists());
    assert!(
        !dir.join("checkpoint").join("state-6.json").exists(),
        "training went on after the failed write: {message}"
    );
}
