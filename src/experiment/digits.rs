//! The 8x8 handwritten digits experiment.
