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

/// Epochs with a complete set of checkpoint files (model, optimizer, scheduler, trainer state),
/// ascending. Whether they load is checked when a run resumes.
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
                && dir.join(format!("state-{n}.json")).exists()
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

/// What a resumed run needs besides Burn's model, optimizer and scheduler records: the state of
/// weight bumping and the position of every chip-bound layer's noise stream, as they were after
/// the epoch's validation (`checkpoint/state-<epoch>.json`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct TrainerState {
    pub(crate) epoch: usize,
    pub(crate) bump_value: f64,
    pub(crate) last_bump_layer: Option<usize>,
    pub(crate) bumps: usize,
    /// Per layer: the noise stream's position (decimal; `u128` does not fit JSON numbers).
    pub(crate) chip_noise: Vec<Option<String>>,
    /// Epoch of the best validation accuracy so far, when the run selects on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) best_epoch: Option<usize>,
}

pub(crate) fn state_path(run_dir: &Path, epoch: usize) -> PathBuf {
    checkpoint_dir(run_dir).join(format!("state-{epoch}.json"))
}

impl TrainerState {
    pub(crate) fn write(&self, run_dir: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| Error::MalformedFile {
            path: state_path(run_dir, self.epoch),
            reason: e.to_string(),
        })?;
        crate::io::write_atomically(&state_path(run_dir, self.epoch), &json)?;
        // Burn keeps the last CHECKPOINTS_KEPT epochs; states older than those are dead.
        if let Some(old) = self.epoch.checked_sub(CHECKPOINTS_KEPT + 1) {
            let _ = std::fs::remove_file(state_path(run_dir, old));
        }
        Ok(())
    }

    pub(crate) fn read(run_dir: &Path, epoch: usize) -> Result<Self> {
        read_epoch_file(&state_path(run_dir, epoch), epoch, |s: &Self| s.epoch)
    }

    pub(crate) fn chip_position(&self, layer: usize) -> Result<Option<u128>> {
        match self.chip_noise.get(layer).cloned().flatten() {
            None => Ok(None),
            Some(s) => s.parse().map(Some).map_err(|_| Error::MalformedFile {
                path: PathBuf::from(format!("state-{}.json", self.epoch)),
                reason: format!("layer {layer}'s noise position {s:?} is not a number"),
            }),
        }
    }
}

/// Reads the JSON file of one epoch's checkpoint, checking that it is that epoch's.
fn read_epoch_file<T: serde::de::DeserializeOwned>(
    path: &Path,
    epoch: usize,
    epoch_of: impl Fn(&T) -> usize,
) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let value: T = serde_json::from_slice(&bytes).map_err(|e| Error::MalformedFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    if epoch_of(&value) != epoch {
        return Err(Error::MalformedFile {
            path: path.to_path_buf(),
            reason: format!("belongs to epoch {}, not {epoch}", epoch_of(&value)),
        });
    }
    Ok(value)
}

/// A checkpoint that resume passed over, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedCheckpoint {
    /// The epoch.
    pub epoch: usize,
    /// The file that is missing or unreadable.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

impl std::fmt::Display for SkippedCheckpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "checkpoint of epoch {} skipped: {} {}",
            self.epoch,
            self.path.display(),
            self.reason
        )
    }
}

/// Epochs that have at least one checkpoint file, ascending.
pub(crate) fn checkpoint_epochs(run_dir: &Path) -> Vec<usize> {
    let Ok(entries) = std::fs::read_dir(checkpoint_dir(run_dir)) else {
        return Vec::new();
    };
    let mut epochs: Vec<usize> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let stem = name
                .strip_suffix(".mpk")
                .or_else(|| name.strip_suffix(".json"))?;
            let (_, n) = stem.rsplit_once('-')?;
            n.parse::<usize>().ok()
        })
        .collect();
    epochs.sort_unstable();
    epochs.dedup();
    epochs
}

/// The parameters of the network with the best validation accuracy so far
/// (`checkpoint/best-<epoch>.json`), for [`ModelSelection::BestValidation`](super::ModelSelection).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct BestNetwork {
    pub(crate) epoch: usize,
    pub(crate) val_accuracy: f64,
    /// Per layer: the weights and the raw (trainable) delays, as stored.
    pub(crate) layers: Vec<(Vec<f64>, Option<Vec<f64>>)>,
}

pub(crate) fn best_path(run_dir: &Path, epoch: usize) -> PathBuf {
    checkpoint_dir(run_dir).join(format!("best-{epoch}.json"))
}

impl BestNetwork {
    pub(crate) fn write(&self, run_dir: &Path) -> Result<()> {
        let path = best_path(run_dir, self.epoch);
        let json = serde_json::to_vec(self).map_err(|e| Error::MalformedFile {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        crate::io::write_atomically(&path, &json)
    }

    pub(crate) fn read(run_dir: &Path, epoch: usize) -> Result<Self> {
        read_epoch_file(&best_path(run_dir, epoch), epoch, |b: &Self| b.epoch)
    }

    /// Removes best networks that no kept state refers to any more.
    pub(crate) fn prune(run_dir: &Path) {
        let dir = checkpoint_dir(run_dir);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        let names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        let referenced: Vec<usize> = names
            .iter()
            .filter_map(|n| {
                n.strip_prefix("state-")?
                    .strip_suffix(".json")?
                    .parse()
                    .ok()
            })
            .filter_map(|e| TrainerState::read(run_dir, e).ok()?.best_epoch)
            .collect();
        let Some(oldest) = referenced.iter().min().copied() else {
            return;
        };
        for n in &names {
            let Some(e) = n
                .strip_prefix("best-")
                .and_then(|n| n.strip_suffix(".json"))
                .and_then(|n| n.parse::<usize>().ok())
            else {
                continue;
            };
            if e < oldest {
                let _ = std::fs::remove_file(dir.join(n));
            }
        }
    }
}
