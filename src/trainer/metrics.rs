//! Per-epoch metrics: collected from Burn's metric updates, written to `metrics.csv` after every
//! epoch, and reported to a callback or Burn's dashboard.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use burn::train::logger::MetricLogger;
use burn::train::metric::store::{EpochSummary, MetricsUpdate, Split};
use burn::train::metric::{MetricDefinition, MetricId, NumericEntry};
use burn::train::renderer::{
    EvaluationName, EvaluationProgress, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining, ProgressType, TrainingProgress,
};
use serde::{Deserialize, Serialize};

use super::writer::FileWriter;

use crate::error::{Error, Result};

/// One row of `metrics.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch, from 1.
    pub epoch: usize,
    /// Mean training loss over the epoch.
    pub train_loss: f64,
    /// Training accuracy over the epoch (fraction; the network changes during the epoch).
    pub train_accuracy: f64,
    /// Validation loss at the end of the epoch.
    pub val_loss: f64,
    /// Validation accuracy at the end of the epoch (fraction).
    pub val_accuracy: f64,
    /// Learning rate of the weights during the epoch.
    pub learning_rate: f64,
    /// Wall time of the epoch (training plus validation).
    pub seconds: f64,
}

/// Header of `metrics.csv`.
pub const METRICS_HEADER: &str =
    "epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate,seconds";

impl EpochMetrics {
    /// The fields as written: Rust's shortest round-trip decimals (`inf`, `NaN` as Rust prints
    /// them), so files stay byte-identical across releases.
    fn fields(&self) -> [String; 7] {
        [
            self.epoch.to_string(),
            self.train_loss.to_string(),
            self.train_accuracy.to_string(),
            self.val_loss.to_string(),
            self.val_accuracy.to_string(),
            self.learning_rate.to_string(),
            self.seconds.to_string(),
        ]
    }

    /// The text of a `metrics.csv` file holding `rows`.
    pub fn to_csv(rows: &[Self]) -> Result<String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let header: Vec<&str> = METRICS_HEADER.split(',').collect();
        let csv_err = |e: csv::Error| Error::Malformed(format!("writing metrics.csv: {e}"));
        w.write_record(&header).map_err(csv_err)?;
        for row in rows {
            w.write_record(row.fields()).map_err(csv_err)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| Error::Malformed(format!("writing metrics.csv: {e}")))?;
        String::from_utf8(bytes).map_err(|e| Error::Malformed(format!("metrics.csv: {e}")))
    }

    /// Parses the rows of a `metrics.csv` file.
    pub fn parse_csv(text: &str) -> Result<Vec<Self>> {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header = reader
            .headers()
            .map_err(|e| Error::Malformed(format!("metrics.csv header: {e}")))?;
        if header.iter().collect::<Vec<_>>().join(",") != METRICS_HEADER {
            return Err(Error::Malformed(
                "metrics.csv has an unexpected header".into(),
            ));
        }
        reader
            .deserialize()
            .enumerate()
            .map(|(k, row)| {
                row.map_err(|e| Error::Malformed(format!("metrics.csv row {}: {e}", k + 2)))
            })
            .collect()
    }

    /// Reads a `metrics.csv` file.
    pub fn read_csv(path: &Path) -> Result<Vec<Self>> {
        crate::io::load_file(path, |bytes| {
            let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
            Self::parse_csv(text).map_err(|e| e.to_string())
        })
    }

    /// Writes `rows` as a `metrics.csv` file, atomically.
    pub fn write_csv(path: &Path, rows: &[Self]) -> Result<()> {
        crate::io::write_atomically(path, Self::to_csv(rows)?.as_bytes())
    }
}

/// Called with every finished epoch.
pub type EpochCallback = Box<dyn FnMut(&EpochMetrics) + Send>;

/// How a run reports progress.
pub enum Progress {
    /// Burn's terminal dashboard when stdout is a terminal, else Burn's plain-text renderer.
    Dashboard,
    /// No rendering; the callback (if any) receives every finished epoch.
    Callback(Option<EpochCallback>),
    /// A terminal progress bar that moves with every training batch; see [`Progress::bar`].
    Bar(EpochBar),
}

impl Progress {
    /// One line per finished epoch on stdout (for logs and pipes).
    pub fn lines(total_epochs: usize) -> Self {
        Progress::Callback(Some(Box::new(move |m: &EpochMetrics| {
            println!(
                "epoch {:>3}/{total_epochs}  train loss {:.4} acc {:.1} %  val loss {:.4} acc {:.1} %  lr {:.5}  {:.2} s",
                m.epoch,
                m.train_loss,
                100.0 * m.train_accuracy,
                m.val_loss,
                100.0 * m.val_accuracy,
                m.learning_rate,
                m.seconds
            )
        })))
    }

    /// A progress bar over the epochs that also advances within an epoch, batch by batch (a
    /// run of a few long epochs, such as MNIST, would otherwise sit still for minutes), with
    /// the last epoch's accuracies and losses and the time left. It is drawn at most a few
    /// times per second: unlike Burn 0.21's dashboard, which polls its channel without pause
    /// and takes a core of a small machine with it, it costs nothing measurable.
    pub fn bar(total_epochs: usize) -> Self {
        Progress::Bar(EpochBar::new(total_epochs))
    }

    /// A [progress bar](Progress::bar) when stdout is a terminal and `quiet` is off, else
    /// [`Progress::lines`] (logs want one line per epoch). [`Progress::Dashboard`] is Burn's
    /// full-screen dashboard, for those who want it.
    pub fn for_stdout(quiet: bool, total_epochs: usize) -> Self {
        use std::io::IsTerminal;
        if quiet || !std::io::stdout().is_terminal() {
            Self::lines(total_epochs)
        } else {
            Self::bar(total_epochs)
        }
    }
}

/// Bar positions per epoch: the bar moves in thousandths of an epoch.
const BAR_STEPS_PER_EPOCH: u64 = 1000;

/// The progress bar of [`Progress::bar`]: its length is the run's epochs, its position the
/// fraction of them done, counted in training samples.
#[derive(Clone)]
pub struct EpochBar {
    bar: indicatif::ProgressBar,
    total_epochs: usize,
    shown_epoch: Arc<AtomicUsize>,
}

impl EpochBar {
    /// A bar over `total_epochs` epochs, drawn on stderr's terminal, or hidden when there is
    /// none (indicatif's default target).
    pub fn new(total_epochs: usize) -> Self {
        Self::with_bar(
            indicatif::ProgressBar::new(total_epochs as u64 * BAR_STEPS_PER_EPOCH),
            total_epochs,
        )
    }

    fn with_bar(bar: indicatif::ProgressBar, total_epochs: usize) -> Self {
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {prefix}  {msg}  [{elapsed_precise} < {eta}]",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_prefix(format!("epoch 0/{total_epochs}"));
        Self {
            bar,
            total_epochs,
            shown_epoch: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// A hidden bar whose position can be read back (tests).
    #[cfg(test)]
    fn hidden(total_epochs: usize) -> Self {
        let bar = indicatif::ProgressBar::hidden();
        bar.set_length(total_epochs as u64 * BAR_STEPS_PER_EPOCH);
        Self::with_bar(bar, total_epochs)
    }

    /// Fraction of the run done, in [0, 1].
    pub fn fraction(&self) -> f64 {
        let len = self.bar.length().unwrap_or(0).max(1);
        self.bar.position() as f64 / len as f64
    }

    /// Within epoch `epoch` (1-based), `processed` of `total` training samples are done.
    fn on_batch(&self, epoch: usize, processed: usize, total: usize) {
        if total == 0 || epoch == 0 {
            return;
        }
        let within = (BAR_STEPS_PER_EPOCH * processed.min(total) as u64) / total as u64;
        let position = (epoch as u64 - 1) * BAR_STEPS_PER_EPOCH + within;
        // Never backwards: validation and the epoch's summary arrive after its last batch.
        if position > self.bar.position() {
            self.bar.set_position(position);
        }
        // The prefix names the epoch: rewrite it only when the epoch changes.
        if self.shown_epoch.swap(epoch, Ordering::Relaxed) != epoch {
            self.bar
                .set_prefix(format!("epoch {epoch}/{}", self.total_epochs));
        }
    }

    fn on_epoch(&self, m: &EpochMetrics) {
        self.shown_epoch.store(m.epoch, Ordering::Relaxed);
        self.bar.set_position(m.epoch as u64 * BAR_STEPS_PER_EPOCH);
        self.bar
            .set_prefix(format!("epoch {}/{}", m.epoch, self.total_epochs));
        self.bar.set_message(format!(
            "train {:.1} %  val {:.1} % (loss {:.4})  lr {:.5}",
            100.0 * m.train_accuracy,
            100.0 * m.val_accuracy,
            m.val_loss,
            m.learning_rate
        ));
        if m.epoch >= self.total_epochs {
            self.bar.finish();
        }
    }

    /// The epoch callback that updates this bar.
    pub(crate) fn epoch_callback(&self) -> EpochCallback {
        let me = self.clone();
        Box::new(move |m: &EpochMetrics| me.on_epoch(m))
    }

    /// A renderer that moves this bar with every training batch and draws nothing else.
    pub(crate) fn renderer(&self) -> QuietRenderer {
        QuietRenderer {
            bar: Some(self.clone()),
        }
    }
}

/// Collects Burn's metric updates into per-epoch rows and writes `metrics.csv` after each epoch.
pub(crate) struct EpochLogger {
    names: HashMap<MetricId, String>,
    current: HashMap<String, f64>,
    rows: Arc<Mutex<Vec<EpochMetrics>>>,
    csv_path: PathBuf,
    epoch_start: Instant,
    on_epoch: Option<EpochCallback>,
    writer: Arc<FileWriter>,
}

impl EpochLogger {
    pub(crate) fn new(
        rows: Arc<Mutex<Vec<EpochMetrics>>>,
        csv_path: PathBuf,
        on_epoch: Option<EpochCallback>,
        writer: Arc<FileWriter>,
    ) -> Self {
        Self {
            names: HashMap::new(),
            current: HashMap::new(),
            rows,
            csv_path,
            epoch_start: Instant::now(),
            on_epoch,
            writer,
        }
    }
}

impl MetricLogger for EpochLogger {
    fn log(&mut self, update: MetricsUpdate, _epoch: usize, split: &Split) {
        let prefix = match split {
            Split::Train => "train",
            Split::Valid => "valid",
            Split::Test(_) => return,
        };
        for entry in update.entries_numeric {
            if let Some(name) = self.names.get(&entry.entry.metric_id) {
                // The running entry is the mean over the epoch so far.
                self.current
                    .insert(format!("{prefix}/{name}"), entry.running_entry.current());
            }
        }
    }

    fn read_numeric(
        &mut self,
        _name: &str,
        _epoch: usize,
        _split: &Split,
    ) -> std::result::Result<Vec<NumericEntry>, String> {
        Err("delgrad's epoch logger keeps epoch summaries only".into())
    }

    fn log_metric_definition(&mut self, definition: MetricDefinition) {
        self.names.insert(definition.metric_id, definition.name);
    }

    fn log_epoch_summary(&mut self, summary: EpochSummary) {
        if !matches!(summary.split, Split::Valid) {
            return;
        }
        let get = |k: &str| self.current.get(k).copied().unwrap_or(f64::NAN);
        let row = EpochMetrics {
            epoch: summary.epoch_number,
            train_loss: get("train/Loss"),
            train_accuracy: get("train/Accuracy") / 100.0,
            val_loss: get("valid/Loss"),
            val_accuracy: get("valid/Accuracy") / 100.0,
            learning_rate: get("train/Learning Rate"),
            seconds: self.epoch_start.elapsed().as_secs_f64(),
        };
        self.epoch_start = Instant::now();
        self.current.clear();
        let mut rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
        rows.retain(|r| r.epoch < row.epoch);
        rows.push(row.clone());
        // Best effort during training, off the training loop; the final file is written again
        // (and checked) at the end.
        let (path, snapshot) = (self.csv_path.clone(), rows.clone());
        drop(rows);
        let _ = self.writer.submit(move || {
            let _ = EpochMetrics::write_csv(&path, &snapshot);
            Ok(())
        });
        if let Some(cb) = self.on_epoch.as_mut() {
            cb(&row);
        }
    }
}

/// A renderer that draws nothing (tests and batch jobs; progress goes to the epoch callback),
/// except for moving an [`EpochBar`] with every training batch when it has one.
#[derive(Default)]
pub(crate) struct QuietRenderer {
    bar: Option<EpochBar>,
}

impl MetricsRendererTraining for QuietRenderer {
    fn update_train(&mut self, _: MetricState) {}
    fn update_valid(&mut self, _: MetricState) {}
    fn render_train(&mut self, item: TrainingProgress, _: Vec<ProgressType>) {
        if let (Some(bar), Some(p)) = (&self.bar, item.progress) {
            bar.on_batch(
                item.global_progress.items_processed,
                p.items_processed,
                p.items_total,
            );
        }
    }
    fn render_valid(&mut self, _: TrainingProgress, _: Vec<ProgressType>) {}
    fn on_train_end(
        &mut self,
        _: Option<burn::train::LearnerSummary>,
    ) -> std::result::Result<(), Box<dyn core::error::Error>> {
        Ok(())
    }
}

impl MetricsRendererEvaluation for QuietRenderer {
    fn update_test(&mut self, _: EvaluationName, _: MetricState) {}
    fn render_test(&mut self, _: EvaluationProgress, _: Vec<ProgressType>) {}
}

impl MetricsRenderer for QuietRenderer {
    fn manual_close(&mut self) {}
    fn register_metric(&mut self, _: MetricDefinition) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_moves_within_an_epoch_and_never_backwards() {
        let bar = EpochBar::hidden(4);
        let mut renderer = bar.renderer();
        let batch = |epoch, done, total| TrainingProgress {
            progress: Some(burn::data::dataloader::Progress::new(done, total)),
            global_progress: burn::data::dataloader::Progress::new(epoch, 4),
            iteration: None,
        };
        renderer.render_train(batch(1, 150, 600), Vec::new());
        assert!((bar.fraction() - 0.0625).abs() < 1e-3, "{}", bar.fraction());
        renderer.render_train(batch(2, 300, 600), Vec::new());
        assert!((bar.fraction() - 0.375).abs() < 1e-3, "{}", bar.fraction());
        // A stale report (an earlier batch) leaves the bar where it is.
        renderer.render_train(batch(2, 150, 600), Vec::new());
        assert!((bar.fraction() - 0.375).abs() < 1e-3, "{}", bar.fraction());
        let mut on_epoch = bar.epoch_callback();
        on_epoch(&row(2));
        assert!((bar.fraction() - 0.5).abs() < 1e-9, "{}", bar.fraction());
        on_epoch(&row(4));
        assert!((bar.fraction() - 1.0).abs() < 1e-9, "{}", bar.fraction());
    }

    fn row(epoch: usize) -> EpochMetrics {
        EpochMetrics {
            epoch,
            train_loss: 0.25,
            train_accuracy: 0.9,
            val_loss: f64::INFINITY,
            val_accuracy: 0.875,
            learning_rate: 0.0095,
            seconds: 1.5e-3,
        }
    }

    #[test]
    fn metrics_csv_round_trips_and_keeps_rusts_number_format() {
        let rows = vec![row(1), row(2)];
        let text = EpochMetrics::to_csv(&rows).unwrap();
        assert_eq!(
            text.lines().nth(1).unwrap(),
            "1,0.25,0.9,inf,0.875,0.0095,0.0015"
        );
        assert!(text.starts_with(METRICS_HEADER));
        assert_eq!(EpochMetrics::parse_csv(&text).unwrap(), rows);
    }

    #[test]
    fn malformed_metrics_are_reported_with_their_row() {
        let text =
            format!("{METRICS_HEADER}\n1,0.1,0.2,0.3,0.4,0.5,0.6\n2,0.1,x,0.3,0.4,0.5,0.6\n");
        let err = EpochMetrics::parse_csv(&text).unwrap_err().to_string();
        assert!(err.contains("row 3"), "{err}");
        assert!(EpochMetrics::parse_csv("a,b\n1,2\n").is_err());
    }
}
