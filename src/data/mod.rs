//! Data sets: Yin-Yang (a bit-exact generator of the standard splits, `x,y,label` CSV files,
//! the spike-time input encoding, and Burn [`Dataset`](burn::data::dataset::Dataset) /
//! [`Batcher`](burn::data::dataloader::batcher::Batcher) integration), the bundled 8x8 digits,
//! and MNIST from its IDX files; all but Yin-Yang yield [`ClassItem`]s. Everything that reads
//! files or builds Burn data loaders needs the feature `trainer`.
//!
//! * [`mt19937`]: NumPy's legacy `RandomState` Mersenne Twister stream;
//! * [`yinyang`]: the shape, its classification rules and the rejection sampler;
//! * [`csv`]: reading and writing the CSV format of the shipped splits;
//! * [`encoding`]: `(x, y, 1 - x, 1 - y)` to input spike times, with optional repetition;
//! * [`burn_data`]: [`YinYangDataset`], [`YinYangBatcher`] and [`YinYangBatch`];
//! * [`digits`](mod@digits): the 8x8 digits shipped with the crate and their fixed split;
//! * [`idx`] and [`mnist`](mod@mnist): the MNIST file format, the data set, downscaling, and a fixed split
//!   of its test file;
//! * [`split`]: seeded stratified training/validation/test splits.

#[cfg(feature = "trainer")]
pub mod burn_data;
pub mod classification;
#[cfg(feature = "trainer")]
pub mod csv;
#[cfg(feature = "trainer")]
pub mod digits;
pub mod encoding;
#[cfg(feature = "trainer")]
mod gz;
#[cfg(feature = "trainer")]
pub mod idx;
#[cfg(feature = "trainer")]
pub mod mnist;
pub mod mt19937;
pub mod split;
pub mod yinyang;

#[cfg(feature = "trainer")]
pub use burn_data::{YinYangBatch, YinYangBatcher, YinYangDataset};
pub use classification::ClassItem;
#[cfg(feature = "trainer")]
pub use csv::{format_csv, parse_csv, read_csv, write_csv};
#[cfg(feature = "trainer")]
pub use digits::{digits, digits_from_path, digits_split};
pub use encoding::InputEncoding;
#[cfg(feature = "trainer")]
pub use idx::{read_idx_images, read_idx_labels, IdxImages};
#[cfg(feature = "trainer")]
pub use mnist::{downscale, mnist, mnist_t10k_split, mnist_with, MnistOptions, MnistPart};
pub use mt19937::Mt19937;
pub use split::{stratified_split, DataSplits, SplitIndices};
pub use yinyang::{class_counts, Split, YinYang, YinYangSample, CLASS_NAMES, NUM_CLASSES};
