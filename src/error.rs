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

/// Result with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
