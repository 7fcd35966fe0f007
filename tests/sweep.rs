//! The sweep runner: runs a small grid, skips finished runs on a second call, resumes an
//! interrupted run from its checkpoints, and aggregates what finished.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use delgrad::experiment::{self, RunSummary};
use delgrad::sweep::{self, SweepObserver, SweepRun};
use delgrad::trainer::Progress;
use delgrad::DelayKind;

#[derive(Default)]
struct Count {
    skipped: AtomicUsize,
    finished: AtomicUsize,
}

impl SweepObserver for Count {
    fn skipped(&self, _run: &SweepRun) {
        self.skipped.fetch_add(1, Ordering::SeqCst);
    }
    fn finished(&self, _run: &SweepRun, outcome: &delgrad::Result<RunSummary>) {
        assert!(outcome.is_ok(), "{outcome:?}");
        self.finished.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn sweep_runs_skips_resumes_and_aggregates() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("sweep");
    let runs = sweep::grid(
        &[DelayKind::None, DelayKind::Synaptic],
        &[3],
        &[DelayKind::Axonal],
        &[4],
        &[0, 1],
        2,
    )
    .unwrap();
    assert_eq!(runs.len(), 6);
    assert!(runs.iter().any(|r| r.name == "bss2-axonal-h4-seed1"));
    assert!(sweep::grid(&[], &[], &[DelayKind::Synaptic], &[4], &[0], 1).is_err());

    // An interrupted run: one of its two epochs trained (checkpoints kept), no summary.
    let interrupted = &runs[1];
    let dir = sweep::run_dir(&root, interrupted);
    let first_epoch = delgrad::experiment::YinYangConfig {
        epochs: 1,
        ..interrupted.config.clone()
    };
    experiment::run(&first_epoch, &dir, false, Progress::Callback(None)).unwrap();
    std::fs::remove_file(dir.join("summary.json")).unwrap();

    let epochs = Arc::new(AtomicUsize::new(0));
    let count = Count::default();
    let outcomes = sweep::run_all(&runs, &root, 2, 1, &epochs, &count);
    assert!(outcomes.iter().all(|o| o.is_ok()));
    assert_eq!(count.finished.load(Ordering::SeqCst), 6);
    assert_eq!(count.skipped.load(Ordering::SeqCst), 0);
    // Five fresh runs of two epochs; the interrupted one resumed after its first epoch.
    assert_eq!(epochs.load(Ordering::SeqCst), 5 * 2 + 1);
    let resumed = outcomes[1].as_ref().unwrap();
    assert_eq!(resumed.resumed_from, 1);
    for (run, outcome) in runs.iter().zip(&outcomes) {
        let s = outcome.as_ref().unwrap();
        assert_eq!((s.seed, s.epochs), (run.config.seed, 2));
        let kept: Vec<String> = std::fs::read_dir(sweep::run_dir(&root, run))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            !kept
                .iter()
                .any(|k| k == "checkpoint" || k.ends_with(".png")),
            "{kept:?}"
        );
        assert!(kept.iter().any(|k| k == "summary.json"));
    }

    // A second call trains nothing.
    let count = Count::default();
    let again = sweep::run_all(&runs, &root, 2, 1, &Arc::new(AtomicUsize::new(0)), &count);
    assert_eq!(count.skipped.load(Ordering::SeqCst), 6);
    assert_eq!(
        again
            .iter()
            .map(|o| o.as_ref().unwrap().test_accuracy)
            .collect::<Vec<_>>(),
        outcomes
            .iter()
            .map(|o| o.as_ref().unwrap().test_accuracy)
            .collect::<Vec<_>>()
    );

    let records = sweep::aggregate(&runs, &root).unwrap();
    assert_eq!(records.len(), 6);
    let stats = sweep::statistics(&records);
    assert_eq!(stats.len(), 3);
    let none = stats
        .iter()
        .find(|s| s.setting == "ideal" && s.delays == DelayKind::None)
        .unwrap();
    assert_eq!(none.runs, 2);
    let mean = 50.0 * (records[0].test_accuracy + records[1].test_accuracy);
    assert!((none.mean - mean).abs() < 1e-9, "{} {mean}", none.mean);
    // Chip runs: statistics over seeds and noise draws, never one draw.
    let chip = stats.iter().find(|s| s.setting == "bss2").unwrap();
    assert_eq!((chip.runs, chip.samples), (2, 2 * experiment::CHIP_DRAWS));
    let chip_records: Vec<_> = records.iter().filter(|r| r.setting == "bss2").collect();
    for r in &chip_records {
        let draws = r.test_draws.as_ref().expect("chip runs carry their draws");
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((r.test_accuracy - mean).abs() < 1e-12, "{r:?}");
    }
    // A chip run from before runs measured their own draws has them measured from its
    // model.json (other draws of the same noise model), the same on every aggregation.
    let old_style = runs.iter().find(|r| r.setting == "bss2").unwrap();
    let summary_path = sweep::run_dir(&root, old_style).join("summary.json");
    let mut summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary_path).unwrap()).unwrap();
    assert!(summary
        .as_object_mut()
        .unwrap()
        .remove("chip_draws")
        .is_some());
    std::fs::write(&summary_path, summary.to_string()).unwrap();
    let remeasured = sweep::aggregate(&runs, &root).unwrap();
    assert_eq!(remeasured, sweep::aggregate(&runs, &root).unwrap());
    for (after, before) in remeasured.iter().zip(&records) {
        let draws = after.test_draws.as_ref().map(Vec::len);
        assert_eq!(
            draws,
            before.test_draws.as_ref().map(Vec::len),
            "{}",
            after.name
        );
        let same_but_draws = |r: &sweep::RunRecord| sweep::RunRecord {
            test_accuracy: 0.0,
            test_draws: None,
            ..r.clone()
        };
        assert_eq!(same_but_draws(after), same_but_draws(before));
    }
    for name in [
        "results.json",
        "summary.md",
        "accuracy_vs_params_ideal.png",
        "accuracy_vs_params_bss2.png",
    ] {
        assert!(root.join(name).exists(), "{name}");
    }
}
