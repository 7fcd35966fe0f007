//! Burn's per-epoch checkpoints in a run directory: which epochs are complete, and loading
//! them with a clear error instead of Burn's panic on a corrupted file.

use std::path::{Path, PathBuf};

use burn::record::{DoublePrecisionSettings, NamedMpkFileRecorder, Record};
use burn::tensor::backend::Backend;

use crate::error::{Error, Result};

/// Directory of Burn's checkpoints inside a run directory.
pub fn checkpoint_dir(run_dir: &Path) -> PathBuf {
    run_dir.join("checkpoint")
}

/// Epochs with a complete set of checkpoint files (model, optimizer, scheduler), ascending.
pub fn complete_checkpoints(run_dir: &Path) -> Vec<usize> {
    let dir = checkpoint_dir(run_dir);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut epochs: Vec<usize> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_prefix("model-")?
                .strip_suffix(".mpk")?
                .parse::<usize>()
                .ok()
        })
        .filter(|n| {
            ["optim", "scheduler"]
                .iter()
                .all(|p| dir.join(format!("{p}-{n}.mpk")).exists())
        })
        .collect();
    epochs.sort_unstable();
    epochs
}

/// The last epoch with a complete set of checkpoint files.
pub fn last_checkpoint(run_dir: &Path) -> Option<usize> {
    complete_checkpoints(run_dir).last().copied()
}

/// Checkpoints kept per run: Burn logs metrics asynchronously, so after a kill the newest
/// checkpoints can be a few epochs ahead of `metrics.csv`; resuming picks the newest checkpoint
/// whose history is complete.
pub(crate) const CHECKPOINTS_KEPT: usize = 10;

/// f64 records: a resumed f64 run continues from exactly the parameters it stopped with.
pub(crate) type CheckpointRecorder = NamedMpkFileRecorder<DoublePrecisionSettings>;

/// Loads a record with a clear error instead of Burn's panic on a corrupted checkpoint.
pub(crate) fn check_record<B: Backend, R: Record<B>>(
    path: PathBuf,
    device: &B::Device,
) -> Result<()> {
    let recorder = CheckpointRecorder::new();
    burn::record::Recorder::<B>::load::<R>(&recorder, path.clone(), device)
        .map(drop)
        .map_err(|e| Error::MalformedFile {
            path: path.with_extension("mpk"),
            reason: format!("corrupted checkpoint: {e}"),
        })
}
