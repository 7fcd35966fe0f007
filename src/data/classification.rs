//! Classification data of any kind: an item is a feature vector and a class label. The
//! general trainer, the latency encoder and the data sets (digits, MNIST, a user's own) meet
//! here.

use serde::{Deserialize, Serialize};

/// One labelled example: raw feature values (before encoding into spike times) and its class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassItem {
    /// Raw feature values (pixel intensities, coordinates, ...), in the range the encoder states.
    pub features: Vec<f64>,
    /// Class index, `0..n_classes`.
    pub label: usize,
}

impl ClassItem {
    /// An item from its features and label.
    pub fn new(features: Vec<f64>, label: usize) -> Self {
        Self { features, label }
    }
}
