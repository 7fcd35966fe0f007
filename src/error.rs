//! Typed errors of the library.

use std::path::PathBuf;

/// Everything that can go wrong in delgrad when given bad input.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Neuron parameters that describe no usable LIF neuron.
    #[error("invalid neuron parameters: {0}")]
    InvalidNeuron(String),

    /// Tensors or arrays whose shapes do not fit together.
    #[error("shape mismatch: {0}")]
    Shape(String),

    /// An input spike time that is neither finite nor +inf (no spike).
    #[error("input spike time [{sample}, {input}] is {value}; spike times must be finite or +inf")]
    InvalidSpikeTime {
        /// Row of the batch.
        sample: usize,
        /// Presynaptic neuron.
        input: usize,
        /// The offending value.
        value: f64,
    },

    /// A parameter (weight or delay) that is NaN or infinite.
    #[error("parameter `{name}` has a non-finite value {value} at flat index {index}")]
    NonFiniteParameter {
        /// Which parameter.
        name: String,
        /// Flat index into it.
        index: usize,
        /// The offending value.
        value: f64,
    },

    /// A configuration value out of its allowed range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),

    /// A file that could not be parsed or does not describe a valid object.
    #[error("malformed file {path}: {reason}")]
    MalformedFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// A JSON document (not tied to a file) that does not describe a valid object.
    #[error("malformed document: {0}")]
    Malformed(String),

    /// Training had to stop (for example on a non-finite gradient); nothing invalid was saved.
    #[error("training stopped: {0}")]
    Training(String),

    /// A feature value that is NaN or infinite, found while encoding it into spike times.
    #[error("feature [{sample}, {feature}] is {value}; features must be finite")]
    InvalidFeature {
        /// Row of the batch (0 when a single feature vector is encoded).
        sample: usize,
        /// Index of the feature in its vector.
        feature: usize,
        /// The offending value.
        value: f64,
    },

    /// A data file that is not there.
    #[error("data file not found: {path}{}", also_tried_note(.also_tried))]
    MissingFile {
        /// The file looked for.
        path: PathBuf,
        /// A second name looked for in its place (for example the `.gz` form), if any.
        also_tried: Option<PathBuf>,
    },

    /// One row of a text data file that does not parse.
    #[error("malformed row in {path}, line {line}: {reason}")]
    MalformedRow {
        /// The file (or a description of bundled data).
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with the row.
        reason: String,
    },

    /// A binary file whose leading magic number is not the one of its format.
    #[error("{path} has magic number {found}, expected {expected}")]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The magic number read.
        found: u32,
        /// The magic number of the expected format.
        expected: u32,
    },

    /// A file that ends before the data its header announces.
    #[error("{path} is truncated: its header announces {expected} bytes, it has {found}")]
    Truncated {
        /// The file (its decompressed content, if it is gzipped).
        path: PathBuf,
        /// Bytes the header implies.
        expected: u64,
        /// Bytes present.
        found: u64,
    },

    /// Two files that must describe the same number of examples but do not.
    #[error("{images_path} holds {images} images but {labels_path} holds {labels} labels")]
    CountMismatch {
        /// The images file.
        images_path: PathBuf,
        /// Number of images.
        images: usize,
        /// The labels file.
        labels_path: PathBuf,
        /// Number of labels.
        labels: usize,
    },

    /// Reading or writing a file failed.
    #[error("i/o error on {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

fn also_tried_note(also_tried: &Option<PathBuf>) -> String {
    match also_tried {
        Some(p) => format!(" (nor {})", p.display()),
        None => String::new(),
    }
}

/// Result with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
