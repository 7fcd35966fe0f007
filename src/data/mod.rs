//! The Yin-Yang data set: a bit-exact generator of the standard splits, `x,y,label` CSV files,
//! the spike-time input encoding, and Burn [`Dataset`](burn::data::dataset::Dataset) /
//! [`Batcher`](burn::data::dataloader::batcher::Batcher) integration.
//!
//! * [`mt19937`]: NumPy's legacy `RandomState` Mersenne Twister stream;
//! * [`yinyang`]: the shape, its classification rules and the rejection sampler;
//! * [`csv`]: reading and writing the CSV format of the shipped splits;
//! * [`encoding`]: `(x, y, 1 - x, 1 - y)` to input spike times, with optional repetition;
//! * [`burn_data`]: [`YinYangDataset`], [`YinYangBatcher`] and [`YinYangBatch`].

#[cfg(feature = "trainer")]
pub mod burn_data;
pub mod classification;
#[cfg(feature = "trainer")]
pub mod csv;
pub mod encoding;
pub mod mt19937;
pub mod yinyang;

#[cfg(feature = "trainer")]
pub use burn_data::{YinYangBatch, YinYangBatcher, YinYangDataset};
pub use classification::ClassItem;
#[cfg(feature = "trainer")]
pub use csv::{format_csv, parse_csv, read_csv, write_csv};
pub use encoding::InputEncoding;
pub use mt19937::Mt19937;
pub use yinyang::{class_counts, Split, YinYang, YinYangSample, CLASS_NAMES, NUM_CLASSES};
